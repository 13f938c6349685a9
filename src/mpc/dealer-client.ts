/**
 * The share holders' side of the dealer (PROTOCOLS.md 1). Every correlation
 * has a label (its protocol call's path, from Context): P0, P1 and the
 * dealer each derive the correlation's PRG streams from the pair seed and
 * that label, so concurrent protocol calls can ask in any order and still
 * agree. Only P0 talks to the dealer (request header out, output
 * correction back); P1 needs no message at all.
 *
 * prefetch() is the offline phase: ask for correlations before their inputs
 * exist, under labels of their own; take() consumes them FIFO per spec
 * before asking afresh. P0 and P1 must prefetch the same specs in the same
 * order and take them in the same order (true for calls made one after the
 * other, as in `bench arith`).
 */
import type { Mesh } from '../net/types.js';
import {
  drawHolderShares,
  maskStream,
  outputSize,
  specKey,
  type CorrelationShares,
  type CorrelationSpec,
} from './correlations.js';
import { ringView } from './payload.js';
import type { SeedBook } from './seeds.js';

export const DEALER_ID = 2;
export const CORR_REQUEST_TAG = 'corr.req';
export const CORR_RESPONSE_TAG = 'corr.res';

/** Stream label of a correlation, shared by a holder and the dealer. */
export function correlationStream(label: string): string {
  return `dealer:${label}`;
}

/**
 * An offline plan (src/mpc/offline-plan.ts): the next planned correlation,
 * checked against this request (throws naming the file and entry when it
 * differs); P0 gets its correction c0, P1 null.
 */
export interface OfflineSource {
  next(spec: CorrelationSpec, label: string): BigUint64Array | null;
  /** Throws unless every planned correlation was used. */
  finish(): void;
}

export class DealerClient {
  private readonly prefetched = new Map<string, Promise<CorrelationShares>[]>();
  private requested = 0;
  private prefetches = 0;

  constructor(
    private readonly mesh: Mesh,
    private readonly holder: 0 | 1,
    /** Seeds shared with the dealer: k02 for P0, k12 for P1. */
    private readonly seeds: SeedBook,
    /** Offline plan: correlations come from this file, the dealer is never asked (its seed in `seeds` is the plan's). */
    private readonly offline?: OfflineSource,
    /** Recording run (SessionConfig.recordPlan): told every request made of the dealer, in order. */
    private readonly observe?: (spec: CorrelationSpec, label: string) => void,
  ) {}

  /** Correlations asked of the dealer so far. */
  get requestCount(): number {
    return this.requested;
  }

  /** Ask now, use later (offline phase); resolves when the material is here. */
  prefetch(spec: CorrelationSpec): Promise<void> {
    const key = specKey(spec);
    const list = this.prefetched.get(key) ?? [];
    const pending = this.request(spec, `prefetch#${this.prefetches++}`);
    list.push(pending);
    this.prefetched.set(key, list);
    return pending.then(() => undefined);
  }

  /** A prefetched correlation of this spec if there is one, else a fresh request under `label`. */
  take(spec: CorrelationSpec, label: string): Promise<CorrelationShares> {
    const list = this.prefetched.get(specKey(spec));
    const early = list?.shift();
    return early ?? this.request(spec, label);
  }

  /**
   * This holder's share of a fresh uniform mask for the call `label`: drawn
   * from the stream it shares with the dealer, no message. The dealer
   * rebuilds the mask when a later correlation refers to it (kind 'masked').
   */
  mask(n: number, label: string): BigUint64Array {
    return this.seeds.stream(DEALER_ID, maskStream(label)).ring(n);
  }

  /** Tell the dealer the job is over (P0 only; P1 never talks to it). */
  finish(): void {
    this.offline?.finish();
    if (this.holder === 0) this.mesh.send(DEALER_ID, CORR_REQUEST_TAG, null, { meta: { kind: 'end' }, cls: 'dealer' });
  }

  private request(spec: CorrelationSpec, label: string): Promise<CorrelationShares> {
    this.requested++;
    this.observe?.(spec, label);
    if (this.offline) return this.fromPlan(this.offline, spec, label);
    const drawn = drawHolderShares(spec, this.holder, this.seeds.stream(DEALER_ID, correlationStream(label)));
    if (this.holder === 1) return Promise.resolve({ inputs: drawn.inputs, output: drawn.output! });
    this.mesh.send(DEALER_ID, CORR_REQUEST_TAG, null, { meta: { spec, label }, cls: 'dealer' });
    // The dealer answers in request order and the recv is queued now, so replies pair with requests.
    const reply = this.mesh.recv(DEALER_ID, CORR_RESPONSE_TAG);
    return reply.then((msg) => ({
      inputs: drawn.inputs,
      output: ringView(msg.payload, outputSize(spec), `dealer's ${spec.kind} correlation`),
    }));
  }

  private fromPlan(plan: OfflineSource, spec: CorrelationSpec, label: string): Promise<CorrelationShares> {
    try {
      const c0 = plan.next(spec, label);
      const drawn = drawHolderShares(spec, this.holder, this.seeds.stream(DEALER_ID, correlationStream(label)));
      return Promise.resolve({ inputs: drawn.inputs, output: this.holder === 1 ? drawn.output! : c0! });
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
}

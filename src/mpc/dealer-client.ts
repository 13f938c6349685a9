/**
 * The share holders' side of the dealer (PROTOCOLS.md 1). Draws happen
 * synchronously when a correlation is asked for, so P0, P1 and the dealer
 * consume their PRG streams in program order; only P0 talks to the dealer
 * (request header out, output correction back), P1 needs no message at all.
 *
 * prefetch() is the offline phase: ask for correlations before their inputs
 * exist; take() later consumes them in FIFO order per spec.
 */
import type { Mesh } from '../net/types.js';
import type { Prg } from '../ring/prg.js';
import {
  drawHolderShares,
  outputSize,
  specKey,
  type CorrelationShares,
  type CorrelationSpec,
} from './correlations.js';
import { ringView } from './payload.js';

export const DEALER_ID = 2;
export const CORR_REQUEST_TAG = 'corr.req';
export const CORR_RESPONSE_TAG = 'corr.res';

export class DealerClient {
  private readonly prefetched = new Map<string, Promise<CorrelationShares>[]>();
  private requested = 0;

  constructor(
    private readonly mesh: Mesh,
    private readonly holder: 0 | 1,
    /** PRG shared with the dealer: k02 for P0, k12 for P1. */
    private readonly prg: Prg,
  ) {}

  /** Correlations asked of the dealer so far. */
  get requestCount(): number {
    return this.requested;
  }

  /** Ask now, use later (offline phase); resolves when the material is here. Both holders must prefetch the same specs in the same order. */
  prefetch(spec: CorrelationSpec): Promise<void> {
    const key = specKey(spec);
    const list = this.prefetched.get(key) ?? [];
    const pending = this.request(spec);
    list.push(pending);
    this.prefetched.set(key, list);
    return pending.then(() => undefined);
  }

  /** A prefetched correlation of this spec if there is one, else a fresh request. */
  take(spec: CorrelationSpec): Promise<CorrelationShares> {
    const list = this.prefetched.get(specKey(spec));
    const early = list?.shift();
    return early ?? this.request(spec);
  }

  /** Tell the dealer the job is over (P0 only; P1 never talks to it). */
  finish(): void {
    if (this.holder === 0) this.mesh.send(DEALER_ID, CORR_REQUEST_TAG, null, { meta: { kind: 'end' }, cls: 'dealer' });
  }

  private request(spec: CorrelationSpec): Promise<CorrelationShares> {
    this.requested++;
    const drawn = drawHolderShares(spec, this.holder, this.prg);
    if (this.holder === 1) return Promise.resolve({ inputs: drawn.inputs, output: drawn.output! });
    this.mesh.send(DEALER_ID, CORR_REQUEST_TAG, null, { meta: spec, cls: 'dealer' });
    // recv is queued now, so replies pair with requests in order.
    const reply = this.mesh.recv(DEALER_ID, CORR_RESPONSE_TAG);
    return reply.then((msg) => ({
      inputs: drawn.inputs,
      output: ringView(msg.payload, outputSize(spec), `dealer's ${spec.kind} correlation`),
    }));
  }
}

/**
 * The party context every protocol takes: who I am (P0, P1 or P2), the
 * fixed-point setting, this protocol call's own channel and randomness, and
 * the dealer.
 *
 * Modes:
 *  - 'plain': one party holds the values themselves (share = value). The
 *    same protocol and layer code runs in the clear, as Piranha's 1-party
 *    mode or MP-SPDZ's emulator, as the reference for tests and --emulate.
 *  - '2pc': P0 and P1 online; P2 is only a dealer that can run ahead.
 *  - '3pc': P2 is also an online helper (Bicoptor ReLU, max pooling, ...).
 *
 * Every party runs the same job program; a protocol is one function that
 * branches on `ctx.id` where the roles differ (Piranha, MP-SPDZ).
 *
 * Concurrency: a protocol call is `ctx.call(name, (c) => ...)`. The child
 * context `c` has a path unique in the run ("relu#3/drelu#0"), made from a
 * per-parent counter that every party advances in program order, so the
 * same call has the same path on every party whatever the message timing.
 * The path is the call's message tag (c.send / c.recv), the label of its
 * PRG streams (c.prg) and of its dealer correlations (c.correlation): any
 * number of calls may be in flight at once without their messages or
 * random draws crossing. Rule: call ctx.call synchronously in program order
 * (for example, not inside a callback that runs when a message arrives).
 *
 * Rounds: each call keeps a Lamport clock, starting from its parent's clock
 * when it is created; messages carry depth = clock + 1 and receiving one
 * raises the clock to its depth; a finished call raises its parent's
 * clock. Two calls in flight together from the same point thus count
 * max(rounds), not the sum: the clock of the longest dependency chain.
 */
import type { Mesh, PartyId } from '../net/types.js';
import { checkSessionFracBits, DEFAULT_FRAC_BITS } from '../ring/fixed.js';
import { createHash } from 'node:crypto';
import { Prg, SEED_BYTES } from '../ring/prg.js';
import type { CorrelationShares, CorrelationSpec } from './correlations.js';
import type { DealerClient } from './dealer-client.js';
import { faultPoint } from './fault-hook.js';
import type { SeedBook } from './seeds.js';
import type { Shared } from './shared.js';

export type Mode = 'plain' | '2pc' | '3pc';
export type HolderId = 0 | 1;
/** P0 and P1 hold additive shares; P2 deals (2pc) or also helps online (3pc). */
export type PartyIndex = 0 | 1 | 2;
export const HELPER_ID = 2;
/** 'local': SecureML share-wise shift (0 rounds); 'dealer': open x + r with dealer's (r, r >> d) (1 round). */
export type TruncationMode = 'local' | 'dealer';

export interface ProgressEvent {
  message: string;
  [key: string]: unknown;
}

/** Totals of one named section (a protocol call or a layer); nested calls count in each enclosing one. */
export interface ProfileEntry {
  calls: number;
  seconds: number;
  /** Online payload bytes on the calls' own channels (zero in the plaintext context). */
  bytesSent: number;
  bytesReceived: number;
  /** Rounds on the calls' critical path, summed over calls. */
  rounds: number;
  /**
   * Sections (Context.section: layers, loss, SGD) only: each call's start
   * and end, wall-clock ms since the epoch, flattened [start0, end0,
   * start1, end1, ...], so a report can align the parties' calls (see
   * sectionSeconds). Absent for protocol calls, which are many.
   */
  spans?: number[];
}

/**
 * Wall seconds of one section over the parties. P2 runs the program on
 * placeholders and so reaches a section early; its time there includes
 * waiting for the holders (3PC training's softmax backward: 9.0 s on P2,
 * 0.2 s on P0 and P1), so it is left out. Of the holders, with each call's
 * span (sections), the time from the last one's entry to the last one's
 * exit, summed over calls; else the slowest holder's total. Spans are wall
 * clock: on one machine (launched parties) they line up; across hosts,
 * clock skew enters.
 */
export function sectionSeconds(perParty: readonly { id: number; entry: ProfileEntry | undefined }[]): number {
  const holders = perParty.filter((p) => p.id !== HELPER_ID).map((p) => p.entry);
  const spans = holders.map((e) => e?.spans);
  const calls = holders[0]?.calls ?? 0;
  if (calls > 0 && holders.length > 1 && holders.every((e, i) => e?.calls === calls && spans[i]?.length === 2 * calls)) {
    // A holder that runs ahead (P0 receives nothing in a truncation ReLU) waits in the next
    // section; per call, count from the last holder's entry to the last holder's exit.
    let ms = 0;
    for (let k = 0; k < calls; k++) {
      const start = Math.max(...spans.map((sp) => sp![2 * k]!));
      const end = Math.max(...spans.map((sp) => sp![2 * k + 1]!));
      ms += Math.max(0, end - start);
    }
    return ms / 1000;
  }
  return Math.max(0, ...holders.map((e) => e?.seconds ?? 0));
}

export interface ContextOptions {
  fracBits?: number;
  truncation?: TruncationMode;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Plaintext context only: how a truncation rounds. 'floor' (default) is
   * exact and repeatable; 'nearest' has no systematic bias, like the
   * holders' local truncation, whose rounding errors average out: a
   * gradient summed over 10^4 floored values drifts by 10^4 / 2 ulp, so
   * training emulation (`train --mpc --emulate`) uses 'nearest'.
   */
  plainRounding?: 'floor' | 'nearest';
  /**
   * Holders only: a rehearsal of the job for its offline plan
   * (src/mpc/plan-rehearsal.ts). No party owns any input: every shared
   * input is zero (ownsInput is false), so the program runs on shapes alone
   * and reads no weights or data.
   */
  rehearsal?: boolean;
}

/** What all calls of one party share. */
interface PartyState {
  mode: Mode;
  id: PartyIndex;
  fracBits: number;
  truncation: TruncationMode;
  mesh: Mesh | null;
  dealer: DealerClient | null;
  seeds: SeedBook | null;
  progressSink: ((event: ProgressEvent) => void) | undefined;
  plainRounding: 'floor' | 'nearest';
  sections: Map<string, ProfileEntry>;
  /** P2: calls finished since it last yielded to the event loop. */
  quietCalls: number;
  /** Plaintext context: sum of |x| / 2^64 over truncated elements (see localTruncationFailures). */
  wrapRisk: number;
  /** Plaintext context: values seen outside the public bounds protocols assume (see noteRange). */
  boundExcess: Map<string, BoundExcess>;
  rehearsal: boolean;
}

/** A public bound a protocol assumes and how far the plaintext run went past it. */
export interface BoundExcess {
  what: string;
  lo: number;
  hi: number;
  /** Extremes seen (outside [lo, hi] or not) over every noted value. */
  min: number;
  max: number;
  /** Elements outside [lo, hi]. */
  outside: number;
}

/** Every WRAP_SAMPLE-th truncated element is measured (an unbiased estimate, cheap enough for whole epochs). */
const WRAP_SAMPLE = 61;

export interface SendOptions {
  /**
   * Round clock the payload depends on (default: this call's clock). A call
   * that streams one round's data in chunks while receiving the peer's
   * chunks passes the clock from before the exchange.
   */
  basis?: number;
  /** Copy the payload before queuing it (default: sent from the caller's memory; do not modify it). */
  copy?: boolean;
}

const ROOT_TAG = 'job';

export class Context {
  private clock: number;
  private children = 0;
  private readonly namedChildren = new Set<string>();
  private correlationsTaken = 0;
  private readonly prgs = new Map<PartyId, Prg>();
  private readonly peersUsed = new Set<PartyId>();
  private bytesSent = 0;
  private bytesReceived = 0;

  private constructor(
    private readonly party: PartyState,
    /** Unique call path; '' for the job's root context. */
    readonly path: string,
    private readonly parent: Context | null,
  ) {
    this.clock = parent ? parent.clock : (party.mesh?.rounds ?? 0);
  }

  private static create(mode: Mode, id: PartyIndex, mesh: Mesh | null, dealer: DealerClient | null, seeds: SeedBook | null, opts: ContextOptions): Context {
    const fracBits = checkSessionFracBits(opts.fracBits ?? DEFAULT_FRAC_BITS, 'fracBits');
    return new Context({
      mode, id, fracBits, truncation: opts.truncation ?? 'local', mesh, dealer, seeds,
      progressSink: opts.onProgress, plainRounding: opts.plainRounding ?? 'floor', sections: new Map(), quietCalls: 0, wrapRisk: 0, boundExcess: new Map(),
      rehearsal: opts.rehearsal ?? false,
    }, '', null);
  }

  static plain(opts: ContextOptions = {}): Context {
    return Context.create('plain', 0, null, null, null, opts);
  }

  /** A share holder's context (P0 or P1) in a 2- or 3-party session. */
  static holder(mode: '2pc' | '3pc', id: HolderId, mesh: Mesh, dealer: DealerClient, seeds: SeedBook, opts: ContextOptions = {}): Context {
    return Context.create(mode, id, mesh, dealer, seeds, opts);
  }

  /** P2's context: it holds no shares; in 3pc it takes part online where a protocol says so. */
  static helper(mode: '2pc' | '3pc', mesh: Mesh, seeds: SeedBook, opts: ContextOptions = {}): Context {
    return Context.create(mode, HELPER_ID, mesh, null, seeds, opts);
  }

  get mode(): Mode {
    return this.party.mode;
  }

  get id(): PartyIndex {
    return this.party.id;
  }

  get fracBits(): number {
    return this.party.fracBits;
  }

  get truncation(): TruncationMode {
    return this.party.truncation;
  }

  get isPlain(): boolean {
    return this.party.mode === 'plain';
  }

  /** See ContextOptions.plainRounding. */
  get plainRounding(): 'floor' | 'nearest' {
    return this.party.plainRounding;
  }

  /** See ContextOptions.rehearsal. */
  get isRehearsal(): boolean {
    return this.party.rehearsal;
  }

  /**
   * Whether this party supplies the values of `owner`'s inputs: the owner
   * itself, or anyone in the plaintext context; nobody in a rehearsal.
   */
  ownsInput(owner: HolderId): boolean {
    return this.isPlain || (this.party.id === owner && !this.party.rehearsal);
  }

  /** P2 (never in the plaintext context). */
  get isHelper(): boolean {
    return this.party.id === HELPER_ID;
  }

  /** The holder's id (P0 or P1); throws on P2. */
  get holderId(): HolderId {
    if (this.party.id === HELPER_ID) throw new Error('P2 holds no shares');
    return this.party.id;
  }

  /** The other share holder. */
  get peer(): HolderId {
    return this.holderId === 0 ? 1 : 0;
  }

  get mesh(): Mesh {
    if (!this.party.mesh) throw new Error('this protocol step needs a network, but the context is plaintext');
    return this.party.mesh;
  }

  get dealer(): DealerClient {
    if (!this.party.dealer) {
      throw new Error(this.isPlain ? 'this protocol step needs a dealer, but the context is plaintext' : 'P2 is the dealer; it takes no correlations');
    }
    return this.party.dealer;
  }

  /** Throws unless P2 is online (3pc): for protocols that need the helper. */
  requireHelper(protocol: string): void {
    if (this.party.mode === '2pc') throw new Error(`${protocol} needs P2 online: run with 3 parties (--parties 3), not 2`);
  }

  // ------------------------------------------------------------ calls

  /** This call's message tag. */
  get tag(): string {
    return this.path === '' ? ROOT_TAG : this.path;
  }

  /** This call's round clock. */
  get rounds(): number {
    return this.clock;
  }

  /**
   * Run `body` as a protocol call named `name` with its own child context
   * (channel, randomness, correlations), and add its wall time, traffic and
   * rounds to the profile under `name`.
   */
  call<T>(name: string, body: (c: Context) => Promise<T>): Promise<T> {
    return this.counted(name).run(name, body);
  }

  /** A child context at path `name#n`, n this context's per-call counter (program order). */
  private counted(name: string): Context {
    return new Context(this.party, `${this.path === '' ? '' : `${this.path}/`}${name}#${this.children++}`, this);
  }

  /**
   * As call(), but under the path `name@key` that the caller makes unique
   * among this context's children (a training step's epoch and batch), not
   * a counter: the same step then gets the same path, so the same masks
   * and correlations, in a resumed run as in an uninterrupted one.
   */
  callAs<T>(name: string, key: string, body: (c: Context) => Promise<T>): Promise<T> {
    const segment = `${name}@${key}`;
    if (this.namedChildren.has(segment)) throw new Error(`call path ${segment} used twice under '${this.tag}'`);
    this.namedChildren.add(segment);
    const child = new Context(this.party, `${this.path === '' ? '' : `${this.path}/`}${segment}`, this);
    return child.run(name, body);
  }

  /** As call(): a layer or step that groups protocol calls; its profile entry also keeps each call's span. */
  section<T>(name: string, body: (c: Context) => Promise<T>): Promise<T> {
    return this.counted(name).run(name, body, true);
  }

  private async run<T>(name: string, body: (c: Context) => Promise<T>, span = false): Promise<T> {
    const startClock = this.clock;
    const t0 = performance.now();
    let ok = false;
    try {
      const out = await body(this);
      // P2 follows the holders' calls that need nothing from it as promises
      // that resolve at once; a long run of them would starve its dealer
      // loop and sockets (microtasks run before I/O), so yield now and then.
      if (this.party.id === HELPER_ID && this.peersUsed.size === 0 && ++this.party.quietCalls % 64 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      ok = true;
      return out;
    } finally {
      const parent = this.parent!;
      parent.clock = Math.max(parent.clock, this.clock);
      parent.bytesSent += this.bytesSent;
      parent.bytesReceived += this.bytesReceived;
      const entry = this.party.sections.get(name) ?? { calls: 0, seconds: 0, bytesSent: 0, bytesReceived: 0, rounds: 0 };
      entry.calls++;
      entry.seconds += (performance.now() - t0) / 1000;
      entry.bytesSent += this.bytesSent;
      entry.bytesReceived += this.bytesReceived;
      entry.rounds += this.clock - startClock;
      if (span) (entry.spans ??= []).push(performance.timeOrigin + t0, performance.timeOrigin + performance.now());
      this.party.sections.set(name, entry);
      // Last, as it may throw (a protocol bug). On failure the run is ending:
      // keep the original error, do not check the channel.
      if (ok && this.party.mesh) for (const p of this.peersUsed) this.party.mesh.release(p, this.tag);
    }
  }

  /** Send on this call's channel (online traffic). */
  send(to: PartyId, payload: ArrayBufferView | null, opts: SendOptions = {}): void {
    const basis = opts.basis ?? this.clock;
    if (basis > this.clock) throw new RangeError(`send basis ${basis} is past this call's clock ${this.clock}`);
    this.mesh.send(to, this.tag, payload, { basis, ...(opts.copy ? { copy: true } : {}) });
    this.peersUsed.add(to);
    this.bytesSent += payload ? payload.byteLength : 0;
    faultPoint('mid-round');
  }

  /** Next message on this call's channel from `from`; its payload (8-byte aligned) or null. */
  async recv(from: PartyId): Promise<Uint8Array | null> {
    this.peersUsed.add(from);
    const msg = await this.mesh.recv(from, this.tag);
    if (msg.depth > this.clock) this.clock = msg.depth;
    this.bytesReceived += msg.payload ? msg.payload.byteLength : 0;
    return msg.payload;
  }

  /** A PRG stream this call shares with party `other` (derived from the pair seed and the call path). */
  prg(other: PartyId): Prg {
    let prg = this.prgs.get(other);
    if (!prg) {
      if (!this.party.seeds) throw new Error('common randomness needs two parties, but the context is plaintext');
      if (other === this.party.id) throw new Error(`P${other} has no stream shared with itself`);
      prg = this.party.seeds.stream(other, `call:${this.tag}`);
      this.prgs.set(other, prg);
    }
    return prg;
  }

  /**
   * Plaintext context only: a deterministic, non-secret stream for this
   * call, so that emulating a protocol whose output is randomised (the
   * truncation ReLU's sign errors near 0) draws the same distribution as
   * the real run, reproducibly.
   */
  emulationStream(): Prg {
    if (!this.isPlain) throw new Error('emulationStream() is for the plaintext context; parties use prg()');
    let prg = this.prgs.get(-1);
    if (!prg) {
      prg = new Prg(createHash('sha256').update(`mpcnet-emulation:${this.tag}`).digest().subarray(0, SEED_BYTES));
      this.prgs.set(-1, prg);
    }
    return prg;
  }

  /** PRG shared by P0 and P1 (seed k01) for this call: masks that need no message. */
  get common(): Prg {
    return this.prg(this.peer);
  }

  /** A dealer correlation for this call (holders only). */
  correlation(spec: CorrelationSpec): Promise<CorrelationShares> {
    return this.dealer.take(spec, `${this.tag}:${this.correlationsTaken++}`);
  }

  // ------------------------------------------------------------ reporting

  /**
   * Plaintext context: note values about to be truncated. The holders'
   * local truncation fails (error ~2^(64-d)) with probability |x| / 2^64
   * per element (protocols/truncation.ts), so the running sum estimates
   * how many failures a real run with --trunc local would expect.
   */
  noteTruncation(x: BigUint64Array): void {
    if (!this.isPlain) return;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < x.length; i += WRAP_SAMPLE, count++) sum += Math.abs(Number(BigInt.asIntN(64, x[i]!)));
    if (count > 0) this.party.wrapRisk += (sum * (x.length / count)) / 2 ** 64;
  }

  /**
   * Plaintext context: note values that a protocol assumes lie in the public
   * [lo, hi] (softmax's logit bound, division and square-root ranges).
   * Under MPC nobody can see them go past it, and past it the approximation
   * may diverge; the emulation can, and reports it (boundExcesses).
   */
  noteRange(what: string, x: Shared, lo: number, hi: number): void {
    if (!this.isPlain || x.size === 0) return;
    const scale = 2 ** -x.fracBits;
    let min = Infinity;
    let max = -Infinity;
    let outside = 0;
    for (const b of x.share) {
      const v = Number(BigInt.asIntN(64, b)) * scale;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v < lo || v > hi) outside++;
    }
    const seen = this.party.boundExcess.get(what);
    if (seen) {
      seen.min = Math.min(seen.min, min);
      seen.max = Math.max(seen.max, max);
      seen.outside += outside;
    } else {
      this.party.boundExcess.set(what, { what, lo, hi, min, max, outside });
    }
  }

  /** The public bounds that the plaintext run exceeded (see noteRange). */
  get boundExcesses(): BoundExcess[] {
    return [...this.party.boundExcess.values()].filter((b) => b.outside > 0);
  }

  /** Expected local-truncation failures of the values truncated so far (plaintext context; 0 elsewhere). */
  get localTruncationFailures(): number {
    return this.party.wrapRisk;
  }

  progress(event: ProgressEvent): void {
    this.party.progressSink?.(event);
  }

  /** The profile so far, by section name. */
  profile(): Record<string, ProfileEntry> {
    return Object.fromEntries([...this.party.sections].map(([k, v]) => [k, { ...v, ...(v.spans ? { spans: [...v.spans] } : {}) }]));
  }
}

/**
 * The party context every protocol takes: who I am, the fixed-point
 * setting, the channels, common randomness and the dealer.
 *
 * Modes:
 *  - 'plain': one party holds the values themselves (share = value). The
 *    same protocol and layer code runs in the clear, as Piranha's 1-party
 *    mode or MP-SPDZ's emulator, as the reference for tests and --emulate.
 *  - '2pc': P0 and P1 online; P2 is only a dealer that can run ahead.
 *  - '3pc': P2 is also an online helper (Bicoptor ReLU, max pooling, ...).
 */
import type { Mesh } from '../net/types.js';
import { DEFAULT_FRAC_BITS } from '../ring/fixed.js';
import type { Prg } from '../ring/prg.js';
import type { DealerClient } from './dealer-client.js';
import { snapshot, trafficSince, type TrafficSnapshot } from './traffic.js';

export type Mode = 'plain' | '2pc' | '3pc';
export type HolderId = 0 | 1;
/** 'local': SecureML share-wise shift (0 rounds); 'dealer': open x + r with dealer's (r, r >> d) (1 round). */
export type TruncationMode = 'local' | 'dealer';

export interface ProgressEvent {
  message: string;
  [key: string]: unknown;
}

/** Totals of one named section (a protocol or a layer); nested sections count in each. */
export interface ProfileEntry {
  calls: number;
  seconds: number;
  /** Online payload bytes and rounds (zero in the plaintext context). */
  bytesSent: number;
  bytesReceived: number;
  rounds: number;
}

export interface ContextOptions {
  fracBits?: number;
  truncation?: TruncationMode;
  onProgress?: (event: ProgressEvent) => void;
}

export class Context {
  readonly fracBits: number;
  readonly truncation: TruncationMode;
  private readonly progressSink: ((event: ProgressEvent) => void) | undefined;

  private constructor(
    readonly mode: Mode,
    readonly id: HolderId,
    private readonly meshOrNull: Mesh | null,
    private readonly dealerOrNull: DealerClient | null,
    private readonly commonOrNull: Prg | null,
    opts: ContextOptions,
  ) {
    this.fracBits = opts.fracBits ?? DEFAULT_FRAC_BITS;
    if (!Number.isInteger(this.fracBits) || this.fracBits < 0 || this.fracBits > 40) {
      throw new RangeError(`fracBits must be an integer in [0, 40], got ${this.fracBits}`);
    }
    this.truncation = opts.truncation ?? 'local';
    this.progressSink = opts.onProgress;
  }

  static plain(opts: ContextOptions = {}): Context {
    return new Context('plain', 0, null, null, null, opts);
  }

  /** A share holder's context (P0 or P1) in a 2- or 3-party session. */
  static holder(mode: '2pc' | '3pc', id: HolderId, mesh: Mesh, dealer: DealerClient, common: Prg, opts: ContextOptions = {}): Context {
    return new Context(mode, id, mesh, dealer, common, opts);
  }

  get isPlain(): boolean {
    return this.mode === 'plain';
  }

  /** The other share holder. */
  get peer(): HolderId {
    return this.id === 0 ? 1 : 0;
  }

  get mesh(): Mesh {
    if (!this.meshOrNull) throw new Error('this protocol step needs a network, but the context is plaintext');
    return this.meshOrNull;
  }

  get dealer(): DealerClient {
    if (!this.dealerOrNull) throw new Error('this protocol step needs a dealer, but the context is plaintext');
    return this.dealerOrNull;
  }

  /** PRG shared by P0 and P1 (seed k01): masks that need no message. */
  get common(): Prg {
    if (!this.commonOrNull) throw new Error('common randomness needs two parties, but the context is plaintext');
    return this.commonOrNull;
  }

  progress(event: ProgressEvent): void {
    this.progressSink?.(event);
  }

  private readonly sections = new Map<string, ProfileEntry>();

  /**
   * Run `body` as the named section and add its wall time and online
   * traffic to the profile (DESIGN.md "Stats per party"). Sections may
   * nest; each counts everything inside it.
   */
  async section<T>(name: string, body: () => Promise<T>): Promise<T> {
    const before: TrafficSnapshot | null = this.meshOrNull ? snapshot(this.meshOrNull) : null;
    const t0 = performance.now();
    try {
      return await body();
    } finally {
      const entry = this.sections.get(name) ?? { calls: 0, seconds: 0, bytesSent: 0, bytesReceived: 0, rounds: 0 };
      entry.calls++;
      entry.seconds += (performance.now() - t0) / 1000;
      if (before) {
        const d = trafficSince(before, snapshot(this.meshOrNull!));
        entry.bytesSent += d.bytesSent;
        entry.bytesReceived += d.bytesReceived;
        entry.rounds += d.rounds;
      }
      this.sections.set(name, entry);
    }
  }

  /** The profile so far, by section name. */
  profile(): Record<string, ProfileEntry> {
    return Object.fromEntries([...this.sections].map(([k, v]) => [k, { ...v }]));
  }
}

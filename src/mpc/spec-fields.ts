/**
 * Reading the fields of a correlation spec that arrived over the network:
 * the dealer trusts nothing about it, so every field is checked here and
 * a bad one is named in the error. Used by every entry of the correlation
 * registry (src/mpc/correlations.ts, src/mpc/bilinear-kinds.ts).
 */
import { peerQuoted, peerText } from '../net/frames.js';

/** Largest correlation the dealer accepts in one request (elements per tensor). */
export const MAX_CORRELATION_ELEMENTS = 1 << 27;
/** Largest dimension of a tensor shape in a request. */
const MAX_DIMENSION = 1 << 20;

export class SpecFields {
  constructor(private readonly raw: Readonly<Record<string, unknown>>) {}

  /** An integer in [lo, hi]. */
  int(name: string, lo = 1, hi = MAX_CORRELATION_ELEMENTS): number {
    return checkInt(this.raw[name], name, lo, hi);
  }

  /** A shape of `rank` positive dimensions. */
  shape(name: string, rank: number): number[] {
    const v = this.raw[name];
    if (!Array.isArray(v) || v.length !== rank) throw new RangeError(`correlation request: ${name} must be a ${rank}-d shape, got ${shown(v)}`);
    return v.map((d: unknown, i) => checkInt(d, `${name}[${i}]`, 1, MAX_DIMENSION));
  }

  /** A nested record (a correlation that names another's spec), to read with the same checks. */
  record(name: string): SpecFields {
    const v = this.raw[name];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RangeError(`correlation request: ${name} must be an object, got ${shown(v)}`);
    return new SpecFields(v as Record<string, unknown>);
  }

  /** A string field of 1..maxLength characters (labels of other calls' masks). */
  text(name: string, maxLength: number): string {
    const v = this.raw[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) throw new RangeError(`correlation request: ${name} must be a string of 1..${maxLength} characters, got ${shown(v)}`);
    return v;
  }

  /** An optional flag: absent or false is false. */
  flag(name: string): boolean {
    const v = this.raw[name];
    if (v === undefined || v === false) return false;
    if (v === true) return true;
    throw new RangeError(`correlation request: ${name} must be true, false or absent, got ${shown(v)}`);
  }
}

export function checkInt(v: unknown, what: string, lo = 1, hi = MAX_CORRELATION_ELEMENTS): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`correlation request: ${what} must be an integer in [${lo}, ${hi}], got ${shown(v)}`);
  }
  return v;
}

/**
 * A value from the request as an error message shows it: strings quoted,
 * anything else as JSON, and either way escaped and cut short (peerQuoted,
 * peerText) so that a peer cannot forge or reorder a log line.
 */
function shown(v: unknown): string {
  if (typeof v === 'string') return peerQuoted(v);
  if (typeof v === 'bigint') return v.toString();
  // msgpack decodes 64-bit integers as BigInt, which JSON cannot show.
  return peerText(JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v));
}

/**
 * Range normalisation for division, square root and inverse square root
 * (PROTOCOLS.md 5; seed mpc-cnn-batchnorm-ppoly.txt 3.2: Algorithms 2 and 3
 * need their input in [0.5, 1)). A positive input b in a public range
 * [min, max] is scaled to b' = b 2^-e; the callers undo the scaling with
 * 2^(p e) (p = -1 for a numerator, 1/2 for sqrt, -1/2 for 1/sqrt).
 *
 * 'private' (3PC, reveals nothing): e = j + 1 for the octave 2^j <= b <
 * 2^(j+1) of each element. With lo = floor(log2 min), hi = floor(log2 max):
 *   c_j = DReLU(b - 2^j) for j = lo+1..hi, all in one 3-party DReLU call
 *   (protocols/drelu.ts: 2 rounds); c_lo = 1 (b >= min), c_(hi+1) = 0;
 *   one-hot o_j = c_j - c_(j+1); the factor sum_j o_j 2^(p (j+1)), public
 *   constants times shared bits, is local:
 *   = K_lo + sum_(j > lo) c_j (K_j - K_(j-1)), K_j = enc(2^(p (j+1))).
 *   b' = b * factor(-1) is one Beaver product (numerators ride along in the
 *   same call), so b' is in [0.5, 1) up to the DReLU's resolution.
 *   Odd j + 1 gives an irrational 2^(-(j+1)/2) for 1/sqrt: those factors are
 *   encoded with f + 1 bits (absolute error below half an ulp of the output);
 *   integer powers of two are exact.
 *   The DReLU looks at bits d..d+lx of b - 2^j with d = dropBits and
 *   lx + d = hi + 1 + f (every |b - 2^j| < 2^(hi+1) in range); d = 0 (exact
 *   decisions) unless lx would pass the test's 23-bit limit, and then it must
 *   stay 6 bits below the smallest threshold 2^(lo+1): near a threshold a
 *   wrong decision only picks the octave above, so b' >= 0.5 (1 - 2^-6).
 *   Cost per element: hi - lo DReLUs of lx bits.
 * 'public' (2PC or 3PC, no comparison): one e = E = hi + 1 for every
 *   element, so b' is in [min 2^-E, max 2^-E] within (0, 1): a truncation
 *   by E (free with local truncation) or an exact shift when E <= 0. The
 *   callers pick initial guesses and iteration counts for that interval;
 *   a range wider than an octave costs iterations and precision (b' keeps
 *   f bits, so its relative precision is 2^-f / b').
 * A range within one octave (lo = hi) needs no comparison either way.
 *
 * Inputs outside [min, max] are outside the protocol's contract: above max
 * the DReLU leaves its range and the one-hot may be garbage; below min b'
 * falls under 0.5 (private) or under the public interval and the
 * iterations converge more slowly or not at all.
 */
import { MAX_LX_MINUS_SKIP, MIN_LX } from '../src/approx/truncation-sign.js';
import type { Interval } from '../src/approx/newton-init.js';
import type { Context } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { encodeScalar } from '../src/ring/index.js';
import { mul } from './beaver.js';
import { drelu } from './drelu.js';
import { mulPublicInt, mulPublicScalar } from './linear.js';
import { stack, unstack } from './share-layout.js';
import { truncate } from './truncation.js';

/** A public bound on a positive input: 0 < min <= b <= max. */
export interface PositiveRange {
  min: number;
  max: number;
}

/** 'private': per-element octave by 3-party DReLU (reveals nothing); 'public': one scale from the public range (any mode). */
export type Normalisation = 'private' | 'public';

export interface NormalisationOptions {
  range: PositiveRange;
  normalisation: Normalisation;
}

/** Octaves of a range: 2^lo <= min, max < 2^(hi+1). */
export interface OctaveSpan {
  lo: number;
  hi: number;
}

/** The private normalisation's DReLU parameters (skip 0). */
export interface OctaveTest {
  lx: number;
  dropBits: number;
}

/** Bits the DReLU's resolution must stay below the smallest threshold. */
const RESOLUTION_MARGIN_BITS = 6;

export function octaveSpan(range: PositiveRange, fracBits: number): OctaveSpan {
  const { min, max } = range;
  if (!(min > 0) || !(max >= min) || !Number.isFinite(max)) throw new RangeError(`range [${min}, ${max}] must satisfy 0 < min <= max < infinity`);
  if (min < 2 ** -fracBits) throw new RangeError(`range minimum ${min} is below one ulp (2^-${fracBits}) of the input`);
  return { lo: Math.floor(Math.log2(min)), hi: Math.floor(Math.log2(max)) };
}

/** DReLU parameters for the comparisons with 2^j, j = lo+1..hi (see the header); throws when the range spans too many octaves for f. */
export function octaveTest(span: OctaveSpan, fracBits: number): OctaveTest {
  const bits = span.hi + 1 + fracBits; // |b - 2^j| < 2^bits ulps
  const dropBits = Math.max(0, bits - MAX_LX_MINUS_SKIP);
  const slack = fracBits + span.lo + 1 - RESOLUTION_MARGIN_BITS;
  if (dropBits > Math.max(0, slack)) {
    throw new RangeError(
      `private range normalisation: [2^${span.lo}, 2^${span.hi + 1}) at f = ${fracBits} needs a ${bits}-bit comparison; the DReLU tests at most ${MAX_LX_MINUS_SKIP} bits, and dropping ${dropBits} low bits would blur the smallest threshold 2^${span.lo + 1}; narrow the range`,
    );
  }
  return { lx: Math.max(MIN_LX, bits - dropBits), dropBits };
}

/** Online DReLU comparisons per element of a private normalisation. */
export function octaveComparisons(range: PositiveRange, fracBits: number): number {
  const { lo, hi } = octaveSpan(range, fracBits);
  return hi - lo;
}

export interface Normalised {
  /** b' = b 2^-e at b's scale. */
  scaled: Shared;
  /** The extra tensors given to normalise, times 2^-e (same round as b'). */
  also: Shared[];
  /** The public interval b' lies in (up to the DReLU's resolution): what initial guesses are fitted to. */
  interval: Interval;
  /** y 2^(p e) at y's scale (p a multiple of 1/2). */
  rescale(c: Context, y: Shared, p: number): Promise<Shared>;
}

/** y * 2^(p E) for one public E, back at y's scale: exact shifts for integer powers, f + 1 bits otherwise. */
function rescalePublic(c: Context, y: Shared, power: number): Promise<Shared> {
  if (Number.isInteger(power)) {
    if (power >= 0) return Promise.resolve(mulPublicInt(y, 1n << BigInt(power)));
    return truncate(c, y.with(y.share, y.fracBits - power), -power);
  }
  const bits = y.fracBits + 1;
  return truncate(c, mulPublicScalar(c, y, 2 ** power, bits), bits);
}

/**
 * Shares of sum_j o_j 2^(p (j+1)) at `bits` fractional bits, from the
 * DReLU bits c_j (j = lo+1..hi, stacked j-major, n per j): local.
 */
function octaveFactor(c: Context, bits: Shared, span: OctaveSpan, n: number, p: number, fracBits: number): Shared {
  if (!bits.held) return Shared.placeholder([n], fracBits);
  const K = (j: number): bigint => encodeScalar(2 ** (p * (j + 1)), fracBits);
  const out = new BigUint64Array(n);
  if (c.id === 0) out.fill(K(span.lo));
  const cs = bits.share;
  for (let j = span.lo + 1; j <= span.hi; j++) {
    const d = BigInt.asUintN(64, K(j) - K(j - 1));
    const base = (j - span.lo - 1) * n;
    for (let i = 0; i < n; i++) out[i] = out[i]! + cs[base + i]! * d;
  }
  return new Shared(out, [n], fracBits);
}

/** Fractional bits of the private factor 2^(p e): exact for integer p (at least f), f + 1 for half powers. */
function factorBits(span: OctaveSpan, p: number, f: number): number {
  if (!Number.isInteger(p)) return f + 1;
  return Math.max(f, -p * (span.lo + 1), -p * (span.hi + 1));
}

/**
 * Scales b (flat or any shape) into the interval the iterations need, and
 * `also` (same element count each) by the same 2^-e. Call inside the
 * caller's protocol call.
 */
export async function normalise(c: Context, b: Shared, opts: NormalisationOptions, also: readonly Shared[] = []): Promise<Normalised> {
  const f = b.fracBits;
  const n = b.size;
  for (const t of also) {
    if (t.size !== n) throw new RangeError(`normalise: ${t.size} elements to scale with ${n} denominators`);
  }
  const span = octaveSpan(opts.range, f);
  c.noteRange(`input of a division or square root (public range [${opts.range.min}, ${opts.range.max}])`, b, opts.range.min, opts.range.max);
  if (opts.normalisation !== 'private' && opts.normalisation !== 'public') {
    throw new RangeError(`normalisation must be 'private' or 'public', got ${JSON.stringify(opts.normalisation)}`);
  }
  if (opts.normalisation === 'public' || span.lo === span.hi) {
    const e = span.hi + 1;
    const scaled = await Promise.all([b, ...also].map((t) => rescalePublic(c, t, -e)));
    const { min, max } = opts.range;
    return {
      scaled: scaled[0]!,
      also: scaled.slice(1),
      interval: opts.normalisation === 'public' ? [min * 2 ** -e, max * 2 ** -e] : [0.5, 1],
      rescale: (cc, y, p) => rescalePublic(cc, y, p * e),
    };
  }
  if (c.mode === '2pc') {
    throw new Error(`private range normalisation compares b with ${span.hi - span.lo} powers of two by the 3-party DReLU: run with 3 parties, or use normalisation 'public' (a public range bound)`);
  }
  const test = octaveTest(span, f);
  const m = span.hi - span.lo;
  let z = Shared.placeholder([m * n], f);
  if (b.held) {
    const zs = new BigUint64Array(m * n);
    for (let j = span.lo + 1; j <= span.hi; j++) {
      const base = (j - span.lo - 1) * n;
      zs.set(b.share, base);
      if (c.id === 0) {
        const t = encodeScalar(2 ** j, f);
        for (let i = 0; i < n; i++) zs[base + i] = zs[base + i]! - t;
      }
    }
    z = new Shared(zs, [m * n], f);
  }
  const bits = await drelu(c, z, { lx: test.lx, skip: 0, dropBits: test.dropBits });
  const sBits = factorBits(span, -1, f);
  const s = octaveFactor(c, bits, span, n, -1, sBits);
  const parts = [b, ...also].map((t) => t.reshape([n]));
  const shapes = [b, ...also].map((t) => t.shape);
  const scaled = unstack(await mul(c, stack(parts), stack(parts.map(() => s))), shapes);
  return {
    scaled: scaled[0]!,
    also: scaled.slice(1),
    interval: [0.5, 1],
    rescale: (cc, y, p) => {
      const factor = octaveFactor(cc, bits, span, n, p, factorBits(span, p, f));
      return mul(cc, y, factor.reshape(y.shape));
    },
  };
}

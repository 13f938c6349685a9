/**
 * x, x^2, ..., x^d with one opening, from the dealer's power tuple
 * (PROTOCOLS.md 6): open C = x + r once; with E = C and b = r,
 * x^k = (E - b)^k = sum_j C(k, j) E^(k-j) (-b)^j is local, since E is
 * public and the dealer shared b, b^2, ..., b^d.
 *
 * Fixed-point scale. The expansion is exact in Z_2^64, so x^k comes out
 * with k times the fractional bits it was formed at, and it must stay
 * below 2^63 with room to spare: local or dealer truncation of a value z
 * fails with probability |z| / 2^64 (PROTOCOLS.md 3). At f = 16, x^3 would
 * carry 48 fractional bits (a wrap with probability |x|^3 2^-16 per
 * element) and x^4 does not fit at all. So the powers are formed at w <= f
 * fractional bits (`workBits`, default min(f, floor(40 / d)): x^d carries
 * at most the 40 fractional bits of a product at the largest session f,
 * see MIN_INTEGER_BITS in src/ring/fixed.ts, and wraps with probability
 * |x|^d 2^(d w - 64) <= |x|^d 2^-24 per element; callers with larger inputs
 * lower w). Going from f to w bits costs nothing extra: the dealer's base
 * is b = r >> (f - w) (logical) and E = (x + r) >> (f - w), so
 * E - b = floor(x / 2^(f-w)) + {0, 1} as in the dealer truncation, and the
 * opening does both. Each power is then truncated once, by k w - f bits,
 * back to x's f bits (or scaled up, exactly, if k w < f). x itself is
 * returned unchanged.
 *
 * Error against exact powers, |x| <= B: about k B^(k-1) 2^-w from forming
 * x at w bits, plus the truncation's ulp (2^-f). At f = 16: d <= 2 keeps
 * w = 16; d = 3 uses w = 13 (x^3 within ~24 ulp for |x| <= 1), d = 4 uses
 * w = 10 (x^4 within ~256 ulp); the tests state the exact bound. Where
 * that is too coarse, square and mul (protocols/beaver.ts) keep f bits at
 * one round per doubling of the degree.
 *
 * Cost per holder for n elements: n ring elements sent and received, one
 * round (plus, with dealer truncation, n elements each way for every power
 * it truncates, all in one more round). Dealer: (d - 1 + [w < f]) n
 * elements to P0.
 */
import type { Context } from '../src/mpc/context.js';
import { MAX_POWER_DEGREE, powerTupleShares, type PowerSpec } from '../src/mpc/correlations.js';
import { Shared } from '../src/mpc/shared.js';
import { add, MIN_INTEGER_BITS, mul, mulScalar, shrArith, shrLogical, sub } from '../src/ring/index.js';
import type { ProductOptions } from './beaver.js';
import { exchange } from './sharing.js';
import { truncate } from './truncation.js';

/** Fractional bits the highest power may carry by default (as a product at the largest session f). */
export const POWER_FRAC_BUDGET = 63 - MIN_INTEGER_BITS;

export interface PowersOptions extends ProductOptions {
  /**
   * Fractional bits the powers are formed at (default powerWorkBits(f, d)).
   * With { truncate: false } x^k (k >= 2) is returned at k * workBits bits,
   * e.g. to sum c_k x^k before a single truncation; x itself is returned as
   * given.
   */
  workBits?: number;
}

/** Default working precision for powers up to `degree` of a value with `fracBits` bits. */
export function powerWorkBits(fracBits: number, degree: number): number {
  return Math.min(fracBits, Math.floor(POWER_FRAC_BUDGET / degree));
}

/** [x, x^2, ..., x^degree], each at x's scale (see the module comment for the precision). */
export async function powers(ctx: Context, x: Shared, degree: number, opts: PowersOptions = {}): Promise<Shared[]> {
  if (!Number.isInteger(degree) || degree < 1 || degree > MAX_POWER_DEGREE) throw new RangeError(`powers: degree ${degree} must be an integer in [1, ${MAX_POWER_DEGREE}]`);
  const w = opts.workBits ?? powerWorkBits(x.fracBits, degree);
  if (!Number.isInteger(w) || w < 0 || w > x.fracBits) throw new RangeError(`powers: workBits ${w} must be an integer in [0, ${x.fracBits}] (x's fractional bits)`);
  if (degree * w > 62) throw new RangeError(`powers: x^${degree} at ${w} fractional bits needs ${degree * w} bits below 2^63; lower workBits`);
  if (degree === 1) return [x];
  return ctx.call('powers', (c) => powersProtocol(c, x, degree, w, opts));
}

async function powersProtocol(c: Context, x: Shared, degree: number, w: number, opts: PowersOptions): Promise<Shared[]> {
  const shift = x.fracBits - w;
  let raw: BigUint64Array[] | null = null; // x_w^k at k w bits, k = 1..degree (null on P2)
  if (c.isPlain || x.size === 0) {
    // The exact powers of x floored to w bits: the opening gives that or one ulp (of w) more.
    const base = shift > 0 ? shrArith(x.share, shift) : x.share;
    raw = [base];
    for (let k = 2; k <= degree; k++) raw.push(mul(raw[k - 2]!, base));
  } else if (!c.isHelper) {
    const spec: PowerSpec = { n: x.size, degree, shift };
    const tuple = await c.correlation({ kind: 'power', ...spec });
    // A new buffer: r_i is also the share of b when shift is 0.
    const mine = add(x.share, tuple.inputs[0]!);
    const theirs = await exchange(c, mine);
    // `mine` is still being sent (zero-copy): sum into the received buffer.
    const opened = add(mine, theirs, theirs);
    const e = shift > 0 ? shrLogical(opened, shift, opened) : opened;
    raw = expandPowers(e, powerTupleShares(spec, tuple), c.holderId);
  }
  const out: Promise<Shared>[] = [Promise.resolve(x)];
  for (let k = 2; k <= degree; k++) {
    out.push(rescale(c, raw ? x.with(raw[k - 1]!, k * w) : Shared.placeholder(x.shape, k * w), x.fracBits, opts));
  }
  return Promise.all(out);
}

/**
 * A holder's shares of (E - b)^k for k = 1..d from the public E and its
 * shares of b^j: sum_j C(k, j) E^(k-j) (-1)^j b^j, where b^0 = 1 is P0's
 * alone.
 */
function expandPowers(e: BigUint64Array, b: BigUint64Array[], holder: 0 | 1): BigUint64Array[] {
  const d = b.length;
  const ePow = [e]; // ePow[m - 1] = E^m
  for (let m = 2; m <= d; m++) ePow.push(mul(ePow[m - 2]!, e));
  const term = new BigUint64Array(e.length);
  const out: BigUint64Array[] = [];
  for (let k = 1; k <= d; k++) {
    const z = holder === 0 ? ePow[k - 1]!.slice() : new BigUint64Array(e.length);
    let binom = 1n;
    for (let j = 1; j <= k; j++) {
      binom = (binom * BigInt(k - j + 1)) / BigInt(j); // C(k, j)
      const bj = b[j - 1]!;
      const t = j === k ? bj : mul(ePow[k - j - 1]!, bj, term);
      const coef = j % 2 === 1 ? -binom : binom;
      if (coef === 1n) add(z, t, z);
      else if (coef === -1n) sub(z, t, z);
      else add(z, mulScalar(t, coef, term), z);
    }
    out.push(z);
  }
  return out;
}

/** z (k w bits) to f bits: one truncation, none, or an exact scale-up; untouched with { truncate: false }. */
function rescale(c: Context, z: Shared, f: number, opts: PowersOptions): Promise<Shared> {
  if (opts.truncate === false || z.fracBits === f) return Promise.resolve(z);
  if (z.fracBits < f) {
    const up = f - z.fracBits;
    return Promise.resolve(z.with(z.held ? mulScalar(z.share, 1n << BigInt(up)) : z.share, f));
  }
  // Every power's shares are fresh (P1's includes its uniform share of b^k), and z is ours.
  return truncate(c, z, z.fracBits - f, { fresh: true, inPlace: true });
}

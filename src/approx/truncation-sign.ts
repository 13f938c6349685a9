/**
 * The sign decision of the 3-party truncation ReLU (Bicoptor-style,
 * PROTOCOLS.md 4) in plaintext: the one reference that the protocol's tests
 * compare with, that the plaintext context runs, and that PANN accuracy
 * simulations call.
 *
 * Setting. x is a ring value (Z_2^64) with f fractional bits. The test
 * looks at l_x bits of it: the seed sturdy-pann-ngnv.txt (Table 8) gives
 * l_x / 2 bits to the integer part and l_x / 2 to the fraction, so the
 * d = f - l_x / 2 lowest bits are dropped ("dropBits"). The holders hold
 * re-randomised shares x0 + x1 = x and a common flip bit t; with
 * y0 = (-1)^t x0 and w1 = -(-1)^t x1, holder P0 computes
 *   T0_j = bits [j + d, j + d + k) of y0   (= floor(y0 / 2^(j+d)) mod K)
 * and P1
 *   T1_j = -(bits [j + d, j + d + k) of w1) mod K,
 * for j = s..l_x (s = skipped key bits), K = 2^k, k = l_x - s + 2: the
 * share-wise (SecureML) truncations of (-1)^t x by j + d bits, mod K. With
 * S_i = sum_{j >= i} T_j, the tested values are v* = 3 T_s - 2t and
 * v_i = S_i - 1 (i = s..l_x); d' = [some value is 0 mod K] and the output is
 * DReLU(x) = d' xor t. The protocol's masking (modulus switch, Z_p with
 * p > K, multiplicative and additive masks, rotation) keeps "is 0 mod K"
 * exactly, so this is exactly the protocol's output for the given shares
 * and flip bit, in and out of range.
 *
 * What that gives (the rule, in units of 2^-f; g = 2^(s + d), q = 2^(lx + d)):
 *  - in range, |x| < q (real |x| < 2^(lx / 2)):
 *      x >= 0                 -> 1 (DReLU(0) = 1);
 *      x <= -g                -> 0;
 *      -g < x < 0             -> 0 with probability |x| / g over the random
 *                                shares, else 1 (sign errors near 0: the
 *                                half-open interval of length |x| between
 *                                the shares holds no multiple of g).
 *  - out of range, |x| >= q: whatever the truncation sums give for the
 *    random shares (either sign; the sums may wrap mod K). The reference
 *    reproduces it exactly from the shares; simulateTruncSign draws them as
 *    the protocol does.
 * A share pair can also wrap in Z_2^64 (probability |x| / 2^64); the
 * formulas above ignore that, the from-shares reference does not.
 */
import { fieldBits, fieldPrime, fillBits, MAX_FIELD_K, type ByteStream } from '../ring/field.js';

export interface TruncSignOptions {
  /** Bits of the sign test (l_x). Must be even unless dropBits is given. */
  lx: number;
  /** Key bits skipped (s): fewer values to test, sign errors for x in (-2^(s+d), 0). Default 0. */
  skip?: number;
  /** Fractional bits of the input (f); dropBits defaults to f - lx / 2. */
  fracBits?: number;
  /** Low bits dropped before the test (d); overrides the lx / 2 convention (e.g. 0 for integer inputs). */
  dropBits?: number;
}

export interface TruncSignParams {
  lx: number;
  skip: number;
  dropBits: number;
  /** K = 2^k: the tested values live mod K (k = lx - skip + 2). */
  k: number;
  /** Values tested per element: v* and v_s..v_lx. */
  values: number;
  /** The prime field of the masked values: smallest prime above 2^k. */
  p: number;
  /** Wire bits per field element: ceil(log2 p). */
  fieldBits: number;
}

export const MIN_LX = 2;
/** Largest lx - skip: k = lx - skip + 2 must not pass MAX_FIELD_K (p < 2^26, exact products in doubles). */
export const MAX_LX_MINUS_SKIP = MAX_FIELD_K - 2;

/** Validates the parameters, with one clear error per problem. */
export function truncSignParams(opts: TruncSignOptions): TruncSignParams {
  const { lx } = opts;
  const skip = opts.skip ?? 0;
  if (!Number.isInteger(lx) || lx < MIN_LX || lx > 62) throw new RangeError(`lx must be an integer in [${MIN_LX}, 62], got ${lx}`);
  if (!Number.isInteger(skip) || skip < 0 || skip > lx - 2) {
    throw new RangeError(`skip s must be an integer in [0, lx - 2] = [0, ${lx - 2}], got ${skip} (s >= lx - 1 would let the tested values reach K = 2^(lx - s + 2) and wrap)`);
  }
  if (lx - skip > MAX_LX_MINUS_SKIP) {
    throw new RangeError(`lx - s must be at most ${MAX_LX_MINUS_SKIP}, got lx ${lx}, s ${skip}: the masked values live in Z_p with p < 2^26 so that field products stay exact in doubles; raise s or lower lx`);
  }
  let dropBits = opts.dropBits;
  if (dropBits === undefined) {
    if (lx % 2 !== 0) throw new RangeError(`lx must be even (lx / 2 integer and lx / 2 fractional bits), got ${lx}`);
    if (opts.fracBits === undefined) throw new RangeError('truncation sign: give the input\'s fracBits (or dropBits)');
    dropBits = opts.fracBits - lx / 2;
    if (dropBits < 0) throw new RangeError(`lx = ${lx} needs lx / 2 = ${lx / 2} fractional bits, but the input has only ${opts.fracBits}`);
  }
  if (!Number.isInteger(dropBits) || dropBits < 0) throw new RangeError(`dropBits must be a non-negative integer, got ${dropBits}`);
  const k = lx - skip + 2;
  if (dropBits + lx + k > 64) throw new RangeError(`dropBits + lx + k = ${dropBits + lx + k} must be at most 64 (the bits tested must lie in the 64-bit share)`);
  const p = fieldPrime(k);
  return { lx, skip, dropBits, k, values: lx - skip + 2, p, fieldBits: fieldBits(p) };
}

/** Bits [m, m + k) of the 64-bit word (lo, hi), k <= 25, m + k <= 64. */
function bitsAt(lo: number, hi: number, m: number, mask: number): number {
  if (m >= 32) return (hi >>> (m - 32)) & mask;
  if (m === 0) return lo & mask;
  return ((lo >>> m) | (hi << (32 - m))) & mask;
}

/**
 * One holder's shares of the tested values mod K, for `count` elements.
 * `words` is the holder's input as little-endian 32-bit halves: P0 passes
 * y0 = (-1)^t x0, P1 passes w1 = -(-1)^t x1. Output, per element, `values`
 * entries in [0, K): v* first, then v_s..v_lx (the protocol masks and
 * rotates them). P0 adds the public constants (-2t to v*, -1 to each v_i).
 */
export function holderTestValues(holder: 0 | 1, words: Uint32Array, flips: Uint8Array, params: TruncSignParams, count: number, out: Uint32Array): void {
  const { lx, skip, dropBits, k, values } = params;
  const K = 2 ** k;
  const mask = K - 1;
  for (let e = 0; e < count; e++) {
    const lo = words[2 * e]!;
    const hi = words[2 * e + 1]!;
    const base = e * values;
    // S_i for i = lx down to s, accumulated mod K; T_s kept for v*.
    let sum = 0;
    let tSkip = 0;
    for (let j = lx; j >= skip; j--) {
      const raw = bitsAt(lo, hi, j + dropBits, mask);
      const t = holder === 0 ? raw : (K - raw) & mask;
      sum = (sum + t) & mask;
      if (j === skip) tSkip = t;
      out[base + 1 + (j - skip)] = holder === 0 ? (sum + mask) & mask : sum; // P0: S_i - 1
    }
    out[base] = holder === 0 ? (3 * tSkip + (flips[e] ? K - 2 : 0)) & mask : (3 * tSkip) & mask;
  }
}

/**
 * The protocol's decision for shares x0 + x1 = x (after re-randomising) and
 * flip bits t: DReLU bits in {0, 1}. Exactly what the 3-party protocol
 * outputs given the same shares and flips.
 */
export function truncSignFromShares(x0: BigUint64Array, x1: BigUint64Array, flips: Uint8Array, params: TruncSignParams): Uint8Array {
  const n = x0.length;
  if (x1.length !== n || flips.length !== n) throw new RangeError(`truncation sign: ${n} and ${x1.length} shares, ${flips.length} flips`);
  const y0 = new BigUint64Array(n);
  const w1 = new BigUint64Array(n);
  y0.set(x0);
  w1.set(x1);
  // (if-statements, not BigInt-valued ternaries: V8 boxes those, ~9x slower)
  for (let i = 0; i < n; i++) {
    if (flips[i]) y0[i] = 0n - y0[i]!;
    else w1[i] = 0n - w1[i]!;
  }
  const v0 = new Uint32Array(n * params.values);
  const v1 = new Uint32Array(n * params.values);
  holderTestValues(0, new Uint32Array(y0.buffer), flips, params, n, v0);
  holderTestValues(1, new Uint32Array(w1.buffer), flips, params, n, v1);
  const mask = 2 ** params.k - 1;
  const out = new Uint8Array(n);
  for (let e = 0; e < n; e++) {
    let zero = 0;
    for (let i = e * params.values; i < (e + 1) * params.values; i++) if (((v0[i]! + v1[i]!) & mask) === 0) zero = 1;
    out[e] = zero ^ flips[e]!;
  }
  return out;
}

/**
 * Simulate the decision as the protocol makes it: random shares (x - u, u)
 * and flip bits drawn from `stream`. For the plaintext context and PANN
 * accuracy runs: same distribution as the real protocol, in and out of
 * range. `x` holds ring values with the f the params were made for.
 *
 * In range (|x| < 2^(lx + d)) the from-shares computation reduces to a
 * closed form of (x, u, t) (derived in PROTOCOLS.md terms: the truncation
 * sums count multiples of 2^(j + d) between the shares): with g = 2^(s + d),
 * x >= 0 gives 1; for x < 0, t = 0 gives 0 iff (-u mod g) < |x|, t = 1
 * gives 0 iff g - (u mod g) <= |x|. That is ~20x faster than the
 * from-shares path and equal to it for the same (u, t) unless x - u wraps
 * in Z_2^64 (probability |x| / 2^64); out-of-range elements take the exact
 * from-shares path.
 */
export function simulateTruncSign(x: BigUint64Array, params: TruncSignParams, stream: ByteStream): Uint8Array {
  const n = x.length;
  const u = new BigUint64Array(n);
  stream.fill(new Uint8Array(u.buffer));
  const flips = new Uint8Array(n);
  fillBits(stream, flips);
  const out = new Uint8Array(n);
  const range = params.lx + params.dropBits;
  const gBits = params.skip + params.dropBits;
  const slow: number[] = [];
  if (range > 52) {
    for (let i = 0; i < n; i++) slow.push(i);
  } else {
    const xw = new Uint32Array(x.buffer, x.byteOffset, 2 * n);
    const xh = new Int32Array(x.buffer, x.byteOffset, 2 * n);
    const uw = new Uint32Array(u.buffer);
    const q = 2 ** range;
    const g = 2 ** gBits;
    // u mod g from the low words: g = 2^gBits with gBits <= range <= 52.
    const loMask = gBits < 32 ? 2 ** gBits - 1 : 0;
    const hiMask = gBits > 32 ? 2 ** (gBits - 32) - 1 : 0;
    for (let i = 0; i < n; i++) {
      const hi = xh[2 * i + 1]!;
      // |x| < 2^range <= 2^52 means the high word is small: x is exact as a double.
      if (hi > 0x100000 || hi < -0x100000) {
        slow.push(i);
        continue;
      }
      const v = hi * 4294967296 + xw[2 * i]!;
      if (v >= q || v <= -q) {
        slow.push(i);
        continue;
      }
      if (v >= 0) {
        out[i] = 1;
        continue;
      }
      const um = gBits < 32 ? uw[2 * i]! & loMask : (uw[2 * i + 1]! & hiMask) * 4294967296 + uw[2 * i]!;
      const abs = -v;
      if (flips[i]) out[i] = g - um <= abs ? 0 : 1;
      else out[i] = (um === 0 ? 0 : g - um) < abs ? 0 : 1;
    }
  }
  if (slow.length > 0) {
    const x0 = new BigUint64Array(slow.length);
    const u1 = new BigUint64Array(slow.length);
    const t = new Uint8Array(slow.length);
    slow.forEach((i, k) => {
      x0[k] = x[i]! - u[i]!;
      u1[k] = u[i]!;
      t[k] = flips[i]!;
    });
    const exact = truncSignFromShares(x0, u1, t, params);
    slow.forEach((i, k) => (out[i] = exact[k]!));
  }
  return out;
}

/** |x| < 2^(lx + d) in ring units (real |x| < 2^(lx / 2) with the lx / 2 convention). */
export function truncSignInRange(xRing: number, params: TruncSignParams): boolean {
  return Math.abs(xRing) < 2 ** (params.lx + params.dropBits);
}

/** In range: the probability that the decision is 1 (the rule in the module comment). */
export function truncSignProbability(xRing: number, params: TruncSignParams): number {
  if (!truncSignInRange(xRing, params)) throw new RangeError(`x = ${xRing} (ring units) is out of the test's range 2^${params.lx + params.dropBits}`);
  if (xRing >= 0) return 1;
  const g = 2 ** (params.skip + params.dropBits);
  return -xRing >= g ? 0 : 1 + xRing / g;
}

/**
 * Fixed-point encoding of reals into Z_2^64 with f fractional bits:
 * encode(v) = round(v * 2^f) mod 2^64 (two's complement for negatives),
 * decode(x) = signed(x) / 2^f.
 *
 * Rounding is Math.round: to nearest, ties towards +infinity. A value whose
 * scaled, rounded magnitude is 2^63 or more (or NaN, or an infinity) does not
 * wrap silently: it throws a RangeError naming the index and the value.
 *
 * No BigInt per element: the arrays go through WebAssembly in cache-sized
 * chunks (f64.floor, then a direct f64 -> i64 conversion, and back with
 * i64 -> f64), which measured 5-10x faster than any JS loop form tried
 * (Math.round alone costs ~10 ns per call in V8 11).
 */
import { kernels, reserve } from './wasm/kernels.js';

export const DEFAULT_FRAC_BITS = 16;
/**
 * Largest fracBits encode/decode accept: any f that leaves a sign bit and
 * one integer bit. This is about representing one value; what a session can
 * multiply is bounded by MAX_SESSION_FRAC_BITS.
 */
export const MAX_FRAC_BITS = 62;

/**
 * Integer bits a product must keep. A product of two f-bit fixed-point values
 * carries 2f fractional bits before truncation, and in two's complement over
 * Z_2^64 its magnitude must stay below 2^63: 63 - 2f bits are left for the
 * integer part, which must hold the product of the integer parts (and the
 * sums of products in matmul and conv2d): 15 bits keep |x * y| < 2^15. On
 * top, 8 bits of headroom against truncation wraps: local (and dealer)
 * truncation fails with probability |x| / 2^64 per element, about
 * 2^(2f - 64) for unit-range products: at f = 24 that is 2^-16, and a real
 * 2-party mul of 10^6 elements measured a max error of 65536; at f = 20 it
 * is 2^-24 (about 0.06 failures per 10^6 products).
 */
export const MIN_INTEGER_BITS = 23;
/** Largest fracBits a session (or --frac-bits) accepts: floor((63 - MIN_INTEGER_BITS) / 2) = 20. */
export const MAX_SESSION_FRAC_BITS = Math.floor((63 - MIN_INTEGER_BITS) / 2);

/**
 * Returns f if it can work as a session's fractional bits (an integer in
 * [0, MAX_SESSION_FRAC_BITS]); otherwise throws a RangeError whose message
 * starts with `${where} ${f} cannot work:` and states the rule. `where` names
 * the setting, e.g. '--frac-bits' or 'fracBits'.
 */
export function checkSessionFracBits(f: number, where: string): number {
  const use = `use 0 <= f <= ${MAX_SESSION_FRAC_BITS} (at least ${MIN_INTEGER_BITS} integer bits, 8 of them headroom against truncation wraps)`;
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0) {
    throw new RangeError(
      `${where} ${f} cannot work: the number of fractional bits f must be a whole number >= 0; ${use}, since a product of two fixed-point values carries 2f fractional bits below 2^63`,
    );
  }
  if (f > MAX_SESSION_FRAC_BITS) {
    const left = 63 - 2 * f;
    const leaving = left > 0 ? `leaving ${left} bit${left === 1 ? '' : 's'} of integer range` : 'leaving no integer range';
    throw new RangeError(
      `${where} ${f} cannot work: a product of two fixed-point values carries 2f = ${2 * f} fractional bits, ${leaving} below 2^63; ${use}`,
    );
  }
  return f;
}

const TWO_63 = 9223372036854775808;

function checkFracBits(fracBits: number, op: string): void {
  if (!Number.isInteger(fracBits) || fracBits < 0 || fracBits > MAX_FRAC_BITS) {
    throw new RangeError(`${op}: fracBits must be an integer in [0, ${MAX_FRAC_BITS}], got ${fracBits}`);
  }
}

function outOfRange(op: string, where: string, v: number, fracBits: number): RangeError {
  const limit = 2 ** (63 - fracBits);
  return new RangeError(
    `${op}: ${where} is ${v}, outside the representable range: |round(v * 2^${fracBits})| must be < 2^63, i.e. |v| < ${limit} with ${fracBits} fractional bits`,
  );
}

/** Values per wasm round trip (128 KiB). */
const CHUNK = 1 << 14;

/**
 * Encodes each value as round(v * 2^fracBits) mod 2^64, into `out` when
 * given (same length; its contents are unspecified if a RangeError is thrown).
 */
export function encode(
  values: ArrayLike<number>, fracBits: number = DEFAULT_FRAC_BITS, out?: BigUint64Array,
): BigUint64Array {
  checkFracBits(fracBits, 'encode');
  const n = values.length;
  if (out !== undefined && out.length !== n) throw new RangeError(`encode: output has length ${out.length}, input has length ${n}`);
  const o = out ?? new BigUint64Array(n);
  if (n === 0) return o;
  const scale = 2 ** fracBits;
  const chunk = Math.min(CHUNK, n);
  const [p] = reserve(chunk * 8);
  const f64 = new Float64Array(kernels.memory.buffer, p!, chunk);
  const u64 = new BigUint64Array(kernels.memory.buffer, p!, chunk);
  const typed = ArrayBuffer.isView(values) ? (values as unknown as Float64Array) : undefined;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    if (typed !== undefined) {
      f64.set(typed.subarray(start, start + len));
    } else {
      for (let i = 0; i < len; i++) f64[i] = values[start + i]!;
    }
    const bad = kernels.encodeFixed(p!, len, scale);
    if (bad >= 0) throw outOfRange('encode', `value at index ${start + bad}`, values[start + bad]!, fracBits);
    o.set(len === chunk ? u64 : u64.subarray(0, len), start);
  }
  return o;
}

/**
 * Decodes ring elements as signed two's-complement values divided by
 * 2^fracBits (into `out` when given). Magnitudes above 2^53 round to the
 * nearest double.
 */
export function decode(
  data: BigUint64Array, fracBits: number = DEFAULT_FRAC_BITS, out?: Float64Array,
): Float64Array {
  checkFracBits(fracBits, 'decode');
  const n = data.length;
  if (out !== undefined && out.length !== n) throw new RangeError(`decode: output has length ${out.length}, input has length ${n}`);
  const o = out ?? new Float64Array(n);
  if (n === 0) return o;
  const inv = 2 ** -fracBits;
  const chunk = Math.min(CHUNK, n);
  const [p] = reserve(chunk * 8);
  const f64 = new Float64Array(kernels.memory.buffer, p!, chunk);
  const u64 = new BigUint64Array(kernels.memory.buffer, p!, chunk);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    u64.set(len === n ? data : data.subarray(start, start + len));
    kernels.decodeFixed(p!, len, inv);
    o.set(len === chunk ? f64 : f64.subarray(0, len), start);
  }
  return o;
}

/** One value: round(v * 2^fracBits) mod 2^64 as a bigint in [0, 2^64). */
export function encodeScalar(v: number, fracBits: number = DEFAULT_FRAC_BITS): bigint {
  checkFracBits(fracBits, 'encodeScalar');
  const s = Math.round(v * 2 ** fracBits);
  if (!(s < TWO_63 && s > -TWO_63)) throw outOfRange('encodeScalar', 'the value', v, fracBits);
  return BigInt.asUintN(64, BigInt(s));
}

/** One ring element (any bigint, taken mod 2^64) as a signed value / 2^fracBits. */
export function decodeScalar(x: bigint, fracBits: number = DEFAULT_FRAC_BITS): number {
  checkFracBits(fracBits, 'decodeScalar');
  return Number(BigInt.asIntN(64, x)) * 2 ** -fracBits;
}

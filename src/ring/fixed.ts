/**
 * Fixed-point encoding of reals into Z_2^64 with f fractional bits:
 * encode(v) = round(v * 2^f) mod 2^64 (two's complement for negatives),
 * decode(x) = signed(x) / 2^f.
 *
 * Rounding is Math.round: to nearest, ties towards +infinity. A value whose
 * scaled, rounded magnitude is 2^63 or more (or NaN, or an infinity) does not
 * wrap silently: it throws a RangeError naming the index and the value.
 *
 * No BigInt per element: each 64-bit word is written and read as two 32-bit
 * halves (little-endian), computed exactly in float64 (an integer-valued
 * double below 2^63 splits exactly into hi*2^32 + lo).
 */

export const DEFAULT_FRAC_BITS = 16;
/** Largest fracBits accepted (products of two f-bit values carry 2f bits). */
export const MAX_FRAC_BITS = 62;

const TWO_32 = 4294967296;
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

/** Encodes each value as round(v * 2^fracBits) mod 2^64. */
export function encode(values: ArrayLike<number>, fracBits: number = DEFAULT_FRAC_BITS): BigUint64Array {
  checkFracBits(fracBits, 'encode');
  const n = values.length;
  const out = new BigUint64Array(n);
  const lo32 = new Uint32Array(out.buffer);
  const hi32 = new Int32Array(out.buffer);
  const scale = 2 ** fracBits;
  for (let i = 0; i < n; i++) {
    const s = Math.round(values[i]! * scale);
    // Also false for NaN.
    if (!(s < TWO_63 && s > -TWO_63)) throw outOfRange('encode', `value at index ${i}`, values[i]!, fracBits);
    const hi = Math.floor(s / TWO_32);
    lo32[2 * i] = s - hi * TWO_32;
    hi32[2 * i + 1] = hi;
  }
  return out;
}

/** Decodes ring elements as signed two's-complement values divided by 2^fracBits. */
export function decode(data: BigUint64Array, fracBits: number = DEFAULT_FRAC_BITS): Float64Array {
  checkFracBits(fracBits, 'decode');
  const n = data.length;
  const out = new Float64Array(n);
  const lo32 = new Uint32Array(data.buffer, data.byteOffset, 2 * n);
  const hi32 = new Int32Array(data.buffer, data.byteOffset, 2 * n);
  const inv = 2 ** -fracBits;
  for (let i = 0; i < n; i++) {
    out[i] = (hi32[2 * i + 1]! * TWO_32 + lo32[2 * i]!) * inv;
  }
  return out;
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

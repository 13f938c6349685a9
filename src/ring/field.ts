/**
 * Prime field Z_p for the comparison (ReLU) protocols: masked values travel
 * in Z_p with p the smallest prime above K = 2^k, k in [2, 25].
 *
 * Why p < 2^26: elements are plain JS numbers (Uint32Array / Float64Array
 * storage), and the product of two elements is then below 2^52, so it is an
 * exact double and `mulMod` needs neither BigInt nor a split multiply. Hot
 * loops (~2e6 elements per call) therefore run on typed arrays without any
 * per-element allocation.
 *
 * Also here: a bit-packed wire format (an element of Z_p needs only
 * ceil(log2 p) = k + 1 bits, not 32) and deterministic sampling from a
 * shared PRG stream, so two parties holding the same seed derive the same
 * field elements while drawing the same bytes.
 */
import { isProbablyPrime } from 'bigint-crypto-utils';

// ---------------------------------------------------------------------------
// Primes

export const MIN_FIELD_K = 2;
export const MAX_FIELD_K = 25;

function checkK(k: number, who: string): void {
  if (!Number.isInteger(k) || k < MIN_FIELD_K || k > MAX_FIELD_K) {
    throw new RangeError(
      `${who}: k must be an integer in [${MIN_FIELD_K}, ${MAX_FIELD_K}] ` +
        `(p < 2^26 keeps products exact in doubles), got ${String(k)}`,
    );
  }
}

/**
 * Smallest prime above 2^k, found with bigint-crypto-utils' Miller-Rabin test.
 * Async because the library's test is; protocols use the synchronous
 * `FIELD_PRIMES` table, which the tests check against this function.
 */
export async function smallestPrimeAbove(k: number): Promise<number> {
  checkK(k, 'smallestPrimeAbove');
  // 2^k is even, so only odd candidates can be prime. disableWorkers: the
  // library otherwise starts one worker thread per call, which costs far
  // more than testing a 26-bit number in place.
  for (let candidate = 2 ** k + 1; ; candidate += 2) {
    if (await isProbablyPrime(candidate, 16, true)) return candidate;
  }
}

/**
 * FIELD_PRIMES[k] = smallest prime above 2^k for k in [2, 25] (0 below 2,
 * undefined above 25). Hard-coded so protocols get p synchronously.
 */
export const FIELD_PRIMES: readonly number[] = Object.freeze([
  0, 0, 5, 11, 17, 37, 67, 131, 257, 521, 1031, 2053, 4099, 8209, 16411, 32771, 65537, 131101,
  262147, 524309, 1048583, 2097169, 4194319, 8388617, 16777259, 33554467,
]);

/** Largest supported modulus, 2^25 + 35 < 2^26. */
export const MAX_FIELD_PRIME: number = FIELD_PRIMES[MAX_FIELD_K]!;

/** The field prime for K = 2^k: smallest prime above 2^k. */
export function fieldPrime(k: number): number {
  checkK(k, 'field');
  return FIELD_PRIMES[k]!;
}

/** ceil(log2 p): bits per element on the wire (k + 1 for p = fieldPrime(k)). */
export function fieldBits(p: number): number {
  if (!Number.isInteger(p) || p < 1 || p > 2 ** 32) {
    throw new RangeError(`fieldBits: p must be an integer in [1, 2^32], got ${String(p)}`);
  }
  // ceil(log2 p) is the bit length of p - 1 (exact, unlike Math.log2).
  return p === 1 ? 0 : 32 - Math.clz32(p - 1);
}

// ---------------------------------------------------------------------------
// Arithmetic on numbers

/**
 * a * b mod p for integers 0 <= a, b < p < 2^26 (every field prime here).
 * Exact: a * b < 2^52 is an exact double, and floor(a*b / p) is the true
 * quotient because a true quotient just below an integer N <= 2^26 stays at
 * least 1/p > 2 ulps away from N, so the rounded division cannot reach N.
 * Used instead of `%`, which V8 lowers to a libm fmod call (~10x slower).
 */
export function mulMod(a: number, b: number, p: number): number {
  const product = a * b;
  return product - Math.floor(product / p) * p;
}

/** a + b mod p for 0 <= a, b < p < 2^26 (exact: the sum is below 2^27). */
export function addMod(a: number, b: number, p: number): number {
  const sum = a + b;
  return sum >= p ? sum - p : sum;
}

/** a - b mod p for 0 <= a, b < p < 2^26. */
export function subMod(a: number, b: number, p: number): number {
  const diff = a - b;
  return diff < 0 ? diff + p : diff;
}

/** Throws a RangeError at the first element that is not below p (received shares must be in Z_p). */
export function assertBelow(values: Uint32Array, p: number, what: string): void {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v >= p) throw new RangeError(`${what}: element ${i} is ${v}, not below ${p}`);
  }
}

/** Host byte order: the wire format and random words are little-endian; typed-array word access is used only where that matches. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------
// Bit-packed wire format
//
// Element i occupies bits [i*bits, (i+1)*bits) of the byte stream, bit j of
// the stream being bit (j mod 8) of byte floor(j / 8): little-endian in both
// bits and bytes. Trailing pad bits of the last byte are zero. Both
// directions move whole 32-bit words through an accumulator (one shift-or per
// element, four byte stores per 32 bits), never single bits.

function checkBits(bits: number, who: string): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) {
    throw new RangeError(`${who}: bits must be an integer in [1, 32], got ${String(bits)}`);
  }
}

/** Bytes on the wire for n elements of `bits` bits each: ceil(n * bits / 8). */
export function packedBytes(n: number, bits: number): number {
  checkBits(bits, 'packedBytes');
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`packedBytes: n must be a non-negative integer, got ${String(n)}`);
  }
  return Math.ceil((n * bits) / 8);
}

/**
 * Packs each value into `bits` bits (see the format above). `out` may be
 * longer than needed; the returned view has exactly packedBytes(n, bits)
 * bytes, all of them written (stale contents of a reused buffer never leak).
 * Throws a RangeError if a value needs more than `bits` bits.
 */
export function packBits(values: Uint32Array, bits: number, out?: Uint8Array): Uint8Array {
  const n = values.length;
  const nBytes = packedBytes(n, bits);
  if (out === undefined) out = new Uint8Array(nBytes);
  else if (out.length < nBytes) {
    throw new RangeError(`packBits: output has ${out.length} bytes, needs ${nBytes}`);
  }
  const maxValue = 2 ** bits - 1;
  // Whole words go out as one 32-bit store when the output is aligned (and
  // the machine little-endian, as the format is); else as four bytes.
  const words = LITTLE_ENDIAN && out.byteOffset % 4 === 0 ? new Uint32Array(out.buffer, out.byteOffset, nBytes >> 2) : null;
  // acc holds accBits (< 32) pending low bits of the stream.
  let acc = 0;
  let accBits = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v > maxValue) throw new RangeError(`packBits: element ${i} is ${v}, needs more than ${bits} bits`);
    acc |= v << accBits;
    accBits += bits;
    if (accBits >= 32) {
      // The word is complete: all 32 bits lie within the first nBytes bytes.
      if (words) {
        words[o >> 2] = acc;
      } else {
        out[o] = acc;
        out[o + 1] = acc >>> 8;
        out[o + 2] = acc >>> 16;
        out[o + 3] = acc >>> 24;
      }
      o += 4;
      accBits -= 32;
      // Bits of v that did not fit; the double shift is 0 when all of v fit
      // (a single shift by 32 would be a shift by 0 in JS).
      acc = (v >>> (bits - accBits - 1)) >>> 1;
    }
  }
  // Last partial word: only the bytes that exist (accBits > 0 here unless
  // the stream ended on a word boundary).
  for (; o < nBytes; o++) {
    out[o] = acc;
    acc >>>= 8;
  }
  return out.length === nBytes ? out : out.subarray(0, nBytes);
}

/**
 * Inverse of packBits. `bytes.length` must be exactly packedBytes(n, bits)
 * and the pad bits zero (a malformed message is rejected, not truncated).
 * `out` may be longer than n; the returned view has exactly n elements.
 */
export function unpackBits(bytes: Uint8Array, n: number, bits: number, out?: Uint32Array): Uint32Array {
  const nBytes = packedBytes(n, bits);
  if (bytes.length !== nBytes) {
    throw new RangeError(`unpackBits: expected ${nBytes} bytes for ${n} elements of ${bits} bits, got ${bytes.length}`);
  }
  if (out === undefined) out = new Uint32Array(n);
  else if (out.length < n) throw new RangeError(`unpackBits: output has length ${out.length}, needs ${n}`);
  const padBits = nBytes * 8 - n * bits;
  if (padBits > 0 && bytes[nBytes - 1]! >>> (8 - padBits) !== 0) {
    throw new RangeError(`unpackBits: the ${padBits} pad bits of the last byte are not zero`);
  }
  const mask = (2 ** bits - 1) | 0;
  const lastFull = nBytes - 4; // bytes[q..q+3] all exist while q <= lastFull
  const words = LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, nBytes >> 2) : null;
  // acc holds accBits (< 32) unread bits of the stream, lowest first.
  let acc = 0;
  let accBits = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    if (accBits >= bits) {
      // Only reachable for bits < 32, so the shift is a real one.
      out[i] = acc & mask;
      acc >>>= bits;
      accBits -= bits;
    } else {
      let w: number;
      if (q <= lastFull) {
        w = words ? words[q >> 2]! | 0 : bytes[q]! | (bytes[q + 1]! << 8) | (bytes[q + 2]! << 16) | (bytes[q + 3]! << 24);
      } else {
        w = 0;
        for (let j = 0; q + j < nBytes; j++) w |= bytes[q + j]! << (8 * j);
      }
      q += 4;
      out[i] = (acc | (w << accBits)) & mask;
      const usedBits = bits - accBits; // in [1, 32]
      acc = (w >>> (usedBits - 1)) >>> 1;
      accBits = 32 - usedBits;
    }
  }
  return out.length === n ? out : out.subarray(0, n);
}

// ---------------------------------------------------------------------------
// Sampling from a shared byte stream

/** What sampling needs from a PRG (Prg in ./prg.ts fits). */
export interface ByteStream {
  fill(out: Uint8Array): void;
}

// Words are read little-endian on every platform, so parties agree on values.

function byteSwapWords(words: Uint32Array): void {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    words[i] = (w >>> 24) | ((w >>> 8) & 0xff00) | ((w & 0xff00) << 8) | (w << 24);
  }
}

/**
 * Fills `out` with independent values uniform in [min, min + m), e.g.
 * Z_p (min 0, m = p) or Z_p^* (min 1, m = p - 1).
 *
 * Rejection sampling on 32-bit little-endian words: a word w is accepted
 * when w < floor(2^32 / m) * m (then w mod m is exactly uniform) and
 * rejected otherwise. The first batch is out.length words, drawn straight
 * into `out`'s own bytes and compacted in place; each later batch is exactly
 * as many words as are still missing. So how many bytes are drawn depends
 * only on the stream's contents and the arguments: two parties with the
 * same stream state and arguments draw the same bytes, get the same values
 * and leave their streams at the same position. No allocation.
 */
export function fillUniform(stream: ByteStream, out: Uint32Array, m: number, min = 0): void {
  if (!Number.isInteger(m) || m < 1 || m > 2 ** 32) {
    throw new RangeError(`fillUniform: m must be an integer in [1, 2^32], got ${String(m)}`);
  }
  if (!Number.isInteger(min) || min < 0 || min + m > 2 ** 32) {
    throw new RangeError(`fillUniform: [min, min + m) = [${String(min)}, ${String(min + m)}) must lie within [0, 2^32)`);
  }
  const limit = Math.floor(2 ** 32 / m) * m; // accept w < limit
  // w mod m by a multiply with 1/m (a division costs several times more):
  // the quotient estimate is off by at most one, fixed without branches.
  const inv = 1 / m;
  let done = 0;
  while (done < out.length) {
    const batch = out.subarray(done);
    stream.fill(new Uint8Array(batch.buffer, batch.byteOffset, batch.byteLength));
    if (!LITTLE_ENDIAN) byteSwapWords(batch);
    const n = out.length;
    for (let i = done; i < n; i++) {
      const w = out[i]!;
      if (w < limit) {
        let r = w - Math.floor(w * inv) * m; // in (-m, 2m)
        r -= m;
        r += r < 0 ? m : 0;
        r += r < 0 ? m : 0;
        out[done++] = min + r;
      }
    }
  }
}

/**
 * Fills `out` with independent uniform bits (0 or 1), eight per random
 * byte: draws ceil(n / 8) bytes into the front of `out` and spreads them
 * in place from the back. Bit j of byte b becomes out[8b + j].
 */
export function fillBits(stream: ByteStream, out: Uint8Array): void {
  const n = out.length;
  const nBytes = Math.ceil(n / 8);
  if (nBytes === 0) return;
  stream.fill(out.subarray(0, nBytes));
  // Byte b is read before out[8b..8b+7] are written; for b >= 1 those
  // indices are above b, so no unread byte is overwritten.
  for (let b = nBytes - 1; b >= 0; b--) {
    const byte = out[b]!;
    const base = 8 * b;
    const end = Math.min(base + 8, n);
    for (let i = base; i < end; i++) out[i] = (byte >>> (i - base)) & 1;
  }
}

let smallScratch = new Uint8Array(0);

/**
 * Fills `out` with values uniform in [0, m), m in [1, 256] (e.g. a random
 * rotation offset), by rejection on single bytes: a byte b is accepted when
 * b < floor(256 / m) * m. Each batch draws exactly as many bytes as values
 * are still missing, so, as with fillUniform, parties with the same stream
 * state draw the same bytes and get the same values.
 */
export function fillBelowSmall(stream: ByteStream, out: Uint8Array | Uint32Array, m: number): void {
  if (!Number.isInteger(m) || m < 1 || m > 256) {
    throw new RangeError(`fillBelowSmall: m must be an integer in [1, 256], got ${String(m)}`);
  }
  const limit = Math.floor(256 / m) * m;
  const n = out.length;
  let done = 0;
  while (done < n) {
    const want = n - done;
    if (smallScratch.length < want) smallScratch = new Uint8Array(Math.max(want, 64));
    const bytes = smallScratch.subarray(0, want);
    stream.fill(bytes);
    for (let i = 0; i < want; i++) {
      const b = bytes[i]!;
      if (b < limit) out[done++] = b % m;
    }
  }
}

import { describe, it, expect } from 'vitest';
import {
  addMod,
  assertBelow,
  type ByteStream,
  FIELD_PRIMES,
  fieldBits,
  fieldPrime,
  fillBelowSmall,
  fillBits,
  fillUniform,
  MAX_FIELD_K,
  MAX_FIELD_PRIME,
  MIN_FIELD_K,
  mulMod,
  packBits,
  packedBytes,
  smallestPrimeAbove,
  subMod,
  unpackBits,
} from '../src/ring/field.js';
import { Prg, SEED_BYTES } from '../src/ring/prg.js';

// Deterministic 32-bit LCG so failures reproduce.
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

function isPrimeByTrialDivision(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function seed(byte: number): Uint8Array {
  return new Uint8Array(SEED_BYTES).fill(byte);
}

/** Stream that hands out a fixed script of bytes and counts what was drawn. */
class ScriptedStream implements ByteStream {
  position = 0;
  constructor(private readonly bytes: Uint8Array) {}
  static words(words: number[]): ScriptedStream {
    const bytes = new Uint8Array(words.length * 4);
    const view = new DataView(bytes.buffer);
    words.forEach((w, i) => view.setUint32(4 * i, w, true));
    return new ScriptedStream(bytes);
  }
  fill(out: Uint8Array): void {
    if (this.position + out.length > this.bytes.length) throw new Error('script exhausted');
    out.set(this.bytes.subarray(this.position, this.position + out.length));
    this.position += out.length;
  }
}

/** Index of the first difference between two arrays (-1: equal); faster than toEqual on millions of elements. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Pearson chi-square statistic of counts against a uniform expectation. */
function chiSquare(counts: ArrayLike<number>, total: number): number {
  const expected = total / counts.length;
  let stat = 0;
  for (let i = 0; i < counts.length; i++) stat += (counts[i]! - expected) ** 2 / expected;
  return stat;
}

// 0.999 quantiles of chi-square: dof 36 -> 67.985, dof 6 -> 22.458,
// dof 3 -> 16.266, dof 2 -> 13.816. A correct sampler fails each check
// with probability 0.001 for a random seed; the seeds here are fixed.
const CHI2_999 = { 2: 13.816, 3: 16.266, 6: 22.458, 36: 67.985 } as const;

describe('field primes', () => {
  it('exposes the k range and the largest prime below 2^26', () => {
    expect(MIN_FIELD_K).toBe(2);
    expect(MAX_FIELD_K).toBe(25);
    expect(MAX_FIELD_PRIME).toBe(FIELD_PRIMES[25]);
    expect(MAX_FIELD_PRIME).toBe(33554467);
    expect(MAX_FIELD_PRIME).toBeLessThan(2 ** 26);
    expect((MAX_FIELD_PRIME - 1) ** 2).toBeLessThan(2 ** 52);
    expect(FIELD_PRIMES[0] ?? 0).toBe(0);
    expect(FIELD_PRIMES[1] ?? 0).toBe(0);
    expect(FIELD_PRIMES[26]).toBeUndefined();
  });

  it('table entries equal smallestPrimeAbove(k) and are the smallest primes above 2^k', async () => {
    for (let k = MIN_FIELD_K; k <= MAX_FIELD_K; k++) {
      const p = FIELD_PRIMES[k]!;
      expect(await smallestPrimeAbove(k), `k = ${k}`).toBe(p);
      expect(fieldPrime(k)).toBe(p);
      expect(p).toBeGreaterThan(2 ** k);
      expect(isPrimeByTrialDivision(p), `${p} prime`).toBe(true);
      for (let c = 2 ** k + 1; c < p; c++) expect(isPrimeByTrialDivision(c), `${c} composite`).toBe(false);
    }
  });

  it('rejects k outside [2, 25] or non-integer k', async () => {
    for (const k of [1, 26, 0, -3, 2.5, Number.NaN, Infinity]) {
      expect(() => fieldPrime(k)).toThrow(RangeError);
      await expect(smallestPrimeAbove(k)).rejects.toThrow(/k must be an integer in \[2, 25\]/);
    }
    expect(() => fieldPrime(26)).toThrow(
      'field: k must be an integer in [2, 25] (p < 2^26 keeps products exact in doubles), got 26',
    );
    expect(() => fieldPrime(1.5)).toThrow(/got 1\.5$/);
  });

  it('fieldBits is ceil(log2 p)', () => {
    for (let k = MIN_FIELD_K; k <= MAX_FIELD_K; k++) {
      expect(fieldBits(fieldPrime(k))).toBe(k + 1);
      expect(fieldBits(2 ** k)).toBe(k);
      expect(fieldBits(2 ** k - 1)).toBe(k);
    }
    expect(fieldBits(1)).toBe(0);
    expect(fieldBits(2)).toBe(1);
    expect(fieldBits(3)).toBe(2);
    expect(fieldBits(2 ** 32)).toBe(32);
    for (const p of [0, -1, 1.5, 2 ** 32 + 1]) expect(() => fieldBits(p)).toThrow(RangeError);
  });
});

describe('field arithmetic', () => {
  const primes = [5, 37, 65537, 524309, 16777259, MAX_FIELD_PRIME];

  it('mulMod, addMod, subMod match BigInt for random operands and edges', () => {
    const rnd = lcg(1);
    for (const p of primes) {
      const P = BigInt(p);
      const pairs: [number, number][] = [
        [0, 0], [0, p - 1], [1, p - 1], [p - 1, p - 1], [p - 2, p - 1], [p - 1, 2], [(p - 1) / 2, 2],
      ];
      for (let i = 0; i < 20000; i++) pairs.push([rnd() % p, rnd() % p]);
      const wrong: string[] = [];
      for (const [a, b] of pairs) {
        const A = BigInt(a);
        const B = BigInt(b);
        if (mulMod(a, b, p) !== Number((A * B) % P)) wrong.push(`${a} * ${b} mod ${p}`);
        if (addMod(a, b, p) !== Number((A + B) % P)) wrong.push(`${a} + ${b} mod ${p}`);
        if (subMod(a, b, p) !== Number((((A - B) % P) + P) % P)) wrong.push(`${a} - ${b} mod ${p}`);
      }
      expect(wrong).toEqual([]);
    }
  });

  it('mulMod is exact for the largest products', () => {
    // Operands near p where a * b is closest to a multiple of p from below:
    // the case a rounded quotient would get wrong.
    const p = MAX_FIELD_PRIME;
    const P = BigInt(p);
    const wrong: string[] = [];
    for (let a = p - 1; a > p - 2000; a--) {
      for (const b of [p - 1, p - 2, p - 3, a]) {
        if (mulMod(a, b, p) !== Number((BigInt(a) * BigInt(b)) % P)) wrong.push(`${a} * ${b}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('assertBelow names the first offending element', () => {
    expect(() => assertBelow(new Uint32Array([0, 4, 1]), 5, 'share')).not.toThrow();
    expect(() => assertBelow(new Uint32Array([0, 5, 7]), 5, 'share')).toThrow('share: element 1 is 5, not below 5');
    expect(() => assertBelow(new Uint32Array([4, 2, 4294967295]), 5, 'mask')).toThrow(
      'mask: element 2 is 4294967295, not below 5',
    );
  });
});

/** Bit-by-bit reference for the wire format (slow, obviously correct). */
function referencePack(values: Uint32Array, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  let pos = 0;
  for (const v of values) {
    for (let j = 0; j < bits; j++, pos++) {
      if (Math.floor(v / 2 ** j) % 2 === 1) out[pos >> 3] |= 1 << (pos & 7);
    }
  }
  return out;
}

function randomValues(n: number, bits: number, rnd: () => number): Uint32Array {
  const max = 2 ** bits - 1;
  const values = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    // Mix in all-ones and zero values so every bit position is exercised.
    const r = rnd();
    values[i] = r % 5 === 0 ? max : r % 7 === 0 ? 0 : (rnd() >>> (32 - bits)) >>> 0;
  }
  return values;
}

describe('bit packing', () => {
  const sizes = [0, 1, 2, 3, 7, 8, 9, 31, 32, 33, 1000, 1001, 4097];

  it('packedBytes is ceil(n * bits / 8)', () => {
    expect(packedBytes(0, 7)).toBe(0);
    expect(packedBytes(1, 1)).toBe(1);
    expect(packedBytes(8, 1)).toBe(1);
    expect(packedBytes(9, 1)).toBe(2);
    expect(packedBytes(3, 19)).toBe(8);
    expect(packedBytes(2e6, 19)).toBe(4750000);
    expect(packedBytes(5, 32)).toBe(20);
    expect(() => packedBytes(4, 0)).toThrow(RangeError);
    expect(() => packedBytes(4, 33)).toThrow(RangeError);
    expect(() => packedBytes(-1, 8)).toThrow(RangeError);
  });

  it('uses little-endian bit order', () => {
    expect(Array.from(packBits(new Uint32Array([1, 2, 3]), 2))).toEqual([0b111001]);
    expect(Array.from(packBits(new Uint32Array([0x1ff, 0]), 9))).toEqual([0xff, 0x01, 0x00]);
    expect(Array.from(packBits(new Uint32Array([0x12345678, 0xdeadbeef]), 32))).toEqual([
      0x78, 0x56, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde,
    ]);
    expect(Array.from(packBits(new Uint32Array([5, 0, 7]), 3))).toEqual([0b11000101, 0b1]);
  });

  it('round-trips every width 1..32 and matches the bit-by-bit reference', () => {
    const rnd = lcg(2);
    for (let bits = 1; bits <= 32; bits++) {
      for (const n of sizes) {
        const values = randomValues(n, bits, rnd);
        const packed = packBits(values, bits);
        expect(packed.length, `bits ${bits} n ${n}`).toBe(Math.ceil((n * bits) / 8));
        expect(packed, `bits ${bits} n ${n}`).toEqual(referencePack(values, bits));
        expect(unpackBits(packed, n, bits), `bits ${bits} n ${n}`).toEqual(values);
      }
      const allMax = new Uint32Array(33).fill(2 ** bits - 1);
      expect(unpackBits(packBits(allMax, bits), 33, bits)).toEqual(allMax);
    }
  });

  it('writes into longer reused buffers and returns exact-length views', () => {
    const values = new Uint32Array([3, 1, 4, 1, 5, 9, 2, 6, 5]);
    const bits = 5;
    const bytesOut = new Uint8Array(100).fill(0xff); // stale contents must not leak
    const packed = packBits(values, bits, bytesOut);
    expect(packed.length).toBe(packedBytes(values.length, bits));
    expect(packed.buffer).toBe(bytesOut.buffer);
    expect(packed).toEqual(referencePack(values, bits));
    const valuesOut = new Uint32Array(20).fill(0xffffffff);
    const unpacked = unpackBits(packed, values.length, bits, valuesOut);
    expect(unpacked.length).toBe(values.length);
    expect(unpacked.buffer).toBe(valuesOut.buffer);
    expect(unpacked).toEqual(values);
    expect(() => packBits(values, bits, new Uint8Array(5))).toThrow(RangeError);
    expect(() => unpackBits(packed, values.length, bits, new Uint32Array(8))).toThrow(RangeError);
  });

  it('rejects values wider than bits and bad widths', () => {
    expect(() => packBits(new Uint32Array([1, 32, 0]), 5)).toThrow('packBits: element 1 is 32, needs more than 5 bits');
    expect(() => packBits(new Uint32Array([0x80000000]), 31)).toThrow(RangeError);
    expect(() => packBits(new Uint32Array([2]), 1)).toThrow(RangeError);
    expect(() => packBits(new Uint32Array([0xffffffff]), 32)).not.toThrow();
    expect(() => packBits(new Uint32Array([1]), 0)).toThrow(RangeError);
    expect(() => unpackBits(new Uint8Array(5), 1, 33)).toThrow(RangeError);
  });

  it('rejects wrong lengths and nonzero pad bits', () => {
    const packed = packBits(new Uint32Array([1, 2, 3]), 19); // 57 bits -> 8 bytes, 7 pad bits
    expect(packed.length).toBe(8);
    expect(() => unpackBits(packed.subarray(0, 7), 3, 19)).toThrow(
      'unpackBits: expected 8 bytes for 3 elements of 19 bits, got 7',
    );
    expect(() => unpackBits(new Uint8Array(9), 3, 19)).toThrow(/expected 8 bytes .* got 9/);
    expect(() => unpackBits(new Uint8Array(1), 0, 19)).toThrow(/expected 0 bytes .* got 1/);
    const lowestPadBit = packed.slice();
    lowestPadBit[7] |= 0b10; // bit 57
    expect(() => unpackBits(lowestPadBit, 3, 19)).toThrow(/pad bits/);
    const highestPadBit = packed.slice();
    highestPadBit[7] |= 0x80;
    expect(() => unpackBits(highestPadBit, 3, 19)).toThrow(/pad bits/);
    const dataBit = packed.slice();
    dataBit[7] |= 0b1; // bit 56: the top bit of element 2, not padding
    expect(unpackBits(dataBit, 3, 19)[2]).toBe(3 + 2 ** 18);
  });

  it('packs and unpacks 2e6 elements of 19 bits quickly', () => {
    const n = 2_000_000;
    const bits = 19;
    const values = randomValues(n, bits, lcg(3));
    const bytes = new Uint8Array(packedBytes(n, bits));
    const back = new Uint32Array(n);
    const reps = 5;
    let packSeconds = Infinity;
    let unpackSeconds = Infinity;
    for (let r = 0; r < reps; r++) {
      let t = performance.now();
      packBits(values, bits, bytes);
      packSeconds = Math.min(packSeconds, (performance.now() - t) / 1000);
      t = performance.now();
      unpackBits(bytes, n, bits, back);
      unpackSeconds = Math.min(unpackSeconds, (performance.now() - t) / 1000);
    }
    expect(firstDifference(back, values)).toBe(-1);
    console.log(
      `field pack/unpack, ${n} elements of ${bits} bits (best of ${reps}): ` +
        `pack ${(n / packSeconds / 1e6).toFixed(0)}M elements/s, unpack ${(n / unpackSeconds / 1e6).toFixed(0)}M elements/s`,
    );
  });
});

describe('sampling', () => {
  it('fillUniform stays in [min, min + m) for Z_p and Z_p^*', () => {
    const prg = new Prg(seed(1));
    for (const k of [2, 3, 8, 19, 25]) {
      const p = fieldPrime(k);
      const zp = new Uint32Array(50_000);
      fillUniform(prg, zp, p);
      let max = 0;
      for (const v of zp) max = Math.max(max, v);
      expect(max).toBeLessThan(p);
      if (k <= 8) expect(max).toBe(p - 1); // reaches the top for small p
      const zpStar = new Uint32Array(50_000);
      fillUniform(prg, zpStar, p - 1, 1);
      let minStar = Infinity;
      let maxStar = 0;
      for (const v of zpStar) {
        minStar = Math.min(minStar, v);
        maxStar = Math.max(maxStar, v);
      }
      expect(minStar).toBeGreaterThanOrEqual(1);
      expect(maxStar).toBeLessThan(p);
      if (k <= 8) expect([minStar, maxStar]).toEqual([1, p - 1]);
    }
  });

  it('fillUniform is deterministic for same-seeded streams, positions included', () => {
    const a = new Prg(seed(9));
    const b = new Prg(seed(9));
    // Large m so rejections actually happen (acceptance ~ 2/3).
    for (const [n, m, min] of [[100_000, 3 * 2 ** 30, 0], [1001, MAX_FIELD_PRIME, 0], [77, 4, 1], [5, 2 ** 32, 0]] as const) {
      const outA = new Uint32Array(n);
      const outB = new Uint32Array(n);
      fillUniform(a, outA, m, min);
      fillUniform(b, outB, m, min);
      expect(firstDifference(outB, outA)).toBe(-1);
      expect(b.position).toBe(a.position);
    }
    // Different seeds differ.
    const c = new Prg(seed(10));
    const outA = new Uint32Array(16);
    const outC = new Uint32Array(16);
    fillUniform(new Prg(seed(9)), outA, MAX_FIELD_PRIME);
    fillUniform(c, outC, MAX_FIELD_PRIME);
    expect(outC).not.toEqual(outA);
  });

  it('fillUniform rejects words at or above floor(2^32 / m) * m, drawing replacements', () => {
    const m = 2 ** 31 + 1; // limit = m: about half the words are rejected
    const stream = ScriptedStream.words([0xffffffff, 7, m, m - 1, 12345, 0x90000000]);
    const out = new Uint32Array(3);
    fillUniform(stream, out, m, 0);
    // Batch 1: [0xffffffff, 7, m] -> accepts 7. Batch 2: [m - 1, 12345] -> both.
    expect(Array.from(out)).toEqual([7, m - 1, 12345]);
    expect(stream.position).toBe(20);

    const reduced = ScriptedStream.words([36, 37, 38, Math.floor(2 ** 32 / 37) * 37 - 1, Math.floor(2 ** 32 / 37) * 37, 0]);
    const small = new Uint32Array(5);
    fillUniform(reduced, small, 37, 10);
    expect(Array.from(small)).toEqual([46, 10, 11, 10 + ((Math.floor(2 ** 32 / 37) * 37 - 1) % 37), 10]);
    expect(reduced.position).toBe(24);
  });

  it('fillUniform checks its range arguments', () => {
    const prg = new Prg(seed(2));
    const out = new Uint32Array(4);
    expect(() => fillUniform(prg, out, 0)).toThrow(RangeError);
    expect(() => fillUniform(prg, out, 1.5)).toThrow(RangeError);
    expect(() => fillUniform(prg, out, 2 ** 32 + 1)).toThrow(RangeError);
    expect(() => fillUniform(prg, out, 2 ** 32, 1)).toThrow(RangeError);
    expect(() => fillUniform(prg, out, 10, -1)).toThrow(RangeError);
    fillUniform(prg, out, 1, 42);
    expect(Array.from(out)).toEqual([42, 42, 42, 42]);
  });

  it('fillUniform passes chi-square for m = 37 (370,000 samples, 36 dof, 0.999 quantile 67.99)', () => {
    const m = 37;
    const n = 370_000;
    const out = new Uint32Array(n);
    fillUniform(new Prg(seed(3)), out, m);
    const counts = new Float64Array(m);
    for (const v of out) counts[v]++;
    expect(chiSquare(counts, n)).toBeLessThan(CHI2_999[36]);
  });

  it('fillUniform is unbiased where plain reduction mod m would not be (m = 3 * 2^30)', () => {
    // Without rejection, w mod m would put values below 2^30 twice as often.
    const m = 3 * 2 ** 30;
    const n = 300_000;
    const out = new Uint32Array(n);
    fillUniform(new Prg(seed(4)), out, m);
    const counts = new Float64Array(3);
    for (const v of out) counts[Math.floor(v / 2 ** 30)]++;
    expect(chiSquare(counts, n)).toBeLessThan(CHI2_999[2]);
  });

  it('fillUniform passes chi-square on Z_5^* (min 1, m 4; 3 dof, 0.999 quantile 16.27)', () => {
    const n = 200_000;
    const out = new Uint32Array(n);
    fillUniform(new Prg(seed(5)), out, 4, 1);
    const counts = new Float64Array(4);
    for (const v of out) counts[v - 1]++;
    expect(chiSquare(counts, n)).toBeLessThan(CHI2_999[3]);
  });

  it('fillBits uses every bit of each byte, lowest first', () => {
    const stream = new ScriptedStream(new Uint8Array([0b10110001, 0b01, 0xff]));
    const out = new Uint8Array(10);
    fillBits(stream, out);
    expect(Array.from(out)).toEqual([1, 0, 0, 0, 1, 1, 0, 1, 1, 0]);
    expect(stream.position).toBe(2);
    fillBits(stream, new Uint8Array(0));
    expect(stream.position).toBe(2);
  });

  it('fillBits is balanced and deterministic', () => {
    const n = 1_000_003;
    const a = new Uint8Array(n);
    const b = new Uint8Array(n);
    const prgA = new Prg(seed(6));
    const prgB = new Prg(seed(6));
    fillBits(prgA, a);
    fillBits(prgB, b);
    expect(firstDifference(b, a)).toBe(-1);
    expect(prgA.position).toBe(Math.ceil(n / 8));
    expect(prgB.position).toBe(prgA.position);
    let ones = 0;
    for (const v of a) {
      if (v > 1) throw new Error(`fillBits produced ${v}`);
      ones += v;
    }
    // 5 standard deviations (sqrt(n) / 2 ~ 500) around n / 2.
    expect(Math.abs(ones - n / 2)).toBeLessThan(5 * Math.sqrt(n) / 2);
    // Pairs of neighbouring bits are uniform over {00, 01, 10, 11} (3 dof).
    const pairs = new Float64Array(4);
    for (let i = 0; i + 1 < n; i += 2) pairs[2 * a[i]! + a[i + 1]!]++;
    expect(chiSquare(pairs, Math.floor(n / 2))).toBeLessThan(CHI2_999[3]);
  });

  it('fillBelowSmall rejects bytes at or above floor(256 / m) * m', () => {
    const stream = new ScriptedStream(new Uint8Array([251, 252, 255, 3, 250, 8]));
    const out = new Uint32Array(3);
    fillBelowSmall(stream, out, 7); // limit 252
    // Batch 1: [251, 252, 255] -> 251 % 7 = 6. Batch 2: [3, 250] -> 3, 5.
    expect(Array.from(out)).toEqual([6, 3, 5]);
    expect(stream.position).toBe(5);
    expect(() => fillBelowSmall(stream, out, 0)).toThrow(RangeError);
    expect(() => fillBelowSmall(stream, out, 257)).toThrow(RangeError);
    const ones = new Uint8Array(5).fill(9);
    fillBelowSmall(new Prg(seed(7)), ones, 1);
    expect(Array.from(ones)).toEqual([0, 0, 0, 0, 0]);
  });

  it('fillBelowSmall is uniform and deterministic (m = 7, 6 dof, 0.999 quantile 22.46)', () => {
    const n = 140_000;
    const bytesOut = new Uint8Array(n);
    const wordsOut = new Uint32Array(n);
    const a = new Prg(seed(8));
    const b = new Prg(seed(8));
    fillBelowSmall(a, bytesOut, 7);
    fillBelowSmall(b, wordsOut, 7);
    expect(firstDifference(wordsOut, bytesOut)).toBe(-1);
    expect(b.position).toBe(a.position);
    const counts = new Float64Array(7);
    for (const v of bytesOut) counts[v]++;
    expect(chiSquare(counts, n)).toBeLessThan(CHI2_999[6]);
    const full = new Uint8Array(256);
    const c = new Prg(seed(8));
    fillBelowSmall(c, full, 256); // m = 256: no rejection, one byte each
    expect(c.position).toBe(256);
  });
});

/**
 * Elementwise ring operations over Z_2^64 on BigUint64Array.
 *
 * Every op returns its result in `out` (allocated when absent); `out` may be
 * one of the inputs. Add, sub, neg and mul are plain JS: V8 compiles
 * `o[i] = a[i] + b[i]` over BigUint64Arrays to native 64-bit instructions
 * (the truncating store makes the wrap mod 2^64 free), and unrolling by 8
 * lets it share the per-access array checks, ~1e9 elements/s (bench:
 * bench/kernels.ts). V8 does not lower BigInt shifts (~0.03e9/s), so the
 * shifts run in WebAssembly SIMD on cache-sized chunks.
 */
import { allocRing } from './tensor.js';
import { kernels, reserve } from './wasm/kernels.js';

function result(op: string, n: number, out: BigUint64Array | undefined): BigUint64Array {
  if (out === undefined) return allocRing(n);
  if (out.length !== n) throw new RangeError(`${op}: output has length ${out.length}, inputs have length ${n}`);
  return out;
}

function sameLength(op: string, a: BigUint64Array, b: BigUint64Array): void {
  if (a.length !== b.length) throw new RangeError(`${op}: length mismatch, ${a.length} vs ${b.length}`);
}

/** a + b mod 2^64 */
export function add(a: BigUint64Array, b: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  sameLength('add', a, b);
  const o = result('add', a.length, out);
  const n = a.length;
  const head = n & 7;
  let i = 0;
  for (; i < head; i++) o[i] = a[i]! + b[i]!;
  for (; i < n; i += 8) {
    o[i] = a[i]! + b[i]!;
    o[i + 1] = a[i + 1]! + b[i + 1]!;
    o[i + 2] = a[i + 2]! + b[i + 2]!;
    o[i + 3] = a[i + 3]! + b[i + 3]!;
    o[i + 4] = a[i + 4]! + b[i + 4]!;
    o[i + 5] = a[i + 5]! + b[i + 5]!;
    o[i + 6] = a[i + 6]! + b[i + 6]!;
    o[i + 7] = a[i + 7]! + b[i + 7]!;
  }
  return o;
}

/** a - b mod 2^64 */
export function sub(a: BigUint64Array, b: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  sameLength('sub', a, b);
  const o = result('sub', a.length, out);
  const n = a.length;
  const head = n & 7;
  let i = 0;
  for (; i < head; i++) o[i] = a[i]! - b[i]!;
  for (; i < n; i += 8) {
    o[i] = a[i]! - b[i]!;
    o[i + 1] = a[i + 1]! - b[i + 1]!;
    o[i + 2] = a[i + 2]! - b[i + 2]!;
    o[i + 3] = a[i + 3]! - b[i + 3]!;
    o[i + 4] = a[i + 4]! - b[i + 4]!;
    o[i + 5] = a[i + 5]! - b[i + 5]!;
    o[i + 6] = a[i + 6]! - b[i + 6]!;
    o[i + 7] = a[i + 7]! - b[i + 7]!;
  }
  return o;
}

/** -a mod 2^64 */
export function neg(a: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const o = result('neg', a.length, out);
  const n = a.length;
  const head = n & 7;
  let i = 0;
  for (; i < head; i++) o[i] = -a[i]!;
  for (; i < n; i += 8) {
    o[i] = -a[i]!;
    o[i + 1] = -a[i + 1]!;
    o[i + 2] = -a[i + 2]!;
    o[i + 3] = -a[i + 3]!;
    o[i + 4] = -a[i + 4]!;
    o[i + 5] = -a[i + 5]!;
    o[i + 6] = -a[i + 6]!;
    o[i + 7] = -a[i + 7]!;
  }
  return o;
}

/** Elementwise product a * b mod 2^64. */
export function mul(a: BigUint64Array, b: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  sameLength('mul', a, b);
  const o = result('mul', a.length, out);
  const n = a.length;
  const head = n & 7;
  let i = 0;
  for (; i < head; i++) o[i] = a[i]! * b[i]!;
  for (; i < n; i += 8) {
    o[i] = a[i]! * b[i]!;
    o[i + 1] = a[i + 1]! * b[i + 1]!;
    o[i + 2] = a[i + 2]! * b[i + 2]!;
    o[i + 3] = a[i + 3]! * b[i + 3]!;
    o[i + 4] = a[i + 4]! * b[i + 4]!;
    o[i + 5] = a[i + 5]! * b[i + 5]!;
    o[i + 6] = a[i + 6]! * b[i + 6]!;
    o[i + 7] = a[i + 7]! * b[i + 7]!;
  }
  return o;
}

/** a * s mod 2^64 for a scalar s (any bigint; taken mod 2^64). */
export function mulScalar(a: BigUint64Array, s: bigint, out?: BigUint64Array): BigUint64Array {
  const o = result('mulScalar', a.length, out);
  const k = BigInt.asUintN(64, s);
  const n = a.length;
  const head = n & 7;
  let i = 0;
  for (; i < head; i++) o[i] = a[i]! * k;
  for (; i < n; i += 8) {
    o[i] = a[i]! * k;
    o[i + 1] = a[i + 1]! * k;
    o[i + 2] = a[i + 2]! * k;
    o[i + 3] = a[i + 3]! * k;
    o[i + 4] = a[i + 4]! * k;
    o[i + 5] = a[i + 5]! * k;
    o[i + 6] = a[i + 6]! * k;
    o[i + 7] = a[i + 7]! * k;
  }
  return o;
}

/** a + s mod 2^64 for a scalar s (any bigint; taken mod 2^64). */
export function addScalar(a: BigUint64Array, s: bigint, out?: BigUint64Array): BigUint64Array {
  const o = result('addScalar', a.length, out);
  const k = BigInt.asUintN(64, s);
  const n = a.length;
  const head = n & 7;
  let i = 0;
  for (; i < head; i++) o[i] = a[i]! + k;
  for (; i < n; i += 8) {
    o[i] = a[i]! + k;
    o[i + 1] = a[i + 1]! + k;
    o[i + 2] = a[i + 2]! + k;
    o[i + 3] = a[i + 3]! + k;
    o[i + 4] = a[i + 4]! + k;
    o[i + 5] = a[i + 5]! + k;
    o[i + 6] = a[i + 6]! + k;
    o[i + 7] = a[i + 7]! + k;
  }
  return o;
}

function checkBits(op: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 63) throw new RangeError(`${op}: shift must be an integer in [0, 63], got ${bits}`);
}

/** Elements per wasm round trip: in + out stay in L2. */
const SHIFT_CHUNK = 1 << 14;

function shift(
  op: string,
  kernel: (a: number, len: number, bits: number, out: number) => void,
  a: BigUint64Array, bits: number, out: BigUint64Array | undefined,
): BigUint64Array {
  checkBits(op, bits);
  const o = result(op, a.length, out);
  const n = a.length;
  if (n === 0) return o;
  const chunk = Math.min(SHIFT_CHUNK, n);
  const [p] = reserve(chunk * 8);
  const view = new BigUint64Array(kernels.memory.buffer, p!, chunk);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    const v = len === chunk ? view : view.subarray(0, len);
    v.set(start === 0 && len === n ? a : a.subarray(start, start + len));
    kernel(p!, len, bits, p!);
    o.set(v, start);
  }
  return o;
}

/**
 * Arithmetic right shift: the two's-complement value of each element shifted
 * right by `bits` (0..63) with sign fill, returned as its uint64 bits.
 */
export function shrArith(a: BigUint64Array, bits: number, out?: BigUint64Array): BigUint64Array {
  return shift('shrArith', kernels.shrArith, a, bits, out);
}

/** -((-a) >>arith bits): ceil(a / 2^bits) of the signed value, in one pass. */
export function shrArithCeil(a: BigUint64Array, bits: number, out?: BigUint64Array): BigUint64Array {
  return shift('shrArithCeil', kernels.shrArithCeil, a, bits, out);
}

/** Logical right shift by `bits` (0..63), zero fill. */
export function shrLogical(a: BigUint64Array, bits: number, out?: BigUint64Array): BigUint64Array {
  return shift('shrLogical', kernels.shrLogical, a, bits, out);
}

/**
 * Loads the AssemblyScript ring kernels synchronously at module load and
 * manages their linear memory.
 *
 * Memory model: one instance, one linear memory. Every call that uses the
 * kernels lays its buffers out from the heap base upwards with `reserve`
 * (a bump layout that is reset on each call), copies inputs in, runs, and
 * copies results out. All of it is synchronous, so calls never interleave.
 * Memory grows on demand and is never given back (WebAssembly memories
 * cannot shrink); the high-water mark is the largest single call.
 */
import { KERNELS_WASM_BASE64 } from './kernels.wasm.generated.js';

// tsconfig has lib ES2022 without DOM, so the WebAssembly globals are untyped
// here; these are the few members used.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface KernelExports {
  readonly memory: WasmMemory;
  heapBase(): number;
  gemm(a: number, b: number, c: number, m: number, n: number, k: number, flags: number, scratch: number): void;
  im2col(
    x: number, C: number, H: number, W: number,
    kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    n0: number, nc: number, out: number,
  ): void;
  col2im(
    cols: number, C: number, H: number, W: number,
    kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    n0: number, nc: number, x: number,
  ): void;
  im2colPacked(
    x: number, C: number, H: number, W: number,
    kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    n0: number, nc: number, rowBuf: number, out: number,
  ): void;
  im2colPackRows(): number;
  gemmPackedB(a: number, packedB: number, c: number, m: number, n: number, k: number, flags: number, scratch: number): void;
  permute021(src: number, rows: number, nc: number, inner: number, dst: number): void;
  shrArith(a: number, len: number, bits: number, out: number): void;
  shrArithCeil(a: number, len: number, bits: number, out: number): void;
  shrLogical(a: number, len: number, bits: number, out: number): void;
  encodeFixed(buf: number, len: number, scale: number): number;
  decodeFixed(buf: number, len: number, inv: number): void;
  beaverCombine(c: number, mine: number, theirs: number, x: number, y: number, len: number, p0: number, shift: number): void;
}

export const GEMM_TRANS_A = 1;
export const GEMM_TRANS_B = 2;
export const GEMM_ACCUMULATE = 4;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('mpcnet ring kernels assume a little-endian platform');
}

function instantiate(): KernelExports {
  const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
  const module = new WA.Module(bytes);
  const instance = new WA.Instance(module, {});
  return instance.exports as unknown as KernelExports;
}

export const kernels: KernelExports = instantiate();

const PAGE = 65536;
/** wasm32 addresses: 4 GiB at most (65536 pages). */
const MAX_BYTES = 65536 * PAGE;
const heapStart = align16(kernels.heapBase());

function align16(x: number): number {
  return Math.ceil(x / 16) * 16;
}

/**
 * Lays out buffers of the given byte sizes (each 16-byte aligned) from the
 * heap base, growing memory as needed, and returns their addresses. Views
 * taken before a call to `reserve` may be detached by it: take views after.
 */
export function reserve(...sizes: number[]): number[] {
  const ptrs: number[] = [];
  let top = heapStart;
  for (const size of sizes) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`wasm reserve: bad size ${size}`);
    ptrs.push(top);
    top = align16(top + size);
  }
  if (top > MAX_BYTES) {
    throw new RangeError(
      `wasm ring kernels: this call needs ${top} bytes of linear memory, more than the 4 GiB a wasm32 memory can hold; split the work`,
    );
  }
  const have = kernels.memory.buffer.byteLength;
  if (top > have) kernels.memory.grow(Math.ceil((top - have) / PAGE));
  return ptrs;
}


// Scratch sizes, computed here in float64 (exact) rather than by the wasm
// exports, whose 32-bit arithmetic would wrap for oversized requests before
// reserve() could reject them. Same formulas as src/ring/assembly/kernels.ts.

/** Bytes of a packed A (m x n): row pairs x depth x 16 bytes. */
export function packedBytesA(m: number, n: number): number {
  return align16(Math.ceil(m / 2) * n * 16);
}

/** Bytes of a packed B (n x k): 4-column panels x depth x 32 bytes. */
export function packedBytesB(n: number, k: number): number {
  return align16(Math.ceil(k / 4) * n * 32);
}

/** Scratch bytes kernels.gemm needs. */
export function gemmScratchBytes(m: number, n: number, k: number): number {
  return packedBytesA(m, n) + packedBytesB(n, k);
}

/** Current size of the kernels' linear memory in bytes. */
export function wasmMemoryBytes(): number {
  return kernels.memory.buffer.byteLength;
}

/** A view of `len` u64 values at byte address `ptr` (valid until the next `reserve`). */
export function u64View(ptr: number, len: number): BigUint64Array {
  return new BigUint64Array(kernels.memory.buffer, ptr, len);
}

/** Copies `src` into linear memory at `ptr`. */
export function copyIn(src: BigUint64Array | BigInt64Array, ptr: number): void {
  const view = src instanceof BigInt64Array
    ? new BigInt64Array(kernels.memory.buffer, ptr, src.length)
    : new BigUint64Array(kernels.memory.buffer, ptr, src.length);
  view.set(src as never);
}

/** Copies `len` u64 values at `ptr` out into `out` (allocated when absent). */
export function copyOut(ptr: number, len: number, out?: BigUint64Array): BigUint64Array {
  const dst = out ?? new BigUint64Array(len);
  dst.set(u64View(ptr, len));
  return dst;
}

/**
 * V8 first runs wasm functions with its baseline compiler and swaps in the
 * optimised code only after they have run for a while; a first large product
 * would otherwise run entirely on baseline code (~3x slower). One small
 * product at load (about a millisecond) starts the optimising compile early.
 */
function warmUp(): void {
  const n = 64;
  const [a, b, c, scratch] = reserve(n * n * 8, n * n * 8, n * n * 8, gemmScratchBytes(n, n, n));
  kernels.gemm(a!, b!, c!, n, n, n, 0, scratch!);
}
warmUp();

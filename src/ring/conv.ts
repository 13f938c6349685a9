/**
 * 2-D convolution over Z_2^64 on NCHW tensors via im2col and the wasm matrix
 * product.
 *
 * Column matrix ("cols") convention, shared by im2col and col2im:
 *   rows    = C * kh * kw,    row index (c * kh + ky) * kw + kx
 *   columns = nb * Ho * Wo,   column index (n * Ho + oy) * Wo + ox
 * for the batch slice [batchStart, batchStart + nb). With W reshaped to
 * [Co, C*kh*kw], the convolution is W * cols = [Co, nb*Ho*Wo], and the
 * backward pass is two more products over the same matrices:
 *   dW   = dY * cols^T                (dY as [Co, N*Ho*Wo])
 *   dX   = col2im(W^T * dY)
 * (see gemm's transA / transB options).
 */
import {
  copyIn, copyOut, GEMM_ACCUMULATE, GEMM_TRANS_A, GEMM_TRANS_B, gemmScratchBytes, kernels, packedBytesA, packedBytesB, reserve, u64View,
} from './wasm/kernels.js';
import { type Shape } from './tensor.js';

export interface Conv2dOptions {
  /** Stride, one number for both axes or [strideH, strideW]. Default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding on each side, one number or [padH, padW]. Default 0. */
  padding?: number | readonly [number, number];
  /**
   * Upper bound on the elements of one im2col matrix in conv2d and its
   * backward passes (default 2^22, i.e. 32 MiB); the batch is processed in
   * slices of whole images below it (at least one image per slice).
   */
  maxColumnElements?: number;
}

export interface BatchSlice {
  /** First image of the slice (default 0). */
  batchStart?: number;
  /** Number of images (default: the rest of the batch). */
  batchCount?: number;
}

/** Resolved convolution geometry. */
export interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  Co: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number;
  Ho: number; Wo: number;
}

function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

function pair(v: number | readonly [number, number] | undefined, dflt: number, what: string): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  if (v.length !== 2) throw new RangeError(`conv2d: ${what} must be a number or a pair, got [${v.join(', ')}]`);
  return [v[0], v[1]];
}

function checkDims(shape: Shape, what: string): void {
  if (shape.length !== 4) throw new RangeError(`conv2d: ${what} must have 4 dimensions, got shape ${fmt(shape)}`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`conv2d: ${what} shape ${fmt(shape)} has a bad dimension ${d}`);
  }
}

/**
 * Checks an input shape [N, C, H, W] against a kernel [Co, C, kh, kw] (or any
 * [*, C, kh, kw]) and options; returns the full geometry.
 */
export function convGeometry(xShape: Shape, wShape: Shape, opts: Conv2dOptions = {}): ConvGeometry {
  checkDims(xShape, 'input');
  checkDims(wShape, 'weights');
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [Co, Cw, kh, kw] = wShape as [number, number, number, number];
  const [sh, sw] = pair(opts.stride, 1, 'stride');
  const [ph, pw] = pair(opts.padding, 0, 'padding');
  const desc = `input ${fmt(xShape)}, weights ${fmt(wShape)}, stride [${sh}, ${sw}], padding [${ph}, ${pw}]`;
  if (!(Number.isInteger(sh) && sh > 0 && Number.isInteger(sw) && sw > 0)) {
    throw new RangeError(`conv2d: stride must be a positive integer (${desc})`);
  }
  if (!(Number.isInteger(ph) && ph >= 0 && Number.isInteger(pw) && pw >= 0)) {
    throw new RangeError(`conv2d: padding must be a non-negative integer (${desc})`);
  }
  if (Cw !== C) throw new RangeError(`conv2d: channel mismatch, input has ${C} channels, weights expect ${Cw} (${desc})`);
  if (kh < 1 || kw < 1) throw new RangeError(`conv2d: empty kernel (${desc})`);
  if (kh > H + 2 * ph || kw > W + 2 * pw) {
    throw new RangeError(
      `conv2d: kernel ${kh}x${kw} is larger than the padded input ${H + 2 * ph}x${W + 2 * pw} (${desc})`,
    );
  }
  const Ho = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  return { N, C, H, W, Co, kh, kw, sh, sw, ph, pw, Ho, Wo };
}

/** Output shape [N, Co, Ho, Wo] of conv2d(x: xShape, w: wShape). */
export function conv2dOutputShape(xShape: Shape, wShape: Shape, opts: Conv2dOptions = {}): number[] {
  const g = convGeometry(xShape, wShape, opts);
  return [g.N, g.Co, g.Ho, g.Wo];
}

function slice(g: ConvGeometry, s: BatchSlice): [number, number] {
  const start = s.batchStart ?? 0;
  const count = s.batchCount ?? g.N - start;
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > g.N) {
    throw new RangeError(`conv2d: batch slice [${start}, ${start + count}) is outside a batch of ${g.N}`);
  }
  return [start, count];
}

function kernelShape(xShape: Shape, kernel: readonly [number, number]): number[] {
  return [1, xShape[1] ?? 0, kernel[0], kernel[1]];
}

export interface ColumnMatrix {
  data: BigUint64Array;
  /** C * kh * kw */
  rows: number;
  /** batchCount * Ho * Wo */
  cols: number;
}

/** Lays the (zero-padded) receptive fields of x [N, C, H, W] out as a column matrix (see the module comment). */
export function im2col(
  x: BigUint64Array, xShape: Shape, kernel: readonly [number, number],
  opts: Conv2dOptions & BatchSlice = {},
): ColumnMatrix {
  const g = convGeometry(xShape, kernelShape(xShape, kernel), opts);
  assertLength(x, g.N * g.C * g.H * g.W, 'input', xShape);
  const [n0, nb] = slice(g, opts);
  const rows = g.C * g.kh * g.kw;
  const cols = nb * g.Ho * g.Wo;
  if (rows * cols === 0) return { data: new BigUint64Array(rows * cols), rows, cols };
  const [px, pc] = reserve(x.byteLength, rows * cols * 8);
  copyIn(x, px!);
  kernels.im2col(px!, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, n0, nb, pc!);
  return { data: u64View(pc!, rows * cols).slice(), rows, cols };
}

/**
 * Adjoint of im2col: sums every column-matrix entry into the input position it
 * was read from (padding positions are dropped). Returns an [N, C, H, W]
 * array; with `accumulate` the sums are added into `out`.
 */
export function col2im(
  cols: BigUint64Array, xShape: Shape, kernel: readonly [number, number],
  opts: Conv2dOptions & BatchSlice & { out?: BigUint64Array; accumulate?: boolean } = {},
): BigUint64Array {
  const g = convGeometry(xShape, kernelShape(xShape, kernel), opts);
  const [n0, nb] = slice(g, opts);
  const size = g.N * g.C * g.H * g.W;
  const rows = g.C * g.kh * g.kw;
  const ncols = nb * g.Ho * g.Wo;
  if (cols.length !== rows * ncols) {
    throw new RangeError(`col2im: a ${rows} x ${ncols} column matrix needs ${rows * ncols} elements, got ${cols.length}`);
  }
  const out = opts.out ?? new BigUint64Array(size);
  assertLength(out, size, 'col2im output', xShape);
  if (opts.accumulate && opts.out === undefined) throw new RangeError('col2im: accumulate needs an output to add into');
  if (size === 0) return out;
  const [pc, px] = reserve(cols.byteLength, size * 8);
  copyIn(cols, pc!);
  if (opts.accumulate) copyIn(out, px!);
  else u64View(px!, size).fill(0n);
  kernels.col2im(pc!, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, n0, nb, px!);
  out.set(u64View(px!, size));
  return out;
}

function assertLength(data: { length: number }, n: number, what: string, shape: Shape): void {
  if (data.length !== n) throw new RangeError(`conv2d: ${what} of shape ${fmt(shape)} needs ${n} elements, got ${data.length}`);
}

const DEFAULT_COLUMN_ELEMENTS = 1 << 22;

/**
 * conv2d(x, w) over Z_2^64: x [N, C, H, W], w [Co, C, kh, kw], zero padding,
 * no bias. Returns { data, shape: [N, Co, Ho, Wo] }. The batch is processed in
 * slices so the column matrix stays within `maxColumnElements`.
 */
export function conv2d(
  x: BigUint64Array, xShape: Shape,
  w: BigUint64Array, wShape: Shape,
  opts: Conv2dOptions = {},
): { data: BigUint64Array; shape: number[] } {
  const g = convGeometry(xShape, wShape, opts);
  assertLength(x, g.N * g.C * g.H * g.W, 'input', xShape);
  assertLength(w, g.Co * g.C * g.kh * g.kw, 'weights', wShape);
  const shape = [g.N, g.Co, g.Ho, g.Wo];
  const HW = g.Ho * g.Wo;
  const K = g.C * g.kh * g.kw;
  const out = new BigUint64Array(g.N * g.Co * HW);
  if (out.length === 0) return { data: out, shape };
  if (K === 0) return { data: out, shape };
  const nb = chunkImages(g, K, opts);
  const cols = nb * HW;
  // im2col writes straight into the packed-B layout, a few rows at a time.
  const [px, pw, prow, ppacked, pprod, pperm, scratch] = reserve(
    x.byteLength, w.byteLength, kernels.im2colPackRows() * cols * 8, packedBytesB(K, cols), g.Co * cols * 8, g.Co * cols * 8,
    packedBytesA(g.Co, K),
  );
  copyIn(x, px!);
  copyIn(w, pw!);
  for (let n0 = 0; n0 < g.N; n0 += nb) {
    const nc = Math.min(nb, g.N - n0);
    const k = nc * HW;
    kernels.im2colPacked(px!, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, n0, nc, prow!, ppacked!);
    kernels.gemmPackedB(pw!, ppacked!, pprod!, g.Co, K, k, 0, scratch!);
    if (nc === 1) {
      out.set(u64View(pprod!, g.Co * HW), n0 * g.Co * HW);
    } else {
      kernels.permute021(pprod!, g.Co, nc, HW, pperm!);
      out.set(u64View(pperm!, g.Co * k), n0 * g.Co * HW);
    }
  }
  return { data: out, shape };
}

/** Images per chunk so that a [K, nb*HW] column matrix stays within the budget. */
function chunkImages(g: ConvGeometry, K: number, opts: Conv2dOptions): number {
  const budget = opts.maxColumnElements ?? DEFAULT_COLUMN_ELEMENTS;
  if (!(budget > 0)) throw new RangeError(`conv2d: maxColumnElements must be positive, got ${budget}`);
  return Math.max(1, Math.min(g.N, Math.floor(budget / Math.max(1, K * g.Ho * g.Wo))));
}

/**
 * Gradient of conv2d with respect to its weights: dW [Co, C, kh, kw] from the
 * input x [N, C, H, W] and the output gradient dY [N, Co, Ho, Wo]:
 * dW = dY [Co, N*Ho*Wo] * cols^T, summed over batch slices.
 */
export function conv2dBackwardWeights(
  x: BigUint64Array, xShape: Shape,
  dy: BigUint64Array, wShape: Shape,
  opts: Conv2dOptions = {},
): BigUint64Array {
  const g = convGeometry(xShape, wShape, opts);
  const HW = g.Ho * g.Wo;
  const K = g.C * g.kh * g.kw;
  assertLength(x, g.N * g.C * g.H * g.W, 'input', xShape);
  assertLength(dy, g.N * g.Co * HW, 'output gradient', [g.N, g.Co, g.Ho, g.Wo]);
  const dw = new BigUint64Array(g.Co * K);
  if (dw.length === 0 || g.N * HW === 0) return dw;
  const nb = chunkImages(g, K, opts);
  const cols = nb * HW;
  const [px, pdy, pcols, pdyT, pdw, scratch] = reserve(
    x.byteLength, dy.byteLength, K * cols * 8, g.Co * cols * 8, dw.byteLength,
    gemmScratchBytes(g.Co, cols, K),
  );
  copyIn(x, px!);
  copyIn(dy, pdy!);
  for (let n0 = 0; n0 < g.N; n0 += nb) {
    const nc = Math.min(nb, g.N - n0);
    kernels.im2col(px!, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, n0, nc, pcols!);
    // dY slice [nc, Co, HW] -> [Co, nc*HW]
    kernels.permute021(pdy! + n0 * g.Co * HW * 8, nc, g.Co, HW, pdyT!);
    kernels.gemm(pdyT!, pcols!, pdw!, g.Co, nc * HW, K, n0 === 0 ? GEMM_TRANS_B : GEMM_TRANS_B | GEMM_ACCUMULATE, scratch!);
  }
  return copyOut(pdw!, dw.length, dw);
}

/**
 * Gradient of conv2d with respect to its input: dX [N, C, H, W] from the
 * weights w [Co, C, kh, kw] and the output gradient dY [N, Co, Ho, Wo]:
 * dX = col2im(W^T * dY [Co, N*Ho*Wo]).
 */
export function conv2dBackwardInput(
  w: BigUint64Array, wShape: Shape,
  dy: BigUint64Array, xShape: Shape,
  opts: Conv2dOptions = {},
): BigUint64Array {
  const g = convGeometry(xShape, wShape, opts);
  const HW = g.Ho * g.Wo;
  const K = g.C * g.kh * g.kw;
  assertLength(w, g.Co * K, 'weights', wShape);
  assertLength(dy, g.N * g.Co * HW, 'output gradient', [g.N, g.Co, g.Ho, g.Wo]);
  const dx = new BigUint64Array(g.N * g.C * g.H * g.W);
  if (dx.length === 0 || g.Co === 0) return dx;
  const nb = chunkImages(g, K, opts);
  const cols = nb * HW;
  const [pw, pdy, pdyT, pdcols, pdx, scratch] = reserve(
    w.byteLength, dy.byteLength, g.Co * cols * 8, K * cols * 8, dx.byteLength,
    gemmScratchBytes(K, g.Co, cols),
  );
  copyIn(w, pw!);
  copyIn(dy, pdy!);
  u64View(pdx!, dx.length).fill(0n);
  for (let n0 = 0; n0 < g.N; n0 += nb) {
    const nc = Math.min(nb, g.N - n0);
    kernels.permute021(pdy! + n0 * g.Co * HW * 8, nc, g.Co, HW, pdyT!);
    // dCols [K, nc*HW] = W^T [K, Co] * dY [Co, nc*HW]
    kernels.gemm(pw!, pdyT!, pdcols!, K, g.Co, nc * HW, GEMM_TRANS_A, scratch!);
    kernels.col2im(pdcols!, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, n0, nc, pdx!);
  }
  return copyOut(pdx!, dx.length, dx);
}

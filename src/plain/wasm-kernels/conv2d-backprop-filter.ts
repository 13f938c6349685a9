/**
 * Conv2DBackpropFilter for the tfjs wasm backend, which ships without it
 * (tfjs issue 8474), so no convolution can train there as shipped.
 *
 * dW[kh, kw, ci, co] = sum_{n, ho, wo} x[n, ho*sh + kh - top, wo*sw + kw - left, ci] * dy[n, ho, wo, co]
 *
 * is computed as one matrix product on the backend's own (XNNPACK) matmul:
 *   dW [K, Co] = P [K, G] . D [G, Co],   K = KH*KW*Ci.
 * D is dy laid out on a slightly larger output grid (Hg x Wg per image, zero
 * outside Ho x Wo). Split the filter offsets by stride phase, kh = qh*sh + rh:
 * for a fixed phase (rh, rw) the input samples x[n, a*sh + rh - top, ...]
 * form an image on the same grid, and offset (qh, qw) is that image shifted
 * by qh*Wg + qw grid cells. So every row of P is one contiguous copy out of
 * a channel-first phase image; rows whose shifted read runs past an image's
 * grid only meet zeros of D. Measured here: the transposed-A matmul form and
 * a Co x G by G x K product are 8-12x slower than this K x G by G x Co one.
 *
 * When K < Co (a first layer: K = 9 for one input channel, Co = 32) copying
 * dy onto the grid costs more than everything else, so P is built on dy's own
 * grid instead, P [K, M] with M = N*Ho*Wo, by a direct gather from x, and dy
 * is the right operand as it is.
 */
import { backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocate, callKernel, heapView, release } from './wasm-heap.js';

/** Reused across calls: the channel-first phase image (grows, never shrinks). */
let phaseScratch = new Float32Array(0);

function scratch(size: number): Float32Array {
  if (phaseScratch.length < size) phaseScratch = new Float32Array(size);
  return phaseScratch;
}

export interface FilterGradGeometry {
  n: number; h: number; w: number; ci: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  top: number; left: number; ho: number; wo: number;
}

export function filterGradGeometry(xShape: number[], dyShape: number[], attrs: Conv2DBackpropFilterAttrs): FilterGradGeometry {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${attrs.dataFormat}`);
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  if (info.outHeight !== dyShape[1] || info.outWidth !== dyShape[2] || info.outChannels !== dyShape[3]) {
    throw new Error(`Conv2DBackpropFilter (wasm): dy shape [${dyShape}] does not match the convolution output [${info.outShape}]`);
  }
  return {
    n: info.batchSize, h: info.inHeight, w: info.inWidth, ci: info.inChannels, co: info.outChannels,
    kh: info.filterHeight, kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth,
    top: info.padInfo.top, left: info.padInfo.left, ho: info.outHeight, wo: info.outWidth,
  };
}

/**
 * Fills p (row-major [K, G]) and d (row-major [G, Co]) from x (NHWC) and dy (NHWC).
 * Exported for tests; the kernel below calls it on heap views.
 */
export function fillFilterGradOperands(g: FilterGradGeometry, x: Float32Array, dy: Float32Array, p: Float32Array, d: Float32Array): void {
  const { n, h, w, ci, co, kh, kw, sh, sw, top, left, ho, wo } = g;
  const qh = Math.ceil(kh / sh);
  const qw = Math.ceil(kw / sw);
  const hg = ho + qh - 1;
  const wg = wo + qw - 1;
  const cells = n * hg * wg;
  // Shifted reads go at most this far past the last grid cell.
  const tail = (qh - 1) * wg + (qw - 1);
  const rowLen = cells + tail;

  // D: dy on the grid, zero elsewhere.
  d.fill(0, 0, cells * co);
  const run = wo * co;
  for (let b = 0; b < n; b++) {
    for (let a = 0; a < ho; a++) {
      const src = (b * ho + a) * run;
      d.set(dy.subarray(src, src + run), ((b * hg + a) * wg) * co);
    }
  }

  const phase = scratch(ci * rowLen);
  for (let rh = 0; rh < Math.min(sh, kh); rh++) {
    for (let rw = 0; rw < Math.min(sw, kw); rw++) {
      // Channel-first phase image: phase[c][(b, a, j)] = x[b, a*sh + rh - top, j*sw + rw - left, c].
      phase.fill(0, 0, ci * rowLen);
      for (let b = 0; b < n; b++) {
        for (let a = 0; a < hg; a++) {
          const y = a * sh + rh - top;
          if (y < 0 || y >= h) continue;
          const cellRow = (b * hg + a) * wg;
          const xRow = (b * h + y) * w;
          for (let j = 0; j < wg; j++) {
            const xc = j * sw + rw - left;
            if (xc < 0 || xc >= w) continue;
            const cell = cellRow + j;
            let s = (xRow + xc) * ci;
            for (let c = 0; c < ci; c++) phase[c * rowLen + cell] = x[s++]!;
          }
        }
      }
      // Rows of P for every filter offset in this phase: shifted copies.
      for (let oh = 0; oh * sh + rh < kh; oh++) {
        for (let ow = 0; ow * sw + rw < kw; ow++) {
          const shift = oh * wg + ow;
          const k0 = ((oh * sh + rh) * kw + (ow * sw + rw)) * ci;
          for (let c = 0; c < ci; c++) {
            const src = c * rowLen + shift;
            p.set(phase.subarray(src, src + cells), (k0 + c) * cells);
          }
        }
      }
    }
  }
}

/** Fills p (row-major [K, N*Ho*Wo]): p[(kh, kw, c)][(n, ho, wo)] = x[n, ho*sh + kh - top, wo*sw + kw - left, c] or 0. */
export function fillOutputGridPatches(g: FilterGradGeometry, x: Float32Array, p: Float32Array): void {
  const { n, h, w, ci, kh, kw, sh, sw, top, left, ho, wo } = g;
  const m = n * ho * wo;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let c = 0; c < ci; c++) {
        let o = ((a * kw + b) * ci + c) * m;
        for (let img = 0; img < n; img++) {
          for (let yo = 0; yo < ho; yo++) {
            const y = yo * sh + a - top;
            if (y < 0 || y >= h) {
              p.fill(0, o, o + wo);
              o += wo;
              continue;
            }
            const row = (img * h + y) * w;
            for (let xo = 0; xo < wo; xo++) {
              const xc = xo * sw + b - left;
              p[o++] = xc < 0 || xc >= w ? 0 : x[(row + xc) * ci + c]!;
            }
          }
        }
      }
    }
  }
}

/** Grid cell count G for a geometry (the inner dimension of the product). */
export function gridCells(g: FilterGradGeometry): number {
  return g.n * (g.ho + Math.ceil(g.kh / g.sh) - 1) * (g.wo + Math.ceil(g.kw / g.sw) - 1);
}

function conv2DBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const g = filterGradGeometry(x.shape, dy.shape, attrs);
  const k = g.kh * g.kw * g.ci;
  if (k < g.co) {
    const m = g.n * g.ho * g.wo;
    const p = allocate(backend, [k, m]);
    fillOutputGridPatches(g, heapView(backend, x), heapView(backend, p));
    const out = callKernel(backend, 'BatchMatMul', { a: p, b: { dataId: dy.dataId, shape: [m, g.co], dtype: 'float32' } }, { transposeA: false, transposeB: false });
    release(backend, p);
    return { dataId: out.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
  }
  const cells = gridCells(g);
  const p = allocate(backend, [k, cells]);
  const d = allocate(backend, [cells, g.co]);
  fillFilterGradOperands(g, heapView(backend, x), heapView(backend, dy), heapView(backend, p), heapView(backend, d));
  const out = callKernel(backend, 'BatchMatMul', { a: p, b: d }, { transposeA: false, transposeB: false });
  release(backend, p);
  release(backend, d);
  return { dataId: out.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
}

export const conv2DBackpropFilterWasm: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};

/**
 * AvgPoolGrad for the tfjs wasm backend, replacing the shipped one (measured
 * 76 ms for a 2x2 pool over [128,28,28,32]; this scatter loop over channel
 * rows takes a few). Same semantics as the cpu backend: every window spreads
 * dy / (filterHeight * filterWidth) over its in-bounds inputs.
 */
import { AvgPoolGrad, backend_util, type AvgPoolGradAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from './wasm-heap.js';

function avgPoolGrad(args: { inputs: { dy: TensorInfo; input: TensorInfo }; backend: BackendWasm; attrs: AvgPoolGradAttrs }): TensorInfo {
  const { inputs: { dy, input }, backend, attrs } = args;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const out = backend.makeOutput(input.shape, 'float32');
  const dx = heapView(backend, out);
  const g = heapView(backend, dy);
  dx.fill(0);
  const mult = 1 / (fh * fw);
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < n; b++) {
    for (let yo = 0; yo < ho; yo++) {
      for (let xo = 0; xo < wo; xo++) {
        const src = ((b * ho + yo) * wo + xo) * c;
        for (let i = 0; i < fh; i++) {
          const y = yo * sh - top + i;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < fw; j++) {
            const x = xo * sw - left + j;
            if (x < 0 || x >= w) continue;
            const dst = ((b * h + y) * w + x) * c;
            for (let k = 0; k < c; k++) dx[dst + k] += g[src + k]! * mult;
          }
        }
      }
    }
  }
  return out;
}

export const avgPoolGradWasm: KernelConfig = { kernelName: AvgPoolGrad, backendName: 'wasm', kernelFunc: avgPoolGrad as unknown as KernelFunc };

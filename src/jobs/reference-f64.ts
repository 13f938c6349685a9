/**
 * Float64 references for the arithmetic catalogue (src/jobs/arith-ops.ts):
 * textbook loops, independent of the ring kernels, that the protocol
 * checks compare secure results with.
 */
import type { Shape } from '../ring/tensor.js';

export function matmulF64(a: Float64Array, b: Float64Array, m: number, n: number, k: number): Float64Array {
  const c = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < n; p++) {
      const av = a[i * n + p]!;
      for (let j = 0; j < k; j++) c[i * k + j] += av * b[p * k + j]!;
    }
  }
  return c;
}

export function conv2dF64(x: Float64Array, xShape: Shape, w: Float64Array, wShape: Shape, stride: number, padding: number): Float64Array {
  const [n, c, h, wd] = xShape as [number, number, number, number];
  const [co, , kh, kw] = wShape as [number, number, number, number];
  const oh = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * padding - kw) / stride) + 1;
  const out = new Float64Array(n * co * oh * ow);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < co; o++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let acc = 0;
          for (let ci = 0; ci < c; ci++)
            for (let di = 0; di < kh; di++)
              for (let dj = 0; dj < kw; dj++) {
                const r = i * stride + di - padding;
                const s = j * stride + dj - padding;
                if (r < 0 || r >= h || s < 0 || s >= wd) continue;
                acc += x[((b * c + ci) * h + r) * wd + s]! * w[((o * c + ci) * kh + di) * kw + dj]!;
              }
          out[((b * co + o) * oh + i) * ow + j] = acc;
        }
  return out;
}

export function avgPoolF64(x: Float64Array, xShape: Shape, size: number): Float64Array {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const oh = Math.floor(h / size);
  const ow = Math.floor(w / size);
  const out = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let acc = 0;
        for (let di = 0; di < size; di++) for (let dj = 0; dj < size; dj++) acc += x[p * h * w + (i * size + di) * w + j * size + dj]!;
        out[(p * oh + i) * ow + j] = acc / (size * size);
      }
  return out;
}

export function transposeF64(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

interface ConvDims {
  n: number; c: number; h: number; w: number; co: number; kh: number; kw: number; oh: number; ow: number;
}

function convDims(xShape: Shape, wShape: Shape, stride: number, padding: number): ConvDims {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [co, , kh, kw] = wShape as [number, number, number, number];
  return { n, c, h, w, co, kh, kw, oh: Math.floor((h + 2 * padding - kh) / stride) + 1, ow: Math.floor((w + 2 * padding - kw) / stride) + 1 };
}

/**
 * Calls visit(xIndex, wIndex, yIndex) for every multiply of conv2d(x, w):
 * the forward pass and both gradients are sums over the same triples.
 */
function forEachConvTerm(d: ConvDims, stride: number, padding: number, visit: (xi: number, wi: number, yi: number) => void): void {
  for (let b = 0; b < d.n; b++)
    for (let o = 0; o < d.co; o++)
      for (let i = 0; i < d.oh; i++)
        for (let j = 0; j < d.ow; j++)
          for (let ci = 0; ci < d.c; ci++)
            for (let di = 0; di < d.kh; di++)
              for (let dj = 0; dj < d.kw; dj++) {
                const r = i * stride + di - padding;
                const s = j * stride + dj - padding;
                if (r < 0 || r >= d.h || s < 0 || s >= d.w) continue;
                visit(((b * d.c + ci) * d.h + r) * d.w + s, ((o * d.c + ci) * d.kh + di) * d.kw + dj, ((b * d.co + o) * d.oh + i) * d.ow + j);
              }
}

/** dW[o, c, ky, kx] = sum over the batch and outputs of dy * x. */
export function conv2dGradWeightF64(x: Float64Array, xShape: Shape, dy: Float64Array, wShape: Shape, stride: number, padding: number): Float64Array {
  const dw = new Float64Array(wShape.reduce((a, b) => a * b, 1));
  forEachConvTerm(convDims(xShape, wShape, stride, padding), stride, padding, (xi, wi, yi) => {
    dw[wi] += x[xi]! * dy[yi]!;
  });
  return dw;
}

/** dx[n, c, y, x] = sum over the outputs it fed of dy * w (the transposed convolution). */
export function conv2dGradInputF64(dy: Float64Array, w: Float64Array, xShape: Shape, wShape: Shape, stride: number, padding: number): Float64Array {
  const dx = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  forEachConvTerm(convDims(xShape, wShape, stride, padding), stride, padding, (xi, wi, yi) => {
    dx[xi] += dy[yi]! * w[wi]!;
  });
  return dx;
}

/** x [outer, C, inner] times g[c]. */
export function channelMulF64(x: Float64Array, g: Float64Array, inner: number): Float64Array {
  const channels = g.length;
  return x.map((v, i) => v * g[Math.floor(i / inner) % channels]!);
}

/** Per-channel sums of x * y over [outer, C, inner]. */
export function channelDotF64(x: Float64Array, y: Float64Array, channels: number, inner: number): Float64Array {
  const out = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) out[Math.floor(i / inner) % channels] += x[i]! * y[i]!;
  return out;
}

/** [x, x^2, ..., x^degree], one after the other. */
export function powersF64(x: Float64Array, degree: number): Float64Array {
  const out = new Float64Array(degree * x.length);
  for (let k = 1; k <= degree; k++) for (let i = 0; i < x.length; i++) out[(k - 1) * x.length + i] = x[i]! ** k;
  return out;
}

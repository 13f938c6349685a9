/**
 * The catalogue of arithmetic operations that `bench arith` and the
 * protocol checks run: operand shapes for a size, the secure computation,
 * the correlations it consumes (for the offline phase), the exact online
 * payload per holder (PROTOCOLS.md 2-3), and a float64 reference.
 */
import { conv2d, matmul, mul, square } from '../../protocols/beaver.js';
import { dense } from '../../protocols/dense.js';
import { avgPool2d } from '../../protocols/pooling.js';
import { add, addPublic, addPublicScalar, mulPublic, mulPublicInt, neg, sub } from '../../protocols/linear.js';
import { truncate } from '../../protocols/truncation.js';
import type { Context, TruncationMode } from '../mpc/context.js';
import type { CorrelationSpec } from '../mpc/correlations.js';
import type { Shared } from '../mpc/shared.js';
import { conv2dOutputShape } from '../ring/index.js';
import { deriveSeed, uniformArray } from '../common/random.js';
import { shapeSize, type Shape } from '../ring/tensor.js';

export const ARITH_OPS = ['mul', 'square', 'matmul', 'conv2d', 'avgpool', 'dense', 'trunc', 'linear'] as const;
export type ArithOp = (typeof ARITH_OPS)[number];
/** The subset `mpcnet bench arith --op` offers. */
export const BENCH_OPS = ['mul', 'square', 'matmul', 'conv2d'] as const;

/** Conv geometry used for `--size N`: [1, 16, N, N] input, 16 3x3 filters, same padding. */
export const CONV_CHANNELS = 16;
const CONV = { stride: 1, padding: 1 };

export interface ArithCase {
  op: ArithOp;
  size: number;
  operandShapes: Shape[];
  outShape: Shape;
  run(ctx: Context, operands: Shared[]): Promise<Shared>;
  /** Correlations consumed, in order (for prefetching). */
  correlations(truncation: TruncationMode, fracBits: number): CorrelationSpec[];
  /** Online payload bytes each holder sends (= receives), and online rounds. */
  cost(truncation: TruncationMode): { bytesPerHolder: number; rounds: number };
  reference(values: Float64Array[]): Float64Array;
}

const ELEMENT_BYTES = 8;

function truncCost(truncation: TruncationMode, n: number): { bytes: number; rounds: number } {
  return truncation === 'dealer' ? { bytes: ELEMENT_BYTES * n, rounds: 1 } : { bytes: 0, rounds: 0 };
}

function truncSpecs(truncation: TruncationMode, n: number, bits: number): CorrelationSpec[] {
  return truncation === 'dealer' ? [{ kind: 'trunc', n, bits }] : [];
}

export function arithCase(op: ArithOp, size: number): ArithCase {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  switch (op) {
    case 'mul':
      return {
        op, size, operandShapes: [[size], [size]], outShape: [size],
        run: (ctx, [x, y]) => mul(ctx, x!, y!),
        correlations: (t, f) => [{ kind: 'mul', n: size }, ...truncSpecs(t, size, f)],
        cost: (t) => ({ bytesPerHolder: 2 * ELEMENT_BYTES * size + truncCost(t, size).bytes, rounds: 1 + truncCost(t, size).rounds }),
        reference: ([x, y]) => x!.map((v, i) => v * y![i]!),
      };
    case 'square':
      return {
        op, size, operandShapes: [[size]], outShape: [size],
        run: (ctx, [x]) => square(ctx, x!),
        correlations: (t, f) => [{ kind: 'square', n: size }, ...truncSpecs(t, size, f)],
        cost: (t) => ({ bytesPerHolder: ELEMENT_BYTES * size + truncCost(t, size).bytes, rounds: 1 + truncCost(t, size).rounds }),
        reference: ([x]) => x!.map((v) => v * v),
      };
    case 'matmul':
      return {
        op, size, operandShapes: [[size, size], [size, size]], outShape: [size, size],
        run: (ctx, [x, y]) => matmul(ctx, x!, y!),
        correlations: (t, f) => [{ kind: 'matmul', m: size, n: size, k: size }, ...truncSpecs(t, size * size, f)],
        cost: (t) => ({ bytesPerHolder: 2 * ELEMENT_BYTES * size * size + truncCost(t, size * size).bytes, rounds: 1 + truncCost(t, size * size).rounds }),
        reference: ([x, y]) => matmulF64(x!, y!, size, size, size),
      };
    case 'conv2d': {
      const xShape = [1, CONV_CHANNELS, size, size];
      const wShape = [CONV_CHANNELS, CONV_CHANNELS, 3, 3];
      const outShape = conv2dOutputShape(xShape, wShape, CONV);
      const nOut = shapeSize(outShape);
      return {
        op, size, operandShapes: [xShape, wShape], outShape,
        run: (ctx, [x, w]) => conv2d(ctx, x!, w!, CONV),
        correlations: (t, f) => [{ kind: 'conv2d', xShape, wShape, ...CONV }, ...truncSpecs(t, nOut, f)],
        cost: (t) => ({
          bytesPerHolder: ELEMENT_BYTES * (shapeSize(xShape) + shapeSize(wShape)) + truncCost(t, nOut).bytes,
          rounds: 1 + truncCost(t, nOut).rounds,
        }),
        reference: ([x, w]) => conv2dF64(x!, xShape, w!, wShape, CONV.stride, CONV.padding),
      };
    }
    case 'avgpool': {
      // [2, 3, size, size] averaged over 2x2 windows (size must be even).
      const xShape = [2, 3, size, size];
      const nOut = 2 * 3 * Math.floor(size / 2) ** 2;
      return {
        op, size, operandShapes: [xShape], outShape: [2, 3, Math.floor(size / 2), Math.floor(size / 2)],
        run: (ctx, [x]) => avgPool2d(ctx, x!, 2),
        correlations: (t, f) => truncSpecs(t, nOut, f),
        cost: (t) => ({ bytesPerHolder: truncCost(t, nOut).bytes, rounds: truncCost(t, nOut).rounds }),
        reference: ([x]) => avgPoolF64(x!, xShape, 2),
      };
    }
    case 'dense': {
      // x [size, 2 size] W [2 size, 10] b [10].
      const inDim = 2 * size;
      const out = 10;
      const nOut = size * out;
      return {
        op, size, operandShapes: [[size, inDim], [inDim, out], [out]], outShape: [size, out],
        run: (ctx, [x, w, b]) => dense(ctx, x!, w!, b!),
        correlations: (t, f) => [{ kind: 'matmul', m: size, n: inDim, k: out }, ...truncSpecs(t, nOut, f)],
        cost: (t) => ({ bytesPerHolder: ELEMENT_BYTES * (size * inDim + inDim * out) + truncCost(t, nOut).bytes, rounds: 1 + truncCost(t, nOut).rounds }),
        reference: ([x, w, b]) => matmulF64(x!, w!, size, inDim, out).map((v, i) => v + b![i % out]!),
      };
    }
    case 'linear': {
      // Every local linear op: 3 (((x + y) - (-x)) + 0.25 + d) * c, with public tensors c, d.
      const c = uniformArray(deriveSeed(size, 1), size);
      const d = uniformArray(deriveSeed(size, 2), size);
      return {
        op, size, operandShapes: [[size], [size]], outShape: [size],
        run: (ctx, [x, y]) => {
          let t = sub(add(x!, y!), neg(x!));
          t = addPublic(ctx, addPublicScalar(ctx, t, 0.25), d);
          return truncate(ctx, mulPublic(ctx, mulPublicInt(t, 3n), c), ctx.fracBits);
        },
        correlations: (t, f) => truncSpecs(t, size, f),
        cost: (t) => ({ bytesPerHolder: truncCost(t, size).bytes, rounds: truncCost(t, size).rounds }),
        reference: ([x, y]) => x!.map((v, i) => 3 * (2 * v + y![i]! + 0.25 + d[i]!) * c[i]!),
      };
    }
    case 'trunc':
      // A value scaled by 2f truncated by f (as after a product).
      return {
        op, size, operandShapes: [[size]], outShape: [size],
        run: (ctx, [x]) => truncate(ctx, x!.with(scaleUp(x!.share, ctx.fracBits), 2 * ctx.fracBits), ctx.fracBits),
        correlations: (t, f) => truncSpecs(t, size, f),
        cost: (t) => ({ bytesPerHolder: truncCost(t, size).bytes, rounds: truncCost(t, size).rounds }),
        reference: ([x]) => x!.slice(),
      };
  }
}

/** x * 2^bits on shares (local, exact): turns an f-bit value into a 2f-bit one. */
function scaleUp(share: BigUint64Array, bits: number): BigUint64Array {
  const out = new BigUint64Array(share.length);
  const k = 1n << BigInt(bits);
  for (let i = 0; i < share.length; i++) out[i] = share[i]! * k;
  return out;
}

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

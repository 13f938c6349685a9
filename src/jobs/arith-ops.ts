/**
 * The catalogue of arithmetic operations that `bench arith` and the
 * protocol checks run: operand shapes for a size, the secure computation,
 * the correlations it consumes (for the offline phase), the exact online
 * payload per holder (PROTOCOLS.md 2-3), and a float64 reference
 * (src/jobs/reference-f64.ts). The training products (gradients, transposed
 * matmuls, per-channel products, powers) join it from
 * src/jobs/training-ops.ts, so the same protocol-check job runs them in real
 * party processes.
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
import { ELEMENT_BYTES, truncCost, truncSpecs } from './arith-cost.js';
import { avgPoolF64, conv2dF64, matmulF64 } from './reference-f64.js';
import { trainingCase, TRAINING_OPS } from './training-ops.js';

export { avgPoolF64, conv2dF64, matmulF64 } from './reference-f64.js';
export { TRAINING_OPS } from './training-ops.js';

export const ARITH_OPS = ['mul', 'square', 'matmul', 'conv2d', 'avgpool', 'dense', 'trunc', 'linear', ...TRAINING_OPS] as const;
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
  /** Online payload bytes each holder sends (= receives), and online rounds, at `fracBits` (default 16). */
  cost(truncation: TruncationMode, fracBits?: number): { bytesPerHolder: number; rounds: number };
  reference(values: Float64Array[]): Float64Array;
}

export function arithCase(op: ArithOp, size: number): ArithCase {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  switch (op) {
    case 'matmulTransA':
    case 'matmulTransB':
    case 'conv2dGradWeight':
    case 'conv2dGradInput':
    case 'channelMul':
    case 'channelDot':
    case 'powers3':
    case 'powers4':
      return trainingCase(op, size);
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
      return {
        op, size, operandShapes: [xShape], outShape: [2, 3, Math.floor(size / 2), Math.floor(size / 2)],
        run: (ctx, [x]) => avgPool2d(ctx, x!, 2),
        // A 2x2 window divides by 4 with a 2-bit truncation at ~f bits: local in both modes (protocols/pooling.ts).
        correlations: () => [],
        cost: () => ({ bytesPerHolder: 0, rounds: 0 }),
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

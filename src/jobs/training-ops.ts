/**
 * The training products in the arithmetic catalogue (src/jobs/arith-ops.ts):
 * the gradient products of dense and conv layers, the per-channel products
 * of batch norm and the powers from one power tuple, each with operand
 * shapes for a size, its correlations, its exact online cost and a float64
 * reference (src/jobs/reference-f64.ts).
 */
import { channelDot, channelMul } from '../../protocols/channel-products.js';
import { conv2dGradInput, conv2dGradWeight, matmulTransA, matmulTransB } from '../../protocols/gradient-products.js';
import { powers, powerWorkBits } from '../../protocols/powers.js';
import { LOCAL_SAFE_EXTRA_BITS } from '../../protocols/truncation.js';
import type { CorrelationSpec } from '../mpc/correlations.js';
import { Shared } from '../mpc/shared.js';
import { conv2dOutputShape, DEFAULT_FRAC_BITS } from '../ring/index.js';
import { shapeSize, type Shape } from '../ring/tensor.js';
import { ELEMENT_BYTES, truncCost, truncSpecs } from './arith-cost.js';
import type { ArithCase } from './arith-ops.js';
import {
  channelDotF64, channelMulF64, conv2dGradInputF64, conv2dGradWeightF64, matmulF64, powersF64, transposeF64,
} from './reference-f64.js';

/** The products of the backward passes and of polynomial activations (protocols/gradient-products.ts, channel-products.ts, powers.ts). */
export const TRAINING_OPS = ['matmulTransA', 'matmulTransB', 'conv2dGradWeight', 'conv2dGradInput', 'channelMul', 'channelDot', 'powers3', 'powers4'] as const;
export type TrainingOp = (typeof TRAINING_OPS)[number];
type BilinearTrainingOp = Exclude<TrainingOp, 'powers3' | 'powers4'>;

export function trainingCase(op: TrainingOp, size: number): ArithCase {
  return op === 'powers3' || op === 'powers4' ? powersCase(op, size, op === 'powers3' ? 3 : 4) : bilinearTrainingCase(op, size);
}

/** The gradient convs' geometry for `--size N`: [2, 3, N, N] input, 4 3x3 filters, stride 2, padding 1. */
const GRAD_CONV = { stride: 2, padding: 1 };
const GRAD_X = (size: number): number[] => [2, 3, size, size];
const GRAD_W = [4, 3, 3, 3];
/** Channel products for `--size N`: [2, 4, N, N] with 4 channels. */
const CHANNEL_SHAPE = (size: number): number[] => [2, 4, size, size];

/**
 * A one-round Beaver product with its operands' shapes, result shape and
 * float64 reference; online bytes are |x| + |y| per holder, dealer |out|.
 * Shapes are not square, so a transposition mistake cannot pass.
 */
function bilinearTrainingCase(op: BilinearTrainingOp, size: number): ArithCase {
  let operandShapes: Shape[];
  let outShape: Shape;
  let run: ArithCase['run'];
  let reference: ArithCase['reference'];
  const [m, n, k] = [size, size + 3, size + 1];
  switch (op) {
    case 'matmulTransA':
      // x [n, m], y [n, k] -> x^T y [m, k]
      operandShapes = [[n, m], [n, k]];
      outShape = [m, k];
      run = (ctx, [x, y]) => matmulTransA(ctx, x!, y!);
      reference = ([x, y]) => matmulF64(transposeF64(x!, n, m), y!, m, n, k);
      break;
    case 'matmulTransB':
      // x [m, n], y [k, n] -> x y^T [m, k]
      operandShapes = [[m, n], [k, n]];
      outShape = [m, k];
      run = (ctx, [x, y]) => matmulTransB(ctx, x!, y!);
      reference = ([x, y]) => matmulF64(x!, transposeF64(y!, k, n), m, n, k);
      break;
    case 'conv2dGradWeight': {
      const xShape = GRAD_X(size);
      operandShapes = [xShape, conv2dOutputShape(xShape, GRAD_W, GRAD_CONV)];
      outShape = GRAD_W;
      run = (ctx, [x, dy]) => conv2dGradWeight(ctx, x!, dy!, GRAD_W, GRAD_CONV);
      reference = ([x, dy]) => conv2dGradWeightF64(x!, xShape, dy!, GRAD_W, GRAD_CONV.stride, GRAD_CONV.padding);
      break;
    }
    case 'conv2dGradInput': {
      const xShape = GRAD_X(size);
      operandShapes = [conv2dOutputShape(xShape, GRAD_W, GRAD_CONV), GRAD_W];
      outShape = xShape;
      run = (ctx, [dy, w]) => conv2dGradInput(ctx, dy!, w!, xShape, GRAD_CONV);
      reference = ([dy, w]) => conv2dGradInputF64(dy!, w!, xShape, GRAD_W, GRAD_CONV.stride, GRAD_CONV.padding);
      break;
    }
    case 'channelMul': {
      const xShape = CHANNEL_SHAPE(size);
      operandShapes = [xShape, [xShape[1]!]];
      outShape = xShape;
      run = (ctx, [x, g]) => channelMul(ctx, x!, g!);
      reference = ([x, g]) => channelMulF64(x!, g!, size * size);
      break;
    }
    case 'channelDot': {
      const xShape = CHANNEL_SHAPE(size);
      operandShapes = [xShape, xShape];
      outShape = [xShape[1]!];
      run = (ctx, [x, y]) => channelDot(ctx, x!, y!);
      reference = ([x, y]) => channelDotF64(x!, y!, xShape[1]!, size * size);
      break;
    }
  }
  const online = ELEMENT_BYTES * (shapeSize(operandShapes[0]!) + shapeSize(operandShapes[1]!));
  const nOut = shapeSize(outShape);
  return {
    op, size, operandShapes, outShape, run, reference,
    correlations: (t, f) => [bilinearSpec(op, size), ...truncSpecs(t, nOut, f)],
    cost: (t) => ({ bytesPerHolder: online + truncCost(t, nOut).bytes, rounds: 1 + truncCost(t, nOut).rounds }),
  };
}

/** The correlation a training case's product takes (as its protocol function builds it). */
function bilinearSpec(op: BilinearTrainingOp, size: number): CorrelationSpec {
  const [m, n, k] = [size, size + 3, size + 1];
  switch (op) {
    case 'matmulTransA':
      return { kind: 'matmul', m, n, k, transA: true };
    case 'matmulTransB':
      return { kind: 'matmul', m, n, k, transB: true };
    case 'conv2dGradWeight':
    case 'conv2dGradInput':
      return { kind: op, xShape: GRAD_X(size), wShape: GRAD_W, ...GRAD_CONV };
    case 'channelMul':
    case 'channelDot':
      return { kind: op, outer: 2, channels: 4, inner: size * size };
  }
}

/**
 * [x, x^2, ..., x^degree] of x [size] from one power tuple, stacked as
 * [degree, size]. Each power from x^2 on is truncated once (protocols/powers.ts).
 */
function powersCase(op: TrainingOp, size: number, degree: number): ArithCase {
  /** Truncations the powers need at f: x^k is formed at k w bits, w = powerWorkBits(f, degree). */
  const truncBits = (f: number): number[] => {
    const w = powerWorkBits(f, degree);
    return Array.from({ length: degree - 1 }, (_, i) => (i + 2) * w - f).filter((bits) => bits > 0);
  };
  /** Those that open x + r in dealer mode: a power at <= f + LOCAL_SAFE_EXTRA_BITS bits stays local (protocols/truncation.ts). */
  const openedBits = (f: number): number[] => truncBits(f).filter((bits) => bits > LOCAL_SAFE_EXTRA_BITS);
  return {
    op, size, operandShapes: [[size]], outShape: [degree, size],
    run: async (ctx, [x]) => stack(await powers(ctx, x!, degree)),
    correlations: (t, f) => [
      { kind: 'power', n: size, degree, shift: f - powerWorkBits(f, degree) },
      ...openedBits(f).flatMap((bits) => truncSpecs(t, size, bits)),
    ],
    cost: (t, f = DEFAULT_FRAC_BITS) => {
      const truncated = openedBits(f).length;
      const dealerTrunc = t === 'dealer' && truncated > 0;
      return { bytesPerHolder: ELEMENT_BYTES * size * (1 + (t === 'dealer' ? truncated : 0)), rounds: 1 + (dealerTrunc ? 1 : 0) };
    },
    reference: ([x]) => powersF64(x!, degree),
  };
}

/** Tensors of one shape and scale side by side: [parts, ...shape] (P2: a placeholder). */
function stack(parts: Shared[]): Shared {
  const first = parts[0]!;
  const shape = [parts.length, ...first.shape];
  if (parts.some((p) => p.fracBits !== first.fracBits)) throw new RangeError('stack: scales differ');
  if (!first.held) return Shared.placeholder(shape, first.fracBits);
  const out = new BigUint64Array(parts.length * first.size);
  parts.forEach((p, i) => out.set(p.share, i * first.size));
  return new Shared(out, shape, first.fracBits);
}

/**
 * The products of the backward passes of dense and conv layers, each one
 * Beaver round over its bilinear kind (src/mpc/bilinear-kinds.ts,
 * PROTOCOLS.md 1-2): the dealer's triple is c = op(a, b) for the same op,
 * so the gradients cost what the forward products cost.
 *
 *   dense   y = x W:   dW = x^T dy (matmulTransA),  dx = dy W^T (matmulTransB)
 *   conv2d  y = x * w: dW = conv2dGradWeight(x, dy), dx = conv2dGradInput(dy, w)
 *
 * Online traffic per holder: |first| + |second| elements each way, one round
 * (plus the truncation's, PROTOCOLS.md 3); the dealer sends P0 |result|.
 * Results are truncated by the second factor's fractional bits unless
 * { truncate: false }.
 */
import type { Context } from '../src/mpc/context.js';
import type { Shared } from '../src/mpc/shared.js';
import { conv2dOutputShape, formatShape, shapesEqual, type Shape } from '../src/ring/index.js';
import { beaverProduct, type Conv2dOptions, type ProductOptions } from './beaver.js';

function matrices(name: string, x: Shared, y: Shared): [number, number, number, number] {
  if (x.shape.length !== 2 || y.shape.length !== 2) throw new RangeError(`${name}: shapes [${x.shape.join(', ')}] and [${y.shape.join(', ')}] are not matrices`);
  return [x.shape[0]!, x.shape[1]!, y.shape[0]!, y.shape[1]!];
}

/** x^T y for x [n, m] and y [n, k]: [m, k] (a dense layer's weight gradient, summed over the batch n). */
export async function matmulTransA(ctx: Context, x: Shared, y: Shared, opts: ProductOptions = {}): Promise<Shared> {
  const [n, m, ny, k] = matrices('matmulTransA', x, y);
  if (n !== ny) throw new RangeError(`matmulTransA: x^T for x [${x.shape.join(', ')}] and [${y.shape.join(', ')}] do not multiply`);
  return beaverProduct(ctx, 'matmulTransA', { kind: 'matmul', m, n, k, transA: true }, x, y, opts);
}

/** x y^T for x [m, n] and y [k, n]: [m, k] (a dense layer's input gradient dy W^T). */
export async function matmulTransB(ctx: Context, x: Shared, y: Shared, opts: ProductOptions = {}): Promise<Shared> {
  const [m, n, k, ny] = matrices('matmulTransB', x, y);
  if (n !== ny) throw new RangeError(`matmulTransB: [${x.shape.join(', ')}] and y^T for y [${y.shape.join(', ')}] do not multiply`);
  return beaverProduct(ctx, 'matmulTransB', { kind: 'matmul', m, n, k, transB: true }, x, y, opts);
}

function checkGradient(name: string, dy: Shared, xShape: Shape, wShape: Shape, opts: Conv2dOptions): void {
  const expected = conv2dOutputShape(xShape, wShape, { stride: opts.stride ?? 1, padding: opts.padding ?? 0 });
  if (!shapesEqual(dy.shape, expected)) {
    throw new RangeError(`${name}: output gradient ${formatShape(dy.shape)} is not the conv output ${formatShape(expected)} of input ${formatShape(xShape)} and weights ${formatShape(wShape)}`);
  }
}

/**
 * Gradient of conv2d(x, w) with respect to w: dW [Co, C, kh, kw] from the
 * input x [N, C, H, W] and the output gradient dy [N, Co, Ho, Wo], with the
 * forward pass's stride and padding; wShape is the weights' shape.
 */
export async function conv2dGradWeight(ctx: Context, x: Shared, dy: Shared, wShape: Shape, opts: Conv2dOptions = {}): Promise<Shared> {
  checkGradient('conv2dGradWeight', dy, x.shape, wShape, opts);
  return beaverProduct(ctx, 'conv2dGradWeight', {
    kind: 'conv2dGradWeight', xShape: [...x.shape], wShape: [...wShape], stride: opts.stride ?? 1, padding: opts.padding ?? 0,
  }, x, dy, opts);
}

/**
 * Gradient of conv2d(x, w) with respect to x, the transposed convolution:
 * dx [N, C, H, W] (xShape, the forward input's shape) from dy [N, Co, Ho, Wo]
 * and w [Co, C, kh, kw]. The product is truncated by w's fractional bits.
 */
export async function conv2dGradInput(ctx: Context, dy: Shared, w: Shared, xShape: Shape, opts: Conv2dOptions = {}): Promise<Shared> {
  checkGradient('conv2dGradInput', dy, xShape, w.shape, opts);
  return beaverProduct(ctx, 'conv2dGradInput', {
    kind: 'conv2dGradInput', xShape: [...xShape], wShape: [...w.shape], stride: opts.stride ?? 1, padding: opts.padding ?? 0,
  }, dy, w, opts);
}

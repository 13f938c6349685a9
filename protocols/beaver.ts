/**
 * Beaver-triple products (PROTOCOLS.md 2), one online round each.
 *
 * For any bilinear op (elementwise product, matmul, conv2d) and a dealer
 * triple (a, b, c = op(a, b)): open eps = x - a and delta = y - b in one
 * message, then
 *   z_i = c_i + op(eps, b_i + [i = 0] delta) + op(a_i, delta),
 * which sums to op(x, y). Online traffic per holder: |x| + |y| elements
 * (elementwise mul: 16 bytes per product). Results are truncated by the
 * second factor's fractional bits unless { truncate: false }.
 */
import type { Context } from '../src/mpc/context.js';
import type { CorrelationSpec } from '../src/mpc/correlations.js';
import { assertSameShape, Shared } from '../src/mpc/shared.js';
import { add, conv2d as ringConv2d, conv2dOutputShape, matmul as ringMatmul, matmulAccumulate, mul as ringMul } from '../src/ring/index.js';
import type { Shape } from '../src/ring/tensor.js';
import { open } from './sharing.js';
import { truncate } from './truncation.js';

export interface ProductOptions {
  /** Truncate the product back to x's scale (default true). */
  truncate?: boolean;
}

export interface Conv2dOptions extends ProductOptions {
  stride?: number;
  padding?: number;
}

interface Bilinear {
  name: string;
  spec: CorrelationSpec;
  outShape: Shape;
  /** op(u, v) in the clear. */
  apply(u: BigUint64Array, v: BigUint64Array): BigUint64Array;
  /** out += op(u, v). */
  accumulate(out: BigUint64Array, u: BigUint64Array, v: BigUint64Array): void;
}

async function beaver(ctx: Context, x: Shared, y: Shared, op: Bilinear, opts: ProductOptions): Promise<Shared> {
  const fracBits = x.fracBits + y.fracBits;
  let z: Shared;
  if (ctx.isPlain) {
    z = new Shared(op.apply(x.share, y.share), op.outShape, fracBits);
  } else {
    const triple = await ctx.dealer.take(op.spec);
    const [a, b] = triple.inputs as [BigUint64Array, BigUint64Array];
    const nx = x.size;
    const masked = new BigUint64Array(nx + y.size);
    subInto(masked, 0, x.share, a);
    subInto(masked, nx, y.share, b);
    const opened = await open(ctx, `beaver.${op.name}`, masked);
    const eps = opened.subarray(0, nx);
    const delta = opened.subarray(nx);
    const out = triple.output.slice();
    op.accumulate(out, eps, ctx.id === 0 ? add(b, delta) : b);
    op.accumulate(out, a, delta);
    z = new Shared(out, op.outShape, fracBits);
  }
  if (opts.truncate === false) return z;
  // Beaver outputs are fresh re-sharings (c's shares are uniform), so no re-randomising.
  return truncate(ctx, z, y.fracBits, { fresh: true });
}

function subInto(out: BigUint64Array, offset: number, u: BigUint64Array, v: BigUint64Array): void {
  for (let i = 0; i < u.length; i++) out[offset + i] = u[i]! - v[i]!;
}

function accumulateProduct(out: BigUint64Array, u: BigUint64Array, v: BigUint64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + u[i]! * v[i]!;
}

/** Elementwise product. */
export function mul(ctx: Context, x: Shared, y: Shared, opts: ProductOptions = {}): Promise<Shared> {
  assertSameShape('mul', x.shape, y.shape);
  return beaver(ctx, x, y, {
    name: 'mul',
    spec: { kind: 'mul', n: x.size },
    outShape: x.shape,
    apply: (u, v) => ringMul(u, v),
    accumulate: accumulateProduct,
  }, opts);
}

/** Matrix product of [m, n] by [n, k]. */
export function matmul(ctx: Context, x: Shared, y: Shared, opts: ProductOptions = {}): Promise<Shared> {
  if (x.shape.length !== 2 || y.shape.length !== 2 || x.shape[1] !== y.shape[0]) {
    throw new RangeError(`matmul: shapes [${x.shape.join(', ')}] and [${y.shape.join(', ')}] do not multiply`);
  }
  const [m, n] = x.shape as [number, number];
  const k = y.shape[1]!;
  return beaver(ctx, x, y, {
    name: 'matmul',
    spec: { kind: 'matmul', m, n, k },
    outShape: [m, k],
    apply: (u, v) => ringMatmul(u, v, m, n, k),
    accumulate: (out, u, v) => matmulAccumulate(out, u, v, m, n, k),
  }, opts);
}

/** 2-D convolution, input [N, C, H, W], weights [Co, C, kh, kw]. */
export function conv2d(ctx: Context, x: Shared, w: Shared, opts: Conv2dOptions = {}): Promise<Shared> {
  const geometry = { stride: opts.stride ?? 1, padding: opts.padding ?? 0 };
  const outShape = conv2dOutputShape(x.shape, w.shape, geometry);
  const xShape = [...x.shape];
  const wShape = [...w.shape];
  return beaver(ctx, x, w, {
    name: 'conv2d',
    spec: { kind: 'conv2d', xShape, wShape, ...geometry },
    outShape,
    apply: (u, v) => ringConv2d(u, xShape, v, wShape, geometry).data,
    accumulate: (out, u, v) => {
      const part = ringConv2d(u, xShape, v, wShape, geometry).data;
      add(out, part, out);
    },
  }, opts);
}

/**
 * x^2 with a dealer pair (a, a^2): open eps = x - a only (|x| elements),
 * z_i = c_i + 2 eps a_i + [i = 0] eps^2.
 */
export async function square(ctx: Context, x: Shared, opts: ProductOptions = {}): Promise<Shared> {
  const fracBits = 2 * x.fracBits;
  let z: Shared;
  if (ctx.isPlain) {
    z = x.with(ringMul(x.share, x.share), fracBits);
  } else {
    const pair = await ctx.dealer.take({ kind: 'square', n: x.size });
    const [a] = pair.inputs as [BigUint64Array];
    const masked = new BigUint64Array(x.size);
    subInto(masked, 0, x.share, a);
    const eps = await open(ctx, 'beaver.square', masked);
    const out = pair.output.slice();
    const p0 = ctx.id === 0;
    for (let i = 0; i < out.length; i++) {
      const e = eps[i]!;
      out[i] = out[i]! + 2n * e * a[i]! + (p0 ? e * e : 0n);
    }
    z = x.with(out, fracBits);
  }
  if (opts.truncate === false) return z;
  return truncate(ctx, z, x.fracBits, { fresh: true });
}

/**
 * Beaver-triple products (PROTOCOLS.md 2), one online round each.
 *
 * For any bilinear op (elementwise product, matmul, conv2d) and a dealer
 * triple (a, b, c = op(a, b)): open eps = x - a and delta = y - b in one
 * message. Since a_i = x_i - eps_i and b_i = y_i - delta_i, the usual
 * c + op(eps, b) + op(a, delta) + op(eps, delta) can be written with the
 * holder's own operands instead of the triple's:
 *   z_i = c_i + op(eps, y_i - [i = 0] delta) + op(x_i, delta),
 * which sums to op(x, y) and lets eps and delta overwrite a and b in place.
 * Online traffic per holder: |x| + |y| elements (elementwise mul: 16 bytes
 * per product). Results are truncated by the second factor's fractional
 * bits unless { truncate: false }.
 */
import type { Context } from '../src/mpc/context.js';
import type { CorrelationSpec } from '../src/mpc/correlations.js';
import { assertSameShape, Shared } from '../src/mpc/shared.js';
import { add, conv2d as ringConv2d, conv2dOutputShape, matmul as ringMatmul, matmulAccumulate, mul as ringMul, sub } from '../src/ring/index.js';
import type { Shape } from '../src/ring/tensor.js';
import { exchange } from './sharing.js';
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
  /**
   * Optional fused form of the whole combine step (elementwise ops): given
   * both holders' masked values, write z_i into c.
   */
  combine?(c: BigUint64Array, mine: BigUint64Array, theirs: BigUint64Array, x: BigUint64Array, y: BigUint64Array, p0: boolean): void;
}

/** The triple's input shares as one contiguous buffer (they are drawn that way), to mask in place and send as one message. */
function contiguous(parts: BigUint64Array[]): BigUint64Array {
  const first = parts[0]!;
  const total = parts.reduce((n, p) => n + p.length, 0);
  let end = first.byteOffset;
  for (const p of parts) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) throw new Error('triple inputs are not contiguous');
    end += p.byteLength;
  }
  return new BigUint64Array(first.buffer, first.byteOffset, total);
}

async function beaver(ctx: Context, x: Shared, y: Shared, op: Bilinear, opts: ProductOptions): Promise<Shared> {
  const fracBits = x.fracBits + y.fracBits;
  let z: Shared;
  if (ctx.isPlain) {
    z = new Shared(op.apply(x.share, y.share), op.outShape, fracBits);
  } else {
    const triple = await ctx.dealer.take(op.spec);
    const [a, b] = triple.inputs as [BigUint64Array, BigUint64Array];
    sub(x.share, a, a); // a := eps_i
    sub(y.share, b, b); // b := delta_i
    const mine = contiguous([a, b]);
    const theirs = await exchange(ctx, `beaver.${op.name}`, mine);
    const c = triple.output;
    const p0 = ctx.id === 0;
    if (op.combine) {
      op.combine(c, mine, theirs, x.share, y.share, p0);
    } else {
      // `mine` is still being sent (zero-copy): sum into the received buffer instead.
      const opened = add(mine, theirs, theirs);
      const eps = opened.subarray(0, a.length);
      const delta = opened.subarray(a.length);
      op.accumulate(c, eps, p0 ? sub(y.share, delta) : y.share);
      op.accumulate(c, x.share, delta);
    }
    z = new Shared(c, op.outShape, fracBits);
  }
  if (opts.truncate === false) return z;
  // Beaver outputs are fresh re-sharings (c's shares are uniform), so no re-randomising.
  return truncate(ctx, z, y.fracBits, { fresh: true });
}

/** Elementwise z_i = c_i + eps (y_i - [p0] delta) + x_i delta in one pass. */
function combineElementwise(c: BigUint64Array, mine: BigUint64Array, theirs: BigUint64Array, x: BigUint64Array, y: BigUint64Array, p0: boolean): void {
  const n = c.length;
  if (p0) {
    for (let i = 0; i < n; i++) {
      const e = mine[i]! + theirs[i]!;
      const d = mine[n + i]! + theirs[n + i]!;
      c[i] = c[i]! + e * (y[i]! - d) + x[i]! * d;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const d = mine[n + i]! + theirs[n + i]!;
      c[i] = c[i]! + (mine[i]! + theirs[i]!) * y[i]! + x[i]! * d;
    }
  }
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
    combine: combineElementwise,
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
      add(out, ringConv2d(u, xShape, v, wShape, geometry).data, out);
    },
  }, opts);
}

/**
 * x^2 with a dealer pair (a, a^2): open eps = x - a only (|x| elements);
 * with a_i = x_i - eps_i, z_i = c_i + 2 eps x_i - [i = 0] eps^2.
 */
export async function square(ctx: Context, x: Shared, opts: ProductOptions = {}): Promise<Shared> {
  const fracBits = 2 * x.fracBits;
  let z: Shared;
  if (ctx.isPlain) {
    z = x.with(ringMul(x.share, x.share), fracBits);
  } else {
    const pair = await ctx.dealer.take({ kind: 'square', n: x.size });
    const [a] = pair.inputs as [BigUint64Array];
    sub(x.share, a, a);
    const theirs = await exchange(ctx, 'beaver.square', a);
    const c = pair.output;
    const xs = x.share;
    if (ctx.id === 0) {
      for (let i = 0; i < c.length; i++) {
        const e = a[i]! + theirs[i]!;
        c[i] = c[i]! + e * (xs[i]! + xs[i]! - e);
      }
    } else {
      for (let i = 0; i < c.length; i++) c[i] = c[i]! + (a[i]! + theirs[i]!) * (xs[i]! + xs[i]!);
    }
    z = x.with(c, fracBits);
  }
  if (opts.truncate === false) return z;
  return truncate(ctx, z, x.fracBits, { fresh: true });
}

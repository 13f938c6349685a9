/**
 * Beaver-triple products (PROTOCOLS.md 2), one online round each.
 *
 * For any bilinear op and a dealer triple (a, b, c = op(a, b)): open
 * eps = x - a and delta = y - b in one message. Since a_i = x_i - eps_i and
 * b_i = y_i - delta_i, the usual c + op(eps, b) + op(a, delta) + op(eps, delta)
 * can be written with the holder's own operands instead of the triple's:
 *   z_i = c_i + op(eps, y_i - [i = 0] delta) + op(x_i, delta),
 * which sums to op(x, y) and lets eps and delta overwrite a and b in place.
 * Online traffic per holder: |x| + |y| elements (elementwise mul: 16 bytes
 * per product). Results are truncated by the second factor's fractional
 * bits unless { truncate: false }.
 *
 * The ops themselves (matmul with or without transposes, conv2d and its
 * gradients, per-channel products) are the entries of
 * src/mpc/bilinear-kinds.ts, shared with the dealer: beaverProduct() runs
 * any of them. Elementwise mul and square keep their own chunked protocols
 * (the fused wasm combine, PROTOCOLS.md 2) over the registry's 'mul' and
 * 'square' correlations.
 */
import { bindBilinear, type BilinearSpec, type BoundBilinear } from '../src/mpc/bilinear-kinds.js';
import type { Context } from '../src/mpc/context.js';
import { elementwiseChunks, type ChunkSpan } from '../src/mpc/correlations.js';
import { ringView } from '../src/mpc/payload.js';
import { assertSameShape, Shared } from '../src/mpc/shared.js';
import { add, beaverCombineInPlace, mul as ringMul, sub } from '../src/ring/index.js';
import { formatShape, shapeSize, type Shape } from '../src/ring/tensor.js';
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

export interface BeaverOptions extends ProductOptions {
  /** Shape of the result (same size as the kind's output; default the kind's output shape). */
  outShape?: Shape;
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

/**
 * The Beaver product of a bilinear kind (src/mpc/bilinear-kinds.ts) as the
 * protocol call `name`: x and y must have the kind's operand sizes (their
 * shapes may differ, e.g. NCHW for the channel kinds' [outer, C, inner]).
 * A geometry that does not fit is refused before the call starts.
 */
export async function beaverProduct(ctx: Context, name: string, spec: BilinearSpec, x: Shared, y: Shared, opts: BeaverOptions = {}): Promise<Shared> {
  const { op, outShape } = bindOperands(name, spec, x, y, opts.outShape);
  return ctx.call(name, (c) => beaverBilinear(c, x, y, spec, op, outShape, opts));
}

/**
 * The bilinear op of `spec` for operands x and y, and the result's shape
 * (default the op's): refuses sizes that do not fit, naming the call.
 * Shared by the Beaver and the masked-operand products (protocols/masked.ts).
 */
export function bindOperands(name: string, spec: BilinearSpec, x: Shared, y: Shared, outShape?: Shape): { op: BoundBilinear; outShape: Shape } {
  const op = bindBilinear(spec);
  for (const [what, t, shape] of [['first', x, op.xShape], ['second', y, op.yShape]] as const) {
    if (t.size !== shapeSize(shape)) throw new RangeError(`${name}: ${what} operand [${t.shape.join(', ')}] does not fit ${formatShape(shape)}`);
  }
  const shape = outShape ?? op.outShape;
  if (shapeSize(shape) !== shapeSize(op.outShape)) throw new RangeError(`${name}: result shape ${formatShape(shape)} does not fit ${formatShape(op.outShape)}`);
  return { op, outShape: shape };
}

async function beaverBilinear(c: Context, x: Shared, y: Shared, spec: BilinearSpec, op: BoundBilinear, outShape: Shape, opts: ProductOptions): Promise<Shared> {
  const fracBits = x.fracBits + y.fracBits;
  let z: Shared;
  // An empty operand makes the product all zeros: every share is then 0, no protocol needed.
  if (c.isPlain || x.size === 0 || y.size === 0) {
    z = new Shared(op.apply(x.share, y.share), outShape, fracBits);
  } else if (c.isHelper) {
    z = Shared.placeholder(outShape, fracBits);
  } else {
    const triple = await c.correlation(spec);
    const [a, b] = triple.inputs as [BigUint64Array, BigUint64Array];
    sub(x.share, a, a); // a := eps_i
    sub(y.share, b, b); // b := delta_i
    const mine = contiguous([a, b]);
    const theirs = await exchange(c, mine);
    const out = triple.output;
    // `mine` is still being sent (zero-copy): sum into the received buffer instead.
    const opened = add(mine, theirs, theirs);
    const eps = opened.subarray(0, a.length);
    const delta = opened.subarray(a.length);
    op.apply(eps, c.holderId === 0 ? sub(y.share, delta) : y.share, out);
    op.apply(x.share, delta, out);
    z = new Shared(out, outShape, fracBits);
  }
  return finish(c, z, y.fracBits, opts);
}

function finish(c: Context, z: Shared, bits: number, opts: ProductOptions): Promise<Shared> {
  if (opts.truncate === false) return Promise.resolve(z);
  // Beaver outputs are fresh re-sharings (c's shares are uniform), so no
  // re-randomising; z is our own temporary, so shift it in place.
  return truncate(c, z, bits, { fresh: true, inPlace: true });
}

/**
 * Chunked opening for elementwise products: mask chunk j + 1 and send it
 * before waiting for the peer's chunk j, then combine chunk j. Computing,
 * the socket copies and the peer's work overlap; it is still one round.
 * `mask` returns the contiguous masked values of a chunk (sent zero-copy,
 * so not modified afterwards).
 */
async function exchangeChunks(
  c: Context,
  spans: ChunkSpan[],
  mask: (span: ChunkSpan) => BigUint64Array,
  combine: (span: ChunkSpan, mine: BigUint64Array, theirs: BigUint64Array) => void,
): Promise<void> {
  // Every chunk depends only on data from before the exchange: one round.
  const basis = c.rounds;
  const peer = c.peer;
  const sendChunk = (span: ChunkSpan): BigUint64Array => {
    const masked = mask(span);
    c.send(peer, masked, { basis });
    return masked;
  };
  let next = sendChunk(spans[0]!);
  for (let j = 0; j < spans.length; j++) {
    const mine = next;
    if (j + 1 < spans.length) next = sendChunk(spans[j + 1]!);
    const payload = await c.recv(peer);
    combine(spans[j]!, mine, ringView(payload, mine.length, `chunk ${j} of '${c.tag}' from P${peer}`));
  }
}

/**
 * Elementwise product. The triple's (a, b) is one buffer interleaved by
 * chunk (see ELEMENTWISE_CHUNK): masking chunk j in place gives the
 * contiguous message [eps_j | delta_j].
 */
export function mul(ctx: Context, x: Shared, y: Shared, opts: ProductOptions = {}): Promise<Shared> {
  return ctx.call('mul', (c) => mulProtocol(c, x, y, opts));
}

async function mulProtocol(ctx: Context, x: Shared, y: Shared, opts: ProductOptions): Promise<Shared> {
  assertSameShape('mul', x.shape, y.shape);
  const fracBits = x.fracBits + y.fracBits;
  if (ctx.isPlain || x.size === 0) return finish(ctx, x.with(ringMul(x.share, y.share), fracBits), y.fracBits, opts);
  // Local truncation folds into the combine pass (the product is fresh and ours).
  const fuseBits = opts.truncate !== false && ctx.truncation === 'local' ? y.fracBits : 0;
  if (ctx.isHelper) {
    // P2 makes the same calls as the holders: no truncation call when it is fused.
    const z = Shared.placeholder(x.shape, fracBits - fuseBits);
    return fuseBits > 0 ? z : finish(ctx, z, y.fracBits, opts);
  }
  const n = x.size;
  const holder = ctx.holderId;
  const triple = await ctx.correlation({ kind: 'mul', n });
  const ab = triple.inputs[0]!;
  const c = triple.output;
  await exchangeChunks(ctx, elementwiseChunks(n, 2),
    ({ start, length, offset }) => {
      const a = ab.subarray(offset, offset + length);
      const b = ab.subarray(offset + length, offset + 2 * length);
      sub(x.share.subarray(start, start + length), a, a);
      sub(y.share.subarray(start, start + length), b, b);
      return ab.subarray(offset, offset + 2 * length);
    },
    ({ start, length }, mine, theirs) => {
      const end = start + length;
      beaverCombineInPlace(c.subarray(start, end), mine, theirs, x.share.subarray(start, end), y.share.subarray(start, end), holder, fuseBits);
    });
  if (fuseBits > 0) return x.with(c, fracBits - fuseBits);
  return finish(ctx, x.with(c, fracBits), y.fracBits, opts);
}

/** Matrix product of [m, n] by [n, k]. */
export async function matmul(ctx: Context, x: Shared, y: Shared, opts: ProductOptions = {}): Promise<Shared> {
  if (x.shape.length !== 2 || y.shape.length !== 2 || x.shape[1] !== y.shape[0]) {
    throw new RangeError(`matmul: shapes [${x.shape.join(', ')}] and [${y.shape.join(', ')}] do not multiply`);
  }
  const [m, n] = x.shape as [number, number];
  return beaverProduct(ctx, 'matmul', { kind: 'matmul', m, n, k: y.shape[1]! }, x, y, opts);
}

/** 2-D convolution, input [N, C, H, W], weights [Co, C, kh, kw]. */
export async function conv2d(ctx: Context, x: Shared, w: Shared, opts: Conv2dOptions = {}): Promise<Shared> {
  const spec: BilinearSpec = { kind: 'conv2d', xShape: [...x.shape], wShape: [...w.shape], stride: opts.stride ?? 1, padding: opts.padding ?? 0 };
  return beaverProduct(ctx, 'conv2d', spec, x, w, opts);
}

/**
 * x^2 with a dealer pair (a, a^2): open eps = x - a only (|x| elements,
 * chunked as mul); with a_i = x_i - eps_i, z_i = c_i + 2 eps x_i - [i = 0] eps^2.
 */
export function square(ctx: Context, x: Shared, opts: ProductOptions = {}): Promise<Shared> {
  return ctx.call('square', (c) => squareProtocol(c, x, opts));
}

async function squareProtocol(ctx: Context, x: Shared, opts: ProductOptions): Promise<Shared> {
  const fracBits = 2 * x.fracBits;
  if (ctx.isPlain || x.size === 0) return finish(ctx, x.with(ringMul(x.share, x.share), fracBits), x.fracBits, opts);
  if (ctx.isHelper) return finish(ctx, Shared.placeholder(x.shape, fracBits), x.fracBits, opts);
  const pair = await ctx.correlation({ kind: 'square', n: x.size });
  const a = pair.inputs[0]!;
  const c = pair.output;
  const xs = x.share;
  const p0 = ctx.holderId === 0;
  await exchangeChunks(ctx, elementwiseChunks(x.size, 1),
    ({ start, length }) => sub(xs.subarray(start, start + length), a.subarray(start, start + length), a.subarray(start, start + length)),
    ({ start, length }, mine, theirs) => {
      const end = start + length;
      if (p0) {
        for (let i = start; i < end; i++) {
          const e = mine[i - start]! + theirs[i - start]!;
          c[i] = c[i]! + e * (xs[i]! + xs[i]! - e);
        }
      } else {
        for (let i = start; i < end; i++) c[i] = c[i]! + (mine[i - start]! + theirs[i - start]!) * (xs[i]! + xs[i]!);
      }
    });
  return finish(ctx, x.with(c, fracBits), x.fracBits, opts);
}

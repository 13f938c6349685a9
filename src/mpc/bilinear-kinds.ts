/**
 * The bilinear correlation kinds, one entry each: how to read the spec,
 * the operand and output shapes, and op(u, v) over Z_2^64 with the ring
 * kernels. This table is the only place the bilinear maths is written:
 * the dealer evaluates the triple's c = op(a, b) with it
 * (src/mpc/correlations.ts, PROTOCOLS.md 1) and the Beaver protocol
 * combines z_i = c_i + op(eps, y_i - [i = 0] delta) + op(x_i, delta) with it
 * (protocols/beaver.ts, PROTOCOLS.md 2). The plaintext context computes
 * op(x, y) with the same entry. A new bilinear product is one entry here
 * and a protocol function that builds its spec from the operands' shapes.
 *
 * Online cost of every entry: |x| + |y| ring elements sent (and received)
 * per holder, one round; the dealer sends P0 |out| elements.
 */
import {
  add, mul, channelDot, channelScale, conv2d, conv2dBackwardInput, conv2dBackwardWeights, conv2dOutputShape, gemm,
} from '../ring/index.js';
import type { Shape } from '../ring/tensor.js';
import type { SpecFields } from './spec-fields.js';

/** A bilinear op with its spec applied. */
export interface BoundBilinear {
  xShape: Shape;
  yShape: Shape;
  outShape: Shape;
  /** op(u, v); given `out`, adds op(u, v) into it and returns it. */
  apply(u: BigUint64Array, v: BigUint64Array, out?: BigUint64Array): BigUint64Array;
}

export interface BilinearKind<S> {
  /** The spec's fields (all but `kind`) from an untrusted request, checked. */
  parse(fields: SpecFields): S;
  /** Shapes and op for a spec; throws RangeError on a geometry that does not fit. */
  bind(spec: S): BoundBilinear;
}

export interface MatmulSpec {
  m: number;
  n: number;
  k: number;
  /** x is stored transposed, [n, m]. */
  transA?: boolean;
  /** y is stored transposed, [k, n]. */
  transB?: boolean;
}

/** Convolution geometry; the gradient kinds use the forward conv's shapes. */
export interface ConvSpec {
  xShape: number[];
  wShape: number[];
  stride: number;
  padding: number;
}

/** A tensor seen as [outer, channels, inner] (src/ring/channel.ts). */
export interface ChannelSpec {
  outer: number;
  channels: number;
  inner: number;
}

function bilinear<S>(def: BilinearKind<S>): BilinearKind<S> {
  return def;
}

function parseConv(f: SpecFields): ConvSpec {
  return { xShape: f.shape('xShape', 4), wShape: f.shape('wShape', 4), stride: f.int('stride', 1, 64), padding: f.int('padding', 0, 64) };
}

function parseChannels(f: SpecFields): ChannelSpec {
  return { outer: f.int('outer'), channels: f.int('channels'), inner: f.int('inner') };
}

/** Adds r into out when there is one (the kernels without an accumulate mode). */
function into(out: BigUint64Array | undefined, r: BigUint64Array): BigUint64Array {
  return out ? add(out, r, out) : r;
}

export const BILINEAR_KINDS = {
  /** Elementwise product of two [n] tensors (for masked operands, protocols/masked.ts; plain Beaver 'mul' keeps its chunked protocol). */
  hadamard: bilinear({
    parse: (f: SpecFields): { n: number } => ({ n: f.int('n') }),
    bind: ({ n }) => ({
      xShape: [n],
      yShape: [n],
      outShape: [n],
      apply: (u, v, out) => into(out, mul(u, v)),
    }),
  }),
  /**
   * op(A) [m, n] @ op(B) [n, k] -> [m, k]. transA: x^T dy (a dense layer's
   * dW from x [batch, in] and dy [batch, out]); transB: dy W^T (its dx).
   */
  matmul: bilinear({
    parse: (f: SpecFields): MatmulSpec => {
      const s: MatmulSpec = { m: f.int('m'), n: f.int('n'), k: f.int('k') };
      // Flags only when set, so a plain matmul's spec stays { kind, m, n, k }.
      if (f.flag('transA')) s.transA = true;
      if (f.flag('transB')) s.transB = true;
      return s;
    },
    bind: ({ m, n, k, transA = false, transB = false }) => ({
      xShape: transA ? [n, m] : [m, n],
      yShape: transB ? [k, n] : [n, k],
      outShape: [m, k],
      apply: (u, v, out) => gemm(u, v, m, n, k, out ? { transA, transB, out, accumulate: true } : { transA, transB }),
    }),
  }),
  /** x [N, C, H, W] conv w [Co, C, kh, kw] -> [N, Co, Ho, Wo]. */
  conv2d: bilinear({
    parse: parseConv,
    bind: ({ xShape, wShape, stride, padding }) => ({
      xShape,
      yShape: wShape,
      outShape: conv2dOutputShape(xShape, wShape, { stride, padding }),
      apply: (u, v, out) => into(out, conv2d(u, xShape, v, wShape, { stride, padding }).data),
    }),
  }),
  /** Weight gradient: (x [N, C, H, W], dy [N, Co, Ho, Wo]) -> dW [Co, C, kh, kw], summed over the batch. */
  conv2dGradWeight: bilinear({
    parse: parseConv,
    bind: ({ xShape, wShape, stride, padding }) => ({
      xShape,
      yShape: conv2dOutputShape(xShape, wShape, { stride, padding }),
      outShape: wShape,
      apply: (u, v, out) => into(out, conv2dBackwardWeights(u, xShape, v, wShape, { stride, padding })),
    }),
  }),
  /** Input gradient, the transposed convolution: (dy [N, Co, Ho, Wo], w [Co, C, kh, kw]) -> dx [N, C, H, W]. */
  conv2dGradInput: bilinear({
    parse: parseConv,
    bind: ({ xShape, wShape, stride, padding }) => ({
      xShape: conv2dOutputShape(xShape, wShape, { stride, padding }),
      yShape: wShape,
      outShape: xShape,
      apply: (u, v, out) => into(out, conv2dBackwardInput(v, wShape, u, xShape, { stride, padding })),
    }),
  }),
  /** x [outer, C, inner] times a per-channel g [C] (batch norm's gamma x_hat and gamma dy). */
  channelMul: bilinear({
    parse: parseChannels,
    bind: (s) => ({
      xShape: [s.outer, s.channels, s.inner],
      yShape: [s.channels],
      outShape: [s.outer, s.channels, s.inner],
      apply: (u, v, out) => channelScale(u, v, s, out),
    }),
  }),
  /** Per-channel sums of x * y, both [outer, C, inner] -> [C] (batch norm's dgamma = sum x_hat dy). */
  channelDot: bilinear({
    parse: parseChannels,
    bind: (s) => ({
      xShape: [s.outer, s.channels, s.inner],
      yShape: [s.outer, s.channels, s.inner],
      outShape: [s.channels],
      apply: (u, v, out) => channelDot(u, v, s, out),
    }),
  }),
};

type SpecOf<D> = D extends BilinearKind<infer S> ? S : never;
export type BilinearKindName = keyof typeof BILINEAR_KINDS;
export type BilinearSpec = { [K in BilinearKindName]: { kind: K } & SpecOf<(typeof BILINEAR_KINDS)[K]> }[BilinearKindName];

export function bindBilinear(spec: BilinearSpec): BoundBilinear {
  // The entry that spec.kind names takes exactly this spec; TypeScript cannot follow that through the union.
  const def = BILINEAR_KINDS[spec.kind] as BilinearKind<BilinearSpec>;
  return def.bind(spec);
}

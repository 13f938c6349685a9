/**
 * Runs a ModelSpec over shared tensors: the model owner (P0) shares the
 * weights, then every layer's forward pass runs as one profiled section
 * (named after the layer, so each party's profile is the per-layer table),
 * in the spec's fixed order; activations are dropped after their last use.
 * The same code runs in the plaintext context (--emulate, the reference).
 */
import { conv2d, matmul, mul } from '../../protocols/beaver.js';
import { appMaxPool } from '../../protocols/app-max.js';
import { reluWithBit } from '../../protocols/drelu.js';
import { maxPool2d, maxPoolGeometry } from '../../protocols/maxpool.js';
import { avgPool2d } from '../../protocols/pooling.js';
import { add, mulPublicScalar } from '../../protocols/linear.js';
import { shareInput } from '../../protocols/sharing.js';
import { truncate } from '../../protocols/truncation.js';
import type { Context } from '../mpc/context.js';
import { faultPoint } from '../mpc/fault-hook.js';
import { Shared } from '../mpc/shared.js';
import { activate, observeMaxPool, type Nonlinearity } from './nonlinearity.js';
import { addPerChannel, expandPerChannel, flattenChannelsLast, pad2d, padShortcut } from './layers/tensor-ops.js';
import type { LayerSpec, ModelSpec, Padding2d, Weights } from './spec.js';
import { batchNormInference, batchNormTrainForward } from './train/batch-norm.js';
import { fixedPolyForward, powerChain, ppolyForward } from './train/ppoly.js';
import type { Tape } from './train/tape.js';

/** Shared parameters of one layer. */
export interface LayerParams {
  weight?: Shared;
  bias?: Shared;
  scale?: Shared;
  shift?: Shared;
  /** PPoly: c_0 .. c_d, each [C] (or [1]). */
  coefficients?: Shared[];
  /** Training batch norm: learnable gamma, beta and the moving statistics, each [C]. */
  gamma?: Shared;
  beta?: Shared;
  movingMean?: Shared;
  movingVariance?: Shared;
}

export type ModelParams = Map<string, LayerParams>;

const MODEL_OWNER = 0;

function owned(ctx: Context, spec: ModelSpec, layer: string, values: Weights, shape: number[]): Shared {
  const mine = ctx.ownsInput(MODEL_OWNER);
  if (mine && !values) throw new Error(`${spec.source}: layer ${layer} has no weights loaded on the model owner`);
  return shareInput(ctx, MODEL_OWNER, mine ? values : null, shape);
}

/** The model owner shares every weight, in the spec's order (all parties call this). */
export function shareParams(ctx: Context, spec: ModelSpec): ModelParams {
  const params: ModelParams = new Map();
  for (const l of spec.layers) {
    switch (l.kind) {
      case 'conv2d':
      case 'dense': {
        const p: LayerParams = { weight: owned(ctx, spec, l.name, l.weight, [...l.wShape]) };
        if (l.hasBias) p.bias = owned(ctx, spec, l.name, l.bias, [l.kind === 'conv2d' ? l.wShape[0] : l.wShape[1]]);
        params.set(l.name, p);
        break;
      }
      case 'affine':
        params.set(l.name, { scale: owned(ctx, spec, l.name, l.scale, [l.channels]), shift: owned(ctx, spec, l.name, l.shift, [l.channels]) });
        break;
      case 'batchnorm': {
        const c = [l.channels];
        params.set(l.name, {
          gamma: owned(ctx, spec, l.name, l.gamma, c), beta: owned(ctx, spec, l.name, l.beta, c),
          movingMean: owned(ctx, spec, l.name, l.movingMean, c), movingVariance: owned(ctx, spec, l.name, l.movingVariance, c),
        });
        break;
      }
      case 'activation':
        if (l.activation.fn === 'ppoly') {
          const rows = l.activation.coefficients;
          const channels = l.activation.perChannel ? l.outShape[0]! : 1;
          const degree = (rows[0]?.length ?? 1) - 1;
          const coefficients: Shared[] = [];
          for (let k = 0; k <= degree; k++) {
            const values = ctx.ownsInput(MODEL_OWNER) ? Float64Array.from({ length: channels }, (_, ch) => rows[ch]![k]!) : null;
            coefficients.push(shareInput(ctx, MODEL_OWNER, values, [channels]));
          }
          params.set(l.name, { coefficients });
        }
        break;
      default:
        break;
    }
  }
  return params;
}

function symmetric(p: Padding2d): boolean {
  return p.top === p.bottom && p.left === p.right && p.top === p.left;
}

function needParams(params: ModelParams, l: LayerSpec): LayerParams {
  const p = params.get(l.name);
  if (!p) throw new Error(`layer ${l.name}: its parameters were not shared`);
  return p;
}

/** Training keeps a linear layer's input; its activation must be a separate layer (the backward handles 'linear' only). */
function keepInput(l: Extract<LayerSpec, { kind: 'conv2d' | 'dense' }>, x: Shared, tape: Tape | undefined): void {
  if (!tape) return;
  if (l.activation.fn !== 'linear' && l.activation.fn !== 'softmax') throw new Error(`layer ${l.name}: training needs its ${l.activation.fn} activation as a separate layer`);
  tape.set(l.name, { kind: 'linear', x });
}

async function convLayer(ctx: Context, l: Extract<LayerSpec, { kind: 'conv2d' }>, x: Shared, p: LayerParams, nl: Nonlinearity, tape?: Tape): Promise<Shared> {
  if (l.stride[0] !== l.stride[1]) throw new Error(`layer ${l.name}: strides ${l.stride.join('x')} are not square (not supported)`);
  // Symmetric padding goes into the convolution; TensorFlow's asymmetric 'same' is an explicit local zero pad.
  const sym = symmetric(l.padding);
  if (tape && !sym) throw new Error(`layer ${l.name}: training supports symmetric padding only (odd kernels with 'same', or 'valid')`);
  keepInput(l, x, tape);
  const input = sym ? x : pad2d(x, l.padding);
  let y = await conv2d(ctx, input, p.weight!, { stride: l.stride[0], padding: sym ? l.padding.top : 0 });
  if (p.bias) y = addPerChannel(y, p.bias);
  return activate(ctx, y, l.activation, nl, l.name);
}

async function denseLayer(ctx: Context, l: Extract<LayerSpec, { kind: 'dense' }>, x: Shared, p: LayerParams, nl: Nonlinearity, tape?: Tape): Promise<Shared> {
  keepInput(l, x, tape);
  let y = await matmul(ctx, x, p.weight!);
  if (p.bias) y = addPerChannel(y, p.bias);
  return activate(ctx, y, l.activation, nl, l.name);
}

async function globalAvgPool(ctx: Context, x: Shared): Promise<Shared> {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  let sum: Shared;
  if (!x.held) sum = Shared.placeholder([n, c], x.fracBits);
  else {
    const out = new BigUint64Array(n * c);
    // Accumulate in the typed array (a BigInt local would allocate per element).
    for (let q = 0; q < n * c; q++) for (let i = q * h * w; i < (q + 1) * h * w; i++) out[q] = out[q]! + x.share[i]!;
    sum = new Shared(out, [n, c], x.fracBits);
  }
  return truncate(ctx, mulPublicScalar(ctx, sum, 1 / (h * w)));
}

/** Plaintext max pooling (the exact mode's reference). */
function exactMaxPool(x: Shared, pool: [number, number], stride: [number, number], padding: 'valid' | 'same'): Shared {
  const geo = maxPoolGeometry(x.shape, pool, { stride, padding });
  const out = new BigUint64Array(geo.counts.length);
  const half = 2n ** 63n;
  const signed = (v: bigint): bigint => (v >= half ? v - 2n ** 64n : v);
  let at = 0;
  for (let w = 0; w < geo.counts.length; w++) {
    let best = x.share[geo.members[at]!]!;
    for (let k = 1; k < geo.counts[w]!; k++) {
      const v = x.share[geo.members[at + k]!]!;
      if (signed(v) > signed(best)) best = v;
    }
    out[w] = best;
    at += geo.counts[w]!;
  }
  return new Shared(out, geo.outShape, x.fracBits);
}

/** Training forms of the activations: PPoly and fixed polynomials keep their powers, the ReLU its DReLU bit. */
async function trainActivation(ctx: Context, l: Extract<LayerSpec, { kind: 'activation' }>, x: Shared, params: ModelParams, nl: Nonlinearity, tape: Tape): Promise<Shared> {
  const fn = l.activation;
  if (fn.fn === 'ppoly') {
    const coefficients = needParams(params, l).coefficients!;
    const chain = await powerChain(ctx, x, coefficients.length - 1);
    tape.set(l.name, { kind: 'ppoly', ...chain });
    return ppolyForward(ctx, chain.masks, coefficients);
  }
  if (fn.fn === 'polynomial' && fn.coefficients.length >= 2) {
    // Public coefficients: the same powers, no shared parameters to train.
    const chain = await powerChain(ctx, x, fn.coefficients.length - 1, false);
    tape.set(l.name, { kind: 'ppoly', ...chain });
    return fixedPolyForward(ctx, chain.powers, fn.coefficients);
  }
  if (fn.fn === 'relu' && nl.kind === 'bicoptor') {
    const { relu, bit } = await reluWithBit(ctx, x, { lx: nl.lx, skip: nl.skip });
    tape.set(l.name, { kind: 'relu', bit });
    return relu;
  }
  if (fn.fn === 'linear') return x;
  throw new Error(`layer ${l.name}: no training form for activation ${fn.fn}${fn.fn === 'relu' ? ' (the ReLU trains with --relu bicoptor, 3 parties)' : ''}`);
}

async function layerForward(ctx: Context, l: LayerSpec, inputs: Shared[], params: ModelParams, nl: Nonlinearity, tape?: Tape): Promise<Shared> {
  const x = inputs[0]!;
  if (tape && (l.kind === 'avgpool' || l.kind === 'flatten')) tape.set(l.name, { kind: 'reshape', inShape: [...x.shape] });
  switch (l.kind) {
    case 'input':
      return x;
    case 'conv2d':
      return convLayer(ctx, l, x, needParams(params, l), nl, tape);
    case 'dense':
      return denseLayer(ctx, l, x, needParams(params, l), nl, tape);
    case 'batchnorm': {
      const p = needParams(params, l);
      const bn = { gamma: p.gamma!, beta: p.beta!, movingMean: p.movingMean!, movingVariance: p.movingVariance! };
      if (!tape) return batchNormInference(ctx, l, x, bn);
      const { y, cache } = await batchNormTrainForward(ctx, l, x, bn, tape.batchNorm);
      tape.set(l.name, cache);
      return y;
    }
    case 'affine': {
      const p = needParams(params, l);
      return addPerChannel(await mul(ctx, x, expandPerChannel(p.scale!, x.shape)), p.shift!);
    }
    case 'activation':
      if (tape) return trainActivation(ctx, l, x, params, nl, tape);
      return activate(ctx, x, l.activation, nl, l.name, params.get(l.name)?.coefficients);
    case 'avgpool':
      if (l.pool[0] !== l.pool[1] || l.stride[0] !== l.stride[1] || l.padding.top + l.padding.bottom + l.padding.left + l.padding.right > 0) {
        throw new Error(`layer ${l.name}: average pooling must be square with 'valid' padding here (pool ${l.pool.join('x')}, strides ${l.stride.join('x')})`);
      }
      return avgPool2d(ctx, x, l.pool[0], { stride: l.stride[0] });
    case 'maxpool': {
      const padding = l.padding.top + l.padding.bottom + l.padding.left + l.padding.right > 0 ? 'same' : 'valid';
      switch (nl.kind) {
        case 'bicoptor':
          return maxPool2d(ctx, x, l.pool, { stride: l.stride, padding, lx: nl.lx, skip: nl.skip });
        case 'minimax':
          return appMaxPool(ctx, x, l.pool, { stride: l.stride, padding, alpha: nl.alpha, bound: nl.bound });
        case 'exact':
          observeMaxPool(nl, x);
          return exactMaxPool(x, l.pool, l.stride, padding);
        case 'poly':
          throw new Error(`layer ${l.name}: max pooling needs --relu bicoptor or minimax`);
      }
      break;
    }
    case 'global-avgpool':
      return globalAvgPool(ctx, x);
    case 'flatten':
      return x.shape.length === 4 ? flattenChannelsLast(x) : x;
    case 'add':
      return inputs.reduce((a, b) => add(a, b));
    case 'pad-shortcut':
      return padShortcut(x, l.stride, l.padBefore, l.padAfter);
    case 'identity':
      return x;
  }
}

/**
 * Forward pass of a batch x ([N, C, H, W] or [N, F], shared), returning
 * the output layer's value before a final softmax (the logits).
 */
export async function forward(
  ctx: Context, spec: ModelSpec, params: ModelParams, x: Shared, nl: Nonlinearity,
  /** Called after each layer with its index and this party's round clock (for per-layer critical-path rounds). */
  onLayer?: (index: number, clock: number) => void,
  /** Training: batch statistics in batch norm, and every layer keeps what its backward pass needs (src/nn/train/). */
  tape?: Tape,
): Promise<Shared> {
  const lastUse = new Map<string, number>();
  spec.layers.forEach((l, i) => l.inputs.forEach((name) => lastUse.set(name, i)));
  const values = new Map<string, Shared>();
  for (const [i, l] of spec.layers.entries()) {
    const inputs = l.kind === 'input' ? [x] : l.inputs.map((name) => {
      const v = values.get(name);
      if (!v) throw new Error(`layer ${l.name}: input ${name} has no value (graph order)`);
      return v;
    });
    const y = await ctx.section(l.name, (c) => layerForward(c, l, inputs, params, nl, tape));
    onLayer?.(i, ctx.rounds);
    faultPoint('between-layers');
    values.set(l.name, y);
    for (const name of l.inputs) if (lastUse.get(name) === i && name !== spec.output) values.delete(name);
  }
  const out = values.get(spec.output);
  if (!out) throw new Error(`${spec.source}: output layer ${spec.output} was not computed`);
  return out;
}

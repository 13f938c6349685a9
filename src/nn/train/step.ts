/**
 * One MPC training step over a ModelSpec (seed mpc-cnn-batchnorm-ppoly.txt
 * 3.5): the training forward of src/nn/graph.ts (batch statistics, caches
 * on a Tape), the softmax cross-entropy gradient, the backward pass, and
 * SGD with momentum and weight decay; batch norm's moving statistics are
 * replaced by the ones the forward computed. Weights, velocities, images
 * and labels stay shared throughout. The same code runs in the plaintext
 * context (the reference).
 */
import type { SoftmaxOptions } from '../../../protocols/softmax.js';
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import { forward, type LayerParams, type ModelParams } from '../graph.js';
import type { Nonlinearity } from '../nonlinearity.js';
import type { ModelSpec } from '../spec.js';
import { backward, chainLayers, type ModelGrads } from './backward.js';
import { softmaxCrossEntropyGrad } from './loss.js';
import { zerosLike } from './local-ops.js';
import { sgdStep, type SgdSettings } from './sgd.js';
import { Tape, type BatchNormTrainOptions } from './tape.js';

/** A trainable tensor: the layer, the parameter and (coefficients) the power. */
export interface TrainableRef {
  layer: string;
  param: 'weight' | 'bias' | 'gamma' | 'beta' | 'coefficients';
  index?: number;
}

/** The trainable parameters in a fixed order (spec order; within a layer weight, bias / gamma, beta / c_0..c_d). */
export function trainableRefs(spec: ModelSpec, params: ModelParams): TrainableRef[] {
  const refs: TrainableRef[] = [];
  for (const l of spec.layers) {
    const p = params.get(l.name);
    if (!p) continue;
    for (const param of ['weight', 'bias', 'gamma', 'beta'] as const) if (p[param]) refs.push({ layer: l.name, param });
    p.coefficients?.forEach((_, index) => refs.push({ layer: l.name, param: 'coefficients', index }));
  }
  return refs;
}

export function refName(r: TrainableRef): string {
  return r.index === undefined ? `${r.layer}.${r.param}` : `${r.layer}.c${r.index}`;
}

function lookup(p: ModelParams, r: TrainableRef, what: string): Shared {
  const lp = p.get(r.layer);
  const v = r.param === 'coefficients' ? lp?.coefficients?.[r.index!] : lp?.[r.param];
  if (!v) throw new Error(`${what}: ${refName(r)} is missing`);
  return v;
}

export function trainableValues(p: ModelParams, refs: readonly TrainableRef[], what = 'parameters'): Shared[] {
  return refs.map((r) => lookup(p, r, what));
}

/** A copy of params with the trainable tensors replaced. */
export function withTrainable(p: ModelParams, refs: readonly TrainableRef[], values: readonly Shared[]): ModelParams {
  const out: ModelParams = new Map([...p].map(([k, v]) => [k, { ...v, ...(v.coefficients ? { coefficients: [...v.coefficients] } : {}) } as LayerParams]));
  refs.forEach((r, i) => {
    const lp = out.get(r.layer)!;
    if (r.param === 'coefficients') lp.coefficients![r.index!] = values[i]!;
    else lp[r.param] = values[i]!;
  });
  return out;
}

export interface TrainState {
  params: ModelParams;
  /** One per trainableRefs entry. */
  velocities: Shared[];
}

/** Fresh state: the shared parameters and zero velocities. */
export function initialState(spec: ModelSpec, params: ModelParams): TrainState {
  return { params, velocities: trainableValues(params, trainableRefs(spec, params)).map(zerosLike) };
}

export interface TrainStepOptions extends SgdSettings {
  nl: Nonlinearity;
  softmax: SoftmaxOptions;
  batchNorm: BatchNormTrainOptions;
}

export interface Batch {
  /** Images [N, C, H, W] (or features [N, F]), shared by the data owner. */
  x: Shared;
  /** One-hot labels [N, K], shared by the data owner. */
  y: Shared;
}

/**
 * Gradients of one batch (forward, loss gradient, backward), and the tape's
 * moving statistics applied to params; dOut is the logits' gradient
 * (softmax - y) / N, from which a trainer may reveal the loss to the data owner.
 */
export async function computeGradients(ctx: Context, spec: ModelSpec, params: ModelParams, batch: Batch, opts: Omit<TrainStepOptions, keyof SgdSettings>): Promise<{ grads: ModelGrads; params: ModelParams; dOut: Shared }> {
  chainLayers(spec);
  const tape = new Tape(opts.batchNorm);
  const logits = await forward(ctx, spec, params, batch.x, opts.nl, undefined, tape);
  const dOut = await ctx.section('loss/backward', (c) => softmaxCrossEntropyGrad(c, logits, batch.y, opts.softmax));
  const grads = await backward(ctx, spec, params, tape, dOut);
  const next: ModelParams = new Map(params);
  for (const [name, cache] of tape.caches) {
    if (cache.kind === 'batchnorm') next.set(name, { ...params.get(name)!, movingMean: cache.movingMean, movingVariance: cache.movingVariance });
  }
  return { grads, params: next, dOut };
}

/** One SGD step on a shared batch: the new state. */
export async function trainStep(ctx: Context, spec: ModelSpec, state: TrainState, batch: Batch, opts: TrainStepOptions): Promise<TrainState> {
  const { grads, params } = await computeGradients(ctx, spec, state.params, batch, opts);
  const refs = trainableRefs(spec, params);
  const update = await ctx.section('sgd', (c) => sgdStep(c, trainableValues(params, refs), trainableValues(grads, refs, 'gradients'), state.velocities, opts));
  return { params: withTrainable(params, refs, update.weights), velocities: update.velocities };
}

/**
 * The backward pass over a ModelSpec that a training forward (graph.ts with
 * a Tape) has run: layers in reverse order, each one profiled section
 * `<layer>/backward`, returning the gradients of the trainable parameters
 * in the shape of ModelParams. Chains only (every layer takes the previous
 * one's output, as the seed CNN); branches (ResNet 'add') are refused.
 */
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import type { LayerParams, ModelParams } from '../graph.js';
import type { LayerSpec, ModelSpec } from '../spec.js';
import { batchNormBackward } from './batch-norm.js';
import { avgPoolBackward, convBackward, denseBackward, flattenBackward, reluBackward } from './linear-layers.js';
import { fixedPolyBackward, ppolyBackward } from './ppoly.js';
import type { Tape } from './tape.js';

/** Gradients per layer: weight, bias, gamma, beta, coefficients as in ModelParams. */
export type ModelGrads = ModelParams;

function params(p: ModelParams, l: LayerSpec): LayerParams {
  const v = p.get(l.name);
  if (!v) throw new Error(`layer ${l.name}: no parameters`);
  return v;
}

/** Check that the spec is a chain ending at its output; returns the layers in forward order. */
export function chainLayers(spec: ModelSpec): LayerSpec[] {
  const layers = spec.layers;
  for (let i = 1; i < layers.length; i++) {
    const l = layers[i]!;
    if (l.inputs.length !== 1 || l.inputs[0] !== layers[i - 1]!.name) throw new Error(`${spec.source}: layer ${l.name} does not take the previous layer's output; training supports chains only`);
  }
  if (layers[layers.length - 1]?.name !== spec.output) throw new Error(`${spec.source}: the output ${spec.output} is not the last layer`);
  return layers;
}

async function layerBackward(ctx: Context, l: LayerSpec, dy: Shared, p: ModelParams, tape: Tape, grads: ModelGrads, needDx: boolean): Promise<Shared | null> {
  switch (l.kind) {
    case 'conv2d': {
      const g = await convBackward(ctx, l, dy, tape.get(l.name, 'linear').x, params(p, l).weight!, needDx);
      grads.set(l.name, g.db ? { weight: g.dw, bias: g.db } : { weight: g.dw });
      return g.dx;
    }
    case 'dense': {
      const g = await denseBackward(ctx, dy, tape.get(l.name, 'linear').x, params(p, l).weight!, l.hasBias, needDx);
      grads.set(l.name, g.db ? { weight: g.dw, bias: g.db } : { weight: g.dw });
      return g.dx;
    }
    case 'batchnorm': {
      const g = await batchNormBackward(ctx, dy, tape.get(l.name, 'batchnorm'));
      grads.set(l.name, { gamma: g.dgamma, beta: g.dbeta });
      return g.dx;
    }
    case 'activation': {
      if (l.activation.fn === 'linear') return dy;
      const relu = tape.caches.get(l.name);
      if (relu?.kind === 'relu') return reluBackward(ctx, dy, relu.bit);
      // Fixed polynomial: public coefficients, so only dx (nothing to train).
      if (l.activation.fn === 'polynomial') return fixedPolyBackward(ctx, dy, tape.get(l.name, 'ppoly').powers, l.activation.coefficients);
      const g = await ppolyBackward(ctx, dy, tape.get(l.name, 'ppoly').masks, params(p, l).coefficients!);
      grads.set(l.name, { coefficients: g.dc });
      return g.dx;
    }
    case 'avgpool':
      return avgPoolBackward(ctx, dy, tape.get(l.name, 'reshape').inShape, l.pool[0], l.stride[0]);
    case 'flatten':
      return flattenBackward(dy, tape.get(l.name, 'reshape').inShape);
    case 'identity':
      return dy;
    case 'input':
      return null;
    default:
      throw new Error(`layer ${l.name}: no backward pass for ${l.kind} layers`);
  }
}

/** Gradients of every trainable parameter from dOut, the gradient of the loss by the output layer's value. */
export async function backward(ctx: Context, spec: ModelSpec, p: ModelParams, tape: Tape, dOut: Shared): Promise<ModelGrads> {
  const layers = chainLayers(spec);
  const grads: ModelGrads = new Map();
  let dy: Shared | null = dOut;
  for (let i = layers.length - 1; i >= 1 && dy; i--) {
    const l = layers[i]!;
    const needDx = i > 1; // layers[0] is the input: no gradient for the data
    const g: Shared = dy;
    dy = await ctx.section(`${l.name}/backward`, (c) => layerBackward(c, l, g, p, tape, grads, needDx));
  }
  return grads;
}

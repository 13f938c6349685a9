/**
 * The plaintext seed CNN (src/plain/models/cnn.ts: conv -> [BN] -> PPoly or
 * a fixed polynomial -> avgpool -> dense) to and from the training spec's
 * weights (src/nn/train/seed-cnn.ts), so that MPC training starts from
 * exactly the weights the plaintext builder draws for a seed, and its result
 * is saved as that same tfjs model (so `mpcnet eval` and `mpcnet infer` read
 * it). Layouts: conv tfjs [kh, kw, Ci, Co] <-> ring [Co, Ci, kh, kw]; dense
 * is [in, out] in tfjs's (h, w, c) order on both sides; PPoly per channel
 * tfjs [d + 1, C] <-> ring [C][d + 1]. A fixed polynomial has no weights:
 * its coefficients are the layer's configuration (the shape's `fixed`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { PolynomialActivation } from '../../plain/activations/polynomial.js';
import type { SeedCnnShape, SeedCnnWeights } from './seed-cnn.js';

interface Found {
  conv: ReturnType<LayersModel['getLayer']>;
  bn: ReturnType<LayersModel['getLayer']> | undefined;
  act: ReturnType<LayersModel['getLayer']>;
  dense: ReturnType<LayersModel['getLayer']>;
}

function layers(model: LayersModel): Found {
  const by = (cls: string): Found['conv'][] => model.layers.filter((l) => l.getClassName() === cls);
  const [conv, bn, act, dense] = [by('Conv2D'), by('BatchNormalization'), [...by('PPoly'), ...by('PolynomialActivation')], by('Dense')];
  if (conv.length !== 1 || act.length !== 1 || dense.length !== 1 || bn.length > 1) {
    throw new Error(`${model.name}: not the seed CNN with a polynomial activation (conv, [BN], PPoly or PolynomialActivation, avgpool, dense)`);
  }
  return { conv: conv[0]!, bn: bn[0], act: act[0]!, dense: dense[0]! };
}

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

/** The training shape of a built seed CNN (varianceRange: the public bound 2PC's rsqrt needs). */
export function seedCnnShapeOf(model: LayersModel, varianceRange: SeedCnnShape['varianceRange']): SeedCnnShape {
  const { conv, bn, act, dense } = layers(model);
  const [k, , ci, co] = conv.getWeights()[0]!.shape as number[];
  const inShape = model.inputs[0]!.shape;
  const bnConfig = bn?.getConfig() as { epsilon?: number; momentum?: number } | undefined;
  const fixed = act instanceof PolynomialActivation ? [...act.coefficients] : undefined;
  const coefShape = fixed ? [fixed.length] : act.getWeights()[0]!.shape;
  return {
    inputShape: [ci!, inShape[1]!, inShape[2]!], filters: co!, kernel: k!, classes: dense.getWeights()[0]!.shape[1]!,
    degree: coefShape[0]! - 1, perChannel: coefShape.length === 2, ...(fixed ? { fixed } : {}), bn: bn !== undefined,
    epsilon: bnConfig?.epsilon ?? 1e-5, momentum: bnConfig?.momentum ?? 0.9, varianceRange,
  };
}

/** PPoly's tfjs [d + 1] or [d + 1, C] as ring rows [1 or C][d + 1]. */
function ppolyRows(coef: tf.Tensor): number[][] {
  const cv = values(coef);
  const d = coef.shape[0]!;
  const rows = coef.shape.length === 2 ? coef.shape[1]! : 1;
  return Array.from({ length: rows }, (_, ch) => Array.from({ length: d }, (_, kk) => cv[kk * rows + ch]!));
}

/** The model's current weights in the ring layout (a fixed polynomial's coefficients are not weights: empty). */
export function seedCnnWeightsOf(model: LayersModel): SeedCnnWeights {
  const { conv, bn, act, dense } = layers(model);
  const cw = conv.getWeights();
  const kernel = cw[0]!;
  const [k, , c, f] = kernel.shape as number[];
  const kv = kernel.dataSync();
  const ring = new Array<number>(kv.length);
  for (let o = 0; o < f!; o++) for (let i = 0; i < c!; i++) for (let a = 0; a < k!; a++) for (let b = 0; b < k!; b++) ring[((o * c! + i) * k! + a) * k! + b] = kv[((a * k! + b) * c! + i) * f! + o]!;
  const [dk, db] = dense.getWeights();
  const w: SeedCnnWeights = { conv: ring, coefficients: act instanceof PolynomialActivation ? [] : ppolyRows(act.getWeights()[0]!), dense: values(dk!), denseBias: values(db!) };
  if (cw[1]) w.convBias = values(cw[1]);
  if (bn) {
    const [gamma, beta, mm, mv] = bn.getWeights().map(values);
    Object.assign(w, { gamma, beta, movingMean: mm, movingVariance: mv });
  }
  return w;
}

/** Writes ring-layout weights into the model (same builder, same shapes). */
export function setSeedCnnWeights(model: LayersModel, w: SeedCnnWeights): void {
  const { conv, bn, act, dense } = layers(model);
  const cw = conv.getWeights();
  const [k, , c, f] = cw[0]!.shape as number[];
  const kernel = new Float32Array(w.conv.length);
  for (let o = 0; o < f!; o++) for (let i = 0; i < c!; i++) for (let a = 0; a < k!; a++) for (let b = 0; b < k!; b++) kernel[((a * k! + b) * c! + i) * f! + o] = w.conv[((o * c! + i) * k! + a) * k! + b]!;
  const convW = [tf.tensor(kernel, cw[0]!.shape)];
  if (cw[1]) convW.push(tf.tensor(w.convBias ?? [], cw[1].shape));
  conv.setWeights(convW);
  // A fixed polynomial keeps the coefficients the builder gave it.
  if (!(act instanceof PolynomialActivation)) {
    const coef = act.getWeights()[0]!;
    const d = coef.shape[0]!;
    const rows = coef.shape.length === 2 ? coef.shape[1]! : 1;
    const flat = new Float32Array(d * rows);
    for (let kk = 0; kk < d; kk++) for (let ch = 0; ch < rows; ch++) flat[kk * rows + ch] = w.coefficients[ch]![kk]!;
    act.setWeights([tf.tensor(flat, coef.shape)]);
  }
  const dw = dense.getWeights();
  dense.setWeights([tf.tensor(w.dense, dw[0]!.shape), tf.tensor(w.denseBias, dw[1]!.shape)]);
  if (bn) bn.setWeights([w.gamma!, w.beta!, w.movingMean!, w.movingVariance!].map((v) => tf.tensor1d(v)));
}

/**
 * The seed CNN as a training ModelSpec (seed mpc-cnn-batchnorm-ppoly.txt
 * 3.5; src/plain/models/cnn.ts): Conv k x k 'same' (no bias with BN) ->
 * BatchNorm -> PPoly -> AvgPool 2x2 -> Flatten -> Dense(classes). Weights
 * in the ring layout (conv [Co, Ci, k, k], dense [in, out] in tfjs's
 * (h, w, c) row order); null on parties that do not own the model.
 */
import type { ActivationFn, LayerSpec, ModelSpec } from '../spec.js';

export interface SeedCnnShape {
  /** [C, H, W] */
  inputShape: [number, number, number];
  filters: number;
  /** Odd: 'same' padding is symmetric. */
  kernel: number;
  classes: number;
  /** PPoly degree (coefficients c_0..c_degree). */
  degree: number;
  perChannel: boolean;
  bn: boolean;
  /** Batch norm epsilon and moving-average momentum (tfjs: 1e-5 and 0.9 here, src/plain/models/common.ts). */
  epsilon: number;
  momentum: number;
  /** Public bound on var + eps per channel (2PC rsqrt). */
  varianceRange: { min: number; max: number };
}

export interface SeedCnnWeights {
  conv: number[];
  /** Conv bias (no BN only). */
  convBias?: number[];
  gamma?: number[];
  beta?: number[];
  movingMean?: number[];
  movingVariance?: number[];
  /** [C or 1][degree + 1] */
  coefficients: number[][];
  dense: number[];
  denseBias: number[];
}

const f32 = (v: number[] | undefined): Float32Array | null => (v ? Float32Array.from(v) : null);

export function seedCnnSpec(s: SeedCnnShape, w: SeedCnnWeights | null): ModelSpec {
  const [c, h, wd] = s.inputShape;
  if (s.kernel % 2 !== 1) throw new RangeError(`seed CNN: kernel ${s.kernel} must be odd ('same' padding)`);
  const pad = (s.kernel - 1) / 2;
  const f = s.filters;
  const [ph, pw] = [Math.floor(h / 2), Math.floor(wd / 2)];
  const features = f * ph * pw;
  const rows = s.perChannel ? f : 1;
  const coefficients = w ? w.coefficients : Array.from({ length: rows }, () => new Array<number>(s.degree + 1).fill(NaN));
  const act: ActivationFn = { fn: 'ppoly', coefficients, perChannel: s.perChannel };
  const layers: LayerSpec[] = [
    { kind: 'input', name: 'input', className: 'InputLayer', inputs: [], outShape: [c, h, wd] },
    {
      kind: 'conv2d', name: 'conv', className: 'Conv2D', inputs: ['input'], outShape: [f, h, wd], wShape: [f, c, s.kernel, s.kernel],
      weight: f32(w?.conv), bias: s.bn ? null : f32(w?.convBias), hasBias: !s.bn, stride: [1, 1],
      padding: { top: pad, bottom: pad, left: pad, right: pad }, activation: { fn: 'linear' },
    },
  ];
  if (s.bn) {
    layers.push({
      kind: 'batchnorm', name: 'bn', className: 'BatchNormalization', inputs: ['conv'], outShape: [f, h, wd], channels: f,
      gamma: f32(w?.gamma), beta: f32(w?.beta), movingMean: f32(w?.movingMean), movingVariance: f32(w?.movingVariance),
      epsilon: s.epsilon, momentum: s.momentum, varianceRange: s.varianceRange,
    });
  }
  const prev = (): string => layers[layers.length - 1]!.name;
  layers.push({ kind: 'activation', name: 'act', className: 'PPoly', inputs: [prev()], outShape: [f, h, wd], activation: act });
  layers.push({ kind: 'avgpool', name: 'pool', className: 'AveragePooling2D', inputs: ['act'], outShape: [f, ph, pw], pool: [2, 2], stride: [2, 2], padding: { top: 0, bottom: 0, left: 0, right: 0 } });
  layers.push({ kind: 'flatten', name: 'flatten', className: 'Flatten', inputs: ['pool'], outShape: [features] });
  layers.push({
    kind: 'dense', name: 'logits', className: 'Dense', inputs: ['flatten'], outShape: [s.classes], wShape: [features, s.classes],
    weight: f32(w?.dense), bias: f32(w?.denseBias), hasBias: true, activation: { fn: 'linear' },
  });
  return { source: 'seed CNN (training)', layers, output: 'logits', inputShape: [c, h, wd], hasWeights: w !== null };
}

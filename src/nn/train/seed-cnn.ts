/**
 * The seed CNN as a training ModelSpec (seed mpc-cnn-batchnorm-ppoly.txt
 * 3.5; src/plain/models/cnn.ts): Conv k x k 'same' (no bias with BN) ->
 * [BatchNorm] -> PPoly or a fixed polynomial -> AvgPool 2x2 -> Flatten ->
 * Dense(classes). Weights in the ring layout (conv [Co, Ci, k, k], dense
 * [in, out] in tfjs's (h, w, c) row order); null on parties that do not own
 * the model. A fixed polynomial's coefficients are public: they are part of
 * the shape every party knows, not of the owner's weights.
 */
import type { ActivationFn, LayerSpec, ModelSpec } from '../spec.js';

export interface SeedCnnShape {
  /** [C, H, W] */
  inputShape: [number, number, number];
  filters: number;
  /** Odd: 'same' padding is symmetric. */
  kernel: number;
  classes: number;
  /** Activation degree (coefficients c_0..c_degree). */
  degree: number;
  perChannel: boolean;
  /**
   * A fixed polynomial activation (PolynomialActivation): its public
   * coefficients c_0..c_degree, multiplied as public scalars and never
   * trained. Absent: PPoly (learnable, shared coefficients).
   */
  fixed?: number[];
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
  /** PPoly: [C or 1][degree + 1]; ignored (may be empty) with a fixed polynomial. */
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
  if (s.fixed && (s.fixed.length !== s.degree + 1 || s.perChannel)) throw new RangeError(`seed CNN: a fixed polynomial has degree + 1 = ${s.degree + 1} coefficients and no per-channel form, got ${s.fixed.length}${s.perChannel ? ' per channel' : ''}`);
  const coefficients = w ? w.coefficients : Array.from({ length: rows }, () => new Array<number>(s.degree + 1).fill(NaN));
  const act: ActivationFn = s.fixed ? { fn: 'polynomial', coefficients: [...s.fixed] } : { fn: 'ppoly', coefficients, perChannel: s.perChannel };
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
  layers.push({ kind: 'activation', name: 'act', className: s.fixed ? 'PolynomialActivation' : 'PPoly', inputs: [prev()], outShape: [f, h, wd], activation: act });
  layers.push({ kind: 'avgpool', name: 'pool', className: 'AveragePooling2D', inputs: ['act'], outShape: [f, ph, pw], pool: [2, 2], stride: [2, 2], padding: { top: 0, bottom: 0, left: 0, right: 0 } });
  layers.push({ kind: 'flatten', name: 'flatten', className: 'Flatten', inputs: ['pool'], outShape: [features] });
  layers.push({
    kind: 'dense', name: 'logits', className: 'Dense', inputs: ['flatten'], outShape: [s.classes], wShape: [features, s.classes],
    weight: f32(w?.dense), bias: f32(w?.denseBias), hasBias: true, activation: { fn: 'linear' },
  });
  return { source: 'seed CNN (training)', layers, output: 'logits', inputShape: [c, h, wd], hasWeights: w !== null };
}

/**
 * A model as the secure layers see it: a list of layers in one fixed
 * topological order (every party computes the same order from model.json,
 * so protocol calls and dealer requests line up), each with its inputs by
 * name, its output shape, and - on the model owner only - its plaintext
 * weights, already converted to the ring layout.
 *
 * Layout: activations are [N, C, H, W] (images) or [N, F] (features), as the
 * ring kernels take them; tfjs's NHWC kernels [kh, kw, Ci, Co] become
 * [Co, Ci, kh, kw] at import, and Flatten reorders to tfjs's (h, w, c)
 * order so that Dense weights keep tfjs's row order. Shapes here exclude
 * the batch dimension.
 */

/** Zero padding of an image, rows then columns (TensorFlow's 'same' puts the odd one after). */
export interface Padding2d {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Elementwise nonlinearities as saved in the model (what replaces them under MPC is a run option). */
export type ActivationFn =
  | { fn: 'linear' }
  | { fn: 'relu' }
  | { fn: 'leaky-relu'; alpha: number }
  /** Power-basis coefficients c0, c1, ... (PolynomialActivation). */
  | { fn: 'polynomial'; coefficients: number[] }
  /** PPoly: learnable coefficients, shared by all channels or one row per channel ([channels][degree + 1]). */
  | { fn: 'ppoly'; coefficients: number[][]; perChannel: boolean }
  /** Final softmax: monotone, so a secure run takes the argmax of its input and skips it. */
  | { fn: 'softmax' };

interface Base {
  /** Layer name from model.json (unique). */
  name: string;
  /** tfjs class name, for messages. */
  className: string;
  /** Names of the layers whose outputs this one takes, in order. */
  inputs: string[];
  /** Output shape without the batch dimension: [C, H, W] or [F]. */
  outShape: number[];
}

/** Weights are null on parties that only know the architecture (not the model owner). */
export type Weights = Float32Array | null;

export type LayerSpec =
  | (Base & { kind: 'input' })
  | (Base & {
      kind: 'conv2d';
      /** [Co, Ci, kh, kw] */
      wShape: [number, number, number, number];
      weight: Weights;
      /** Co values, or null when the layer has no bias (and no batch norm folded into it). */
      bias: Weights;
      hasBias: boolean;
      stride: [number, number];
      padding: Padding2d;
      activation: ActivationFn;
    })
  | (Base & {
      kind: 'dense';
      /** [in, out], tfjs's row order. */
      wShape: [number, number];
      weight: Weights;
      bias: Weights;
      hasBias: boolean;
      activation: ActivationFn;
    })
  /** Batch norm from running statistics, where it could not be folded into a linear layer: y = x * scale + shift per channel. */
  | (Base & { kind: 'affine'; channels: number; scale: Weights; shift: Weights })
  /**
   * Batch norm in training form (MPC training, PROTOCOLS.md 5): batch
   * statistics while training, the moving ones at inference. Learnable
   * gamma and beta [C]; moving mean and variance [C] updated as tfjs does
   * (m <- m - (m - batch) (1 - momentum), biased batch variance).
   * `varianceRange` is the public bound on var + epsilon that the inverse
   * square root needs in 2PC (3PC may normalise privately).
   */
  | (Base & {
      kind: 'batchnorm';
      channels: number;
      gamma: Weights;
      beta: Weights;
      movingMean: Weights;
      movingVariance: Weights;
      epsilon: number;
      momentum: number;
      varianceRange: { min: number; max: number };
    })
  | (Base & { kind: 'activation'; activation: ActivationFn })
  | (Base & { kind: 'avgpool' | 'maxpool'; pool: [number, number]; stride: [number, number]; padding: Padding2d })
  | (Base & { kind: 'global-avgpool' })
  /** [C, H, W] -> [H * W * C] in tfjs's (h, w, c) order. */
  | (Base & { kind: 'flatten' })
  | (Base & { kind: 'add' })
  /** ResNet option-A shortcut: subsample by the stride, zero-pad channels (lo before, rest after). */
  | (Base & { kind: 'pad-shortcut'; stride: number; padBefore: number; padAfter: number })
  /** Dropout and other layers that are the identity at inference. */
  | (Base & { kind: 'identity' });

export type LayerKind = LayerSpec['kind'];

export interface ModelSpec {
  /** Where it came from (model.json path), for messages. */
  source: string;
  /** Layers in the execution order; the first is the input. */
  layers: LayerSpec[];
  /** Name of the output layer. */
  output: string;
  /** Input shape without batch: [C, H, W] (images arrive NHWC and are transposed) or [F]. */
  inputShape: number[];
  /** True when weights were loaded (the model owner's view). */
  hasWeights: boolean;
}

/**
 * Turns a saved tfjs Layers model (model.json + weights) into a ModelSpec
 * (spec.ts): the layers in one deterministic topological order, each output
 * shape inferred, the weights in the ring kernels' layout.
 *
 * Every party runs this on the same model.json and gets the same list; only
 * the model owner reads the weights (weights: false leaves every value null
 * but keeps the structure, batch-norm folding included).
 *
 * What it does beyond copying:
 * - Shapes: tfjs works in NHWC, the spec in [C, H, W] (or [F]); kernels
 *   [kh, kw, Ci, Co] become [Co, Ci, kh, kw]; Dense kernels stay [in, out]
 *   and Flatten keeps tfjs's (h, w, c) order, so they line up.
 * - Padding: 'same' follows TensorFlow (out = ceil(in / s), the odd pixel of
 *   padding after), 'valid' pads nothing.
 * - BatchNormalization right after a Conv2D or Dense (with a linear
 *   activation and no other consumer of its output) is folded into that
 *   layer's weight and bias; anywhere else it becomes a per-channel affine
 *   layer.
 * - NgnvRelu (training-only noise) is ReLU; Dropout and the other
 *   inference-time identities become identity layers; softmax is accepted
 *   only as the model's output.
 * - Every problem found (unsupported layers, unsupported options, weights
 *   that do not match the inferred shapes, ...) is reported together, in
 *   one Error naming the model.json and each layer.
 *
 * The Keras graph itself (parsing, its checks, the order) is in
 * tfjs-topology.ts; the batch-norm arithmetic and folding in
 * batchnorm-fold.ts.
 */
import { readModelFiles, type ModelFiles, type ReadModelOptions } from './model-files.js';
import type { ActivationFn, LayerSpec, ModelSpec, Padding2d, Weights } from './spec.js';
import { field, layerGraph, type RawLayer } from './tfjs-topology.js';
import { bnAffine, foldBatchNorms, type BnAffine } from './batchnorm-fold.js';

export type ImportOptions = ReadModelOptions;

/** Layer classes the importer understands (tfjs class names, as in model.json). */
export const SUPPORTED_LAYERS = [
  'InputLayer', 'Conv2D', 'Dense', 'BatchNormalization', 'ReLU', 'Activation', 'LeakyReLU', 'Softmax', 'NgnvRelu',
  'PolynomialActivation', 'PPoly', 'AveragePooling2D', 'MaxPooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Add',
  'PadShortcut', 'Reshape', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout',
] as const;

/** Identity at inference. */
const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** Reads dir/model.json (and the weights with weights: true) and converts it; throws one Error listing every problem. */
export function importModel(dir: string, opts: ImportOptions): ModelSpec {
  return importModelFiles(readModelFiles(dir, opts), opts);
}

/** The conversion of files already read (readModelFiles). */
export function importModelFiles(files: ModelFiles, opts: ImportOptions): ModelSpec {
  return new Importer(files, opts.weights).run();
}

// ---------------------------------------------------------------- helpers

/** Output size and TensorFlow's padding along one axis. */
function window1d(size: number, k: number, s: number, padding: 'valid' | 'same'): { out: number; before: number; after: number } {
  if (padding === 'valid') return { out: Math.floor((size - k) / s) + 1, before: 0, after: 0 };
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** [Co, Ci, kh, kw] from tfjs's [kh, kw, Ci, Co]. */
function convKernel(k: Float32Array, kh: number, kw: number, ci: number, co: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) {
    out[((o * ci + c) * kh + i) * kw + j] = k[((i * kw + j) * ci + c) * co + o]!;
  }
  return out;
}

// ---------------------------------------------------------------- the importer

class Importer {
  private readonly problems: string[] = [];
  private readonly unsupported: string[] = [];
  /** Batch-norm layers (as affine specs) and their float64 coefficients (null without weights). */
  private readonly batchNorms = new Map<string, BnAffine | null>();
  private output = '';

  constructor(private readonly files: ModelFiles, private readonly withWeights: boolean) {}

  run(): ModelSpec {
    const { source } = this.files;
    const graph = layerGraph(source, this.files.topology, this.problems);
    const order = graph.order;
    this.output = graph.output ?? '';

    const shapes = new Map<string, number[] | undefined>();
    let specs: LayerSpec[] = [];
    for (const raw of order) {
      const ins = raw.inputs.map((i) => shapes.get(i));
      let spec: LayerSpec | undefined;
      if (!(SUPPORTED_LAYERS as readonly string[]).includes(raw.className)) {
        this.unsupported.push(`${raw.name} (${raw.className})`);
      } else if (ins.every((s): s is number[] => s !== undefined)) {
        // (Layers after a failed one are skipped: their problems would only echo it.)
        spec = this.convert(raw, ins);
      }
      shapes.set(raw.name, spec?.outShape);
      if (spec) specs.push(spec);
    }
    const folded = foldBatchNorms(specs, this.batchNorms, this.output, this.problems);
    specs = folded.layers;
    this.output = folded.output;

    const problems = [...this.problems];
    if (this.unsupported.length > 0) problems.unshift(`unsupported layers: ${this.unsupported.join(', ')} (supported: ${SUPPORTED_LAYERS.join(', ')})`);
    if (problems.length > 0) throw new Error(`${source}: ${problems.join('; ')}`);
    const first = specs[0]!;
    return { source, layers: specs, output: this.output, inputShape: [...first.outShape], hasWeights: this.withWeights };
  }

  // -------------------------------------------------------------- per layer

  private convert(raw: RawLayer, ins: number[][]): LayerSpec | undefined {
    const say = (msg: string): void => void this.problems.push(`layer ${raw.name} (${raw.className}): ${msg}`);
    const base = { name: raw.name, className: raw.className, inputs: [...raw.inputs] };
    const c = raw.config;
    const cls = raw.className;

    if (cls === 'InputLayer') return this.inputLayer(raw, say);
    if (cls === 'Add') {
      if (ins.length < 2) return void say(`needs at least 2 inputs, has ${ins.length}`);
      const bad = ins.find((s) => !sameShape(s, ins[0]!));
      if (bad) say(`inputs of different shapes ${ins.map((s) => shapeText(s)).join(' and ')}`);
      return { ...base, kind: 'add', outShape: [...ins[0]!] };
    }
    if (ins.length !== 1) return void say(`takes one input, has ${ins.length}`);
    const x = ins[0]!;
    const image = (): [number, number, number] | undefined => {
      if (x.length === 3) return x as [number, number, number];
      say(`needs an image input ([H, W, C] in tfjs), got ${x.length === 1 ? `${x[0]} features` : shapeText(x)}`);
      return undefined;
    };
    const channelsLast = (): void => {
      const f = field(c, 'data_format');
      if (f !== undefined && f !== null && f !== 'channels_last') say(`data_format ${String(f)} is not supported (only channels_last)`);
    };

    if (IDENTITY_LAYERS.has(cls)) return { ...base, kind: 'identity', outShape: [...x] };
    switch (cls) {
      case 'Conv2D':
        return this.conv2d(raw, x, say, image, channelsLast);
      case 'Dense':
        return this.dense(raw, x, say);
      case 'BatchNormalization':
        return this.batchNorm(raw, x, say);
      case 'ReLU': {
        for (const [key, neutral] of [['max_value', null], ['negative_slope', 0], ['threshold', 0]] as const) {
          const v = field(c, key);
          if (v !== undefined && v !== null && v !== neutral) say(`${key} ${String(v)} is not supported`);
        }
        return { ...base, kind: 'activation', outShape: [...x], activation: { fn: 'relu' } };
      }
      case 'NgnvRelu':
        // NGNV perturbs only in training; at inference it is exactly ReLU.
        return { ...base, kind: 'activation', outShape: [...x], activation: { fn: 'relu' } };
      case 'LeakyReLU': {
        const alpha = field(c, 'alpha') ?? field(c, 'negative_slope') ?? 0.3;
        if (typeof alpha !== 'number' || !Number.isFinite(alpha)) say(`alpha ${String(alpha)} is not a number`);
        return { ...base, kind: 'activation', outShape: [...x], activation: { fn: 'leaky-relu', alpha: Number(alpha) } };
      }
      case 'Activation': {
        const fn = this.activation(raw, field(c, 'activation'), x, say);
        if (fn?.fn === 'linear') return { ...base, kind: 'identity', outShape: [...x] };
        return { ...base, kind: 'activation', outShape: [...x], activation: fn ?? { fn: 'linear' } };
      }
      case 'Softmax': {
        const axis = field(c, 'axis') ?? -1;
        if (axis !== -1 && axis !== x.length) say(`softmax over axis ${String(axis)} is not supported (only the last)`);
        const fn = this.activation(raw, 'softmax', x, say);
        return { ...base, kind: 'activation', outShape: [...x], activation: fn ?? { fn: 'softmax' } };
      }
      case 'PolynomialActivation': {
        const coefficients = this.coefficients(field(c, 'coefficients'), say);
        return { ...base, kind: 'activation', outShape: [...x], activation: { fn: 'polynomial', coefficients } };
      }
      case 'PPoly':
        return this.ppoly(raw, x, say);
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        const s = image();
        channelsLast();
        const pool = this.pair(field(c, 'pool_size') ?? 2, 'pool_size', say);
        const strideField = field(c, 'strides');
        const stride = strideField === undefined || strideField === null ? pool : this.pair(strideField, 'strides', say);
        const padding = this.padding(field(c, 'padding'), say);
        if (!s || !pool || !stride || !padding) return undefined;
        const win = this.window(s, pool, stride, padding, 'pool', say);
        if (!win) return undefined;
        return { ...base, kind: cls === 'MaxPooling2D' ? 'maxpool' : 'avgpool', outShape: [s[0], win.rows, win.cols], pool, stride, padding: win.padding };
      }
      case 'GlobalAveragePooling2D': {
        const s = image();
        channelsLast();
        if (field(c, 'keepdims') === true) say('keepdims is not supported');
        return s ? { ...base, kind: 'global-avgpool', outShape: [s[0]] } : undefined;
      }
      case 'Flatten': {
        channelsLast();
        if (x.length === 1) return { ...base, kind: 'identity', outShape: [...x] };
        return { ...base, kind: 'flatten', outShape: [x.reduce((a, b) => a * b, 1)] };
      }
      case 'Reshape':
        return this.reshape(raw, x, say);
      case 'PadShortcut': {
        const s = image();
        const stride = field(c, 'stride') ?? 2;
        const outChannels = field(c, 'out_channels') ?? 0;
        if (!Number.isInteger(stride) || (stride as number) < 1) say(`stride ${String(stride)} is not a positive integer`);
        if (!Number.isInteger(outChannels) || (outChannels as number) < 0) say(`out_channels ${String(outChannels)} is not a non-negative integer`);
        if (!s) return undefined;
        const st = Number(stride);
        const oc = Number(outChannels) || s[0];
        if (oc < s[0]) say(`out_channels ${oc} is fewer than its ${s[0]} input channels`);
        const extra = Math.max(oc - s[0], 0);
        const padBefore = Math.floor(extra / 2);
        return { ...base, kind: 'pad-shortcut', outShape: [s[0] + extra, Math.ceil(s[1] / st), Math.ceil(s[2] / st)], stride: st, padBefore, padAfter: extra - padBefore };
      }
      default:
        // SUPPORTED_LAYERS lists a class with no case above.
        say('no conversion (internal error)');
        return undefined;
    }
  }

  private inputLayer(raw: RawLayer, say: (msg: string) => void): LayerSpec | undefined {
    const shape = field(raw.config, 'batch_input_shape') ?? field(raw.config, 'batch_shape');
    if (shape === undefined) return void say('no batch_input_shape');
    if (!Array.isArray(shape) || shape.length < 2 || !shape.slice(1).every((d) => Number.isInteger(d) && d > 0)) {
      return void say(`input shape ${JSON.stringify(shape)} must be fully known (positive sizes besides the batch)`);
    }
    const dims = shape.slice(1) as number[];
    const dtype = field(raw.config, 'dtype');
    if (dtype !== undefined && dtype !== null && dtype !== 'float32') say(`input dtype ${String(dtype)} is not supported (only float32)`);
    if (dims.length !== 3 && dims.length !== 1) return void say(`input shape ${shapeText(dims)} is neither an image [H, W, C] nor features [F]`);
    const outShape = dims.length === 3 ? [dims[2]!, dims[0]!, dims[1]!] : dims;
    return { name: raw.name, className: raw.className, inputs: [], kind: 'input', outShape };
  }

  private conv2d(raw: RawLayer, x: number[], say: (msg: string) => void, image: () => [number, number, number] | undefined, channelsLast: () => void): LayerSpec | undefined {
    const c = raw.config;
    const s = image();
    channelsLast();
    const dilation = this.pair(field(c, 'dilation_rate') ?? 1, 'dilation_rate', say);
    if (dilation && (dilation[0] !== 1 || dilation[1] !== 1)) say(`dilation_rate ${shapeText(dilation)} is not supported (only 1)`);
    const groups = field(c, 'groups');
    if (groups !== undefined && groups !== null && groups !== 1) say(`groups ${String(groups)} is not supported (only 1)`);
    const filters = field(c, 'filters');
    if (!Number.isInteger(filters) || (filters as number) < 1) say(`filters ${String(filters)} is not a positive integer`);
    const kernel = this.pair(field(c, 'kernel_size'), 'kernel_size', say);
    const stride = this.pair(field(c, 'strides') ?? 1, 'strides', say);
    const padding = this.padding(field(c, 'padding'), say);
    const useBias = field(c, 'use_bias') !== false;
    const win = s && kernel && stride && padding ? this.window(s, kernel, stride, padding, 'kernel', say) : undefined;
    const activation = this.activation(raw, field(c, 'activation'), win ? [Number(filters), win.rows, win.cols] : [Number(filters), 0, 0], say);
    if (!s || !kernel || !stride || !Number.isInteger(filters) || !activation) return undefined;
    const co = filters as number;
    const [ci] = s;
    const [kh, kw] = kernel;
    const k = this.weight(raw, 'kernel', [kh, kw, ci, co], (a) => `kernel shape ${shapeText(a)} does not match ${shapeText([kh, kw, ci, co])} (${kh}x${kw} kernel, ${ci} input channels, ${co} filters)`, say);
    const bias = useBias ? this.weight(raw, 'bias', [co], (a) => `bias shape ${shapeText(a)} does not match its ${co} filters`, say) : null;
    if (!win) return undefined;
    return {
      name: raw.name, className: raw.className, inputs: [...raw.inputs], kind: 'conv2d', outShape: [co, win.rows, win.cols],
      wShape: [co, ci, kh, kw], weight: k ? convKernel(k, kh, kw, ci, co) : null, bias, hasBias: useBias,
      stride, padding: win.padding, activation,
    };
  }

  private dense(raw: RawLayer, x: number[], say: (msg: string) => void): LayerSpec | undefined {
    const c = raw.config;
    const units = field(c, 'units');
    if (!Number.isInteger(units) || (units as number) < 1) say(`units ${String(units)} is not a positive integer`);
    if (x.length !== 1) say(`needs a flat input (features), got ${shapeText(x)}: add a Flatten or a global pooling before it`);
    const activation = this.activation(raw, field(c, 'activation'), [Number(units)], say);
    const useBias = field(c, 'use_bias') !== false;
    if (x.length !== 1 || !Number.isInteger(units) || !activation) return undefined;
    const u = units as number;
    const f = x[0]!;
    const describe = (a: number[]): string => a.length !== 2
      ? `kernel shape ${shapeText(a)} is not ${shapeText([f, u])} (its input of ${f} features by ${u} units)`
      : a[0] !== f ? `kernel shape ${shapeText(a)} does not match its input of ${f} features`
        : `kernel shape ${shapeText(a)} does not match its ${u} units`;
    const w = this.weight(raw, 'kernel', [f, u], describe, say);
    const bias = useBias ? this.weight(raw, 'bias', [u], (a) => `bias shape ${shapeText(a)} does not match its ${u} units`, say) : null;
    return {
      name: raw.name, className: raw.className, inputs: [...raw.inputs], kind: 'dense', outShape: [u],
      wShape: [f, u], weight: w, bias, hasBias: useBias, activation,
    };
  }

  private batchNorm(raw: RawLayer, x: number[], say: (msg: string) => void): LayerSpec | undefined {
    const c = raw.config;
    // tfjs's axis counts the batch dimension: the channel axis is x.length (NHWC) or -1.
    const axis = field(c, 'axis') ?? -1;
    const axisOk = axis === -1 || axis === x.length || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === x.length));
    if (!axisOk) say(`axis ${JSON.stringify(axis)} is not supported (only the channel axis, -1)`);
    const epsilon = field(c, 'epsilon') ?? 1e-3;
    if (typeof epsilon !== 'number' || !(epsilon >= 0)) say(`epsilon ${String(epsilon)} is not a non-negative number`);
    const center = field(c, 'center') !== false;
    const scale = field(c, 'scale') !== false;
    const ch = x[0]!;
    const describe = (what: string) => (a: number[]): string => `${what} shape ${shapeText(a)} does not match its ${ch} channels`;
    const gamma = scale ? this.weight(raw, 'gamma', [ch], describe('gamma'), say) : null;
    const beta = center ? this.weight(raw, 'beta', [ch], describe('beta'), say) : null;
    const mean = this.weight(raw, 'moving_mean', [ch], describe('moving_mean'), say);
    const variance = this.weight(raw, 'moving_variance', [ch], describe('moving_variance'), say);
    let coeffs: BnAffine | null = null;
    if (mean && variance && (gamma || !scale) && (beta || !center)) {
      coeffs = bnAffine(ch, Number(epsilon), gamma, beta, mean, variance);
    }
    this.batchNorms.set(raw.name, coeffs);
    return {
      name: raw.name, className: raw.className, inputs: [...raw.inputs], kind: 'affine', outShape: [...x], channels: ch,
      scale: coeffs ? Float32Array.from(coeffs.scale) : null, shift: coeffs ? Float32Array.from(coeffs.shift) : null,
    };
  }

  private ppoly(raw: RawLayer, x: number[], say: (msg: string) => void): LayerSpec | undefined {
    const c = raw.config;
    const initial = this.coefficients(field(c, 'coefficients'), say);
    const perChannel = field(c, 'per_channel') === true;
    const d = initial.length;
    // Channels are the last axis in tfjs: C of [C, H, W], F of [F].
    const ch = x[0]!;
    const expected = perChannel ? [d, ch] : [d];
    const w = this.weight(raw, 'coefficients', expected, (a) => `coefficients shape ${shapeText(a)} does not match ${shapeText(expected)} (degree ${d - 1}${perChannel ? `, ${ch} channels` : ''})`, say);
    const rows = perChannel ? ch : 1;
    // Without the weights the coefficients are unknown, but their number is
    // not: rows of NaN keep the shape (degree, channels) every party needs.
    const coefficients = Array.from({ length: rows }, (_, r) => Array.from({ length: d }, (_, k) => (w ? w[perChannel ? k * ch + r : k]! : NaN)));
    return { name: raw.name, className: raw.className, inputs: [...raw.inputs], kind: 'activation', outShape: [...x], activation: { fn: 'ppoly', coefficients, perChannel } };
  }

  private reshape(raw: RawLayer, x: number[], say: (msg: string) => void): LayerSpec | undefined {
    const base = { name: raw.name, className: raw.className, inputs: [...raw.inputs] };
    const target = field(raw.config, 'target_shape');
    const total = x.reduce((a, b) => a * b, 1);
    if (!Array.isArray(target) || !target.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) || target.filter((d) => d === -1).length > 1) {
      return void say(`target_shape ${JSON.stringify(target)} is not a list of sizes`);
    }
    const known = (target as number[]).reduce((a, b) => (b === -1 ? a : a * b), 1);
    const dims = (target as number[]).map((d) => (d === -1 ? total / known : d));
    const nhwc = x.length === 3 ? [x[1]!, x[2]!, x[0]!] : x;
    if (sameShape(dims, nhwc)) return { ...base, kind: 'identity', outShape: [...x] };
    if (dims.length === 1 && dims[0] === total) return x.length === 1 ? { ...base, kind: 'identity', outShape: [...x] } : { ...base, kind: 'flatten', outShape: [total] };
    say(`reshape of ${shapeText(nhwc)} to ${shapeText(dims)} is not supported (only to the same shape or to a flat vector)`);
    return undefined;
  }

  // -------------------------------------------------------------- options

  /**
   * A Conv2D / Dense / Activation activation. Softmax only at the model's
   * output, over features: a secure run replaces it by the argmax.
   */
  private activation(raw: RawLayer, v: unknown, outShape: number[], say: (msg: string) => void): ActivationFn | undefined {
    if (v === undefined || v === null || v === 'linear') return { fn: 'linear' };
    if (v === 'relu') return { fn: 'relu' };
    if (v === 'softmax') {
      if (raw.name !== this.output) say('softmax is only supported as the model\'s output (a secure run replaces it by the argmax)');
      else if (outShape.length !== 1) say(`softmax is only supported over features, not over a ${shapeText(outShape)} output`);
      return { fn: 'softmax' };
    }
    say(`activation ${JSON.stringify(v)} is not supported (supported: linear, relu, softmax at the output)`);
    return undefined;
  }

  private coefficients(v: unknown, say: (msg: string) => void): number[] {
    if (Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'number' && Number.isFinite(c))) return [...(v as number[])];
    say(`coefficients ${JSON.stringify(v)} are not a non-empty list of numbers`);
    return [0];
  }

  private pair(v: unknown, what: string, say: (msg: string) => void): [number, number] | undefined {
    const p = typeof v === 'number' ? [v, v] : v;
    if (Array.isArray(p) && p.length === 2 && p.every((n) => Number.isInteger(n) && n > 0)) return [p[0] as number, p[1] as number];
    say(`${what} ${JSON.stringify(v)} is not one or two positive integers`);
    return undefined;
  }

  private padding(v: unknown, say: (msg: string) => void): 'valid' | 'same' | undefined {
    if (v === undefined || v === null || v === 'valid') return 'valid';
    if (v === 'same') return 'same';
    say(`padding ${JSON.stringify(v)} is not supported (only valid and same)`);
    return undefined;
  }

  private window(s: [number, number, number], k: [number, number], stride: [number, number], padding: 'valid' | 'same', what: string, say: (msg: string) => void): { rows: number; cols: number; padding: Padding2d } | undefined {
    const r = window1d(s[1], k[0], stride[0], padding);
    const c = window1d(s[2], k[1], stride[1], padding);
    if (r.out < 1 || c.out < 1) return void say(`${what} ${k[0]}x${k[1]} is larger than its ${s[1]}x${s[2]} input (padding valid)`);
    return { rows: r.out, cols: c.out, padding: { top: r.before, bottom: r.after, left: c.before, right: c.after } };
  }

  /**
   * A layer's weight `${layer}/${leaf}` from the manifest, checked against
   * the shape the layer's input and config call for. Null on parties
   * without weights, and when missing or mismatched (reported).
   */
  private weight(raw: RawLayer, leaf: string, expected: number[], describe: (actual: number[]) => string, say: (msg: string) => void): Weights {
    const key = `${raw.name}/${leaf}`;
    const w = this.files.weights.get(key);
    if (!w) {
      say(`weight ${key} is missing from the weights manifest`);
      return null;
    }
    if (!sameShape(w.shape, expected)) {
      say(describe(w.shape));
      return null;
    }
    if (this.withWeights && w.values === null) say(`weight ${key} was not read`);
    return w.values;
  }
}

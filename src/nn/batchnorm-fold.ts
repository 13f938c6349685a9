/**
 * Batch normalization at inference: its per-channel affine form
 * y = x * scale + shift, and the folding of a batch norm into the Conv2D or
 * Dense right before it (import-tfjs.ts converts the layers, then folds).
 */
import type { LayerSpec, Weights } from './spec.js';

/** A batch norm at inference as y = x * scale + shift per channel (float64 until stored). */
export interface BnAffine {
  scale: Float64Array;
  shift: Float64Array;
}

type LinearSpec = Extract<LayerSpec, { kind: 'conv2d' | 'dense' }>;
type AffineSpec = Extract<LayerSpec, { kind: 'affine' }>;

/** a = gamma / sqrt(var + eps), shift = beta - mean * a per channel; absent gamma is 1, absent beta 0. */
export function bnAffine(channels: number, epsilon: number, gamma: Weights, beta: Weights, mean: Float32Array, variance: Float32Array): BnAffine {
  const coeffs = { scale: new Float64Array(channels), shift: new Float64Array(channels) };
  for (let i = 0; i < channels; i++) {
    const a = (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + epsilon);
    coeffs.scale[i] = a;
    coeffs.shift[i] = (beta ? beta[i]! : 0) - mean[i]! * a;
  }
  return coeffs;
}

/**
 * Folds each batch norm into the Conv2D or Dense before it when that
 * layer's activation is linear and the batch norm is its only consumer:
 * w' = w * a, b' = b * a + shift (a = gamma / sqrt(var + eps), shift =
 * beta - mean * a) per output channel. The folded layer keeps its name;
 * the batch norm's consumers read it instead.
 *
 * batchNorms: the batch-norm layers (as affine specs) and their
 * coefficients (null without weights). Returns the remaining layers and the
 * model's output, renamed when its batch norm was folded away; problems go
 * to the caller's list.
 */
export function foldBatchNorms(specs: LayerSpec[], batchNorms: ReadonlyMap<string, BnAffine | null>, output: string, problems: string[]): { layers: LayerSpec[]; output: string } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const consumers = new Map<string, string[]>();
  for (const s of specs) for (const i of s.inputs) consumers.set(i, [...(consumers.get(i) ?? []), s.name]);
  const removed = new Set<string>();
  for (const s of specs) {
    if (s.kind !== 'affine' || !batchNorms.has(s.name) || s.inputs.length !== 1) continue;
    const producer = byName.get(s.inputs[0]!);
    if (!producer || (producer.kind !== 'conv2d' && producer.kind !== 'dense') || producer.activation.fn !== 'linear') continue;
    const users = consumers.get(producer.name) ?? [];
    if (users.length !== 1 || users[0] !== s.name || producer.name === output) continue;
    fold(producer, s, batchNorms.get(s.name) ?? null, problems);
    removed.add(s.name);
    // The batch norm's consumers now read the folded layer.
    const moved = consumers.get(s.name) ?? [];
    consumers.set(producer.name, moved);
    for (const m of moved) {
      const user = byName.get(m)!;
      user.inputs = user.inputs.map((i) => (i === s.name ? producer.name : i));
    }
    if (output === s.name) output = producer.name;
  }
  return { layers: specs.filter((s) => !removed.has(s.name)), output };
}

function fold(layer: LinearSpec, bn: AffineSpec, coeffs: BnAffine | null, problems: string[]): void {
  const channels = layer.kind === 'conv2d' ? layer.wShape[0] : layer.wShape[1];
  if (bn.channels !== channels) return void problems.push(`layer ${bn.name} (${bn.className}): ${bn.channels} channels after ${layer.name}'s ${channels}`);
  const w = layer.weight;
  if (coeffs && w) {
    const folded = new Float32Array(w.length);
    // conv [Co, Ci, kh, kw]: channel-major; dense [in, out]: the channel is the column.
    const per = layer.kind === 'conv2d' ? w.length / channels : 1;
    for (let i = 0; i < w.length; i++) {
      const ch = layer.kind === 'conv2d' ? Math.floor(i / per) : i % channels;
      folded[i] = w[i]! * coeffs.scale[ch]!;
    }
    const bias = new Float32Array(channels);
    for (let ch = 0; ch < channels; ch++) bias[ch] = (layer.bias ? layer.bias[ch]! : 0) * coeffs.scale[ch]! + coeffs.shift[ch]!;
    layer.weight = folded;
    layer.bias = bias;
  } else {
    layer.weight = null;
    layer.bias = null;
  }
  layer.hasBias = true;
}

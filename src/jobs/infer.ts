/**
 * Secure inference of a saved model (`mpcnet infer`), run by every party:
 * the model owner (P0) shares the weights, the data owner (P1) shares the
 * images batch by batch, every party runs the same graph (P2 with
 * placeholders, online for the truncation ReLU), and only P1 learns the
 * predicted classes: P0 sends it its share of the logits, nobody else gets
 * anything. P0's and P2's outputs hold no prediction.
 */
import { revealTo, shareInput } from '../../protocols/sharing.js';
import { gatherNormalized } from '../data/normalization.js';
import { imageSize, limitSplit, loadDataset, type ImageDataset } from '../data/index.js';
import type { Context } from '../mpc/context.js';
import { snapshot, trafficSince } from '../mpc/traffic.js';
import { forward, shareParams } from '../nn/graph.js';
import { nhwcToNchw } from '../nn/layers/tensor-ops.js';
import { importModel } from '../nn/import-tfjs.js';
import type { Nonlinearity } from '../nn/nonlinearity.js';
import type { ModelSpec } from '../nn/spec.js';

export interface InferJob {
  kind: 'infer';
  model: string;
  dataset: string;
  /** Test images: a subset spread over the split (the embedded MNIST test split is ordered by class). */
  n: number;
  batch: number;
  nonlinearity: Nonlinearity;
  /** Input normalisation (per channel, on the [0, 1] pixel scale): from the manifest, or mean 0, std 1. */
  normalization: { mean: number[]; std: number[] };
}

const DATA_OWNER = 1;

export interface InferOutput {
  id: number;
  n: number;
  batches: number;
  /** Online seconds of each batch (sharing the batch included, weights excluded). */
  batchSeconds: number[];
  /** Seconds to share the weights. */
  weightSeconds: number;
  /**
   * Round clock of this party at the start of each batch and after each
   * layer ([batch][1 + layer]); the per-layer critical path is the advance
   * of the largest clock over all parties.
   */
  clocks: number[][];
  /** Online traffic of all batches (weights excluded). */
  bytesSent: number;
  bytesReceived: number;
  rounds: number;
  /** This party's peak resident memory (process.resourceUsage().maxRSS), bytes. */
  peakRssBytes: number;
  /** Data owner only: predicted classes, labels, correct count. Absent on P0 and P2. */
  predictions?: number[];
  labels?: number[];
  correct?: number;
  /** Data owner only, for tests and the experiment: the revealed logits of the first batch. */
  firstLogits?: number[];
}

/** The images a run uses: n spread over the test split. */
export function inferImages(d: ImageDataset, n: number): ImageDataset['test'] {
  if (!Number.isInteger(n) || n < 1 || n > d.test.count) throw new RangeError(`--n must be an integer in [1, ${d.test.count}] (test images of ${d.spec}), got ${n}`);
  return limitSplit(d.test, imageSize(d), n);
}


function argmaxRows(v: ArrayLike<number>, rows: number): number[] {
  const cols = v.length / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < cols; k++) if (v[r * cols + k]! > v[r * cols + best]!) best = k;
    out.push(best);
  }
  return out;
}

export async function infer(ctx: Context, job: InferJob): Promise<InferOutput> {
  const owner = ctx.ownsInput(0);
  const dataOwner = ctx.ownsInput(DATA_OWNER);
  const spec: ModelSpec = importModel(job.model, { weights: owner });
  const [c, h, w] = spec.inputShape.length === 3 ? (spec.inputShape as [number, number, number]) : [0, 0, 0];
  if (spec.inputShape.length !== 3) throw new Error(`${spec.source}: secure inference takes image models ([H, W, C] input), got input shape [${spec.inputShape.join(', ')}]`);
  const images = dataOwner ? loadDataset(job.dataset) : null;
  if (images && (images.height !== h || images.width !== w || images.channels !== c)) {
    throw new Error(`${job.dataset}: images are ${images.height}x${images.width}x${images.channels}, the model in ${job.model} takes ${h}x${w}x${c}`);
  }
  const split = images ? inferImages(images, job.n) : null;

  const t0 = performance.now();
  const params = shareParams(ctx, spec);
  const weightSeconds = (performance.now() - t0) / 1000;

  const before = ctx.isPlain ? null : snapshot(ctx.mesh);
  const batchSeconds: number[] = [];
  const clocks: number[][] = [];
  const predictions: number[] = [];
  let firstLogits: number[] | undefined;
  const batches = Math.ceil(job.n / job.batch);
  for (let b = 0; b < batches; b++) {
    const start = b * job.batch;
    const count = Math.min(job.batch, job.n - start);
    const tb = performance.now();
    let values: Float64Array | null = null;
    if (split) {
      const nhwc = new Float32Array(count * h * w * c);
      gatherNormalized(split, h * w * c, Array.from({ length: count }, (_, i) => start + i), job.normalization, nhwc);
      values = nhwcToNchw(nhwc, count, h, w, c);
    }
    const x = shareInput(ctx, DATA_OWNER, values, [count, c, h, w]);
    const clock = [ctx.rounds];
    clocks.push(clock);
    const logits = await forward(ctx, spec, params, x, job.nonlinearity, (i, t) => void (clock[i + 1] = t));
    const revealed = await revealTo(ctx, logits, DATA_OWNER);
    if (dataOwner) {
      predictions.push(...argmaxRows(revealed, count));
      if (b === 0) firstLogits = Array.from(revealed);
    }
    batchSeconds.push((performance.now() - tb) / 1000);
    ctx.progress({ message: `batch ${b + 1}/${batches}`, batch: b + 1, batches, images: start + count });
  }
  const t = before ? trafficSince(before, snapshot(ctx.mesh)) : null;
  const out: InferOutput = {
    id: ctx.id, n: job.n, batches, batchSeconds, weightSeconds, clocks,
    bytesSent: t?.bytesSent ?? 0, bytesReceived: t?.bytesReceived ?? 0, rounds: t?.rounds ?? 0,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  if (dataOwner && split) {
    const labels = Array.from(split.labels);
    out.predictions = predictions;
    out.labels = labels;
    out.correct = predictions.filter((p, i) => p === labels[i]).length;
    if (firstLogits) out.firstLogits = firstLogits;
  }
  return out;
}

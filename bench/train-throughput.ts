/**
 * Plaintext training and inference throughput (images/s) of the seed CNN and
 * ResNet-20 on 28x28x1 inputs, on every tfjs backend that starts here,
 * side by side. Training is the trainer's own step (forward, backward, SGD
 * with momentum and weight decay); inference is model.predict in inference
 * mode. Each figure is the median rate over five timed groups of steps
 * after two warm-up steps (one timed step where a step takes over half the
 * budget), one process, one thread for wasm. This VM's neighbours make runs
 * differ by up to 30%: rerun before trusting one figure.
 *
 *   node dist/bench/train-throughput.js [--backends wasm,cpu] [--models cnn,resnet20] [--seconds 3] [--json]
 */
import { median } from '../src/common/stats.js';
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { BACKEND_NAMES, selectBackend, type BackendName } from '../src/plain/backend.js';
import { buildModel, modelDefaults } from '../src/plain/models/index.js';
import { SgdMomentum } from '../src/plain/sgd.js';
import { trainableVariables, trainStep } from '../src/plain/train.js';

const argv = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
const asJson = argv.includes('--json');
const seconds = Number(option('seconds') ?? 3);
const backends = (option('backends')?.split(',') ?? [...BACKEND_NAMES]) as BackendName[];
const models = option('models')?.split(',') ?? ['cnn', 'resnet20'];

/**
 * Training batches are the trainer's defaults (modelDefaults: 32 for the CNN,
 * 128 for ResNet-20); inference batches 256 / 64. On cpu every batch is
 * divided by 8 so that a step takes seconds, not minutes (per-image cost
 * barely depends on the batch there).
 */
function batches(name: string, backend: BackendName): { train: number; infer: number } {
  const shrink = backend === 'cpu' ? 8 : 1;
  return { train: Math.max(1, modelDefaults(name).batchSize / shrink), infer: Math.max(1, (name === 'cnn' ? 256 : 64) / shrink) };
}

interface Rate {
  imagesPerSecond: number;
  batch: number;
  steps: number;
}

interface Row {
  backend: BackendName;
  available: boolean;
  detail: string;
  results: Record<string, { train?: Rate; infer?: Rate }>;
}


/** Runs `step` (one batch) after a warm-up until the time budget is spent; median rate of ~5 timed groups. */
async function rate(batch: number, step: () => Promise<void>): Promise<Rate> {
  // Two warm-up steps; the second (no one-time setup in it) sizes the timed groups.
  await step();
  const w0 = performance.now();
  await step();
  const warm = (performance.now() - w0) / 1000;
  // Slow backends (cpu: seconds per step) get one timed step after the warm-up.
  const groups = warm > seconds / 2 ? 1 : 5;
  const perGroup = Math.max(1, Math.floor(seconds / groups / Math.max(warm, 1e-3)));
  const rates: number[] = [];
  let steps = 0;
  const start = performance.now();
  for (let g = 0; g < groups; g++) {
    const t0 = performance.now();
    for (let i = 0; i < perGroup; i++) await step();
    steps += perGroup;
    rates.push((perGroup * batch) / ((performance.now() - t0) / 1000));
    if ((performance.now() - start) / 1000 > 2 * seconds && g >= 1) break;
  }
  return { imagesPerSecond: median(rates), batch, steps };
}

async function measureModel(name: string, backend: BackendName): Promise<{ train: Rate; infer: Rate }> {
  const { train: tb, infer: ib } = batches(name, backend);
  const model = buildModel({ name, inputShape: [28, 28, 1], numClasses: 10, activation: { kind: 'relu' }, seed: 1 });
  const sgd = new SgdMomentum(trainableVariables(model), 0.9, 5e-4);
  const x = tf.randomNormal([tb, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([tb], 0, 10, 'int32', 2), 10);
  const train = await rate(tb, async () => {
    await trainStep(model, sgd, x, y, 0.01);
  });
  const xi = tf.randomNormal([ib, 28, 28, 1], 0, 1, 'float32', 3);
  const infer = await rate(ib, async () => {
    const out = model.predict(xi) as tf.Tensor;
    await out.data();
    out.dispose();
  });
  sgd.dispose();
  tf.dispose([x, y, xi, ...model.weights.map((w) => w.read())]);
  return { train, infer };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const b of backends) {
    if (!BACKEND_NAMES.includes(b)) throw new Error(`unknown backend ${b}: use ${BACKEND_NAMES.join(', ')}`);
    let detail: string;
    try {
      detail = (await selectBackend(b)).detail;
    } catch (err) {
      rows.push({ backend: b, available: false, detail: (err as Error).message.replace(/^backend \S+ is not available: /, ''), results: {} });
      if (!asJson) process.stderr.write(`${b}: not available\n`);
      continue;
    }
    const row: Row = { backend: b, available: true, detail, results: {} };
    for (const m of models) {
      if (!asJson) process.stderr.write(`${b}: ${m} ...\n`);
      row.results[m] = await measureModel(m, b);
    }
    rows.push(row);
  }
  const machine = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
  if (asJson) {
    process.stdout.write(JSON.stringify({ machine, seconds, rows }, null, 2) + '\n');
    return;
  }
  const live = rows.filter((r) => r.available);
  const fmt = (r: Rate | undefined): string => {
    if (r === undefined) return '-';
    const v = r.imagesPerSecond;
    return `${v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2)} (b${r.batch})`;
  };
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lines = [
    `plaintext throughput, images/s (batch), 28x28x1 inputs; node ${machine.node}, ${machine.cpu}, ${machine.cores} cores`,
    '',
    [pad('model', 10), pad('work', 10), ...live.map((r) => pad(r.backend, 16))].join(''),
  ];
  for (const m of models) {
    for (const work of ['train', 'infer'] as const) {
      lines.push([pad(m, 10), pad(work, 10), ...live.map((r) => pad(fmt(r.results[m]?.[work]), 16))].join(''));
    }
  }
  lines.push('');
  for (const r of rows) lines.push(`${r.backend}: ${r.available ? r.detail : `not available (${r.detail})`}`);
  process.stdout.write(lines.join('\n') + '\n');
}

await main();

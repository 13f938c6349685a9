/**
 * `mpcnet demo`: the README's main job end to end, in about two minutes on
 * two cores. Trains the seed CNN on the embedded MNIST (the `mpcnet train
 * --model cnn --dataset mnist --epochs 5` settings) into OUT/cnn-mnist, or
 * reuses a finished model there; classifies n test images (spread over the
 * classes) under real 3-party MPC with the truncation ReLU at l_x 16, next
 * to the tfjs float accuracy on the same images; then, on fewer images,
 * bytes per image against accuracy for l_x 8, 12 and 16.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-write.js';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadDataset } from '../data/index.js';
import { MIXUP_ALPHA } from '../plain/mixup.js';
import { MANIFEST_FILE, readManifest } from '../plain/manifest.js';
import { MODEL_FILE, WEIGHTS_FILE } from '../plain/model-io.js';
import { markdownTable } from '../report/markdown.js';
import { floatAccuracy } from './experiment-lx.js';
import { inferJob, inferReport, type InferReport } from './infer.js';
import { trainFromArgs } from './train.js';

interface Args {
  out?: string;
  n?: number;
  sweepN?: number;
  quick: boolean;
  json: boolean;
}

/** What the demo trains: the README's main job, or (quick) one epoch on a few images. */
export interface DemoTraining {
  epochs: number;
  limitTrain?: number;
  limitTest?: number;
}

export const DEMO_LX = 16;
export const DEMO_SWEEP = [8, 12, 16] as const;
const FULL: DemoTraining = { epochs: 5 };
const QUICK: DemoTraining = { epochs: 1, limitTrain: 500, limitTest: 200 };

export interface DemoPoint {
  lx: number;
  n: number;
  accuracy: number;
  correct: number;
  secondsPerImage: number;
  /** All parties' online bytes (sent + received) per image, and per party. */
  bytesPerImage: number;
  bytesPerImageByParty: number[];
}

export interface DemoReport {
  command: string;
  date: string;
  model: string;
  /** 'trained' now, or 'reused' from an earlier run. */
  modelSource: 'trained' | 'reused';
  training: { epochs: number; seconds: number; trainCount: number; testAccuracy: number; testCount: number };
  n: number;
  plaintext: { accuracy: number; correct: number; backend: string };
  secure: DemoPoint & { seconds: number; weightSeconds: number; rounds: number[] };
  sweep: DemoPoint[];
  seconds: { train: number; plaintext: number; secure: number; sweep: number; total: number };
}

/** Why the model in `dir` is not a finished demo model (undefined: it is). */
export function unfinishedReason(dir: string, want: DemoTraining, fullTrainCount: number): string | undefined {
  for (const f of [MANIFEST_FILE, MODEL_FILE, WEIGHTS_FILE]) if (!existsSync(path.join(dir, f))) return `no ${f} in ${dir}`;
  let m;
  try {
    m = readManifest(dir);
  } catch (err) {
    return (err as Error).message;
  }
  if (m.model.name !== 'cnn' || m.dataset.spec !== 'mnist') return `${dir} holds ${m.model.name} on ${m.dataset.spec}, not cnn on mnist`;
  if (m.activation.kind !== 'relu') return `${dir} was trained with ${m.activation.kind} activations, not ReLU`;
  if (m.training.epochs !== want.epochs || m.metrics.epochs.length < want.epochs) return `${dir} has ${m.metrics.epochs.length} of ${m.training.epochs} epochs, the demo trains ${want.epochs}`;
  const trainCount = want.limitTrain ?? fullTrainCount;
  if (m.dataset.trainCount !== trainCount) return `${dir} was trained on ${m.dataset.trainCount} images, the demo uses ${trainCount}`;
  return undefined;
}

function demoPoint(r: InferReport): DemoPoint {
  const byParty = r.perParty.map((p) => p.bytesPerImage);
  return {
    lx: r.nonlinearity.kind === 'bicoptor' ? r.nonlinearity.lx : 0, n: r.n, accuracy: r.accuracy, correct: r.correct,
    secondsPerImage: r.secondsPerImage, bytesPerImage: byParty.reduce((s, b) => s + b, 0), bytesPerImageByParty: byParty,
  };
}

const plural = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const mb = (b: number): string => (b / 1e6).toFixed(2);
const secs = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)} min ${(s % 60).toFixed(0)} s` : `${s.toFixed(1)} s`);

export async function demoReport(a: Omit<Args, 'json'>, log: (line: string) => void): Promise<DemoReport> {
  const t0 = performance.now();
  const want = a.quick ? QUICK : FULL;
  const out = a.out ?? (a.quick ? path.join('out', 'demo-quick') : path.join('out', 'demo'));
  const n = a.n ?? (a.quick ? 20 : 500);
  const sweepN = a.sweepN ?? Math.min(n, a.quick ? 20 : 200);
  for (const [v, what] of [[n, '--n'], [sweepN, '--sweep-n']] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer (test images), got ${v}`);
  }
  const mnist = loadDataset('mnist');
  if (Math.max(n, sweepN) > mnist.test.count) throw new RangeError(`--n and --sweep-n must be at most ${mnist.test.count} (the embedded MNIST test split), got ${Math.max(n, sweepN)}`);
  const modelDir = path.join(out, 'cnn-mnist');

  log(`demo [1/4]: the seed CNN on the embedded MNIST in ${modelDir}`);
  const reason = unfinishedReason(modelDir, want, mnist.train.count);
  let source: DemoReport['modelSource'] = 'reused';
  if (reason === undefined) {
    log(`demo [1/4]: reusing the finished model (${plural(want.epochs, 'epoch')}); delete ${modelDir} to train again`);
  } else {
    log(`demo [1/4]: training (${reason}): mpcnet train --model cnn --dataset mnist --epochs ${want.epochs}`
      + `${want.limitTrain ? ` --limit-train ${want.limitTrain}` : ''}${want.limitTest ? ` --limit-test ${want.limitTest}` : ''} --out ${modelDir}`);
    await trainFromArgs({
      model: 'cnn', dataset: 'mnist', epochs: want.epochs, lrGamma: 0.1, momentum: 0.9, wd: 0, mixup: false, mixupAlpha: MIXUP_ALPHA,
      act: 'relu', seed: 1, out: modelDir, resume: false, backend: 'auto', limitTrain: want.limitTrain, limitTest: want.limitTest, progress: process.stderr.isTTY === true,
    }, (line) => log(`demo [1/4]: ${line}`), process.stderr.isTTY === true);
    source = 'trained';
  }
  const manifest = readManifest(modelDir);
  const tTrain = performance.now();

  const settings = { model: modelDir, parties: 3, relu: 'bicoptor' as const, skip: 0, batch: 64, fracBits: 16 };
  const { job } = inferJob({ ...settings, lx: DEMO_LX, n, emulate: false });
  log(`demo [2/4]: tfjs float accuracy on the same ${n} test images`);
  const plaintext = await floatAccuracy(job, mnist);
  log(`demo [2/4]: plaintext ${pct(plaintext.accuracy)} (${plaintext.correct}/${n})`);
  const tPlain = performance.now();

  log(`demo [3/4]: secure 3-party inference of ${n} images, truncation ReLU l_x ${DEMO_LX} (P0 holds the model, P1 the images, P2 helps; only P1 learns the classes)`);
  const secureReport = await inferReport({ ...settings, lx: DEMO_LX, n, emulate: false });
  const secure = { ...demoPoint(secureReport), seconds: secureReport.seconds, weightSeconds: secureReport.weightSeconds, rounds: secureReport.perParty.map((p) => p.rounds) };
  log(`demo [3/4]: secure ${pct(secure.accuracy)} (${secure.correct}/${n}), ${(secure.secondsPerImage * 1000).toFixed(1)} ms/image, ${mb(secure.bytesPerImage)} MB/image`);
  const tSecure = performance.now();

  const sweep: DemoPoint[] = [];
  for (const [i, lx] of DEMO_SWEEP.entries()) {
    log(`demo [4/4]: l_x ${lx} (${i + 1}/${DEMO_SWEEP.length}), ${sweepN} images`);
    const p = demoPoint(await inferReport({ ...settings, lx, n: sweepN, emulate: false }));
    sweep.push(p);
    log(`demo [4/4]: l_x ${lx}: ${pct(p.accuracy)}, ${mb(p.bytesPerImage)} MB/image, ${(p.secondsPerImage * 1000).toFixed(1)} ms/image`);
  }
  const tEnd = performance.now();
  return {
    command: ['mpcnet', ...process.argv.slice(2)].join(' '),
    date: new Date().toISOString(),
    model: modelDir,
    modelSource: source,
    training: {
      epochs: manifest.metrics.epochs.length, seconds: manifest.training.seconds, trainCount: manifest.dataset.trainCount,
      testAccuracy: manifest.metrics.testAccuracy, testCount: manifest.metrics.testCount,
    },
    n,
    plaintext,
    secure,
    sweep,
    seconds: { train: (tTrain - t0) / 1000, plaintext: (tPlain - tTrain) / 1000, secure: (tSecure - tPlain) / 1000, sweep: (tEnd - tSecure) / 1000, total: (tEnd - t0) / 1000 },
  };
}

export function demoText(r: DemoReport): string {
  const s = r.secure;
  const lines = [
    `mpcnet demo: the seed CNN on the embedded MNIST, ${r.modelSource === 'trained' ? `trained now (${plural(r.training.epochs, 'epoch')}, ${r.training.seconds.toFixed(1)} s)` : `reused (${plural(r.training.epochs, 'epoch')})`} in ${r.model}; `
      + `test accuracy ${pct(r.training.testAccuracy)} of ${r.training.testCount}`,
    `plaintext (tfjs float32) on ${r.n} test images: ${pct(r.plaintext.accuracy)} (${r.plaintext.correct}/${r.n})`,
    `secure (3 parties, truncation ReLU l_x ${s.lx}) on the same images: ${pct(s.accuracy)} (${s.correct}/${r.n}), ${s.seconds.toFixed(1)} s, `
      + `${(s.secondsPerImage * 1000).toFixed(1)} ms/image, ${mb(s.bytesPerImage)} MB/image over all parties (P0 / P1 / P2 ${s.bytesPerImageByParty.map(mb).join(' / ')}); only P1 learned the classes`,
    '',
    `bytes per image against accuracy (${r.sweep[0]?.n ?? 0} images):`,
    markdownTable(['l_x', 'accuracy', 'MB/image all', 'MB/image P0 / P1 / P2', 'ms/image'],
      r.sweep.map((p) => [p.lx, pct(p.accuracy), mb(p.bytesPerImage), p.bytesPerImageByParty.map(mb).join(' / '), (p.secondsPerImage * 1000).toFixed(1)]),
      ['right', 'right', 'right', 'right', 'right']),
    `total ${secs(r.seconds.total)} (model ${secs(r.seconds.train)}, plaintext ${secs(r.seconds.plaintext)}, secure ${secs(r.seconds.secure)}, l_x sweep ${secs(r.seconds.sweep)})`,
  ];
  return lines.join('\n') + '\n';
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'Train (or reuse) the seed CNN on MNIST, then classify test images under real 3-party MPC: accuracy, time and bytes per image',
  builder: (y: Argv) =>
    y
      .option('out', { type: 'string', describe: 'where the model (OUT/cnn-mnist) and demo.json / demo.md go (default out/demo; --quick: out/demo-quick)' })
      .option('n', { type: 'number', describe: 'test images classified under MPC at l_x 16 (default 500; --quick: 20)' })
      .option('sweep-n', { type: 'number', describe: 'test images per l_x of the 8 / 12 / 16 sweep (default min(n, 200); --quick: 20)' })
      .option('quick', { type: 'boolean', default: false, describe: 'one epoch on 500 training images and a few test images (for tests)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const r = await demoReport(argv, (line) => void process.stderr.write(`${line}\n`));
    const out = path.dirname(r.model);
    await mkdir(out, { recursive: true });
    writeFileAtomic(path.join(out, 'demo.json'), JSON.stringify(r, null, 2) + '\n');
    writeFileAtomic(path.join(out, 'demo.md'), `# mpcnet demo\n\nCommand: \`${r.command}\`; date ${r.date}.\n\n${demoText(r)}`);
    process.stdout.write(argv.json ? JSON.stringify(r, null, 2) + '\n' : demoText(r));
  },
};

/**
 * `mpcnet experiment lx`: the sturdy-PANN paper's Table 8 analog. For each
 * model and each l_x, accuracy of secure inference under real 3-party MPC
 * (truncation ReLU with an l_x-bit sign test) next to the plaintext
 * simulation (the same job in the plaintext context, whose sign decision is
 * the same reference drawing random shares), on the same n test images, and
 * the online bytes per image each l_x costs (all parties and per party).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { truncSignParams } from '../approx/truncation-sign.js';
import { loadDataset, type ImageDataset } from '../data/index.js';
import { inferImages, type InferJob } from '../jobs/infer.js';
import { importModel } from '../nn/import-tfjs.js';
import { selectBackend } from '../plain/backend.js';
import { evaluateAccuracy } from '../plain/evaluate.js';
import { loadModel } from '../plain/model-io.js';
import { checkSessionFracBits, DEFAULT_FRAC_BITS, MAX_SESSION_FRAC_BITS } from '../ring/fixed.js';
import { lxExperimentText, writeLxExperimentFiles, type LxExperimentReport, type LxModelResult, type LxPoint } from '../report/lx-experiment.js';
import { parseLxList } from './bench-relu.js';
import { inferJob, inferReport, type InferReport } from './infer.js';
import { machineInfo } from '../report/machine.js';

interface Args {
  models: string;
  lx: string;
  skip: number;
  n: number;
  batch: number;
  fracBits: number;
  float: boolean;
  json: boolean;
  out?: string;
}

export interface LxModelPlan {
  dir: string;
  label: string;
  /** The job at the first l_x (the others differ only in l_x). */
  job: InferJob;
}

export interface LxPlan {
  models: LxModelPlan[];
  lxs: number[];
}

/** Short, unique names: the directory's name, or more of its path where two share one. */
export function modelLabels(dirs: readonly string[]): string[] {
  const parts = dirs.map((d) => path.resolve(d).split(path.sep).filter(Boolean));
  const labels = parts.map((p) => p[p.length - 1] ?? '/');
  for (let depth = 2; depth <= 8; depth++) {
    const dup = labels.map((l) => labels.filter((x) => x === l).length > 1);
    if (!dup.some(Boolean)) return labels;
    dup.forEach((d, i) => { if (d) labels[i] = parts[i]!.slice(-depth).join('/'); });
  }
  return labels.map((l, i) => (labels.indexOf(l) === i ? l : `${l}#${i + 1}`));
}

const positiveInt = (v: number, what: string, means: string): void => {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer (${means}), got ${v}`);
};

/**
 * Every check, before any process starts; one clear error each: --n, --batch,
 * --skip, --frac-bits, every l_x (with the skip and f), and every model
 * (directory present, importable, its dataset has n test images of its shape).
 */
export function lxExperimentPlan(a: Pick<Args, 'models' | 'lx' | 'skip' | 'n' | 'batch' | 'fracBits'>): LxPlan {
  positiveInt(a.n, '--n', 'test images per run');
  positiveInt(a.batch, '--batch', 'images per batch');
  if (!Number.isInteger(a.skip) || a.skip < 0) throw new RangeError(`--skip must be a non-negative integer, got ${a.skip}`);
  checkSessionFracBits(a.fracBits, '--frac-bits');
  const lxs = parseLxList(String(a.lx));
  for (const lx of lxs) {
    try {
      truncSignParams({ lx, skip: a.skip, fracBits: a.fracBits });
    } catch (err) {
      throw new RangeError(`${a.skip === 0 ? `--lx ${lx}` : `--lx ${lx} with --skip ${a.skip}`}: ${(err as Error).message}`);
    }
  }
  const dirs = [...new Set(String(a.models ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => path.resolve(s)))];
  if (dirs.length === 0) throw new RangeError('--models: give one or more model directories, comma-separated');
  const datasets = new Map<string, ImageDataset>();
  const labels = modelLabels(dirs);
  const models = dirs.map((dir, i) => {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--models: ${dir}: no such directory`);
    let job: InferJob;
    try {
      ({ job } = inferJob({ model: dir, parties: 3, relu: 'bicoptor', lx: lxs[0]!, skip: a.skip, n: a.n, batch: a.batch, fracBits: a.fracBits, emulate: false }));
    } catch (err) {
      throw new Error(`--models ${dir}: ${(err as Error).message}`);
    }
    let d = datasets.get(job.dataset);
    if (!d) {
      d = loadDataset(job.dataset);
      datasets.set(job.dataset, d);
    }
    const [c, h, w] = importModel(dir, { weights: false }).inputShape;
    if (d.channels !== c || d.height !== h || d.width !== w) {
      throw new Error(`--models ${dir}: the model takes ${h}x${w}x${c} images, ${job.dataset}'s are ${d.height}x${d.width}x${d.channels}`);
    }
    inferImages(d, a.n);
    return { dir, label: labels[i]!, job };
  });
  return { models, lxs };
}

/** tfjs float32 accuracy of a saved model on exactly the images an infer job uses (same subset, same normalisation). */
export async function floatAccuracy(job: InferJob, dataset?: ImageDataset): Promise<{ accuracy: number; correct: number; backend: string }> {
  const backend = await selectBackend('auto');
  const d = dataset ?? loadDataset(job.dataset);
  const model = await loadModel(job.model);
  try {
    const r = await evaluateAccuracy(model, d, inferImages(d, job.n), { mean: job.normalization.mean, std: job.normalization.std });
    return { accuracy: r.accuracy, correct: r.correct, backend: backend.name };
  } finally {
    model.dispose();
  }
}

function point(lx: number, mpc: InferReport, sim: InferReport): LxPoint {
  const byParty = mpc.perParty.map((p) => p.bytesPerImage);
  return {
    lx,
    mpc: {
      accuracy: mpc.accuracy, correct: mpc.correct, seconds: mpc.seconds, secondsPerImage: mpc.secondsPerImage,
      bytesPerImage: byParty.reduce((s, b) => s + b, 0), bytesPerImageByParty: byParty,
      rounds: mpc.perParty.map((p) => p.rounds), weightSeconds: mpc.weightSeconds,
    },
    simulation: { accuracy: sim.accuracy, correct: sim.correct, seconds: sim.seconds, secondsPerImage: sim.secondsPerImage },
  };
}

function progressLine(m: LxModelPlan, p: LxPoint, i: number, of: number): string {
  return `experiment lx: ${m.label} lx ${p.lx} (${i}/${of}): MPC ${(p.mpc.accuracy * 100).toFixed(2)}%, simulation ${(p.simulation.accuracy * 100).toFixed(2)}%, `
    + `${(p.mpc.bytesPerImage / 1e6).toFixed(3)} MB/image (P0/P1/P2 ${p.mpc.bytesPerImageByParty.map((b) => (b / 1e6).toFixed(3)).join('/')}), `
    + `${(p.mpc.secondsPerImage * 1000).toFixed(1)} ms/image\n`;
}

export async function lxExperimentReport(a: Omit<Args, 'json' | 'out'>, log: (line: string) => void = () => {}): Promise<LxExperimentReport> {
  const plan = lxExperimentPlan(a);
  const models: LxModelResult[] = [];
  const total = plan.models.length * plan.lxs.length;
  let done = 0;
  for (const m of plan.models) {
    const result: LxModelResult = { label: m.label, dir: m.dir, dataset: m.job.dataset, points: [] };
    if (a.float) {
      try {
        result.float = await floatAccuracy(m.job);
        log(`experiment lx: ${m.label}: tfjs float accuracy ${(result.float.accuracy * 100).toFixed(2)}% on the same ${a.n} images\n`);
      } catch (err) {
        log(`experiment lx: ${m.label}: no tfjs float accuracy (${(err as Error).message})\n`);
      }
    }
    for (const lx of plan.lxs) {
      const common = { model: m.dir, relu: 'bicoptor' as const, lx, skip: a.skip, n: a.n, batch: a.batch, fracBits: a.fracBits, parties: 3 };
      log(`experiment lx: ${m.label} lx ${lx} (${done + 1}/${total}): 3-party MPC...\n`);
      const mpc = await inferReport({ ...common, emulate: false }, { progress: false });
      log(`experiment lx: ${m.label} lx ${lx} (${done + 1}/${total}): plaintext simulation...\n`);
      const sim = await inferReport({ ...common, emulate: true }, { progress: false });
      const p = point(lx, mpc, sim);
      result.points.push(p);
      log(progressLine(m, p, ++done, total));
    }
    models.push(result);
  }
  return {
    command: ['mpcnet', ...process.argv.slice(2)].join(' '),
    date: new Date().toISOString(),
    machine: machineInfo(),
    n: a.n, batch: a.batch, skip: a.skip, fracBits: a.fracBits, parties: 3, relu: 'bicoptor',
    lxs: plan.lxs,
    models,
  };
}

export const experimentLxCommand: CommandModule<object, Args> = {
  command: 'lx',
  describe: 'Accuracy under real 3-party MPC vs the plaintext simulation, and bytes per image, for each model and l_x (the sturdy-PANN Table 8 analog)',
  builder: (y: Argv) =>
    y
      .option('models', { type: 'string', demandOption: true, describe: 'model directories (model.json + weights.bin, manifest.json optional), comma-separated' })
      .option('lx', { type: 'string', demandOption: true, describe: 'bits of the sign test: a value, a range a..b (every even value), or a comma list' })
      .option('skip', { type: 'number', default: 0, describe: 'key bits skipped by the sign test' })
      .option('n', { type: 'number', demandOption: true, describe: 'test images per run (the same images for every model kind and l_x), spread over the split' })
      .option('batch', { type: 'number', default: 64, describe: 'images per batch' })
      .option('frac-bits', { type: 'number', default: DEFAULT_FRAC_BITS, describe: `fixed-point fractional bits f, 0 to ${MAX_SESSION_FRAC_BITS}` })
      .option('float', { type: 'boolean', default: true, describe: 'also the tfjs float32 accuracy on the same images (--no-float to skip)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('out', { type: 'string', describe: 'write lx-experiment.md, lx-experiment.json and lx-experiment.svg into this directory' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    lxExperimentPlan(argv);
    // Refuse an unusable --out before the runs, not after them.
    if (argv.out !== undefined) await mkdir(argv.out, { recursive: true });
    const report = await lxExperimentReport(argv, (line) => void process.stderr.write(line));
    process.stdout.write(argv.json ? JSON.stringify(report, null, 2) + '\n' : lxExperimentText(report));
    if (argv.out !== undefined) {
      const files = await writeLxExperimentFiles(report, argv.out);
      process.stderr.write(files.map((f) => `wrote ${f}`).join('\n') + '\n');
    }
  },
};


/**
 * `mpcnet experiment methods`: the PPoly seed's method comparison (Tables
 * 3-6): a learnable PPoly and fixed fits of Leaky ReLU, Swish and tanh by
 * regression, Taylor, Chebyshev and Lagrange, each with and without batch
 * norm, trained as `train --mpc` trains (real processes or --emulate) and in
 * plaintext tfjs. `experiment methods-cell` is the per-cell worker it spawns.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { BACKEND_NAMES, type BackendName } from '../plain/backend.js';
import { checkMethodsConfig, type MethodsConfig } from '../plain/methods/grid.js';
import { runMethods, type CellOutcome } from '../plain/methods/run.js';
import { methodsReport, writeMethodsFiles } from '../report/methods.js';
import { runMethodsCell } from './methods-cell.js';
import { TRAIN_MPC_DEFAULTS } from './train-mpc.js';

interface Args {
  dataset: string;
  epochs?: number;
  limitTrain?: number;
  limitTest?: number;
  batchSize?: number;
  lr: number;
  seed: number;
  degree: number;
  parties: number;
  emulate: boolean;
  logitBound?: number;
  backend: BackendName | 'auto';
  jobs?: number;
  out?: string;
  report?: string;
  quick: boolean;
  progress: boolean;
  json: boolean;
}

/**
 * --quick: every cell trains one batch of 16 images and tests on 16, and
 * each of the --jobs workers takes its share of the cells up front (a
 * process start would outweigh such a cell): the whole table in ~40 s.
 */
export const METHODS_QUICK = { epochs: 1, limitTrain: 16, limitTest: 16, batchSize: 16 } as const;
/** Defaults: the settings the README measured `train --mpc` with (one epoch, batch 128, lr 0.01). */
export const METHODS_DEFAULTS = { epochs: 1, batchSize: 128, lr: 0.01 } as const;

export function methodsConfigFromArgs(a: Omit<Args, 'jobs' | 'out' | 'report' | 'progress' | 'json'>): MethodsConfig {
  const q = a.quick ? METHODS_QUICK : undefined;
  const limitTrain = a.limitTrain ?? q?.limitTrain;
  const limitTest = a.limitTest ?? q?.limitTest;
  const c: MethodsConfig = {
    dataset: a.dataset,
    epochs: a.epochs ?? q?.epochs ?? METHODS_DEFAULTS.epochs,
    ...(limitTrain !== undefined ? { limitTrain } : {}),
    ...(limitTest !== undefined ? { limitTest } : {}),
    batchSize: a.batchSize ?? q?.batchSize ?? METHODS_DEFAULTS.batchSize,
    lr: a.lr,
    seed: a.seed,
    degree: a.degree,
    parties: a.parties as 2 | 3,
    emulate: a.emulate,
    // Resolved here, so a directory made under another default is refused rather than mixed.
    logitBound: a.logitBound ?? TRAIN_MPC_DEFAULTS.logitBound,
    backend: a.backend,
  };
  checkMethodsConfig(c);
  return c;
}

export const experimentMethodsCommand: CommandModule<object, Args> = {
  command: 'methods',
  describe: 'PPoly against fixed polynomial fits (Leaky ReLU / Swish / tanh x regression / Taylor / Chebyshev / Lagrange), with and without batch norm, trained under MPC and in plaintext (PPoly seed Tables 3-6)',
  builder: (y: Argv) =>
    y
      .option('dataset', { type: 'string', default: 'mnist', describe: 'mnist (embedded) | idx:DIR' })
      .option('epochs', { type: 'number', describe: `training epochs per cell (default ${METHODS_DEFAULTS.epochs})` })
      .option('limit-train', { type: 'number', describe: `train on N images spread over the split (default all; --quick: ${METHODS_QUICK.limitTrain})` })
      .option('limit-test', { type: 'number', describe: `test on N images spread over the split (default all; --quick: ${METHODS_QUICK.limitTest})` })
      .option('batch-size', { type: 'number', alias: 'batch', describe: `default ${METHODS_DEFAULTS.batchSize} (--quick: ${METHODS_QUICK.batchSize})` })
      .option('lr', { type: 'number', default: METHODS_DEFAULTS.lr, describe: 'learning rate (SGD, momentum 0.9, x0.1 at 50% and 75% of the epochs)' })
      .option('seed', { type: 'number', default: 1, describe: 'initial weights and shuffles (the same for MPC and plaintext)' })
      .option('degree', { type: 'number', default: 3, describe: 'degree of every polynomial (the seed\'s PPoly: 3)' })
      .option('parties', { type: 'number', default: 2, describe: 'MPC side: 2 (P2 deals) or 3 (P2 online helper)' })
      .option('logit-bound', { type: 'number', describe: `2 parties: the softmax's public bound on |logit| (train --mpc --logit-bound, default ${TRAIN_MPC_DEFAULTS.logitBound}); logits beyond it break the softmax` })
      .option('emulate', { type: 'boolean', default: false, describe: 'run each MPC job in the plaintext context (the identical code, one process, much faster)' })
      .option('backend', { type: 'string', choices: ['auto', ...BACKEND_NAMES], default: 'auto' as const, describe: 'tfjs backend of the plaintext reference' })
      .option('jobs', { type: 'number', describe: 'cells at once, each its own process (default: one per core with --emulate, else 1: a real cell already runs 3 processes)' })
      .option('out', { type: 'string', describe: 'directory of models, checkpoints and per-cell results (default out/methods-emulated or out/methods-2pc|3pc); rerun to resume' })
      .option('report', { type: 'string', describe: 'where methods.md and methods.json go (default: --out)' })
      .option('quick', { type: 'boolean', default: false, describe: `tiny cells for tests: ${METHODS_QUICK.limitTrain} training and ${METHODS_QUICK.limitTest} test images, batch ${METHODS_QUICK.batchSize}, ${METHODS_QUICK.epochs} epoch; each worker process takes a share of the cells` })
      .option('progress', { type: 'boolean', default: true, describe: 'progress bar on stderr when it is a terminal' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const config = methodsConfigFromArgs(argv);
    const out = argv.out ?? path.join('out', `methods-${config.emulate ? 'emulated' : `${config.parties}pc`}`);
    const reportDir = argv.report ?? out;
    mkdirSync(reportDir, { recursive: true });
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const jobs = argv.jobs ?? (config.emulate ? availableParallelism() : 1);
    const run = await runMethods(config, out, { jobs, log, progress: argv.progress && !argv.json, packCells: argv.quick });
    const report = methodsReport(run, ['mpcnet', ...process.argv.slice(2)].join(' '), TRAIN_MPC_DEFAULTS.logitBound);
    const files = await writeMethodsFiles(report, reportDir);
    log(files.map((f) => `wrote ${f}`).join('\n'));
    if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(`${report.cells.length} of ${run.cells.length} cells in ${path.join(reportDir, 'methods.md')} (this run ${(run.seconds / 60).toFixed(1)} min)\n`);
    if (run.failed.length) throw new Error(`${run.failed.length} of ${run.cells.length} cells failed (${run.failed.map((f) => `${f.id}: ${f.error}`).join('; ')}); rerun the same command to resume`);
  },
};

interface CellArgs {
  dir: string[];
  json: boolean;
}

export const experimentMethodsCellCommand: CommandModule<object, CellArgs> = {
  command: 'methods-cell',
  describe: false,
  builder: (y: Argv) =>
    y
      .option('dir', { type: 'string', array: true, demandOption: true, describe: 'cell directories prepared by experiment methods, run one after the other' })
      .option('json', { type: 'boolean', default: false }) as unknown as Argv<CellArgs>,
  handler: async (argv: ArgumentsCamelCase<CellArgs>) => {
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const acc = (v: number | null): string => (v === null ? 'none' : `${(v * 100).toFixed(2)}%`);
    const outcomes: CellOutcome[] = [];
    // A failing cell does not stop the others this worker holds: the runner records it and a rerun retries it.
    for (const dir of argv.dir) {
      const t0 = performance.now();
      const id = path.basename(dir);
      try {
        const r = await runMethodsCell(dir, argv.dir.length > 1 ? (line) => log(`[${id}] ${line}`) : log);
        outcomes.push({ id, ok: true, seconds: r.seconds });
        log(`cell ${id}: MPC ${acc(r.mpc.testAccuracy)} (${r.mpc.status}), plaintext ${acc(r.plain.testAccuracy)} (${r.plain.status}), ${r.seconds.toFixed(1)} s`);
      } catch (err) {
        outcomes.push({ id, ok: false, error: (err as Error).message, seconds: (performance.now() - t0) / 1000 });
        log(`cell ${id}: FAILED: ${(err as Error).message}`);
      }
    }
    process.stdout.write(argv.json ? JSON.stringify(outcomes) + '\n' : outcomes.map((o) => `${o.id}: ${o.ok ? 'done' : `failed (${o.error})`}`).join('\n') + '\n');
  },
};

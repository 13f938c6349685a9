/**
 * `mpcnet experiment sturdiness`: the sturdy-PANN seed's training grid
 * ({vanilla, Mixup, NGNV, Mixup+NGNV} x weight decay) evaluated as PANNs and
 * with the truncation ReLU, with tables, plots and the seed's findings
 * checked. `experiment sturdiness-cell` is the per-cell worker it spawns.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { SIGN_TABLE } from '../approx/minimax-sign.js';
import { BACKEND_NAMES, type BackendName } from '../plain/backend.js';
import { runCell } from '../plain/sturdiness/cell.js';
import { checkGridConfig, parseMethods, parseNgnvPair, parseWeightDecays, STURDY_METHODS, type GridConfig } from '../plain/sturdiness/grid.js';
import { runGrid } from '../plain/sturdiness/run.js';
import { sturdinessReport, writeSturdinessFiles, type SturdinessReport } from '../report/sturdiness.js';
import { parseIntList } from './int-lists.js';

interface Args {
  model: string;
  dataset: string;
  epochs?: number;
  limitTrain?: number;
  n?: number;
  batchSize?: number;
  lr?: number;
  seed: number;
  methods: string;
  wds: string;
  alpha: string;
  lx: string;
  bound: string;
  ngnv?: string;
  ngnvMixup?: string;
  backend: BackendName | 'auto';
  jobs?: number;
  out?: string;
  report?: string;
  quick: boolean;
  progress: boolean;
  json: boolean;
}

/** --quick: a grid small enough for the test suite (every cell trains one epoch on 512 images, evaluates on 200). */
export const QUICK = { epochs: 1, limitTrain: 512, evalN: 200 } as const;
export const DEFAULT_EPOCHS = 20;

export function gridConfigFromArgs(a: Omit<Args, 'jobs' | 'out' | 'report' | 'progress' | 'json'>): GridConfig {
  const alphas = parseIntList(a.alpha, 'alpha');
  const badAlpha = alphas.find((v) => SIGN_TABLE[v] === undefined);
  if (badAlpha !== undefined) throw new RangeError(`--alpha ${badAlpha} is outside the sign table (${Object.keys(SIGN_TABLE).join(', ')})`);
  const lxs = parseIntList(a.lx, 'lx', 'even');
  const odd = lxs.find((v) => v % 2 !== 0);
  if (odd !== undefined) throw new RangeError(`--lx ${odd} is odd: l_x gives l_x/2 bits to the integer part and l_x/2 to the fraction`);
  const bound = a.bound === 'auto' ? 'auto' : Number(a.bound);
  const limitTrain = a.limitTrain ?? (a.quick ? QUICK.limitTrain : undefined);
  const evalN = a.n ?? (a.quick ? QUICK.evalN : undefined);
  const c: GridConfig = {
    model: a.model,
    dataset: a.dataset,
    epochs: a.epochs ?? (a.quick ? QUICK.epochs : DEFAULT_EPOCHS),
    ...(limitTrain !== undefined ? { limitTrain } : {}),
    ...(evalN !== undefined ? { evalN } : {}),
    ...(a.batchSize !== undefined ? { batchSize: a.batchSize } : {}),
    ...(a.lr !== undefined ? { lr: a.lr } : {}),
    seed: a.seed,
    methods: parseMethods(a.methods),
    weightDecays: parseWeightDecays(a.wds),
    alphas,
    lxs,
    bound,
    ...(a.ngnv !== undefined ? { ngnv: parseNgnvPair(a.ngnv, 'ngnv') } : {}),
    ...(a.ngnvMixup !== undefined ? { ngnvMixup: parseNgnvPair(a.ngnvMixup, 'ngnv-mixup') } : {}),
    backend: a.backend,
  };
  checkGridConfig(c);
  return c;
}

export function defaultGridOut(c: GridConfig): string {
  return path.join('out', `sturdiness-${c.model}-${c.dataset.split(':')[0]}`);
}

export const experimentSturdinessCommand: CommandModule<object, Args> = {
  command: 'sturdiness',
  describe: 'Train the sturdy-PANN grid (vanilla / Mixup / NGNV / Mixup+NGNV x weight decay) and evaluate each model at 2^-alpha and l_x (seed Tables 2 and 8)',
  builder: (y: Argv) =>
    y
      .option('model', { type: 'string', default: 'resnet20', describe: 'backbone: cnn | resnet20 | resnet32 | resnet44 | resnet56 | vgg' })
      .option('dataset', { type: 'string', default: 'mnist', describe: 'mnist (embedded) | idx:DIR (e.g. idx:/usr/share/datasets/fashion-mnist) | cifar10:DIR' })
      .option('epochs', { type: 'number', describe: `training epochs per cell (default ${DEFAULT_EPOCHS}; --quick: ${QUICK.epochs})` })
      .option('limit-train', { type: 'number', describe: `train on N images spread over the split (default all; --quick: ${QUICK.limitTrain})` })
      .option('n', { type: 'number', describe: `test images for every accuracy, spread over the classes (default all; --quick: ${QUICK.evalN})` })
      .option('batch-size', { type: 'number', describe: 'default: the model\'s (32 cnn, 128 others)' })
      .option('lr', { type: 'number', describe: 'initial learning rate (default: the model\'s)' })
      .option('seed', { type: 'number', default: 1 })
      .option('methods', { type: 'string', default: STURDY_METHODS.join(','), describe: 'methods of the grid, comma-separated' })
      .option('wds', { type: 'string', default: '0,1e-4,5e-4', describe: 'weight decays of the grid, comma-separated' })
      .option('alpha', { type: 'string', default: '7..12', describe: 'minimax precisions 2^-alpha to evaluate' })
      .option('lx', { type: 'string', default: '6..16', describe: 'truncation ReLU sign-test bits to evaluate (even)' })
      .option('bound', { type: 'string', default: 'auto', describe: 'minimax range B for every model, or auto (each model calibrated on 256 training images)' })
      .option('ngnv', { type: 'string', describe: 'NGNV r,lambda for every weight decay (default: the seed\'s Table 11, ResNet-20 row)' })
      .option('ngnv-mixup', { type: 'string', describe: 'Mixup+NGNV r,lambda for every weight decay (default: Table 11)' })
      .option('backend', { type: 'string', choices: ['auto', ...BACKEND_NAMES], default: 'auto' as const })
      .option('jobs', { type: 'number', describe: 'cells trained at once, each its own process (default: one per core)' })
      .option('out', { type: 'string', describe: 'grid directory: models, checkpoints, per-cell results (default out/sturdiness-MODEL-DATASET); rerun to resume' })
      .option('report', { type: 'string', describe: 'where sturdiness.md / .json / -alpha.svg / -lx.svg go (default: --out)' })
      .option('quick', { type: 'boolean', default: false, describe: `a tiny grid for tests: ${QUICK.epochs} epoch, ${QUICK.limitTrain} training and ${QUICK.evalN} test images` })
      .option('progress', { type: 'boolean', default: true, describe: 'progress bar on stderr when it is a terminal' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const config = gridConfigFromArgs(argv);
    const out = argv.out ?? defaultGridOut(config);
    const reportDir = argv.report ?? out;
    mkdirSync(reportDir, { recursive: true });
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const run = await runGrid(config, out, { jobs: argv.jobs, log, progress: argv.progress && !argv.json });
    const report: SturdinessReport = sturdinessReport(run, ['mpcnet', ...process.argv.slice(2)].join(' '));
    const files = await writeSturdinessFiles(report, reportDir);
    log(files.map((f) => `wrote ${f}`).join('\n'));
    if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      for (const f of report.findings) process.stdout.write(`${f.verdict}: ${f.claim}\n  ${f.evidence}\n`);
      process.stdout.write(`${report.cells.length} of ${run.cells.length} cells in ${path.join(reportDir, 'sturdiness.md')} (this run ${(run.seconds / 60).toFixed(1)} min)\n`);
    }
    if (run.failed.length) throw new Error(`${run.failed.length} of ${run.cells.length} cells failed (${run.failed.map((f) => `${f.id}: ${f.error}`).join('; ')}); rerun the same command to resume`);
  },
};

interface CellArgs {
  dir: string;
  json: boolean;
}

export const experimentSturdinessCellCommand: CommandModule<object, CellArgs> = {
  command: 'sturdiness-cell',
  describe: false,
  builder: (y: Argv) =>
    y
      .option('dir', { type: 'string', demandOption: true, describe: 'cell directory prepared by experiment sturdiness' })
      .option('json', { type: 'boolean', default: false }) as unknown as Argv<CellArgs>,
  handler: async (argv: ArgumentsCamelCase<CellArgs>) => {
    const r = await runCell(argv.dir, (line) => void process.stderr.write(`${line}\n`));
    process.stdout.write(argv.json ? JSON.stringify(r) + '\n' : `${r.id}: backbone ${(r.backbone * 100).toFixed(2)}%\n`);
  },
};

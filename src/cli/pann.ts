/**
 * `mpcnet pann`: what an MPC approximation of ReLU does to a trained
 * backbone's accuracy, in plaintext (no cryptography): minimax AppReLU (and
 * AppMax for max pooling), the truncation ReLU's sign decision, or a
 * low-degree polynomial fit.
 */
import { parseIntList } from './int-lists.js';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFileAtomic, writeJsonAtomic } from '../common/atomic-write.js';
import path from 'node:path';
import { FIT_METHODS, type FitMethod } from '../approx/fits.js';
import { SIGN_TABLE } from '../approx/minimax-sign.js';
import { BACKEND_NAMES, describeBackend, selectBackend, type BackendName } from '../plain/backend.js';
import { MODEL_FILE } from '../plain/model-io.js';
import { CALIBRATION_IMAGES, evaluatePann, type PannApprox, type PannReport } from '../plain/pann/index.js';

interface Args {
  model: string;
  approx: string;
  alpha?: string;
  bound?: string;
  lx?: string;
  skip?: number;
  fracBits?: number;
  seed?: number;
  method?: string;
  degree?: string;
  interval?: string;
  n?: number;
  backend: BackendName | 'auto';
  json: boolean;
  out?: string;
}


function parseBound(text: string | undefined): number | 'auto' {
  if (text === undefined || text === 'auto') return 'auto';
  const b = Number(text);
  if (!(b > 0) || !Number.isFinite(b)) throw new Error(`--bound must be a number > 0 or auto, got "${text}"`);
  return b;
}

function parseInterval(text: string | undefined): [number, number] | 'auto' {
  if (text === undefined || text === 'auto') return 'auto';
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0]! < parts[1]!)) throw new Error(`--interval must be lo,hi with lo < hi, or auto, got "${text}"`);
  return [parts[0]!, parts[1]!];
}

/** The settings to evaluate, validated (one-line errors). */
export function approxesFromArgs(a: Pick<Args, 'approx' | 'alpha' | 'bound' | 'lx' | 'skip' | 'fracBits' | 'seed' | 'method' | 'degree' | 'interval'>): PannApprox[] {
  switch (a.approx) {
    case 'minimax': {
      const alphas = parseIntList(a.alpha ?? '10', 'alpha');
      const table = Object.keys(SIGN_TABLE).map(Number);
      const bad = alphas.find((v) => SIGN_TABLE[v] === undefined);
      if (bad !== undefined) throw new Error(`--alpha ${bad} is outside the sign table (${table[0]}..${table[table.length - 1]})`);
      const bound = parseBound(a.bound);
      return alphas.map((alpha) => ({ kind: 'minimax', alpha, bound }));
    }
    case 'truncation': {
      const lxs = parseIntList(a.lx ?? '6..16', 'lx', 'even');
      const odd = lxs.find((v) => v % 2 !== 0);
      if (odd !== undefined) throw new Error(`--lx ${odd} is odd: lx gives lx/2 bits to the integer part and lx/2 to the fraction`);
      const skip = a.skip ?? 0;
      return lxs.map((lx) => ({ kind: 'truncation', lx, skip, ...(a.fracBits !== undefined ? { fracBits: a.fracBits } : {}), ...(a.seed !== undefined ? { seed: a.seed } : {}) }));
    }
    case 'poly': {
      const method = a.method ?? 'lstsq';
      if (!(FIT_METHODS as readonly string[]).includes(method)) throw new Error(`--method must be one of ${FIT_METHODS.join(', ')}, got "${method}"`);
      const degrees = parseIntList(a.degree ?? '2', 'degree');
      const badDegree = degrees.find((d) => d < 1 || d > 32);
      if (badDegree !== undefined) throw new Error(`--degree must be in 1..32, got ${badDegree}`);
      const interval = parseInterval(a.interval);
      return degrees.map((degree) => ({ kind: 'poly', method: method as FitMethod, degree, interval }));
    }
    default:
      throw new Error(`unknown approximation "${a.approx}": use minimax, truncation or poly`);
  }
}

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

function outOfRange(r: PannReport['results'][number]): string {
  if (r.total === 0) return '0';
  const per = r.sites.filter((s) => s.outside > 0).map((s) => `${s.layer} ${s.outside}`);
  return `${r.outside} / ${r.total}${per.length ? ` (${per.join(', ')})` : ''}`;
}

export function pannTable(r: PannReport): string {
  const rows = r.results.map((x) => [x.setting, pct(x.accuracy), pct(r.backboneAccuracy), outOfRange(x), `${x.seconds.toFixed(1)} s`]);
  const head = ['approximation', 'accuracy', 'backbone', 'out of range', 'time'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function markdown(r: PannReport): string {
  const lines = [
    `# PANN evaluation: ${r.model}`,
    '',
    `Dataset ${r.dataset}, ${r.n} test images; backbone (float ReLU) accuracy ${pct(r.backboneAccuracy)}.`,
  ];
  if (r.calibration) lines.push('', `--bound auto: B = ${r.calibration.bound.toPrecision(5)}, the largest |input| of any ReLU / max-pooling site over ${r.calibration.images} training images spread over the training split.`);
  lines.push('', '| approximation | accuracy | backbone | out of range | time |', '|---|---|---|---|---|');
  for (const x of r.results) lines.push(`| ${x.setting} | ${pct(x.accuracy)} | ${pct(r.backboneAccuracy)} | ${outOfRange(x)} | ${x.seconds.toFixed(1)} s |`);
  return lines.join('\n') + '\n';
}

export const pannCommand: CommandModule<object, Args> = {
  command: 'pann',
  describe: 'Accuracy of a trained backbone with its ReLUs approximated (minimax, truncation, polynomial), in plaintext',
  builder: (y: Argv) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'directory written by mpcnet train' })
      .option('approx', { type: 'string', demandOption: true, describe: 'minimax | truncation | poly' })
      .option('alpha', { type: 'string', describe: 'minimax precision: 7..14 (every value), a comma list or one value (default 10)' })
      .option('bound', { type: 'string', describe: `minimax input range B, or auto: max |ReLU input| over ${CALIBRATION_IMAGES} training images (default auto)` })
      .option('lx', { type: 'string', describe: 'truncation sign-test bits: 6..16 (every even value), a comma list or one value (default 6..16)' })
      .option('skip', { type: 'number', describe: 'truncation: key bits skipped (default 0)' })
      .option('frac-bits', { type: 'number', describe: 'truncation: fixed-point fractional bits of the input (default 16)' })
      .option('seed', { type: 'number', describe: 'truncation: seed of the simulated shares and flips (default 1)' })
      .option('method', { type: 'string', describe: `poly: fit method, ${FIT_METHODS.join(' | ')} (default lstsq)` })
      .option('degree', { type: 'string', describe: 'poly: degree(s), like --alpha (default 2)' })
      .option('interval', { type: 'string', describe: 'poly: fit interval lo,hi, or auto: [-B, B] from calibration (default auto)' })
      .option('n', { type: 'number', describe: 'test images, spread over the classes (default: all)' })
      .option('backend', { type: 'string', choices: ['auto', ...BACKEND_NAMES], default: 'auto' as const })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('out', { type: 'string', describe: 'write pann.json and pann.md here' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const approxes = approxesFromArgs(argv);
    if (!existsSync(path.join(argv.model, MODEL_FILE))) throw new Error(`--model ${argv.model}: no ${MODEL_FILE} there (give a directory written by mpcnet train)`);
    if (argv.n !== undefined && (!Number.isInteger(argv.n) || argv.n < 1)) throw new Error(`--n must be a positive integer, got ${argv.n}`);
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const backend = await selectBackend(argv.backend);
    log(`backend: ${describeBackend(backend)}`);
    const report = await evaluatePann({ model: argv.model, approxes, n: argv.n, log });
    if (argv.out) {
      mkdirSync(argv.out, { recursive: true });
      writeJsonAtomic(path.join(argv.out, 'pann.json'), report);
      writeFileAtomic(path.join(argv.out, 'pann.md'), markdown(report));
    }
    if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(`${pannTable(report)}\n`);
  },
};

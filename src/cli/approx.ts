/** `mpcnet approx`: minimax composite sign / AppReLU stages, low-degree fits, the alpha table and Figure 6. */
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-write.js';
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import {
  ACTIVATIONS,
  alphaTable,
  evaluate,
  FIT_METHODS,
  fit,
  linspace,
  measureReluError,
  minimaxSign,
  reluDegree3Fits,
  TABLE_PATHS,
  pathName,
  type ActivationName,
  type Fit,
  type FitMethod,
  type FitOptions,
  type NodeKind,
} from '../approx/index.js';
import { markdownTable, sci } from '../report/markdown.js';
import { lineChartSvg } from '../report/svg-plot.js';

function parseDegrees(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  const parts = s.split(',').map((p) => p.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((d) => !Number.isFinite(d))) throw new Error(`--degrees must be a comma-separated list of odd degrees, got '${s}'`);
  return out;
}

// ---------------------------------------------------------------- minimax

interface MinimaxArgs {
  alpha: number;
  zeta?: number;
  degrees?: string;
  json: boolean;
}

export interface MinimaxReport {
  alpha: number;
  zeta: number;
  eps: number;
  stages: {
    degree: number;
    interval: [number, number];
    /** tau_i. */
    error: number;
    /** Power-basis coefficients of x^1, x^3, ..., x^degree. */
    coefficients: number[];
    /** Coefficients of T_1, T_3, ... of x / chebyshevScale (the form to evaluate in float32). */
    chebyshevCoefficients: number[];
    chebyshevScale: number;
    iterations: number;
    levelSpread: number;
    converged: boolean;
  }[];
  /** tau_k. */
  tau: number;
  /** max |r_alpha - ReLU| on [-1, 1], dense grid, float64. */
  reluMaxError: number;
  /** The same through the float32 Clenshaw path. */
  reluMaxErrorFloat32: number;
  /** 2^-alpha. */
  bound: number;
}

export function minimaxReport(args: { alpha: number; zeta?: number; degrees?: number[] }): MinimaxReport {
  const opts: Parameters<typeof minimaxSign>[0] = { alpha: args.alpha };
  if (args.zeta !== undefined) opts.zeta = args.zeta;
  if (args.degrees !== undefined) opts.degrees = args.degrees;
  const sign = minimaxSign(opts);
  return {
    alpha: sign.alpha,
    zeta: sign.zeta,
    eps: sign.eps,
    stages: sign.stages.map((s) => ({
      degree: s.degree,
      interval: [s.interval[0], s.interval[1]],
      error: s.error,
      coefficients: s.powerOdd,
      chebyshevCoefficients: s.chebyshevOdd,
      chebyshevScale: s.scale,
      iterations: s.iterations,
      levelSpread: s.levelSpread,
      converged: s.converged,
    })),
    tau: sign.error,
    reluMaxError: measureReluError(sign, { basis: 'chebyshev', precision: 'float64' }).max,
    reluMaxErrorFloat32: measureReluError(sign, { basis: 'chebyshev', precision: 'float32' }).max,
    bound: 2 ** -sign.alpha,
  };
}

function printMinimax(r: MinimaxReport): void {
  const lines = [`minimax composite sign p_alpha: alpha ${r.alpha}, zeta ${r.zeta}, eps = zeta 2^-alpha = ${sci(r.eps, 4)}`];
  r.stages.forEach((s, i) => {
    lines.push(
      `stage ${i + 1}: degree ${s.degree} on [${s.interval[0].toPrecision(7)}, ${s.interval[1].toPrecision(7)}], tau = ${sci(s.error, 5)}` +
        ` (Remez: ${s.iterations} iterations, level spread ${sci(s.levelSpread, 1)}${s.converged ? '' : ', NOT CONVERGED'})`,
    );
  });
  lines.push(`tau_k = ${sci(r.tau, 5)} (need <= 2^-(alpha-1) = ${sci(2 * r.bound)})`);
  lines.push(`max |r_alpha - ReLU| on [-1, 1]: float64 ${sci(r.reluMaxError)}, float32 Clenshaw ${sci(r.reluMaxErrorFloat32)} (bound 2^-${r.alpha} = ${sci(r.bound)})`);
  process.stdout.write(lines.join('\n') + '\n');
}

const minimaxCommand: CommandModule<object, MinimaxArgs> = {
  command: 'minimax',
  describe: 'Build the minimax composite sign p_alpha (Remez per stage) and measure AppReLU r_alpha',
  builder: (y: Argv) =>
    y
      .option('alpha', { type: 'number', demandOption: true, describe: 'precision parameter: r_alpha within 2^-alpha of ReLU on [-1, 1] (table: 4..14)' })
      .option('zeta', { type: 'number', describe: 'max-function factor (default: the seed table)' })
      .option('degrees', { type: 'string', describe: 'stage degrees, e.g. 7,7,27 (default: the seed table)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<MinimaxArgs>,
  handler: async (argv: ArgumentsCamelCase<MinimaxArgs>) => {
    const args: { alpha: number; zeta?: number; degrees?: number[] } = { alpha: argv.alpha };
    if (argv.zeta !== undefined) args.zeta = argv.zeta;
    const degrees = parseDegrees(argv.degrees);
    if (degrees) args.degrees = degrees;
    const r = minimaxReport(args);
    if (argv.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else printMinimax(r);
  },
};

// ---------------------------------------------------------------- fit

interface FitArgs {
  fn: ActivationName;
  method: FitMethod;
  degree: number;
  slope: number;
  lo?: number;
  hi?: number;
  sampling: 'uniform' | 'normal';
  mu: number;
  sigma: number;
  samples: number;
  seed: number;
  at: number;
  scale?: number;
  nodes: NodeKind;
  json: boolean;
}

function printFit(f: Fit): void {
  const basis = f.basis === 'chebyshev' ? `Chebyshev T_k(u), u = (2x - ${f.domain![0]} - ${f.domain![1]}) / (${f.domain![1]} - ${f.domain![0]})` : 'power x^k';
  const lines = [
    `${f.method} fit of ${f.fn}, degree ${f.degree}, on [${+f.interval[0].toPrecision(12)}, ${+f.interval[1].toPrecision(12)}]`,
    `basis: ${basis}`,
    ...f.coefficients.map((c, k) => `  c${k} = ${c.toPrecision(10)}`),
    ...(f.nodes ? [`nodes: ${f.nodes.map((x) => x.toPrecision(6)).join(', ')}`] : []),
    `error on the interval: max ${sci(f.error.max)}, mean ${sci(f.error.mean)}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

const fitCommand: CommandModule<object, FitArgs> = {
  command: 'fit',
  describe: 'Fit an activation by least squares, Taylor, Chebyshev or Lagrange interpolation',
  builder: (y: Argv) =>
    y
      .option('fn', { type: 'string', choices: ACTIVATIONS, demandOption: true, describe: 'function to approximate' })
      .option('method', { type: 'string', choices: FIT_METHODS, demandOption: true, describe: 'lstsq | taylor | chebyshev | lagrange' })
      .option('degree', { type: 'number', demandOption: true, describe: 'polynomial degree (>= 1)' })
      .option('slope', { type: 'number', default: 0.01, describe: 'leaky-relu slope for x < 0' })
      .option('lo', { type: 'number', describe: 'interval start (default -1): lstsq uniform range, interpolation interval, where errors are measured' })
      .option('hi', { type: 'number', describe: 'interval end (default 1)' })
      .option('sampling', { type: 'string', choices: ['uniform', 'normal'] as const, default: 'uniform' as const, describe: 'lstsq samples: uniform on [lo, hi] or N(mu, sigma^2)' })
      .option('mu', { type: 'number', default: 0, describe: 'normal sampling mean' })
      .option('sigma', { type: 'number', default: 1, describe: 'normal sampling standard deviation' })
      .option('samples', { type: 'number', default: 10000, describe: 'lstsq sample count' })
      .option('seed', { type: 'number', default: 1, describe: 'lstsq sample seed' })
      .option('at', { type: 'number', default: 0, describe: 'Taylor expansion point' })
      .option('scale', { type: 'number', describe: 'Taylor: estimate derivatives from samples in [at - scale, at + scale] (needed for relu at 0)' })
      .option('nodes', { type: 'string', choices: ['chebyshev', 'equidistant'] as const, default: 'chebyshev' as const, describe: 'Lagrange nodes' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<FitArgs>,
  handler: async (argv: ArgumentsCamelCase<FitArgs>) => {
    const opts: FitOptions = {
      method: argv.method,
      degree: argv.degree,
      slope: argv.slope,
      sampling: argv.sampling,
      mu: argv.mu,
      sigma: argv.sigma,
      samples: argv.samples,
      seed: argv.seed,
      at: argv.at,
      nodes: argv.nodes,
    };
    if (argv.lo !== undefined || argv.hi !== undefined) opts.interval = [argv.lo ?? -1, argv.hi ?? 1];
    if (argv.scale !== undefined) opts.scale = argv.scale;
    const f = fit(argv.fn, opts);
    if (argv.json) process.stdout.write(JSON.stringify(f, null, 2) + '\n');
    else printFit(f);
  },
};

// ---------------------------------------------------------------- table

const FIGURE_NAMES: Record<FitMethod, string> = {
  lstsq: 'least squares (uniform)',
  taylor: 'Taylor (SciPy estimate, scale 1)',
  chebyshev: 'Chebyshev interpolation',
  lagrange: 'Lagrange (equidistant)',
};

interface TableArgs {
  out: string;
}

export async function writeApproxTable(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const rows = alphaTable();
  const names = TABLE_PATHS.map(pathName);
  const header = ['alpha', 'zeta', 'degrees', 'tau per stage', 'tau_k', '2^-alpha', ...names.map((n) => `reluMaxError ${n}`)];
  const body = rows.map((r) => [
    r.alpha,
    r.zeta,
    r.degrees.join(', '),
    r.taus.map((t) => sci(t)).join(', '),
    sci(r.taus[r.taus.length - 1]!),
    sci(r.bound),
    ...names.map((n) => {
      const e = r.reluMaxError[n]!;
      return `${sci(e)}${e <= r.bound ? '' : ' (over)'}`;
    }),
  ]);
  const fits = reluDegree3Fits();
  const fitRows = fits.map((f) => [FIGURE_NAMES[f.method], f.basis, f.coefficients.map((c) => c.toPrecision(5)).join(', '), sci(f.error.max), sci(f.error.mean)]);
  const md = [
    '# Minimax composite AppReLU: error by alpha',
    '',
    'r_alpha(x) = (x + x p_alpha(x)) / 2 with p_alpha the minimax composite sign (seed Table 1 degrees and zeta).',
    'reluMaxError = max |r_alpha - ReLU| on a dense grid of [-1, 1]; "(over)" marks a path that misses the 2^-alpha bound.',
    'Safe paths: float64 (Clenshaw or Horner) and float32 Clenshaw; float32 Horner on the power-basis coefficients and',
    'fixed point with too few fractional bits are shown for contrast.',
    '',
    markdownTable(header, body),
    '## Degree-3 approximations of ReLU on [-1, 1] (relu-degree3.svg)',
    '',
    markdownTable(['method', 'basis', 'coefficients', 'max error', 'mean error'], fitRows),
  ].join('\n');
  const xs = Array.from(linspace(-1, 1, 201));
  const svg = await lineChartSvg({
    title: 'Degree-3 approximations of ReLU',
    xTitle: 'x',
    yTitle: 'y',
    series: [
      { name: 'ReLU', points: xs.map((x) => [x, Math.max(x, 0)] as const), dashed: true },
      ...fits.map((f) => ({ name: FIGURE_NAMES[f.method], points: xs.map((x) => [x, evaluate(f, x)] as const) })),
    ],
  });
  const files = [join(dir, 'alpha-table.md'), join(dir, 'alpha-table.json'), join(dir, 'relu-degree3.svg')];
  writeFileAtomic(files[0]!, md);
  writeFileAtomic(files[1]!, JSON.stringify({ alphas: rows, degree3: fits }, null, 2) + '\n');
  writeFileAtomic(files[2]!, svg);
  return files;
}

const tableCommand: CommandModule<object, TableArgs> = {
  command: 'table',
  describe: 'Write the alpha table (Markdown + JSON) and the degree-3 ReLU fits plot (SVG)',
  builder: (y: Argv) => y.option('out', { type: 'string', demandOption: true, describe: 'output directory' }) as unknown as Argv<TableArgs>,
  handler: async (argv: ArgumentsCamelCase<TableArgs>) => {
    const files = await writeApproxTable(argv.out);
    process.stdout.write(files.map((f) => `wrote ${f}`).join('\n') + '\n');
  },
};

export const approxCommand: CommandModule = {
  command: 'approx',
  describe: 'Polynomial approximations: minimax composite sign / AppReLU, fits, tables',
  builder: (y: Argv) =>
    y
      .command(minimaxCommand)
      .command(fitCommand)
      .command(tableCommand)
      .demandCommand(1, 'name a subcommand: minimax, fit, table'),
  handler: () => {},
};

/**
 * Error against iteration count of the private division, square root and
 * inverse square root (protocols/division.ts, protocols/sqrt.ts), as the
 * seed's Figures 4-5 (mpc-cnn-batchnorm-ppoly.txt 4.3), and of the
 * exponential against its squarings (protocols/softmax.ts): for each iteration
 * count, the max and mean error against float64 over the input range, in
 * the plaintext context (the same protocol code the parties run; a 2- or
 * 3-party run adds the truncations' +-1 ulp per product, see
 * test/mpc-division.test.ts).
 *
 * Inputs are on the f-bit grid (so the reference sees what the protocol
 * sees): n points per range, evenly spaced on [0.5, 1) and log-spaced on
 * wider ranges; division numerators a uniform in [-1, 1]. The error of an
 * output y against the float64 value r is |y - r| / max(1, |r|): absolute
 * for outputs up to 1, relative above (outputs reach 64 here).
 *
 *   node dist/bench/division-error.js [--frac-bits 16] [--n 4096] [--out DIR]
 *
 * Prints JSON; --out DIR also writes DIR/division-error.json and
 * DIR/division-error.svg (error in ulps against iterations, log scale).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/common/random.js';
import { nonlinearCheck, type NonlinearCase } from '../src/jobs/nonlinear-check.js';
import { Context } from '../src/mpc/context.js';
import { stackedChartsSvg, type LineChartOptions, type LineSeries } from '../src/report/svg-plot.js';

const argv = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
const fracBits = Number(option('frac-bits') ?? 16);
const n = Number(option('n') ?? 4096);
const outDir = option('out');
const ulp = 2 ** -fracBits;

type Protocol = 'divide' | 'sqrt' | 'rsqrt' | 'exp';

interface Series {
  protocol: Protocol;
  name: string;
  /** The input range and its normalisation, as the protocol options say (exp: the input interval, no normalisation). */
  range: { min: number; max: number };
  normalisation: 'private' | 'public';
  /** Iteration counts (exp: squarings n). */
  iterations: number[];
  /** Extra case options (sqrt's start and inner division iterations). */
  extra?: Partial<NonlinearCase>;
  grid: 'linear' | 'log';
}

const OCTAVE = { min: 0.5, max: 1 - ulp };
const WIDE = { min: 2 ** -6, max: 2 ** 10 - ulp };
const PUBLIC = { min: 0.25, max: 4 };
const upTo = (k: number): number[] => Array.from({ length: k + 1 }, (_, i) => i);
const EXP = { min: -16, max: 0 };
const SQUARINGS = [4, 5, 6, 7, 8, 9, 10];

const SERIES: Series[] = [
  { protocol: 'divide', name: 'division, b in [0.5, 1)', range: OCTAVE, normalisation: 'public', iterations: upTo(5), grid: 'linear' },
  { protocol: 'divide', name: 'division, b in [2^-6, 2^10), private normalisation', range: WIDE, normalisation: 'private', iterations: upTo(5), grid: 'log' },
  { protocol: 'divide', name: 'division, b in [0.25, 4], public bound', range: PUBLIC, normalisation: 'public', iterations: upTo(8), grid: 'log' },
  { protocol: 'sqrt', name: 'sqrt, x in [0.5, 1), seed start', range: OCTAVE, normalisation: 'public', iterations: upTo(7), grid: 'linear' },
  { protocol: 'sqrt', name: 'sqrt, x in [0.5, 1), seed start, 2 division iterations', range: OCTAVE, normalisation: 'public', iterations: upTo(7), extra: { divisionIterations: 2 }, grid: 'linear' },
  { protocol: 'sqrt', name: 'sqrt, x in [0.5, 1), minimax start', range: OCTAVE, normalisation: 'public', iterations: upTo(7), extra: { initial: 'minimax' }, grid: 'linear' },
  { protocol: 'sqrt', name: 'sqrt, x in [2^-6, 2^10), private normalisation', range: WIDE, normalisation: 'private', iterations: upTo(7), grid: 'log' },
  { protocol: 'sqrt', name: 'sqrt, x in [0.25, 4], public bound', range: PUBLIC, normalisation: 'public', iterations: upTo(8), grid: 'log' },
  { protocol: 'rsqrt', name: 'rsqrt, x in [0.5, 1)', range: OCTAVE, normalisation: 'public', iterations: upTo(5), grid: 'linear' },
  { protocol: 'rsqrt', name: 'rsqrt, x in [2^-6, 2^10), private normalisation', range: WIDE, normalisation: 'private', iterations: upTo(5), grid: 'log' },
  { protocol: 'rsqrt', name: 'rsqrt, x in [0.25, 4], public bound', range: PUBLIC, normalisation: 'public', iterations: upTo(6), grid: 'log' },
  { protocol: 'exp', name: 'exp, x in [-16, 0], (1 + t)^(2^n) (CrypTen)', range: EXP, normalisation: 'public', iterations: SQUARINGS, extra: { degree: 1 }, grid: 'linear' },
  { protocol: 'exp', name: 'exp, x in [-16, 0], (1 + t + t^2/2)^(2^n)', range: EXP, normalisation: 'public', iterations: SQUARINGS, extra: { degree: 2 }, grid: 'linear' },
  { protocol: 'exp', name: 'exp, x in [-16, 0], (1 + t + t^2/2)^(2^n), 4 guard bits', range: EXP, normalisation: 'public', iterations: SQUARINGS, extra: { degree: 2, guardBits: 4 }, grid: 'linear' },
];

const onGrid = (v: number): number => Math.round(v / ulp) * ulp;

function inputs(s: Series): number[] {
  const { min, max } = s.range;
  return Array.from({ length: n }, (_, i) => onGrid(s.grid === 'linear' ? min + ((max - min) * i) / (n - 1) : min * (max / min) ** (i / (n - 1))));
}

function reference(p: Protocol, x: number, a: number): number {
  if (p === 'divide') return a / x;
  if (p === 'exp') return Math.exp(x);
  return p === 'sqrt' ? Math.sqrt(x) : 1 / Math.sqrt(x);
}

interface Point {
  iterations: number;
  /** max and mean of |y - r| / max(1, |r|). */
  maxError: number;
  meanError: number;
  /** The same in ulps (2^-f). */
  maxUlps: number;
  meanUlps: number;
  /** Worst input (x; for division also a). */
  worstX: number;
  worstA?: number;
}

async function measure(s: Series): Promise<Point[]> {
  const xs = inputs(s);
  const rng = new Rng(1234);
  const as = s.protocol === 'divide' ? xs.map(() => onGrid(rng.uniform() * 2 - 1)) : null;
  const ctx = Context.plain({ fracBits });
  const cases: NonlinearCase[] = s.iterations.map((k) => (s.protocol === 'exp'
    ? { op: 'exp', x: xs, squarings: k, ...s.extra }
    : { op: s.protocol, x: xs, ...(as ? { a: as } : {}), range: s.range, normalisation: s.normalisation, iterations: k, ...s.extra }));
  const outputs = await nonlinearCheck(ctx, { kind: 'nonlinear-check', cases });
  return outputs.map((o, c) => {
    let max = 0;
    let sum = 0;
    let worst = 0;
    o.output.forEach((y, i) => {
      const r = reference(s.protocol, xs[i]!, as ? as[i]! : 1);
      const e = Math.abs(y - r) / Math.max(1, Math.abs(r));
      sum += e;
      if (e > max) {
        max = e;
        worst = i;
      }
    });
    const mean = sum / xs.length;
    return {
      iterations: s.iterations[c]!, maxError: max, meanError: mean, maxUlps: max / ulp, meanUlps: mean / ulp,
      worstX: xs[worst]!, ...(as ? { worstA: as[worst]! } : {}),
    };
  });
}

interface SeriesResult {
  protocol: Protocol;
  name: string;
  range: { min: number; max: number };
  normalisation: 'private' | 'public';
  options?: Partial<NonlinearCase>;
  points: Point[];
}

const started = performance.now();
const results: SeriesResult[] = [];
for (const s of SERIES) {
  results.push({ protocol: s.protocol, name: s.name, range: s.range, normalisation: s.normalisation, ...(s.extra ? { options: s.extra } : {}), points: await measure(s) });
}
const report = {
  bench: 'division-error',
  command: `node dist/bench/division-error.js --frac-bits ${fracBits} --n ${n}${outDir ? ` --out ${outDir}` : ''}`,
  context: 'plaintext (the protocol code with one party)',
  fracBits,
  pointsPerRange: n,
  error: '|y - r| / max(1, |r|) against float64 r on the f-bit inputs',
  seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  results,
};
const json = JSON.stringify(report, null, 2);
console.log(json);

if (outDir) {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'division-error.json'), `${json}\n`);
  const floor = ulp / 64;
  const panel = (p: Protocol, title: string): LineChartOptions => {
    const series: LineSeries[] = [];
    for (const r of results.filter((x) => x.protocol === p)) {
      series.push({ name: `${r.name}: max`, points: r.points.map((q) => [q.iterations, Math.max(q.maxUlps, floor / ulp)] as const) });
      series.push({ name: `${r.name}: mean`, points: r.points.map((q) => [q.iterations, Math.max(q.meanUlps, floor / ulp)] as const), dashed: true });
    }
    return { title, xTitle: 'iterations', yTitle: `error (ulps of 2^-${fracBits})`, yScale: 'log', series, width: 560, height: 260 };
  };
  const ticks = upTo(Math.max(...SERIES.map((s) => Math.max(...s.iterations))));
  const svg = await stackedChartsSvg([
    panel('divide', 'Division (Algorithm 2): error against iterations'),
    panel('sqrt', 'Square root (Algorithm 3): error against Newton steps'),
    panel('rsqrt', 'Inverse square root (Newton): error against steps'),
    { ...panel('exp', 'Exponential p(x / 2^n)^(2^n): error against squarings n'), xTitle: 'squarings n' },
  ], ticks);
  writeFileSync(join(outDir, 'division-error.svg'), svg);
}

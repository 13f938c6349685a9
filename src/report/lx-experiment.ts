/**
 * Reports of `mpcnet experiment lx` (the sturdy-PANN paper's Table 8 analog):
 * for each model and each l_x, accuracy under real 3-party MPC next to the
 * plaintext simulation of the same truncation ReLU, on the same images, with
 * the bytes per image each l_x costs. The terminal table, and with --out a
 * Markdown file, the JSON (every figure, command, date) and an SVG with two
 * charts (accuracy and bytes per image against l_x).
 */
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-write.js';
import path from 'node:path';
import { markdownTable, type Cell } from './markdown.js';
import { stackedChartsSvg, type LineChartOptions, type LineSeries } from './svg-plot.js';
import type { MachineInfo } from './machine.js';

/** One kind of run (MPC or simulation) at one l_x. */
export interface LxRun {
  accuracy: number;
  correct: number;
  /** Wall seconds of all batches (slowest party for MPC), weights excluded. */
  seconds: number;
  secondsPerImage: number;
}

export interface LxMpcRun extends LxRun {
  /** Online payload bytes sent + received by all parties, per image. */
  bytesPerImage: number;
  /** The same per party (P0, P1, P2). */
  bytesPerImageByParty: number[];
  /** Round clock advance over all batches, per party. */
  rounds: number[];
  /** Seconds to share the weights (not in `seconds`). */
  weightSeconds: number;
}

export interface LxPoint {
  lx: number;
  mpc: LxMpcRun;
  simulation: LxRun;
}

export interface LxModelResult {
  /** Short name for tables and legends (the directory's name, made unique). */
  label: string;
  dir: string;
  dataset: string;
  /** tfjs float32 accuracy on the same images (absent with --no-float or when tfjs cannot load the model). */
  float?: { accuracy: number; correct: number; backend: string };
  points: LxPoint[];
}

export interface LxExperimentReport {
  command: string;
  date: string;
  machine: MachineInfo;
  n: number;
  batch: number;
  skip: number;
  fracBits: number;
  parties: 3;
  relu: 'bicoptor';
  lxs: number[];
  models: LxModelResult[];
}

const pct = (x: number): string => (x * 100).toFixed(2);
const mb = (b: number): string => (b / 1e6).toFixed(3);

function pointAt(m: LxModelResult, lx: number): LxPoint | undefined {
  return m.points.find((p) => p.lx === lx);
}

/** Rows: l_x; per model a column pair (MPC, simulation) and MB per image (all parties). */
function mainTable(r: LxExperimentReport): string {
  const header = ['lx', ...r.models.flatMap((m) => [`${m.label} MPC %`, `${m.label} sim %`, `${m.label} MB/image`])];
  const rows: Cell[][] = r.lxs.map((lx) => [lx, ...r.models.flatMap((m) => {
    const p = pointAt(m, lx);
    return p ? [pct(p.mpc.accuracy), pct(p.simulation.accuracy), mb(p.mpc.bytesPerImage)] : ['', '', ''];
  })]);
  if (r.models.some((m) => m.float)) {
    rows.push(['float', ...r.models.flatMap((m) => [m.float ? pct(m.float.accuracy) : '', m.float ? '(tfjs)' : '', ''])]);
  }
  return markdownTable(header, rows, header.map(() => 'right'));
}

/** Per model and l_x: bytes per image by party, time per image, rounds. */
function detailTable(r: LxExperimentReport): string {
  const header = ['model', 'lx', 'MPC correct', 'sim correct', 'MB/image P0', 'MB/image P1', 'MB/image P2', 'MB/image all', 'ms/image MPC', 'ms/image sim', 'rounds P0 / P1 / P2'];
  const rows: Cell[][] = r.models.flatMap((m) => m.points.map((p) => [
    m.label, p.lx, `${p.mpc.correct}/${r.n}`, `${p.simulation.correct}/${r.n}`,
    ...[0, 1, 2].map((i) => mb(p.mpc.bytesPerImageByParty[i] ?? 0)), mb(p.mpc.bytesPerImage),
    (p.mpc.secondsPerImage * 1000).toFixed(1), (p.simulation.secondsPerImage * 1000).toFixed(1),
    p.mpc.rounds.join(' / '),
  ]));
  return markdownTable(header, rows, header.map((_, j) => (j === 0 ? 'left' : 'right')));
}

function heading(r: LxExperimentReport): string {
  return `experiment lx: accuracy under 3-party MPC (truncation ReLU) vs the plaintext simulation, n = ${r.n} test images, batch ${r.batch}, `
    + `f = ${r.fracBits}${r.skip ? `, skip ${r.skip}` : ''}`;
}

/** The terminal table. */
export function lxExperimentText(r: LxExperimentReport): string {
  return `${heading(r)}\n${mainTable(r)}\n${detailTable(r)}`;
}

export function lxExperimentMarkdown(r: LxExperimentReport): string {
  const models = r.models.map((m) => `- ${m.label}: \`${m.dir}\` on ${m.dataset}${m.float ? `; tfjs float accuracy on the same images ${pct(m.float.accuracy)}% (${m.float.backend})` : ''}`);
  const notes = [
    `Command: \`${r.command}\``,
    `Date: ${r.date}; machine: ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, ${r.machine.platform}.`,
    '',
    'MPC: a real 3-party session (P0 shares the weights, P1 the images, P2 online helper), ReLU by the truncation sign test with l_x bits '
      + `(l_x / 2 integer and l_x / 2 fractional bits). Simulation: the same graph in the one-party plaintext context, whose sign decision is the same `
      + 'reference function drawing random shares, so both make the same random decisions in distribution (not the same draws). '
      + 'Both run on the same images (spread over the test split so every class appears).',
    'MB/image: online payload bytes sent + received, all batches, weights excluded, divided by n (1 MB = 10^6 bytes); "all" sums the three parties. '
      + 'Rounds: round-clock advance over all batches per party (a Lamport clock over the dependency chain, not a per-batch sum).',
  ];
  return `# ${heading(r)}\n\n${models.join('\n')}\n\n${mainTable(r)}\n${detailTable(r)}\n${notes.join('\n')}\n`;
}


/** The series of the two charts (exposed for tests). */
export function lxExperimentSeries(r: LxExperimentReport): { accuracy: LineSeries[]; bytes: LineSeries[] } {
  const accuracy: LineSeries[] = r.models.flatMap((m) => [
    { name: `${m.label} MPC`, points: m.points.map((p) => [p.lx, p.mpc.accuracy * 100] as const) },
    { name: `${m.label} simulation`, points: m.points.map((p) => [p.lx, p.simulation.accuracy * 100] as const), dashed: true },
  ]);
  const bytes: LineSeries[] = r.models.map((m) => ({ name: m.label, points: m.points.map((p) => [p.lx, p.mpc.bytesPerImage / 1e6] as const) }));
  return { accuracy, bytes };
}

/** Accuracy against l_x (one line per model and kind; simulation dashed) above MB per image against l_x. */
export async function lxExperimentSvg(r: LxExperimentReport): Promise<string> {
  const { accuracy, bytes } = lxExperimentSeries(r);
  const lxs = r.lxs;
  const xDomain = [Math.min(...lxs) - 0.5, Math.max(...lxs) + 0.5] as const;
  const common = { xTitle: 'l_x (bits of the sign test)', width: 460, height: 240, xDomain };
  const accs = accuracy.flatMap((s) => s.points.map((q) => q[1]));
  const lowest = Math.max(0, Math.floor((Math.min(...accs) - 2) / 5) * 5);
  const top: LineChartOptions = ({ ...common, title: `accuracy, n = ${r.n}: 3-party MPC (solid) vs plaintext simulation (dashed)`, yTitle: 'accuracy %', yDomain: [lowest, 100.5], series: accuracy });
  const most = Math.max(...bytes.flatMap((s) => s.points.map((q) => q[1])), 1e-9);
  const bottom: LineChartOptions = ({ ...common, title: 'online MB per image (all parties, sent + received)', yTitle: 'MB per image', yDomain: [0, 1.1 * most], series: bytes });
  return stackedChartsSvg([top, bottom], lxs);
}

export const LX_EXPERIMENT_FILES = ['lx-experiment.md', 'lx-experiment.json', 'lx-experiment.svg'] as const;

/** Writes lx-experiment.md, .json and .svg into `dir`; returns their paths. */
export async function writeLxExperimentFiles(r: LxExperimentReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = LX_EXPERIMENT_FILES.map((f) => path.join(dir, f));
  writeFileAtomic(files[0], lxExperimentMarkdown(r));
  writeFileAtomic(files[1], JSON.stringify(r, null, 2) + '\n');
  writeFileAtomic(files[2], await lxExperimentSvg(r));
  return files;
}

/**
 * Reports of `mpcnet bench relu`: the terminal table, and with --out the
 * JSON (every figure), a Markdown table and an SVG chart (bytes per element
 * and time per call against l_x).
 */
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-write.js';
import path from 'node:path';
import type { ReluOp } from '../jobs/types.js';
import { markdownTable, sci, type Cell } from './markdown.js';
import { stackedChartsSvg, type LineChartOptions, type LineSeries } from './svg-plot.js';
import type { MachineInfo } from './machine.js';

export interface ReluBenchParty {
  id: number;
  bytesSent: number;
  bytesReceived: number;
  rounds: number;
  messagesSent: number;
  expectedBytesSent: number;
  expectedBytesReceived: number;
  /** This party's online seconds per timed repetition. */
  seconds: number[];
}

/** One l_x: one 3-party session. Arrays are indexed by party (P0, P1, P2). */
export interface ReluBenchRow {
  lx: number;
  skip: number;
  n: number;
  /** Median over repetitions of the slowest party's online seconds. */
  seconds: number;
  secondsPerRep: number[];
  /** n / seconds: ReLUs (DReLUs; maxpool: input elements) per second. */
  perSecond: number;
  /** Online payload bytes (sent + received) per element, measured. */
  bytesPerElement: number[];
  /** The same from truncReluBytes. */
  formulaBytesPerElement: number[];
  /** Round clock advance over the call, per party. */
  rounds: number[];
  /** max over parties. */
  roundsCritical: number;
  expectedRounds: number;
  /** Max |MPC - plaintext| over inputs with a deterministic decision. */
  maxAbsError: number;
  /** Outputs that differ from plaintext, over all inputs. */
  signErrors: number;
  /** Inputs (maxpool: windows) whose decision is deterministic. */
  deterministic: number;
  peakRssBytes: number[];
  parties: ReluBenchParty[];
}

export interface ReluBenchReport {
  op: ReluOp;
  fracBits: number;
  reps: number;
  seed: number;
  command: string;
  date: string;
  machine: MachineInfo;
  rows: ReluBenchRow[];
}

const MB = 1024 * 1024;
const PARTIES = ['P0', 'P1', 'P2'] as const;

export function rateLabel(op: ReluOp): string {
  return op === 'drelu' ? 'DReLU/s' : op === 'relu' ? 'ReLU/s' : 'elements/s';
}

const num = (x: number, digits = 2): string => (Number.isInteger(x) ? String(x) : x.toFixed(digits));
const rate = (x: number): string => Math.round(x).toLocaleString('en-US');
const triple = (xs: readonly number[], f: (x: number) => string): string => xs.map(f).join(' / ');

/** Markdown table: one row per l_x. */
export function reluBenchMarkdown(r: ReluBenchReport): string {
  const header = ['lx', 's', 'n', 'B/elem P0', 'B/elem P1', 'B/elem P2', 'formula P0 / P1 / P2', 'rounds', rateLabel(r.op), 'max error', 'sign errors', 'peak RSS MB P0 / P1 / P2'];
  const rows: Cell[][] = r.rows.map((w) => [
    w.lx, w.skip, w.n,
    num(w.bytesPerElement[0]!), num(w.bytesPerElement[1]!), num(w.bytesPerElement[2]!),
    triple(w.formulaBytesPerElement, (x) => num(x)),
    w.roundsCritical,
    rate(w.perSecond),
    sci(w.maxAbsError),
    w.signErrors,
    triple(w.peakRssBytes, (b) => (b / MB).toFixed(0)),
  ]);
  const align = header.map(() => 'right' as const);
  const title = `# mpcnet bench relu: ${r.op}, f = ${r.fracBits}, median of ${r.reps} rep(s)\n\n`;
  const notes = [
    '',
    `Command: \`${r.command}\``,
    `Date: ${r.date}; machine: ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, ${r.machine.platform}.`,
    'B/elem: online payload bytes sent + received per element by each party; formula: truncReluBytes (PROTOCOLS.md 4).',
    'Rounds: critical path (max over parties of the round clock advance; P0 receives nothing and reads 0).',
    'Max error: over inputs whose sign decision is deterministic, against the plaintext function of the fixed-point inputs;',
    'sign errors: outputs that differ from it over all inputs (expected only for -2^(s+d) < x < 0).',
  ];
  return title + markdownTable(header, rows, align) + notes.join('\n') + '\n';
}

/** The terminal table: per-party bytes and rounds next to the formula. */
export function humanTable(r: ReluBenchReport): string {
  const header = ['lx', 's', 'n', 'B/elem P0 / P1 / P2', 'formula', 'rounds P0 / P1 / P2 (crit)', 'ms/call', rateLabel(r.op), 'max error', 'sign err', 'RSS MB P0 / P1 / P2'];
  const rows: Cell[][] = r.rows.map((w) => [
    w.lx, w.skip, w.n,
    triple(w.bytesPerElement, (x) => num(x)),
    triple(w.formulaBytesPerElement, (x) => num(x)),
    `${triple(w.rounds, String)} (${w.roundsCritical})`,
    (w.seconds * 1000).toFixed(1),
    rate(w.perSecond),
    sci(w.maxAbsError),
    w.signErrors,
    triple(w.peakRssBytes, (b) => (b / MB).toFixed(0)),
  ]);
  return `bench relu: ${r.op}, f = ${r.fracBits}, median of ${r.reps} rep(s), ${r.machine.cores} cores\n`
    + markdownTable(header, rows, header.map(() => 'right'));
}


/** Two small charts, one above the other: bytes per element by party, and time per call, against l_x. */
export async function reluBenchSvg(r: ReluBenchReport): Promise<string> {
  const pts = (f: (w: ReluBenchRow) => number): [number, number][] => r.rows.map((w) => [w.lx, f(w)]);
  const bytes: LineSeries[] = [
    ...PARTIES.map((name, i) => ({ name, points: pts((w) => w.bytesPerElement[i]!) })),
    { name: 'all parties', points: pts((w) => w.bytesPerElement.reduce((a, b) => a + b, 0)) },
  ];
  const lxs = r.rows.map((w) => w.lx);
  const xDomain = [Math.min(...lxs) - 0.5, Math.max(...lxs) + 0.5] as const;
  const common = { xTitle: 'l_x (bits of the sign test)', width: 460, height: 220, xDomain };
  const upTo = (series: readonly LineSeries[]): readonly [number, number] => [0, 1.1 * Math.max(...series.flatMap((x) => x.points.map((q) => q[1])), 1e-9)];
  const times: LineSeries[] = [{ name: 'slowest party', points: pts((w) => w.seconds * 1000) }];
  const top: LineChartOptions = ({ ...common, yDomain: upTo(bytes), title: `${r.op}: online bytes per element (sent + received)`, yTitle: 'bytes per element', series: bytes });
  const bottom: LineChartOptions = ({
    ...common,
    title: `${r.op}: online time per call, n = ${r.rows[0]?.n ?? 0} (median of ${r.reps})`,
    yTitle: 'ms per call',
    yDomain: upTo(times),
    series: times,
  });
  return stackedChartsSvg([top, bottom], lxs);
}

/** Writes relu-bench.json, relu-bench.md and relu-bench.svg into `dir`; returns their paths. */
export async function writeReluBenchFiles(r: ReluBenchReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = ['relu-bench.json', 'relu-bench.md', 'relu-bench.svg'].map((f) => path.join(dir, f));
  writeFileAtomic(files[0]!, JSON.stringify(r, null, 2) + '\n');
  writeFileAtomic(files[1]!, reluBenchMarkdown(r));
  writeFileAtomic(files[2]!, await reluBenchSvg(r));
  return files;
}

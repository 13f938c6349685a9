/**
 * Report of `mpcnet experiment methods`: test accuracy of the seed CNN with
 * a learnable PPoly and with fixed fits of Leaky ReLU, Swish and tanh by
 * each fitting method, with and without batch norm, trained under MPC (or
 * its emulation) next to the same training in plaintext tfjs; laid out like
 * the PPoly seed's Tables 4 and 6 (method, function, degree), the batch
 * norm columns as its Table 3. Then the polynomials themselves and the
 * time of every cell. methods.md and methods.json.
 */
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-write.js';
import path from 'node:path';
import { presetFit, PRESET_INTERVAL } from '../approx/fit-presets.js';
import type { FitMethod } from '../approx/fits.js';
import { functionLabel, methodLabel, methodRows, rowId, type MethodFunction, type MethodsConfig } from '../plain/methods/grid.js';
import type { MethodsCellResult, TrainingOutcome } from '../plain/methods/result.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { markdownTable, type Cell } from './markdown.js';

export interface MethodsFit {
  fn: MethodFunction;
  method: FitMethod;
  setting: string;
  coefficients: number[];
  /** Max and mean |p - f| on the preset interval. */
  maxError: number;
  meanError: number;
}

export interface MethodsReport {
  command: string;
  date: string;
  machine: MachineInfo;
  config: MethodsConfig;
  /** How the MPC side ran, in words. */
  mpcRun: string;
  /** The 2PC softmax's bound on |logit| the MPC runs used. */
  logitBound: number;
  cells: MethodsCellResult[];
  failed: { id: string; error: string }[];
  resumed: string[];
  /** Wall seconds of the run that wrote this report. */
  seconds: number;
  fits: MethodsFit[];
}

export function mpcRunText(c: MethodsConfig): string {
  return c.emulate
    ? `emulated: the ${c.parties}-party job run in the plaintext context (the identical code on one process, fixed point at f = 16)`
    : `real ${c.parties}-party MPC: P0 (model owner), P1 (data owner) and P2 (${c.parties === 2 ? 'dealer' : 'dealer and online helper'}) as separate processes over localhost`;
}

/** defaultLogitBound: train --mpc's, for a config that does not set one. */
export function methodsReport(
  run: { config: MethodsConfig; results: MethodsCellResult[]; failed: { id: string; error: string }[]; resumed: string[]; seconds: number }, command: string, defaultLogitBound: number,
): MethodsReport {
  const fits = methodRows().flatMap((r): MethodsFit[] => {
    if (r.kind !== 'fit') return [];
    const f = presetFit(r.fn, r.method, run.config.degree);
    return [{ fn: r.fn, method: r.method, setting: f.setting, coefficients: f.coefficients, maxError: f.error.max, meanError: f.error.mean }];
  });
  return {
    command, date: new Date().toISOString(), machine: machineInfo(), config: run.config, mpcRun: mpcRunText(run.config), logitBound: run.config.logitBound ?? defaultLogitBound,
    cells: run.results, failed: run.failed, resumed: run.resumed, seconds: run.seconds, fits,
  };
}

const pct = (v: number): string => (v * 100).toFixed(2);

function accuracyText(o: TrainingOutcome | undefined, best: number | undefined): Cell {
  if (!o) return '-';
  if (o.testAccuracy === null) return o.status === 'diverged' ? 'diverged (loss NaN)' : '-';
  const v = pct(o.testAccuracy);
  if (o.status === 'diverged') return `${v} (diverged)`;
  return o.testAccuracy === best ? `**${v}**` : v;
}

/** The best non-diverged accuracy of a column. */
function bestOf(outcomes: (TrainingOutcome | undefined)[]): number | undefined {
  const ok = outcomes.flatMap((o) => (o && o.status === 'ok' && o.testAccuracy !== null ? [o.testAccuracy] : []));
  return ok.length ? Math.max(...ok) : undefined;
}

/** The command line each cell's two trainings equal. */
function cellCommand(c: MethodsConfig): string {
  const data = `--dataset ${c.dataset}${c.limitTrain ? ` --limit-train ${c.limitTrain}` : ''}${c.limitTest ? ` --limit-test ${c.limitTest}` : ''}`;
  const bound = c.logitBound !== undefined ? ` --logit-bound ${c.logitBound}` : '';
  return `mpcnet train --mpc${c.emulate ? ' --emulate' : ''} --parties ${c.parties}${bound} --model cnn --act ACT [--no-bn] ${data} --epochs ${c.epochs} --batch-size ${c.batchSize} --lr ${c.lr} --seed ${c.seed}`;
}

export function methodsMarkdown(r: MethodsReport): string {
  const c = r.config;
  const find = (id: string, bn: boolean): MethodsCellResult | undefined => r.cells.find((x) => x.id === `${id}-${bn ? 'bn' : 'nobn'}`);
  const rows = methodRows();
  const lines: string[] = [];
  const mpcName = c.emulate ? 'MPC (emulated)' : `MPC (${c.parties}PC)`;
  lines.push('# Method comparison: PPoly against fixed polynomial activations (PPoly seed, Tables 3-6)', '');
  lines.push(`Command: \`${r.command}\` (${r.date}; ${r.machine.cores} cores, ${r.machine.cpu}, Node ${r.machine.node}).`, '');
  lines.push(`MPC side: **${r.mpcRun}**.`, '');
  const n = r.cells[0]?.mpc.testCount;
  lines.push(`Each cell trains the seed CNN (conv 32 3x3, [batch norm], activation, average pooling, dense) twice from the plaintext builder's initial weights for the seed: `
    + `\`${cellCommand(c)}\` and the same without \`--mpc\` (plaintext tfjs float32, backend ${[...new Set(r.cells.map((x) => x.plain.backend))].join(', ') || c.backend}). `
    + `SGD momentum 0.9, no weight decay, ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}, ${c.limitTrain ? `${c.limitTrain} training images spread over the split` : 'the whole training split'}; `
    + `test accuracy (%) on ${n ?? c.limitTest ?? 'all'} test images. Without batch norm the conv has a bias. Chance is 10%. `
    + `Diverged: the plaintext loss went NaN (no model), or the MPC model's weights exceed 1e4 in magnitude (a ring wrap or a blow-up; its accuracy is still shown). `
    + 'Bold: best of a column among the runs that did not diverge. Time: wall seconds of the MPC run / of the plaintext run.', '');
  if (c.parties === 2) {
    lines.push(`The 2-party softmax shifts each row by an AppMax that needs a public bound B on |logit| (\`--logit-bound\`, here ${r.logitBound}); `
      + 'logits beyond it break the softmax and with it every later step, which the plaintext run does not share: an MPC-only divergence without batch norm is worth rerunning with a larger B or `--parties 3` (exact row max).', '');
  }
  if (r.failed.length) lines.push(`**Not finished**: ${r.failed.map((f) => `${f.id} (${f.error})`).join('; ')}. Rerun the same command to resume.`, '');

  lines.push('## Test accuracy (%) (layout of the seed\'s Tables 4 and 6; with and without batch norm as its Table 3)', '');
  const cols = [true, false].map((bn) => ({ bn, mpcBest: bestOf(rows.map((x) => find(rowId(x), bn)?.mpc)), plainBest: bestOf(rows.map((x) => find(rowId(x), bn)?.plain)) }));
  const time = (x: MethodsCellResult | undefined): Cell => (x ? `${x.mpc.wallSeconds.toFixed(1)} / ${x.plain.wallSeconds.toFixed(1)}` : '-');
  lines.push(markdownTable(
    ['Method', 'Function', 'Degree', `BN: ${mpcName}`, 'BN: plaintext', 'BN: time s', `no BN: ${mpcName}`, 'no BN: plaintext', 'no BN: time s'],
    rows.map((row) => [methodLabel(row), functionLabel(row), c.degree, ...cols.flatMap((col) => {
      const x = find(rowId(row), col.bn);
      return [accuracyText(x?.mpc, col.mpcBest), accuracyText(x?.plain, col.plainBest), time(x)];
    })]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  ));
  lines.push('The seed\'s own figures (its scaled-down MPC runs, with batch norm): Regression / Leaky ReLU degree 3: 81.25%; Taylor / Swish degree 3: 71.88%; '
    + 'Chebyshev / tanh degree 4: 69.79%; Lagrange / tanh degree 4: 70.83%; PPoly c1 x + c2 x^2 + c3 x^3 from the regression fit: 87.50% (Tables 4 and 6); '
    + 'exact ReLU with / without batch norm (plaintext): 81.25% / 53.13% (Table 3).', '');

  lines.push(`## The fixed polynomials (degree ${c.degree}, power basis; errors on [${PRESET_INTERVAL[0]}, ${PRESET_INTERVAL[1]}])`, '');
  const deg = Array.from({ length: c.degree + 1 }, (_, k) => `c${k}`);
  lines.push(markdownTable(['Function', 'Method', 'how', ...deg, 'max error', 'mean error'],
    r.fits.map((f) => [f.fn, methodLabel({ kind: 'fit', fn: f.fn, method: f.method }), f.setting, ...f.coefficients.map((v) => Number(v.toPrecision(4))), f.maxError.toPrecision(3), f.meanError.toPrecision(3)]),
  ));
  lines.push('PPoly starts from the Regression / Leaky ReLU polynomial and trains its coefficients (shared secretly under MPC); the fixed rows use theirs as public constants.', '');

  lines.push('## Cells', '');
  lines.push(markdownTable(['cell', 'MPC', 'MPC max abs weight', 'MPC train s', 'plaintext', 'plaintext train s', 'cell process s', ...(c.emulate ? [] : ['MB per party'])],
    r.cells.map((x) => [
      x.id, x.mpc.status + (x.mpc.note ? ` (${x.mpc.note})` : ''), x.mpc.maxAbsWeight === null ? '-' : x.mpc.maxAbsWeight.toPrecision(3), x.mpc.trainSeconds.toFixed(1),
      x.plain.status, x.plain.trainSeconds.toFixed(1), x.seconds.toFixed(1),
      ...(c.emulate ? [] : [x.mpc.bytesPerParty.map((b) => (b / 1e6).toFixed(0)).join(' / ')]),
    ])));
  const total = r.cells.reduce((s, x) => s + x.seconds, 0);
  lines.push(`Cells' own processes: ${(total / 60).toFixed(1)} min in all; this report's run: ${(r.seconds / 60).toFixed(1)} min${r.resumed.length ? `, ${r.resumed.length} cells finished by an earlier run of the same command` : ''}.`, '');
  return lines.join('\n') + '\n';
}

export const METHODS_FILES = ['methods.md', 'methods.json'] as const;

export async function writeMethodsFiles(r: MethodsReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const [md, json] = METHODS_FILES.map((f) => path.join(dir, f)) as [string, string];
  writeFileAtomic(md, methodsMarkdown(r));
  writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  return [md, json];
}

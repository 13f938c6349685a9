/**
 * Reports of `mpcnet experiment sturdiness`: tables laid out like the
 * sturdy-PANN seed's Table 2 (accuracy at each minimax precision 2^-alpha,
 * one column per method and weight decay, the backbone below) and Table 8
 * (accuracy at each l_x of the truncation ReLU), the training figures, SVG
 * plots (accuracy against alpha and against l_x, one panel per weight decay,
 * one line per method), and the seed's three findings checked against the
 * measured numbers.
 */
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-write.js';
import path from 'node:path';
import type { CellResult } from '../plain/sturdiness/cell.js';
import { modelDefaults } from '../plain/models/index.js';
import { formatWd, methodLabel, type GridConfig, type SturdyMethod } from '../plain/sturdiness/grid.js';
import { markdownTable, type Cell } from './markdown.js';
import { stackedChartsSvg, type LineChartOptions } from './svg-plot.js';
import { machineInfo, type MachineInfo } from './machine.js';

export interface Finding {
  claim: string;
  verdict: 'reproduces' | 'does not reproduce' | 'mixed' | 'not measured';
  evidence: string;
}

export interface SturdinessReport {
  command: string;
  date: string;
  machine: MachineInfo;
  /** tfjs backends the cells trained on. */
  backends: string[];
  config: GridConfig;
  cells: CellResult[];
  failed: { id: string; error: string }[];
  /** Wall seconds of the run that wrote this report (the cells' own times are in cells[].seconds). */
  seconds: number;
  /** Cells this run found finished by an earlier run. */
  resumed: string[];
  findings: Finding[];
}

/** Differences smaller than this many accuracy points are read as noise in the findings. */
export const NOISE_POINTS = 0.5;

const pct = (v: number): string => (v * 100).toFixed(2);
const label = (c: Pick<CellResult, 'method' | 'wd'>): string => `${methodLabel(c.method)} wd ${formatWd(c.wd)}`;

function find(cells: readonly CellResult[], method: SturdyMethod, wd: number): CellResult | undefined {
  return cells.find((c) => c.method === method && c.wd === wd);
}

const minimaxAt = (c: CellResult, alpha: number): number | undefined => c.minimax.find((p) => p.alpha === alpha)?.accuracy;
const truncAt = (c: CellResult, lx: number): number | undefined => c.truncation.find((p) => p.lx === lx)?.accuracy;

/** The seed's findings (sections 6.2 and 6.4), each checked on the measured cells. */
export function sturdinessFindings(cells: readonly CellResult[], config: GridConfig): Finding[] {
  const out: Finding[] = [];
  const alphas = [8, 9].filter((a) => config.alphas.includes(a));
  const wds = [...new Set(cells.map((c) => c.wd))].sort((a, b) => a - b);
  const wdMax = wds[wds.length - 1];
  const points = (d: number): string => `${d >= 0 ? '+' : ''}${(d * 100).toFixed(2)}`;

  // 1. weight decay lowers PANN accuracy at 2^-8 / 2^-9
  {
    const claim = `Weight decay lowers PANN accuracy at 2^-8 / 2^-9 (wd 0 vs ${wdMax === undefined ? 'the largest' : formatWd(wdMax)}, every method)`;
    const diffs: string[] = [];
    const d: number[] = [];
    for (const m of new Set(cells.map((c) => c.method))) {
      const lo = find(cells, m, 0);
      const hi = wdMax === undefined || wdMax === 0 ? undefined : find(cells, m, wdMax);
      for (const a of alphas) {
        const x = lo && minimaxAt(lo, a);
        const y = hi && minimaxAt(hi, a);
        if (x === undefined || y === undefined) continue;
        d.push(x - y);
        diffs.push(`${methodLabel(m)} alpha ${a}: ${points(x - y)}`);
      }
    }
    out.push(verdictOfDiffs(claim, d, diffs, 'wd 0 minus the largest wd, points'));
  }

  // 2. NGNV (+Mixup) at weight decay 0 is best at 2^-8 / 2^-9
  {
    const claim = 'NGNV or Mixup+NGNV at weight decay 0 gives the best PANN accuracy at 2^-8 / 2^-9';
    const evid: string[] = [];
    let yes = 0;
    let measured = 0;
    for (const a of alphas) {
      const ranked = cells.filter((c) => minimaxAt(c, a) !== undefined).sort((p, q) => minimaxAt(q, a)! - minimaxAt(p, a)!);
      const best = ranked[0];
      const sturdy = ranked.filter((c) => c.wd === 0 && (c.method === 'ngnv' || c.method === 'mixup+ngnv'));
      if (!best || sturdy.length === 0 || sturdy.length === ranked.length) continue;
      measured++;
      const gap = minimaxAt(best, a)! - minimaxAt(sturdy[0]!, a)!;
      if (gap * 100 <= NOISE_POINTS) yes++;
      evid.push(`alpha ${a}: best ${label(best)} ${pct(minimaxAt(best, a)!)}%, best of NGNV / Mixup+NGNV at wd 0: ${label(sturdy[0]!)} ${pct(minimaxAt(sturdy[0]!, a)!)}% (${gap === 0 ? 'it is the best' : `${(gap * 100).toFixed(2)} points behind`})`);
    }
    const verdict: Finding['verdict'] = measured === 0 ? 'not measured' : yes === measured ? 'reproduces' : yes === 0 ? 'does not reproduce' : 'mixed';
    out.push({ claim, verdict, evidence: evid.join('; ') || 'needs NGNV cells at wd 0 and alpha 8 or 9' });
  }

  // 3. the truncation ReLU at small l_x loses less on sturdy models
  {
    const lxs = [6, 8].filter((l) => config.lxs.includes(l));
    const claim = `The truncation ReLU at small l_x (${lxs.join(', ') || '6, 8'}) loses less accuracy on the sturdy models (NGNV, Mixup+NGNV) than on vanilla ones at the same weight decay`;
    const d: number[] = [];
    const evid: string[] = [];
    for (const wd of wds) {
      const van = find(cells, 'vanilla', wd);
      const sturdy = cells.filter((c) => c.wd === wd && (c.method === 'ngnv' || c.method === 'mixup+ngnv'));
      if (!van || sturdy.length === 0) continue;
      for (const lx of lxs) {
        const vl = truncAt(van, lx);
        const losses = sturdy.flatMap((c) => { const a = truncAt(c, lx); return a === undefined ? [] : [c.backbone - a]; });
        if (vl === undefined || losses.length === 0) continue;
        const vanLoss = van.backbone - vl;
        const sturdyLoss = losses.reduce((s, v) => s + v, 0) / losses.length;
        d.push(vanLoss - sturdyLoss);
        evid.push(`wd ${formatWd(wd)} l_x ${lx}: vanilla loses ${(vanLoss * 100).toFixed(2)}, sturdy ${(sturdyLoss * 100).toFixed(2)} points`);
      }
    }
    out.push(verdictOfDiffs(claim, d, evid, 'vanilla loss minus sturdy loss, points'));
  }
  return out;
}

/** A claim that a difference is positive: reproduces when most pairs agree beyond noise and the mean is positive. */
function verdictOfDiffs(claim: string, d: number[], evidence: string[], what: string): Finding {
  if (d.length === 0) return { claim, verdict: 'not measured', evidence: 'the grid lacks the cells this needs' };
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const pos = d.filter((x) => x * 100 > NOISE_POINTS).length;
  const neg = d.filter((x) => x * 100 < -NOISE_POINTS).length;
  // no pair agreeing beyond noise is a failure to reproduce, whatever the disagreements
  const verdict: Finding['verdict'] = pos > d.length / 2 && mean > 0 ? 'reproduces' : pos === 0 || (neg > d.length / 2 && mean < 0) ? 'does not reproduce' : 'mixed';
  const summary = `${pos} of ${d.length} pairs agree by more than ${NOISE_POINTS} points, ${neg} disagree; mean ${(mean * 100).toFixed(2)} (${what})`;
  return { claim, verdict, evidence: `${summary}. ${evidence.join('; ')}` };
}

function bestPerRow(values: (number | undefined)[]): Cell[] {
  const best = Math.max(...values.filter((v): v is number => v !== undefined));
  return values.map((v) => (v === undefined ? '-' : v === best ? `**${pct(v)}**` : pct(v)));
}

export function sturdinessMarkdown(r: SturdinessReport): string {
  const c = r.config;
  const cells = r.cells;
  const head = (first: string): string[] => [first, ...cells.map(label)];
  const lines: string[] = [];
  lines.push(`# Sturdiness grid: ${c.model} on ${c.dataset}`, '');
  lines.push(`Command: \`${r.command}\` (${r.date}; ${r.machine.cores} cores, ${r.machine.cpu}, Node ${r.machine.node}; tfjs backend ${r.backends.join(', ') || '-'}).`, '');
  lines.push(`Training: ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}${c.limitTrain ? ` on ${c.limitTrain} training images spread over the split` : ' on the whole training split'}, seed ${c.seed}, `
    + `SGD momentum 0.9, learning rate ${c.lr ?? modelDefaults(c.model).lr} x0.1 at 50% and 75% of the epochs, Mixup Beta(0.5, 0.5). `
    + `Accuracies on ${cells[0]?.n ?? c.evalN ?? 'all'} test images${c.evalN ? ' spread over the classes' : ''}. `
    + `Minimax bound B: ${c.bound === 'auto' ? 'per model, the largest |ReLU input| over 256 training images' : c.bound}.`, '');
  const ngnvCells = cells.filter((x) => x.ngnv);
  if (ngnvCells.length) lines.push(`NGNV (r, lambda): ${ngnvCells.map((x) => `${label(x)} (${x.ngnv!.r}, ${x.ngnv!.lambda})`).join(', ')}; from ${[...new Set(ngnvCells.map((x) => x.ngnv!.source))].join(' and ')}.`, '');
  if (r.failed.length) lines.push(`**Not finished**: ${r.failed.map((f) => `${f.id} (${f.error})`).join('; ')}. Rerun the same command to resume.`, '');

  if (c.alphas.length) {
    lines.push('## PANN accuracy (%) at precision 2^-alpha (layout of the seed\'s Table 2)', '');
    const rows: Cell[][] = c.alphas.map((a) => [`alpha ${a}`, ...bestPerRow(cells.map((x) => minimaxAt(x, a)))]);
    rows.push(['backbone', ...bestPerRow(cells.map((x) => x.backbone))]);
    rows.push(['B', ...cells.map((x) => (x.bound === undefined ? '-' : x.bound.toPrecision(4)))]);
    rows.push(['out of range at B', ...cells.map((x) => (x.minimax[0] ? `${x.minimax[0].outside} / ${x.minimax[0].total}` : '-'))]);
    lines.push(markdownTable(head('precision'), rows));
  }
  if (c.lxs.length) {
    lines.push('## Truncation ReLU accuracy (%) at l_x bits (layout of the seed\'s Table 8)', '');
    const rows: Cell[][] = [['backbone', ...bestPerRow(cells.map((x) => x.backbone))]];
    for (const lx of c.lxs) rows.push([`l_x=${lx}`, ...bestPerRow(cells.map((x) => truncAt(x, lx)))]);
    lines.push(markdownTable(head(''), rows));
  }
  lines.push('## Training', '');
  lines.push(markdownTable(['cell', 'epochs', 'train images', 'final train loss', 'test accuracy %', 'train s', 'img/s', 'backend'],
    cells.map((x) => [label(x), x.train.epochs, x.train.trainImages, x.train.finalTrainLoss.toFixed(4), pct(x.train.testAccuracy), x.train.seconds.toFixed(0), x.train.imagesPerSecond.toFixed(0), x.backend])));
  lines.push(`Cells' own processes: ${(cells.reduce((s, x) => s + x.seconds, 0) / 60).toFixed(1)} min in all (training ${(cells.reduce((s, x) => s + x.train.seconds, 0) / 60).toFixed(1)} min); this report's run: ${(r.seconds / 60).toFixed(1)} min${r.resumed.length ? `, ${r.resumed.length} cells finished by an earlier run of the same command` : ''}.`, '');
  lines.push('## The seed\'s findings, checked', '');
  lines.push(`Differences under ${NOISE_POINTS} accuracy points count as noise (one image of ${cells[0]?.n ?? '?'} is ${cells[0] ? (100 / cells[0].n).toFixed(2) : '?'} points).`, '');
  for (const f of r.findings) lines.push(`- **${f.claim}**: ${f.verdict}. ${f.evidence}`);
  return lines.join('\n') + '\n';
}

async function panelsSvg(r: SturdinessReport, x: 'alpha' | 'lx'): Promise<string> {
  const wds = [...new Set(r.cells.map((c) => c.wd))].sort((a, b) => a - b);
  const xs = x === 'alpha' ? r.config.alphas : r.config.lxs;
  const at = (c: CellResult, v: number): number | undefined => (x === 'alpha' ? minimaxAt(c, v) : truncAt(c, v));
  const all = r.cells.flatMap((c) => xs.map((v) => at(c, v)).filter((v): v is number => v !== undefined));
  const lowest = Math.max(0, Math.floor((Math.min(...all) * 100 - 2) / 5) * 5);
  const charts: LineChartOptions[] = wds.map((wd) => ({
    title: `weight decay ${formatWd(wd)}: ${x === 'alpha' ? 'minimax PANN' : 'truncation ReLU'} (${r.config.model}, ${r.cells[0]?.n ?? ''} test images)`,
    xTitle: x === 'alpha' ? 'alpha (precision 2^-alpha)' : 'l_x (bits of the sign test)',
    yTitle: 'accuracy %',
    yDomain: [lowest, 100],
    height: 220,
    series: r.cells.filter((c) => c.wd === wd).map((c) => ({
      name: methodLabel(c.method),
      points: xs.flatMap((v) => { const a = at(c, v); return a === undefined ? [] : [[v, a * 100] as const]; }),
    })),
  }));
  return stackedChartsSvg(charts, xs);
}

export function sturdinessReport(run: { config: GridConfig; results: CellResult[]; failed: { id: string; error: string }[]; seconds: number; resumed?: string[] }, command: string): SturdinessReport {
  return {
    command,
    date: new Date().toISOString(),
    machine: machineInfo(),
    backends: [...new Set(run.results.map((c) => c.backend))],
    config: run.config,
    cells: run.results,
    failed: run.failed,
    seconds: run.seconds,
    resumed: run.resumed ?? [],
    findings: sturdinessFindings(run.results, run.config),
  };
}

export const STURDINESS_FILES = ['sturdiness.md', 'sturdiness.json', 'sturdiness-alpha.svg', 'sturdiness-lx.svg'] as const;

/** Writes the Markdown, the JSON and the plots (those with data) into `dir`; returns their paths. */
export async function writeSturdinessFiles(r: SturdinessReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const [md, json, alpha, lx] = STURDINESS_FILES.map((f) => path.join(dir, f)) as [string, string, string, string];
  writeFileAtomic(md, sturdinessMarkdown(r));
  writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  const written = [md, json];
  if (r.cells.length && r.config.alphas.length) written.push((writeFileAtomic(alpha, await panelsSvg(r, 'alpha')), alpha));
  if (r.cells.length && r.config.lxs.length) written.push((writeFileAtomic(lx, await panelsSvg(r, 'lx')), lx));
  return written;
}

/**
 * The method comparison's runner: one worker process per cell (`mpcnet
 * experiment methods-cell`), `jobs` at a time, resuming a partly finished
 * run: OUT/methods-grid.json fixes the configuration, a cell with
 * cells/ID/result.json is done, and a worker finds the half (MPC or
 * plaintext) an earlier run finished, or the checkpoint it stopped at. A
 * failed cell does not stop the others; a rerun of the same command picks
 * it up.
 */
import cliProgress from 'cli-progress';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pool, runJob } from '../parallel.js';
import { cellDir, claimGridDir, readCellResults, timeLeft } from '../cell-grid.js';
import { writeJsonAtomic } from '../../common/atomic-write.js';
import { checkMethodsConfig, methodCells, type MethodsCell, type MethodsConfig } from './grid.js';
import { METHODS_CELL_CONFIG, METHODS_CELL_RESULT, type MethodsCellConfig, type MethodsCellResult } from './result.js';

export const METHODS_GRID_FILE = 'methods-grid.json';

export interface MethodsRun {
  config: MethodsConfig;
  cells: MethodsCell[];
  /** Finished cells, in grid order. */
  results: MethodsCellResult[];
  failed: { id: string; error: string }[];
  /** Cells found finished from an earlier run. */
  resumed: string[];
  /** Wall seconds of this run. */
  seconds: number;
}

export function readMethodsResults(out: string, cells: readonly MethodsCell[]): MethodsCellResult[] {
  return readCellResults<MethodsCellResult>(out, cells, METHODS_CELL_RESULT);
}

/** What a worker prints for each of its cells (the results themselves are the cells' result.json). */
export interface CellOutcome {
  id: string;
  ok: boolean;
  error?: string;
  seconds: number;
}

export interface MethodsRunOptions {
  jobs: number;
  log?: (line: string) => void;
  progress?: boolean;
  /**
   * Give each of the `jobs` workers an equal share of the cells up front
   * instead of one process per cell: for tiny cells (--quick), where a
   * process's start (Node, tfjs, the data set: ~1 s) would outweigh the cell.
   */
  packCells?: boolean;
}

export async function runMethods(config: MethodsConfig, out: string, o: MethodsRunOptions): Promise<MethodsRun> {
  checkMethodsConfig(config);
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new RangeError(`--jobs must be a positive integer, got ${o.jobs}`);
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  claimGridDir(out, METHODS_GRID_FILE, config, 'comparison');
  const cells = methodCells(config);
  const done = new Set(readMethodsResults(out, cells).map((r) => r.id));
  const pending = cells.filter((c) => !done.has(c.id));
  for (const c of pending) {
    const dir = cellDir(out, c.id);
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(path.join(dir, METHODS_CELL_CONFIG), { config, cell: c } satisfies MethodsCellConfig);
  }
  if (done.size) log(`resuming ${out}: ${done.size} of ${cells.length} cells already done`);
  const groups: MethodsCell[][] = o.packCells
    ? Array.from({ length: Math.min(o.jobs, pending.length) }, (_, w) => pending.filter((_, i) => i % o.jobs === w))
    : pending.map((c) => [c]);

  const bars = o.progress && process.stderr.isTTY ? new cliProgress.MultiBar({
    format: 'methods [{bar}] {value}/{total} cells | {left} left', stream: process.stderr, hideCursor: true, clearOnComplete: false,
  }, cliProgress.Presets.shades_classic) : undefined;
  const bar = bars?.create(cells.length, done.size, { left: '?' });
  const say = (line: string): void => (bars ? bars.log(`${line}\n`) : log(line));
  const cellSeconds: number[] = [];
  const failed: MethodsRun['failed'] = [];
  let finished = done.size;
  await pool(groups.length, o.jobs, async (g) => {
    const group = groups[g]!;
    const args = ['experiment', 'methods-cell', ...group.flatMap((c) => ['--dir', cellDir(out, c.id)]), '--json'];
    const r = await runJob<CellOutcome[]>(args, (line) => say(group.length === 1 ? `[${group[0]!.id}] ${line}` : line));
    for (const c of group) {
      const outcome = r.report?.find((x) => x.id === c.id);
      finished++;
      if (outcome?.ok) cellSeconds.push(outcome.seconds);
      else failed.push({ id: c.id, error: outcome?.error ?? r.error ?? 'no result' });
    }
    const left = timeLeft(cellSeconds, cells.length - finished, o.jobs);
    bar?.update(finished, { left: left === undefined ? '?' : `${Math.round(left)} s` });
    if (!bars) log(`${finished}/${cells.length} cells done${left === undefined ? '' : `, ~${Math.round(left)} s left`}`);
  });
  bars?.stop();
  return { config, cells, results: readMethodsResults(out, cells), failed, resumed: [...done], seconds: (performance.now() - t0) / 1000 };
}

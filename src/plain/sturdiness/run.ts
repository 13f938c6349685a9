/**
 * The grid runner: one process per cell (`mpcnet experiment sturdiness-cell`),
 * `jobs` at a time (the wasm backend is one thread per process), resuming a
 * partly finished grid: OUT/grid.json fixes the configuration, a cell with
 * OUT/cells/ID/result.json is done, and a cell stopped mid-training continues
 * from its checkpoint. A failed cell does not stop the others; the runner
 * reports which failed and a rerun of the same command picks them up.
 */
import cliProgress from 'cli-progress';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pool, runJob } from '../parallel.js';
import { cellDir, claimGridDir, readCellResults, timeLeft } from '../cell-grid.js';
import { writeJsonAtomic } from '../../common/atomic-write.js';
import { CELL_CONFIG_FILE, CELL_RESULT_FILE, type CellConfig, type CellResult } from './cell.js';
import { checkGridConfig, gridCells, type GridCell, type GridConfig } from './grid.js';

export const GRID_FILE = 'grid.json';

export interface GridRun {
  config: GridConfig;
  cells: GridCell[];
  /** Results of the finished cells, in grid order. */
  results: CellResult[];
  /** Cells without a result, with the reason. */
  failed: { id: string; error: string }[];
  /** Cells found finished from an earlier run. */
  resumed: string[];
  /** Wall seconds of this run. */
  seconds: number;
}

export interface GridOptions {
  jobs?: number;
  log?: (line: string) => void;
  /** A progress bar on stderr (when it is a terminal). */
  progress?: boolean;
}

/** Finished cells of a grid directory, in grid order (for reports without running anything). */
export function readGridResults(out: string, cells: readonly GridCell[]): CellResult[] {
  return readCellResults<CellResult>(out, cells, CELL_RESULT_FILE);
}

const duration = (s: number): string => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

export { timeLeft } from '../cell-grid.js';

export async function runGrid(config: GridConfig, out: string, o: GridOptions = {}): Promise<GridRun> {
  checkGridConfig(config);
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const jobs = o.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`--jobs must be a positive integer, got ${jobs}`);
  claimGridDir(out, GRID_FILE, config, 'grid');
  const cells = gridCells(config);
  const done = new Set(readGridResults(out, cells).map((r) => r.id));
  const pending = cells.filter((c) => !done.has(c.id));
  for (const c of pending) {
    const dir = cellDir(out, c.id);
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(path.join(dir, CELL_CONFIG_FILE), { grid: config, cell: c } satisfies CellConfig);
  }
  if (done.size) log(`resuming ${out}: ${done.size} of ${cells.length} cells already done (${[...done].join(', ')})`);

  const bars = o.progress && process.stderr.isTTY ? new cliProgress.MultiBar({
    format: 'sturdiness [{bar}] {value}/{total} cells | {left} left | {last}',
    stream: process.stderr, hideCursor: true, clearOnComplete: false,
  }, cliProgress.Presets.shades_classic) : undefined;
  const bar = bars?.create(cells.length, done.size, { left: '?', last: `${pending.length} to run, ${Math.min(jobs, pending.length)} at a time` });
  const say = (line: string): void => (bars ? bars.log(`${line}\n`) : log(line));
  const cellSeconds: number[] = [];
  const failed: GridRun['failed'] = [];
  let finished = done.size;
  await pool(pending.length, jobs, async (i) => {
    const c = pending[i]!;
    say(`cell ${c.id}: started`);
    const r = await runJob<CellResult>(['experiment', 'sturdiness-cell', '--dir', cellDir(out, c.id), '--json'], (line) => say(`[${c.id}] ${line}`));
    finished++;
    if (r.ok) cellSeconds.push(r.seconds);
    else failed.push({ id: c.id, error: r.error ?? 'failed' });
    const left = timeLeft(cellSeconds, cells.length - finished, jobs);
    const leftText = left === undefined ? '?' : duration(left);
    const last = r.ok ? `${c.id}: backbone ${(r.report!.backbone * 100).toFixed(2)}% (${duration(r.seconds)})` : `${c.id}: FAILED`;
    bar?.update(finished, { left: leftText, last });
    if (!bars) log(`cell ${c.id} ${r.ok ? 'done' : `failed (${r.error})`} in ${duration(r.seconds)}: ${finished}/${cells.length} cells, ~${leftText} left`);
  });
  bars?.stop();
  return { config, cells, results: readGridResults(out, cells), failed, resumed: [...done], seconds: (performance.now() - t0) / 1000 };
}

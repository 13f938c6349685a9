/**
 * The directory layout that the experiment grids (experiment sturdiness,
 * experiment methods) share: OUT/<grid file> fixes the configuration,
 * OUT/cells/ID/ holds one cell, and a cell's result file, written last,
 * marks it done. A rerun of the same command resumes from what is there.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../common/atomic-write.js';


/** The fields of two grid configurations that differ, as "key: old there, new now; ..." (undefined when none). */
export function configDifference<C extends object>(a: C, b: C): string | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof C)[];
  const diff = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return diff.length === 0 ? undefined : diff.map((k) => `${String(k)}: ${JSON.stringify(b[k])} there, ${JSON.stringify(a[k])} now`).join('; ');
}

export function cellDir(out: string, id: string): string {
  return path.join(out, 'cells', id);
}

/** Finished cells of a grid directory, in grid order (for reports without running anything). */
export function readCellResults<R>(out: string, cells: readonly { id: string }[], resultFile: string): R[] {
  return cells.flatMap((c) => {
    const f = path.join(cellDir(out, c.id), resultFile);
    return existsSync(f) ? [JSON.parse(readFileSync(f, 'utf8')) as R] : [];
  });
}

/**
 * Refuses to mix two different grids in one directory; writes the grid file
 * for a new one. `what` names the grid in the error ("grid", "comparison").
 */
export function claimGridDir<C extends object>(out: string, gridFile: string, config: C, what: string): void {
  mkdirSync(out, { recursive: true });
  const file = path.join(out, gridFile);
  if (!existsSync(file)) return writeJsonAtomic(file, config);
  let old: C;
  try {
    old = JSON.parse(readFileSync(file, 'utf8')) as C;
  } catch (err) {
    throw new Error(`${file}: unreadable (${(err as Error).message}); remove it or use another --out`);
  }
  const diff = configDifference(config, old);
  if (diff) throw new Error(`${file}: this directory holds a different ${what} (${diff}); use another --out, or the same settings to resume it`);
}

/** Time left: the mean time of the cells finished in this run, over the cells left, `jobs` at a time. */
export function timeLeft(cellSeconds: readonly number[], left: number, jobs: number): number | undefined {
  if (cellSeconds.length === 0) return undefined;
  const mean = cellSeconds.reduce((a, b) => a + b, 0) / cellSeconds.length;
  return Math.ceil(left / Math.max(1, jobs)) * mean;
}

/**
 * `mpcnet experiment methods --quick --emulate` end to end: 13 rows (PPoly
 * and the 12 fixed fits) x with / without batch norm, each cell trained by
 * the emulated MPC job and by plaintext tfjs; methods.md laid out like the
 * seed's Tables 3-6 with the command on top, methods.json with every cell.
 * Then resuming: a rerun keeps finished cells, a cell that lost its
 * plaintext half redoes only that half, and another configuration in the
 * same directory is refused.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { presetFit } from '../src/approx/fit-presets.js';
import { packageRoot } from '../src/mpc/launcher.js';
import { methodCells } from '../src/plain/methods/grid.js';
import type { MethodsReport } from '../src/report/methods.js';

const T = 150_000;
const root = mkdtempSync(path.join(tmpdir(), 'mpcnet-methods-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cli(args: string[], timeout = 140_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(packageRoot(), 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mpcnet experiment methods --quick --emulate', () => {
  const out = path.join(root, 'out');
  const args = ['experiment', 'methods', '--quick', '--emulate', '--jobs', '2', '--out', out, '--progress', 'false'];

  it('trains all 26 cells and writes the table of the seed\'s Tables 3-6', () => {
    const t0 = performance.now();
    const r = cli([...args, '--json']);
    console.log(`experiment methods --quick --emulate: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(r.stdout) as MethodsReport;
    expect(report.cells).toHaveLength(26);
    expect(report.failed).toEqual([]);
    expect(report.cells.map((c) => c.id)).toEqual(methodCells(report.config).map((c) => c.id));
    for (const c of report.cells) {
      expect(c.mpc.mode).toBe('emulated');
      for (const o of [c.mpc, c.plain]) {
        expect(o.testCount).toBe(16);
        if (o.status === 'ok') expect(o.testAccuracy).toBeGreaterThanOrEqual(0);
      }
      // Fixed rows train the preset fit as public constants; the PPoly row starts from the regression Leaky ReLU.
      if (c.row.kind === 'fit') expect(c.activation).toMatchObject({ kind: 'polynomial', coefficients: presetFit(c.row.fn, c.row.method).coefficients });
      else expect(c.activation).toMatchObject({ kind: 'ppoly', coefficients: presetFit('leaky-relu', 'lstsq').coefficients });
    }
    expect(report.fits).toHaveLength(12);

    const md = readFileSync(path.join(out, 'methods.md'), 'utf8');
    expect(md.split('\n').find((l) => l.startsWith('Command:'))).toContain('experiment methods --quick --emulate');
    expect(md).toMatch(/MPC side: \*\*emulated/);
    const table = md.split('## Test accuracy')[1]!.split('\n## ')[0]!.split('\n').filter((l) => l.startsWith('|'));
    expect(table[0]).toMatch(/\| Method .*\| Function .*\| Degree .*\| BN: MPC \(emulated\) .*\| BN: plaintext .*\| no BN: MPC \(emulated\) .*\| no BN: plaintext/);
    const rows = table.slice(2).map((l) => l.split('|').slice(1, -1).map((x) => x.trim()));
    expect(rows).toHaveLength(13);
    expect(rows.map((x) => `${x[0]} / ${x[1]}`)).toEqual([
      'PPoly (learnable) / Leaky ReLU (start)',
      ...['Regression', 'Taylor series', 'Chebyshev', 'Lagrange'].flatMap((m) => ['Leaky ReLU', 'Swish', 'tanh'].map((f) => `${m} / ${f}`)),
    ]);
    for (const x of rows) {
      expect(x).toHaveLength(9);
      expect(x[2]).toBe('3');
      // accuracies (bold when best), or marked diverged; times "MPC / plaintext" seconds
      for (const j of [3, 4, 6, 7]) expect(x[j]).toMatch(/^(\*\*\d+\.\d\d\*\*|\d+\.\d\d|\d+\.\d\d \(diverged\)|diverged \(loss NaN\))$/);
      for (const j of [5, 8]) expect(x[j]).toMatch(/^\d+\.\d \/ \d+\.\d$/);
    }
  }, T);

  it('resumes: finished cells are kept, a lost plaintext half is redone alone; another configuration is refused', () => {
    const cell = path.join(out, 'cells', 'tanh-chebyshev-nobn');
    const mpcBefore = statSync(path.join(cell, 'mpc.json')).mtimeMs;
    rmSync(path.join(cell, 'result.json'));
    rmSync(path.join(cell, 'plain.json'));
    rmSync(path.join(cell, 'plain'), { recursive: true });
    const r = cli([...args, '--json']);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(r.stdout) as MethodsReport;
    expect(report.cells).toHaveLength(26);
    expect(report.resumed).toHaveLength(25);
    expect(report.resumed).not.toContain('tanh-chebyshev-nobn');
    expect(statSync(path.join(cell, 'mpc.json')).mtimeMs).toBe(mpcBefore);
    expect(statSync(path.join(cell, 'plain.json')).isFile()).toBe(true);

    const other = cli([...args.filter((a) => a !== '--quick'), '--limit-train', '32', '--limit-test', '16', '--batch', '16']);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/mpcnet: .*holds a different comparison \(limitTrain: 16 there, 32 now\)/);
  }, T);
});

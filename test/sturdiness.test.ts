/**
 * The sturdiness grid: cells and NGNV parameters (seed Table 11), the
 * findings checked on made-up results whose answer is known, and
 * `mpcnet experiment sturdiness --quick` end to end in real processes:
 * report files, resume of a finished, a half-finished and a failed grid,
 * refusal of a different grid in the same directory.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/mpc/launcher.js';
import type { CellResult } from '../src/plain/sturdiness/cell.js';
import {
  cellId, checkGridConfig, configDifference, gridCells, parseMethods, parseNgnvPair, parseWeightDecays, STURDY_METHODS, type GridConfig,
} from '../src/plain/sturdiness/grid.js';
import { timeLeft } from '../src/plain/sturdiness/run.js';
import { sturdinessFindings, sturdinessMarkdown, sturdinessReport, type SturdinessReport } from '../src/report/sturdiness.js';

const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

const base: GridConfig = {
  model: 'resnet20', dataset: 'mnist', epochs: 2, seed: 1, methods: [...STURDY_METHODS], weightDecays: [0, 1e-4, 5e-4],
  alphas: [7, 8, 9, 10], lxs: [6, 8, 16], bound: 'auto', backend: 'auto',
};

describe('grid', () => {
  it('is methods x weight decays with the NGNV (r, lambda) of the seed\'s Table 11', () => {
    const cells = gridCells(base);
    expect(cells.map((c) => c.id)).toEqual([
      'vanilla-wd0', 'vanilla-wd1e-4', 'vanilla-wd5e-4', 'mixup-wd0', 'mixup-wd1e-4', 'mixup-wd5e-4',
      'ngnv-wd0', 'ngnv-wd1e-4', 'ngnv-wd5e-4', 'mixup-ngnv-wd0', 'mixup-ngnv-wd1e-4', 'mixup-ngnv-wd5e-4',
    ]);
    expect(cells.filter((c) => c.mixup).map((c) => c.method)).toEqual(['mixup', 'mixup', 'mixup', 'mixup+ngnv', 'mixup+ngnv', 'mixup+ngnv']);
    expect(cells.filter((c) => !c.ngnv).map((c) => c.method)).toEqual(['vanilla', 'vanilla', 'vanilla', 'mixup', 'mixup', 'mixup']);
    // Table 11, ResNet-20 on CIFAR-10
    const pair = (m: 'ngnv' | 'mixup+ngnv', wd: number): [number, number] => {
      const c = cells.find((x) => x.method === m && x.wd === wd)!;
      return [c.ngnv!.r, c.ngnv!.lambda];
    };
    expect([pair('ngnv', 0), pair('ngnv', 1e-4), pair('ngnv', 5e-4)]).toEqual([[0.3, 0.3], [0.1, 0.3], [0.3, 0.2]]);
    expect([pair('mixup+ngnv', 0), pair('mixup+ngnv', 1e-4), pair('mixup+ngnv', 5e-4)]).toEqual([[0.5, 0.1], [0.5, 0.1], [0.5, 0.05]]);
  });

  it('takes NGNV parameters from flags, and needs them for a weight decay Table 11 lacks', () => {
    const flagged = gridCells({ ...base, weightDecays: [2e-4], ngnv: [0.2, 0.1], ngnvMixup: [0.4, 0.05] });
    expect(flagged.filter((c) => c.ngnv).map((c) => [c.ngnv!.r, c.ngnv!.lambda, c.ngnv!.source])).toEqual([[0.2, 0.1, 'flag'], [0.4, 0.05, 'flag']]);
    expect(() => gridCells({ ...base, weightDecays: [2e-4] })).toThrow(/Table 11 has no NGNV .* weight decay 0.0002.*give --ngnv r,lambda/);
    expect(gridCells({ ...base, methods: ['vanilla', 'mixup'], weightDecays: [2e-4] })).toHaveLength(2);
  });

  it('rejects bad options with one clear message', () => {
    expect(parseMethods('ngnv, vanilla')).toEqual(['vanilla', 'ngnv']);
    expect(() => parseMethods('vanilla,dropout')).toThrow(/--methods "vanilla,dropout": expected a comma list of vanilla, mixup, ngnv, mixup\+ngnv/);
    expect(parseWeightDecays('5e-4,0,1e-4,0')).toEqual([0, 1e-4, 5e-4]);
    expect(() => parseWeightDecays('0,-1')).toThrow(/--wds/);
    expect(parseNgnvPair('0.3,0.1', 'ngnv')).toEqual([0.3, 0.1]);
    expect(() => parseNgnvPair('0.3', 'ngnv')).toThrow(/--ngnv "0.3": expected r,lambda/);
    expect(() => parseNgnvPair('2,0.1', 'ngnv-mixup')).toThrow(/--ngnv-mixup "2,0.1": NGNV r must be in \[0, 1\]/);
    expect(() => checkGridConfig({ ...base, model: 'alexnet' })).toThrow(/alexnet/);
    expect(() => checkGridConfig({ ...base, epochs: 0 })).toThrow(/--epochs must be a positive integer/);
    expect(() => checkGridConfig({ ...base, bound: -1 })).toThrow(/--bound/);
    expect(() => checkGridConfig({ ...base, alphas: [], lxs: [] })).toThrow(/nothing to evaluate/);
    expect(cellId('mixup+ngnv', 1.5e-4)).toBe('mixup-ngnv-wd1.5e-4');
  });

  it('names what differs between two grids', () => {
    expect(configDifference(base, { ...base })).toBeUndefined();
    expect(configDifference({ ...base, epochs: 3 }, base)).toBe('epochs: 2 there, 3 now');
    expect(configDifference({ ...base, limitTrain: 100 }, base)).toBe('limitTrain: undefined there, 100 now');
  });

  it('estimates the time left from the cells finished in this run, jobs at a time', () => {
    expect(timeLeft([], 5, 2)).toBeUndefined();
    expect(timeLeft([10, 20], 5, 2)).toBe(45); // ceil(5 / 2) rounds of 15 s
    expect(timeLeft([10], 0, 2)).toBe(0);
  });
});

/** A made-up cell: backbone accuracy, accuracy at each alpha, at each l_x. */
function cell(method: CellResult['method'], wd: number, backbone: number, alpha: Record<number, number>, lx: Record<number, number>): CellResult {
  const p = (accuracy: number): { accuracy: number; correct: number; outside: number; total: number } => ({ accuracy, correct: Math.round(accuracy * 1000), outside: 0, total: 1 });
  return {
    id: cellId(method, wd), method, wd, mixup: method.startsWith('mixup'), backend: 'cpu',
    train: { testAccuracy: backbone, epochs: 1, trainImages: 10, seconds: 1, imagesPerSecond: 10, finalTrainLoss: 1 },
    n: 1000, backbone, bound: 10,
    minimax: Object.entries(alpha).map(([a, v]) => ({ alpha: Number(a), ...p(v) })),
    truncation: Object.entries(lx).map(([l, v]) => ({ lx: Number(l), ...p(v) })),
    seconds: 1,
  };
}

describe('the seed\'s findings', () => {
  const config: GridConfig = { ...base, methods: ['vanilla', 'ngnv'], weightDecays: [0, 5e-4], alphas: [8, 9], lxs: [6, 8] };

  it('reproduce on results made like the seed\'s Table 2 and Table 8', () => {
    const cells = [
      cell('vanilla', 0, 0.9, { 8: 0.80, 9: 0.88 }, { 6: 0.85, 8: 0.88 }),
      cell('vanilla', 5e-4, 0.92, { 8: 0.20, 9: 0.60 }, { 6: 0.80, 8: 0.90 }),
      cell('ngnv', 0, 0.91, { 8: 0.89, 9: 0.90 }, { 6: 0.90, 8: 0.91 }),
      cell('ngnv', 5e-4, 0.92, { 8: 0.30, 9: 0.70 }, { 6: 0.90, 8: 0.92 }),
    ];
    const f = sturdinessFindings(cells, config);
    expect(f.map((x) => x.verdict)).toEqual(['reproduces', 'reproduces', 'reproduces']);
    expect(f[0]!.evidence).toMatch(/^4 of 4 pairs agree by more than 0.5 points, 0 disagree; mean 41.75 .*Vanilla alpha 8: \+60.00/);
    expect(f[1]!.evidence).toMatch(/alpha 8: best NGNV wd 0 89.00%.*it is the best/);
    // vanilla loses 5 and 2 points (wd 0), 12 and 2 (wd 5e-4); NGNV loses 1, 0, 2, 0
    expect(f[2]!.evidence).toMatch(/^4 of 4 pairs agree .* mean 4.50 .*wd 5e-4 l_x 6: vanilla loses 12.00, sturdy 2.00 points/);
  });

  it('do not reproduce on results made the other way round, and are not measured without the cells', () => {
    const cells = [
      cell('vanilla', 0, 0.9, { 8: 0.50, 9: 0.60 }, { 6: 0.90, 8: 0.90 }),
      cell('vanilla', 5e-4, 0.92, { 8: 0.90, 9: 0.91 }, { 6: 0.92, 8: 0.92 }),
      cell('ngnv', 0, 0.91, { 8: 0.40, 9: 0.50 }, { 6: 0.80, 8: 0.85 }),
      cell('ngnv', 5e-4, 0.92, { 8: 0.80, 9: 0.85 }, { 6: 0.85, 8: 0.90 }),
    ];
    const f = sturdinessFindings(cells, config);
    expect(f.map((x) => x.verdict)).toEqual(['does not reproduce', 'does not reproduce', 'does not reproduce']);
    expect(f[1]!.evidence).toMatch(/alpha 8: best Vanilla wd 5e-4 90.00%, best of NGNV \/ Mixup\+NGNV at wd 0: NGNV wd 0 40.00% \(50.00 points behind\)/);
    const alone = sturdinessFindings([cells[0]!], config);
    expect(alone.map((x) => x.verdict)).toEqual(['not measured', 'not measured', 'not measured']);
  });

  it('lay the tables out like the seed\'s, best of each row in bold', () => {
    const cells = [cell('vanilla', 0, 0.9, { 8: 0.8, 9: 0.88 }, { 6: 0.85, 8: 0.88 }), cell('ngnv', 0, 0.91, { 8: 0.89, 9: 0.9 }, { 6: 0.9, 8: 0.91 })];
    const r: SturdinessReport = sturdinessReport({ config, results: cells, failed: [{ id: 'ngnv-wd5e-4', error: 'exit 1' }], seconds: 60 }, 'mpcnet experiment sturdiness');
    const md = sturdinessMarkdown(r);
    expect(md).toMatch(/\| precision +\| Vanilla wd 0 \| NGNV wd 0 +\|/);
    expect(md).toMatch(/\| alpha 8 +\| 80.00 +\| \*\*89.00\*\* +\|/);
    expect(md).toMatch(/\| l_x=6 +\| 85.00 +\| \*\*90.00\*\* +\|/);
    expect(md).toMatch(/\*\*Not finished\*\*: ngnv-wd5e-4 \(exit 1\)/);
  });
});

function mpcnet(args: string[], timeoutMs: number): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mpcnet experiment sturdiness --quick', () => {
  it('runs the grid in processes, writes the tables and plots, and resumes instead of starting over', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'mpcnet-sturdy-'));
    const args = ['experiment', 'sturdiness', '--model', 'cnn', '--quick', '--alpha', '8,9', '--lx', '6,16', '--jobs', '2', '--out', out];
    const first = mpcnet([...args, '--json'], 240_000);
    expect(first.status, first.stderr).toBe(0);
    const r = JSON.parse(first.stdout) as SturdinessReport;
    expect(r.cells.map((c) => c.id)).toEqual(gridCells({ ...base, model: 'cnn' }).map((c) => c.id));
    for (const c of r.cells) {
      expect(c.n).toBe(200);
      expect(c.train.trainImages).toBe(512);
      expect(r.backends).toContain(c.backend);
      expect(c.minimax.map((p) => p.alpha)).toEqual([8, 9]);
      expect(c.truncation.map((p) => p.lx)).toEqual([6, 16]);
      for (const p of [...c.minimax, ...c.truncation]) expect(p.accuracy).toBe(p.correct / 200);
      expect(c.bound).toBeGreaterThan(0);
      // the embedded MNIST is easy: one epoch on 512 images is far above chance for every method
      expect(c.backbone).toBeGreaterThan(0.3);
      // l_x 16 leaves no sign error at these magnitudes: the truncation ReLU equals the backbone
      expect(c.truncation[1]!.accuracy).toBeCloseTo(c.backbone, 10);
    }
    expect(r.findings).toHaveLength(3);
    for (const f of ['sturdiness.md', 'sturdiness.json', 'sturdiness-alpha.svg', 'sturdiness-lx.svg']) expect(existsSync(path.join(out, f)), f).toBe(true);
    expect(readFileSync(path.join(out, 'sturdiness-alpha.svg'), 'utf8')).toMatch(/^<svg[\s\S]*Mixup\+NGNV[\s\S]*<\/svg>$/);
    const md = readFileSync(path.join(out, 'sturdiness.md'), 'utf8');
    expect(md).toMatch(/layout of the seed's Table 2/);
    expect(md).toMatch(/\| alpha 8 /);
    expect(md).toMatch(/\| l_x=6 /);

    // finished: nothing runs again
    const again = mpcnet(args, 120_000);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/12 of 12 cells already done/);
    expect(again.stderr).not.toMatch(/cell \S+: started/);

    // one cell without its result (its finished checkpoint stays): only it runs, from the checkpoint
    rmSync(path.join(out, 'cells', 'ngnv-wd1e-4', 'result.json'));
    // another whose checkpoint is damaged: it fails, the others stand, the command says so and exits 1
    writeFileSync(path.join(out, 'cells', 'mixup-wd0', 'model', 'checkpoint', 'state.json'), '{not json');
    rmSync(path.join(out, 'cells', 'mixup-wd0', 'result.json'));
    const partial = mpcnet(args, 120_000);
    expect(partial.status).toBe(1);
    expect(partial.stderr).toMatch(/10 of 12 cells already done/);
    expect(partial.stderr).toMatch(/\[ngnv-wd1e-4\] resumed from .* after epoch 1/);
    expect(partial.stderr).toMatch(/cell ngnv-wd1e-4 done/);
    expect(partial.stderr).toMatch(/mpcnet: 1 of 12 cells failed \(mixup-wd0: exit 1: .*state\.json.*\); rerun the same command to resume/);
    const after = JSON.parse(readFileSync(path.join(out, 'sturdiness.json'), 'utf8')) as SturdinessReport;
    expect(after.cells).toHaveLength(11);
    expect(after.failed.map((f) => f.id)).toEqual(['mixup-wd0']);
    expect(readFileSync(path.join(out, 'sturdiness.md'), 'utf8')).toMatch(/\*\*Not finished\*\*: mixup-wd0/);

    // a different grid in the same directory is refused, naming the file and the difference
    const other = mpcnet([...args.filter((a) => a !== '--quick'), '--epochs', '2', '--limit-train', '512', '--n', '200'], 60_000);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/grid\.json: this directory holds a different grid \(epochs: 1 there, 2 now\); use another --out/);
  }, 480_000);
});

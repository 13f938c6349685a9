/**
 * `mpcnet bench relu` (built CLI): real 3-party sessions of the truncation
 * ReLU for tiny sizes; the payload bytes per element of every party equal
 * the protocol's formula, the rounds are the protocol's, the files are
 * written; bad parameters are refused before any party starts.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/mpc/launcher.js';
import type { ReluBenchReport } from '../src/report/relu-bench.js';

const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
/** Per process: a tiny run takes a few seconds on an idle machine; a busy 2-core one is several times slower. */
const SPAWN_TIMEOUT = 150_000;
const TEST_TIMEOUT = 180_000;

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking the worker (vitest's own timers keep running). */
function mpcnet(args: string[], timeoutMs = SPAWN_TIMEOUT): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mpcnet ${args.join(' ')}: still running after ${timeoutMs / 1000} s\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function expectFormulaBytes(report: ReluBenchReport): void {
  for (const row of report.rows) {
    expect(row.bytesPerElement).toHaveLength(3);
    expect(row.bytesPerElement).toEqual(row.formulaBytesPerElement);
    for (const p of row.parties) {
      expect(p.bytesSent).toBe(p.expectedBytesSent);
      expect(p.bytesReceived).toBe(p.expectedBytesReceived);
    }
    // P0 receives nothing in the protocol; P1 sends and receives; P2 too.
    expect(row.parties[0]!.bytesReceived).toBe(0);
    expect(row.parties[1]!.bytesReceived).toBeGreaterThan(0);
    expect(row.maxAbsError).toBe(0);
    expect(row.peakRssBytes.every((b) => b > 10 * 1024 * 1024)).toBe(true);
  }
}

describe('mpcnet bench relu', () => {
  it('relu at lx 6 and 8: bytes per element equal the formula, 2 rounds, files written', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-relu-bench-'));
    const r = await mpcnet(['bench', 'relu', '--lx', '6..8', '--n', '1000', '--reps', '1', '--json', '--out', dir]);
    expect(r.stderr).not.toMatch(/mpcnet:/);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as ReluBenchReport;
    expect(report.op).toBe('relu');
    expect(report.rows.map((w) => [w.lx, w.skip, w.n])).toEqual([[6, 0, 1000], [8, 0, 1000]]);
    expectFormulaBytes(report);
    for (const row of report.rows) {
      expect(row.roundsCritical).toBe(2);
      expect(row.expectedRounds).toBe(2);
      expect(row.rounds).toEqual([0, 2, 1]);
      expect(row.secondsPerRep).toHaveLength(1);
      expect(row.perSecond).toBeGreaterThan(0);
    }
    // One progress line per lx on stderr.
    expect(r.stderr.match(/^bench relu: relu lx \d+ /gm)).toHaveLength(2);

    const json = JSON.parse(readFileSync(path.join(dir, 'relu-bench.json'), 'utf8')) as ReluBenchReport;
    expect(json.rows).toEqual(report.rows);
    expect(json.command).toContain('bench relu --lx 6..8');
    expect(json.machine.cores).toBeGreaterThan(0);
    const md = readFileSync(path.join(dir, 'relu-bench.md'), 'utf8');
    expect(md).toMatch(/\| +lx \| +s \| +n \| B\/elem P0 \|/);
    expect(md.split('\n').filter((l) => /^\| +[68] \|/.test(l))).toHaveLength(2);
    const svg = readFileSync(path.join(dir, 'relu-bench.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('bytes per element');
    expect(svg).toContain('ms per call');
  }, TEST_TIMEOUT);

  it('drelu at lx 8 with skip 2: bytes equal the formula, 2 rounds', async () => {
    const r = await mpcnet(['bench', 'relu', '--op', 'drelu', '--lx', '8', '--skip', '2', '--n', '1000', '--reps', '1', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as ReluBenchReport;
    expectFormulaBytes(report);
    expect(report.rows[0]!.roundsCritical).toBe(2);
  }, TEST_TIMEOUT);

  it('maxpool 2x2 at lx 16: two ReLU levels, 4 rounds, bytes equal the formula', async () => {
    const r = await mpcnet(['bench', 'relu', '--op', 'maxpool', '--lx', '16', '--n', '1024', '--reps', '1', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as ReluBenchReport;
    expectFormulaBytes(report);
    const row = report.rows[0]!;
    expect(row.roundsCritical).toBe(4);
    expect(row.expectedRounds).toBe(4);
  }, TEST_TIMEOUT);

  it('refuses bad parameters before launching, one clear error each', async () => {
    const cases: [string[], RegExp][] = [
      [['--lx', '7'], /^mpcnet: --lx 7: lx must be even/],
      [['--lx', '6..9'], /^mpcnet: --lx 9: lx must be even/],
      [['--lx', '16', '--skip', '15'], /^mpcnet: --lx 16 with --skip 15: skip s must be an integer in \[0, lx - 2\] = \[0, 14\], got 15 \(s >= lx - 1/],
      [['--lx', '8', '--n', '0'], /^mpcnet: --n must be a positive integer \(elements per call\), got 0/],
      [['--lx', '8', '--frac-bits', '30'], /^mpcnet: --frac-bits 30 cannot work: /],
      [['--lx', '8', '--parties', '2'], /^mpcnet: --parties 2: bench relu runs a 3-party protocol/],
      [['--op', 'maxpool', '--lx', '8', '--n', '1001'], /^mpcnet: maxpool: n must be a positive multiple of 4/],
    ];
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-relu-bad-'));
    for (const [args, message] of cases) {
      const out = path.join(dir, args.join('_'));
      const r = await mpcnet(['bench', 'relu', ...args, '--out', out], 30_000);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
      // Refused before anything ran or was written.
      expect(existsSync(out)).toBe(false);
    }
  }, TEST_TIMEOUT);
});

/**
 * `mpcnet bench arith` (built CLI) refuses fixed-point settings that cannot
 * work, and job sizes the parties would refuse, at once and in one line;
 * the largest accepted --frac-bits runs.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/mpc/launcher.js';

const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
/** Per process: each run below takes well under a second on an idle machine. */
const SPAWN_TIMEOUT = 30_000;
/** Per test: a few processes on a busy 2-core machine. */
const CLI_TIMEOUT = 120_000;

function mpcnet(args: string[]): SpawnSyncReturns<string> & { seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: SPAWN_TIMEOUT });
  if (r.error) throw new Error(`mpcnet ${args.join(' ')}: ${r.error.message}\n${r.stderr ?? ''}`);
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

const tiny = ['bench', 'arith', '--op', 'mul', '--size', '1000', '--reps', '1'];

describe('mpcnet bench arith: fixed point', () => {
  it('refuses --frac-bits whose products leave under 15 integer bits, naming the rule', () => {
    for (const [f, frac, left] of [[30, 60, 3], [21, 42, 21]] as const) {
      const r = mpcnet([...tiny, '--emulate', '--frac-bits', String(f)]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `mpcnet: --frac-bits ${f} cannot work: a product of two fixed-point values carries 2f = ${frac} fractional bits, `
        + `leaving ${left} bits of integer range below 2^63; use 0 <= f <= 20 (at least 23 integer bits, 8 of them headroom against truncation wraps)\n`,
      );
    }
    // Not only --emulate: a real run is refused before any party starts, and so is a session config.
    const real = mpcnet([...tiny, '--frac-bits', '40']);
    expect(real.status).toBe(1);
    expect(real.stderr).toMatch(/^mpcnet: --frac-bits 40 cannot work: .* 2f = 80 fractional bits, leaving no integer range below 2\^63; use 0 <= f <= 20/);
    const config = path.join(mkdtempSync(path.join(tmpdir(), 'mpcnet-fixed-')), 'session.json');
    const session = mpcnet(['session', '--frac-bits', '32', '--out', config, '--ports', '1,2,3']);
    expect(session.status).toBe(1);
    expect(session.stderr).toMatch(/^mpcnet: --frac-bits 32 cannot work: /);
    expect(existsSync(config)).toBe(false);
  }, CLI_TIMEOUT);

  it('refuses a negative --frac-bits', () => {
    const r = mpcnet([...tiny, '--emulate', '--frac-bits', '-1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mpcnet: --frac-bits -1 cannot work: the number of fractional bits f must be a whole number >= 0; use 0 <= f <= 20 \(at least 23 integer bits, 8 of them headroom against truncation wraps\)/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  }, CLI_TIMEOUT);

  it('accepts --frac-bits 20 and multiplies to within 2^-19', () => {
    const r = mpcnet([...tiny, '--emulate', '--json', '--frac-bits', '20']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { fracBits: number; size: number; maxAbsError: number };
    expect(report).toMatchObject({ fracBits: 20, size: 1000 });
    expect(report.maxAbsError).toBeLessThan(2 ** -19);
  }, CLI_TIMEOUT);

  it('--emulate has the size limit of real runs and fails at once', () => {
    const r = mpcnet(['bench', 'arith', '--emulate', '--op', 'mul', '--size', '1000000000', '--reps', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`mpcnet: job: 'size' must be an integer in [1, ${2 ** 26}], got 1000000000\n`);
    expect(r.seconds).toBeLessThan(20); // it used to allocate ~6.5 GB before failing or finishing
  }, CLI_TIMEOUT);
});

/**
 * Backend selection (best available first, clean fall-through where a
 * backend cannot start) and the train / eval commands end to end.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/mpc/launcher.js';
import { BACKEND_NAMES, selectBackend } from '../src/plain/backend.js';
import { findVulkanLoader, probeWebGpuUncached } from '../src/plain/webgpu.js';

const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
/**
 * Each test below starts `mpcnet` processes (about 2-3 s each on an idle
 * machine); the limits leave room for a busy 2-core one. spawnSync blocks the
 * worker, so vitest's own timeout cannot fire during it: each process gets a
 * limit of its own, and a test's limit covers two of them.
 */
const SPAWN_TIMEOUT = 55_000;
const CLI_TIMEOUT = 120_000;

/** Runs `node dist/src/cli/main.js ...args`; throws, with its stderr, if it could not run or ran past SPAWN_TIMEOUT. */
function mpcnet(args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: SPAWN_TIMEOUT });
  if (r.error) throw new Error(`mpcnet ${args.join(' ')}: ${r.error.message}\n${r.stderr ?? ''}`);
  return r;
}

const installed = (pkg: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

describe('backend selection', () => {
  it('the WebGPU probe falls through cleanly without an adapter', async () => {
    const probe = await probeWebGpuUncached();
    const forced = await probeWebGpuUncached({ skipLibraryCheck: true });
    if (process.platform === 'linux' && findVulkanLoader() === undefined) {
      // This machine: no Vulkan loader, so no Dawn adapter either; both are reasons, not crashes.
      expect(probe).toEqual({ ok: false, reason: expect.stringMatching(/no Vulkan loader/) });
      expect(forced).toEqual({ ok: false, reason: expect.stringMatching(/no WebGPU adapter|Dawn failed/) });
    } else {
      for (const p of [probe, forced]) expect(p.ok ? p.adapter.length > 0 : p.reason.length > 0).toBe(true);
    }
  });

  it('auto takes the first backend that starts and records why the better ones were skipped', async () => {
    const c = await selectBackend('auto');
    const rank = BACKEND_NAMES.indexOf(c.name);
    expect(c.skipped.map((s) => s.name)).toEqual(BACKEND_NAMES.slice(0, rank));
    for (const s of c.skipped) expect(s.reason.length).toBeGreaterThan(5);
    if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu') && findVulkanLoader() === undefined) {
      expect(c.name).toBe('wasm');
      expect(c.skipped.find((s) => s.name === 'tfjs-node')?.reason).toMatch(/not installed/);
    }
    expect(c.tfBackend).toBe(c.name === 'wasm' || c.name === 'cpu' || c.name === 'webgpu' ? c.name : 'tensorflow');
  });

  it('an explicit backend that cannot start is an error naming it; cpu always starts', async () => {
    if (!installed('@tensorflow/tfjs-node')) await expect(selectBackend('tfjs-node')).rejects.toThrow(/backend tfjs-node is not available: not installed/);
    expect((await selectBackend('cpu')).tfBackend).toBe('cpu');
    expect((await selectBackend('wasm')).tfBackend).toBe('wasm');
  });
});

describe('mpcnet train / eval', () => {
  it('trains the seed CNN on a slice of MNIST, saves it, and eval reproduces its accuracy', () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'mpcnet-cli-')), 'cnn');
    const t = mpcnet(['train', '--model', 'cnn', '--dataset', 'mnist', '--epochs', '1', '--lr', '0.02',
      '--limit-train', '600', '--limit-test', '300', '--backend', 'wasm', '--out', out, '--json']);
    expect(t.stderr).toMatch(/backend: wasm/);
    expect(t.status).toBe(0);
    const report = JSON.parse(t.stdout) as { testAccuracy: number; testCount: number; complete: boolean; backend: string };
    expect(report).toMatchObject({ testCount: 300, complete: true, backend: 'wasm' });
    expect(report.testAccuracy).toBeGreaterThan(0.5);
    const e = mpcnet(['eval', '--model', out, '--limit-test', '300', '--json']);
    expect(e.status).toBe(0);
    const ev = JSON.parse(e.stdout) as { accuracy: number; n: number };
    expect(ev.n).toBe(300);
    expect(ev.accuracy).toBe(report.testAccuracy);
  }, CLI_TIMEOUT);

  it('--seeds trains one run per seed in parallel worker processes', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'mpcnet-seeds-'));
    const r = mpcnet(['train', '--model', 'cnn', '--epochs', '1', '--limit-train', '128', '--limit-test', '64',
      '--backend', 'wasm', '--seeds', '3,4', '--jobs', '2', '--out', out, '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as { seeds: number[]; runs: { seed: number; out: string; testAccuracy: number }[]; meanAccuracy: number };
    expect(s.seeds).toEqual([3, 4]);
    expect(s.runs.map((x) => [x.seed, x.out])).toEqual([[3, path.join(out, 'seed-3')], [4, path.join(out, 'seed-4')]]);
    expect(s.meanAccuracy).toBeCloseTo((s.runs[0]!.testAccuracy + s.runs[1]!.testAccuracy) / 2, 10);
    expect(r.stderr).toMatch(/\[seed 3\] backend: wasm/);
  }, CLI_TIMEOUT);

  it('fails with the file named for a directory that holds no model, and on bad options', () => {
    const e = mpcnet(['eval', '--model', '/nonexistent/run', '--json']);
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/\/nonexistent\/run\/manifest\.json: manifest not found/);
    const t = mpcnet(['train', '--model', 'resnet21', '--epochs', '1']);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/unknown model "resnet21"/);
    const n = mpcnet(['train', '--model', 'cnn', '--epochs', '1', '--ngnv', '0.3']);
    expect(n.status).toBe(1);
    expect(n.stderr).toMatch(/--ngnv "0.3": expected r,lambda/);
  }, CLI_TIMEOUT);
});

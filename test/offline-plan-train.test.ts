/**
 * Offline phase of MPC training (src/cli/train-mpc.ts, planTrainMpc):
 * `train --mpc ... --plan-out DIR` rehearses the run (no data, weights or
 * checkpoints) and writes its plan; the same command with `--offline DIR`
 * trains in real party processes with no dealer work online, and a
 * resumed run takes a plan made with --resume. Another run's plan is
 * refused naming the file.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/mpc/launcher.js';

const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
/** Per process: a few seconds on an idle machine. */
const SPAWN_TIMEOUT = 90_000;

interface Report {
  complete: boolean;
  testAccuracy: number | null;
  perParty: { id: number; bytesSent: number }[];
  offlinePlan?: { entries: number; dealerCorrelationsServed: number; fileBytes: { P0: number } };
}

function mpcnet(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: SPAWN_TIMEOUT });
  if (r.error) throw new Error(`mpcnet ${args.join(' ')}: ${r.error.message}\n${r.stderr ?? ''}`);
  return r;
}

function json<T>(r: { status: number | null; stdout: string; stderr: string }): T {
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('offline plan: MPC training (2 parties)', () => {
  it('a run and its resumption each train from their plan with no dealer work; another run\'s plan is refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-train-'));
    const out = path.join(dir, 'model');
    // 4 batches of 16: 2 in the first run, 2 in the resumed one.
    const train = ['train', '--mpc', '--model', 'cnn', '--act', 'ppoly', '--dataset', 'mnist', '--epochs', '1', '--batch', '16', '--lr', '0.002',
      '--limit-train', '64', '--limit-test', '64', '--checkpoint-every', '2', '--plain-ws', '--json', '--progress', 'false', '--out', out];

    const first = path.join(dir, 'plan-first');
    const made = json<{ entries: number; derivedBy: string }>(mpcnet([...train, '--stop-after-steps', '2', '--plan-out', first]));
    expect(made.derivedBy).toBe('rehearsal');
    expect(existsSync(out)).toBe(false); // the rehearsal wrote no checkpoint or model

    // Another run's plan (here: another learning rate) is refused before any party starts.
    const other = mpcnet([...train.map((a) => (a === '0.002' ? '0.003' : a)), '--stop-after-steps', '2', '--offline', first]);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain(`--offline: the plan in ${path.join(first, 'plan.json')} was made for a different job or settings`);

    const r1 = json<Report>(mpcnet([...train, '--stop-after-steps', '2', '--offline', first]));
    expect(r1.complete).toBe(false);
    expect(r1.offlinePlan).toMatchObject({ entries: made.entries, dealerCorrelationsServed: 0 });

    const second = path.join(dir, 'plan-resume');
    const resumed = json<{ entries: number }>(mpcnet([...train, '--resume', '--plan-out', second]));
    const r2 = json<Report>(mpcnet([...train, '--resume', '--offline', second]));
    expect(r2.complete).toBe(true);
    expect(r2.testAccuracy).not.toBeNull();
    expect(r2.offlinePlan).toMatchObject({ entries: resumed.entries, dealerCorrelationsServed: 0 });
    expect(existsSync(path.join(out, 'model.json'))).toBe(true);
  }, 240_000);
});

/**
 * A party killed during the very first checkpoint write of `mpcnet train
 * --mpc` (MPCNET_FAULT=P1:checkpoint-write:1, src/mpc/fault-hook.ts): its
 * file never arrives, so the directory holds no complete checkpoint.
 * --resume must say so in one line naming the directory and telling the
 * user to start without --resume (touching nothing); a new run must move the
 * leftovers aside (not delete them) and train; its own checkpoint is then a
 * good one, which a further new run refuses to overwrite and --resume
 * accepts. The directory classification itself is checked in-process.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mpcnet } from './helpers/run-cli.js';
import { checkpointState, partyGenerations, writePartyCheckpoint, type MpcCheckpointMeta } from '../src/jobs/train-mpc-checkpoint.js';

// Each run starts three party processes and shares a CNN: a few seconds idle, far more on a loaded 2-core machine.
const T = 150_000;
const tmp = mkdtempSync(path.join(tmpdir(), 'mpcnet-ck-first-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The smallest real training the other tests use: two batches of 16, a checkpoint after the first.
const common = ['train', '--mpc', '--parties', '2', '--model', 'cnn', '--act', 'ppoly', '--dataset', 'mnist', '--epochs', '1', '--batch', '16',
  '--lr', '0.002', '--limit-train', '32', '--limit-test', '16', '--checkpoint-every', '1', '--json', '--progress', 'false'];

const errorLines = (stderr: string): string[] => stderr.trim().split('\n').filter((l) => l.startsWith('mpcnet:'));

describe('a party killed in the first checkpoint write (real processes)', () => {
  it('--resume says there is no complete checkpoint; a new run sets the leftovers aside and trains', async () => {
    const out = path.join(tmp, 'run');
    const ck = path.join(out, 'mpc-checkpoint');
    const t0 = performance.now();
    const killed = await mpcnet([...common, '--out', out], { MPCNET_FAULT: 'P1:checkpoint-write:1' });
    expect(killed.code).not.toBe(0);
    expect(killed.stderr).toMatch(/P1: killed by SIGKILL/);
    // P1 died with its first file written under the temporary name only.
    expect(existsSync(path.join(ck, 'p1.tmp'))).toBe(true);
    expect(existsSync(path.join(ck, 'p1.json'))).toBe(false);
    const leftovers = readdirSync(ck).sort();

    const resume = await mpcnet([...common, '--out', out, '--resume']);
    expect(resume.code).not.toBe(0);
    const lines = errorLines(resume.stderr);
    expect(lines, resume.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`no complete checkpoint in ${ck} `);
    expect(lines[0]).toMatch(/first checkpoint write was interrupted.*start without --resume/);
    expect(readdirSync(ck).sort()).toEqual(leftovers);

    const fresh = await mpcnet([...common, '--out', out]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect((JSON.parse(fresh.stdout) as { complete: boolean }).complete).toBe(true);
    const moved = /moved it to (\S+), starting a new run/.exec(fresh.stderr)?.[1];
    expect(moved, fresh.stderr).toMatch(/mpc-checkpoint\.incomplete-/);
    expect(readdirSync(moved!).sort()).toEqual(leftovers);

    // The new run's checkpoint is complete: kept from a new run, accepted by --resume.
    expect(checkpointState(out).kind).toBe('present');
    const again = await mpcnet([...common, '--out', out]);
    expect(again.code).not.toBe(0);
    expect(errorLines(again.stderr)[0]).toMatch(/already holds an MPC checkpoint/);
    const resumed = await mpcnet([...common, '--out', out, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming run .* at epoch 1, batch 0/);
    expect((JSON.parse(resumed.stdout) as { complete: boolean }).complete).toBe(true);
    console.log(`first-write kill, refused resume, new run, resume: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, T);
});

describe('checkpointState', () => {
  const meta = (party: string, mode: string): MpcCheckpointMeta => ({
    format: 'mpcnet-mpc-checkpoint', runId: 'r', party, settings: JSON.stringify({ mode }), epoch: 0, step: 1, history: [], seconds: 0,
  });

  it('tells no directory, an interrupted first write, and a checkpoint (of any mode) apart', () => {
    const out = path.join(tmp, 'states');
    expect(checkpointState(out)).toEqual({ kind: 'none' });
    const dir = path.join(out, 'mpc-checkpoint');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'p0.tmp'), '{"format": "mpcnet-mpc');
    expect(checkpointState(out)).toEqual({ kind: 'incomplete', dir, missing: [] });
    writePartyCheckpoint(out, meta('p0', '3pc'), []);
    expect(checkpointState(out)).toEqual({ kind: 'incomplete', dir, missing: ['p1', 'p2'] });
    writePartyCheckpoint(out, meta('p1', '3pc'), []);
    writePartyCheckpoint(out, meta('p2', '3pc'), []);
    expect(checkpointState(out)).toEqual({ kind: 'present' });
    // A party caught between its generations holds only the previous one: still resumable.
    writePartyCheckpoint(out, { ...meta('p2', '3pc'), step: 2 }, []);
    rmSync(path.join(dir, 'p2.json'));
    expect(partyGenerations(out, 'p2').map((g) => g.step)).toEqual([1]);
    expect(checkpointState(out)).toEqual({ kind: 'present' });

    const emu = path.join(tmp, 'emulated');
    writePartyCheckpoint(emu, meta('emulated', 'plain'), []);
    expect(checkpointState(emu)).toEqual({ kind: 'present' });
  });
});

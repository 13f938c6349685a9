/**
 * Hand-started parties: `mpcnet session` writes a config with fixed
 * addresses, three `mpcnet party` processes run it and print their results.
 * TLS sessions: each party's key from `mpcnet keygen` (as on three hosts)
 * or written by `mpcnet session`; a party given another party's key, or
 * none, is refused naming the problem.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { packageRoot } from '../src/mpc/launcher.js';
import { selectBackend } from '../src/plain/backend.js';
import { saveModel } from '../src/plain/model-io.js';
import { buildModel } from '../src/plain/models/index.js';
import { randomize } from './helpers/random-weights.js';

const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');


function runParty(id: number, config: string, key?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'party', '--id', String(id), '--config', config, ...(key ? ['--key', key] : [])]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type P0Result = { id: number; output: { traffic: { bytesSent: number; rounds: number }; maxAbsError: number } };

function checkMulRun(results: { code: number | null; stdout: string; stderr: string }[]): void {
  for (const [id, r] of results.entries()) expect(r.code, `P${id}: ${r.stderr}`).toBe(0);
  const p0 = JSON.parse(results[0]!.stdout) as P0Result;
  expect(p0.id).toBe(0);
  expect(p0.output.traffic.bytesSent).toBe(16 * 300);
  expect(p0.output.traffic.rounds).toBe(1);
  expect(p0.output.maxAbsError).toBeLessThan(1e-4);
  const p2 = JSON.parse(results[2]!.stdout) as { role: string; dealer: { correlations: number } };
  expect(p2.role).toBe('dealer');
  expect(p2.dealer.correlations).toBe(2); // warm-up + one timed repetition
}

async function writeSession(dir: string, extra: string[]): Promise<string> {
  const config = join(dir, 'session.json');
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const made = spawnSync(process.execPath, [cli, 'session', '--out', config, '--ports', ports.join(','), '--op', 'mul', '--size', '300', '--reps', '1', ...extra], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  return config;
}

describe('hand-started parties', () => {
  it('run a TLS session as on three hosts: each makes its key (mpcnet keygen), the config pins the certificates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpcnet-manual-'));
    const hosts = [0, 1, 2].map((id) => join(dir, `host${id}`));
    for (const [id, h] of hosts.entries()) {
      const k = spawnSync(process.execPath, [cli, 'keygen', '--id', String(id), '--dir', h], { encoding: 'utf8' });
      expect(k.status, k.stderr).toBe(0);
    }
    const config = await writeSession(dir, ['--certs', hosts.map((h, id) => join(h, `P${id}.cert.pem`)).join(',')]);
    expect(JSON.parse(readFileSync(config, 'utf8')).transport).toBe('tls');
    checkMulRun(await Promise.all([0, 1, 2].map((id) => runParty(id, config, join(hosts[id]!, `P${id}.key.pem`)))));
  }, 60_000);

  it('run a plain-ws session (--plain-ws) without keys', async () => {
    const config = await writeSession(mkdtempSync(join(tmpdir(), 'mpcnet-manual-')), ['--plain-ws']);
    checkMulRun(await Promise.all([0, 1, 2].map((id) => runParty(id, config))));
  }, 60_000);

  it("refuses a party with another party's key or without a key, and the others end naming the missing party", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpcnet-manual-'));
    const config = await writeSession(dir, ['--start-window', '3']); // keys written next to the config
    const key = (id: number): string => join(dir, `P${id}.key.pem`);
    const [p0, p1, p2, noKey] = await Promise.all([runParty(0, config, key(0)), runParty(1, config, key(1)), runParty(2, config, key(1)), runParty(2, config)]);
    expect(p2.code).not.toBe(0);
    expect(p2.stderr).toContain(`--key ${key(1)} with P2's certificate in ${config}: the private key does not belong to this party's certificate`);
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toContain(`session config ${config} is a TLS session: give P2's private key with --key`);
    for (const [id, r] of [p0, p1].entries()) {
      expect(r.code, `P${id}`).not.toBe(0);
      expect(r.stderr).toMatch(/missing P2/);
    }
  }, 60_000);
});

describe('hand-started parties: secure inference (mpcnet session --model)', () => {
  it('the session runs the infer job and only P1 gets the predictions, as mpcnet infer does', async () => {
    await selectBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'mpcnet-manual-infer-'));
    const model = join(dir, 'model');
    const m = buildModel({ name: 'cnn', activation: { kind: 'relu' }, seed: 3, inputShape: [28, 28, 1], numClasses: 10 });
    randomize(m, 11);
    await saveModel(m, model);
    const job = ['--model', model, '--parties', '3', '--relu', 'bicoptor', '--n', '12', '--batch', '6'];
    const config = await writeSession(dir, ['--plain-ws', ...job]);
    const results = await Promise.all([0, 1, 2].map((id) => runParty(id, config)));
    for (const [id, r] of results.entries()) expect(r.code, `P${id}: ${r.stderr}`).toBe(0);
    type Out = { output: { n: number; predictions?: number[]; correct?: number } };
    const [p0, p1, p2] = results.map((r) => JSON.parse(r.stdout) as Out);
    expect(p1!.output.predictions).toHaveLength(12);
    expect(p0!.output.predictions).toBeUndefined();
    expect(p2!.output.predictions).toBeUndefined();
    const launched = spawnSync(process.execPath, [cli, 'infer', ...job, '--plain-ws', '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(launched.status, launched.stderr).toBe(0);
    expect(p1!.output.correct).toBe((JSON.parse(launched.stdout) as { correct: number }).correct);
  }, 90_000);
});

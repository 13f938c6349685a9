/**
 * Hand-started parties: `mpcnet session` writes a config with fixed
 * addresses, three `mpcnet party` processes run it and print their results.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/mpc/launcher.js';

const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function runParty(id: number, config: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'party', '--id', String(id), '--config', config]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('hand-started parties', () => {
  it('run a session from a config written by `mpcnet session`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpcnet-manual-'));
    const config = join(dir, 'session.json');
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const made = spawnSync(process.execPath, [cli, 'session', '--out', config, '--ports', ports.join(','), '--op', 'mul', '--size', '300', '--reps', '1'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const results = await Promise.all([0, 1, 2].map((id) => runParty(id, config)));
    for (const [id, r] of results.entries()) expect(r.code, `P${id}: ${r.stderr}`).toBe(0);
    const p0 = JSON.parse(results[0]!.stdout) as { id: number; output: { traffic: { bytesSent: number; rounds: number }; maxAbsError: number } };
    expect(p0.id).toBe(0);
    expect(p0.output.traffic.bytesSent).toBe(16 * 300);
    expect(p0.output.traffic.rounds).toBe(1);
    expect(p0.output.maxAbsError).toBeLessThan(1e-4);
    const p2 = JSON.parse(results[2]!.stdout) as { role: string; dealer: { correlations: number } };
    expect(p2.role).toBe('dealer');
    expect(p2.dealer.correlations).toBe(2); // warm-up + one timed repetition
  }, 60_000);
});

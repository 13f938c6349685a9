/**
 * Failure paths with real processes: a party killed mid-protocol ends the
 * run for everyone with an error naming it; a stranger knocking on a
 * party's port is turned away without disturbing the session; bad configs
 * and bad CLI input give clear errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { packageRoot, RunError, startRun } from '../src/mpc/launcher.js';

const LONG_JOB = { kind: 'protocol-check', cases: [{ op: 'mul', size: 2000 }], seed: 1, repeat: 1_000_000 };

/** Exit code once the child has ended (null if a signal ended it). */
function exitOf(child: { exitCode: number | null; signalCode: string | null; once(ev: 'exit', cb: () => void): unknown }): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', () => resolve(child.exitCode));
  });
}

describe('a party killed mid-protocol', () => {
  it.each([1, 2])('P%i killed: the others exit non-zero within 10 s naming it', async (victim) => {
    let killedAt = 0;
    const handle = startRun({
      mode: '2pc',
      job: LONG_JOB,
      onProgress: (id, event) => {
        // Kill once the protocol loop is well under way.
        if (id === 0 && event['round'] === 20 && !killedAt) {
          killedAt = Date.now();
          handle.children[victim]!.kill('SIGKILL');
        }
      },
    });
    const err = await handle.done.then(() => null, (e: unknown) => e);
    const elapsed = Date.now() - killedAt;
    expect(killedAt).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(RunError);
    const failures = (err as RunError).failures;
    expect(failures.map((f) => f.id).sort()).toEqual([0, 1, 2]);
    for (const f of failures) {
      // The victim was killed; every survivor (all are connected to it) names it.
      expect(f.message).toMatch(f.id === victim ? /SIGKILL/ : new RegExp(`P${victim}\\b`));
    }
    for (const [id, child] of handle.children.entries()) {
      const code = await exitOf(child);
      if (id !== victim) expect(code, `P${id} exit code`).toBe(1);
    }
    expect(elapsed).toBeLessThan(10_000);
  }, 30_000);
});

describe('a silent party', () => {
  it('P1 stopped (SIGSTOP): the run ends with a timeout naming it, no hang', async () => {
    let stoppedAt = 0;
    const handle = startRun({
      mode: '2pc',
      job: LONG_JOB,
      recvTimeoutMs: 1500,
      graceMs: 3000,
      onProgress: (id, event) => {
        if (id === 0 && event['round'] === 5 && !stoppedAt) {
          stoppedAt = Date.now();
          handle.children[1]!.kill('SIGSTOP');
        }
      },
    });
    const err = await handle.done.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    const p0 = (err as RunError).failures.find((f) => f.id === 0);
    expect(p0?.message, (err as Error).message).toMatch(/timed out after 1500 ms waiting for '[^']+' from P1/);
    // The stopped party cannot exit by itself; the launcher kills it after the grace period.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
  }, 30_000);
});

describe('strangers at the door', () => {
  it('a wrong-key handshake and garbage frames are rejected; the session finishes', async () => {
    const handle = startRun({ mode: '2pc', job: { kind: 'protocol-check', cases: [{ op: 'mul', size: 500 }], seed: 2, repeat: 300 } });
    const addresses = await handle.addresses;
    const target = addresses[0]!;
    const knock = (send: (ws: WebSocket) => void): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://${target.host}:${target.port}`, { perMessageDeflate: false });
        ws.on('open', () => send(ws));
        ws.on('close', (code) => resolve(code));
        ws.on('error', () => {});
      });
    const codes = await Promise.all([
      knock((ws) => ws.send(Buffer.from('definitely not a handshake'))),
      knock((ws) => ws.send(JSON.stringify({ hello: 'P7', key: 'guess' }))),
    ]);
    // The party closed both connections itself, with a policy-violation or protocol-error code.
    for (const code of codes) expect([1002, 1008]).toContain(code);
    const run = await handle.done;
    expect(run.parties).toHaveLength(3);
    expect(handle.stderr(0)).toMatch(/rejected connection/);
  }, 60_000);
});

describe('bad input', () => {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

  it('a missing session config names the file', () => {
    const r = spawnSync(process.execPath, [cli, 'party', '--id', '0', '--config', '/nonexistent/session.json'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read session config \/nonexistent\/session\.json/);
  });

  it('a config with a bad field names the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpcnet-'));
    const path = join(dir, 'session.json');
    writeFileSync(path, JSON.stringify({ sessionId: 's', sessionKeyHex: 'zz', mode: '2pc' }));
    const r = spawnSync(process.execPath, [cli, 'party', '--id', '0', '--config', path], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/'sessionKeyHex' must be 64 hex digits/);
  });

  it('an unknown op is refused by the CLI', () => {
    const r = spawnSync(process.execPath, [cli, 'bench', 'arith', '--op', 'divide', '--size', '4'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/divide/);
  });
});

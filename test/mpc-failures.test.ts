/**
 * Failure paths with real processes: a party killed mid-protocol ends the
 * run for everyone with an error naming it; a signal to the launcher stops
 * every party, a signal to one party ends the run naming it, the launcher's
 * death takes its parties with it; hand-started parties give up when the
 * start window closes; a stranger knocking on a party's port is turned away
 * without disturbing the session; bad configs and bad CLI input give clear
 * errors. (Each party killed at each point: fault-matrix.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { childrenOf, gone, startCli, until } from './helpers/processes.js';
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

const cliPath = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
/** A long arithmetic run (~1000 small matmuls): stopped long before its end. */
const LONG_ARITH = ['bench', 'arith', '--op', 'matmul', '--size', '128', '--reps', '1000'];

const start = startCli;

describe.runIf(process.platform === 'linux' && existsSync('/proc/self/stat'))('signals', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s to the launcher alone stops every party at once; one line, exit 128 + signal', async (sig) => {
    const run = start(LONG_ARITH);
    const parties = await until('three party processes', 30_000, () => {
      const kids = childrenOf(run.child.pid!);
      return kids.length === 3 && kids;
    });
    await new Promise((r) => setTimeout(r, 1500)); // into the job
    const t0 = Date.now();
    run.child.kill(sig);
    const { code, at } = await run.exit;
    expect(code).toBe(sig === 'SIGINT' ? 130 : 143);
    expect(run.stderr().trim().split('\n')).toEqual([`mpcnet: received ${sig}: stopped 3 party processes`]);
    expect(at - t0).toBeLessThan(5_000);
    // Gone with the launcher, not orphaned (they were ~135 s before).
    await until('every party gone', 3_000, () => parties.every(gone));
  }, 60_000);

  it('the launcher killed (SIGKILL): its parties notice the closed IPC channel and exit', async () => {
    const run = start(LONG_ARITH);
    const parties = await until('three party processes', 30_000, () => {
      const kids = childrenOf(run.child.pid!);
      return kids.length === 3 && kids;
    });
    await new Promise((r) => setTimeout(r, 1500));
    run.child.kill('SIGKILL');
    await run.exit;
    await until('every party gone', 5_000, () => parties.every(gone));
  }, 60_000);

  it('SIGTERM to one forked party: it says so and exits 143; the others end naming it', async () => {
    let signalled = 0;
    const handle = startRun({
      mode: '2pc',
      job: LONG_JOB,
      onProgress: (id, event) => {
        if (id === 0 && event['round'] === 10 && !signalled) {
          signalled = Date.now();
          handle.children[1]!.kill('SIGTERM');
        }
      },
    });
    const err = await handle.done.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    for (const f of (err as RunError).failures) {
      expect(f.message).toMatch(f.id === 1 ? /^received SIGTERM$/ : /P1 (disconnected \(code 4000: P1 aborted: received SIGTERM\)|is gone)/);
    }
    expect(handle.stderr(1)).toMatch(/^\[P1\] received SIGTERM: aborting$/m);
    for (const [id, child] of handle.children.entries()) expect(await exitOf(child), `P${id} exit code`).toBe(id === 1 ? 143 : 1);
    expect(Date.now() - signalled).toBeLessThan(10_000);
  }, 30_000);
});


/** `mpcnet session` writes each party's key next to the config (TLS). */
function keyOf(config: string, id: number): string {
  return join(dirname(config), `P${id}.key.pem`);
}

describe('hand-started parties: start window and signals', () => {
  async function session(extra: string[]): Promise<string> {
    const path = join(mkdtempSync(join(tmpdir(), 'mpcnet-window-')), 'session.json');
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const r = spawnSync(process.execPath, [cliPath, 'session', '--out', path, '--ports', ports.join(','), ...extra], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return path;
  }

  it('--start-window and --recv-timeout set the config; a party missing at the end of the window is named', async () => {
    const config = await session(['--start-window', '2', '--recv-timeout', '7.5']);
    const written = JSON.parse(readFileSync(config, 'utf8')) as { connectTimeoutMs: number; recvTimeoutMs: number };
    expect(written).toMatchObject({ connectTimeoutMs: 2000, recvTimeoutMs: 7500 });
    // P2 never starts: the other two give up when the window closes.
    const started = Date.now();
    const parties = [0, 1].map((id) => start(['party', '--id', String(id), '--config', config, '--key', keyOf(config, id)]));
    for (const p of parties) {
      const { code, at } = await p.exit;
      expect(code, p.stderr()).toBe(1);
      // Its own window, or the other's abort carrying that party's reason (whichever closed first).
      expect(p.stderr()).toMatch(/^mpcnet: .*P[01] could not connect to every peer within 2000 ms; missing P2 /m);
      expect(at - started).toBeLessThan(15_000); // process start-up + the 2 s window
    }
  }, 60_000);

  it('SIGTERM to a hand-started party: "[P1] received SIGTERM: aborting", exit 143; the others name it', async () => {
    const config = await session(['--op', 'matmul', '--size', '128', '--reps', '1000']);
    const parties = [0, 1, 2].map((id) => start(['party', '--id', String(id), '--config', config, '--key', keyOf(config, id)]));
    await until('P1 under way', 30_000, () => /matmul rep 5\//.test(parties[1]!.stderr()));
    const t0 = Date.now();
    parties[1]!.child.kill('SIGTERM');
    const exits = await Promise.all(parties.map((p) => p.exit));
    expect(exits[1]!.code).toBe(143);
    expect(parties[1]!.stderr()).toMatch(/^\[P1\] received SIGTERM: aborting$/m);
    for (const id of [0, 2]) {
      expect(exits[id]!.code, parties[id]!.stderr()).toBe(1);
      expect(parties[id]!.stderr()).toMatch(/^mpcnet: .*P1 disconnected \(code 4000: P1 aborted: received SIGTERM\)/m);
      expect(exits[id]!.at - t0).toBeLessThan(10_000);
    }
  }, 60_000);

  it.each([
    [['--start-window', '0'], /--start-window must be a number of seconds from 0.1 to 3600, got 0/],
    [['--recv-timeout', 'soon'], /--recv-timeout must be a number of seconds from 0.1 to 86400, got not a number/],
  ])('session %j is refused with one line', (args, message) => {
    const r = spawnSync(process.execPath, [cliPath, 'session', '--out', join(tmpdir(), 'never-written.json'), '--ports', '1,2,3', ...args], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('strangers at the door', () => {
  it('a wrong-key handshake and garbage frames are rejected; the session finishes', async () => {
    const handle = startRun({ mode: '2pc', job: { kind: 'protocol-check', cases: [{ op: 'mul', size: 500 }], seed: 2, repeat: 300 } });
    const addresses = await handle.addresses;
    const target = addresses[0]!;
    // Sessions run over TLS: a stranger gets through TLS without a certificate, then fails the handshake.
    const knock = (send: (ws: WebSocket) => void, scheme = 'wss'): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${scheme}://${target.host}:${target.port}`, { perMessageDeflate: false, rejectUnauthorized: false });
        ws.on('open', () => send(ws));
        ws.on('close', (code) => resolve(code));
        ws.on('error', () => resolve(-1));
      });
    const codes = await Promise.all([
      knock((ws) => ws.send(Buffer.from('definitely not a handshake'))),
      knock((ws) => ws.send(JSON.stringify({ hello: 'P7', key: 'guess' }))),
    ]);
    // The party closed both connections itself, with a policy-violation or protocol-error code.
    for (const code of codes) expect([1002, 1008]).toContain(code);
    // Plain ws to a TLS port never gets a WebSocket.
    expect(await knock(() => {}, 'ws')).toBe(-1);
    const run = await handle.done;
    expect(run.parties).toHaveLength(3);
    expect(run.transport).toBe('tls');
    expect(handle.stderr(0)).toMatch(/rejected connection .*malformed handshake/);
    expect(handle.stderr(0)).toMatch(/rejected connection .*TLS handshake failed/);
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

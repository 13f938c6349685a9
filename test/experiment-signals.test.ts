/**
 * `mpcnet experiment methods` (real 2PC cells) stopped from outside: the
 * grid runs each cell worker as its own process, which runs its own party
 * processes. SIGTERM or SIGINT to the top process alone stops the whole
 * tree at once, with one line naming the signal and exit 128 + signal;
 * finished cells' results stay (a rerun resumes from them) and no cell
 * result is left half written. The top process killed outright (SIGKILL):
 * the worker notices its closed IPC channel and stops itself and its
 * parties. Linux only (/proc).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childrenOf, gone, startCli, until, type Proc } from './helpers/processes.js';

// A --quick real cell is a few seconds idle; several times that on a loaded 2-core machine.
const T = 150_000;
const root = mkdtempSync(path.join(tmpdir(), 'mpcnet-exp-signals-'));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function start(args: string[]): Proc {
  const run = startCli(args);
  started.push(run.child);
  return run;
}

/** The top process's one worker and that worker's three party processes (P0, P1, P2 the dealer), once all run. */
function workerTree(top: number): { worker: number; parties: number[] } | null {
  const workers = childrenOf(top);
  if (workers.length !== 1) return null;
  const parties = childrenOf(workers[0]!);
  return parties.length === 3 ? { worker: workers[0]!, parties } : null;
}

const cellsDir = (out: string): string => path.join(out, 'cells');

/** Every cell's result.json parses (a half-written one would not); returns the finished cells. */
function finishedCells(out: string): string[] {
  if (!existsSync(cellsDir(out))) return [];
  return readdirSync(cellsDir(out)).filter((id) => {
    const f = path.join(cellsDir(out), id, 'result.json');
    if (!existsSync(f)) return false;
    expect((JSON.parse(readFileSync(f, 'utf8')) as { id: string }).id).toBe(id);
    return true;
  });
}

const signalLines = (stderr: string): string[] => stderr.split('\n').filter((l) => /^mpcnet: /.test(l));

describe.runIf(process.platform === 'linux' && existsSync('/proc/self/stat'))('experiment methods stopped from outside', () => {
  const out = path.join(root, 'out');
  // --quick --jobs 1: one worker process holds every cell and runs them one after the other.
  const args = ['experiment', 'methods', '--quick', '--jobs', '1', '--out', out, '--progress', 'false'];

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to the top process stops the worker and its parties at once; finished cells stay', async (sig) => {
    const before = finishedCells(out);
    const run = start(args);
    // SIGTERM: after the first cell of this run is done (kept); SIGINT: on the rerun, which resumes from them.
    if (sig === 'SIGTERM') await until('a finished cell', 120_000, () => finishedCells(out).length > 0);
    else await until('the rerun resuming', 60_000, () => /resuming .*cells already done/.test(run.stderr()));
    const tree = await until('a worker running its parties', 60_000, () => workerTree(run.child.pid!));
    const done = finishedCells(out);
    const t0 = Date.now();
    run.child.kill(sig);
    const { code, at } = await run.exit;
    expect(code, run.stderr().slice(-2000)).toBe(sig === 'SIGINT' ? 130 : 143);
    expect(signalLines(run.stderr())).toEqual([`mpcnet: received ${sig}: stopped 1 worker process`]);
    expect(at - t0).toBeLessThan(5_000);
    await until('the worker and its parties gone', 5_000, () => gone(tree.worker) && tree.parties.every(gone));
    // Nothing finished was lost, nothing half written counts as finished.
    const after = finishedCells(out);
    for (const id of [...before, ...done]) expect(after).toContain(id);
  }, T);

  it('the top process killed outright: the worker notices and stops itself and its parties', async () => {
    const run = start(args);
    const tree = await until('a worker running its parties', 60_000, () => workerTree(run.child.pid!));
    run.child.kill('SIGKILL');
    await run.exit;
    // Parties stop with the worker (SIGTERM, SIGKILL after 2 s). Before, the worker trained on
    // unobserved until its next write to the broken stderr pipe happened to crash it (~15 s here).
    await until('the worker and its parties gone', 5_000, () => gone(tree.worker) && tree.parties.every(gone));
  }, T);
});

/**
 * A CLI run as a child process whose stderr and exit are watched, and the
 * Linux /proc view of process trees: for tests of signals and dead parties.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CLI } from './run-cli.js';

export interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: string | null; at: number }>;
}

/** `mpcnet ARGS` in the background. */
export function startCli(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) => {
    // 'close': stdio drained too, so stderr() is complete.
    child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  return { child, stderr: () => err, exit };
}

/** Linux: the process's state letter ('Z': a zombie, as good as gone), or null once it has been reaped. */
export function procState(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0]!;
  } catch {
    return null;
  }
}

/** Linux: the pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const after = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(after[1]) === pid) kids.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return kids;
}

/** Exited (reaped, or a zombie). */
export function gone(pid: number): boolean {
  const st = procState(pid);
  return st === null || st === 'Z';
}

/** Polls `probe` every 50 ms until it gives a value, or throws naming `what` after `ms`. */
export async function until<T>(what: string, ms: number, probe: () => T | null | undefined | false): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Independent jobs in parallel worker processes. The tfjs wasm backend runs
 * one thread per process in Node, so a job that splits (seeds, experiment
 * grids) uses the machine's cores only as separate processes: each job is
 * one `mpcnet` command line, run as a child process with `--json`, at most
 * `concurrency` at a time; its stdout is parsed as its JSON report.
 * A signal to this process stops every job's process (and they their own
 * parties), and a job's process exits if this one dies (an IPC channel it
 * watches: src/common/stop-children.ts).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStopping, trackChildren, untrackChildren } from '../common/stop-children.js';

export interface JobResult<T> {
  args: string[];
  ok: boolean;
  report?: T;
  /** Exit code and the tail of stderr when the job failed. */
  error?: string;
  seconds: number;
}

/** The CLI entry this module was built next to (dist/src/cli/main.js). */
export function cliEntry(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
}

/** One job: `mpcnet ARGS` as a child process; its stdout parsed as JSON (add `--json` to args where the command needs it). */
export function runJob<T>(args: string[], onLine: (line: string) => void = () => {}): Promise<JobResult<T>> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    // Stopping on a signal: a job started now would outlive the stop's list of children.
    if (isStopping()) return resolve({ args, ok: false, error: 'not started: mpcnet is stopping', seconds: 0 });
    // The IPC channel carries nothing; its closing tells the job that we are gone (stopWithParent).
    const child = spawn(process.execPath, [cliEntry(), ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const group = [child];
    trackChildren(group, 'worker process');
    let out = '';
    let pending = '';
    const tail: string[] = [];
    const line = (l: string): void => {
      // While stopping, the job's own "received SIGTERM" lines would only blur our one line.
      if (!l.trim() || isStopping()) return;
      onLine(l);
      tail.push(l);
      if (tail.length > 20) tail.shift();
    };
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => {
      const lines = (pending + b.toString()).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(line);
    });
    child.on('close', (code) => {
      untrackChildren(group);
      line(pending);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return resolve({ args, ok: false, error: `exit ${code}: ${tail.slice(-3).join(' | ')}`, seconds });
      try {
        resolve({ args, ok: true, report: JSON.parse(out) as T, seconds });
      } catch {
        resolve({ args, ok: false, error: `output is not JSON: ${out.slice(0, 200)}`, seconds });
      }
    });
  });
}

/** Runs task(0..count-1), at most `concurrency` at a time; results in index order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  if (!(concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${concurrency}`);
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Runs every job (argument list, `--json` added), `concurrency` at a time, results in job order. */
export function runJobs<T>(jobs: string[][], concurrency = availableParallelism(), onLine: (job: number, line: string) => void = () => {}): Promise<JobResult<T>[]> {
  return pool(jobs.length, concurrency, (i) => runJob<T>([...jobs[i]!, '--json'], (line) => onLine(i, line)));
}

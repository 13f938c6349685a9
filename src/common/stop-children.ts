/**
 * Child processes stop with their parent. Shared by the launcher (party
 * processes) and the job runner (experiment cells, seed runs: src/plain/
 * parallel.ts), so every mpcnet command that starts processes behaves alike:
 *
 * - SIGINT, SIGTERM or SIGHUP to the parent: SIGTERM to every tracked
 *   child, SIGKILL to those still there after STOP_GRACE_MS, one line on
 *   stderr naming the signal, exit with 128 + the signal's number. A second
 *   signal kills the children at once. The handlers are installed only
 *   while children are tracked, so otherwise the signals' default actions
 *   (or an embedder's handlers) apply.
 * - A process started with an IPC channel whose parent dies (the channel
 *   closes) stops its own children the same way and exits: nobody is left
 *   to collect its result (stopWithParent).
 */
import type { ChildProcess } from 'node:child_process';

/** The shell's 128 + signal number. */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
/** After SIGTERM to the children, how long before SIGKILL. */
export const STOP_GRACE_MS = 2_000;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/** Groups of children (a run's parties, one job's process), each with the noun its line uses ("party process"). */
const groups = new Map<readonly ChildProcess[], string>();
let stopping = false;

/** True once a stop has begun: callers must not start new children then. */
export function isStopping(): boolean {
  return stopping;
}

const onSignal = (sig: NodeJS.Signals): void => stopAll(`received ${sig}`, SIGNAL_EXIT[sig] ?? 1);

/** `children` may still grow after this call (the launcher pushes each party as it forks it). */
export function trackChildren(children: readonly ChildProcess[], noun: string): void {
  if (groups.size === 0) for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  groups.set(children, noun);
}

export function untrackChildren(children: readonly ChildProcess[]): void {
  if (!groups.delete(children) || groups.size > 0) return;
  for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
}

/** "3 party processes, 1 worker process" */
function describe(counts: Map<string, number>): string {
  return [...counts].map(([noun, n]) => `${n} ${noun}${n === 1 ? '' : 'es'}`).join(', ') || 'no child processes';
}

/**
 * Stops every tracked child (SIGTERM, then SIGKILL after STOP_GRACE_MS),
 * writes "mpcnet: WHY: stopped N ..." and exits with `code`.
 */
export function stopAll(why: string, code: number): void {
  const live = [...groups].flatMap(([children, noun]) => children.filter(alive).map((c) => ({ c, noun })));
  if (stopping) {
    for (const { c } of live) c.kill('SIGKILL');
    process.exit(code);
  }
  stopping = true;
  for (const { c } of live) c.kill('SIGTERM');
  const exited = Promise.all(live.map(({ c }) => new Promise<void>((resolve) => {
    if (!alive(c)) resolve();
    else c.once('exit', () => resolve());
  })));
  void Promise.race([exited, new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS))]).then(() => {
    const stragglers = live.filter(({ c }) => alive(c));
    for (const { c } of stragglers) c.kill('SIGKILL');
    const counts = new Map<string, number>();
    for (const { noun } of live) counts.set(noun, (counts.get(noun) ?? 0) + 1);
    const forced = stragglers.length > 0 ? ` (${stragglers.length} killed after ${STOP_GRACE_MS / 1000} s)` : '';
    process.stderr.write(`mpcnet: ${why}: stopped ${describe(counts)}${forced}\n`);
    process.exit(code);
  });
}

/**
 * In a process started with an IPC channel (runJob starts mpcnet commands
 * so): when the channel closes, the parent is gone (killed, crashed), so
 * stop our children and exit rather than run on unobserved. The channel is
 * unref'd: it must not keep a finished process alive.
 */
export function stopWithParent(): void {
  if (!process.channel) return;
  // Our stderr may be a pipe to the dead parent: a write must not crash us before the stop.
  process.stderr.on('error', () => {});
  process.once('disconnect', () => stopAll('the parent process went away (IPC channel closed)', 1));
  process.channel.unref();
}

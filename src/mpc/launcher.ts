/**
 * Local launcher: spawns P0, P1 (share holders) and P2 (dealer, or helper +
 * dealer in 3pc) as separate OS processes on localhost with free ports,
 * hands each the session config over IPC (the key never appears on a
 * command line), relays progress, collects their results, and fails with
 * every party's error if any party fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PartyId, PeerAddress } from '../net/types.js';
import type { ProgressEvent } from './context.js';
import type { LauncherMessage, PartyMessage } from './process.js';
import type { PartyResult } from './runtime.js';
import { partyProcessEnv } from './party-env.js';
import { newSession, PROCESS_COUNT, type SessionConfig, type SessionOptions } from './session.js';

export interface LaunchOptions extends SessionOptions {
  /** Whole-run limit; every party is killed past it. Default 10 minutes. */
  timeoutMs?: number;
  /** After the first party fails, how long the others get to exit on their own. Default 15 s. */
  graceMs?: number;
  onProgress?: (id: PartyId, event: ProgressEvent) => void;
  /** Copy the parties' stderr to ours (prefixed). Default false: kept for error reports. */
  echoStderr?: boolean;
}

export interface RunResult {
  sessionId: string;
  mode: SessionConfig['mode'];
  parties: PartyResult[];
}

export interface PartyFailure {
  id: PartyId;
  message: string;
}

export class RunError extends Error {
  constructor(readonly failures: PartyFailure[]) {
    super(`MPC run failed: ${failures.map((f) => `P${f.id}: ${f.message}`).join('; ')}`);
    this.name = 'RunError';
  }
}

export interface RunHandle {
  readonly config: SessionConfig;
  readonly children: readonly ChildProcess[];
  readonly done: Promise<RunResult>;
  /** Every party's listening address, once all are up. */
  readonly addresses: Promise<PeerAddress[]>;
  /** The last few KB a party wrote to stderr. */
  stderr(id: PartyId): string;
  /** Kill every party (they exit with an error). */
  kill(signal?: NodeJS.Signals): void;
}

/** The package root, found by walking up to mpcnet's package.json (works from src/ and dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mpcnet') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the mpcnet package root');
    dir = up;
  }
}

export function partyEntry(id: PartyId): string {
  const file = join(packageRoot(), 'dist', 'parties', id === 2 ? 'dealer.js' : 'party.js');
  if (!existsSync(file)) throw new Error(`party entry ${file} is missing: run 'npm run build' first`);
  return file;
}

export function startRun(opts: LaunchOptions): RunHandle {
  const config = newSession(opts);
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const graceMs = opts.graceMs ?? 15_000;
  const children: ChildProcess[] = [];
  const ports: (number | undefined)[] = [];
  const results: (PartyResult | undefined)[] = [];
  const reported: (string | undefined)[] = [];
  const stderrTail: string[] = Array.from({ length: PROCESS_COUNT }, () => '');
  let exited = 0;
  let graceTimer: NodeJS.Timeout | undefined;
  let publishAddresses: (peers: PeerAddress[]) => void = () => {};
  const addresses = new Promise<PeerAddress[]>((resolve) => {
    publishAddresses = resolve;
  });

  const killAll = (signal: NodeJS.Signals = 'SIGKILL'): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };

  const done = new Promise<RunResult>((resolve, reject) => {
    const failures: PartyFailure[] = [];
    const overall = setTimeout(() => {
      failures.push(...children.map((_, id) => ({ id, message: `killed: the run passed its ${timeoutMs / 1000} s limit` })));
      killAll();
    }, timeoutMs);

    const finishIfDone = (): void => {
      if (exited < PROCESS_COUNT) return;
      clearTimeout(overall);
      if (graceTimer) clearTimeout(graceTimer);
      if (failures.length === 0 && results.every((r) => r)) {
        resolve({ sessionId: config.sessionId, mode: config.mode, parties: results as PartyResult[] });
      } else {
        const byId = new Map<PartyId, string>();
        for (const f of failures) if (!byId.has(f.id)) byId.set(f.id, f.message);
        reject(new RunError([...byId].sort((a, b) => a[0] - b[0]).map(([id, message]) => ({ id, message }))));
      }
    };

    for (let id = 0; id < PROCESS_COUNT; id++) {
      const child = fork(partyEntry(id), [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced', env: partyProcessEnv() });
      children.push(child);
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        stderrTail[id] = (stderrTail[id] + chunk).slice(-4000);
        if (opts.echoStderr) process.stderr.write(chunk.replace(/^(?=.)/gm, `[P${id}] `));
      });
      child.on('message', (raw) => {
        const msg = raw as PartyMessage;
        switch (msg.type) {
          case 'listening':
            ports[id] = msg.port;
            if (ports.filter((p) => p !== undefined).length === PROCESS_COUNT) {
              const peers: PeerAddress[] = ports.map((port, pid) => ({ id: pid, host: config.host, port: port! }));
              for (const c of children) c.send({ type: 'peers', peers } satisfies LauncherMessage);
              publishAddresses(peers);
            }
            break;
          case 'progress':
            opts.onProgress?.(id, msg.event);
            break;
          case 'result':
            results[id] = msg.result;
            break;
          case 'error':
            reported[id] = msg.message;
            break;
        }
      });
      child.on('exit', (code, signal) => {
        exited++;
        if (code !== 0 || !results[id]) {
          const why = reported[id]
            ?? (signal ? `killed by ${signal}` : `exited with code ${code}${lastLine(stderrTail[id]!)}`);
          failures.push({ id, message: why });
          // Survivors should notice the loss on their own; make sure they cannot linger.
          graceTimer ??= setTimeout(() => killAll(), graceMs);
        }
        finishIfDone();
      });
      child.on('error', (err) => {
        failures.push({ id, message: `could not start: ${err.message}` });
      });
      child.send({ type: 'start', self: id, config } satisfies LauncherMessage);
    }
  });

  return { config, children, done, addresses, stderr: (id) => stderrTail[id] ?? '', kill: killAll };
}

function lastLine(text: string): string {
  const line = text.trim().split('\n').pop();
  return line ? `: ${line}` : '';
}

export function runSession(opts: LaunchOptions): Promise<RunResult> {
  return startRun(opts).done;
}

/**
 * Local launcher: spawns P0, P1 (share holders) and P2 (dealer, or helper +
 * dealer in 3pc) as separate OS processes on localhost with free ports,
 * hands each the session config over IPC (the key never appears on a
 * command line), relays progress, collects their results, and fails with
 * every party's error if any party fails.
 *
 * A party that dies is noticed by the others through their sockets; the
 * launcher also tells the survivors (a backstop for deaths before the mesh
 * is up, where nothing else would notice). SIGINT, SIGTERM or SIGHUP to
 * the launcher stops every party at once (src/common/stop-children.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PartyId, PeerAddress } from '../net/types.js';
import type { ProgressEvent } from './context.js';
import type { LauncherMessage, PartyMessage } from './process.js';
import type { PartyResult } from './runtime.js';
import { alive, isStopping, trackChildren, untrackChildren } from '../common/stop-children.js';
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
  /** Extra environment for the party processes (tests: MPCNET_FAULT, src/mpc/fault-hook.ts). */
  env?: Record<string, string>;
}

export interface RunResult {
  sessionId: string;
  mode: SessionConfig['mode'];
  /** 'tls' (wss, pinned party certificates) or 'plain' (ws: loopback benchmarks only). */
  transport: SessionConfig['transport'];
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

/**
 * Parties in network namespaces, for the WAN benchmark and the three-hosts
 * example (scripts/wan-netns.sh; root only). With both variables set,
 *   MPCNET_PARTY_NETNS="mpcnet0,mpcnet1,mpcnet2"
 *   MPCNET_PARTY_HOSTS="10.77.0.1,10.77.0.2,10.77.0.3"
 * party k is started as `ip netns exec NS_k node ENTRY` instead of forked
 * (ip execs node in place: same pid, and the IPC channel's fd and
 * NODE_CHANNEL_FD survive), listens on HOSTS_k (its start message carries a
 * config whose host is HOSTS_k), and the peer list names HOSTS_k. Every
 * command that launches parties (infer, bench relu, train --mpc, ...) runs
 * across the namespaces unchanged. Unset: everything as before.
 */
export interface PartyPlacement {
  netns: string[];
  hosts: string[];
}

export function partyPlacement(env: NodeJS.ProcessEnv = process.env): PartyPlacement | null {
  const rawNs = env['MPCNET_PARTY_NETNS'];
  const rawHosts = env['MPCNET_PARTY_HOSTS'];
  if (rawNs === undefined && rawHosts === undefined) return null;
  if (rawNs === undefined || rawHosts === undefined) {
    throw new Error(`MPCNET_PARTY_NETNS and MPCNET_PARTY_HOSTS go together: only ${rawNs === undefined ? 'MPCNET_PARTY_HOSTS' : 'MPCNET_PARTY_NETNS'} is set (see scripts/wan-netns.sh env)`);
  }
  const list = (name: string, raw: string): string[] => {
    const items = raw.split(',').map((s) => s.trim());
    if (items.length !== PROCESS_COUNT || items.some((s) => s === '')) {
      throw new Error(`${name} must list ${PROCESS_COUNT} comma-separated values (P0,P1,P2), got ${JSON.stringify(raw)}`);
    }
    return items;
  };
  const netns = list('MPCNET_PARTY_NETNS', rawNs);
  const hosts = list('MPCNET_PARTY_HOSTS', rawHosts);
  for (const ns of netns) {
    if (!/^[A-Za-z0-9_.-]+$/.test(ns) || ns === '.' || ns === '..') throw new Error(`MPCNET_PARTY_NETNS: '${ns}' is not a network namespace name (letters, digits, '_', '.', '-')`);
  }
  for (const host of hosts) {
    if (isIP(host) === 0) throw new Error(`MPCNET_PARTY_HOSTS: '${host}' is not an IP address (each party listens on its namespace's address)`);
  }
  if (new Set(hosts).size !== PROCESS_COUNT) throw new Error(`MPCNET_PARTY_HOSTS: the ${PROCESS_COUNT} addresses must differ, got ${JSON.stringify(rawHosts)}`);
  return { netns, hosts };
}

/** Before any party starts: `ip netns exec` needs root and the namespaces (scripts/wan-netns.sh up). */
function checkPlacement(p: PartyPlacement): void {
  if (process.getuid?.() !== 0) throw new Error('MPCNET_PARTY_NETNS is set: starting parties in network namespaces (ip netns exec) needs root');
  for (const ns of p.netns) {
    if (!existsSync(join('/run/netns', ns))) throw new Error(`MPCNET_PARTY_NETNS: network namespace '${ns}' does not exist (/run/netns/${ns}): run scripts/wan-netns.sh up`);
  }
}

/**
 * How long after a party's death the launcher tells the survivors. They
 * normally notice at once through their sockets and name the cause
 * themselves; before the mesh is connected they cannot (a dialer retries a
 * refused port until the start window closes), so this bounds that case.
 */
const GONE_NOTICE_MS = 1_000;
/** What stopAll's line calls a party (src/common/stop-children.ts). */
const PARTY_NOUN = 'party process';

export function startRun(opts: LaunchOptions): RunHandle {
  // A signal is stopping this process: a run started now would only be killed.
  if (isStopping()) throw new Error('mpcnet is stopping: no new MPC run');
  const config = newSession(opts);
  // Every entry checked before any process starts: a missing one must not leave the others running.
  const entries = Array.from({ length: PROCESS_COUNT }, (_, id) => partyEntry(id));
  const placement = partyPlacement();
  if (placement) {
    if (config.peers) throw new Error('MPCNET_PARTY_NETNS/MPCNET_PARTY_HOSTS cannot be combined with fixed peer addresses');
    checkPlacement(placement);
  }
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const graceMs = opts.graceMs ?? 15_000;
  const children: ChildProcess[] = [];
  const ports: (number | undefined)[] = [];
  const certs: (string | undefined)[] = [];
  const results: (PartyResult | undefined)[] = [];
  const reported: (string | undefined)[] = [];
  const stderrTail: string[] = Array.from({ length: PROCESS_COUNT }, () => '');
  let exited = 0;
  let graceTimer: NodeJS.Timeout | undefined;
  let goneTimer: NodeJS.Timeout | undefined;
  let publishAddresses: (peers: PeerAddress[]) => void = () => {};
  const addresses = new Promise<PeerAddress[]>((resolve) => {
    publishAddresses = resolve;
  });

  const killAll = (signal: NodeJS.Signals = 'SIGKILL'): void => {
    for (const c of children) if (alive(c)) c.kill(signal);
  };

  const done = new Promise<RunResult>((resolve, reject) => {
    const failures: PartyFailure[] = [];
    const overall = setTimeout(() => {
      failures.push(...children.map((_, id) => ({ id, message: `killed: the run passed its ${timeoutMs / 1000} s limit` })));
      killAll();
    }, timeoutMs);

    const finishIfDone = (): void => {
      if (exited < PROCESS_COUNT) return;
      untrackChildren(children);
      clearTimeout(overall);
      if (goneTimer) clearTimeout(goneTimer);
      if (graceTimer) clearTimeout(graceTimer);
      if (failures.length === 0 && results.every((r) => r)) {
        resolve({ sessionId: config.sessionId, mode: config.mode, transport: config.transport, parties: results as PartyResult[] });
      } else {
        const byId = new Map<PartyId, string>();
        for (const f of failures) if (!byId.has(f.id)) byId.set(f.id, f.message);
        reject(new RunError([...byId].sort((a, b) => a[0] - b[0]).map(([id, message]) => ({ id, message }))));
      }
    };

    for (let id = 0; id < PROCESS_COUNT; id++) {
      const env = { ...partyProcessEnv(), ...opts.env };
      const child = placement
        ? spawn('ip', ['netns', 'exec', placement.netns[id]!, process.execPath, ...process.execArgv, entries[id]!], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced', env })
        : fork(entries[id]!, [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced', env });
      children.push(child);
      if (id === 0) trackChildren(children, PARTY_NOUN);
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
            if (msg.cert !== null) certs[id] = msg.cert;
            if (ports.filter((p) => p !== undefined).length === PROCESS_COUNT) {
              // Each party made its own key; the launcher only passes the certificates on (pinned by every peer).
              const peers: PeerAddress[] = ports.map((port, pid) => ({ id: pid, host: placement?.hosts[pid] ?? config.host, port: port!, ...(certs[pid] ? { cert: certs[pid] } : {}) }));
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
          goneTimer ??= setTimeout(() => {
            const notice: LauncherMessage = { type: 'abort', reason: `P${id} is gone (${why.slice(0, 200)}), the launcher reports` };
            for (const c of children) if (alive(c) && c.connected) c.send(notice, (err) => void err);
          }, GONE_NOTICE_MS);
          // Survivors should notice the loss on their own; make sure they cannot linger.
          graceTimer ??= setTimeout(() => killAll(), graceMs);
        }
        finishIfDone();
      });
      child.on('error', (err) => {
        failures.push({ id, message: `could not start: ${err.message}` });
      });
      child.send({ type: 'start', self: id, config: placement ? { ...config, host: placement.hosts[id]! } : config } satisfies LauncherMessage);
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

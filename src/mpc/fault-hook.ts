/**
 * Test-only fault injection, for the fault matrix (test/fault-matrix.test.ts,
 * bench/fault-matrix.ts): a party process started with
 *
 *   MPCNET_FAULT=P1:mid-round:20            (SIGKILL is the default)
 *   MPCNET_FAULT=P2:checkpoint-write:1:SIGSTOP
 *
 * sends itself that signal the 20th (1st) time it reaches the named point,
 * after one stderr line saying so. Only party processes arm it (runParty),
 * so the launcher and --emulate runs ignore the variable; without it every
 * point is one null check. Points:
 *  - handshake: dialing has begun, the mesh is not yet connected
 *  - mid-round: right after a protocol call's message went out (Context.send)
 *  - between-layers: a layer's forward pass is done, the next not begun
 *  - checkpoint-write: the party's previous checkpoint is renamed away, the
 *    new one not yet in place (train --mpc)
 */
export const FAULT_POINTS = ['handshake', 'mid-round', 'between-layers', 'checkpoint-write'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];
export const FAULT_SIGNALS = ['SIGKILL', 'SIGSTOP', 'SIGTERM'] as const;
export type FaultSignal = (typeof FAULT_SIGNALS)[number];

export interface FaultSpec {
  party: number;
  point: FaultPoint;
  /** Fires on this arrival at the point (1 = the first). */
  count: number;
  signal: FaultSignal;
}

export const FAULT_ENV = 'MPCNET_FAULT';

/** Parses "P<id>:<point>[:<count>][:<signal>]"; throws naming what is wrong (a typo must not silently test nothing). */
export function parseFaultSpec(text: string): FaultSpec {
  const m = /^P(\d):([a-z-]+)(?::(\d+))?(?::(SIG[A-Z]+))?$/.exec(text.trim());
  const point = m?.[2] as FaultPoint | undefined;
  const signal = (m?.[4] ?? 'SIGKILL') as FaultSignal;
  const count = Number(m?.[3] ?? 1);
  if (!m || !point || !FAULT_POINTS.includes(point) || !FAULT_SIGNALS.includes(signal) || count < 1) {
    throw new Error(`${FAULT_ENV}="${text}": expected P<id>:<point>[:<count>][:<signal>], point one of ${FAULT_POINTS.join(', ')}, signal one of ${FAULT_SIGNALS.join(', ')}`);
  }
  return { party: Number(m[1]), point, count, signal };
}

export function formatFaultSpec(f: FaultSpec): string {
  return `P${f.party}:${f.point}:${f.count}:${f.signal}`;
}

let armed: { spec: FaultSpec; seen: number } | null = null;

/** Called once a process knows which party it is. */
export function armFault(self: number, env: NodeJS.ProcessEnv = process.env): void {
  const text = env[FAULT_ENV];
  if (!text) return;
  const spec = parseFaultSpec(text);
  if (spec.party === self) armed = { spec, seen: 0 };
}

export function faultPoint(point: FaultPoint): void {
  if (armed === null || armed.spec.point !== point || ++armed.seen !== armed.spec.count) return;
  const { party, signal, count } = armed.spec;
  armed = null;
  // stderr is synchronous for pipes and files: the line is out before the signal.
  process.stderr.write(`[P${party}] fault injected: ${signal} at ${point} #${count}\n`);
  process.kill(process.pid, signal);
}

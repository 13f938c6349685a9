/**
 * The fault matrix: each party (P0, P1, P2) killed at each fault point of
 * src/mpc/fault-hook.ts (handshake, mid-round, between layers, during a
 * checkpoint write), and each stopped with SIGSTOP, in real 3-party
 * sessions; what the survivors did: exit status, seconds from the fault to
 * their exit, the error they reported. test/fault-matrix.test.ts asserts
 * on it, bench/fault-matrix.ts prints it. Small workloads: a 3-party
 * truncation ReLU loop (handshake, mid-round, SIGSTOP) and two batches of
 * 3PC training of the seed CNN (between layers, checkpoint write).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TrainMpcJob } from '../jobs/train-mpc.js';
import { FAULT_ENV, formatFaultSpec, type FaultPoint, type FaultSignal } from '../mpc/fault-hook.js';
import { RunError, startRun } from '../mpc/launcher.js';
import { parseActivation } from '../plain/activations/index.js';
import { markdownTable } from '../report/markdown.js';
import { prepareTrainMpc } from './train-mpc.js';

export type FaultWorkload = 'relu' | 'train';

export interface FaultCase {
  victim: 0 | 1 | 2;
  point: FaultPoint;
  /** Which arrival at the point fires (see fault-hook.ts). */
  count: number;
  signal: Extract<FaultSignal, 'SIGKILL' | 'SIGSTOP'>;
  workload: FaultWorkload;
}

export interface SurvivorOutcome {
  id: number;
  /** null when a signal ended it (the launcher's backstop kill: a failure of the case). */
  exitCode: number | null;
  signal: string | null;
  /** From the fault (the victim's "fault injected" line) to this party's exit. */
  seconds: number;
  /** The error the party reported (empty if none). */
  error: string;
}

export interface FaultOutcome {
  fault: FaultCase;
  /** The victim reached the point and signalled itself. */
  fired: boolean;
  /** The run ended in an error (it must: a party is gone). */
  failed: boolean;
  survivors: SurvivorOutcome[];
}

/** Receive timeout of the SIGSTOP cases: the survivors' only way to tell a stopped party from a slow one. */
export const FAULT_RECV_TIMEOUT_MS = 2_000;
/** What a survivor may take to exit after a kill (the issue's bound), and after a stop on top of the receive timeout. */
export const FAULT_EXIT_LIMIT_S = 10;

const PARTIES = [0, 1, 2] as const;

/**
 * Every case: SIGKILL at each point, SIGSTOP mid-round, for each party.
 * Counts: mid-round at the 30th message a party sends (several ReLU calls
 * in), between layers after the 3rd layer of the first training step, the
 * first checkpoint (after batch 1 of 2).
 */
export function faultCases(): FaultCase[] {
  const at: [FaultPoint, number, FaultWorkload][] = [
    ['handshake', 1, 'relu'], ['mid-round', 30, 'relu'], ['between-layers', 3, 'train'], ['checkpoint-write', 1, 'train'],
  ];
  const cases: FaultCase[] = [];
  for (const [point, count, workload] of at) for (const victim of PARTIES) cases.push({ victim, point, count, signal: 'SIGKILL', workload });
  for (const victim of PARTIES) cases.push({ victim, point: 'mid-round', count: 30, signal: 'SIGSTOP', workload: 'relu' });
  return cases;
}

export function faultCaseName(c: FaultCase): string {
  return `P${c.victim} ${c.signal === 'SIGKILL' ? 'killed' : 'stopped'} at ${c.point}${c.count > 1 ? ` #${c.count}` : ''}`;
}

export interface FaultWorkloads {
  relu: unknown;
  /** A fresh training job writing under `out`. */
  train(out: string): TrainMpcJob;
}

/** The jobs; training needs its job prepared (data facts, model shapes) once, here. */
export async function faultWorkloads(scratch: string): Promise<FaultWorkloads> {
  // Long enough that every count above is reached well before the end (~1 s of ReLU calls).
  const values = Array.from({ length: 512 }, (_, i) => ((i * 37) % 101) / 10 - 5);
  const relu = { kind: 'relu-check', op: 'relu', lx: 16, skip: 0, values, repeat: 200, helperView: false };
  const settings = {
    model: 'cnn', activation: parseActivation('ppoly'), epochs: 1, batchSize: 16, lr: 0.002, lrSteps: [], lrGamma: 0.1,
    momentum: 0.9, weightDecay: 0, mixup: false, mixupAlpha: 1, seed: 1,
  };
  const { job } = await prepareTrainMpc({ settings, dataset: 'mnist', limitTrain: 32, limitTest: 32, out: path.join(scratch, 'train-template'), resume: false },
    { parties: 3, emulate: false, bn: true, fracBits: 16, logitBound: 32, bnVarRange: '0.25,16', checkpointEvery: 1, revealLoss: false, trunc: 'dealer' }, () => {});
  return { relu, train: (out) => ({ ...job, out }) };
}

/** Runs one case in a fresh 3-party session; `scratch` holds its checkpoint directory. */
export async function runFaultCase(c: FaultCase, workloads: FaultWorkloads, scratch: string): Promise<FaultOutcome> {
  const stop = c.signal === 'SIGSTOP';
  const out = path.join(scratch, `P${c.victim}-${c.point}-${c.signal}`);
  mkdirSync(out, { recursive: true });
  const handle = startRun({
    mode: '3pc',
    job: c.workload === 'relu' ? workloads.relu : workloads.train(out),
    env: { [FAULT_ENV]: formatFaultSpec({ party: c.victim, point: c.point, count: c.count, signal: c.signal }) },
    // Killed: the default receive timeout (120 s), so a survivor can only be quick by noticing the loss.
    ...(stop ? { recvTimeoutMs: FAULT_RECV_TIMEOUT_MS } : {}),
    // After the first failure, the others' time to exit on their own before the launcher kills them.
    // A stopped party never exits by itself: end it soon after the survivors are gone.
    graceMs: stop ? 2_000 : (FAULT_EXIT_LIMIT_S + 5) * 1000,
    timeoutMs: 120_000,
  });
  let firedAt: number | null = null;
  const exits = new Map<number, { at: number; code: number | null; signal: string | null }>();
  handle.children.forEach((child, id) => {
    let text = '';
    child.stderr?.on('data', (chunk: string | Buffer) => {
      if (firedAt !== null || id !== c.victim) return;
      text = (text + chunk.toString()).slice(-2000);
      if (text.includes('fault injected:')) firedAt = performance.now();
    });
    child.once('exit', (code, signal) => exits.set(id, { at: performance.now(), code, signal }));
  });
  const err = await handle.done.then(() => null, (e: unknown) => e);
  // 'exit' can come before the last of a child's stderr (the victim's "fault injected" line): wait for its pipes.
  await Promise.all(handle.children.map((child) => new Promise<void>((resolve) => {
    if (child.stderr === null || child.stderr.readableEnded || child.stderr.destroyed) resolve();
    else child.stderr.once('close', () => resolve());
  })));
  if (err !== null && !(err instanceof RunError)) throw err;
  const errors = new Map((err instanceof RunError ? err.failures : []).map((f) => [f.id, f.message]));
  // The fault's moment: its stderr line, or the victim's exit if that was seen first (a killed victim's pipe is read later).
  const t0 = firedAt === null ? null : Math.min(firedAt, exits.get(c.victim)?.at ?? Infinity);
  const survivors = PARTIES.filter((id) => id !== c.victim).map((id): SurvivorOutcome => {
    const e = exits.get(id)!;
    return { id, exitCode: e.code, signal: e.signal, seconds: t0 === null ? NaN : (e.at - t0) / 1000, error: errors.get(id) ?? '' };
  });
  return { fault: c, fired: firedAt !== null, failed: err !== null, survivors };
}

/** One row per survivor: the victim and point, the survivor, its exit status, seconds, error. */
export function faultMatrixTable(outcomes: readonly FaultOutcome[], errorWidth = 200): string {
  const rows = outcomes.flatMap((o) => o.survivors.map((s) => [
    `P${o.fault.victim}`,
    `${o.fault.point}${o.fault.signal === 'SIGSTOP' ? ' (SIGSTOP)' : ''}`,
    `P${s.id}`,
    s.signal ?? String(s.exitCode),
    Number.isNaN(s.seconds) ? 'fault not reached' : s.seconds.toFixed(2),
    s.error.length > errorWidth ? `${s.error.slice(0, errorWidth - 3)}...` : s.error,
  ]));
  return markdownTable(['victim', 'point', 'survivor', 'exit', 'seconds to exit', 'error'], rows, ['left', 'left', 'left', 'right', 'right', 'left']);
}

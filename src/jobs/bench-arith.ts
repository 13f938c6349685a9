/**
 * `mpcnet bench arith`: one arithmetic op under MPC on random inputs.
 * Per repetition: offline phase (prefetch the op's correlations from the
 * dealer), a barrier, then the timed online phase with inputs already
 * shared and the result not yet revealed. Counters cover the online op
 * alone; dealer traffic is measured on P0 during the offline phase.
 */
import { reveal } from '../../protocols/sharing.js';
import type { Context, TruncationMode } from '../mpc/context.js';
import type { PlanEntry } from '../mpc/offline-plan.js';
import { snapshot, trafficSince, type TrafficSnapshot } from '../mpc/traffic.js';
import { arithCase } from './arith-ops.js';
import { maxAbsDiff, shareOperands } from './operands.js';
import type { BenchArithJob } from './types.js';

export interface BenchArithOutput {
  id: number;
  op: string;
  size: number;
  /** Online seconds of each timed repetition. */
  onlineSeconds: number[];
  /** Offline seconds (dealer work and transfer) of each timed repetition. */
  offlineSeconds: number[];
  /** Online traffic of the last repetition. */
  traffic: TrafficSnapshot;
  /** Dealer traffic of the last repetition as seen by this holder. */
  dealerBytesReceived: number;
  dealerBytesSent: number;
  expected: { bytesPerHolder: number; rounds: number };
  /** P0 only: max |MPC - float64|. */
  maxAbsError: number | null;
}

/**
 * The offline plan of the job (src/mpc/offline-plan.ts): the dealer
 * requests benchArith makes, in order. Each repetition (warm-up included)
 * prefetches the op's correlations, which DealerClient labels prefetch#0,
 * #1, ... in request order; the op then takes them all from the prefetched
 * ones. The online run checks every request against this list, so a change
 * to the loop below that this does not follow is an error, not a wrong result.
 */
export function benchArithPlan(job: BenchArithJob, truncation: TruncationMode, fracBits: number): PlanEntry[] {
  const specs = arithCase(job.op, job.size).correlations(truncation, fracBits);
  const entries: PlanEntry[] = [];
  for (let rep = 0; rep <= job.reps; rep++) for (const spec of specs) entries.push({ label: `prefetch#${entries.length}`, spec });
  return entries;
}

/** Holders wait for each other (one round on the clock, before the timed part). */
function barrier(ctx: Context): Promise<void> {
  return ctx.call('barrier', async (c) => {
    c.send(c.peer, null);
    await c.recv(c.peer);
  });
}

/** P2's part: arithmetic needs only the dealer loop (which runs beside the job), nothing online. */
export async function benchArith(ctx: Context, job: BenchArithJob): Promise<BenchArithOutput | null> {
  if (ctx.isHelper) return null;
  const c = arithCase(job.op, job.size);
  const operands = shareOperands(ctx, c, job.seed);
  const specs = c.correlations(ctx.truncation, ctx.fracBits);
  const onlineSeconds: number[] = [];
  const offlineSeconds: number[] = [];
  let traffic: TrafficSnapshot | undefined;
  let dealerTraffic: TrafficSnapshot | undefined;
  let result;
  if (ctx.isPlain) return benchPlain(ctx, job);
  for (let rep = 0; rep <= job.reps; rep++) {
    const offStart = snapshot(ctx.mesh);
    const t0 = performance.now();
    await Promise.all(specs.map((s) => ctx.dealer.prefetch(s)));
    const t1 = performance.now();
    dealerTraffic = trafficSince(offStart, snapshot(ctx.mesh));
    await barrier(ctx);
    const before = snapshot(ctx.mesh);
    const t2 = performance.now();
    result = await c.run(ctx, operands.shared);
    const t3 = performance.now();
    traffic = trafficSince(before, snapshot(ctx.mesh));
    if (rep > 0) {
      offlineSeconds.push((t1 - t0) / 1000);
      onlineSeconds.push((t3 - t2) / 1000);
    }
    ctx.progress({ message: `${job.op} rep ${rep}/${job.reps}: ${((t3 - t2)).toFixed(2)} ms online` });
  }
  const revealed = await reveal(ctx, result!);
  const maxAbsError = operands.values ? maxAbsDiff(revealed, c.reference(operands.values)) : null;
  return {
    id: ctx.id,
    op: job.op,
    size: job.size,
    onlineSeconds,
    offlineSeconds,
    traffic: traffic!,
    dealerBytesReceived: dealerTraffic!.dealerBytesReceived,
    dealerBytesSent: dealerTraffic!.dealerBytesSent,
    expected: c.cost(ctx.truncation, ctx.fracBits),
    maxAbsError,
  };
}

const NO_TRAFFIC: TrafficSnapshot = {
  bytesSent: 0, bytesReceived: 0, frameBytesSent: 0, frameBytesReceived: 0,
  messagesSent: 0, messagesReceived: 0, rounds: 0, dealerBytesSent: 0, dealerBytesReceived: 0,
};

/** --emulate: the same op in the one-party plaintext context (fixed-point arithmetic, no parties). */
async function benchPlain(ctx: Context, job: BenchArithJob): Promise<BenchArithOutput> {
  const c = arithCase(job.op, job.size);
  const operands = shareOperands(ctx, c, job.seed);
  const onlineSeconds: number[] = [];
  let result;
  for (let rep = 0; rep <= job.reps; rep++) {
    const t0 = performance.now();
    result = await c.run(ctx, operands.shared);
    if (rep > 0) onlineSeconds.push((performance.now() - t0) / 1000);
  }
  const revealed = await reveal(ctx, result!);
  return {
    id: 0, op: job.op, size: job.size, onlineSeconds, offlineSeconds: onlineSeconds.map(() => 0),
    traffic: NO_TRAFFIC, dealerBytesReceived: 0, dealerBytesSent: 0,
    expected: { bytesPerHolder: 0, rounds: 0 },
    maxAbsError: maxAbsDiff(revealed, c.reference(operands.values!)),
  };
}

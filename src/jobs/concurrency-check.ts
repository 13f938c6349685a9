/**
 * Protocol calls in flight together: on seeded random inputs shared by P0,
 * two chunked elementwise muls, a matmul and a square run at once
 * (Promise.all, so the chunks of the two muls interleave on the wire), then
 * the same calls one after the other; every result is revealed.
 *
 * Each call has its own channel, round clock, PRG streams and dealer
 * correlations (Context.call), so the results must be right whatever the
 * message timing, the channels must be released when the calls end, and the
 * concurrent batch must cost the rounds of its longest call while the
 * sequential batch costs their sum. The output reports what a test needs to
 * check all three: the revealed values, the round-clock advances, and the
 * number of open channels at quiet points before and after.
 *
 * P2 runs the job too (3pc, with placeholders); it takes no online part in
 * these protocols. In the plaintext context the same code gives the
 * reference values (no rounds, no channels).
 */
import { reveal } from '../../protocols/sharing.js';
import type { Context } from '../mpc/context.js';
import { arithCase, type ArithCase } from './arith-ops.js';
import { maxAbsDiff, shareOperands, type Operands } from './operands.js';
import type { ConcurrencyCheckJob } from './types.js';

export interface BatchResult {
  /** Revealed results, one list per call (empty on P2). */
  values: number[][];
  /** max |result - float64 reference| per call; null where the inputs are unknown (P1, P2). */
  maxAbsError: (number | null)[];
  /** Advance of the mesh's online round clock over the batch (null in the plaintext context). */
  meshRounds: number | null;
  /** Advance of the job context's own round clock over the batch (null in the plaintext context). */
  contextRounds: number | null;
}

export interface ConcurrencyCheckOutput {
  id: number;
  /** The calls, in the order they were made in each batch. */
  calls: string[];
  /** Rounds of each call alone (mesh clock advance in the sequential batch); null in the plaintext context. */
  callRounds: number[] | null;
  /** Rounds of each call by the cost formulas (1 per Beaver product with local truncation, 2 with dealer truncation). */
  expectedCallRounds: number[];
  concurrent: BatchResult;
  sequential: BatchResult;
  /** max |concurrent - sequential| per call, in units of 2^-fracBits (the two batches use different randomness). */
  concurrentVsSequentialUlps: number[];
  /**
   * Mesh.openTags at quiet points (see quietOpenTags): before the batches,
   * after the concurrent one (results revealed) and after the sequential
   * one. Holders only: null in the plaintext context and on P2, whose
   * dealer loop opens its reply channel whenever P0 first asks, whatever
   * point P2's own job has reached.
   */
  openTags: { before: number; afterConcurrent: number; afterSequential: number } | null;
}

interface Item {
  name: string;
  arith: ArithCase;
  operands: Operands;
}

/** Warm-up product size: opens P0's persistent dealer channels before the baseline count. */
const WARMUP_SIZE = 8;

function meshRounds(ctx: Context): number | null {
  return ctx.isPlain ? null : ctx.mesh.rounds;
}

/**
 * Mesh.openTags at a point where neither holder has sent anything the other
 * has not read yet. Channels are created on the receiving side when a
 * message arrives, so a peer running ahead into the next call would inflate
 * a naive count. Here P1 counts, then signals P0 (fence 1); P0 counts after
 * that signal and before it answers (fence 2), and P1 waits for the answer:
 * when either counts, the other is blocked in a fence. The fence messages
 * carry no data and depend on nothing (basis 0), so they leave the round
 * clocks as they are. Every party makes the two calls (same call paths
 * everywhere); P2's bodies do nothing.
 */
async function quietOpenTags(ctx: Context): Promise<number | null> {
  if (ctx.isPlain) return null;
  let count: number | null = null;
  if (ctx.id === 1) count = ctx.mesh.openTags;
  await ctx.call('fence', async (c) => {
    if (c.id === 1) c.send(0, null, { basis: 0 });
    else if (c.id === 0) await c.recv(1);
  });
  if (ctx.id === 0) count = ctx.mesh.openTags;
  await ctx.call('fence', async (c) => {
    if (c.id === 0) c.send(1, null, { basis: 0 });
    else if (c.id === 1) await c.recv(0);
  });
  return count;
}

function errors(items: Item[], values: Float64Array[]): (number | null)[] {
  return items.map((it, i) => (it.operands.values ? maxAbsDiff(values[i]!, it.arith.reference(it.operands.values)) : null));
}

function batch(items: Item[], values: Float64Array[], mesh: number | null, context: number | null): BatchResult {
  return { values: values.map((v) => Array.from(v)), maxAbsError: errors(items, values), meshRounds: mesh, contextRounds: context };
}

export async function concurrencyCheck(ctx: Context, job: ConcurrencyCheckJob): Promise<ConcurrencyCheckOutput> {
  const plain = ctx.isPlain;
  const cases: [string, ArithCase][] = [
    ['mul', arithCase('mul', job.size)],
    ['mul', arithCase('mul', job.size)],
    ['matmul', arithCase('matmul', job.matmulSize)],
    ['square', arithCase('square', job.size)],
  ];
  // Operand sets from seeds seed, seed + 1, ...: the two muls differ, so crossed messages would show.
  const items: Item[] = cases.map(([name, arith], i) => ({ name, arith, operands: shareOperands(ctx, arith, job.seed + i) }));

  // Warm-up: the first correlation opens P0's request/response channels to
  // the dealer, which stay open for the session; count after it.
  const warm = arithCase('mul', WARMUP_SIZE);
  await reveal(ctx, await warm.run(ctx, shareOperands(ctx, warm, job.seed + items.length).shared));
  const before = await quietOpenTags(ctx);

  // Concurrent: every call is made now, in program order, before any awaits.
  const c0 = meshRounds(ctx);
  const k0 = ctx.rounds;
  const zc = await Promise.all(items.map((it) => it.arith.run(ctx, it.operands.shared)));
  const c1 = meshRounds(ctx);
  const k1 = ctx.rounds;
  const concurrentValues = await Promise.all(zc.map((z) => reveal(ctx, z)));
  const afterConcurrent = await quietOpenTags(ctx);

  // Sequential: the same calls, one after the other.
  const callRounds: number[] = [];
  const s0 = meshRounds(ctx);
  const ks0 = ctx.rounds;
  const zs = [];
  for (const it of items) {
    const r = meshRounds(ctx);
    zs.push(await it.arith.run(ctx, it.operands.shared));
    if (r !== null) callRounds.push(meshRounds(ctx)! - r);
  }
  const s1 = meshRounds(ctx);
  const ks1 = ctx.rounds;
  const sequentialValues: Float64Array[] = [];
  for (const z of zs) sequentialValues.push(await reveal(ctx, z));
  const afterSequential = await quietOpenTags(ctx);

  const ulp = 2 ** -ctx.fracBits;
  return {
    id: ctx.id,
    calls: items.map((it) => it.name),
    callRounds: plain ? null : callRounds,
    expectedCallRounds: items.map((it) => it.arith.cost(ctx.truncation, ctx.fracBits).rounds),
    concurrent: batch(items, concurrentValues, plain ? null : c1! - c0!, plain ? null : k1 - k0),
    sequential: batch(items, sequentialValues, plain ? null : s1! - s0!, plain ? null : ks1 - ks0),
    concurrentVsSequentialUlps: concurrentValues.map((v, i) => maxAbsDiff(v, sequentialValues[i]!) / ulp),
    openTags: before !== null && afterConcurrent !== null && afterSequential !== null ? { before, afterConcurrent, afterSequential } : null,
  };
}

/**
 * `mpcnet bench relu` job: the 3-party truncation DReLU / ReLU / 2x2 max
 * pooling (protocols/drelu.ts, protocols/maxpool.ts) on n seeded random
 * inputs owned by P0. Every party runs this program (P2 with placeholder
 * tensors) and calls the same protocols in the same order.
 *
 * Per repetition: a barrier among all three parties, then the timed online
 * call on inputs already shared, with this party's online traffic and round
 * clock advance over the call alone. Repetition 0 is a warm-up and is not
 * reported. The last result is revealed; P0 compares it with the plaintext
 * function of the fixed-point inputs it shared.
 */
import { drelu, relu, truncReluBytes } from '../../protocols/drelu.js';
import { maxPool2d, maxPoolGeometry } from '../../protocols/maxpool.js';
import { revealRing, shareInput } from '../../protocols/sharing.js';
import { truncSignParams, type TruncSignParams } from '../approx/truncation-sign.js';
import { deriveSeed, uniformArray } from '../common/random.js';
import type { Context, PartyIndex } from '../mpc/context.js';
import type { Shared } from '../mpc/shared.js';
import { snapshot, trafficSince } from '../mpc/traffic.js';
import { encode } from '../ring/fixed.js';
import type { BenchReluJob, ReluOp } from './types.js';

/** Fraction of the sign test's range the inputs fill (maxpool: half of it, so differences stay in range). */
export const INPUT_RANGE_FRACTION = 0.9;
/** Max pooling window of the benchmark (stride = window). */
export const POOL_WINDOW = 2;

export interface ReluCallTraffic {
  bytesSent: number;
  bytesReceived: number;
  /** Advance of this party's round clock over the call. */
  rounds: number;
  messagesSent: number;
}

export interface BenchReluOutput {
  id: PartyIndex;
  op: ReluOp;
  lx: number;
  skip: number;
  n: number;
  /** Online seconds of each timed repetition (after the warm-up). */
  seconds: number[];
  /** Online traffic of the last repetition. */
  traffic: ReluCallTraffic;
  /** Payload bytes this party should send and receive per call (truncReluBytes). */
  expected: { bytesSent: number; bytesReceived: number };
  /** process.resourceUsage().maxRSS at the end of the job, in bytes. */
  peakRssBytes: number;
  /** P0: max |MPC - plaintext| over the inputs (windows) whose decision is deterministic; null elsewhere. */
  maxAbsError: number | null;
  /** P0: outputs that differ from the plaintext function, all inputs; null elsewhere. */
  signErrors: number | null;
  /** P0: inputs (windows for maxpool) whose decision is deterministic; null elsewhere. */
  deterministic: number | null;
}

/** [N, C, H, W] with N C H W = n for 2x2 pooling: the largest even square plane (side <= 32) dividing n. */
export function maxpoolShape(n: number): [number, number, number, number] {
  const area = POOL_WINDOW * POOL_WINDOW;
  if (!Number.isInteger(n) || n < area || n % area !== 0) {
    throw new RangeError(`maxpool: n must be a positive multiple of ${area} (${POOL_WINDOW}x${POOL_WINDOW} windows), got ${n}`);
  }
  for (let side = 32; side >= 2; side -= 2) if (n % (side * side) === 0) return [1, n / (side * side), side, side];
  throw new Error('unreachable: side 2 divides any multiple of 4');
}

/** Elements of each ReLU call of the op, in order (maxpool: one call per tournament level). */
export function reluCallSizes(op: ReluOp, n: number): number[] {
  if (op !== 'maxpool') return [n];
  const windows = n / (POOL_WINDOW * POOL_WINDOW);
  const sizes = [];
  for (let members = POOL_WINDOW * POOL_WINDOW; members > 1; members = (members + 1) >> 1) sizes.push(windows * (members >> 1));
  return sizes;
}

/** Critical-path rounds of one call: two per truncation ReLU call. */
export function expectedRounds(op: ReluOp, n: number): number {
  return 2 * reluCallSizes(op, n).length;
}

/** Payload bytes per party (sent, received) for one call of the op on n elements. */
export function expectedBytes(op: ReluOp, n: number, params: TruncSignParams, id: PartyIndex): { bytesSent: number; bytesReceived: number } {
  let bytesSent = 0;
  let bytesReceived = 0;
  for (const size of reluCallSizes(op, n)) {
    const b = truncReluBytes(size, params, op !== 'drelu');
    if (id === 0) bytesSent += b.p0Sent;
    else if (id === 1) {
      bytesSent += b.p1Sent;
      bytesReceived += b.p1Received;
    } else {
      bytesSent += b.p2Sent;
      bytesReceived += b.p2Received;
    }
  }
  return { bytesSent, bytesReceived };
}

/** The test's range in real units: 2^(lx + d - f) (2^(lx / 2) with the usual d = f - lx / 2). */
export function testRange(params: TruncSignParams, fracBits: number): number {
  return 2 ** (params.lx + params.dropBits - fracBits);
}

/**
 * All three parties wait for one another: each sends an empty message to
 * the two others and waits for theirs, twice. One exchange synchronises,
 * but leaves the party with the highest round clock one behind the others
 * (its own message does not raise its clock), which would add a round to
 * its count of the call; after the second exchange all three clocks are
 * equal, so each party's clock advance over the call is the call's alone.
 */
function barrier(ctx: Context): Promise<void> {
  return ctx.call('barrier', async (c) => {
    const others = ([0, 1, 2] as const).filter((p) => p !== c.id);
    for (let i = 0; i < 2; i++) {
      for (const p of others) c.send(p, null);
      await Promise.all(others.map((p) => c.recv(p)));
    }
  });
}

function runOp(ctx: Context, job: BenchReluJob, x: Shared): Promise<Shared> {
  const opts = { lx: job.lx, skip: job.skip, ...(job.dropBits !== undefined ? { dropBits: job.dropBits } : {}) };
  switch (job.op) {
    case 'drelu':
      return drelu(ctx, x, opts);
    case 'relu':
      return relu(ctx, x, opts);
    case 'maxpool':
      return maxPool2d(ctx, x, POOL_WINDOW, opts);
  }
}

export async function benchRelu(ctx: Context, job: BenchReluJob): Promise<BenchReluOutput> {
  if (ctx.mode !== '3pc') throw new Error(`bench relu runs the 3-party truncation ReLU: P2 must be online (3 parties), but this session is '${ctx.mode}'`);
  const params = truncSignParams({ lx: job.lx, skip: job.skip, fracBits: ctx.fracBits, ...(job.dropBits !== undefined ? { dropBits: job.dropBits } : {}) });
  const shape = job.op === 'maxpool' ? maxpoolShape(job.n) : [job.n];
  const range = testRange(params, ctx.fracBits) * INPUT_RANGE_FRACTION * (job.op === 'maxpool' ? 0.5 : 1);
  const values = ctx.id === 0 ? uniformArray(deriveSeed(job.seed, job.lx), job.n, -range, range) : null;
  const x = shareInput(ctx, 0, values, shape);

  const seconds: number[] = [];
  let traffic: ReluCallTraffic = { bytesSent: 0, bytesReceived: 0, rounds: 0, messagesSent: 0 };
  let result: Shared | undefined;
  for (let rep = 0; rep <= job.reps; rep++) {
    await barrier(ctx);
    const before = snapshot(ctx.mesh);
    const t0 = performance.now();
    result = await runOp(ctx, job, x);
    const t1 = performance.now();
    const t = trafficSince(before, snapshot(ctx.mesh));
    traffic = { bytesSent: t.bytesSent, bytesReceived: t.bytesReceived, rounds: t.rounds, messagesSent: t.messagesSent };
    if (rep > 0) seconds.push((t1 - t0) / 1000);
    ctx.progress({ message: `${job.op} lx ${job.lx} rep ${rep}/${job.reps}: ${(t1 - t0).toFixed(1)} ms online` });
  }
  const revealed = await revealRing(ctx, result!);
  const check = values ? compare(job, params, ctx.fracBits, encode(values, ctx.fracBits), revealed) : null;
  return {
    id: ctx.id,
    op: job.op,
    lx: job.lx,
    skip: job.skip,
    n: job.n,
    seconds,
    traffic,
    expected: expectedBytes(job.op, job.n, params, ctx.id),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    maxAbsError: check?.maxAbsError ?? null,
    signErrors: check?.signErrors ?? null,
    deterministic: check?.deterministic ?? null,
  };
}

/** Ring elements as signed numbers (exact below 2^53 in magnitude), without a BigInt per element. */
function signedNumbers(ring: BigUint64Array): Float64Array {
  const lo = new Uint32Array(ring.buffer, ring.byteOffset, 2 * ring.length);
  const hi = new Int32Array(ring.buffer, ring.byteOffset, 2 * ring.length);
  const out = new Float64Array(ring.length);
  for (let i = 0; i < ring.length; i++) out[i] = hi[2 * i + 1]! * 4294967296 + lo[2 * i]!;
  return out;
}

interface Check {
  maxAbsError: number;
  signErrors: number;
  deterministic: number;
}

/**
 * Compares the revealed outputs with the plaintext function of the ring
 * inputs P0 shared (so fixed-point encoding is not counted as error).
 * A decision is deterministic unless the tested difference lies in
 * (-g, 0), g = 2^(s + d) ring units (truncSignProbability's rule).
 */
function compare(job: BenchReluJob, params: TruncSignParams, fracBits: number, inputs: BigUint64Array, out: BigUint64Array): Check {
  const g = 2 ** (params.skip + params.dropBits);
  const xs = signedNumbers(inputs);
  const got = signedNumbers(out);
  const outScale = job.op === 'drelu' ? 1 : 2 ** -fracBits;
  let maxAbsError = 0;
  let signErrors = 0;
  let deterministic = 0;
  const tally = (want: number, have: number, det: boolean): void => {
    if (have !== want) signErrors++;
    if (det) {
      deterministic++;
      maxAbsError = Math.max(maxAbsError, Math.abs(have - want) * outScale);
    }
  };
  if (job.op === 'maxpool') {
    const geo = maxPoolGeometry(maxpoolShape(job.n), POOL_WINDOW);
    let at = 0;
    for (let w = 0; w < geo.counts.length; w++) {
      const k = geo.counts[w]!;
      let best = -Infinity;
      let det = true;
      for (let i = 0; i < k; i++) {
        const a = xs[geo.members[at + i]!]!;
        best = Math.max(best, a);
        for (let j = i + 1; j < k; j++) {
          const d = Math.abs(a - xs[geo.members[at + j]!]!);
          if (d > 0 && d < g) det = false;
        }
      }
      tally(best, got[w]!, det);
      at += k;
    }
  } else {
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const want = job.op === 'drelu' ? (x >= 0 ? 1 : 0) : Math.max(x, 0);
      tally(want, got[i]!, x >= 0 || x <= -g);
    }
  }
  return { maxAbsError, signErrors, deterministic };
}

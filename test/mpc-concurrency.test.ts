/**
 * Protocol calls in flight together, in real 2- and 3-party runs (three OS
 * processes over loopback WebSockets): the 'concurrency-check' job runs two
 * chunked elementwise muls, a matmul and a square at once, then the same
 * calls one after the other, and reveals every result. Checked against the
 * one-party plaintext context running the same job code and against float64;
 * the channels the calls used must all be released, and the concurrent batch
 * must cost the rounds of its longest call, the sequential one their sum.
 */
import { describe, expect, it } from 'vitest';
import { arithCase } from '../src/jobs/arith-ops.js';
import type { ConcurrencyCheckOutput } from '../src/jobs/concurrency-check.js';
import { runJob } from '../src/jobs/index.js';
import { operandValues } from '../src/jobs/operands.js';
import { Context, type TruncationMode } from '../src/mpc/context.js';
import { ELEMENTWISE_CHUNK } from '../src/mpc/correlations.js';
import { runSession } from '../src/mpc/launcher.js';

const F = 16;
const ULP = 2 ** -F;
const SEED = 11;
/** Three exchange chunks per elementwise call, so the two muls' chunks interleave on the wire. */
const SIZE = 3 * ELEMENTWISE_CHUNK;
const MATMUL = 64;
const JOB = { kind: 'concurrency-check', seed: SEED, size: SIZE, matmulSize: MATMUL };
const CALLS = ['mul', 'mul', 'matmul', 'square'];
const BATCHES = ['concurrent', 'sequential'] as const;

const plainRuns = new Map<TruncationMode, Promise<ConcurrencyCheckOutput>>();
function plainOutput(truncation: TruncationMode): Promise<ConcurrencyCheckOutput> {
  let run = plainRuns.get(truncation);
  if (!run) plainRuns.set(truncation, (run = runJob(Context.plain({ fracBits: F, truncation }), JOB) as Promise<ConcurrencyCheckOutput>));
  return run;
}

/** Float64 results of the job's calls (operand sets from SEED, SEED + 1, ... as in the job). */
function references(): Float64Array[] {
  const cases = [arithCase('mul', SIZE), arithCase('mul', SIZE), arithCase('matmul', MATMUL), arithCase('square', SIZE)];
  return cases.map((c, i) => c.reference(operandValues(c, SEED + i)));
}

/** Counts of (mpc - plain) / ulp over all elements, keyed by that difference. */
function ulpHistogram(mpc: number[], plain: number[]): Map<number, number> {
  const h = new Map<number, number>();
  for (let j = 0; j < mpc.length; j++) {
    const d = (mpc[j]! - plain[j]!) / ULP;
    h.set(d, (h.get(d) ?? 0) + 1);
  }
  return h;
}

function firstMismatch(a: number[], b: number[]): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return j;
  return -1;
}

describe.each([
  ['2pc', 'local'],
  ['3pc', 'local'],
  ['2pc', 'dealer'],
  ['3pc', 'dealer'],
] as const)('concurrent protocol calls in real %s processes, %s truncation', (mode, truncation) => {
  it('match the plaintext context and float64, release their channels, and count max(rounds)', async () => {
    const run = await runSession({ mode, fracBits: F, truncation, job: JOB });
    const plain = await plainOutput(truncation);
    // Rounds of one call: the Beaver opening, plus the opening of x + r with dealer truncation.
    const rounds = truncation === 'local' ? 1 : 2;
    /** Online payload bytes one holder sends for one call's truncation (dealer: one element per output). */
    const truncBytes = (outputs: number) => (truncation === 'dealer' ? 8 * outputs : 0);
    const holders = [0, 1].map((id) => run.parties[id]!.output as ConcurrencyCheckOutput);
    const refs = references();
    expect(plain.calls).toEqual(CALLS);

    for (const out of holders) {
      const who = `P${out.id}`;
      expect(out.calls).toEqual(CALLS);
      for (const batch of BATCHES) {
        CALLS.forEach((name, i) => {
          const got = out[batch].values[i]!;
          const want = plain[batch].values[i]!;
          expect(got.length, `${who} ${batch} ${name} #${i}: length`).toBe(refs[i]!.length);
          // Not bit for bit: local truncation (SecureML) gives floor(x / 2^f) + e with
          // e in {0, 1} depending on the random shares (dealer truncation too, with
          // e depending on the mask r), where the plaintext context gives
          // floor(x / 2^f). So every element differs from the plaintext context by 0
          // or +1 ulp (2^-16), never anything else. (The two batches use different
          // randomness, so they are not compared with each other exactly either.)
          // A share wrap would break this with probability |x| / 2^64 per element (~1e-10).
          const hist = ulpHistogram(got, want);
          const other = [...hist.keys()].filter((d) => d !== 0 && d !== 1);
          expect(other, `${who} ${batch} ${name} #${i}: differences from the plaintext context other than 0 or +1 ulp`).toEqual([]);
        });
      }
      // Same as the float64 products; before the per-call runtime the concurrent
      // muls crossed each other's messages and were off by up to 4.3e9.
      for (const i of [0, 1]) {
        const got = out.concurrent.values[i]!;
        let worst = 0;
        for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j]! - refs[i]![j]!));
        expect(worst, `${who} concurrent mul #${i}: max |mpc - float64|`).toBeLessThan(1e-3);
      }
      // The job's own report agrees: at most 1 ulp between the batches.
      for (const d of out.concurrentVsSequentialUlps) expect(d).toBeLessThanOrEqual(1);

      // Rounds: 1 per Beaver product with local truncation (folded into the combine
      // pass or share-wise, no message), 2 with dealer truncation; in flight
      // together they cost the longest one's rounds, one after the other their sum.
      expect(out.expectedCallRounds).toEqual([rounds, rounds, rounds, rounds]);
      expect(out.callRounds, `${who}: rounds of each call alone`).toEqual(out.expectedCallRounds);
      const callRounds = out.callRounds!;
      expect(out.concurrent.meshRounds, `${who}: concurrent batch`).toBe(Math.max(...callRounds));
      expect(out.concurrent.contextRounds).toBe(Math.max(...callRounds));
      expect(out.sequential.meshRounds, `${who}: sequential batch`).toBe(callRounds.reduce((a, b) => a + b, 0));
      expect(out.sequential.contextRounds).toBe(callRounds.reduce((a, b) => a + b, 0));

      // Every call released its channels: the open-channel count is back to its
      // value before the calls (only session-wide channels remain: the key
      // exchange's and, on P0, the dealer's).
      expect(out.openTags, `${who}: open channels`).not.toBeNull();
      const tags = out.openTags!;
      expect(tags.afterConcurrent, `${who}: open channels after the concurrent batch`).toBe(tags.before);
      expect(tags.afterSequential, `${who}: open channels after the sequential batch`).toBe(tags.before);
      expect(tags.before).toBeLessThanOrEqual(6);

      // Profile: each holder counted the calls and exactly their bytes (8-element
      // warm-up mul, then the two muls in each batch; 16 bytes per product, plus
      // the truncation's opening with dealer truncation).
      const prof = run.parties[out.id]!.profile!;
      const mulBytes = 16 * (8 + 4 * SIZE) + truncBytes(8 + 4 * SIZE);
      expect(prof['mul']).toMatchObject({ calls: 5, bytesSent: mulBytes, bytesReceived: mulBytes, rounds: 5 * rounds });
      expect(prof['matmul']).toMatchObject({ calls: 2, bytesSent: 2 * (8 * 2 * MATMUL * MATMUL + truncBytes(MATMUL * MATMUL)), rounds: 2 * rounds });
      expect(prof['square']).toMatchObject({ calls: 2, bytesSent: 2 * (8 * SIZE + truncBytes(SIZE)), rounds: 2 * rounds });
    }

    // Both holders reveal the same values.
    for (const batch of BATCHES) {
      CALLS.forEach((name, i) => {
        expect(firstMismatch(holders[0]![batch].values[i]!, holders[1]![batch].values[i]!), `${batch} ${name} #${i}: first element where P0 and P1 differ`).toBe(-1);
      });
    }

    // P2: only the dealer in 2pc; in 3pc it runs the job on placeholders and
    // takes no online part in these protocols.
    const p2 = run.parties[2]!;
    expect(p2.stats.rounds).toBe(0);
    if (mode === '2pc') {
      expect(p2.output).toBeNull();
    } else {
      const out = p2.output as ConcurrencyCheckOutput;
      expect(out.id).toBe(2);
      expect(out.concurrent.values.map((v) => v.length)).toEqual([0, 0, 0, 0]);
      expect(out.sequential.values.map((v) => v.length)).toEqual([0, 0, 0, 0]);
      expect(out.concurrent.meshRounds).toBe(0);
      expect(out.sequential.meshRounds).toBe(0);
      expect(out.openTags).toBeNull();
    }
  }, 120_000);
});

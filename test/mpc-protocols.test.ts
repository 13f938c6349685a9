/**
 * Every arithmetic protocol in real 2- and 3-party runs (three OS processes
 * over loopback WebSockets) on random inputs, compared with
 *  - float64 plaintext, within an error bound derived from f (below), and
 *  - the one-party plaintext context running the same code (ring-exact up
 *    to the truncation's +-1 ulp),
 * and the online traffic of each op compared with the exact formula.
 */
import { describe, expect, it } from 'vitest';
import { runJob, type ArithOp } from '../src/jobs/index.js';
import { arithCase } from '../src/jobs/arith-ops.js';
import { operandValues } from '../src/jobs/operands.js';
import type { CaseOutput } from '../src/jobs/protocol-check.js';
import { Context, type TruncationMode } from '../src/mpc/context.js';
import { ELEMENTWISE_CHUNK } from '../src/mpc/correlations.js';
import { runSession } from '../src/mpc/launcher.js';

const F = 16;
const ULP = 2 ** -F;
const SEED = 7;

/** op, size, inner-product length (terms summed per output), expected online bytes per holder before truncation. */
const CASES: { op: ArithOp; size: number; terms: number; bytes: number }[] = [
  { op: 'mul', size: 1000, terms: 1, bytes: 16 * 1000 },
  { op: 'square', size: 999, terms: 1, bytes: 8 * 999 },
  { op: 'matmul', size: 17, terms: 17, bytes: 8 * (17 * 17 + 17 * 17) },
  { op: 'conv2d', size: 6, terms: 16 * 9, bytes: 8 * (16 * 6 * 6 + 16 * 16 * 9) },
  { op: 'dense', size: 5, terms: 10, bytes: 8 * (5 * 10 + 10 * 10) },
  { op: 'avgpool', size: 6, terms: 4, bytes: 0 },
  { op: 'trunc', size: 1000, terms: 1, bytes: 0 },
  // Local linear ops; values reach ~13, so encoding error is ~13 ulp/2 per input.
  { op: 'linear', size: 1000, terms: 16, bytes: 0 },
];

/**
 * Whether the case's truncation opens x + r in dealer mode: not for average
 * pooling, whose 2-bit truncation of an f-bit value stays local (its wrap
 * chance is ~2^-46; protocols/pooling.ts, protocols/truncation.ts).
 */
function opensInDealerMode(op: ArithOp): boolean {
  return op !== 'avgpool';
}

/** Outputs of each case (the truncated ones) for the dealer truncation's extra opening. */
function outputCount(op: ArithOp, size: number): number {
  return arithCase(op, size).outShape.reduce((a, b) => a * b, 1);
}

/**
 * Error bound vs float64 for inputs in [-1, 1): each input is off by at most
 * ulp/2 after encoding, so a sum of `terms` products is off by at most
 * terms * ulp (|x| + |y| <= 2 per product); truncation adds at most 1 ulp,
 * and the constant 1/4 of avgpool is exact. Doubled as margin.
 */
function tolerance(terms: number): number {
  return 2 * (terms * ULP + 2 * ULP);
}

async function plainOutputs(truncation: TruncationMode): Promise<CaseOutput[]> {
  const ctx = Context.plain({ fracBits: F, truncation });
  return (await runJob(ctx, { kind: 'protocol-check', cases: CASES.map(({ op, size }) => ({ op, size })), seed: SEED })) as CaseOutput[];
}

describe.each([
  ['2pc', 'local'],
  ['2pc', 'dealer'],
  ['3pc', 'local'],
  ['3pc', 'dealer'],
] as const)('protocols in real %s processes, %s truncation', (mode, truncation) => {
  it('match float64 and the plaintext context; traffic equals the formulas', async () => {
    const run = await runSession({
      mode,
      fracBits: F,
      truncation,
      job: { kind: 'protocol-check', cases: CASES.map(({ op, size }) => ({ op, size })), seed: SEED },
    });
    const p0 = run.parties[0]!.output as CaseOutput[];
    const p1 = run.parties[1]!.output as CaseOutput[];
    const plain = await plainOutputs(truncation);
    CASES.forEach((c, i) => {
      const k = arithCase(c.op, c.size);
      const reference = k.reference(operandValues(k, SEED + i));
      const got = p0[i]!.output;
      expect(got, `${c.op}: both holders reveal the same`).toEqual(p1[i]!.output);
      expect(got.length).toBe(reference.length);
      const tol = tolerance(c.terms);
      let worst = 0;
      let worstPlain = 0;
      for (let j = 0; j < got.length; j++) {
        worst = Math.max(worst, Math.abs(got[j]! - reference[j]!));
        worstPlain = Math.max(worstPlain, Math.abs(got[j]! - plain[i]!.output[j]!));
      }
      expect(worst, `${c.op}: max |mpc - float64|`).toBeLessThanOrEqual(tol);
      expect(worstPlain, `${c.op}: max |mpc - plaintext context|`).toBeLessThanOrEqual(ULP * 1.0001);
      const opens = truncation === 'dealer' && opensInDealerMode(c.op);
      const extra = opens ? 8 * outputCount(c.op, c.size) : 0;
      const rounds = (c.bytes > 0 ? 1 : 0) + (opens ? 1 : 0);
      for (const p of [p0[i]!, p1[i]!]) {
        expect(p.traffic!.bytesSent, `${c.op}: payload bytes sent`).toBe(c.bytes + extra);
        expect(p.traffic!.bytesReceived, `${c.op}: payload bytes received`).toBe(c.bytes + extra);
        expect(p.traffic!.rounds, `${c.op}: rounds`).toBe(rounds);
        expect(p.traffic!.messagesSent, `${c.op}: messages`).toBe(rounds);
      }
    });
    // Each holder's per-protocol profile counts the same calls and bytes.
    for (const id of [0, 1]) {
      const prof = run.parties[id]!.profile!;
      // Sections are inclusive: mul's own truncation counts in mul too.
      const mulBytes = 16 * 1000 + (truncation === 'dealer' ? 8 * 1000 : 0);
      expect(prof['mul']).toMatchObject({ calls: 1, bytesSent: mulBytes, bytesReceived: mulBytes, rounds: truncation === 'dealer' ? 2 : 1 });
      expect(prof['matmul']!.calls).toBe(2); // matmul and dense
      expect(prof['reveal']!.calls).toBe(CASES.length);
      // Every case truncates once; with local truncation mul folds it into its combine pass.
      expect(prof['truncate']!.calls).toBe(CASES.length - (truncation === 'local' ? 1 : 0));
      expect(prof['truncate']!.bytesSent).toBe(truncation === 'dealer' ? 8 * CASES.reduce((n, c) => n + (opensInDealerMode(c.op) ? outputCount(c.op, c.size) : 0), 0) : 0);
    }
    // The dealer answered every correlation request and P2 sent nothing online.
    const dealer = run.parties[2]!;
    const expectedCorrelations = CASES.filter((c) => c.bytes > 0).length + (truncation === 'dealer' ? CASES.filter((c) => opensInDealerMode(c.op)).length : 0);
    expect(dealer.dealer!.correlations).toBe(expectedCorrelations);
    expect(dealer.stats.rounds).toBe(0);
  }, 60_000);
});

describe('elementwise mul cost (PROTOCOLS.md 2)', () => {
  it('is 16 bytes per product per party and one round, with c0 alone from the dealer', async () => {
    // Several exchange chunks: still one round, one message per chunk.
    const n = 3 * ELEMENTWISE_CHUNK + 5;
    const run = await runSession({ mode: '2pc', job: { kind: 'bench-arith', op: 'mul', size: n, reps: 1, seed: 3 } });
    for (const id of [0, 1]) {
      const out = run.parties[id]!.output as { traffic: { bytesSent: number; bytesReceived: number; rounds: number; messagesSent: number }; dealerBytesReceived: number };
      expect(out.traffic.bytesSent).toBe(16 * n);
      expect(out.traffic.bytesReceived).toBe(16 * n);
      expect(out.traffic.rounds).toBe(1);
      expect(out.traffic.messagesSent).toBe(4);
      // Only P0 gets the correction share c0 (n elements); P1's material is all PRG.
      expect(out.dealerBytesReceived).toBe(id === 0 ? 8 * n : 0);
    }
    const err = (run.parties[0]!.output as { maxAbsError: number }).maxAbsError;
    expect(err).toBeLessThanOrEqual(tolerance(1));
  }, 60_000);
});

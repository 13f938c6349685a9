/**
 * The training products of the arithmetic catalogue (src/jobs/arith-ops.ts)
 * with their costs written out as formulas (PROTOCOLS.md 1-3, 6), and the
 * checks that the in-process and the real-process tests share: results
 * against float64 and the plaintext context, payload bytes, messages and
 * rounds per holder, the dealer's bytes to P0, and nothing online from P2.
 */
import { expect } from 'vitest';
import type { ArithOp } from '../../src/jobs/arith-ops.js';
import { arithCase } from '../../src/jobs/arith-ops.js';
import { operandValues } from '../../src/jobs/operands.js';
import type { CaseOutput } from '../../src/jobs/protocol-check.js';
import type { TruncationMode } from '../../src/mpc/context.js';
import { outputSize } from '../../src/mpc/correlations.js';
import { powerWorkBits } from '../../protocols/powers.js';
import { LOCAL_SAFE_EXTRA_BITS } from '../../protocols/truncation.js';

export const F = 16;
export const ULP = 2 ** -F;
const B = 8; // bytes per ring element

export interface TrainingCheck {
  op: ArithOp;
  size: number;
  /** Products summed per output (bilinear), for the float64 bound. */
  terms: number;
  /** Online bytes per holder of the opening (before any truncation). */
  opened: number;
  /** Elements the product's correlation brings from the dealer to P0. */
  dealerElements: number;
  /** Elements of the result (each truncated once; powers: per power). */
  outElements: number;
  /** Powers only: the degree. */
  degree?: number;
}

// matmul cases at size 5: m = 5, n = 8, k = 6. Conv gradients at size 7: x [2, 3, 7, 7],
// w [4, 3, 3, 3], stride 2, padding 1, dy [2, 4, 4, 4]. Channel products at size 6: [2, 4, 6, 6].
export const TRAINING_CASES: TrainingCheck[] = [
  { op: 'matmulTransA', size: 5, terms: 8, opened: B * (8 * 5 + 8 * 6), dealerElements: 5 * 6, outElements: 5 * 6 },
  { op: 'matmulTransB', size: 5, terms: 8, opened: B * (5 * 8 + 6 * 8), dealerElements: 5 * 6, outElements: 5 * 6 },
  { op: 'conv2dGradWeight', size: 7, terms: 2 * 4 * 4, opened: B * (2 * 3 * 49 + 2 * 4 * 16), dealerElements: 4 * 3 * 9, outElements: 4 * 3 * 9 },
  { op: 'conv2dGradInput', size: 7, terms: 4 * 9, opened: B * (2 * 4 * 16 + 4 * 3 * 9), dealerElements: 2 * 3 * 49, outElements: 2 * 3 * 49 },
  { op: 'channelMul', size: 6, terms: 1, opened: B * (2 * 4 * 36 + 4), dealerElements: 2 * 4 * 36, outElements: 2 * 4 * 36 },
  { op: 'channelDot', size: 6, terms: 2 * 36, opened: B * 2 * (2 * 4 * 36), dealerElements: 4, outElements: 4 },
  // Powers of n = 1000: the opening is n elements; the dealer sends b, b^2..b^d (w < f, so b too).
  { op: 'powers3', size: 1000, degree: 3, terms: 1, opened: B * 1000, dealerElements: 3 * 1000, outElements: 1000 },
  { op: 'powers4', size: 1000, degree: 4, terms: 1, opened: B * 1000, dealerElements: 4 * 1000, outElements: 1000 },
];

export const JOB_CASES = TRAINING_CASES.map(({ op, size }) => ({ op, size }));

/** Powers x^2..x^d that need a truncation at f = 16: all of them at the default working precision. */
function truncatedPowers(c: TrainingCheck): number {
  const w = powerWorkBits(F, c.degree!);
  let n = 0;
  for (let k = 2; k <= c.degree!; k++) if (k * w > F) n++;
  return n;
}

/**
 * Truncations that open x + r in dealer mode (one message each way, all in
 * one round) per holder: a power at no more than f + LOCAL_SAFE_EXTRA_BITS
 * bits stays local (protocols/truncation.ts).
 */
function truncations(c: TrainingCheck): number {
  if (!c.degree) return 1;
  const w = powerWorkBits(F, c.degree);
  let n = 0;
  for (let k = 2; k <= c.degree; k++) if (k * w > F + LOCAL_SAFE_EXTRA_BITS) n++;
  return n;
}

/**
 * Bound on |result - float64| in ulps for inputs in [-1, 1).
 * Bilinear: each input is off by ulp/2 after encoding, so a sum of `terms`
 * products is off by terms ulp; truncation adds 1 (doubled as margin, as in
 * test/mpc-protocols.test.ts). Powers: x is formed at w = powerWorkBits(f, d)
 * bits (floor, plus 0 or 1 ulp of w from the opening) after encoding, so
 * x^k is off by at most k (2^(f-w) + 1/2) ulp, plus 1 for the truncation:
 * k 2^(f-w) + k + 2 ulp is the stated tolerance (d = 3: w = 13, 26 ulp for
 * x^2, 29 for x^3; d = 4: w = 10, 262 ulp for x^4).
 */
export function floatToleranceUlps(c: TrainingCheck, k = 1): number {
  if (!c.degree) return 2 * (c.terms + 2);
  return k * 2 ** (F - powerWorkBits(F, c.degree)) + k + 2;
}

/**
 * Bound on |mpc - plaintext context| in ulps. The plaintext context runs
 * the same code with exact ring products: bilinear results differ by the
 * truncation's one ulp; powers by the opening's extra ulp of w carried to
 * x^k (k 2^(f-w), times (1 + 2^-w)^(k-1) < 1.01) plus two for the truncations.
 */
function plainToleranceUlps(c: TrainingCheck, k = 1): number {
  if (!c.degree) return 1.0001;
  return 1.01 * k * 2 ** (F - powerWorkBits(F, c.degree)) + 2;
}

function maxUlps(a: ArrayLike<number>, b: ArrayLike<number>, from: number, to: number): number {
  let worst = 0;
  for (let j = from; j < to; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!) / ULP);
  return worst;
}

/** Values: both holders reveal the same, within the float64 and plaintext bounds (per power for powers). */
export function checkValues(c: TrainingCheck, seed: number, p0: CaseOutput, p1: CaseOutput, plain: CaseOutput): void {
  const k = arithCase(c.op, c.size);
  const reference = k.reference(operandValues(k, seed));
  expect(p0.output, `${c.op}: both holders reveal the same`).toEqual(p1.output);
  expect(p0.output.length).toBe(reference.length);
  const parts = c.degree ?? 1;
  const n = reference.length / parts;
  for (let p = 0; p < parts; p++) {
    const power = c.degree ? p + 1 : 1;
    const what = c.degree ? `${c.op} x^${power}` : c.op;
    expect(maxUlps(p0.output, reference, p * n, (p + 1) * n), `${what}: max |mpc - float64| in ulp`).toBeLessThanOrEqual(floatToleranceUlps(c, power));
    expect(maxUlps(p0.output, plain.output, p * n, (p + 1) * n), `${what}: max |mpc - plaintext context| in ulp`).toBeLessThanOrEqual(plainToleranceUlps(c, power));
  }
  // x itself comes back untouched.
  if (c.degree) expect(maxUlps(p0.output, plain.output, 0, n)).toBe(0);
}

/** Traffic of one holder for the case: the formulas above, exactly. */
export function checkTraffic(c: TrainingCheck, truncation: TruncationMode, holder: 0 | 1, out: CaseOutput): void {
  const t = out.traffic!;
  const dealerTrunc = truncation === 'dealer' ? truncations(c) : 0;
  const bytes = c.opened + B * c.outElements * dealerTrunc;
  expect(t.bytesSent, `${c.op}: payload bytes sent by P${holder}`).toBe(bytes);
  expect(t.bytesReceived, `${c.op}: payload bytes received by P${holder}`).toBe(bytes);
  expect(t.rounds, `${c.op}: rounds`).toBe(1 + (dealerTrunc > 0 ? 1 : 0));
  expect(t.messagesSent, `${c.op}: messages`).toBe(1 + dealerTrunc);
  // Only P0 hears from the dealer: the product's correction, and each truncation's (r >> d, msb(r) 2^(64-d)) corrections.
  const dealer = holder === 0 ? B * (c.dealerElements + 2 * c.outElements * dealerTrunc) : 0;
  expect(t.dealerBytesReceived, `${c.op}: dealer bytes to P${holder}`).toBe(dealer);
  // The catalogue's own cost and prefetch list agree with these formulas.
  const k = arithCase(c.op, c.size);
  expect(k.cost(truncation, F)).toEqual({ bytesPerHolder: bytes, rounds: t.rounds });
  expect(k.correlations(truncation, F).reduce((s, spec) => s + B * outputSize(spec), 0)).toBe(B * (c.dealerElements + 2 * c.outElements * dealerTrunc));
}

/** P2 (3pc) runs the same program with placeholders: nothing online, no rounds. */
export function checkHelperQuiet(out: CaseOutput): void {
  expect(out.output).toEqual([]);
  expect(out.traffic).toMatchObject({ bytesSent: 0, bytesReceived: 0, rounds: 0 });
}

/**
 * The 3-party truncation DReLU / ReLU / max pooling in real processes
 * (three OS processes over loopback WebSockets): exact against the one
 * plaintext reference (src/approx/truncation-sign.ts) where its decision is
 * deterministic, payload bytes equal to the formula, 2 rounds whatever n,
 * P2's view uniform and independent of the inputs, failure paths.
 */
import { describe, expect, it } from 'vitest';
import { truncReluBytes } from '../protocols/drelu.js';
import { truncSignParams, truncSignProbability } from '../src/approx/truncation-sign.js';
import type { ReluCheckOutput } from '../src/jobs/relu-check.js';
import { RunError, runSession, startRun } from '../src/mpc/launcher.js';
import type { PartyResult } from '../src/mpc/runtime.js';
import { deriveSeed, Rng } from '../src/common/random.js';

const F = 16;
const T = 180_000; // per test: real processes on a loaded 2-core machine

function outputs(parties: PartyResult[]): [ReluCheckOutput, ReluCheckOutput, ReluCheckOutput] {
  return parties.map((p) => p.output as ReluCheckOutput) as [ReluCheckOutput, ReluCheckOutput, ReluCheckOutput];
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Random values on the lx / 2-bit grid in (-2^(lx/2), 2^(lx/2)): the decision is deterministic there. */
function gridValues(lx: number, n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const steps = 2 ** lx;
  return Array.from({ length: n }, () => (Math.floor(rng.uniform() * (2 * steps - 1)) - (steps - 1)) / 2 ** (lx / 2));
}

describe('DReLU in real 3-party processes', () => {
  it.each([4, 7])('is exact on every integer in (-2^lx, 2^lx) at lx = %i, DReLU(0) = 1', async (lx) => {
    const values = range(-(2 ** lx) + 1, 2 ** lx - 1);
    const run = await runSession({ mode: '3pc', job: { kind: 'relu-check', op: 'drelu', lx, skip: 0, dropBits: 0, inputFracBits: 0, values, repeat: 1 } });
    const [p0, p1] = outputs(run.parties);
    const expected = values.map((v) => (v >= 0 ? 1 : 0));
    expect(p0.calls[0]!.output).toEqual(expected);
    expect(p1.calls[0]!.output).toEqual(expected);
    expect(expected[values.indexOf(0)]).toBe(1);
  }, T);

  it.each([16, 22])('equals the reference on random in-range inputs at lx = %i (f = 16)', async (lx) => {
    const values = gridValues(lx, 3000, 11 + lx);
    const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'relu-check', op: 'drelu', lx, skip: 0, values, repeat: 1 } });
    const params = truncSignParams({ lx, fracBits: F });
    const expected = values.map((v) => truncSignProbability(Math.round(v * 2 ** F), params));
    // On the grid every decision is deterministic (probability 0 or 1).
    expect(expected.every((p) => p === 0 || p === 1)).toBe(true);
    expect(outputs(run.parties)[0].calls[0]!.output).toEqual(expected);
  }, T);

  it('at the largest lx for f = 16 (lx 32, s 9: lx - s = 23, p < 2^26) it follows the reference rule', async () => {
    const lx = 32;
    const skip = 9;
    const values = gridValues(lx, 3000, 4).map((v, i) => (i % 10 === 0 ? -(i % 500) / 2 ** F : v)); // some in (-2^(s+d), 0)
    const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'relu-check', op: 'drelu', lx, skip, values, repeat: 1 } });
    const params = truncSignParams({ lx, skip, fracBits: F });
    const got = outputs(run.parties)[0].calls[0]!.output;
    let random = 0;
    for (const [i, v] of values.entries()) {
      const p = truncSignProbability(Math.round(v * 2 ** F), params);
      if (p === 0 || p === 1) expect(got[i]).toBe(p);
      else random++;
    }
    expect(random).toBeGreaterThan(100);
  }, T);

  it('near 0 (-2^(s+d) < x < 0) it says 0 with probability |x| / 2^(s+d), like the simulation', async () => {
    // lx 8, f 16: d = 12; s = 2: g = 2^14 ring units. x = -g / 4: P(0) = 1/4.
    const n = 4000;
    const values = new Array<number>(n).fill(-(2 ** 14) / 4 / 2 ** F);
    const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'relu-check', op: 'drelu', lx: 8, skip: 2, values, repeat: 1 } });
    const zeros = outputs(run.parties)[0].calls[0]!.output.filter((b) => b === 0).length;
    const params = truncSignParams({ lx: 8, skip: 2, fracBits: F });
    expect(1 - truncSignProbability(-(2 ** 14) / 4, params)).toBe(0.25);
    // Binomial(4000, 1/4): sd 27.4; 5 sd.
    expect(Math.abs(zeros - n / 4)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
  }, T);

  it('ReLU keeps the input exactly where the sign is decided (lx = 16)', async () => {
    const values = gridValues(16, 2000, 5).map((v, i) => v + (i % 7) / 2 ** 15); // off-grid low bits kept by ReLU
    const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'relu-check', op: 'relu', lx: 16, skip: 0, values, repeat: 1 } });
    const params = truncSignParams({ lx: 16, fracBits: F });
    const y = outputs(run.parties)[1].calls[0]!.output;
    for (const [i, v] of values.entries()) {
      const p = truncSignProbability(Math.round(v * 2 ** F), params);
      if (p === 1) expect(y[i]).toBe(v);
      else if (p === 0) expect(y[i]).toBe(0);
      else expect([0, v]).toContain(y[i]);
    }
  }, T);
});

describe('cost', () => {
  it.each([10, 100_000])('payload bytes equal the formula and rounds are 2 for n = %i', async (n) => {
    const rng = new Rng(deriveSeed(3, n));
    const values = Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * 200);
    for (const op of ['drelu', 'relu'] as const) {
      const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'relu-check', op, lx: 16, skip: 0, values, repeat: 1 } });
      const [p0, p1, p2] = outputs(run.parties).map((o) => o.calls[0]!);
      const f = truncReluBytes(n, truncSignParams({ lx: 16, fracBits: F }), op === 'relu');
      expect([p0!.bytesSent, p0!.bytesReceived]).toEqual([f.p0Sent, 0]);
      expect([p1!.bytesSent, p1!.bytesReceived]).toEqual([f.p1Sent, f.p1Received]);
      expect([p2!.bytesSent, p2!.bytesReceived]).toEqual([f.p2Sent, f.p2Received]);
      // lx = 16, s = 0: 18 values of 19 bits: 42.75 bytes per element from each holder (+8 for ReLU).
      expect(f.p0Sent).toBe(Math.ceil((n * 18 * 19) / 8) + (op === 'relu' ? 8 * n : 0));
      // P1 waits two rounds (to P2 and back); P0 needs no message back.
      expect(p1!.rounds).toBe(2);
      expect(p0!.rounds).toBe(0);
    }
  }, T);

  it('max pooling costs 2 ceil(log2 k) rounds (2x2: 4, 3x3: 8)', async () => {
    const shape = [2, 3, 6, 6];
    // In (-128, 128): every difference stays inside the test's range 2^(lx/2) = 256.
    const values = gridValues(14, 216, 9);
    for (const [window, rounds] of [[2, 4], [3, 8]] as const) {
      const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'relu-check', op: 'maxpool', lx: 16, skip: 0, values, shape, window, repeat: 1 } });
      const y = outputs(run.parties)[0].calls[0]!;
      expect(y.rounds).toBeLessThanOrEqual(rounds); // P0 sees the rounds that reach it
      expect(outputs(run.parties)[1].calls[0]!.rounds).toBe(rounds);
      const o = 6 / window;
      for (let plane = 0; plane < 6; plane++) for (let i = 0; i < o; i++) for (let j = 0; j < o; j++) {
        let m = -Infinity;
        for (let di = 0; di < window; di++) for (let dj = 0; dj < window; dj++) m = Math.max(m, values[plane * 36 + (i * window + di) * 6 + j * window + dj]!);
        // Differences of grid values are on the grid and in range: every comparison is decided exactly.
        expect(y.output[plane * o * o + i * o + j]).toBe(m);
      }
    }
  }, T);
});

/**
 * Upper 1 - 1e-6 quantiles of chi-square with 15 and 17 degrees of freedom
 * (Wilson-Hilferty): a uniform view fails with probability 1e-6, so the
 * suite does not flake; a view without the rotation or the masks scores in
 * the thousands here.
 */
const CHI2_1E6: Record<number, number> = { 15: 57.3, 17: 60.9 };

function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

describe("P2's view", () => {
  it('zero position uniform, nonzero sums uniform in Z_p^*, d\' a fair coin independent of the sign', async () => {
    // 1000 values, half positive, half negative, far from 0; 20 calls: 20,000 elements.
    const values = gridValues(16, 1000, 21).map((v) => (Math.abs(v) < 1 ? v + 2 * Math.sign(v || 1) : v));
    const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'relu-check', op: 'drelu', lx: 16, skip: 0, values, repeat: 20, helperView: true } });
    const view = outputs(run.parties)[2].view!;
    const n = 18;
    expect(view.zeroAt).toHaveLength(n + 1);
    const withZero = view.zeroAt.slice(0, n);
    // Elements with a zero are those with d' = 1; P2 cannot tell where it comes from.
    expect(withZero.reduce((a, b) => a + b, 0)).toBe([...view.dPrime].filter((c) => c === '1').length);
    expect(chiSquare(withZero)).toBeLessThan(CHI2_1E6[17]!);
    expect(chiSquare(view.sumBins)).toBeLessThan(CHI2_1E6[15]!);
    // d' against the input's sign: P(d' = 1) = 1/2 for each sign (|z| < 5, two-sided p ~ 6e-7).
    for (const positive of [true, false]) {
      let ones = 0;
      let total = 0;
      for (let i = 0; i < view.dPrime.length; i++) {
        if ((values[i % values.length]! >= 0) !== positive) continue;
        total++;
        if (view.dPrime[i] === '1') ones++;
      }
      expect(Math.abs(ones - total / 2) / Math.sqrt(total / 4)).toBeLessThan(5);
    }
  }, T);
});

describe('failures', () => {
  it('P2 killed mid-ReLU: P0 and P1 exit non-zero within 10 s, naming P2', async () => {
    let killedAt = 0;
    const values = gridValues(16, 20_000, 2);
    const handle = startRun({
      mode: '3pc',
      job: { kind: 'relu-check', op: 'relu', lx: 16, skip: 0, values, repeat: 100_000 },
      onProgress: (id, event) => {
        if (id === 0 && event['call'] === 5 && !killedAt) {
          killedAt = Date.now();
          handle.children[2]!.kill('SIGKILL');
        }
      },
    });
    const err = await handle.done.then(() => null, (e: unknown) => e);
    expect(killedAt).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(RunError);
    for (const f of (err as RunError).failures) expect(f.message).toMatch(f.id === 2 ? /SIGKILL/ : /P2\b/);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  }, T);

  it.each([
    [{ lx: 7 }, /lx must be even/],
    [{ lx: 16, skip: 15 }, /skip s must be an integer in \[0, lx - 2\]/],
    [{ lx: 40 }, /lx - s must be at most 23/],
  ])('bad parameters %j are refused with one clear error', async (params, message) => {
    const err = await runSession({ mode: '3pc', job: { kind: 'relu-check', op: 'drelu', skip: 0, values: [1, -1], repeat: 1, ...params } }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).failures.find((f) => f.id === 0)!.message).toMatch(message);
  }, T);

  it('the 3-party ReLU in a 2-party session is refused', async () => {
    const err = await runSession({ mode: '2pc', job: { kind: 'relu-check', op: 'relu', lx: 16, skip: 0, values: [1, -1], repeat: 1 } }).then(() => null, (e: unknown) => e);
    expect((err as RunError).failures.find((f) => f.id === 0)!.message).toMatch(/needs P2 online: run with 3 parties/);
  }, T);

  it('an empty input is refused', async () => {
    const err = await runSession({ mode: '3pc', job: { kind: 'relu-check', op: 'relu', lx: 16, skip: 0, values: [], repeat: 1 } }).then(() => null, (e: unknown) => e);
    expect((err as RunError).failures.find((f) => f.id === 0)!.message).toMatch(/non-empty list/);
  }, T);
});

/**
 * Division, square root, inverse square root, exponential, reciprocal and
 * softmax in real party processes (three OS processes over loopback
 * WebSockets, the 'nonlinear-check' job of src/jobs/nonlinear-check.ts),
 * against float64 over each case's input range within the bounds of
 * test/helpers/nonlinear-cases.ts:
 *  - 2PC with a public range bound (no comparisons; P2 only deals), local
 *    and dealer truncation;
 *  - 3PC with the private range normalisation (one-hot of 3-party DReLUs)
 *    and the softmax with the row max.
 * Unit tests of the same code in one process: test/division-math.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { NonlinearCaseOutput } from '../src/jobs/nonlinear-check.js';
import { RunError, runSession } from '../src/mpc/launcher.js';
import type { PartyResult } from '../src/mpc/runtime.js';
import { F, maxErrorUlps, OCTAVE, privateCases, publicCases, type CheckCase } from './helpers/nonlinear-cases.js';

const T = 180_000; // per test: real processes on a loaded 2-core machine
const N = 600; // points per range

function outputs(parties: PartyResult[]): NonlinearCaseOutput[][] {
  return parties.map((p) => (p.output ?? []) as NonlinearCaseOutput[]);
}

function check(label: string, cases: CheckCase[], out: NonlinearCaseOutput[]): void {
  expect(out.length).toBe(cases.length);
  cases.forEach((c, i) => {
    expect(maxErrorUlps(out[i]!.output, c.reference), `${label}: ${c.name}`).toBeLessThanOrEqual(c.mpcUlps);
  });
}

describe('2PC with a public range bound, real processes', () => {
  it.each(['local', 'dealer'] as const)('%s truncation: every case within its bound; both holders agree', async (truncation) => {
    const cases = publicCases(N);
    const run = await runSession({ mode: '2pc', fracBits: F, truncation, job: { kind: 'nonlinear-check', cases: cases.map((c) => c.spec) } });
    const [p0, p1, p2] = outputs(run.parties);
    check(`2pc ${truncation}`, cases, p0!);
    expect(p1!.map((o) => o.output)).toEqual(p0!.map((o) => o.output));
    expect(run.parties[2]!.role).toBe('dealer');
    expect(p2).toEqual([]);
    if (truncation === 'local') {
      // The first case is Algorithm 2 on [0.5, 1) with the seed's 1 iteration: 3 rounds, 72 bytes per element from each holder.
      expect(cases[0]!.spec.range).toEqual(OCTAVE);
      expect([p0![0]!.rounds, p1![0]!.rounds]).toEqual([3, 3]);
      expect([p0![0]!.bytesSent, p1![0]!.bytesSent]).toEqual([72 * N, 72 * N]);
    }
  }, T);

  it('private normalisation over several octaves ends the run with one clear error', async () => {
    const err = await runSession({
      mode: '2pc', fracBits: F,
      job: { kind: 'nonlinear-check', cases: [{ op: 'rsqrt', x: [1, 2, 3], range: { min: 0.5, max: 4 }, normalisation: 'private' }] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toMatch(/run with 3 parties, or use normalisation 'public'/);
  }, T);
});

describe('3PC with the private range normalisation, real processes', () => {
  it('every case within its bound (division, sqrt, rsqrt over [2^-6, 2^10); softmax with the row max); P2 reveals nothing', async () => {
    const cases = [...privateCases(N), ...publicCases(N).filter((c) => c.spec.op === 'exp' || c.spec.op === 'reciprocal')];
    const run = await runSession({ mode: '3pc', fracBits: F, job: { kind: 'nonlinear-check', cases: cases.map((c) => c.spec) } });
    const [p0, p1, p2] = outputs(run.parties);
    check('3pc', cases, p0!);
    expect(p1!.map((o) => o.output)).toEqual(p0!.map((o) => o.output));
    expect(run.parties[2]!.role).toBe('helper');
    expect(p2!.every((o) => o.output.length === 0)).toBe(true);
    // P2 took part online (the DReLUs) in the private cases and the row max only.
    expect(p2!.slice(0, 4).every((o) => o.bytesReceived > 0)).toBe(true);
    expect(p2!.slice(4).every((o) => o.bytesReceived === 0)).toBe(true);
  }, T);
});

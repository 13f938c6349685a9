/**
 * The training products in real party processes (three OS processes over
 * loopback WebSockets, the 'protocol-check' job of src/jobs): the conv
 * gradients, the transposed matmuls, the per-channel products and the
 * powers from one power tuple (d = 3 and 4), against float64 and the
 * plaintext context running the same job, with every holder's bytes,
 * messages and rounds and the dealer's bytes to P0 equal to the formulas
 * of test/helpers/training-cases.ts, and nothing online from P2.
 */
import { describe, expect, it } from 'vitest';
import { runJob } from '../src/jobs/index.js';
import type { CaseOutput } from '../src/jobs/protocol-check.js';
import { Context } from '../src/mpc/context.js';
import { runSession } from '../src/mpc/launcher.js';
import { checkHelperQuiet, checkTraffic, checkValues, F, JOB_CASES, TRAINING_CASES } from './helpers/training-cases.js';

const SEED = 31;
const JOB = { kind: 'protocol-check', cases: JOB_CASES, seed: SEED } as const;

describe.each([
  ['2pc', 'dealer'],
  ['3pc', 'local'],
] as const)('training products in real %s processes, %s truncation', (mode, truncation) => {
  it('match float64 and the plaintext context; traffic equals the formulas', async () => {
    const run = await runSession({ mode, fracBits: F, truncation, job: { ...JOB, cases: [...JOB.cases] } });
    const [p0, p1, p2] = [0, 1, 2].map((id) => run.parties[id]!.output as CaseOutput[]);
    const plain = (await runJob(Context.plain({ fracBits: F, truncation }), JOB)) as CaseOutput[];
    TRAINING_CASES.forEach((c, i) => {
      checkValues(c, SEED + i, p0![i]!, p1![i]!, plain[i]!);
      checkTraffic(c, truncation, 0, p0![i]!);
      checkTraffic(c, truncation, 1, p1![i]!);
      if (mode === '3pc') checkHelperQuiet(p2![i]!);
    });
    // One call per product in each holder's profile, under its own name.
    for (const id of [0, 1]) {
      const prof = run.parties[id]!.profile!;
      for (const name of ['matmulTransA', 'matmulTransB', 'conv2dGradWeight', 'conv2dGradInput', 'channelMul', 'channelDot']) {
        expect(prof[name]?.calls, name).toBe(1);
      }
      expect(prof['powers']?.calls).toBe(2);
    }
    // The dealer answered one correlation per product, plus the truncation pairs in dealer mode:
    // six products, x^3 at w = 13 (x^2 at 26 and x^3 at 39 bits), x^4 at w = 10 (x^3, x^4; x^2 at
    // 20 <= f + 4 bits stays local).
    const truncations = 6 + 2 + 2;
    expect(run.parties[2]!.dealer!.correlations).toBe(TRAINING_CASES.length + (truncation === 'dealer' ? truncations : 0));
    expect(run.parties[2]!.stats.rounds).toBe(0);
  }, 180_000);
});

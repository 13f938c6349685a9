/**
 * One MPC training run of the tiny seed CNN (two SGD steps) in real party
 * processes over WebSockets (the 'train-check' job of
 * src/jobs/train-check.ts): 2PC with the dealer, batch norm's rsqrt from the
 * public range [0.25, 16]; the updated weights and moving statistics must
 * match the same steps in plaintext tfjs within the tolerance of
 * test/nn-train.test.ts (5e-3 absolute, 5% of each tensor's update).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainCheckOutput } from '../src/jobs/train-check.js';
import { runSession } from '../src/mpc/launcher.js';
import { selectBackend } from '../src/plain/backend.js';
import { compareUpdates, initialValues, tfjsReference, tinyJob } from './helpers/train-model.js';

const T = 180_000;

describe('MPC training step in real processes', () => {
  const job = tinyJob(2);
  let ref: Map<string, number[]>;
  beforeAll(async () => {
    await selectBackend('cpu');
    ref = await tfjsReference(job);
  });

  it('2PC: two steps give tfjs\'s updated weights; both holders agree; the dealer returns nothing', async () => {
    const run = await runSession({ mode: '2pc', fracBits: 16, truncation: 'local', job });
    const [p0, p1, p2] = run.parties.map((p) => p.output as TrainCheckOutput | undefined);
    expect(p1!.values).toEqual(p0!.values);
    expect(run.parties[2]!.role).toBe('dealer');
    expect(p2?.values ?? []).toEqual([]);
    const cmp = compareUpdates(p0!, ref, initialValues(job));
    console.log(`real 2pc: max abs weight error ${cmp.maxAbs.toExponential(2)}, worst error / update ${cmp.worstRelUpdate.toFixed(4)} (${cmp.worst}), ${p0!.seconds.toFixed(2)} s`);
    expect(cmp.maxAbs).toBeLessThan(5e-3);
    expect(cmp.worstRelUpdate).toBeLessThan(0.05);
  }, T);
});

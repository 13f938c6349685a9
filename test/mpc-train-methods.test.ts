/**
 * MPC training with the seed paper's other activations and without batch
 * norm (the method comparison of `mpcnet experiment methods`):
 *  - fixed polynomials (public coefficients: `--act poly:...` / `fit:...`)
 *    and the seed CNN with a conv bias instead of BN: two SGD steps of the
 *    tiny model in the plaintext context and in real 2PC processes equal
 *    tfjs's float32 steps within the tolerance of test/mpc-train.test.ts
 *    (5e-3 absolute, 5% of each update); a fixed polynomial has no
 *    coefficient tensors at all (nothing shared, trained or checkpointed);
 *  - `train --mpc --act fit:tanh:chebyshev --no-bn` in real 2PC processes
 *    equals its --emulate run within 0.01 (test/mpc-train-cli.test.ts's
 *    tolerance), keeps the fit's coefficients, checkpoints only conv and
 *    dense tensors, and saves the model plaintext `train` saves (same
 *    layers, weights and activation config), which `mpcnet eval` reads.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mpcnet } from './helpers/run-cli.js';
import { presetFit } from '../src/approx/fit-presets.js';
import { trainCheck, type TrainCheckJob, type TrainCheckOutput } from '../src/jobs/train-check.js';
import { Context } from '../src/mpc/context.js';
import { runSession } from '../src/mpc/launcher.js';
import { readModelFiles } from '../src/nn/model-files.js';
import { parseActivation, seedPPolyCoefficients } from '../src/plain/activations/index.js';
import { selectBackend } from '../src/plain/backend.js';
import { compareUpdates, initialValues, tfjsReference, tinyJob } from './helpers/train-model.js';

const T = 180_000;
const TOL = 0.01;

function coefficientsOf(text: string): number[] {
  const a = parseActivation(text);
  if (a.kind !== 'polynomial') throw new Error(`${text} is not a fixed polynomial`);
  return a.coefficients;
}

const VARIANTS: [string, TrainCheckJob][] = [
  ['fixed Leaky ReLU regression cubic, BN', tinyJob(2, { fixed: coefficientsOf('fit:leaky-relu:lstsq') })],
  // lr 0.02: at 0.1 tfjs's own second step sends c3 from -0.01 to 3.8 (unnormalised inputs), and the ring wraps.
  ['PPoly without BN', { ...tinyJob(2, { bn: false }), lr: 0.02 }],
  ['fixed tanh Chebyshev cubic without BN', tinyJob(2, { bn: false, fixed: coefficientsOf('fit:tanh:chebyshev') })],
];

describe('fixed polynomial and no-BN training steps against tfjs', () => {
  const refs = new Map<string, Map<string, number[]>>();
  beforeAll(async () => {
    await selectBackend('cpu');
    for (const [name, job] of VARIANTS) refs.set(name, await tfjsReference(job));
  });

  function check(name: string, job: TrainCheckJob, out: TrainCheckOutput, where: string): void {
    const cmp = compareUpdates(out, refs.get(name)!, initialValues(job));
    console.log(`${where} ${name}: max abs weight error ${cmp.maxAbs.toExponential(2)}, worst error / update ${cmp.worstRelUpdate.toFixed(4)} (${cmp.worst})`);
    expect(cmp.maxAbs).toBeLessThan(5e-3);
    expect(cmp.worstRelUpdate).toBeLessThan(0.05);
    // Exactly the trainable tensors of the variant: no coefficients for a fixed polynomial, a conv bias instead of BN.
    expect(out.names.some((n) => n.startsWith('act.'))).toBe(!job.model.fixed);
    expect(out.names.includes('conv.bias')).toBe(!job.model.bn);
    expect(out.names.some((n) => n.startsWith('bn.'))).toBe(job.model.bn);
  }

  // Rounding to nearest, as `train --mpc --emulate` runs (floor's bias of -0.5 ulp per truncation adds up in BN's beta).
  it.each(VARIANTS)('plaintext context, %s: two steps equal tfjs', async (name, job) => {
    check(name, job, await trainCheck(Context.plain({ plainRounding: 'nearest' }), job), 'plain');
  });

  it('real 2PC processes: every variant equals tfjs; the holders agree', async () => {
    for (const [name, job] of VARIANTS) {
      const r = await runSession({ mode: '2pc', fracBits: 16, truncation: 'dealer', job });
      const [p0, p1] = r.parties.map((p) => p.output as TrainCheckOutput);
      expect(p1!.values).toEqual(p0!.values);
      check(name, job, p0!, 'real 2pc');
    }
  }, T);

  it('the fit presets: lstsq Leaky ReLU is the bare ppoly\'s start; tanh\'s odd fits have c0 = c2 = 0', () => {
    expect(coefficientsOf('fit:leaky-relu:lstsq')).toEqual(seedPPolyCoefficients(3));
    for (const m of ['chebyshev', 'lagrange', 'taylor'] as const) {
      const c = presetFit('tanh', m).coefficients;
      expect([c[0], c[2]]).toEqual([0, 0]);
    }
    presetFit('tanh', 'taylor').coefficients.forEach((c, k) => expect(c).toBeCloseTo([0, 1, 0, -1 / 3][k]!, 12));
    expect(coefficientsOf('fit:swish:chebyshev:d2')).toHaveLength(3);
    expect(() => parseActivation('fit:tanh:remez')).toThrow(/fit:FN:METHOD/);
    expect(() => parseActivation('fit:gelu:lstsq')).toThrow(/fit:FN:METHOD/);
  });
});


/** The activation layer's config and the weights (name -> values) of a saved model. */
function saved(dir: string): { act: { className: string; coefficients?: number[] }; weights: Map<string, number[]> } {
  const files = readModelFiles(dir, { weights: true });
  const layers = (files.topology as { config: { layers: { class_name: string; config: { coefficients?: number[] } }[] } }).config.layers;
  const act = layers.find((l) => l.class_name === 'PolynomialActivation' || l.class_name === 'PPoly');
  if (!act) throw new Error(`${dir}: no polynomial activation layer`);
  return { act: { className: act.class_name, ...(act.config.coefficients ? { coefficients: act.config.coefficients } : {}) }, weights: new Map([...files.weights].map(([k, w]) => [k, Array.from(w.values ?? [])])) };
}

describe('mpcnet train --mpc --act fit:... --no-bn (real processes)', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'mpcnet-train-methods-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const act = 'fit:tanh:chebyshev';
  const common = ['--model', 'cnn', '--act', act, '--no-bn', '--dataset', 'mnist', '--epochs', '1', '--batch', '16', '--lr', '0.002',
    '--limit-train', '64', '--limit-test', '64', '--json', '--progress', 'false'];

  it('2PC equals --emulate; the fit stays fixed; the saved model is plaintext train\'s model, and eval reads it', async () => {
    const [mpcOut, emuOut, plainOut] = ['mpc', 'emulated', 'plain'].map((d) => path.join(tmp, d)) as [string, string, string];
    const m = await mpcnet(['train', '--mpc', ...common, '--parties', '2', '--out', mpcOut]);
    expect(m.code, m.stderr).toBe(0);
    expect((JSON.parse(m.stdout) as { complete: boolean }).complete).toBe(true);
    const e = await mpcnet(['train', '--mpc', ...common, '--emulate', '--out', emuOut]);
    expect(e.code, e.stderr).toBe(0);
    const p = await mpcnet(['train', ...common, '--backend', 'cpu', '--out', plainOut]);
    expect(p.code, p.stderr).toBe(0);

    const [a, b, c] = [mpcOut, emuOut, plainOut].map(saved) as [ReturnType<typeof saved>, ReturnType<typeof saved>, ReturnType<typeof saved>];
    const fitCoefficients = coefficientsOf(act);
    for (const x of [a, b, c]) expect(x.act).toEqual({ className: 'PolynomialActivation', coefficients: fitCoefficients });
    // The same tensors as the plaintext model (conv kernel and bias, dense), nothing for BN or the activation.
    expect([...a.weights.keys()].sort()).toEqual([...c.weights.keys()].sort());
    expect([...a.weights.keys()].filter((k) => /bn|act/.test(k))).toEqual([]);
    let worst = 0;
    for (const [k, w] of a.weights) w.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b.weights.get(k)![i]!)); });
    console.log(`fit:tanh:chebyshev --no-bn, 2PC vs emulated: max |diff| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(TOL);

    // Each party checkpointed the conv and dense tensors (and their velocities) only.
    const ck = JSON.parse(readFileSync(path.join(mpcOut, 'mpc-checkpoint', 'p0.json'), 'utf8')) as { tensors: { name: string }[] };
    expect(ck.tensors.map((t) => t.name).filter((n) => !n.startsWith('velocity:')).sort()).toEqual(['conv.bias', 'conv.weight', 'logits.bias', 'logits.weight']);

    const ev = await mpcnet(['eval', '--model', mpcOut, '--limit-test', '64', '--backend', 'cpu', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const acc = (JSON.parse(ev.stdout) as { accuracy: number }).accuracy;
    expect(acc).toBeGreaterThanOrEqual(0);
    expect(acc).toBeLessThanOrEqual(1);
  }, T);
});

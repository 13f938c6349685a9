/**
 * MPC training layers (src/nn/train): each backward pass against a float64
 * analytic reference, in the plaintext context and in-process 2PC / 3PC
 * sessions; then whole training steps of the tiny seed CNN against the
 * same steps in plaintext tfjs (test/helpers/train-model.ts).
 *
 * Tolerances (f = 16, ulp = 2^-16 = 1.5e-5): products and truncations give
 * a few ulps per op; batch norm adds the rsqrt's error (2PC public range
 * [0.25, 16]: up to ~17 ulp relative, protocols/sqrt.ts) multiplied by
 * |x_hat| <= 3, so BN outputs and gradients are checked within 2e-3
 * absolute; the rest within 1e-3 (measured errors are printed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reveal, shareInput } from '../protocols/sharing.js';
import { Context } from '../src/mpc/context.js';
import type { Shared } from '../src/mpc/shared.js';
import { trainCheck, type TrainCheckOutput } from '../src/jobs/train-check.js';
import { batchNormBackward, batchNormTrainForward, type BatchNormSpec } from '../src/nn/train/batch-norm.js';
import { avgPoolBackward, convBackward, denseBackward } from '../src/nn/train/linear-layers.js';
import { powerChain, ppolyBackward, ppolyForward } from '../src/nn/train/ppoly.js';
import { localSession, type LocalSession } from './helpers/local-session.js';
import { compareUpdates, gaussian, initialValues, tfjsReference, tinyJob } from './helpers/train-model.js';
import { seedCnnSpec } from '../src/nn/train/seed-cnn.js';
import { selectBackend } from '../src/plain/backend.js';

type Mode = 'plain' | '2pc' | '3pc';
const MODES: Mode[] = ['plain', '2pc', '3pc'];

const sessions = new Map<Mode, LocalSession>();
beforeAll(async () => {
  sessions.set('2pc', await localSession('local', '2pc'));
  sessions.set('3pc', await localSession('local', '3pc'));
});
afterAll(async () => {
  for (const s of sessions.values()) await s.close();
});

/** Run a program (P0 owns every input) and reveal its outputs, as P0 sees them. */
async function run(mode: Mode, program: (ctx: Context) => Promise<Shared[]>): Promise<Float64Array[]> {
  const body = async (ctx: Context): Promise<Float64Array[]> => {
    const out = await program(ctx);
    const values: Float64Array[] = [];
    for (const t of out) values.push(await reveal(ctx, t));
    return values;
  };
  if (mode === 'plain') return body(Context.plain());
  const s = sessions.get(mode)!;
  const [p0] = mode === '3pc' ? await s.all(body) : await s.both(body);
  return p0;
}

function input(ctx: Context, values: number[], shape: number[]): Shared {
  return shareInput(ctx, 0, ctx.isPlain || ctx.id === 0 ? values : null, shape);
}

function maxErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!));
  return e;
}

const g = gaussian(11);
const sample = (n: number, scale = 1, offset = 0): number[] => Array.from({ length: n }, () => offset + scale * g());

describe('batch norm forward and backward against float64', () => {
  const [N, C, HW] = [4, 2, 36];
  const x = sample(N * C * HW, 1.5, 0.4);
  const dy = sample(N * C * HW, 0.3);
  const gamma = [1.1, 0.8];
  const beta = [0.1, -0.2];
  const spec = seedCnnSpec({ ...tinyJob().model }, null).layers.find((l) => l.kind === 'batchnorm') as BatchNormSpec;
  // float64 reference: per channel over (n, h, w).
  const m = N * HW;
  const at = (n: number, c: number, q: number): number => (n * C + c) * HW + q;
  const ref = { y: new Array<number>(x.length), dx: new Array<number>(x.length), dgamma: [0, 0], dbeta: [0, 0], mean: [0, 0], variance: [0, 0] };
  for (let c = 0; c < C; c++) {
    let mu = 0;
    for (let n = 0; n < N; n++) for (let q = 0; q < HW; q++) mu += x[at(n, c, q)]!;
    mu /= m;
    let v = 0;
    for (let n = 0; n < N; n++) for (let q = 0; q < HW; q++) v += (x[at(n, c, q)]! - mu) ** 2;
    v /= m;
    const inv = 1 / Math.sqrt(v + spec.epsilon);
    let db = 0;
    let dg = 0;
    for (let n = 0; n < N; n++) for (let q = 0; q < HW; q++) {
      const i = at(n, c, q);
      const xh = (x[i]! - mu) * inv;
      ref.y[i] = gamma[c]! * xh + beta[c]!;
      db += dy[i]!;
      dg += dy[i]! * xh;
    }
    for (let n = 0; n < N; n++) for (let q = 0; q < HW; q++) {
      const i = at(n, c, q);
      const xh = (x[i]! - mu) * inv;
      ref.dx[i] = gamma[c]! * inv * (dy[i]! - db / m - (xh * dg) / m);
    }
    ref.dbeta[c] = db;
    ref.dgamma[c] = dg;
    ref.mean[c] = 0.1 * mu; // moving mean from 0 with momentum 0.9
    ref.variance[c] = 0.9 + 0.1 * v;
  }

  it.each(MODES)('%s: y, dx, dgamma, dbeta and the moving statistics within 2e-3', async (mode) => {
    const out = await run(mode, async (ctx) => {
      const shape = [N, C, 6, 6];
      const p = { gamma: input(ctx, gamma, [C]), beta: input(ctx, beta, [C]), movingMean: input(ctx, [0, 0], [C]), movingVariance: input(ctx, [1, 1], [C]) };
      const normalisation = mode === '3pc' ? 'private' : 'public';
      const { y, cache } = await batchNormTrainForward(ctx, spec, input(ctx, x, shape), p, { normalisation });
      const grads = await batchNormBackward(ctx, input(ctx, dy, shape), cache);
      return [y, grads.dx, grads.dgamma, grads.dbeta, cache.movingMean, cache.movingVariance];
    });
    const errs = [maxErr(out[0]!, ref.y), maxErr(out[1]!, ref.dx), maxErr(out[2]!, ref.dgamma), maxErr(out[3]!, ref.dbeta), maxErr(out[4]!, ref.mean), maxErr(out[5]!, ref.variance)];
    console.log(`batch norm ${mode}: max abs error y ${errs[0]!.toExponential(2)}, dx ${errs[1]!.toExponential(2)}, dgamma ${errs[2]!.toExponential(2)}, dbeta ${errs[3]!.toExponential(2)}, moving ${Math.max(errs[4]!, errs[5]!).toExponential(2)}`);
    // dgamma and dbeta are sums of m = 144 terms: their bound scales with m.
    expect(Math.max(errs[0]!, errs[1]!, errs[4]!, errs[5]!)).toBeLessThan(2e-3);
    expect(Math.max(errs[2]!, errs[3]!)).toBeLessThan(2e-3 * Math.sqrt(m));
  });
});

describe('PPoly, conv, dense and average pooling backward against float64', () => {
  it.each(MODES)('%s: PPoly degree 3 per channel: y, dx, dc_k within 1e-3 (dc_k: sums, 1e-2)', async (mode) => {
    const [N, C, HW] = [2, 2, 16];
    const x = sample(N * C * HW, 1);
    const dy = sample(N * C * HW, 0.3);
    const c = [[0.2, 0.6, 0.25, -0.02], [0.1, 0.5, 0.3, 0.05]];
    const out = await run(mode, async (ctx) => {
      const shape = [N, C, 4, 4];
      const coef = [0, 1, 2, 3].map((k) => input(ctx, c.map((r) => r[k]!), [C]));
      const { masks: powers } = await powerChain(ctx, input(ctx, x, shape), 3);
      const y = await ppolyForward(ctx, powers, coef);
      const gr = await ppolyBackward(ctx, input(ctx, dy, shape), powers, coef);
      return [y, gr.dx, ...gr.dc];
    });
    const ch = (i: number): number => Math.floor(i / HW) % C;
    const y = x.map((v, i) => c[ch(i)]!.reduce((a, ck, k) => a + ck * v ** k, 0));
    const dx = x.map((v, i) => dy[i]! * (c[ch(i)]![1]! + 2 * c[ch(i)]![2]! * v + 3 * c[ch(i)]![3]! * v * v));
    const dc = [0, 1, 2, 3].map((k) => [0, 1].map((cc) => x.reduce((a, v, i) => a + (ch(i) === cc ? dy[i]! * v ** k : 0), 0)));
    const e = [maxErr(out[0]!, y), maxErr(out[1]!, dx), ...dc.map((r, k) => maxErr(out[2 + k]!, r))];
    console.log(`ppoly ${mode}: y ${e[0]!.toExponential(2)}, dx ${e[1]!.toExponential(2)}, dc ${Math.max(...e.slice(2)).toExponential(2)}`);
    expect(Math.max(e[0]!, e[1]!)).toBeLessThan(1e-3);
    expect(Math.max(...e.slice(2))).toBeLessThan(1e-2);
  });

  it.each(MODES)('%s: conv 3x3 same, dense and avgpool gradients within 1e-3 (sums of many products: 1e-3 x terms)', async (mode) => {
    const [N, C, O, H] = [2, 2, 3, 6];
    const x = sample(N * C * H * H);
    const w = sample(O * C * 9, 0.5);
    const dy = sample(N * O * H * H, 0.3);
    const [B, I, U] = [4, 8, 3];
    const xd = sample(B * I);
    const wd = sample(I * U, 0.5);
    const dyd = sample(B * U, 0.3);
    const dyp = sample(N * C * 9, 0.3);
    const l = seedCnnSpec({ ...tinyJob().model }, null).layers.find((q) => q.kind === 'conv2d')!;
    if (l.kind !== 'conv2d') throw new Error('no conv');
    const out = await run(mode, async (ctx) => {
      const conv = await convBackward(ctx, { ...l, hasBias: true }, input(ctx, dy, [N, O, H, H]), input(ctx, x, [N, C, H, H]), input(ctx, w, [O, C, 3, 3]), true);
      const dense = await denseBackward(ctx, input(ctx, dyd, [B, U]), input(ctx, xd, [B, I]), input(ctx, wd, [I, U]), true, true);
      const pool = await avgPoolBackward(ctx, input(ctx, dyp, [N, C, 3, 3]), [N, C, H, H], 2, 2);
      return [conv.dw, conv.dx!, conv.db!, dense.dw, dense.dx!, dense.db!, pool];
    });
    // float64 references
    const X = (n: number, c: number, i: number, j: number): number => (i < 0 || j < 0 || i >= H || j >= H ? 0 : x[((n * C + c) * H + i) * H + j]!);
    const dW = new Array<number>(O * C * 9).fill(0);
    const dX = new Array<number>(N * C * H * H).fill(0);
    const dB = new Array<number>(O).fill(0);
    for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) {
      const gy = dy[((n * O + o) * H + i) * H + j]!;
      dB[o] += gy;
      for (let c = 0; c < C; c++) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
        dW[((o * C + c) * 3 + a) * 3 + b] += gy * X(n, c, i + a - 1, j + b - 1);
        const ii = i + a - 1;
        const jj = j + b - 1;
        if (ii >= 0 && jj >= 0 && ii < H && jj < H) dX[((n * C + c) * H + ii) * H + jj] += gy * w[((o * C + c) * 3 + a) * 3 + b]!;
      }
    }
    const dWd = new Array<number>(I * U).fill(0);
    const dXd = new Array<number>(B * I).fill(0);
    const dBd = new Array<number>(U).fill(0);
    for (let b = 0; b < B; b++) for (let u = 0; u < U; u++) {
      const gy = dyd[b * U + u]!;
      dBd[u] += gy;
      for (let i = 0; i < I; i++) { dWd[i * U + u] += xd[b * I + i]! * gy; dXd[b * I + i] += gy * wd[i * U + u]!; }
    }
    const dP = new Array<number>(N * C * H * H);
    for (let p = 0; p < N * C; p++) for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) dP[(p * H + i) * H + j] = dyp[(p * 3 + (i >> 1)) * 3 + (j >> 1)]! / 4;
    const e = [maxErr(out[0]!, dW), maxErr(out[1]!, dX), maxErr(out[2]!, dB), maxErr(out[3]!, dWd), maxErr(out[4]!, dXd), maxErr(out[5]!, dBd), maxErr(out[6]!, dP)];
    console.log(`linear ${mode}: conv dW ${e[0]!.toExponential(2)} dx ${e[1]!.toExponential(2)} db ${e[2]!.toExponential(2)}; dense dW ${e[3]!.toExponential(2)} dx ${e[4]!.toExponential(2)} db ${e[5]!.toExponential(2)}; avgpool ${e[6]!.toExponential(2)}`);
    expect(Math.max(...e)).toBeLessThan(1e-3);
  });
});

describe('training steps of the tiny seed CNN against plaintext tfjs', () => {
  const job = tinyJob(2);
  let ref: Map<string, number[]>;
  beforeAll(async () => {
    await selectBackend('cpu');
    ref = await tfjsReference(job);
  });

  it.each(MODES)('%s: two SGD steps (momentum 0.9, wd 5e-4) give tfjs\'s weights within 5e-3 absolute and 5% of each update', async (mode) => {
    let out: TrainCheckOutput;
    if (mode === 'plain') out = await trainCheck(Context.plain(), job);
    else {
      const s = sessions.get(mode)!;
      const j = { ...job, normalisation: mode === '3pc' ? 'private' as const : 'public' as const };
      out = (mode === '3pc' ? await s.all((ctx) => trainCheck(ctx, j)) : await s.both((ctx) => trainCheck(ctx, j)))[0];
    }
    const cmp = compareUpdates(out, ref, initialValues(job));
    console.log(`train step ${mode}: max abs weight error ${cmp.maxAbs.toExponential(2)}, worst error / update size ${cmp.worstRelUpdate.toFixed(4)} (${cmp.worst})`);
    expect(cmp.maxAbs).toBeLessThan(5e-3);
    expect(cmp.worstRelUpdate).toBeLessThan(0.05);
  });
});

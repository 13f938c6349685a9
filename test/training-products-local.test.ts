/**
 * The training products (protocols/gradient-products.ts, channel-products.ts,
 * powers.ts) in one process over a real loopback mesh
 * (test/helpers/local-session.ts), 2PC and 3PC (P2 running the same job with
 * placeholders), both truncation modes: results against float64 and the
 * plaintext context running the same code, bytes, messages and rounds per
 * holder and the dealer's bytes against the formulas
 * (test/helpers/training-cases.ts). Then powers at full precision against
 * square, untruncated powers, products in flight together, and bad input.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { square } from '../protocols/beaver.js';
import { channelDot, channelMul } from '../protocols/channel-products.js';
import { conv2dGradInput, conv2dGradWeight, matmulTransA, matmulTransB } from '../protocols/gradient-products.js';
import { powers } from '../protocols/powers.js';
import { reveal, shareInput } from '../protocols/sharing.js';
import { runJob } from '../src/jobs/index.js';
import type { CaseOutput } from '../src/jobs/protocol-check.js';
import { Context, type TruncationMode } from '../src/mpc/context.js';
import type { Shared } from '../src/mpc/shared.js';
import { snapshot, trafficSince } from '../src/mpc/traffic.js';
import { localSession, type LocalSession } from './helpers/local-session.js';
import { checkHelperQuiet, checkTraffic, checkValues, F, JOB_CASES, TRAINING_CASES, ULP } from './helpers/training-cases.js';

const SEED = 23;
const JOB = { kind: 'protocol-check', cases: JOB_CASES, seed: SEED };

let session: LocalSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

async function plainOutputs(truncation: TruncationMode): Promise<CaseOutput[]> {
  return (await runJob(Context.plain({ fracBits: F, truncation }), JOB)) as CaseOutput[];
}

/** Deterministic inputs in [-1, 1). */
function inputs(n: number, salt: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => Math.sin(1.3 * i + salt) * 0.999);
}

describe.each([
  ['2pc', 'local'],
  ['2pc', 'dealer'],
  ['3pc', 'local'],
  ['3pc', 'dealer'],
] as const)('training products in process, %s, %s truncation', (mode, truncation) => {
  it('match float64 and the plaintext context; bytes, rounds and dealer bytes equal the formulas', async () => {
    session = await localSession(truncation, mode);
    const s = session;
    const outs = (mode === '3pc' ? await s.all((ctx) => runJob(ctx, JOB)) : await s.both((ctx) => runJob(ctx, JOB))) as CaseOutput[][];
    const plain = await plainOutputs(truncation);
    TRAINING_CASES.forEach((c, i) => {
      checkValues(c, SEED + i, outs[0]![i]!, outs[1]![i]!, plain[i]!);
      checkTraffic(c, truncation, 0, outs[0]![i]!);
      checkTraffic(c, truncation, 1, outs[1]![i]!);
      if (mode === '3pc') checkHelperQuiet(outs[2]![i]!);
    });
  });
});

describe('powers', () => {
  it('at degree 2 keep full precision and cost what square costs', async () => {
    session = await localSession();
    const n = 777;
    const [r0] = await session.both(async (ctx) => {
      const x = shareInput(ctx, 0, ctx.id === 0 ? inputs(n, 1) : null, [n]);
      const t0 = snapshot(ctx.mesh);
      const [, p2] = await powers(ctx, x, 2);
      const tp = trafficSince(t0, snapshot(ctx.mesh));
      const t1 = snapshot(ctx.mesh);
      const sq = await square(ctx, x);
      const ts = trafficSince(t1, snapshot(ctx.mesh));
      return { p2: await reveal(ctx, p2!), sq: await reveal(ctx, sq), tp, ts };
    });
    // Both form x^2 at 32 bits and truncate once: the same value up to the truncation's ulp.
    const worst = Math.max(...Array.from(r0.p2, (v, i) => Math.abs(v - r0.sq[i]!)));
    expect(worst).toBeLessThanOrEqual(ULP);
    for (const t of [r0.tp, r0.ts]) expect(t).toMatchObject({ bytesSent: 8 * n, bytesReceived: 8 * n, rounds: 1, dealerBytesReceived: 8 * n });
  });

  it('with { truncate: false } come at k * workBits fractional bits', async () => {
    session = await localSession('local', '3pc');
    const n = 100;
    const x = inputs(n, 2);
    const results = await session.all(async (ctx) => {
      const xs = shareInput(ctx, 0, ctx.id === 0 ? x : null, [n]);
      const ps = await powers(ctx, xs, 3, { workBits: 12, truncate: false });
      return { scales: ps.map((p) => p.fracBits), x3: await reveal(ctx, ps[2]!) };
    });
    for (const r of results) expect(r.scales).toEqual([F, 24, 36]);
    // x floored to 12 bits (plus at most one ulp of 12 bits), cubed exactly.
    const worst = Math.max(...Array.from(results[0].x3, (v, i) => Math.abs(v - x[i]! ** 3)));
    expect(worst).toBeLessThanOrEqual(1.01 * 3 * (2 ** -12 + 2 ** -(F + 1)));
  });

  it('refuse degrees and working precisions that cannot work', async () => {
    const ctx = Context.plain();
    const x = shareInput(ctx, 0, [0.5], [1]);
    await expect(powers(ctx, x, 0)).rejects.toThrow(/degree 0 must be an integer in \[1, 16\]/);
    await expect(powers(ctx, x, 17)).rejects.toThrow(/degree 17/);
    await expect(powers(ctx, x, 3, { workBits: 17 })).rejects.toThrow(/workBits 17 must be an integer in \[0, 16\]/);
    await expect(powers(ctx, x, 4, { workBits: 16 })).rejects.toThrow(/x\^4 at 16 fractional bits needs 64 bits below 2\^63/);
    expect(await powers(ctx, x, 1)).toEqual([x]);
  });
});

/** Every training product from the same operands (P0's inputs), all in flight together. */
function sevenProducts(ctx: Context): Promise<Shared[]> {
  const share = (shape: number[], salt: number): Shared => {
    const n = shape.reduce((a, b) => a * b, 1);
    return shareInput(ctx, 0, ctx.isPlain || ctx.id === 0 ? inputs(n, salt) : null, shape);
  };
  const x = share([2, 3, 6, 6], 1);
  const w = share([4, 3, 3, 3], 2);
  const dy = share([2, 4, 6, 6], 3);
  const a = share([5, 4], 4);
  const b = share([5, 3], 5);
  const g = share([3], 6);
  const e = share([6, 4], 7);
  return Promise.all([
    conv2dGradWeight(ctx, x, dy, w.shape, { padding: 1 }),
    conv2dGradInput(ctx, dy, w, x.shape, { padding: 1 }),
    matmulTransA(ctx, a, b),
    matmulTransB(ctx, a, e),
    channelMul(ctx, x, g),
    channelDot(ctx, x, x),
    powers(ctx, a, 3).then((p) => p[2]!),
  ]);
}

describe('training products', () => {
  it('run in flight together in one round (local truncation)', async () => {
    session = await localSession('local', '3pc');
    const results = await session.all(async (ctx) => {
      const r0 = ctx.mesh.rounds;
      const zs = await sevenProducts(ctx);
      const rounds = ctx.mesh.rounds - r0;
      const values: Float64Array[] = [];
      for (const z of zs) values.push(await reveal(ctx, z));
      return { rounds, values };
    });
    expect(results.map((r) => r.rounds)).toEqual([1, 1, 0]);
    // The same calls in the plaintext context.
    const ctx = Context.plain({ fracBits: F });
    const plain = await sevenProducts(ctx);
    for (const [i, p] of plain.entries()) {
      const want = await reveal(ctx, p);
      const got = results[0].values[i]!;
      expect(Array.from(results[1].values[i]!)).toEqual(Array.from(got));
      const tol = i === 6 ? (3 * 2 ** (F - 13) * 1.01 + 2) * ULP : ULP;
      expect(Math.max(...Array.from(got, (v, j) => Math.abs(v - want[j]!))), `call ${i}`).toBeLessThanOrEqual(tol);
    }
  });

  it('refuse operands that do not fit, naming them', async () => {
    const ctx = Context.plain();
    const share = (shape: number[]): Shared => shareInput(ctx, 0, new Float64Array(shape.reduce((a, b) => a * b, 1)), shape);
    await expect(matmulTransA(ctx, share([3, 2]), share([4, 2]))).rejects.toThrow(/matmulTransA: x\^T for x \[3, 2\] and \[4, 2\] do not multiply/);
    await expect(matmulTransB(ctx, share([3, 2]), share([4, 3]))).rejects.toThrow(/matmulTransB: \[3, 2\] and y\^T for y \[4, 3\] do not multiply/);
    await expect(matmulTransA(ctx, share([3]), share([3, 2]))).rejects.toThrow(/are not matrices/);
    await expect(conv2dGradWeight(ctx, share([1, 2, 5, 5]), share([1, 3, 5, 5]), [3, 2, 3, 3])).rejects.toThrow(
      /conv2dGradWeight: output gradient \[1, 3, 5, 5\] is not the conv output \[1, 3, 3, 3\]/,
    );
    await expect(conv2dGradInput(ctx, share([1, 3, 3, 3]), share([3, 4, 3, 3]), [1, 2, 5, 5])).rejects.toThrow(/channel mismatch/);
    await expect(channelMul(ctx, share([2, 3, 4]), share([4]))).rejects.toThrow(/channelMul: per-channel factor \[4\] for 3 channels of \[2, 3, 4\]/);
    await expect(channelDot(ctx, share([2, 3]), share([3, 2]))).rejects.toThrow(/channelDot: shapes \[2, 3\] and \[3, 2\] differ/);
  });
});

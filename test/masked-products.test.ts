/**
 * Masked operands (protocols/masked.ts) in one process over a real loopback
 * mesh, 2PC and 3PC: untruncated products of masked operands equal the
 * plaintext context's exact ring products bit for bit (no truncation, so
 * no tolerance), for every bilinear kind the training layers use and for a
 * square (x by its own mask); mask() costs |x| elements each way and one
 * round, products nothing online and |out| dealer elements to P0. Then the
 * dealer's checks of a 'masked' request and a product after truncation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mask, maskedMul, maskedProduct } from '../protocols/masked.js';
import { revealRing, shareInput } from '../protocols/sharing.js';
import { truncate } from '../protocols/truncation.js';
import type { BilinearSpec } from '../src/mpc/bilinear-kinds.js';
import { Context } from '../src/mpc/context.js';
import { parseCorrelationSpec } from '../src/mpc/correlations.js';
import type { Shared } from '../src/mpc/shared.js';
import { snapshot, trafficSince, type TrafficSnapshot } from '../src/mpc/traffic.js';
import { shapeSize, type Shape } from '../src/ring/tensor.js';
import { localSession, type LocalSession } from './helpers/local-session.js';

const F = 16;
let session: LocalSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

function values(n: number, salt: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => Math.sin(0.7 * i + salt) * 1.5);
}

interface Case {
  name: string;
  spec: BilinearSpec;
  xShape: Shape;
  yShape: Shape;
  /** y is x itself (a square through one mask). */
  same?: boolean;
}

const CASES: Case[] = [
  { name: 'hadamard', spec: { kind: 'hadamard', n: 60 }, xShape: [60], yShape: [60] },
  { name: 'square (x by its own mask)', spec: { kind: 'hadamard', n: 60 }, xShape: [60], yShape: [60], same: true },
  { name: 'channelMul', spec: { kind: 'channelMul', outer: 2, channels: 3, inner: 8 }, xShape: [2, 3, 2, 4], yShape: [3] },
  { name: 'channelDot', spec: { kind: 'channelDot', outer: 2, channels: 3, inner: 8 }, xShape: [2, 3, 2, 4], yShape: [2, 3, 2, 4] },
  { name: 'matmul', spec: { kind: 'matmul', m: 3, n: 5, k: 4 }, xShape: [3, 5], yShape: [5, 4] },
  { name: 'conv2dGradWeight', spec: { kind: 'conv2dGradWeight', xShape: [2, 2, 6, 6], wShape: [3, 2, 3, 3], stride: 1, padding: 1 }, xShape: [2, 2, 6, 6], yShape: [2, 3, 6, 6] },
];

function owns(ctx: Context, owner: 0 | 1): boolean {
  return ctx.isPlain || (!ctx.isHelper && ctx.id === owner);
}

interface Result {
  out: bigint[][];
  maskTraffic: TrafficSnapshot;
  productTraffic: TrafficSnapshot;
}

async function program(ctx: Context): Promise<Result> {
  const xs = CASES.map((c, i) => shareInput(ctx, 0, owns(ctx, 0) ? values(shapeSize(c.xShape), i) : null, c.xShape));
  const ys = CASES.map((c, i) => (c.same ? xs[i]! : shareInput(ctx, 1, owns(ctx, 1) ? values(shapeSize(c.yShape), 10 + i) : null, c.yShape)));
  const t0 = ctx.isPlain ? null : snapshot(ctx.mesh);
  const masked = await Promise.all(CASES.map(async (c, i) => {
    const mx = await mask(ctx, xs[i]!);
    return [mx, c.same ? mx : await mask(ctx, ys[i]!)] as const;
  }));
  const t1 = ctx.isPlain ? null : snapshot(ctx.mesh);
  const products: Shared[] = await Promise.all(CASES.map((c, i) => maskedProduct(ctx, c.name, c.spec, masked[i]![0], masked[i]![1])));
  const t2 = ctx.isPlain ? null : snapshot(ctx.mesh);
  const out = await Promise.all(products.map(async (z) => Array.from(await revealRing(ctx, z))));
  const none = { ...snapshot0() };
  return { out, maskTraffic: t0 && t1 ? trafficSince(t0, t1) : none, productTraffic: t1 && t2 ? trafficSince(t1, t2) : none };
}

function snapshot0(): TrafficSnapshot {
  return { bytesSent: 0, bytesReceived: 0, frameBytesSent: 0, frameBytesReceived: 0, messagesSent: 0, messagesReceived: 0, rounds: 0, dealerBytesSent: 0, dealerBytesReceived: 0 };
}

describe.each(['2pc', '3pc'] as const)('masked products in %s', (mode) => {
  it('equal the plaintext ring products exactly; masks cost one opening, products nothing online', async () => {
    session = await localSession('dealer', mode);
    const s = session;
    const plain = await program(Context.plain({ fracBits: F }));
    const outs = mode === '3pc' ? await s.all(program) : await s.both(program);
    const [r0, r1] = outs;
    CASES.forEach((c, i) => {
      expect(r0.out[i], c.name).toEqual(plain.out[i]);
      expect(r1.out[i], c.name).toEqual(plain.out[i]);
    });
    // Masks: every distinct operand opened once (a square's y is its x).
    const masked = CASES.reduce((n, c) => n + shapeSize(c.xShape) + (c.same ? 0 : shapeSize(c.yShape)), 0);
    for (const r of [r0, r1]) {
      expect(r.maskTraffic.bytesSent).toBe(8 * masked);
      expect(r.maskTraffic.bytesReceived).toBe(8 * masked);
      expect(r.productTraffic).toMatchObject({ bytesSent: 0, bytesReceived: 0, messagesSent: 0 });
    }
    const outputs = CASES.reduce((n, c, i) => n + plain.out[i]!.length, 0);
    expect(r0.productTraffic.dealerBytesReceived).toBe(8 * outputs);
    expect(r1.productTraffic.dealerBytesReceived).toBe(0);
    if (mode === '3pc') expect(outs[2]!.out.every((o) => o.length === 0)).toBe(true);
  });

  it('a truncated masked square is x^2 within one ulp', async () => {
    session = await localSession('dealer', mode);
    const n = 500;
    const prog = async (ctx: Context): Promise<number[]> => {
      const x = shareInput(ctx, 0, owns(ctx, 0) ? values(n, 3) : null, [n]);
      const mx = await mask(ctx, x);
      const z = await truncate(ctx, await maskedMul(ctx, mx, mx), F);
      return Array.from(await revealRing(ctx, z), (v) => Number(BigInt.asIntN(64, v)) / 2 ** F);
    };
    const [got] = mode === '3pc' ? await session.all(prog) : await session.both(prog);
    const x = values(n, 3).map((v) => Math.round(v * 2 ** F) / 2 ** F);
    got.forEach((v, i) => expect(Math.abs(v - x[i]! * x[i]!)).toBeLessThanOrEqual(2 ** -F));
  });
});

describe('the dealer checks a masked request', () => {
  const ok = { kind: 'masked', op: { kind: 'hadamard', n: 4 }, x: { label: 'a#0/mask#1', n: 4 }, y: { label: 'a#0/mask#2', n: 4 } };
  it('accepts a well-formed one', () => {
    expect(parseCorrelationSpec(JSON.parse(JSON.stringify(ok)))).toEqual(ok);
  });
  it.each([
    [{ ...ok, op: { kind: 'mul', n: 4 } }, /masked op has unknown kind "mul"/],
    [{ ...ok, x: { label: '', n: 4 } }, /label must be a string of 1\.\.200 characters/],
    [{ ...ok, x: { label: 'x'.repeat(201), n: 4 } }, /label must be a string/],
    [{ ...ok, y: { label: 'b', n: 5 } }, /masks of 4 and 5 elements do not fit/],
    [{ ...ok, op: 'hadamard' }, /op must be an object/],
  ])('refuses %j', (raw, pattern) => {
    expect(() => parseCorrelationSpec(raw)).toThrow(pattern);
  });
});

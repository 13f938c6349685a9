/**
 * Protocol edge cases and bad input, in one process over a real loopback
 * mesh: empty operands, wrong shapes and scales give results or clear errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { matmul, mul, square } from '../protocols/beaver.js';
import { add, addPublic } from '../protocols/linear.js';
import { reveal, shareInput } from '../protocols/sharing.js';
import { truncate } from '../protocols/truncation.js';
import { localSession, type LocalSession } from './helpers/local-session.js';

let session: LocalSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

describe('protocol edge cases', () => {
  it('empty operands: mul, square and a matmul with inner dimension 0 give (zero) results', async () => {
    session = await localSession('dealer');
    const [r0, r1] = await session.both(async (ctx) => {
      const e = shareInput(ctx, 0, ctx.id === 0 ? [] : null, [0]);
      const m = await mul(ctx, e, e);
      const s = await square(ctx, e);
      const a = shareInput(ctx, 0, ctx.id === 0 ? [] : null, [3, 0]);
      const b = shareInput(ctx, 0, ctx.id === 0 ? [] : null, [0, 2]);
      const z = await matmul(ctx, a, b);
      return { m: m.size, s: s.size, z: Array.from(await reveal(ctx, z)), shape: z.shape };
    });
    expect(r0).toEqual({ m: 0, s: 0, z: [0, 0, 0, 0, 0, 0], shape: [3, 2] });
    expect(r1).toEqual(r0);
  });

  it('products of exactly representable values are exact: 1.5 * -2.25, 0.5 * 4', async () => {
    session = await localSession();
    const [r0] = await session.both(async (ctx) => {
      const x = shareInput(ctx, 0, ctx.id === 0 ? [1.5, 0.5] : null, [2]);
      const y = shareInput(ctx, 0, ctx.id === 0 ? [-2.25, 4] : null, [2]);
      return Array.from(await reveal(ctx, await mul(ctx, x, y)));
    });
    expect(r0).toEqual([-3.375, 2]);
  });

  it('bad shapes, scales and truncations are refused with errors naming them', async () => {
    session = await localSession();
    const ctx = session.holders[0];
    const x = shareInput(ctx, 0, [1, 2, 3], [3]);
    const y = shareInput(ctx, 0, [1, 2], [2]);
    await expect(mul(ctx, x, y)).rejects.toThrow(/mul: shapes \[3\] and \[2\] differ/);
    await expect(matmul(ctx, x.reshape([1, 3]), y.reshape([1, 2]))).rejects.toThrow(/matmul: shapes \[1, 3\] and \[1, 2\] do not multiply/);
    expect(() => add(x, x.with(x.share, 32))).toThrow(/scales differ \(16 and 32/);
    expect(() => addPublic(ctx, x, [1])).toThrow(/addPublic: 1 constants for 3 elements/);
    await expect(truncate(ctx, x, 20)).rejects.toThrow(/truncation by 20 bits of a value with only 16 fractional bits/);
    expect(() => shareInput(ctx, 0, [1, 2], [3])).toThrow(/input of 2 values does not match the shape's 3 elements/);
    expect(() => shareInput(ctx, 0, [2 ** 60], [1])).toThrow(/range/);
  });
});

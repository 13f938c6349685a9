import { describe, expect, it } from 'vitest';
import {
  col2im, conv2d, conv2dBackwardInput, conv2dBackwardWeights, conv2dOutputShape, im2col, shapeSize,
} from '../src/ring/index.js';
import { expectSameRing, naiveConv2d, seededPrg } from './ring-helpers.js';

const prg = seededPrg(2);

interface Case {
  xs: [number, number, number, number];
  ws: [number, number, number, number];
  stride: number | [number, number];
  padding: number | [number, number];
}

const CASES: Case[] = [
  { xs: [2, 3, 7, 6], ws: [4, 3, 3, 3], stride: 1, padding: 1 },
  { xs: [3, 2, 9, 8], ws: [5, 2, 3, 2], stride: [2, 3], padding: [1, 0] },
  { xs: [1, 1, 5, 5], ws: [1, 1, 5, 5], stride: 1, padding: 0 },
  { xs: [2, 4, 6, 7], ws: [3, 4, 1, 1], stride: 2, padding: 0 },
  { xs: [5, 3, 4, 4], ws: [2, 3, 3, 3], stride: 1, padding: 2 },
  { xs: [1, 2, 3, 3], ws: [7, 2, 5, 5], stride: 1, padding: 1 },
  { xs: [2, 1, 11, 10], ws: [6, 1, 4, 3], stride: [3, 2], padding: [2, 1] },
];

function geometry(c: Case): { sh: number; sw: number; ph: number; pw: number } {
  const [sh, sw] = typeof c.stride === 'number' ? [c.stride, c.stride] : c.stride;
  const [ph, pw] = typeof c.padding === 'number' ? [c.padding, c.padding] : c.padding;
  return { sh, sw, ph, pw };
}

function naiveBackward(
  x: BigUint64Array, w: BigUint64Array, dy: BigUint64Array, c: Case,
): { dx: BigUint64Array; dw: BigUint64Array } {
  const [N, C, H, W] = c.xs;
  const [Co, , kh, kw] = c.ws;
  const g = geometry(c);
  const Ho = Math.floor((H + 2 * g.ph - kh) / g.sh) + 1;
  const Wo = Math.floor((W + 2 * g.pw - kw) / g.sw) + 1;
  const dx = new BigUint64Array(x.length);
  const dw = new BigUint64Array(w.length);
  for (let n = 0; n < N; n++) for (let o = 0; o < Co; o++) for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
    const d = dy[((n * Co + o) * Ho + oy) * Wo + ox]!;
    for (let ch = 0; ch < C; ch++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy * g.sh - g.ph + ky;
      const ix = ox * g.sw - g.pw + kx;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const xi = ((n * C + ch) * H + iy) * W + ix;
      const wi = ((o * C + ch) * kh + ky) * kw + kx;
      dx[xi] = dx[xi]! + d * w[wi]!;
      dw[wi] = dw[wi]! + d * x[xi]!;
    }
  }
  return { dx, dw };
}

describe('conv2d over Z_2^64', () => {
  it.each(CASES)('matches the BigInt reference: x $xs, w $ws, stride $stride, padding $padding', (c) => {
    const x = prg.ring(shapeSize(c.xs));
    const w = prg.ring(shapeSize(c.ws));
    const opts = { stride: c.stride, padding: c.padding };
    const want = naiveConv2d(x, c.xs, w, c.ws, geometry(c));
    const got = conv2d(x, c.xs, w, c.ws, opts);
    expect(got.shape).toEqual(want.shape);
    expect(conv2dOutputShape(c.xs, c.ws, opts)).toEqual(want.shape);
    expectSameRing(got.data, want.data);
    // One image per im2col slice gives the same result.
    expectSameRing(conv2d(x, c.xs, w, c.ws, { ...opts, maxColumnElements: 1 }).data, want.data);
  });

  it.each(CASES)('backward passes match the BigInt reference: x $xs, w $ws', (c) => {
    const x = prg.ring(shapeSize(c.xs));
    const w = prg.ring(shapeSize(c.ws));
    const opts = { stride: c.stride, padding: c.padding };
    const yShape = conv2dOutputShape(c.xs, c.ws, opts);
    const dy = prg.ring(shapeSize(yShape));
    const want = naiveBackward(x, w, dy, c);
    expectSameRing(conv2dBackwardWeights(x, c.xs, dy, c.ws, opts), want.dw);
    expectSameRing(conv2dBackwardInput(w, c.ws, dy, c.xs, opts), want.dx);
    const sliced = { ...opts, maxColumnElements: 1 };
    expectSameRing(conv2dBackwardWeights(x, c.xs, dy, c.ws, sliced), want.dw);
    expectSameRing(conv2dBackwardInput(w, c.ws, dy, c.xs, sliced), want.dx);
  });

  it('lays out im2col columns as documented', () => {
    // x: one image, one channel, 3x3 with values 1..9; 2x2 kernel, stride 1, padding 0.
    const x = new BigUint64Array([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    const cm = im2col(x, [1, 1, 3, 3], [2, 2]);
    expect(cm.rows).toBe(4);
    expect(cm.cols).toBe(4);
    // row (ky, kx), column (oy, ox)
    expect([...cm.data]).toEqual([
      1n, 2n, 4n, 5n, // ky=0 kx=0
      2n, 3n, 5n, 6n, // ky=0 kx=1
      4n, 5n, 7n, 8n, // ky=1 kx=0
      5n, 6n, 8n, 9n, // ky=1 kx=1
    ]);
    // padding 1, stride 2: output 2x2, corners read zeros
    const padded = im2col(x, [1, 1, 3, 3], [2, 2], { stride: 2, padding: 1 });
    expect([...padded.data]).toEqual([
      0n, 0n, 0n, 5n,
      0n, 0n, 4n, 6n,
      0n, 2n, 0n, 8n,
      1n, 3n, 7n, 9n,
    ]);
  });

  it('im2col takes batch slices and col2im is its adjoint', () => {
    const xs = [3, 2, 5, 6];
    const kernel: [number, number] = [3, 2];
    const opts = { stride: [2, 1] as [number, number], padding: [1, 1] as [number, number] };
    const x = prg.ring(shapeSize(xs));
    const full = im2col(x, xs, kernel, opts);
    const part = im2col(x, xs, kernel, { ...opts, batchStart: 1, batchCount: 2 });
    expect(part.rows).toBe(full.rows);
    const per = full.cols / 3;
    for (let r = 0; r < full.rows; r++) {
      expectSameRing(part.data.subarray(r * part.cols, (r + 1) * part.cols), full.data.subarray(r * full.cols + per, (r + 1) * full.cols));
    }
    // <im2col(x), y> == <x, col2im(y)> in the ring
    const y = prg.ring(full.data.length);
    const back = col2im(y, xs, kernel, opts);
    let lhs = 0n;
    for (let i = 0; i < y.length; i++) lhs += full.data[i]! * y[i]!;
    let rhs = 0n;
    for (let i = 0; i < x.length; i++) rhs += x[i]! * back[i]!;
    expect(BigInt.asUintN(64, lhs)).toBe(BigInt.asUintN(64, rhs));
    // accumulate adds; slices add up to the whole
    const acc = new BigUint64Array(x.length);
    for (let n = 0; n < 3; n++) {
      const slice = new BigUint64Array(full.rows * per);
      for (let r = 0; r < full.rows; r++) slice.set(y.subarray(r * full.cols + n * per, r * full.cols + (n + 1) * per), r * per);
      col2im(slice, xs, kernel, { ...opts, batchStart: n, batchCount: 1, out: acc, accumulate: true });
    }
    expectSameRing(acc, back);
  });

  it('col2im sums overlapping windows', () => {
    const ones = new BigUint64Array(16).fill(1n);
    // 3x3 input, 2x2 kernel, stride 1: each input position counts its windows.
    expect([...col2im(ones, [1, 1, 3, 3], [2, 2])]).toEqual([1n, 2n, 1n, 2n, 4n, 2n, 1n, 2n, 1n]);
  });

  it('rejects bad shapes with messages naming them', () => {
    const x = new BigUint64Array(2 * 3 * 5 * 5);
    const w = new BigUint64Array(4 * 2 * 3 * 3);
    expect(() => conv2d(x, [2, 3, 5, 5], w, [4, 2, 3, 3])).toThrow(/channel mismatch.*input \[2, 3, 5, 5\], weights \[4, 2, 3, 3\]/);
    expect(() => conv2dOutputShape([1, 1, 2, 2], [1, 1, 3, 3])).toThrow(/kernel 3x3 is larger than the padded input 2x2/);
    expect(conv2dOutputShape([1, 1, 2, 2], [1, 1, 3, 3], { padding: 1 })).toEqual([1, 1, 2, 2]);
    expect(() => conv2dOutputShape([1, 1, 5, 5], [1, 1, 3, 3], { stride: 0 })).toThrow(/stride must be a positive integer/);
    expect(() => conv2dOutputShape([1, 1, 5, 5], [1, 1, 3, 3], { stride: [1, -2] })).toThrow(/stride/);
    expect(() => conv2dOutputShape([1, 1, 5, 5], [1, 1, 3, 3], { padding: -1 })).toThrow(/padding/);
    expect(() => conv2dOutputShape([1, 5, 5], [1, 1, 3, 3])).toThrow(/input must have 4 dimensions, got shape \[1, 5, 5\]/);
    expect(() => conv2d(x.subarray(1), [2, 3, 5, 5], new BigUint64Array(4 * 3 * 9), [4, 3, 3, 3])).toThrow(
      /input of shape \[2, 3, 5, 5\] needs 150 elements, got 149/,
    );
    expect(() => im2col(x, [2, 3, 5, 5], [3, 3], { batchStart: 1, batchCount: 2 })).toThrow(/batch slice/);
  });

  it('strided output sizes round down', () => {
    expect(conv2dOutputShape([4, 3, 28, 28], [8, 3, 3, 3], { stride: 2, padding: 1 })).toEqual([4, 8, 14, 14]);
    expect(conv2dOutputShape([1, 1, 7, 8], [2, 1, 3, 3], { stride: [2, 3] })).toEqual([1, 2, 3, 2]);
  });
});

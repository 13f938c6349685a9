// Shared helpers for the ring tests: seeded random ring elements and naive BigInt references.
import { Prg } from '../src/ring/index.js';

export function seededPrg(tag: number): Prg {
  const seed = new Uint8Array(16);
  seed[0] = tag & 0xff;
  seed[1] = (tag >>> 8) & 0xff;
  seed[15] = 0x5a;
  return new Prg(seed);
}

/** The textbook reference lives with the kernels (bench/kernels.ts times it too). */
export { naiveMatmulBigInt as naiveMatmul } from '../src/ring/reference.js';

export function naiveTranspose(a: BigUint64Array, rows: number, cols: number): BigUint64Array {
  const t = new BigUint64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

export interface Geometry {
  sh: number; sw: number; ph: number; pw: number;
}

export function naiveConv2d(
  x: BigUint64Array, xs: readonly number[], w: BigUint64Array, ws: readonly number[], g: Geometry,
): { data: BigUint64Array; shape: number[] } {
  const [N, C, H, W] = xs as [number, number, number, number];
  const [Co, , kh, kw] = ws as [number, number, number, number];
  const Ho = Math.floor((H + 2 * g.ph - kh) / g.sh) + 1;
  const Wo = Math.floor((W + 2 * g.pw - kw) / g.sw) + 1;
  const y = new BigUint64Array(N * Co * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Co; o++) {
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          let s = 0n;
          for (let c = 0; c < C; c++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * g.sh - g.ph + ky;
                const ix = ox * g.sw - g.pw + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += x[((n * C + c) * H + iy) * W + ix]! * w[((o * C + c) * kh + ky) * kw + kx]!;
              }
            }
          }
          y[((n * Co + o) * Ho + oy) * Wo + ox] = BigInt.asUintN(64, s);
        }
      }
    }
  }
  return { data: y, shape: [N, Co, Ho, Wo] };
}

export function expectSameRing(got: BigUint64Array, want: BigUint64Array): void {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) throw new Error(`mismatch at ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

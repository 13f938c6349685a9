/**
 * A reference model of protocols/app-relu.ts ('tree' evaluation), written
 * independently in float64 on integers (ulps of 2^-f; every intermediate
 * stays below 2^53 for |x| <= B <= 2^12 and f <= 20, so it is exact), for
 * two uses in test/mpc-app-relu.test.ts:
 *
 * 1. `values`: what the plaintext context must compute, bit for bit (floor
 *    truncation after every product, coefficients encoded with f bits and
 *    rounded to nearest, 1/B encoded with f + ceil(log2 B) bits rounded
 *    down, one truncation per stage sum).
 *
 * 2. `deviation`: a first-order bound, per element and in ulps, on
 *    |MPC - plaintext context|. In a 2- or 3-party run every truncation
 *    returns floor(v' / 2^k) + e, e in {0, 1}, where v' is the input as
 *    already perturbed by earlier truncations; compared with the plaintext
 *    floor(v / 2^k) the output moves by (v' - v) / 2^k + rho with
 *    rho in (-1, 2) ulps (the floor's own jump plus e). The perturbations
 *    of one element's truncation sites s add up to sum_s g_s rho_s to
 *    first order, g_s = d(output) / d(site s) (a reverse-mode pass over
 *    the same graph, evaluated at the plaintext values), so
 *    |MPC - plain| <= 2 sum_s |g_s| + second-order terms. The second-order
 *    terms are products of two perturbations, each below ~64 ulps here, so
 *    below 64^2 2^-f ~ 0.06 ulps at f = 16; the tests allow 1.1x + 2 ulps.
 *    The wrap of local or dealer truncation (probability |v| / 2^64 per
 *    truncation, PROTOCOLS.md 3) is outside this bound.
 */
import { minimaxSign } from '../../src/approx/minimax-sign.js';
import { chebyshevLevels, type ChebyshevStep } from '../../protocols/app-relu.js';

export interface AppReluModel {
  /** Plaintext-context output, decoded. */
  values: Float64Array;
  /** Bound on |MPC - plaintext| in ulps (2^-f), per element. */
  deviation: Float64Array;
}

interface StageTape {
  /** T_n in ulps. */
  T: Map<number, Float64Array>;
  steps: ChebyshevStep[];
  /** Encoded coefficients (ulps). */
  coef: number[];
}

/** xs must be multiples of 2^-f (decode what was shared). */
export function appReluModel(alpha: number, xs: Float64Array, fracBits: number, bound: number): AppReluModel {
  const sign = minimaxSign({ alpha });
  const n = xs.length;
  const one = 2 ** fracBits;
  const X = Float64Array.from(xs, (v) => v * one);
  if (!X.every(Number.isInteger)) throw new Error('model inputs must be multiples of 2^-f');
  const stages = sign.stages;
  const inv = 1 / (bound * stages[0]!.scale);
  const scaled = inv !== 1;
  let t = X;
  if (scaled) {
    const bits = fracBits + Math.max(0, Math.ceil(Math.log2(1 / inv)));
    const c = Math.floor(inv * 2 ** bits);
    t = X.map((v) => Math.floor((v * c) / 2 ** bits));
  }
  // forward: the exact plaintext computation
  const tapes: StageTape[] = [];
  let y = t;
  for (const [s, stage] of stages.entries()) {
    const last = s === stages.length - 1;
    const post = last ? 0.5 : 1 / stages[s + 1]!.scale;
    const coef = stage.chebyshevOdd.map((a) => Math.round(a * post * one));
    const T = new Map<number, Float64Array>([[1, y]]);
    const steps = chebyshevLevels(2 * coef.length - 1).flat();
    for (const { n: m, a, b, c } of steps) {
      const va = T.get(a)!;
      const vb = T.get(b)!;
      const vc = c === 0 ? null : T.get(c)!;
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) v[i] = 2 * Math.floor((va[i]! * vb[i]!) / one) - (vc ? vc[i]! : one);
      T.set(m, v);
    }
    const constant = last ? Math.round(0.5 * one * one) : 0;
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let acc = constant;
      for (let j = 0; j < coef.length; j++) acc += coef[j]! * T.get(2 * j + 1)![i]!;
      next[i] = Math.floor(acc / one);
    }
    tapes.push({ T, steps, coef });
    y = next;
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = Math.floor((X[i]! * y[i]!) / one) / one;

  // backward: sum over truncation sites of |d output / d site| (real units per ulp of the site)
  const total = new Float64Array(n).fill(1); // r = x h: its own truncation
  let adjY: Float64Array = Float64Array.from(xs); // d r / d h = x
  for (let s = stages.length - 1; s >= 0; s--) {
    for (let i = 0; i < n; i++) total[i]! += Math.abs(adjY[i]!); // the stage sum's truncation
    const { T, steps, coef } = tapes[s]!;
    const adj = new Map<number, Float64Array>();
    const get = (k: number): Float64Array => {
      let a = adj.get(k);
      if (!a) adj.set(k, (a = new Float64Array(n)));
      return a;
    };
    coef.forEach((c, j) => {
      const a = get(2 * j + 1);
      for (let i = 0; i < n; i++) a[i]! += (c / one) * adjY[i]!;
    });
    for (let k = steps.length - 1; k >= 0; k--) {
      const { n: m, a, b, c } = steps[k]!;
      const am = get(m);
      if (c !== 0) {
        const ac = get(c);
        for (let i = 0; i < n; i++) ac[i]! -= am[i]!;
      }
      const aa = get(a);
      const ab = get(b);
      const va = T.get(a)!;
      const vb = T.get(b)!;
      for (let i = 0; i < n; i++) {
        const site = 2 * am[i]!; // T_m = 2 P - T_c: the product P's adjoint
        total[i]! += Math.abs(site);
        aa[i]! += (vb[i]! / one) * site;
        ab[i]! += (va[i]! / one) * site;
      }
    }
    adjY = get(1);
  }
  if (scaled) for (let i = 0; i < n; i++) total[i]! += Math.abs(adjY[i]!);
  return { values, deviation: total.map((v) => 2 * v) };
}

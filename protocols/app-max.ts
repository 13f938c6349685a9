/**
 * Max pooling by AppMax (2 or 3 parties; Beaver products only).
 *
 * The library's scaled AppMax for a window of n values in [-B, B]
 * (src/approx/app-max.ts) is B' (M(x / B' + 1/2) - 1/2), M the balanced
 * recursion M_n = m(M_floor(n/2)(first half), M_ceil(n/2)(rest)) of
 * m(a, b) = ((a + b) + (a - b) p(a - b)) / 2, and
 * B' = B / (1/2 - (ceil(log2 n) - 1) 2^-alpha); its error is within
 * B' ceil(log2 n) 2^-alpha (Theorem 2, scaled). Since p is odd,
 *   m(a, b) = b + (a - b) (1 + p(a - b)) / 2 = b + r_alpha(a - b),
 * and undoing the shift and scale node by node gives, in the input's own
 * units, the same function:
 *   B' (m(a / B' + 1/2, b / B' + 1/2) - 1/2) = b + B' r_alpha((a - b) / B').
 * So every node of the recursion is one AppReLU with bound B' on the
 * difference of its children (appReluCore: one product after h) plus a
 * local addition; no shift, no final scaling by B'. B' is the window's own
 * (windows cut by 'same' padding have fewer members, hence a smaller B'),
 * passed per element.
 *
 * Levels: a node of n values has height ceil(log2 n) and its children
 * heights <= ceil(log2 n) - 1, so all nodes of one height, over every
 * window, are one batched AppReLU call: ceil(log2 k) calls for the largest
 * window of k members, each appReluRounds(alpha, { bound: B' }) rounds.
 * Windows come from maxPoolGeometry (protocols/maxpool.ts): [N, C, H, W],
 * stride = window unless given, 'valid' or 'same' (padded cells left out).
 */
import { checkMinimaxBound } from '../src/approx/minimax-sign.js';
import { appMaxScale } from '../src/approx/app-max.js';
import type { Context, TruncationMode } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { appReluCore, appReluRounds, appReluSign, type AppReluMethod } from './app-relu.js';
import { maxPoolGeometry } from './maxpool.js';

export interface AppMaxPoolOptions {
  alpha: number;
  /** B > 0: inputs in [-B, B]. */
  bound: number;
  stride?: number | [number, number];
  padding?: 'valid' | 'same';
  method?: AppReluMethod;
}

/** A node of the recursion: slot `out` = m(slot a, slot b), computed at `height`. */
interface MaxNode {
  a: number;
  b: number;
  out: number;
  window: number;
}

/** ceil(log2 n): the levels of a window of n values. */
export function appMaxLevels(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

/** Rounds of an AppMax over windows of at most n members (inputs in [-B, B]). */
export function appMaxRounds(alpha: number, n: number, opts: { bound?: number; truncation?: TruncationMode; method?: AppReluMethod } = {}): number {
  const levels = appMaxLevels(n);
  if (levels === 0) return 0;
  const bp = appMaxScale(alpha, n, opts.bound ?? 1);
  return levels * appReluRounds(alpha, { bound: bp, ...(opts.truncation ? { truncation: opts.truncation } : {}), ...(opts.method ? { method: opts.method } : {}) });
}

/**
 * The recursion of every window as nodes by height (index 0 = height 1);
 * slots 0..members-1 are the gathered members, window after window.
 */
function schedule(counts: Int32Array): { levels: MaxNode[][]; roots: Int32Array; slots: number } {
  const levels: MaxNode[][] = [];
  const roots = new Int32Array(counts.length);
  let next = counts.reduce((s, k) => s + k, 0);
  let first = 0;
  const build = (lo: number, n: number, window: number): number => {
    if (n === 1) return lo;
    const k = n >> 1;
    const a = build(lo, k, window);
    const b = build(lo + k, n - k, window);
    const h = appMaxLevels(n);
    while (levels.length < h) levels.push([]);
    const out = next++;
    levels[h - 1]!.push({ a, b, out, window });
    return out;
  };
  counts.forEach((k, w) => {
    if (k < 1) throw new Error(`appMaxPool: window ${w} has no members`);
    roots[w] = build(first, k, w);
    first += k;
  });
  return { levels, roots, slots: next };
}

/**
 * Max pooling of x [N, C, H, W] by the scaled AppMax: within
 * B' ceil(log2 n) 2^-alpha of the true max per window of n values in [-B, B]
 * (plus the fixed-point error; see test/mpc-app-relu.test.ts).
 */
export function appMaxPool(ctx: Context, x: Shared, window: number | [number, number], opts: AppMaxPoolOptions): Promise<Shared> {
  const { alpha, bound } = opts;
  const sign = appReluSign(alpha, 'appMaxPool');
  checkMinimaxBound(bound, 'appMaxPool');
  const geo = maxPoolGeometry(x.shape, window, { ...(opts.stride !== undefined ? { stride: opts.stride } : {}), ...(opts.padding ? { padding: opts.padding } : {}) });
  // B' per window (throws when alpha is too small for the window)
  const scales = new Map<number, number>();
  for (const k of geo.counts) if (!scales.has(k)) scales.set(k, appMaxScale(alpha, k, bound));
  const method = opts.method ?? 'tree';
  return ctx.call('appMaxPool', async (c) => {
    const held = x.held;
    const { levels, roots, slots } = schedule(geo.counts);
    const v = held ? new BigUint64Array(slots) : new BigUint64Array(0);
    if (held) for (let i = 0; i < geo.members.length; i++) v[i] = x.share[geo.members[i]!]!;
    for (const nodes of levels) {
      const q = nodes.length;
      const diff = held ? new BigUint64Array(q) : new BigUint64Array(0);
      if (held) nodes.forEach((nd, i) => (diff[i] = v[nd.a]! - v[nd.b]!));
      const inv = Float64Array.from(nodes, (nd) => 1 / scales.get(geo.counts[nd.window]!)!);
      const r = await appReluCore(c, new Shared(diff, [q], x.fracBits), sign, inv, method);
      if (held) nodes.forEach((nd, i) => (v[nd.out] = v[nd.b]! + r.share[i]!));
    }
    if (!held) return Shared.placeholder(geo.outShape, x.fracBits);
    return new Shared(gatherRoots(roots, v), geo.outShape, x.fracBits);
  });
}

function gatherRoots(roots: Int32Array, v: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(roots.length);
  for (let i = 0; i < roots.length; i++) out[i] = v[roots[i]!]!;
  return out;
}

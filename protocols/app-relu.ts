/**
 * AppReLU as a protocol (2 or 3 parties; only Beaver products, so it runs
 * the same in 2pc, in 3pc and in the plaintext context).
 *
 * What it computes: B r_alpha(x / B) = (x + x p_alpha(x / B)) / 2 with
 * p_alpha the library's minimax composite sign (src/approx/minimax-sign.ts,
 * src/approx/app-relu.ts), within B 2^-alpha of ReLU on [-B, B]. Written as
 *     r = x * h,   h = (1 + p_alpha(x / B)) / 2,
 * so the whole result costs one product after h, and the 1/2 and the +1/2
 * are folded into the last stage's public coefficients.
 *
 * Each stage i of p_alpha is sum_j a_j T_{2j+1}(y / b_i) (odd Chebyshev
 * series; |a_j| <~ 1.3). The stage scale b_{i+1} of the next stage (and the
 * 1/2 of h after the last) is folded into stage i's coefficients, so only
 * the input needs a public scaling: t = x / B (b_1 = 1 in the table).
 *
 * Evaluation ('tree', the default): the odd Chebyshev polynomials of t in
 * ceil(log2 d) product levels (optimal depth for degree d):
 *   T_{2^k} = 2 T_{2^(k-1)}^2 - 1                       (squares),
 *   T_n = 2 T_{2^k} T_m - T_{2^k - m},  n = 2^k + m odd, 2^k < n < 2^(k+1),
 * where T_{2^k} and T_m have depth <= k and T_{2^k - m} (odd, smaller)
 * comes from an earlier level and is only subtracted. All squares of a
 * level go in one batched `square` call and all other products in one
 * batched `mul` call, the two calls in flight together: one online round
 * per level. Then the public combination sum_j enc_f(a_j') T_{2j+1} at
 * scale 2f and a single truncation by f. Products per stage of degree d:
 * floor(log2(d - 1)) squares and (d - 1) / 2 multiplications.
 *
 * 'clenshaw' (for comparison; the library's float path): odd Clenshaw
 * b_j = a_j' + w b_{j+1} - b_{j+2}, w = 2 T_2(t), value t (b_0 - b_1):
 * m = (d + 1) / 2 products in sequence per stage (one round each), fewer
 * products in total but m rounds instead of ceil(log2 d).
 *
 * Scales: every share stays at x's scale f; each Beaver product is
 * truncated once back to f; each public coefficient is encoded with f bits
 * and its stage sum truncated once. The input scaling t = x / B encodes
 * 1/B with f + ceil(log2 B) bits (so that 1/B keeps about f significant
 * bits when B > 1) and truncates once by that: its product then has the
 * magnitude of the final x * h product, so the local truncation's wrap
 * probability is no worse than that product's. B = 1 needs no scaling.
 *
 * Rounds per call (appReluRounds): local truncation, 'tree':
 * sum_i ceil(log2 d_i) + 1 (the final x * h); dealer truncation adds one
 * round per product level, one per stage sum and one for the input scaling
 * when B != 1.
 *
 * Measured (B = 1; max |out - float64 r_alpha| in ulps 2^-f over the
 * library's dense grid, 147,458 points; "lib" is the library's own
 * fixed-point Clenshaw, src/approx/float32.ts; 2pc: one in-process run
 * with local truncation; rounds local / dealer truncation):
 *   alpha  degrees   tree rounds  Clenshaw rounds   tree f16 (2pc)  tree f20 (2pc)  Clenshaw f16/f20  lib f16/f20
 *     7    7/7          7 / 16        9 / 20          3.2 (3.8)       2.5 (3.1)        4.4 / 4.0      3.4 / 2.9
 *     8    7/15         8 / 18       13 / 28          4.0 (4.7)       3.2 (7.2)        7.5 / 6.3      5.2 / 5.2
 *     9    15/15        9 / 20       17 / 36          3.7 (3.9)       3.4 (3.8)        6.2 / 6.7      3.8 / 5.3
 *    10    7/7/13      11 / 25       16 / 35          4.1 (4.3)       3.6 (3.6)        5.3 / 4.5      4.1 / 3.9
 *    11    7/7/27      12 / 27       23 / 49          5.6 (6.3)       4.8 (7.0)        9.6 / 9.6      5.8 / 6.4
 *    12    7/15/27     13 / 29       27 / 57          7.9 (7.7)       7.4 (7.7)       12.6 / 9.1      9.0 / 6.7
 * Against ReLU the tree keeps the library's 2^-alpha where the library
 * found fixed point safe (f = 16: alpha <= 11; f = 20: alpha <= 13); at
 * f = 16, alpha 9 and 12 sit exactly on 2^-alpha in the plaintext context
 * and alpha 12 can end 1 ulp above it in MPC. For B > 1 the error grows as
 * B (x / B is rounded to f bits): <= 17.1 B ulp measured at B = 10.
 */
import { SIGN_TABLE, checkMinimaxAlpha, checkMinimaxBound, minimaxSign, type CompositeSign } from '../src/approx/minimax-sign.js';
import type { Context, TruncationMode } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { addScalar, encodeScalar, mulScalar } from '../src/ring/index.js';
import { mul, square } from './beaver.js';
import { mulPublicScalar } from './linear.js';
import { truncate } from './truncation.js';

export type AppReluMethod = 'tree' | 'clenshaw';

export interface AppReluOptions {
  /** The table's alpha (4..14): r_alpha within 2^-alpha of ReLU on [-1, 1]. */
  alpha: number;
  /** B > 0: the input range [-B, B]; the error bound is B 2^-alpha. */
  bound: number;
  /** Stage evaluation (default 'tree': log-depth Chebyshev products). */
  method?: AppReluMethod;
}

/** One product of the tree: T_n = 2 T_a T_b - T_c, with T_0 = 1 (a = b: a square, c = 0). */
export interface ChebyshevStep {
  n: number;
  a: number;
  b: number;
  c: number;
}

const EMPTY = new BigUint64Array(0);

/** ceil(log2 d): the product levels of an odd degree-d stage in the tree (0 for d = 1). */
export function treeDepth(degree: number): number {
  return degree <= 1 ? 0 : Math.ceil(Math.log2(degree));
}

/**
 * The tree's products for T_1, T_3, ..., T_d by level (level k holds every
 * T_n with ceil(log2 n) = k): the powers of two below d by squaring, every
 * odd n in 3..d as 2 T_{2^k} T_m - T_{2^k - m}.
 */
export function chebyshevLevels(degree: number): ChebyshevStep[][] {
  if (!Number.isInteger(degree) || degree < 1 || degree % 2 === 0) throw new RangeError(`stage degree must be a positive odd integer, got ${degree}`);
  const levels: ChebyshevStep[][] = Array.from({ length: treeDepth(degree) }, () => []);
  for (let p = 2; p < degree; p *= 2) levels[Math.log2(p) - 1]!.push({ n: p, a: p / 2, b: p / 2, c: 0 });
  for (let n = 3; n <= degree; n += 2) {
    const k = Math.floor(Math.log2(n - 1)); // 2^k < n < 2^(k+1)
    const p = 2 ** k;
    levels[k]!.push({ n, a: p, b: n - p, c: p - (n - p) });
  }
  return levels;
}

function checkMethod(method: AppReluMethod, what: string): void {
  if (method !== 'tree' && method !== 'clenshaw') throw new RangeError(`${what}: method must be 'tree' or 'clenshaw', got ${JSON.stringify(method)}`);
}

/** Online rounds of one stage of degree d (local truncation; dealer truncation as in appReluRounds). */
function stageRounds(degree: number, method: AppReluMethod, truncation: TruncationMode): number {
  const dealer = truncation === 'dealer';
  if (method === 'tree') return dealer ? 2 * treeDepth(degree) + 1 : treeDepth(degree);
  const m = (degree + 1) / 2;
  if (m === 1) return dealer ? 1 : 0; // a public scaling
  // square, a public step, m - 2 products, the product with t
  return dealer ? 2 * m + 1 : m;
}

/**
 * Online rounds of one appRelu call (its critical path, as the mesh round
 * clock counts it). Local truncation: sum_i ceil(log2 d_i) + 1 ('tree') or
 * sum_i (d_i + 1) / 2 + 1 ('clenshaw'). Dealer truncation opens once more
 * after every product level (+1 each) and after every public scaling:
 * 'tree' 2 (sum_i ceil(log2 d_i) + 1) + k + [B != 1] for k stages.
 */
export function appReluRounds(alpha: number, opts: { truncation?: TruncationMode; bound?: number; method?: AppReluMethod } = {}): number {
  checkMinimaxAlpha(alpha, 'appReluRounds');
  const bound = opts.bound ?? 1;
  checkMinimaxBound(bound, 'appReluRounds');
  const method = opts.method ?? 'tree';
  checkMethod(method, 'appReluRounds');
  const truncation = opts.truncation ?? 'local';
  const dealer = truncation === 'dealer';
  const degrees = SIGN_TABLE[alpha]!.degrees;
  let rounds = degrees.reduce((s, d) => s + stageRounds(d, method, truncation), 0);
  rounds += dealer ? 2 : 1; // r = x * h
  if (dealer && bound !== 1) rounds += 1; // t = x / B
  return rounds;
}

/** Beaver products per element of one call: squares (8 bytes online each per holder) and multiplications (16 bytes). */
export function appReluProducts(alpha: number, method: AppReluMethod = 'tree'): { squares: number; muls: number } {
  checkMinimaxAlpha(alpha, 'appReluProducts');
  checkMethod(method, 'appReluProducts');
  let squares = 0;
  let muls = 1; // x * h
  for (const d of SIGN_TABLE[alpha]!.degrees) {
    if (method === 'tree') {
      for (const level of chebyshevLevels(d)) for (const s of level) (s.a === s.b ? squares++ : muls++);
    } else if (d > 1) {
      squares += 1;
      muls += (d + 1) / 2 - 1; // m - 2 in the loop, one with t
    }
  }
  return { squares, muls };
}

/** The composite sign for a table alpha (Remez once per process; cached by the library). */
export function appReluSign(alpha: number, what = 'appRelu'): CompositeSign {
  checkMinimaxAlpha(alpha, what);
  return minimaxSign({ alpha });
}

// ------------------------------------------------------------ share helpers

/** A shared value or a public constant (Clenshaw's first b's are public). */
type Operand = Shared | number;

function concat(parts: readonly BigUint64Array[], held: boolean): BigUint64Array {
  if (!held) return EMPTY;
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new BigUint64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** out += k * v (mod 2^64). */
function axpy(out: BigUint64Array, k: bigint, v: BigUint64Array): void {
  const kk = BigInt.asUintN(64, k);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + kk * v[i]!;
}

/** 2 p - s in place into p (s: a share of the same length, or the constant 1 at `fracBits` added by P0). */
function twiceMinus(ctx: Context, p: BigUint64Array, s: BigUint64Array | 'one', fracBits: number): BigUint64Array {
  if (p.length === 0) return p;
  if (s === 'one') {
    for (let i = 0; i < p.length; i++) p[i] = p[i]! + p[i]!;
    if (ctx.id === 0) addScalar(p, -encodeScalar(1, fracBits), p);
    return p;
  }
  for (let i = 0; i < p.length; i++) p[i] = p[i]! + p[i]! - s[i]!;
  return p;
}

/** x + v for a public scalar v at x's scale (P0 adds it), in place on our own temporary. */
function addConstInPlace(ctx: Context, x: Shared, v: number, fracBits = x.fracBits): Shared {
  if (x.held && ctx.id === 0 && v !== 0) addScalar(x.share, encodeScalar(v, fracBits), x.share);
  return x;
}

// ------------------------------------------------------------ stages

/**
 * One stage by the tree: sum_j coef[j] T_{2j+1}(t), plus `constant`, at t's
 * scale; coef already include the next stage's 1 / b (or h's 1/2).
 */
async function stageTree(c: Context, t: Shared, coef: readonly number[], constant: number): Promise<Shared> {
  const f = t.fracBits;
  const n = t.size;
  const held = t.held;
  const degree = 2 * coef.length - 1;
  const T = new Map<number, BigUint64Array>([[1, t.share]]);
  for (const level of chebyshevLevels(degree)) {
    const squares = level.filter((s) => s.a === s.b);
    const prods = level.filter((s) => s.a !== s.b);
    const pack = (steps: ChebyshevStep[], which: 'a' | 'b'): Shared =>
      new Shared(concat(steps.map((s) => T.get(s[which])!), held), [steps.length * n], f);
    const [sq, pr] = await Promise.all([
      squares.length > 0 ? square(c, pack(squares, 'a')) : null,
      prods.length > 0 ? mul(c, pack(prods, 'a'), pack(prods, 'b')) : null,
    ]);
    const unpack = (steps: ChebyshevStep[], z: Shared | null): void =>
      steps.forEach((s, k) => {
        const part = held ? z!.share.subarray(k * n, (k + 1) * n) : EMPTY;
        T.set(s.n, twiceMinus(c, part, s.c === 0 ? 'one' : T.get(s.c)!, f));
      });
    unpack(squares, sq);
    unpack(prods, pr);
  }
  // sum_j enc_f(coef_j) T_{2j+1} at scale 2f, one truncation by f
  const acc = held ? new BigUint64Array(n) : EMPTY;
  if (held) coef.forEach((a, j) => axpy(acc, encodeScalar(a, f), T.get(2 * j + 1)!));
  const sum = addConstInPlace(c, new Shared(acc, [n], 2 * f), constant);
  return truncate(c, sum, f);
}

/**
 * x * inv with inv (one per element, or one for all) encoded with `bits`
 * bits rounded down: then |x| <= B gives |t| <= 1 after the floor
 * truncation too (MPC's truncation may add 1 ulp on the positive side),
 * instead of t = -1 - 1 ulp at x = -B, where the polynomials already turn
 * away (measured: B = 10, alpha 9, f = 16 went 80 ulp over B 2^-alpha with
 * 1/B rounded to nearest). Scale grows by `bits`.
 */
function scaleDown(x: Shared, inv: Float64Array, bits: number): Shared {
  const fracBits = x.fracBits + bits;
  if (!x.held) return x.with(x.share, fracBits);
  const enc = (v: number): bigint => BigInt(Math.floor(v * 2 ** bits));
  if (inv.length === 1) return x.with(mulScalar(x.share, enc(inv[0]!)), fracBits);
  const out = new BigUint64Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = x.share[i]! * enc(inv[i]!);
  return x.with(out, fracBits);
}

/** w * v for a public v: encoded with f bits, truncated once. */
function scalePublic(c: Context, w: Shared, v: number): Promise<Shared> {
  return truncate(c, mulPublicScalar(c, w, v, w.fracBits), w.fracBits);
}

function minus(c: Context, a: Shared, b: Operand): Shared {
  if (typeof b === 'number') return addConstInPlace(c, a.with(a.share.slice()), -b);
  if (!a.held) return a;
  const out = new BigUint64Array(a.size);
  for (let i = 0; i < out.length; i++) out[i] = a.share[i]! - b.share[i]!;
  return a.with(out);
}

/** One stage by odd Clenshaw (m products in sequence). */
async function stageClenshaw(c: Context, t: Shared, coef: readonly number[], constant: number): Promise<Shared> {
  const m = coef.length;
  if (m === 1) return addConstInPlace(c, await scalePublic(c, t, coef[0]!), constant);
  const u = await square(c, t); // t^2
  // w = 2 T_2(t) = 4 t^2 - 2
  const w = u.with(u.held ? mulScalar(u.share, 4n) : EMPTY);
  addConstInPlace(c, w, -2);
  let b1: Operand = coef[m - 1]!;
  let b2: Operand = 0;
  for (let j = m - 2; j >= 0; j--) {
    const prod = typeof b1 === 'number' ? await scalePublic(c, w, b1) : await mul(c, w, b1);
    let b0 = minus(c, prod, b2);
    b0 = addConstInPlace(c, b0, coef[j]!);
    b2 = b1;
    b1 = b0;
  }
  const y = await mul(c, t, minus(c, b1 as Shared, b2));
  return addConstInPlace(c, y, constant);
}

/**
 * h = (1 + p_alpha(x * inv)) / 2 for a public inverse scale (a scalar, or
 * one per element), then r = x * h: the shared core of appRelu and
 * appMaxPool. x is flat; `inv` is 1 / B (per element for AppMax's windows).
 */
export async function appReluCore(c: Context, x: Shared, sign: CompositeSign, inv: number | Float64Array, method: AppReluMethod = 'tree'): Promise<Shared> {
  const f = x.fracBits;
  const n = x.size;
  const stages = sign.stages;
  const b1 = stages[0]!.scale;
  const invs = typeof inv === 'number' ? Float64Array.of(inv / b1) : inv.map((v) => v / b1);
  let smallest = Infinity;
  let allOne = true;
  for (const v of invs) {
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`appRelu: inverse scale must be a finite number > 0, got ${v}`);
    smallest = Math.min(smallest, v);
    allOne &&= v === 1;
  }
  let t = x;
  if (!allOne) {
    // 1/B with f + ceil(log2 B) bits: about f significant bits when B > 1.
    if (invs.length !== 1 && invs.length !== n) throw new RangeError(`appRelu: ${invs.length} inverse scales for ${n} elements`);
    const bits = f + Math.max(0, Math.ceil(Math.log2(1 / smallest)));
    t = await truncate(c, scaleDown(x, invs, bits), bits);
  }
  let y = t;
  for (const [i, s] of stages.entries()) {
    const last = i === stages.length - 1;
    const post = last ? 0.5 : 1 / stages[i + 1]!.scale;
    const coef = s.chebyshevOdd.map((a) => a * post);
    const constant = last ? 0.5 : 0;
    y = method === 'tree' ? await stageTree(c, y, coef, constant) : await stageClenshaw(c, y, coef, constant);
  }
  return mul(c, x, y);
}

/**
 * B r_alpha(x / B) at x's scale, elementwise, any shape. Within B 2^-alpha
 * of ReLU on [-B, B] plus the fixed-point error (test/mpc-app-relu.test.ts).
 */
export function appRelu(ctx: Context, x: Shared, opts: AppReluOptions): Promise<Shared> {
  const { alpha, bound } = opts;
  const method = opts.method ?? 'tree';
  checkMinimaxAlpha(alpha, 'appRelu');
  checkMinimaxBound(bound, 'appRelu');
  checkMethod(method, 'appRelu');
  if (!Number.isInteger(x.fracBits) || x.fracBits < 1) throw new RangeError(`appRelu: x needs fractional bits (fixed point), got ${x.fracBits}`);
  const sign = appReluSign(alpha);
  return ctx.call('appRelu', async (c) => {
    if (x.size === 0) return x;
    const r = await appReluCore(c, x.reshape([x.size]), sign, 1 / bound, method);
    return r.reshape(x.shape);
  });
}

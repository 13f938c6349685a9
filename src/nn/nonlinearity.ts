/**
 * What replaces the model's nonlinearities under MPC, chosen per run:
 *  - bicoptor: the 3-party truncation ReLU with an lx-bit sign test
 *    (protocols/drelu.ts); max pooling by a ReLU tournament. 3 parties.
 *  - minimax: B r_alpha(x / B), the minimax composite polynomial ReLU of the
 *    approximation library (protocols/app-relu.ts), max pooling by AppMax;
 *    only Beaver products, so 2 or 3 parties.
 *  - poly: for models trained with polynomial / PPoly activations, which
 *    are evaluated as they are (Beaver products); ReLU layers are refused.
 * Polynomial and PPoly layers are always evaluated as polynomials: they are
 * the model's own functions, whatever the ReLU choice.
 */
import { appRelu } from '../../protocols/app-relu.js';
import { relu } from '../../protocols/drelu.js';
import { mul, square } from '../../protocols/beaver.js';
import { add, addPublicScalar, mulPublicScalar, sub } from '../../protocols/linear.js';
import { decode } from '../ring/fixed.js';
import { truncate } from '../../protocols/truncation.js';
import type { Context } from '../mpc/context.js';
import { Shared } from '../mpc/shared.js';
import { expandPerChannel } from './layers/tensor-ops.js';
import type { ActivationFn } from './spec.js';

export type Nonlinearity =
  | { kind: 'bicoptor'; lx: number; skip: number }
  /** B r_alpha(x / B) (minimax composite polynomial); max pooling by AppMax. 2 or 3 parties. */
  | { kind: 'minimax'; alpha: number; bound: number }
  | { kind: 'poly' }
  /**
   * Plaintext context only: the exact ReLU and max, recording the largest
   * |input| of every ReLU (and of max-pooling differences) in `observed`:
   * how `--bound auto` calibrates B.
   */
  | { kind: 'exact'; observed?: { maxAbs: number } };

export function describeNonlinearity(nl: Nonlinearity): string {
  switch (nl.kind) {
    case 'bicoptor':
      return `truncation ReLU (lx ${nl.lx}${nl.skip ? `, skip ${nl.skip}` : ''})`;
    case 'minimax':
      return `minimax ReLU (alpha ${nl.alpha}, B ${Number(nl.bound.toPrecision(4))})`;
    case 'poly':
      return 'the model\'s polynomials';
    case 'exact':
      return 'exact ReLU (plaintext)';
  }
}

function observe(nl: Extract<Nonlinearity, { kind: 'exact' }>, x: Shared): void {
  if (!nl.observed) return;
  let m = nl.observed.maxAbs;
  for (const v of decode(x.share, x.fracBits)) m = Math.max(m, Math.abs(v));
  nl.observed.maxAbs = m;
}

/** The exact ReLU in the plaintext context. */
function exactRelu(ctx: Context, x: Shared, nl: Extract<Nonlinearity, { kind: 'exact' }>, layer: string): Shared {
  if (!ctx.isPlain) throw new Error(`layer ${layer}: the exact ReLU exists only in the plaintext context`);
  observe(nl, x);
  const half = 2n ** 63n;
  const out = x.share.slice();
  for (let i = 0; i < out.length; i++) if (out[i]! >= half) out[i] = 0n;
  return x.with(out);
}

/** ReLU under the run's choice. */
export async function reluOf(ctx: Context, x: Shared, nl: Nonlinearity, layer: string): Promise<Shared> {
  switch (nl.kind) {
    case 'poly':
      throw new Error(`layer ${layer}: the model has a ReLU, but --relu poly evaluates only polynomial activations; use --relu bicoptor or minimax`);
    case 'bicoptor':
      return relu(ctx, x, { lx: nl.lx, skip: nl.skip });
    case 'minimax':
      return appRelu(ctx, x, { alpha: nl.alpha, bound: nl.bound });
    case 'exact':
      return exactRelu(ctx, x, nl, layer);
  }
}

/** Largest |value| the exact mode records for max pooling: its pairwise differences are at most twice the inputs. */
export function observeMaxPool(nl: Nonlinearity, x: Shared): void {
  if (nl.kind !== 'exact' || !nl.observed) return;
  const before = nl.observed.maxAbs;
  observe(nl, x);
  nl.observed.maxAbs = Math.max(before, 2 * nl.observed.maxAbs);
}


/** x^1 .. x^d, each at x's scale (one truncation per product). */
async function powers(ctx: Context, x: Shared, degree: number): Promise<Shared[]> {
  const out = [x];
  if (degree >= 2) out.push(await square(ctx, x));
  for (let k = 3; k <= degree; k++) out.push(await mul(ctx, out[k - 2]!, x));
  return out;
}

/** sum_k c_k x^k with public coefficients (PolynomialActivation). */
async function publicPolynomial(ctx: Context, x: Shared, c: number[]): Promise<Shared> {
  if (c.length < 2) return addPublicScalar(ctx, x.with(x.held ? new BigUint64Array(x.size) : x.share), c[0] ?? 0);
  const pw = await powers(ctx, x, c.length - 1);
  const terms = await Promise.all(pw.map((p, k) => truncate(ctx, mulPublicScalar(ctx, p, c[k + 1]!))));
  return addPublicScalar(ctx, terms.reduce((a, b) => add(a, b)), c[0]!);
}


/**
 * PPoly with shared (secret) coefficients: coefficients[k] holds c_k per
 * channel ([C], or [1] when shared by all channels); c_k x^k is a Beaver
 * product with the coefficient broadcast over the channel.
 */
export async function sharedPolynomial(ctx: Context, x: Shared, coefficients: Shared[]): Promise<Shared> {
  const degree = coefficients.length - 1;
  const pw = await powers(ctx, x, degree);
  const channels = x.shape[1]!;
  const broadcast = (c: Shared): Shared => expandPerChannel(c.size === 1 && channels !== 1 ? repeat(c, channels) : c, x.shape);
  const terms = await Promise.all(pw.map((p, k) => mul(ctx, broadcast(coefficients[k + 1]!), p)));
  let acc = broadcast(coefficients[0]!);
  for (const t of terms) acc = add(acc, t);
  return acc;
}

function repeat(c: Shared, n: number): Shared {
  if (!c.held) return c.reshape([n]);
  // A new Shared: with() would check the n values against the old shape [1].
  return new Shared(new BigUint64Array(n).fill(c.share[0]!), [n], c.fracBits);
}

/** One activation of the model under the run's nonlinearity. PPoly coefficients come from the shared weights. */
export async function activate(ctx: Context, x: Shared, fn: ActivationFn, nl: Nonlinearity, layer: string, ppoly?: Shared[]): Promise<Shared> {
  switch (fn.fn) {
    case 'linear':
    case 'softmax': // the graph only lets a final softmax through; argmax needs none
      return x;
    case 'relu':
      return reluOf(ctx, x, nl, layer);
    case 'leaky-relu': {
      // alpha x + (1 - alpha) ReLU(x) = r + alpha (x - r)
      const r = await reluOf(ctx, x, nl, layer);
      return add(r, await truncate(ctx, mulPublicScalar(ctx, sub(x, r), fn.alpha)));
    }
    case 'polynomial':
      return publicPolynomial(ctx, x, fn.coefficients);
    case 'ppoly':
      if (!ppoly) throw new Error(`layer ${layer}: PPoly coefficients were not shared`);
      return sharedPolynomial(ctx, x, ppoly);
  }
}

/**
 * Minimax composite approximation p_alpha = p_k o ... o p_1 of sgn(x)
 * (Lee, Lee, No, Kim, "Minimax approximation of sign function by composite
 * polynomial for homomorphic comparison"; degrees and max-function factor
 * zeta from Table 1 of the seed precise-minimax-relu-maxpool, section 2.2).
 *
 * Construction (../shared/APPROX.md): stage 1 is the odd minimax polynomial of
 * degree d_1 for sgn on [eps, 1], eps = zeta 2^-alpha, with error tau_1; stage
 * i+1 is the odd minimax polynomial of degree d_{i+1} for sgn on
 * [1 - (tau_i + eta), 1 + (tau_i + eta)], eta = 2^-22, which is where stage i
 * maps [eps, 1]. No rescaling between stages; the composite is
 * (alpha - 1, eps)-close when tau_k <= 2^-(alpha - 1).
 */
import { chebyshevToPowerUnit, clenshawOdd } from './chebyshev.js';
import type { Interval } from './polynomial.js';
import { checkOddDegree, remezOdd } from './remez.js';

/** Seed Table 1: alpha -> (zeta, stage degrees). */
export const SIGN_TABLE: Readonly<Record<number, { zeta: number; degrees: readonly number[] }>> = {
  4: { zeta: 5, degrees: [5] },
  5: { zeta: 5, degrees: [13] },
  6: { zeta: 10, degrees: [3, 7] },
  7: { zeta: 11, degrees: [7, 7] },
  8: { zeta: 12, degrees: [7, 15] },
  9: { zeta: 13, degrees: [15, 15] },
  10: { zeta: 13, degrees: [7, 7, 13] },
  11: { zeta: 15, degrees: [7, 7, 27] },
  12: { zeta: 15, degrees: [7, 15, 27] },
  13: { zeta: 16, degrees: [15, 15, 27] },
  14: { zeta: 17, degrees: [15, 27, 29] },
};
export const ALPHAS: readonly number[] = Object.keys(SIGN_TABLE).map(Number);

/** eta: the safety margin that widens each later stage's interval. */
export const STAGE_MARGIN = 2 ** -22;

export interface SignStage {
  degree: number;
  /** Positive-side interval the stage is minimax on (odd: also its negative). */
  interval: Interval;
  /** Its minimax error tau_i. */
  error: number;
  /** b: the stage is sum_j chebyshevOdd[j] T_{2j+1}(x / b). */
  scale: number;
  chebyshevOdd: number[];
  /** Power-basis coefficients of x^1, x^3, ..., x^d (large at high degree: see float32.ts). */
  powerOdd: number[];
  iterations: number;
  converged: boolean;
  levelSpread: number;
}

export interface CompositeSign {
  alpha: number;
  zeta: number;
  /** zeta 2^-alpha: p_alpha is within 2^-(alpha-1) of sgn on [eps, 1]. */
  eps: number;
  degrees: number[];
  margin: number;
  stages: SignStage[];
  /** tau_k, the last stage's minimax error. */
  error: number;
}

export interface MinimaxSignOptions {
  alpha: number;
  /** Default from the table; required with explicit degrees for an alpha outside 4..14. */
  zeta?: number;
  /** Stage degrees (odd); default from the table. */
  degrees?: readonly number[];
  /** eta, default 2^-22. */
  margin?: number;
  /** Remez level agreement, default 1e-9. */
  tolerance?: number;
  /** Return a composite even if some stage failed to equioscillate (default: throw). */
  allowUnconverged?: boolean;
}

/** Power coefficients of x^1, x^3, ... of sum_j a_j T_{2j+1}(x / b). */
export function oddChebyshevToPower(chebyshevOdd: readonly number[], scale: number): number[] {
  const full = new Array<number>(2 * chebyshevOdd.length).fill(0);
  chebyshevOdd.forEach((a, j) => (full[2 * j + 1] = a));
  const inT = chebyshevToPowerUnit(full);
  return chebyshevOdd.map((_, j) => inT[2 * j + 1]! / scale ** (2 * j + 1));
}

const cache = new Map<string, CompositeSign>();

export function minimaxSign(opts: MinimaxSignOptions): CompositeSign {
  const { alpha } = opts;
  if (!Number.isFinite(alpha) || alpha <= 0) throw new Error(`alpha must be a positive number, got ${alpha}`);
  const entry = SIGN_TABLE[alpha];
  if (!opts.degrees && !entry) throw new Error(`alpha must be 4..14 when no degrees are given, got ${alpha}`);
  const degrees = [...(opts.degrees ?? entry!.degrees)];
  if (degrees.length === 0) throw new Error('degrees must name at least one stage');
  for (const d of degrees) checkOddDegree(d);
  const zeta = opts.zeta ?? entry?.zeta;
  if (zeta === undefined) throw new Error(`zeta is required with explicit degrees when alpha is outside 4..14, got alpha ${alpha}`);
  const eps = zeta * 2 ** -alpha;
  if (!(eps > 0 && eps < 1)) throw new Error(`zeta 2^-alpha must lie in (0, 1), got ${zeta} * 2^-${alpha} = ${eps}`);
  const margin = opts.margin ?? STAGE_MARGIN;
  const tolerance = opts.tolerance ?? 1e-9;
  const key = JSON.stringify([alpha, zeta, degrees, margin, tolerance]);
  const hit = cache.get(key);
  if (hit && (opts.allowUnconverged || hit.stages.every((s) => s.converged))) return hit;

  const stages: SignStage[] = [];
  let interval: Interval = [eps, 1];
  for (const [i, degree] of degrees.entries()) {
    const r = remezOdd({ degree, interval, tolerance });
    if (!r.converged && !opts.allowUnconverged) {
      throw new Error(
        `Remez did not equioscillate at stage ${i + 1} (degree ${degree} on [${interval[0]}, ${interval[1]}]): ` +
          `level spread ${r.levelSpread.toExponential(2)} after ${r.iterations} iterations (tolerance ${tolerance})`,
      );
    }
    stages.push({
      degree,
      interval,
      error: r.error,
      scale: r.scale,
      chebyshevOdd: r.chebyshevOdd,
      powerOdd: oddChebyshevToPower(r.chebyshevOdd, r.scale),
      iterations: r.iterations,
      converged: r.converged,
      levelSpread: r.levelSpread,
    });
    const spread = r.error + margin;
    if (i + 1 < degrees.length && !(spread < 1)) {
      throw new Error(`stage ${i + 1} (degree ${degree}) has error ${r.error}: with it the next stage's interval [1 - ${spread}, 1 + ${spread}] reaches 0`);
    }
    interval = [1 - spread, 1 + spread];
  }
  const out: CompositeSign = { alpha, zeta, eps, degrees, margin, stages, error: stages[stages.length - 1]!.error };
  cache.set(key, out);
  return out;
}

/** One stage in float64 (odd Clenshaw). */
export function evaluateStage(stage: SignStage, x: number): number {
  return clenshawOdd(stage.chebyshevOdd, x / stage.scale);
}

/** p_alpha(x) in float64. */
export function evaluateSign(sign: CompositeSign, x: number): number {
  let y = x;
  for (const s of sign.stages) y = evaluateStage(s, y);
  return y;
}

/** Throws naming `what` unless alpha is one of the table's (SIGN_TABLE). */
export function checkMinimaxAlpha(alpha: number, what: string): void {
  if (typeof alpha !== 'number' || !Number.isInteger(alpha) || SIGN_TABLE[alpha] === undefined) {
    throw new RangeError(`${what}: alpha must be an integer of the minimax table (${ALPHAS[0]}..${ALPHAS[ALPHAS.length - 1]}), got ${alpha}`);
  }
}

/** Throws naming `what` unless B (the input range [-B, B] of B r_alpha(x / B)) is a finite number > 0. */
export function checkMinimaxBound(bound: number, what: string): void {
  if (typeof bound !== 'number' || !(bound > 0) || !Number.isFinite(bound)) throw new RangeError(`${what}: bound B must be a finite number > 0, got ${bound}`);
}

/**
 * p_alpha as a program over any ElementwiseOps: each stage either by odd
 * Clenshaw in its Chebyshev basis (coefficients of size ~1, the path that
 * keeps the precision in float32) or by Horner on the power-basis odd
 * coefficients (up to ~1e5 at degree 15-29: fine in float64, not in float32).
 */
import type { ElementwiseOps } from './elementwise.js';
import type { CompositeSign, SignStage } from './minimax-sign.js';

export type StageBasis = 'chebyshev' | 'power';

/**
 * sum_j a_j T_{2j+1}(t), t = x / b: b_j = a_j + 2 T_2(t) b_{j+1} - b_{j+2},
 * value t (b_0 - b_1) (two-step Clenshaw, see chebyshev.ts clenshawOdd).
 * m multiplications in sequence plus two.
 */
export function stageClenshaw<T>(ops: ElementwiseOps<T>, stage: Pick<SignStage, 'chebyshevOdd' | 'scale'>, x: T): T {
  const a = stage.chebyshevOdd;
  const m = a.length;
  const t = ops.scale(x, 1 / stage.scale);
  if (m === 1) return ops.scale(t, a[0]!);
  const w2 = ops.shift(ops.scale(ops.mul(t, t), 4), -2); // 2 T_2(t) = 4t^2 - 2
  let b1 = ops.fill(x, a[m - 1]!);
  let b2: T | null = null;
  for (let j = m - 2; j >= 0; j--) {
    let b0 = ops.mul(w2, b1);
    if (b2 !== null) b0 = ops.sub(b0, b2);
    b0 = ops.shift(b0, a[j]!);
    b2 = b1;
    b1 = b0;
  }
  return ops.mul(t, ops.sub(b1, b2!));
}

/** x q(x^2) with q's coefficients the stage's power-basis odd coefficients (Horner in x^2). */
export function stageHorner<T>(ops: ElementwiseOps<T>, stage: Pick<SignStage, 'powerOdd'>, x: T): T {
  const c = stage.powerOdd;
  const m = c.length;
  if (m === 1) return ops.scale(x, c[0]!);
  const x2 = ops.mul(x, x);
  let acc = ops.fill(x, c[m - 1]!);
  for (let k = m - 2; k >= 0; k--) acc = ops.shift(ops.mul(acc, x2), c[k]!);
  return ops.mul(acc, x);
}

/** p_alpha(x) = p_k(...p_1(x)). */
export function signProgram<T>(ops: ElementwiseOps<T>, sign: CompositeSign, x: T, basis: StageBasis = 'chebyshev'): T {
  let y = x;
  for (const s of sign.stages) y = basis === 'chebyshev' ? stageClenshaw(ops, s, y) : stageHorner(ops, s, y);
  return y;
}

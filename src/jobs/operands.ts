/** Seeded random operands owned by P0 and shared to both holders. */
import { shareInput } from '../../protocols/sharing.js';
import type { Context } from '../mpc/context.js';
import type { Shared } from '../mpc/shared.js';
import { deriveSeed, uniformArray } from '../common/random.js';
import { shapeSize } from '../ring/tensor.js';
import type { ArithCase } from './arith-ops.js';

export interface Operands {
  /** Plain values (P0 and plain context only; null on P1). */
  values: Float64Array[] | null;
  shared: Shared[];
}

/** Operand i of a case draws from deriveSeed(seed, i), uniform in [-1, 1). */
export function operandValues(c: ArithCase, seed: number): Float64Array[] {
  return c.operandShapes.map((shape, i) => uniformArray(deriveSeed(seed, i), shapeSize(shape)));
}

export function shareOperands(ctx: Context, c: ArithCase, seed: number): Operands {
  const values = ctx.id === 0 ? operandValues(c, seed) : null;
  const shared = c.operandShapes.map((shape, i) => shareInput(ctx, 0, values ? values[i]! : null, shape));
  return { values, shared };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`comparing ${a.length} values with ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Cost helpers shared by the arithmetic catalogue's cases (src/jobs/arith-ops.ts, training-ops.ts). */
import type { TruncationMode } from '../mpc/context.js';
import type { CorrelationSpec } from '../mpc/correlations.js';

export const ELEMENT_BYTES = 8;

/** One truncation of n elements: dealer mode opens x + r (n elements each way, one round); local costs nothing (PROTOCOLS.md 3). */
export function truncCost(truncation: TruncationMode, n: number): { bytes: number; rounds: number } {
  return truncation === 'dealer' ? { bytes: ELEMENT_BYTES * n, rounds: 1 } : { bytes: 0, rounds: 0 };
}

/** The dealer pair a truncation of n elements by `bits` takes (none in local mode). */
export function truncSpecs(truncation: TruncationMode, n: number, bits: number): CorrelationSpec[] {
  return truncation === 'dealer' ? [{ kind: 'trunc', n, bits }] : [];
}

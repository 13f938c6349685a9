/**
 * Side counters of the PANN layers, kept outside tfjs (they are not weights):
 * per layer name, how many inputs fell outside [-B, B] (minimax layers) and
 * the largest |input| seen (the calibration probes). The evaluator resets the
 * registry before a pass and reads it after.
 */
export interface RangeStats {
  /** Inputs seen. */
  total: number;
  /** Inputs with |x| > bound (0 where the layer has no bound). */
  outside: number;
  /** Largest |x| seen. */
  maxAbs: number;
}

const stats = new Map<string, RangeStats>();

export function resetRangeStats(): void {
  stats.clear();
}

export function recordRange(layer: string, total: number, outside: number, maxAbs: number): void {
  const s = stats.get(layer) ?? { total: 0, outside: 0, maxAbs: 0 };
  s.total += total;
  s.outside += outside;
  s.maxAbs = Math.max(s.maxAbs, maxAbs);
  stats.set(layer, s);
}

/** A copy, in the order the layers first reported. */
export function readRangeStats(): Map<string, RangeStats> {
  return new Map([...stats].map(([k, v]) => [k, { ...v }]));
}

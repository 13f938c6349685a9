/** Small dense float64 linear algebra for the fits and the Remez solver. */

/** Solves A x = b (A square, row-major rows) by Gaussian elimination with partial pivoting. */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => {
    if (row.length !== n) throw new Error(`solveLinear: row ${i} has ${row.length} entries, expected ${n}`);
    return [...row, b[i]!];
  });
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    if (m[piv]![col] === 0 || !Number.isFinite(m[piv]![col]!)) throw new Error(`solveLinear: matrix is singular (column ${col})`);
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    const pr = m[col]!;
    for (let r = col + 1; r < n; r++) {
      const row = m[r]!;
      const f = row[col]! / pr[col]!;
      if (f === 0) continue;
      for (let k = col; k <= n; k++) row[k]! -= f * pr[k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    const row = m[r]!;
    let s = row[n]!;
    for (let k = r + 1; k < n; k++) s -= row[k]! * x[k]!;
    x[r] = s / row[r]!;
  }
  return x;
}

/**
 * Least-squares solution of the overdetermined system A x ~ b (rows >= cols)
 * by Householder QR, which avoids squaring the condition number as the
 * normal equations would (Golub & Van Loan 5.3).
 */
export function leastSquares(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const rows = a.length;
  const cols = rows ? a[0]!.length : 0;
  if (rows < cols) throw new Error(`leastSquares: need at least as many samples (${rows}) as unknowns (${cols})`);
  // column-major copy for cache-friendly Householder sweeps
  const q = Array.from({ length: cols }, (_, j) => Float64Array.from(a, (row) => row[j]!));
  const y = Float64Array.from(b);
  const rdiag = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    const v = q[j]!;
    let norm = 0;
    for (let i = j; i < rows; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new Error(`leastSquares: column ${j} is linearly dependent on the others (too few distinct samples?)`);
    const alpha = v[j]! > 0 ? -norm : norm;
    v[j]! -= alpha;
    let vv = 0;
    for (let i = j; i < rows; i++) vv += v[i]! * v[i]!;
    const apply = (w: Float64Array): void => {
      let dot = 0;
      for (let i = j; i < rows; i++) dot += v[i]! * w[i]!;
      const f = (2 * dot) / vv;
      for (let i = j; i < rows; i++) w[i]! -= f * v[i]!;
    };
    for (let k = j + 1; k < cols; k++) apply(q[k]!);
    apply(y);
    rdiag[j] = alpha;
  }
  const x = new Array<number>(cols).fill(0);
  for (let j = cols - 1; j >= 0; j--) {
    let s = y[j]!;
    for (let k = j + 1; k < cols; k++) s -= q[k]![j]! * x[k]!;
    x[j] = s / rdiag[j]!;
  }
  return x;
}

/**
 * Target functions for the fits: ReLU, Leaky ReLU, Swish, tanh, sigmoid,
 * each with its exact Taylor coefficients where the function is analytic.
 */

export type ActivationName = 'relu' | 'leaky-relu' | 'swish' | 'tanh' | 'sigmoid';
export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'leaky-relu', 'swish', 'tanh', 'sigmoid'];

export interface TargetFunction {
  name: string;
  f: (x: number) => number;
  /**
   * Taylor coefficients f^(k)(x0) / k!, k = 0..n, of the expansion in (x - x0);
   * null where f is not differentiable at x0. Absent: no exact series known.
   */
  taylor?: (x0: number, n: number) => number[] | null;
}

export interface ActivationOptions {
  /** Leaky ReLU slope for x < 0 (default 0.01). */
  slope?: number;
}

// Truncated power-series arithmetic (Griewank & Walther, "Evaluating
// Derivatives", ch. 13): a series is its first n + 1 Taylor coefficients.
type Series = number[];

function seriesExp(u: Series): Series {
  // g = exp(u): g' = u' g gives k g_k = sum_{j=1..k} j u_j g_{k-j}
  const g: Series = [Math.exp(u[0]!)];
  for (let k = 1; k < u.length; k++) {
    let s = 0;
    for (let j = 1; j <= k; j++) s += j * u[j]! * g[k - j]!;
    g.push(s / k);
  }
  return g;
}

function seriesRecip(u: Series): Series {
  // h = 1/u: u h = 1 gives h_k = -(1/u_0) sum_{j=1..k} u_j h_{k-j}
  const h: Series = [1 / u[0]!];
  for (let k = 1; k < u.length; k++) {
    let s = 0;
    for (let j = 1; j <= k; j++) s += u[j]! * h[k - j]!;
    h.push(-s / u[0]!);
  }
  return h;
}

function seriesMul(a: Series, b: Series): Series {
  return a.map((_, k) => {
    let s = 0;
    for (let j = 0; j <= k; j++) s += a[j]! * b[k - j]!;
    return s;
  });
}

/** Series of x0 + c t (the identity scaled by c) truncated at degree n. */
function variable(x0: number, n: number, c = 1): Series {
  const s = new Array<number>(n + 1).fill(0);
  s[0] = c * x0;
  if (n >= 1) s[1] = c;
  return s;
}

/** sigmoid(c x) expanded at x0: 1 / (1 + exp(-c x)). */
function sigmoidSeries(x0: number, n: number, c = 1): Series {
  const e = seriesExp(variable(x0, n, -c));
  e[0]! += 1;
  return seriesRecip(e);
}

function sigmoid(x: number): number {
  // both branches avoid exp overflow
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Piecewise-linear series: slope `s` through the point, zero beyond degree 1. */
function linearSeries(value: number, slope: number, n: number): Series {
  const out = new Array<number>(n + 1).fill(0);
  out[0] = value;
  if (n >= 1) out[1] = slope;
  return out;
}

export function activation(name: ActivationName, opts: ActivationOptions = {}): TargetFunction {
  switch (name) {
    case 'relu':
      return {
        name,
        f: (x) => (x > 0 ? x : 0),
        taylor: (x0, n) => (x0 === 0 ? null : x0 > 0 ? linearSeries(x0, 1, n) : linearSeries(0, 0, n)),
      };
    case 'leaky-relu': {
      const slope = opts.slope ?? 0.01;
      if (!Number.isFinite(slope)) throw new Error(`leaky-relu slope must be a finite number, got ${slope}`);
      return {
        name: `leaky-relu(${slope})`,
        f: (x) => (x > 0 ? x : slope * x),
        taylor: (x0, n) => (x0 === 0 ? (slope === 1 ? linearSeries(0, 1, n) : null) : x0 > 0 ? linearSeries(x0, 1, n) : linearSeries(slope * x0, slope, n)),
      };
    }
    case 'swish':
      return { name, f: (x) => x * sigmoid(x), taylor: (x0, n) => seriesMul(variable(x0, n), sigmoidSeries(x0, n)) };
    case 'sigmoid':
      return { name, f: sigmoid, taylor: (x0, n) => sigmoidSeries(x0, n) };
    case 'tanh':
      // tanh x = 2 sigmoid(2x) - 1
      return {
        name,
        f: Math.tanh,
        taylor: (x0, n) => {
          const s = sigmoidSeries(x0, n, 2).map((v) => 2 * v);
          s[0]! -= 1;
          return s;
        },
      };
    default:
      throw new Error(`unknown function '${String(name)}': expected one of ${ACTIVATIONS.join(', ')}`);
  }
}

export function isActivationName(s: string): s is ActivationName {
  return (ACTIVATIONS as readonly string[]).includes(s);
}

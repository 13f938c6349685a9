/**
 * Pluggable activations for the plaintext backbones. Every model builder
 * takes an ActivationSpec and calls makeActivation once per activation site.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { presetFit, PRESET_DEGREE } from '../../approx/fit-presets.js';
import { FIT_METHODS, fit, type FitMethod } from '../../approx/fits.js';
import { isActivationName } from '../../approx/functions.js';
import { checkNgnvParams, NgnvRelu, type NgnvParams } from './ngnv.js';
import { checkCoefficients, PolynomialActivation, PPoly } from './polynomial.js';

export { NgnvRelu, ngnvFactors, type NgnvParams, type NgnvVariant } from './ngnv.js';
export { PolynomialActivation, PPoly } from './polynomial.js';

export type ActivationSpec =
  | { kind: 'relu' }
  | { kind: 'leaky-relu'; alpha: number }
  | ({ kind: 'ngnv' } & NgnvParams)
  /** Fixed (public, not trained) coefficients; `fit` says which preset fit they are (`--act fit:...`). */
  | { kind: 'polynomial'; coefficients: number[]; fit?: string }
  | { kind: 'ppoly'; coefficients: number[]; perChannel: boolean };

export function checkActivation(a: ActivationSpec): void {
  switch (a.kind) {
    case 'relu':
      return;
    case 'leaky-relu':
      if (!(a.alpha >= 0 && a.alpha < 1)) throw new Error(`leaky ReLU alpha must be in [0, 1), got ${a.alpha}`);
      return;
    case 'ngnv':
      return checkNgnvParams(a);
    case 'polynomial':
    case 'ppoly':
      return checkCoefficients(a.coefficients, a.kind);
    default:
      throw new Error(`unknown activation ${JSON.stringify(a)}`);
  }
}

export function makeActivation(a: ActivationSpec, name: string): tfl.layers.Layer {
  switch (a.kind) {
    case 'relu':
      return tfl.layers.reLU({ name });
    case 'leaky-relu':
      return tfl.layers.leakyReLU({ alpha: a.alpha, name });
    case 'ngnv':
      return new NgnvRelu({ name, r: a.r, lambda: a.lambda, variant: a.variant });
    case 'polynomial':
      return new PolynomialActivation({ name, coefficients: a.coefficients });
    case 'ppoly':
      return new PPoly({ name, coefficients: a.coefficients, perChannel: a.perChannel });
  }
}

function numbers(list: string, what: string): number[] {
  const out = list.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((v) => !Number.isFinite(v))) throw new Error(`${what}: "${list}" is not a comma-separated list of numbers`);
  return out;
}

/** Leaky ReLU slope of the seed's best PPoly initialisation (the approximation library's default). */
export const SEED_PPOLY_SLOPE = 0.01;

/**
 * The seed's best PPoly initialisation (mpc-cnn-batchnorm-ppoly.txt 4.4):
 * the least-squares fit of Leaky ReLU (slope 0.01) on samples from
 * N(0, 1.2^2), power basis, c0 first. Seeded samples: always the same fit.
 */
export function seedPPolyCoefficients(degree = 3): number[] {
  return fit('leaky-relu', { method: 'lstsq', degree, sampling: 'normal', mu: 0, sigma: 1.2, slope: SEED_PPOLY_SLOPE }).coefficients;
}

/**
 * `fit:FN:METHOD[:dD]`: the fixed polynomial of src/approx/fit-presets.ts
 * (FN leaky-relu | swish | tanh | relu | sigmoid, METHOD lstsq | taylor |
 * chebyshev | lagrange, degree D, default 3).
 */
function parseFit(text: string): ActivationSpec {
  const [, fn, method, degreeText, ...rest] = text.split(':');
  const usage = `--act ${text}: expected fit:FN:METHOD[:dD] with FN leaky-relu, swish, tanh, relu or sigmoid and METHOD ${FIT_METHODS.join(', ')}`;
  if (fn === undefined || !isActivationName(fn) || method === undefined || !(FIT_METHODS as readonly string[]).includes(method) || rest.length > 0) throw new Error(usage);
  const d = degreeText === undefined ? null : /^d(\d+)$/.exec(degreeText);
  if (degreeText !== undefined && !(d && Number(d[1]) >= 1 && Number(d[1]) <= 12)) throw new Error(`${usage}; the degree dD is d1..d12`);
  const degree = d ? Number(d[1]) : PRESET_DEGREE;
  const f = presetFit(fn, method as FitMethod, degree);
  return { kind: 'polynomial', coefficients: f.coefficients, fit: `${fn} by ${f.setting}, degree ${degree}` };
}

/**
 * CLI form: relu | leaky[:alpha] | poly:c0,c1,... | fit:FN:METHOD[:dD] |
 * ppoly[:channel] | ppoly:dD[:channel] | ppoly:c0,c1,...[:channel]
 * (power-basis coefficients, c0 first). poly and fit are fixed polynomials
 * (public constants, never trained); fit:FN:METHOD[:dD] is the preset fit of
 * src/approx/fit-presets.ts (e.g. fit:tanh:chebyshev, fit:leaky-relu:lstsq:d2;
 * lstsq on N(0, 1.2^2), Taylor at 0, Chebyshev and Lagrange on [-4, 4]).
 * A bare ppoly is seedPPolyCoefficients(3) (= fit:leaky-relu:lstsq, but
 * learnable), ppoly:dD the same fit of degree D.
 */
export function parseActivation(text: string): ActivationSpec {
  const [kind, arg, extra] = text.split(':');
  let a: ActivationSpec;
  if (kind === 'fit') a = parseFit(text);
  else if (kind === 'relu' && arg === undefined) a = { kind: 'relu' };
  else if (kind === 'leaky' || kind === 'leaky-relu') a = { kind: 'leaky-relu', alpha: arg === undefined ? 0.01 : Number(arg) };
  else if ((kind === 'poly' || kind === 'polynomial') && arg) a = { kind: 'polynomial', coefficients: numbers(arg, '--act poly') };
  else if (kind === 'ppoly') {
    // ppoly, ppoly:channel, ppoly:dD[:channel], ppoly:c0,..[:channel]
    const bare = arg === undefined || arg === 'channel';
    const option = bare ? (extra ?? arg) : extra;
    if ((option !== undefined && option !== 'channel') || (bare && extra !== undefined) || text.split(':').length > 3) throw new Error(`--act ppoly: unknown option "${option}" (only :channel)`);
    const degree = arg !== undefined ? /^d(\d+)$/.exec(arg) : null;
    if (degree && !(Number(degree[1]) >= 1 && Number(degree[1]) <= 12)) throw new Error(`--act ppoly:${arg}: degree must be 1..12`);
    const coefficients = bare ? seedPPolyCoefficients(3) : degree ? seedPPolyCoefficients(Number(degree[1])) : numbers(arg!, '--act ppoly');
    a = { kind: 'ppoly', coefficients, perChannel: option === 'channel' };
  } else throw new Error(`unknown activation "${text}": use relu, leaky[:alpha], poly:c0,c1,..., fit:FN:METHOD[:dD], ppoly[:dD][:channel], ppoly:c0,c1,...[:channel]`);
  checkActivation(a);
  return a;
}

/** CLI form of NGNV: r,lambda[,gaussian|sign]. */
export function parseNgnv(text: string): ActivationSpec {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length < 2 || parts.length > 3) throw new Error(`--ngnv "${text}": expected r,lambda or r,lambda,sign`);
  const variant = parts[2] ?? 'gaussian';
  if (variant !== 'gaussian' && variant !== 'sign') throw new Error(`--ngnv "${text}": the third part must be gaussian or sign`);
  const a: ActivationSpec = { kind: 'ngnv', r: Number(parts[0]), lambda: Number(parts[1]), variant };
  checkActivation(a);
  return a;
}

export function describeActivation(a: ActivationSpec): string {
  switch (a.kind) {
    case 'relu':
      return 'ReLU';
    case 'leaky-relu':
      return `leaky ReLU (alpha ${a.alpha})`;
    case 'ngnv':
      return `NGNV-ReLU (r ${a.r}, lambda ${a.lambda}, ${a.variant}; ReLU at inference)`;
    case 'polynomial':
      return `polynomial [${a.coefficients.join(', ')}]${a.fit ? ` (${a.fit})` : ''}`;
    case 'ppoly':
      return `PPoly from [${a.coefficients.join(', ')}]${a.perChannel ? ' per channel' : ''}`;
  }
}

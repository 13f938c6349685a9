/**
 * Division, square root, inverse square root, exponential, reciprocal and
 * softmax on given inputs, for tests and measurements: P0 shares the
 * inputs, every result is revealed to both holders with each call's online
 * traffic and rounds. The same job runs in the plaintext context (the
 * reference) and in real 2- or 3-party processes.
 */
import { divide } from '../../protocols/division.js';
import type { Normalisation, PositiveRange } from '../../protocols/range-normalisation.js';
import { reveal, shareInput } from '../../protocols/sharing.js';
import { exp, reciprocal, softmax, type ExpOptions, type SoftmaxShift } from '../../protocols/softmax.js';
import { rsqrt, sqrt } from '../../protocols/sqrt.js';
import type { SqrtInitial } from '../approx/newton-init.js';
import type { Context } from '../mpc/context.js';
import type { Shared } from '../mpc/shared.js';
import { snapshot, trafficSince } from '../mpc/traffic.js';

export const NONLINEAR_OPS = ['divide', 'sqrt', 'rsqrt', 'exp', 'reciprocal', 'softmax'] as const;
export type NonlinearOp = (typeof NONLINEAR_OPS)[number];

export interface NonlinearCase {
  op: NonlinearOp;
  /** The input (divide: the denominators b). */
  x: number[];
  /** divide: the numerators a (same length as x). */
  a?: number[];
  /** softmax: [rows, K] (default [1, x.length]). */
  shape?: number[];
  /** divide, sqrt, rsqrt, reciprocal: the public range of x. */
  range?: PositiveRange;
  /** divide, sqrt, rsqrt: 'private' (3pc) or 'public'. */
  normalisation?: Normalisation;
  iterations?: number;
  /** sqrt: Algorithm 2 iterations per Newton step. */
  divisionIterations?: number;
  /** sqrt: Algorithm 3's start. */
  initial?: SqrtInitial;
  /** exp, softmax. */
  squarings?: number;
  degree?: 1 | 2;
  guardBits?: number;
  /** softmax. */
  shift?: SoftmaxShift;
  reciprocalIterations?: number;
}

export interface NonlinearCheckJob {
  kind: 'nonlinear-check';
  cases: NonlinearCase[];
}

export interface NonlinearCaseOutput {
  op: NonlinearOp;
  /** Revealed result (holders and the plaintext context; empty on P2). */
  output: number[];
  /** Online traffic and rounds of the protocol call alone (0 in the plaintext context). */
  bytesSent: number;
  bytesReceived: number;
  rounds: number;
}

function need<T>(v: T | undefined, what: string, op: string): T {
  if (v === undefined) throw new TypeError(`job: ${op} needs '${what}'`);
  return v;
}

async function runCase(ctx: Context, spec: NonlinearCase): Promise<Shared> {
  const owned = ctx.id === 0 || ctx.isPlain;
  const shape = spec.op === 'softmax' ? (spec.shape ?? [1, spec.x.length]) : [spec.x.length];
  const x = shareInput(ctx, 0, owned ? spec.x : null, shape);
  const iterations = spec.iterations !== undefined ? { iterations: spec.iterations } : {};
  const norm = () => ({ range: need(spec.range, 'range', spec.op), normalisation: need(spec.normalisation, 'normalisation', spec.op) });
  switch (spec.op) {
    case 'divide': {
      const a = shareInput(ctx, 0, owned ? need(spec.a, 'a', 'divide') : null, shape);
      return divide(ctx, a, x, { ...norm(), ...iterations });
    }
    case 'sqrt':
      return sqrt(ctx, x, {
        ...norm(), ...iterations,
        ...(spec.divisionIterations !== undefined ? { divisionIterations: spec.divisionIterations } : {}),
        ...(spec.initial !== undefined ? { initial: spec.initial } : {}),
      });
    case 'rsqrt':
      return rsqrt(ctx, x, { ...norm(), ...iterations });
    case 'reciprocal':
      return reciprocal(ctx, x, { range: need(spec.range, 'range', 'reciprocal'), ...iterations });
    case 'exp':
      return exp(ctx, x, expOptions(spec));
    case 'softmax':
      return softmax(ctx, x, {
        shift: need(spec.shift, 'shift', 'softmax'),
        exp: expOptions(spec),
        ...(spec.reciprocalIterations !== undefined ? { reciprocalIterations: spec.reciprocalIterations } : {}),
      });
  }
}

function expOptions(spec: NonlinearCase): ExpOptions {
  return {
    ...(spec.squarings !== undefined ? { squarings: spec.squarings } : {}),
    ...(spec.degree !== undefined ? { degree: spec.degree } : {}),
    ...(spec.guardBits !== undefined ? { guardBits: spec.guardBits } : {}),
  };
}

export async function nonlinearCheck(ctx: Context, job: NonlinearCheckJob): Promise<NonlinearCaseOutput[]> {
  const outputs: NonlinearCaseOutput[] = [];
  for (const [i, spec] of job.cases.entries()) {
    const before = ctx.isPlain ? null : snapshot(ctx.mesh);
    const y = await runCase(ctx, spec);
    const t = before ? trafficSince(before, snapshot(ctx.mesh)) : null;
    const output = Array.from(await reveal(ctx, y)); // empty on P2
    outputs.push({ op: spec.op, output, bytesSent: t?.bytesSent ?? 0, bytesReceived: t?.bytesReceived ?? 0, rounds: t?.rounds ?? 0 });
    ctx.progress({ message: `nonlinear-check case ${i} (${spec.op}) done`, case: i });
  }
  return outputs;
}

// ------------------------------------------------------------ parsing

function numbers(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new TypeError(`job: ${what} must be a non-empty list of finite numbers`);
  return v as number[];
}

function integer(o: Record<string, unknown>, name: string, lo: number, hi: number): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new TypeError(`job: '${name}' must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v;
}

function positiveRange(v: unknown): PositiveRange {
  const r = (v ?? {}) as Record<string, unknown>;
  const { min, max } = r;
  if (typeof min !== 'number' || typeof max !== 'number' || !(min > 0) || !(max >= min) || !Number.isFinite(max)) {
    throw new TypeError(`job: range must be {min, max} with 0 < min <= max < infinity, got ${JSON.stringify(v)}`);
  }
  return { min, max };
}

function shift(v: unknown): SoftmaxShift {
  const s = (v ?? {}) as Record<string, unknown>;
  if (s['kind'] === 'max') {
    const lx = integer(s, 'lx', 2, 62);
    if (lx === undefined) throw new TypeError('job: shift {kind: max} needs lx');
    return { kind: 'max', lx, skip: integer(s, 'skip', 0, 60) ?? 0 };
  }
  if (s['kind'] === 'appmax' && typeof s['bound'] === 'number' && s['bound'] > 0 && Number.isFinite(s['bound'])) {
    const alpha = integer(s, 'alpha', 1, 30);
    return { kind: 'appmax', bound: s['bound'], ...(alpha !== undefined ? { alpha } : {}) };
  }
  if (s['kind'] === 'mean' && typeof s['spread'] === 'number' && s['spread'] >= 0 && Number.isFinite(s['spread'])) return { kind: 'mean', spread: s['spread'] };
  throw new TypeError(`job: shift must be {kind: 'max', lx}, {kind: 'appmax', bound > 0} or {kind: 'mean', spread >= 0}, got ${JSON.stringify(v)}`);
}

export function parseNonlinearCheckJob(o: Record<string, unknown>): NonlinearCheckJob {
  const cases = o['cases'];
  if (!Array.isArray(cases) || cases.length === 0) throw new TypeError('job: nonlinear-check needs a non-empty cases list');
  return {
    kind: 'nonlinear-check',
    cases: cases.map((raw: unknown, i) => {
      const r = (raw ?? {}) as Record<string, unknown>;
      const op = r['op'];
      if (typeof op !== 'string' || !(NONLINEAR_OPS as readonly string[]).includes(op)) throw new TypeError(`job: cases[${i}].op ${JSON.stringify(op)} is not one of ${NONLINEAR_OPS.join(', ')}`);
      const c: NonlinearCase = { op: op as NonlinearOp, x: numbers(r['x'], `cases[${i}].x`) };
      if (r['a'] !== undefined) {
        c.a = numbers(r['a'], `cases[${i}].a`);
        if (c.a.length !== c.x.length) throw new TypeError(`job: cases[${i}]: ${c.a.length} numerators for ${c.x.length} denominators`);
      }
      if (r['shape'] !== undefined) {
        const shape = r['shape'];
        if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 1) || shape.reduce((p: number, d: number) => p * d, 1) !== c.x.length) {
          throw new TypeError(`job: cases[${i}].shape must be positive integers whose product is ${c.x.length}`);
        }
        c.shape = shape as number[];
      }
      if (r['range'] !== undefined) c.range = positiveRange(r['range']);
      if (r['normalisation'] !== undefined) {
        if (r['normalisation'] !== 'private' && r['normalisation'] !== 'public') throw new TypeError(`job: cases[${i}].normalisation must be 'private' or 'public'`);
        c.normalisation = r['normalisation'];
      }
      if (r['initial'] !== undefined) {
        if (r['initial'] !== 'seed' && r['initial'] !== 'minimax') throw new TypeError(`job: cases[${i}].initial must be 'seed' or 'minimax'`);
        c.initial = r['initial'];
      }
      if (r['shift'] !== undefined) c.shift = shift(r['shift']);
      if (r['degree'] !== undefined) {
        if (r['degree'] !== 1 && r['degree'] !== 2) throw new TypeError(`job: cases[${i}].degree must be 1 or 2`);
        c.degree = r['degree'];
      }
      for (const name of ['iterations', 'divisionIterations', 'squarings', 'guardBits', 'reciprocalIterations'] as const) {
        const v = integer(r, name, 0, 64);
        if (v !== undefined) c[name] = v;
      }
      return c;
    }),
  };
}

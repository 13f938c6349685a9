/** Jobs that share holders run, as plain JSON in the session config. */
import { ARITH_OPS, type ArithOp } from './arith-ops.js';
import type { InferJob } from './infer.js';
import { parseNonlinearCheckJob, type NonlinearCheckJob } from './nonlinear-check.js';
import { parseTrainCheckJob, type TrainCheckJob } from './train-check.js';
import { parseTrainMpcJob, type TrainMpcJob } from './train-mpc.js';

export interface BenchArithJob {
  kind: 'bench-arith';
  op: ArithOp;
  size: number;
  /** Timed repetitions after one warm-up; the median is reported. */
  reps: number;
  seed: number;
}

export interface ProtocolCheckJob {
  kind: 'protocol-check';
  cases: { op: ArithOp; size: number }[];
  seed: number;
  /** Run the case list this many times (progress after each case). Default 1. */
  repeat?: number;
}

/** The truncation-ReLU family (3 parties). */
export const RELU_OPS = ['drelu', 'relu', 'maxpool'] as const;
export type ReluOp = (typeof RELU_OPS)[number];

/** Common parameters of the truncation ReLU (validated when the job runs, against the session's f). */
export interface ReluParams {
  op: ReluOp;
  lx: number;
  skip: number;
  /** Low bits dropped before the sign test; default f - lx / 2. */
  dropBits?: number;
}

/**
 * Given inputs through the truncation ReLU, `repeat` times, every result
 * revealed to both holders, each call's traffic; P2 reports its own view
 * (what it sees of the masked values) when `helperView` is set.
 */
export interface ReluCheckJob extends ReluParams {
  kind: 'relu-check';
  values: number[];
  /** Fractional bits of `values` (default: the session's f). */
  inputFracBits?: number;
  /** maxpool: [N, C, H, W] and the window (stride = window). */
  shape?: number[];
  window?: number;
  repeat: number;
  helperView: boolean;
}

/** `mpcnet bench relu`: one l_x per job; n seeded random inputs; median online time of `reps`. */
export interface BenchReluJob extends ReluParams {
  kind: 'bench-relu';
  n: number;
  reps: number;
  seed: number;
}

/** Protocol calls in flight together, then one after the other (src/jobs/concurrency-check.ts). */
export interface ConcurrencyCheckJob {
  kind: 'concurrency-check';
  seed: number;
  /** Elements of each elementwise operand (default 3 * 65,536: several exchange chunks). */
  size: number;
  /** Side of the square matrices multiplied by the matmul (default 64). */
  matmulSize: number;
}

export type JobSpec = BenchArithJob | ProtocolCheckJob | ReluCheckJob | BenchReluJob | InferJob | ConcurrencyCheckJob | NonlinearCheckJob | TrainCheckJob | TrainMpcJob;

function reluOp(o: Record<string, unknown>): ReluOp {
  const op = o['op'];
  if (typeof op !== 'string' || !(RELU_OPS as readonly string[]).includes(op)) throw new TypeError(`job: op ${JSON.stringify(op)} is not one of ${RELU_OPS.join(', ')}`);
  return op as ReluOp;
}

function reluParams(o: Record<string, unknown>): ReluParams {
  const p: ReluParams = { op: reluOp(o), lx: int(o, 'lx', 2, 62), skip: int(o, 'skip', 0, 60, 0) };
  if (o['dropBits'] !== undefined) p.dropBits = int(o, 'dropBits', 0, 62);
  return p;
}

function isOp(v: unknown): v is ArithOp {
  return typeof v === 'string' && (ARITH_OPS as readonly string[]).includes(v);
}

function int(o: Record<string, unknown>, name: string, lo: number, hi: number, fallback?: number): number {
  const v = o[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new TypeError(`job: '${name}' must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v;
}

export function parseJob(raw: unknown): JobSpec {
  if (typeof raw !== 'object' || raw === null) throw new TypeError('job: not an object');
  const o = raw as Record<string, unknown>;
  switch (o['kind']) {
    case 'bench-arith': {
      if (!isOp(o['op'])) throw new TypeError(`job: unknown op ${JSON.stringify(o['op'])} (one of ${ARITH_OPS.join(', ')})`);
      return { kind: 'bench-arith', op: o['op'], size: int(o, 'size', 1, 1 << 26), reps: int(o, 'reps', 1, 1000, 3), seed: int(o, 'seed', 0, 2 ** 31, 1) };
    }
    case 'protocol-check': {
      const cases = o['cases'];
      if (!Array.isArray(cases) || cases.length === 0) throw new TypeError('job: protocol-check needs a non-empty cases list');
      return {
        kind: 'protocol-check',
        cases: cases.map((c: unknown, i) => {
          const r = (c ?? {}) as Record<string, unknown>;
          if (!isOp(r['op'])) throw new TypeError(`job: cases[${i}].op ${JSON.stringify(r['op'])} is not an op`);
          return { op: r['op'], size: int(r, 'size', 1, 1 << 24) };
        }),
        seed: int(o, 'seed', 0, 2 ** 31, 1),
        repeat: int(o, 'repeat', 1, 1_000_000, 1),
      };
    }
    case 'relu-check': {
      const values = o['values'];
      if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new TypeError('job: relu-check needs a non-empty list of finite numbers in values');
      }
      const job: ReluCheckJob = { kind: 'relu-check', ...reluParams(o), values: values as number[], repeat: int(o, 'repeat', 1, 100_000, 1), helperView: o['helperView'] === true };
      if (o['inputFracBits'] !== undefined) job.inputFracBits = int(o, 'inputFracBits', 0, 62);
      if (o['shape'] !== undefined) {
        const shape = o['shape'];
        if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 1)) throw new TypeError('job: shape must be a list of positive integers');
        job.shape = shape as number[];
      }
      if (o['window'] !== undefined) job.window = int(o, 'window', 1, 64);
      return job;
    }
    case 'bench-relu':
      return { kind: 'bench-relu', ...reluParams(o), n: int(o, 'n', 1, 1 << 24), reps: int(o, 'reps', 1, 1000, 5), seed: int(o, 'seed', 0, 2 ** 31, 1) };
    case 'concurrency-check':
      return { kind: 'concurrency-check', seed: int(o, 'seed', 0, 2 ** 31, 1), size: int(o, 'size', 1, 1 << 24, 3 << 16), matmulSize: int(o, 'matmulSize', 1, 1024, 64) };
    case 'infer':
      return parseInferJob(o);
    case 'nonlinear-check':
      return parseNonlinearCheckJob(o);
    case 'train-check':
      return parseTrainCheckJob(o);
    case 'train-mpc':
      return parseTrainMpcJob(o);
    default:
      throw new TypeError(`job: unknown kind ${JSON.stringify(o['kind'])}`);
  }
}

function numberList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new TypeError(`job: ${what} must be a non-empty list of numbers`);
  return v as number[];
}

function parseInferJob(o: Record<string, unknown>): InferJob {
  const str = (name: string): string => {
    const v = o[name];
    if (typeof v !== 'string' || v.length === 0) throw new TypeError(`job: '${name}' must be a non-empty string`);
    return v;
  };
  const nl = (o['nonlinearity'] ?? {}) as Record<string, unknown>;
  let nonlinearity: InferJob['nonlinearity'];
  if (nl['kind'] === 'bicoptor') nonlinearity = { kind: 'bicoptor', lx: int(nl, 'lx', 2, 62), skip: int(nl, 'skip', 0, 60, 0) };
  else if (nl['kind'] === 'poly') nonlinearity = { kind: 'poly' };
  else if (nl['kind'] === 'minimax') {
    const bound = nl['bound'];
    if (typeof bound !== 'number' || !(bound > 0) || !Number.isFinite(bound)) throw new TypeError(`job: minimax bound must be a finite number > 0, got ${JSON.stringify(bound)}`);
    nonlinearity = { kind: 'minimax', alpha: int(nl, 'alpha', 4, 14), bound };
  } else throw new TypeError(`job: nonlinearity must be {kind: 'bicoptor', lx, skip}, {kind: 'minimax', alpha, bound} or {kind: 'poly'}, got ${JSON.stringify(o['nonlinearity'])}`);
  const norm = (o['normalization'] ?? {}) as Record<string, unknown>;
  return {
    kind: 'infer',
    model: str('model'),
    dataset: str('dataset'),
    n: int(o, 'n', 1, 1_000_000),
    batch: int(o, 'batch', 1, 4096),
    nonlinearity,
    normalization: { mean: numberList(norm['mean'], 'normalization.mean'), std: numberList(norm['std'], 'normalization.std') },
  };
}

/** Jobs that share holders run, as plain JSON in the session config. */
import { ARITH_OPS, type ArithOp } from './arith-ops.js';

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

export type JobSpec = BenchArithJob | ProtocolCheckJob;

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
    default:
      throw new TypeError(`job: unknown kind ${JSON.stringify(o['kind'])}`);
  }
}

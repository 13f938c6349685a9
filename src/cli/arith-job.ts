/**
 * The `bench-arith` job as command-line options, shared by `mpcnet bench
 * arith` (run it now, locally) and `mpcnet session` (write it into a config
 * for hand-started parties).
 */
import { transportOf, withTransportOption, type TransportArgs } from './transport-option.js';
import type { Argv } from 'yargs';
import { BENCH_OPS, parseJob, type ArithOp, type BenchArithJob } from '../jobs/index.js';
import type { TruncationMode } from '../mpc/context.js';
import type { SessionOptions } from '../mpc/session.js';
import { checkSessionFracBits, DEFAULT_FRAC_BITS, MAX_SESSION_FRAC_BITS } from '../ring/fixed.js';

export interface ArithJobArgs extends TransportArgs {
  parties: number;
  op: ArithOp;
  size: number;
  reps: number;
  trunc: TruncationMode;
  fracBits: number;
  seed: number;
}

/** Adds the job's options; with `defaults`, --op and --size are optional ('unset': optional without a default, the caller checks). */
export function withArithJobOptions<T>(y: Argv<T>, defaults?: { op: ArithOp; size: number } | 'unset'): Argv<T & ArithJobArgs> {
  const given = (value: ArithOp | number): { default: ArithOp | number } | { demandOption: true } | object =>
    defaults === 'unset' ? {} : defaults ? { default: value } : { demandOption: true };
  return withTransportOption(y)
    .option('parties', { type: 'number', choices: [2, 3], default: 2, describe: '2: P0, P1 + dealer; 3: P2 also online helper' })
    .option('op', {
      type: 'string', choices: BENCH_OPS, describe: 'mul/square: N elements; matmul: NxN by NxN; conv2d: [1,16,N,N] * [16,16,3,3], same padding',
      ...given(defaults && defaults !== 'unset' ? defaults.op : 'mul'),
    })
    .option('size', { type: 'number', describe: 'N', ...given(defaults && defaults !== 'unset' ? defaults.size : 0) })
    .option('reps', { type: 'number', default: 3, describe: 'timed repetitions after one warm-up (median reported)' })
    .option('trunc', { type: 'string', choices: ['local', 'dealer'] as const, default: 'local' as const, describe: 'truncation protocol' })
    .option('frac-bits', {
      type: 'number', default: DEFAULT_FRAC_BITS, describe: `fixed-point fractional bits f, 0 to ${MAX_SESSION_FRAC_BITS} (products carry 2f bits)`,
      coerce: (f: number) => checkSessionFracBits(f, '--frac-bits'),
    })
    .option('seed', { type: 'number', default: 1, describe: 'input seed' }) as unknown as Argv<T & ArithJobArgs>;
}

/**
 * The job, checked as the parties will check it (parseJob: size, reps and
 * seed limits), so that a job they would refuse fails here at once, with the
 * same message, also for --emulate and before a config is written.
 */
export function arithJob(args: ArithJobArgs): BenchArithJob {
  return parseJob({ kind: 'bench-arith', op: args.op, size: args.size, reps: args.reps, seed: args.seed }) as BenchArithJob;
}

/** Session settings for the job (mode, fixed point, truncation, job). */
export function arithSession(args: ArithJobArgs): SessionOptions {
  return { mode: args.parties === 3 ? '3pc' : '2pc', transport: transportOf(args), fracBits: args.fracBits, truncation: args.trunc, job: arithJob(args) };
}

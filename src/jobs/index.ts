/** The job runner handed to share-holder processes (and to --emulate). */
import type { Context } from '../mpc/context.js';
import { benchArith } from './bench-arith.js';
import { protocolCheck } from './protocol-check.js';
import { concurrencyCheck } from './concurrency-check.js';
import { benchRelu } from './bench-relu.js';
import { reluCheck } from './relu-check.js';
import { infer } from './infer.js';
import { nonlinearCheck } from './nonlinear-check.js';
import { trainCheck } from './train-check.js';
import { trainMpc } from './train-mpc.js';
import { parseJob } from './types.js';

export async function runJob(ctx: Context, raw: unknown): Promise<unknown> {
  const job = parseJob(raw);
  switch (job.kind) {
    case 'bench-arith':
      return benchArith(ctx, job);
    case 'protocol-check':
      return protocolCheck(ctx, job);
    case 'relu-check':
      return reluCheck(ctx, job);
    case 'bench-relu':
      return benchRelu(ctx, job);
    case 'infer':
      return infer(ctx, job);
    case 'concurrency-check':
      return concurrencyCheck(ctx, job);
    case 'nonlinear-check':
      return nonlinearCheck(ctx, job);
    case 'train-check':
      return trainCheck(ctx, job);
    case 'train-mpc':
      return trainMpc(ctx, job);
  }
}

export * from './types.js';
export { ARITH_OPS, BENCH_OPS, arithCase, type ArithOp } from './arith-ops.js';

/** `mpcnet bench relu` job: placeholder until the benchmark lands. */
import type { Context } from '../mpc/context.js';
import type { BenchReluJob } from './types.js';

export async function benchRelu(_ctx: Context, _job: BenchReluJob): Promise<unknown> {
  throw new Error('bench relu: not implemented yet');
}

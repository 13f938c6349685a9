/**
 * Runs a list of arithmetic ops on seeded random inputs and reveals every
 * result, with the online traffic of each op, so that tests can compare the
 * secure results with plaintext and the traffic with the formulas.
 */
import { reveal } from '../../protocols/sharing.js';
import type { Context } from '../mpc/context.js';
import { snapshot, trafficSince, type TrafficSnapshot } from '../mpc/traffic.js';
import { arithCase } from './arith-ops.js';
import { shareOperands } from './operands.js';
import type { ProtocolCheckJob } from './types.js';

export interface CaseOutput {
  op: string;
  size: number;
  /** Revealed result. */
  output: number[];
  /** Online traffic of the op alone (inputs shared, before reveal). */
  traffic: TrafficSnapshot | null;
}

export async function protocolCheck(ctx: Context, job: ProtocolCheckJob): Promise<CaseOutput[]> {
  const outputs: CaseOutput[] = [];
  const repeat = job.repeat ?? 1;
  for (let r = 0; r < repeat; r++) {
    for (const [i, spec] of job.cases.entries()) {
      const c = arithCase(spec.op, spec.size);
      const operands = shareOperands(ctx, c, job.seed + i);
      const before = ctx.isPlain ? null : snapshot(ctx.mesh);
      const z = await c.run(ctx, operands.shared);
      const traffic = before ? trafficSince(before, snapshot(ctx.mesh)) : null;
      const output = Array.from(await reveal(ctx, z));
      if (r === repeat - 1) outputs.push({ op: spec.op, size: spec.size, output, traffic });
      ctx.progress({ message: `case ${i} (${spec.op}) of round ${r} done`, round: r, case: i });
    }
  }
  return outputs;
}

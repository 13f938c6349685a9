/**
 * The truncation ReLU on given inputs, for tests: every result revealed to
 * both holders with each call's online traffic and rounds; P2 reports its
 * own view of the masked values (zero positions, the sums it sees, d') when
 * asked - its own view, which tests check is uniform and independent of
 * the inputs.
 */
import { drelu, relu, type HelperView } from '../../protocols/drelu.js';
import { maxPool2d } from '../../protocols/maxpool.js';
import { reveal, revealRing, shareInput } from '../../protocols/sharing.js';
import type { Context } from '../mpc/context.js';
import { snapshot, trafficSince } from '../mpc/traffic.js';
import type { ReluCheckJob } from './types.js';

export interface ReluCheckCall {
  /** Revealed outputs: DReLU bits, or decoded values (holders; empty on P2). */
  output: number[];
  bytesSent: number;
  bytesReceived: number;
  rounds: number;
  messagesSent: number;
}

export interface HelperViewSummary {
  /** zeroAt[i]: elements whose zero sat at position i; last entry: elements with no zero. */
  zeroAt: number[];
  /** Histogram of the nonzero sums over [1, p) in `bins` equal bins. */
  sumBins: number[];
  p: number;
  /** d' of every element, in order ('0'/'1'). */
  dPrime: string;
}

export interface ReluCheckOutput {
  calls: ReluCheckCall[];
  view?: HelperViewSummary;
}

const SUM_BINS = 16;

export async function reluCheck(ctx: Context, job: ReluCheckJob): Promise<ReluCheckOutput> {
  const fracBits = job.inputFracBits ?? ctx.fracBits;
  const shape = job.shape ?? [job.values.length];
  let summary: HelperViewSummary | undefined;
  const observe = (v: HelperView): void => {
    const nv = v.sums.length / v.dPrime.length;
    summary ??= { zeroAt: new Array<number>(nv + 1).fill(0), sumBins: new Array<number>(SUM_BINS).fill(0), p: v.p, dPrime: '' };
    const s = summary;
    for (let e = 0; e < v.dPrime.length; e++) {
      s.zeroAt[v.zeroAt[e]! < 0 ? nv : v.zeroAt[e]!]!++;
      for (let i = e * nv; i < (e + 1) * nv; i++) {
        const x = v.sums[i]!;
        if (x !== 0) s.sumBins[Math.floor(((x - 1) * SUM_BINS) / (v.p - 1))]!++;
      }
    }
    s.dPrime += Array.from(v.dPrime).join('');
  };
  const opts = {
    lx: job.lx,
    skip: job.skip,
    ...(job.dropBits !== undefined ? { dropBits: job.dropBits } : {}),
    ...(job.helperView && ctx.isHelper ? { onHelperView: observe } : {}),
  };
  const calls: ReluCheckCall[] = [];
  for (let r = 0; r < job.repeat; r++) {
    const x = shareInput(ctx, 0, ctx.id === 0 || ctx.isPlain ? job.values : null, shape, fracBits);
    const before = ctx.isPlain ? null : snapshot(ctx.mesh);
    let y;
    switch (job.op) {
      case 'drelu':
        y = await drelu(ctx, x, opts);
        break;
      case 'relu':
        y = await relu(ctx, x, opts);
        break;
      case 'maxpool':
        y = await maxPool2d(ctx, x, job.window ?? 2, opts);
        break;
    }
    const t = before ? trafficSince(before, snapshot(ctx.mesh)) : null;
    const output = job.op === 'drelu' ? Array.from(await revealRing(ctx, y), Number) : Array.from(await reveal(ctx, y));
    ctx.progress({ message: `relu-check call ${r} done`, call: r });
    calls.push({ output, bytesSent: t?.bytesSent ?? 0, bytesReceived: t?.bytesReceived ?? 0, rounds: t?.rounds ?? 0, messagesSent: t?.messagesSent ?? 0 });
  }
  return summary ? { calls, view: summary } : { calls };
}

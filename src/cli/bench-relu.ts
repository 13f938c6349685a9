/**
 * `mpcnet bench relu`: the 3-party truncation DReLU / ReLU / max pooling in
 * real party processes, one session per l_x; bytes per element next to the
 * protocol's formula, rounds, throughput, error and peak memory.
 */
import { transportOf, withTransportOption, type TransportArgs } from './transport-option.js';
import { mkdir } from 'node:fs/promises';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { parseIntList } from './int-lists.js';
import { truncSignParams } from '../approx/truncation-sign.js';
import { median } from '../common/stats.js';
import { expectedRounds, maxpoolShape, type BenchReluOutput } from '../jobs/bench-relu.js';
import { parseJob, RELU_OPS, type BenchReluJob, type ReluOp } from '../jobs/index.js';
import { runSession } from '../mpc/launcher.js';
import { checkSessionFracBits, DEFAULT_FRAC_BITS, MAX_SESSION_FRAC_BITS } from '../ring/fixed.js';
import { humanTable, writeReluBenchFiles, type ReluBenchReport, type ReluBenchRow } from '../report/relu-bench.js';
import { machineInfo } from '../report/machine.js';

interface Args extends TransportArgs {
  op: ReluOp;
  lx: string;
  skip: number;
  n: number;
  reps: number;
  fracBits: number;
  seed: number;
  parties: number | undefined;
  json: boolean;
  out: string | undefined;
}

/** The l_x values of --lx: "8", "6..16" (every even value) or a comma list; each is checked later. */
export function parseLxList(text: string): number[] {
  return parseIntList(text, 'lx', 'even');
}

/** Every check the parties would make, done before any process starts; one clear error each. */
export function reluJobs(args: Pick<Args, 'op' | 'lx' | 'skip' | 'n' | 'reps' | 'fracBits' | 'seed' | 'parties'>): BenchReluJob[] {
  if (args.parties !== undefined && args.parties !== 3) {
    throw new RangeError(`--parties ${args.parties}: bench relu runs a 3-party protocol (P2 is an online helper in the truncation ReLU); leave --parties out or give 3`);
  }
  if (!(RELU_OPS as readonly string[]).includes(args.op)) throw new RangeError(`--op must be one of ${RELU_OPS.join(', ')}, got ${args.op}`);
  if (!Number.isInteger(args.n) || args.n < 1) throw new RangeError(`--n must be a positive integer (elements per call), got ${args.n}`);
  if (!Number.isInteger(args.reps) || args.reps < 1) throw new RangeError(`--reps must be a positive integer (timed repetitions after one warm-up), got ${args.reps}`);
  if (!Number.isInteger(args.skip) || args.skip < 0) throw new RangeError(`--skip must be a non-negative integer, got ${args.skip}`);
  checkSessionFracBits(args.fracBits, '--frac-bits');
  if (args.op === 'maxpool') maxpoolShape(args.n);
  return parseLxList(args.lx).map((lx) => {
    try {
      truncSignParams({ lx, skip: args.skip, fracBits: args.fracBits });
    } catch (err) {
      const what = args.skip === 0 ? `--lx ${lx}` : `--lx ${lx} with --skip ${args.skip}`;
      throw new RangeError(`${what}: ${(err as Error).message}`);
    }
    return parseJob({ kind: 'bench-relu', op: args.op, lx, skip: args.skip, n: args.n, reps: args.reps, seed: args.seed }) as BenchReluJob;
  });
}

function row(job: BenchReluJob, outs: BenchReluOutput[]): ReluBenchRow {
  const perRep = outs[0]!.seconds.map((_, i) => Math.max(...outs.map((o) => o.seconds[i]!)));
  const seconds = median(perRep);
  const p0 = outs[0]!;
  return {
    lx: job.lx,
    skip: job.skip,
    n: job.n,
    seconds,
    secondsPerRep: perRep,
    perSecond: job.n / seconds,
    bytesPerElement: outs.map((o) => (o.traffic.bytesSent + o.traffic.bytesReceived) / job.n),
    formulaBytesPerElement: outs.map((o) => (o.expected.bytesSent + o.expected.bytesReceived) / job.n),
    rounds: outs.map((o) => o.traffic.rounds),
    roundsCritical: Math.max(...outs.map((o) => o.traffic.rounds)),
    expectedRounds: expectedRounds(job.op, job.n),
    maxAbsError: p0.maxAbsError!,
    signErrors: p0.signErrors!,
    deterministic: p0.deterministic!,
    peakRssBytes: outs.map((o) => o.peakRssBytes),
    parties: outs.map((o) => ({ id: o.id, ...o.traffic, expectedBytesSent: o.expected.bytesSent, expectedBytesReceived: o.expected.bytesReceived, seconds: o.seconds })),
  };
}

export async function benchReluReport(args: Omit<Args, 'json' | 'out'>, onRow?: (r: ReluBenchRow, i: number, of: number) => void): Promise<ReluBenchReport> {
  const jobs = reluJobs(args);
  const rows: ReluBenchRow[] = [];
  for (const [i, job] of jobs.entries()) {
    const run = await runSession({ mode: '3pc', transport: transportOf(args), fracBits: args.fracBits, job });
    const outs = run.parties.map((p) => p.output as BenchReluOutput);
    const r = row(job, outs);
    rows.push(r);
    onRow?.(r, i, jobs.length);
  }
  return {
    op: args.op,
    fracBits: args.fracBits,
    reps: args.reps,
    seed: args.seed,
    command: ['mpcnet', ...process.argv.slice(2)].join(' '),
    date: new Date().toISOString(),
    machine: machineInfo(),
    rows,
  };
}

function progressLine(op: ReluOp, r: ReluBenchRow, i: number, of: number): string {
  const bytes = r.bytesPerElement.map((b) => b.toFixed(2)).join('/');
  return `bench relu: ${op} lx ${r.lx} (${i + 1}/${of}) n ${r.n}: ${(r.seconds * 1000).toFixed(1)} ms/call, ${Math.round(r.perSecond).toLocaleString('en-US')}/s, `
    + `B/element P0/P1/P2 ${bytes}, rounds ${r.roundsCritical}\n`;
}

export const benchReluCommand: CommandModule<object, Args> = {
  command: 'relu',
  describe: 'Run the 3-party truncation DReLU/ReLU/max pooling (real processes) for each l_x and report bytes, rounds, speed, error and memory',
  builder: (y: Argv) =>
    withTransportOption(y)
      .option('op', { type: 'string', choices: RELU_OPS, default: 'relu' as const, describe: 'drelu, relu, or maxpool (2x2 windows, stride 2)' })
      .option('lx', { type: 'string', demandOption: true, describe: 'bits of the sign test: a value, a range a..b (every even value), or a comma list' })
      .option('skip', { type: 'number', default: 0, describe: 'key bits skipped, s (0 <= s <= lx - 2)' })
      .option('n', { type: 'number', default: 100_000, describe: 'elements per call (maxpool: input elements, a multiple of 4)' })
      .option('reps', { type: 'number', default: 5, describe: 'timed repetitions after one warm-up (median reported)' })
      .option('frac-bits', {
        type: 'number', default: DEFAULT_FRAC_BITS, describe: `fixed-point fractional bits f, 0 to ${MAX_SESSION_FRAC_BITS}`,
        coerce: (f: number) => checkSessionFracBits(f, '--frac-bits'),
      })
      .option('seed', { type: 'number', default: 1, describe: 'input seed' })
      .option('parties', { type: 'number', describe: 'must be 3 (the protocol needs P2 online)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('out', { type: 'string', describe: 'write relu-bench.json, relu-bench.md and relu-bench.svg into this directory' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    reluJobs(argv);
    // Refuse an unusable --out before the runs, not after them.
    if (argv.out !== undefined) await mkdir(argv.out, { recursive: true });
    const report = await benchReluReport(argv, (r, i, of) => process.stderr.write(progressLine(argv.op, r, i, of)));
    if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(humanTable(report));
    if (argv.out !== undefined) {
      const files = await writeReluBenchFiles(report, argv.out);
      process.stderr.write(files.map((f) => `wrote ${f}`).join('\n') + '\n');
    }
  },
};

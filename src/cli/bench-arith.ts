/** `mpcnet bench arith`: one arithmetic op under MPC in real party processes. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { TruncationMode } from '../mpc/context.js';
import { median } from '../common/stats.js';
import { runSession } from '../mpc/launcher.js';
import type { ArithOp } from '../jobs/index.js';
import { arithJob, arithSession, withArithJobOptions, type ArithJobArgs } from './arith-job.js';
import { benchArith, type BenchArithOutput } from '../jobs/bench-arith.js';
import { Context } from '../mpc/context.js';
import { snapshotOf } from '../mpc/traffic.js';
import type { PlanSummary } from '../mpc/offline-plan.js';
import { offlinePlanFigures, offlinePlanFor, type OfflinePlanFigures } from './offline-option.js';

interface Args extends ArithJobArgs {
  emulate: boolean;
  json: boolean;
  /** Folder of an offline plan (mpcnet dealer --plan): no dealer online. */
  offline?: string;
}

export interface BenchArithReport {
  op: ArithOp;
  /** 2 or 3; 1 for --emulate (one-party plaintext context). */
  parties: number;
  size: number;
  fracBits: number;
  truncation: TruncationMode;
  reps: number;
  maxAbsError: number;
  /** Median online seconds (slower holder per repetition). */
  seconds: number;
  /** Median offline seconds: dealer work and transfer for one op. */
  offlineSeconds: number;
  /** seconds + offlineSeconds: the op with the dealer on the critical path. */
  secondsWithDealer: number;
  perParty: { id: number; bytesSent: number; bytesReceived: number; rounds: number; frameBytesSent: number; frameBytesReceived: number; messagesSent: number }[];
  dealer: { bytesSent: number; bytesReceived: number };
  expected: { bytesPerParty: number; rounds: number };
  /** --offline: the plan's offline figures and what P2 served online (nothing). */
  offlinePlan?: OfflinePlanFigures;
}


export async function benchArithReport(args: Omit<Args, 'json'>): Promise<BenchArithReport> {
  const job = arithJob(args);
  if (args.emulate && args.offline !== undefined) throw new Error('--offline runs real parties; it cannot be combined with --emulate');
  if (args.emulate) {
    const out = (await benchArith(Context.plain({ fracBits: args.fracBits, truncation: args.trunc }), job))!;
    const seconds = median(out.onlineSeconds);
    return {
      op: args.op, parties: 1, size: args.size, fracBits: args.fracBits, truncation: args.trunc, reps: args.reps,
      maxAbsError: out.maxAbsError!, seconds, offlineSeconds: 0, secondsWithDealer: seconds,
      perParty: [], dealer: { bytesSent: 0, bytesReceived: 0 }, expected: { bytesPerParty: 0, rounds: 0 },
    };
  }
  let plan: PlanSummary | null = null;
  const session = arithSession(args);
  if (args.offline !== undefined) {
    const found = offlinePlanFor(args.offline, session);
    plan = found.summary;
    session.offlinePlan = found.ref;
  }
  const run = await runSession(session);
  const [p0, p1] = [run.parties[0]!.output as BenchArithOutput, run.parties[1]!.output as BenchArithOutput];
  const online = p0.onlineSeconds.map((s, i) => Math.max(s, p1.onlineSeconds[i]!));
  const offline = p0.offlineSeconds.map((s, i) => Math.max(s, p1.offlineSeconds[i]!));
  const perParty = [p0, p1].map((p) => ({
    id: p.id,
    bytesSent: p.traffic.bytesSent,
    bytesReceived: p.traffic.bytesReceived,
    rounds: p.traffic.rounds,
    frameBytesSent: p.traffic.frameBytesSent,
    frameBytesReceived: p.traffic.frameBytesReceived,
    messagesSent: p.traffic.messagesSent,
  }));
  if (args.parties === 3) {
    // P2 runs no arithmetic online; its figures are whole-session online traffic.
    const s = snapshotOf(run.parties[2]!.stats);
    perParty.push({ id: 2, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived, rounds: s.rounds, frameBytesSent: s.frameBytesSent, frameBytesReceived: s.frameBytesReceived, messagesSent: s.messagesSent });
  }
  const seconds = median(online);
  const offlineSeconds = median(offline);
  return {
    op: args.op,
    parties: args.parties,
    size: args.size,
    fracBits: args.fracBits,
    truncation: args.trunc,
    reps: args.reps,
    maxAbsError: p0.maxAbsError!,
    seconds,
    offlineSeconds,
    secondsWithDealer: seconds + offlineSeconds,
    perParty,
    dealer: { bytesSent: p0.dealerBytesReceived, bytesReceived: p0.dealerBytesSent },
    expected: { bytesPerParty: p0.expected.bytesPerHolder, rounds: p0.expected.rounds },
    ...(plan ? { offlinePlan: offlinePlanFigures(plan, run.parties[2]!.dealer?.correlations ?? 0) } : {}),
  };
}

function printHuman(r: BenchArithReport): void {
  const ms = (s: number): string => `${(s * 1000).toFixed(2)} ms`;
  const lines = [
    `bench arith: ${r.op}, size ${r.size}, ${r.parties === 1 ? "emulated (one-party plaintext context)" : `${r.parties} parties`}, f = ${r.fracBits}, truncation ${r.truncation}`,
    `online ${ms(r.seconds)} (median of ${r.reps}), offline ${ms(r.offlineSeconds)}, with dealer ${ms(r.secondsWithDealer)}`,
    `max |error| vs float64: ${r.maxAbsError.toExponential(3)}`,
    ...r.perParty.map((p) => `P${p.id}: sent ${p.bytesSent} B, received ${p.bytesReceived} B, rounds ${p.rounds}`),
    `expected per holder: ${r.expected.bytesPerParty} B, ${r.expected.rounds} round(s); dealer -> P0 ${r.dealer.bytesSent} B`,
  ];
  if (r.offlinePlan) {
    const p = r.offlinePlan;
    lines.push(
      `offline plan ${p.planId}: generated ahead in ${p.generateSeconds.toFixed(3)} s, files P0 ${p.fileBytes.P0} B, P1 ${p.fileBytes.P1} B (${p.entries} correlations)`,
      `  online: "offline" above is reading the plan files; dealer correlations served online: ${p.dealerCorrelationsServed}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export const benchArithCommand: CommandModule<object, Args> = {
  command: 'arith',
  describe: 'Run one arithmetic op under MPC (real processes) and report time, error and traffic',
  builder: (y: Argv) =>
    withArithJobOptions(y)
      .option('emulate', { type: 'boolean', default: false, describe: 'run in the one-party plaintext context (same code, no parties)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .option('offline', { type: 'string', describe: '2 parties: take the correlations from the offline plan in this folder (mpcnet dealer --plan --out DIR); no dealer online' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const report = await benchArithReport(argv);
    if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else printHuman(report);
  },
};

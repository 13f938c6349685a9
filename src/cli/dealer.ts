/**
 * `mpcnet dealer --plan`: the offline phase of a 2-party arithmetic
 * benchmark job (src/mpc/offline-plan.ts). Writes P0.plan, P1.plan and
 * plan.json into --out; `mpcnet bench arith ... --offline DIR` runs the job
 * online from them with no dealer work.
 */
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { benchArithPlan } from '../jobs/bench-arith.js';
import { generatePlan, generatePlanFromRecord, jobHashOf, planSummaryFile, readPlanSummary, type OfflinePlanRef, type PlanSummary } from '../mpc/offline-plan.js';
import type { SessionOptions } from '../mpc/session.js';
import { DEFAULT_FRAC_BITS } from '../ring/fixed.js';
import { arithSession, withArithJobOptions, type ArithJobArgs } from './arith-job.js';
import type { BenchArithJob } from '../jobs/index.js';

interface Args extends ArithJobArgs {
  plan: boolean;
  out: string;
  json: boolean;
  fromRecord?: string;
}

/** Generate the plan of the `bench arith` job these options describe. */
export function planArithJob(args: ArithJobArgs, out: string): PlanSummary {
  if (args.parties !== 2) throw new Error('offline plans cover 2-party sessions only (--parties 2): in 3pc P2 is online anyway');
  const session = arithSession(args);
  const job = session.job as BenchArithJob;
  const entries = benchArithPlan(job, session.truncation ?? 'local', args.fracBits);
  return generatePlan(path.resolve(out), { mode: session.mode, fracBits: args.fracBits, truncation: session.truncation ?? 'local', job }, entries);
}

/**
 * `--offline DIR` of `bench arith` and `session`: the plan in DIR, refused
 * at once (before any party starts) when it was made for another job or
 * settings; each holder checks its own file again when it starts.
 */
export function offlinePlanFor(dirArg: string, session: SessionOptions): { ref: OfflinePlanRef; summary: PlanSummary } {
  if (session.mode !== '2pc') throw new Error('--offline: offline plans cover 2-party sessions only (--parties 2)');
  const dir = path.resolve(dirArg);
  const summary = readPlanSummary(dir);
  const hash = jobHashOf({ mode: session.mode, fracBits: session.fracBits ?? DEFAULT_FRAC_BITS, truncation: session.truncation ?? 'local', job: session.job });
  if (summary.jobHash !== hash) {
    throw new Error(`--offline: the plan in ${planSummaryFile(dir)} was made for a different job or settings (${summary.job ? JSON.stringify(summary.job.job) : `recorded in ${summary.recordedFrom ?? '?'}`}); run mpcnet dealer --plan with this job's options`);
  }
  return { ref: { dir, planId: summary.planId }, summary };
}

export const dealerCommand: CommandModule<object, Args> = {
  command: 'dealer',
  describe: 'Offline phase: precompute the dealer correlations of a 2-party `bench arith` job into per-holder files',
  builder: (y: Argv) =>
    withArithJobOptions(y, 'unset')
      .option('from-record', { type: 'string', describe: 'instead of an arith job: the request list a recording run wrote (e.g. mpcnet infer --parties 2 --record-plan FILE)' })
      .option('plan', { type: 'boolean', demandOption: true, describe: 'derive the job\'s correlation plan and generate it (the only mode)' })
      .option('out', { type: 'string', demandOption: true, describe: 'folder for P0.plan, P1.plan (secrets of P0 and P1) and plan.json (public)' })
      .option('json', { type: 'boolean', default: false, describe: 'print plan.json' })
      .check((a) => {
        if (a.plan !== true) throw new Error('mpcnet dealer: give --plan (the dealer otherwise runs inside a session)');
        if (a.fromRecord === undefined && (a.op === undefined || a.size === undefined)) throw new Error('mpcnet dealer --plan: give the arith job (--op, --size) or --from-record FILE');
        return true;
      }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const s = argv.fromRecord !== undefined ? generatePlanFromRecord(path.resolve(argv.out), argv.fromRecord) : planArithJob(argv, argv.out);
    if (argv.json) {
      process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      return;
    }
    const dir = path.resolve(argv.out);
    process.stdout.write([
      `offline plan ${s.planId}: ${s.entries} correlations for ${s.recordedFrom ? `the run recorded in ${s.recordedFrom}` : `bench arith ${argv.op} size ${argv.size} (${argv.reps} reps + warm-up)`}, 2 parties`,
      `generated in ${s.seconds.toFixed(3)} s: ${path.join(dir, 'P0.plan')} ${s.bytes.P0} B (c0 ${s.correctionBytes} B), ${path.join(dir, 'P1.plan')} ${s.bytes.P1} B`,
      'P0.plan and P1.plan hold the dealer seeds: give each only to its holder (see README, Offline phase)',
    ].join('\n') + '\n');
  },
};

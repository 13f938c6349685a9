/**
 * `mpcnet dealer --plan`: the offline phase (src/mpc/offline-plan.ts). The
 * plan of a job is derived from the job alone: by formula for a `bench
 * arith` job (--op, --size), by rehearsal for secure inference of a model
 * (--model, --batch, --n; src/mpc/plan-rehearsal.ts: no weights or data
 * read), or from a recording run (--from-record). Writes P0.plan, P1.plan
 * and plan.json into --out; the online run (`bench arith`, `session`,
 * `infer` with --offline DIR) then needs no dealer work.
 */
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { benchArithPlan } from '../jobs/bench-arith.js';
import { runJob, type BenchArithJob } from '../jobs/index.js';
import { generatePlan, generatePlanFromRecord, type PlanJob, type PlanSummary } from '../mpc/offline-plan.js';
import { planByRehearsal } from '../mpc/plan-rehearsal.js';
import { DEFAULT_TRUNCATION } from '../mpc/session.js';
import { arithSession, withArithJobOptions, type ArithJobArgs } from './arith-job.js';
import { resolveInferJob, withInferJobOptions, type InferJobArgs } from './infer.js';

interface Args extends ArithJobArgs, Omit<InferJobArgs, 'model'> {
  plan: boolean;
  out: string;
  json: boolean;
  model?: string;
  fromRecord?: string;
}

/** Generate the plan of the `bench arith` job these options describe. */
export function planArithJob(args: ArithJobArgs, out: string): PlanSummary {
  const session = arithSession(args);
  const job = session.job as BenchArithJob;
  const truncation = session.truncation ?? DEFAULT_TRUNCATION;
  const entries = benchArithPlan(job, truncation, args.fracBits);
  return generatePlan(path.resolve(out), { mode: session.mode, fracBits: args.fracBits, truncation, job }, entries);
}

/**
 * Generate the plan of `mpcnet infer` with these options, from the model's
 * architecture alone: the job is built exactly as infer builds it (so the
 * job hashes agree), then rehearsed on zero inputs to find its requests.
 */
export async function planInferJob(args: InferJobArgs & { parties: number; fracBits: number }, out: string): Promise<PlanSummary> {
  const { job, mode } = await resolveInferJob({ ...args, emulate: false }, false);
  if (mode === 'plain') throw new Error('unreachable: a plan is for 2 or 3 parties');
  const planJob: PlanJob = { mode, fracBits: args.fracBits, truncation: DEFAULT_TRUNCATION, job };
  return planByRehearsal(path.resolve(out), planJob, runJob);
}

function describePlan(s: PlanSummary, argv: Args): string {
  if (s.recordedFrom) return `the run recorded in ${s.recordedFrom}`;
  const parties = `${argv.parties} parties`;
  if (argv.model !== undefined) return `infer ${argv.model}, ${argv.n} images in batches of ${argv.batch}, ${parties} (rehearsed in ${(s.rehearsalSeconds ?? 0).toFixed(2)} s)`;
  return `bench arith ${argv.op} size ${argv.size} (${argv.reps} reps + warm-up), ${parties}`;
}

export const dealerCommand: CommandModule<object, Args> = {
  command: 'dealer',
  describe: 'Offline phase: precompute the dealer correlations of a job (bench arith, or infer of a model) into per-holder files',
  builder: (y: Argv) =>
    withInferJobOptions(withArithJobOptions(y, 'unset'), false)
      .option('from-record', { type: 'string', describe: 'instead of a job: the request list a recording run wrote (mpcnet infer --parties 2 --record-plan FILE)' })
      .option('plan', { type: 'boolean', demandOption: true, describe: 'derive the job\'s correlation plan and generate it (the only mode)' })
      .option('out', { type: 'string', demandOption: true, describe: 'folder for P0.plan, P1.plan (secrets of P0 and P1) and plan.json (public)' })
      .option('json', { type: 'boolean', default: false, describe: 'print plan.json' })
      // The plan does not depend on the transport; the online run chooses it.
      .hide('plain-ws')
      .check((a) => {
        if (a.plan !== true) throw new Error('mpcnet dealer: give --plan (the dealer otherwise runs inside a session)');
        const given = [a.fromRecord !== undefined, a.model !== undefined, a.op !== undefined || a.size !== undefined].filter(Boolean).length;
        if (given !== 1) throw new Error('mpcnet dealer --plan: give exactly one job: an arith job (--op, --size), a model (--model DIR, with the infer options) or --from-record FILE');
        if (a.model === undefined && a.fromRecord === undefined && (a.op === undefined || a.size === undefined)) throw new Error('mpcnet dealer --plan: an arith job needs both --op and --size');
        return true;
      }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const out = path.resolve(argv.out);
    const s = argv.fromRecord !== undefined
      ? generatePlanFromRecord(out, argv.fromRecord)
      : argv.model !== undefined ? await planInferJob({ ...argv, model: argv.model }, out) : planArithJob(argv, out);
    if (argv.json) {
      process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      return;
    }
    process.stdout.write([
      `offline plan ${s.planId}: ${s.entries} correlations for ${describePlan(s, argv)}`,
      `generated in ${s.seconds.toFixed(3)} s: ${path.join(out, 'P0.plan')} ${s.bytes.P0} B (c0 ${s.correctionBytes} B), ${path.join(out, 'P1.plan')} ${s.bytes.P1} B`,
      'P0.plan and P1.plan hold the dealer seeds: give each only to its holder, and use the plan for one run (see README, Offline phase)',
    ].join('\n') + '\n');
  },
};

/** `--offline DIR`: an offline plan (mpcnet dealer --plan) checked against the run's job before any party starts. */
import path from 'node:path';
import { earlierClaim, jobHashOf, planFile, planSummaryFile, readPlanSummary, type OfflinePlanRef, type PlanSummary } from '../mpc/offline-plan.js';
import { DEFAULT_TRUNCATION, type SessionOptions } from '../mpc/session.js';
import { DEFAULT_FRAC_BITS } from '../ring/fixed.js';

/**
 * `--offline DIR` of `bench arith`, `session` and `infer`: the plan in DIR,
 * refused at once (before any party starts) when it was made for another
 * job or settings, or already used by a run; each holder checks its own
 * file again when it starts, and claims it.
 */
export function offlinePlanFor(dirArg: string, session: SessionOptions): { ref: OfflinePlanRef; summary: PlanSummary } {
  const dir = path.resolve(dirArg);
  const summary = readPlanSummary(dir);
  const hash = jobHashOf({ mode: session.mode, fracBits: session.fracBits ?? DEFAULT_FRAC_BITS, truncation: session.truncation ?? DEFAULT_TRUNCATION, job: session.job });
  if (summary.jobHash !== hash) {
    const made = summary.job ? `${summary.job.mode}, ${JSON.stringify(summary.job.job)}` : `recorded in ${summary.recordedFrom ?? '?'}`;
    throw new Error(`--offline: the plan in ${planSummaryFile(dir)} was made for a different job or settings (${made}); run mpcnet dealer --plan with this job's options`);
  }
  // A used plan: one line now, rather than both holders failing at start.
  for (const holder of [0, 1] as const) {
    const used = earlierClaim(planFile(dir, holder));
    if (used) throw new Error(`--offline: ${used.message}`);
  }
  return { ref: { dir, planId: summary.planId }, summary };
}


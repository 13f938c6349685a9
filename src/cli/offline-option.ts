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


/** A run's report of its offline plan: the offline figures (plan.json) and what P2 dealt online (0 when all went well). */
export interface OfflinePlanFigures {
  planId: string;
  entries: number;
  derivedBy: NonNullable<PlanSummary['derivedBy']>;
  /** Derived by rehearsal: its wall seconds. */
  rehearsalSeconds?: number;
  generateSeconds: number;
  fileBytes: { P0: number; P1: number };
  /** P0's corrections in its file: what the dealer would have sent online. */
  correctionBytes: number;
  dealerCorrelationsServed: number;
}

export function offlinePlanFigures(s: PlanSummary, dealerCorrelationsServed: number): OfflinePlanFigures {
  return {
    planId: s.planId, entries: s.entries, derivedBy: s.derivedBy ?? 'formula', ...(s.rehearsalSeconds !== undefined ? { rehearsalSeconds: s.rehearsalSeconds } : {}),
    generateSeconds: s.seconds, fileBytes: s.bytes, correctionBytes: s.correctionBytes, dealerCorrelationsServed,
  };
}

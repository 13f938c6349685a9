/**
 * An offline plan from the job alone (issue 11, item 5): the request
 * sequence of a job is found by rehearsing it, so that `mpcnet dealer
 * --plan --model DIR --batch B` needs no recording run.
 *
 * The rehearsal runs the job program of all three parties in this process,
 * over an in-process loopback mesh, with Context's `rehearsal` flag: no
 * party owns any input, so every shared weight and image is zero and no
 * model weights or data are read (the architecture, from model.json, is
 * public to every party anyway). The holders' dealer clients answer every
 * request at once with zero corrections and note it, so no dealer runs. The
 * requests depend only on shapes and program order, never on values (MPC
 * protocols are oblivious), so the sequence is the real run's. Both
 * holders' sequences are compared: they must agree, or the job's request
 * order is not fixed by its program and no plan can serve it.
 *
 * Cost: the holders' and P2's online computation, on one process (a few
 * seconds for the seed CNN or ResNet-20 on a few images), no dealer work.
 */
import { createLocalMesh } from '../net/local.js';
import { Context, type HolderId } from './context.js';
import { outputSize, type CorrelationSpec } from './correlations.js';
import { DealerClient, DEALER_ID, type OfflineSource } from './dealer-client.js';
import { generatePlan, type PlanEntry, type PlanJob, type PlanSummary } from './offline-plan.js';
import type { HolderProgram } from './runtime.js';
import { agreeSeeds } from './seeds.js';
import { PROCESS_COUNT } from './session.js';

export interface RehearsalResult {
  entries: PlanEntry[];
  /** Wall seconds of the rehearsal. */
  seconds: number;
}

/** A holder's dealer during a rehearsal: notes each request, answers with zeros. */
class RehearsalSource implements OfflineSource {
  readonly entries: PlanEntry[] = [];
  constructor(private readonly holder: HolderId) {}
  next(spec: CorrelationSpec, label: string): BigUint64Array | null {
    this.entries.push({ label, spec });
    return this.holder === 0 ? new BigUint64Array(outputSize(spec)) : null;
  }
  finish(): void {}
}

function entryText(e: PlanEntry | undefined): string {
  return e ? `${e.label} ${JSON.stringify(e.spec)}` : 'nothing';
}

export async function rehearsePlan(job: PlanJob, program: HolderProgram): Promise<RehearsalResult> {
  const t0 = performance.now();
  const local = await createLocalMesh(PROCESS_COUNT);
  try {
    const opts = { fracBits: job.fracBits, truncation: job.truncation, rehearsal: true };
    const sources = [new RehearsalSource(0), new RehearsalSource(1)] as const;
    await Promise.all(local.nodes.map(async (mesh, id) => {
      const seeds = await agreeSeeds(mesh, local.sessionId);
      if (id === DEALER_ID) {
        // 2pc: P2 only deals, and nobody asks it. 3pc: it also helps online.
        if (job.mode === '3pc') await program(Context.helper(job.mode, mesh, seeds, opts), job.job);
        return;
      }
      const holder = id as HolderId;
      const dealer = new DealerClient(mesh, holder, seeds, sources[holder]);
      await program(Context.holder(job.mode, holder, mesh, dealer, seeds, opts), job.job);
    }));
    await Promise.all(local.nodes.map((n) => n.flush()));
    const [p0, p1] = sources.map((s) => s.entries) as [PlanEntry[], PlanEntry[]];
    const n = Math.max(p0.length, p1.length);
    for (let i = 0; i < n; i++) {
      const a = p0[i];
      const b = p1[i];
      if (!a || !b || a.label !== b.label || JSON.stringify(a.spec) !== JSON.stringify(b.spec)) {
        throw new Error(`rehearsal: P0 and P1 ask for different correlations at request ${i} (P0: ${entryText(a)}; P1: ${entryText(b)}); this job's request order is not fixed by its program, so no offline plan can serve it`);
      }
    }
    await local.close();
    return { entries: p0, seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    // The other parties may be waiting on the one that failed: end them all now.
    for (const node of local.nodes) node.abort(`rehearsal failed: ${(err as Error).message}`);
    throw err;
  }
}

/** The offline phase of a job with no formula for its requests: rehearse it, then generate its plan into `dir`. */
export async function planByRehearsal(dir: string, job: PlanJob, program: HolderProgram): Promise<PlanSummary> {
  const rehearsal = await rehearsePlan(job, program);
  return generatePlan(dir, job, rehearsal.entries, rehearsal.seconds);
}

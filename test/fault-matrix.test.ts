/**
 * The fault matrix (src/cli/fault-matrix.ts; bench/fault-matrix.ts prints
 * it): in real 3-party sessions over real sockets, each party kills itself
 * (MPCNET_FAULT, src/mpc/fault-hook.ts) during the handshake, mid-round,
 * between layers and during a checkpoint write, or stops itself (SIGSTOP)
 * mid-round. Every survivor exits on its own, non-zero, within 10 s of a
 * kill (within the 2 s receive timeout plus that of a stop), with an error
 * naming the victim. That a run killed during its checkpoint write resumes
 * to the uninterrupted run's weights is checked in mpc-train-cli.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  faultCaseName, faultCases, faultMatrixTable, faultWorkloads, runFaultCase,
  FAULT_EXIT_LIMIT_S, FAULT_RECV_TIMEOUT_MS, type FaultOutcome, type FaultWorkloads,
} from '../src/cli/fault-matrix.js';
import { parseFaultSpec } from '../src/mpc/fault-hook.js';

// One case: three party processes (the training cases load MNIST and share
// a CNN) then a kill; ~2-5 s on a loaded 2-core machine. Ample room.
const T = 60_000;

const scratch = mkdtempSync(path.join(tmpdir(), 'mpcnet-fault-matrix-'));
let workloads: FaultWorkloads;
const outcomes: FaultOutcome[] = [];

beforeAll(async () => {
  workloads = await faultWorkloads(scratch);
}, T);

afterAll(() => {
  // The table of this run, for the log (the bench writes it to results/).
  if (outcomes.length > 0) console.log(faultMatrixTable(outcomes));
  rmSync(scratch, { recursive: true, force: true });
});

describe('fault matrix', () => {
  it.each(faultCases().map((c) => [faultCaseName(c), c] as const))('%s: the survivors exit non-zero in time, naming it', async (_name, c) => {
    const o = await runFaultCase(c, workloads, scratch);
    outcomes.push(o);
    expect(o.fired, 'the victim reached the fault point').toBe(true);
    expect(o.failed, 'the run ended in an error').toBe(true);
    const limit = c.signal === 'SIGSTOP' ? FAULT_RECV_TIMEOUT_MS / 1000 + FAULT_EXIT_LIMIT_S : FAULT_EXIT_LIMIT_S;
    // Killed: the survivor saw the victim's link drop (or, before the mesh was up, heard it from
    // the launcher). Stopped: a wait timed out on it, its own or another survivor's (reported).
    const named = c.signal === 'SIGSTOP' ? new RegExp(`from P${c.victim}\\b`) : new RegExp(`\\bP${c.victim} (disconnected|is gone)`);
    for (const s of o.survivors) {
      const who = `P${s.id}: ${s.error}`;
      expect(s.signal, `${who} (killed by the launcher's backstop)`).toBeNull();
      expect(s.exitCode, who).toBe(1);
      expect(s.seconds, who).toBeLessThan(limit);
      expect(s.error, who).toMatch(named);
    }
  }, T);
});

describe('fault hook', () => {
  it('parses a spec and refuses a typo rather than test nothing', () => {
    expect(parseFaultSpec('P1:mid-round:20')).toEqual({ party: 1, point: 'mid-round', count: 20, signal: 'SIGKILL' });
    expect(parseFaultSpec('P2:checkpoint-write:SIGSTOP')).toEqual({ party: 2, point: 'checkpoint-write', count: 1, signal: 'SIGSTOP' });
    expect(() => parseFaultSpec('P1:mid-rounds')).toThrow(/point one of handshake, mid-round/);
    expect(() => parseFaultSpec('P1:handshake:0')).toThrow(/MPCNET_FAULT/);
    expect(() => parseFaultSpec('P1:handshake:SIGHUP')).toThrow(/signal one of/);
  });
});

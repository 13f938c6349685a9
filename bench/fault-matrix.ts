/**
 * The fault matrix as a table (src/cli/fault-matrix.ts; the assertions are
 * in test/fault-matrix.test.ts): each party killed at the handshake,
 * mid-round, between layers and during a checkpoint write, and stopped
 * (SIGSTOP) mid-round; per survivor its exit status, the seconds from the
 * fault to its exit and the error it reported.
 *
 *   node dist/bench/fault-matrix.js [--only P1] [--out results/fault-matrix.md]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { faultCaseName, faultCases, faultMatrixTable, faultWorkloads, runFaultCase, FAULT_RECV_TIMEOUT_MS, type FaultOutcome } from '../src/cli/fault-matrix.js';
import { machineInfo } from '../src/report/machine.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const outFile = option('out');
const only = option('only');

const scratch = mkdtempSync(path.join(tmpdir(), 'mpcnet-fault-matrix-'));
try {
  const workloads = await faultWorkloads(scratch);
  const outcomes: FaultOutcome[] = [];
  const t0 = performance.now();
  for (const c of faultCases()) {
    if (only && `P${c.victim}` !== only) continue;
    const o = await runFaultCase(c, workloads, scratch);
    const worst = Math.max(...o.survivors.map((s) => s.seconds));
    process.stderr.write(`${faultCaseName(c)}: ${o.fired ? `survivors out in ${worst.toFixed(2)} s` : 'the fault point was not reached'}\n`);
    outcomes.push(o);
  }
  const m = machineInfo();
  const text = [
    '# Fault matrix',
    '',
    `3-party sessions on one machine (${m.cores} cores, ${m.cpu}, Node ${m.node}; load average ${loadavg()[0]!.toFixed(2)} at the end), ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s in all. The victim signals itself at the point (MPCNET_FAULT, src/mpc/fault-hook.ts); ` +
      `seconds run from that moment to the survivor's exit. Killed parties: the default 120 s receive timeout, so a survivor is quick only by noticing the loss; ` +
      `stopped parties (SIGSTOP): a ${FAULT_RECV_TIMEOUT_MS / 1000} s receive timeout. Workloads: a truncation-ReLU loop (handshake, mid-round, SIGSTOP), ` +
      'two batches of 3PC training of the seed CNN with a checkpoint after each (between layers, checkpoint write).',
    '',
    faultMatrixTable(outcomes),
  ].join('\n');
  process.stdout.write(text);
  if (outFile) {
    writeFileSync(outFile, text);
    process.stderr.write(`wrote ${outFile}\n`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

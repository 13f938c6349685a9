/**
 * Where the time of MPC training goes (issue 10, deliverable 5): runs
 * `mpcnet train --mpc` (the seed CNN, PPoly degree 3 + batch norm, the
 * embedded MNIST) for a few batches in real party processes, per party
 * count, and reports per layer, forward and backward apart, the seconds
 * (last holder in to last holder out: sectionSeconds), P0's bytes sent + received and the critical-path rounds
 * per batch, with each party's totals and peak RSS.
 *
 *   node dist/bench/train-profile.js [--parties 2,3] [--steps 8] [--batch 128] [--trunc dealer|local] [--out DIR]
 *
 * Prints JSON; --out DIR also writes DIR/train-profile.json and
 * DIR/train-profile.md. The first batch is included (no warm-up): the
 * figures are what an epoch's batches cost on average. Each run starts from
 * a fresh temporary directory and leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainMpcReport } from '../src/cli/train-mpc.js';
import { machineInfo } from '../src/report/machine.js';

const argv = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
const partyCounts = (option('parties') ?? '2').split(',').map(Number);
const steps = Number(option('steps') ?? 8);
const batch = Number(option('batch') ?? 128);
const trunc = option('trunc') ?? 'dealer';
const outDir = option('out');
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');

/** Layer sections of the training step, in execution order (names as src/nn/graph.ts and src/nn/train/step.ts profile them). */
const LAYERS = ['conv', 'bn', 'act', 'pool', 'flatten', 'logits'];
const ROWS = [
  ...LAYERS.map((l) => ({ layer: l, pass: 'forward', section: l })),
  { layer: 'loss', pass: 'backward', section: 'loss/backward' },
  ...[...LAYERS].reverse().map((l) => ({ layer: l, pass: 'backward', section: `${l}/backward` })),
  { layer: 'sgd', pass: 'update', section: 'sgd' },
];

interface Row {
  layer: string;
  pass: string;
  secondsPerBatch: number;
  bytesPerBatch: number;
  roundsPerBatch: number;
}

interface RunFigures {
  parties: number;
  steps: number;
  batch: number;
  truncation: string;
  wallSeconds: number;
  secondsPerBatch: number;
  rows: Row[];
  perParty: TrainMpcReport['perParty'];
}

function run(parties: number): RunFigures {
  const dir = mkdtempSync(join(tmpdir(), 'mpcnet-train-profile-'));
  try {
    const args = [cli, 'train', '--mpc', '--parties', String(parties), '--model', 'cnn', '--act', 'ppoly', '--dataset', 'mnist',
      '--epochs', '1', '--batch', String(batch), '--lr', '0.01', '--trunc', trunc, '--stop-after-steps', String(steps), '--out', join(dir, 'model'), '--json'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`train --mpc --parties ${parties} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const report = JSON.parse(r.stdout) as TrainMpcReport;
    const bySection = new Map(report.profile.map((p) => [p.section, p]));
    const rows = ROWS.flatMap(({ layer, pass, section }) => {
      const p = bySection.get(section);
      return p ? [{ layer, pass, secondsPerBatch: p.seconds / steps, bytesPerBatch: p.bytes / steps, roundsPerBatch: p.rounds / steps }] : [];
    });
    const stepSeconds = rows.reduce((s, x) => s + x.secondsPerBatch, 0);
    return { parties, steps, batch, truncation: trunc, wallSeconds: report.seconds, secondsPerBatch: stepSeconds, rows, perParty: report.perParty };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(runs: RunFigures[]): string {
  const lines = [
    `# MPC training profile: seed CNN, PPoly degree 3 + BN, batch ${batch}, ${steps} batches, --trunc ${trunc}`,
    '',
    `\`node dist/bench/train-profile.js --parties ${partyCounts.join(',')} --steps ${steps} --batch ${batch} --trunc ${trunc}\``,
    '',
  ];
  for (const r of runs) {
    lines.push(`## ${r.parties} parties: ${r.secondsPerBatch.toFixed(2)} s per batch (sum of layers), ${(r.secondsPerBatch * Math.ceil(7996 / batch)).toFixed(0)} s per epoch of 7,996 images at this rate`, '');
    lines.push('| layer | pass | s / batch | MB / batch (P0 sent + received) | rounds / batch |', '| --- | --- | --: | --: | --: |');
    for (const x of r.rows) lines.push(`| ${x.layer} | ${x.pass} | ${x.secondsPerBatch.toFixed(3)} | ${(x.bytesPerBatch / 1e6).toFixed(1)} | ${x.roundsPerBatch.toFixed(0)} |`);
    lines.push('', '| party | GB sent / batch | GB received / batch | peak RSS MB |', '| --- | --: | --: | --: |');
    for (const p of r.perParty) lines.push(`| P${p.id} | ${(p.bytesSent / r.steps / 1e9).toFixed(3)} | ${(p.bytesReceived / r.steps / 1e9).toFixed(3)} | ${(p.peakRssBytes / 2 ** 20).toFixed(0)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

const runs = partyCounts.map(run);
const result = { bench: 'train-profile', machine: machineInfo(), runs };
const json = JSON.stringify(result, null, 2);
process.stdout.write(`${json}\n`);
if (outDir) {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'train-profile.json'), `${json}\n`);
  writeFileSync(join(outDir, 'train-profile.md'), `${markdown(runs)}\n`);
}

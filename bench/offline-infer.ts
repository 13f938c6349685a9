/**
 * Offline phase of secure inference, measured (README, "Offline phase"):
 * for each case, the plan derived from the model (rehearsal + generation,
 * offline), then the same inference online with the dealer and online from
 * the plan, in real party processes. Prints JSON; not a test.
 *
 *   node dist/bench/offline-infer.js --model out/demo/cnn-mnist --parties 3 --relu bicoptor --n 256 --batch 64
 *   node dist/bench/offline-infer.js --model out/resnet20-quick --parties 2 --relu minimax --bound 8 --n 8 --batch 4 [--plain-ws]
 *
 * The two online runs alternate (dealer, plan, dealer, plan, ... --reps
 * times; one fresh plan per plan run: a plan serves one run) so that a
 * change in the machine's load hits both alike; medians are reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planInferJob } from '../src/cli/dealer.js';
import { inferReport, type InferReport, type InferRunArgs } from '../src/cli/infer.js';
import { median } from '../src/common/stats.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const args: InferRunArgs = {
  model: flag('model') ?? 'out/demo/cnn-mnist',
  parties: Number(flag('parties') ?? 3),
  relu: (flag('relu') ?? 'bicoptor') as InferRunArgs['relu'],
  lx: Number(flag('lx') ?? 16),
  skip: 0,
  alpha: Number(flag('alpha') ?? 10),
  bound: flag('bound') ?? 'auto',
  n: Number(flag('n') ?? 256),
  batch: Number(flag('batch') ?? 64),
  fracBits: 16,
  emulate: false,
  plainWs: process.argv.includes('--plain-ws'),
};
const reps = Number(flag('reps') ?? 3);

interface Online {
  seconds: number;
  bytesPerImage: number[];
  dealerBytesPerImage: number;
  correct: number;
}

function online(r: InferReport): Online {
  return { seconds: r.seconds, bytesPerImage: r.perParty.map((p) => p.bytesPerImage), dealerBytesPerImage: r.dealerBytesPerImage ?? 0, correct: r.correct };
}

const withDealer: Online[] = [];
const fromPlan: Online[] = [];
const offline: { rehearsalSeconds: number; generateSeconds: number; entries: number; p0Bytes: number; p1Bytes: number }[] = [];
for (let i = 0; i < reps; i++) {
  withDealer.push(online(await inferReport(args, { progress: false })));
  const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-offline-bench-'));
  try {
    const s = await planInferJob(args, dir);
    offline.push({ rehearsalSeconds: s.rehearsalSeconds ?? 0, generateSeconds: s.seconds, entries: s.entries, p0Bytes: s.bytes.P0, p1Bytes: s.bytes.P1 });
    fromPlan.push(online(await inferReport({ ...args, offline: dir }, { progress: false })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const med = (xs: number[]): number => median(xs);
process.stdout.write(JSON.stringify({
  case: { model: args.model, parties: args.parties, relu: args.relu, lx: args.lx, alpha: args.alpha, bound: args.bound, n: args.n, batch: args.batch, transport: args.plainWs ? 'plain ws' : 'tls' },
  reps,
  offline: {
    entries: offline[0]!.entries,
    rehearsalSeconds: med(offline.map((o) => o.rehearsalSeconds)),
    generateSeconds: med(offline.map((o) => o.generateSeconds)),
    p0PlanBytes: offline[0]!.p0Bytes,
    p1PlanBytes: offline[0]!.p1Bytes,
  },
  onlineWithDealer: { secondsMedian: med(withDealer.map((o) => o.seconds)), seconds: withDealer.map((o) => o.seconds), bytesPerImage: withDealer[0]!.bytesPerImage, dealerBytesPerImage: withDealer[0]!.dealerBytesPerImage, correct: withDealer.map((o) => o.correct) },
  onlineFromPlan: { secondsMedian: med(fromPlan.map((o) => o.seconds)), seconds: fromPlan.map((o) => o.seconds), bytesPerImage: fromPlan[0]!.bytesPerImage, dealerBytesPerImage: fromPlan[0]!.dealerBytesPerImage, correct: fromPlan.map((o) => o.correct) },
}, null, 2) + '\n');

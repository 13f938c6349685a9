/**
 * Secure inference benchmark: the seed CNN (MNIST, batch 64) under real
 * 3-party MPC with the truncation ReLU at l_x 16 and 8, and the minimax
 * composite ReLU at alpha 10 (2 parties plus the dealer, CrypTen's setting;
 * --bound auto as `mpcnet infer` calibrates it), next to CrypTen's measured
 * figures for the same network; and ResNet-20 (28x28, batch 16, truncation
 * ReLU l_x 16). Per configuration: time per image (all batches, and the
 * median batch after the first), online bytes per image per party (sent, and
 * sent + received), the dealer's correlated randomness per image (offline
 * phase), rounds, accuracy, and each party's peak RSS.
 *
 * Models: --model DIR (seed CNN) and --resnet DIR, or else trained here for
 * one epoch (ResNet-20 on 3,000 images, batch 32, lr 0.05: ~75% after ~40 s)
 * into out/bench-infer/, and reused
 * from there on later runs. The machine's load average is recorded: on a
 * shared 2-core machine neighbours slow every party.
 *
 *   node dist/bench/infer.js [--model DIR] [--resnet DIR] [--n 128] [--resnet-n 32] [--no-resnet] [--json] [--out FILE]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { inferJob, resolveInferJob } from '../src/cli/infer.js';
import { trainFromArgs } from '../src/cli/train.js';
import { median } from '../src/common/stats.js';
import type { InferJob, InferOutput } from '../src/jobs/infer.js';
import { startRun } from '../src/mpc/launcher.js';
import { MANIFEST_FILE, readManifest } from '../src/plain/manifest.js';
import { MIXUP_ALPHA } from '../src/plain/mixup.js';
import { markdownTable } from '../src/report/markdown.js';
import { machineInfo } from '../src/report/machine.js';

const argv = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
function intOption(name: string, fallback: number): number {
  const v = Number(option(name) ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer, got ${option(name)}`);
  return v;
}
const asJson = argv.includes('--json');
const withResnet = !argv.includes('--no-resnet');
const cnnN = intOption('n', 128);
const resnetN = intOption('resnet-n', 32);
const outFile = option('out');
const log = (line: string): void => void process.stderr.write(`bench infer: ${line}\n`);

/** CrypTen's seed CNN secure inference, measured on this machine when quiet (2 parties, batch 64). */
const CRYPTEN = { msPerImage: 41, mbPerImagePerParty: 11.8, rounds: 11, batch: 64, note: 'CrypTen 2-party seed CNN, batch 64, measured on this machine when it was quiet' } as const;

interface Config {
  name: string;
  model: string;
  relu: string;
  parties: number;
  job: InferJob;
  mode: '2pc' | '3pc' | 'plain';
}

interface BenchRow {
  name: string;
  model: string;
  relu: string;
  parties: number;
  n: number;
  batch: number;
  batches: number;
  accuracy: number;
  /** Online seconds of all batches (slowest party per batch), weights excluded. */
  seconds: number;
  msPerImage: number;
  /** Median over batches after the first (the first includes warm-up); all batches when there is one. */
  msPerImageSteady: number;
  weightSeconds: number;
  /** Whole session: process start to last exit. */
  wallSeconds: number;
  /** Per party (P0, P1, P2), online payload bytes per image (2 parties: P2 only deals, 0 online). */
  sentMbPerImage: number[];
  sentReceivedMbPerImage: number[];
  /** Correlated randomness P2 sent as the dealer (offline phase), per image. */
  dealerMbPerImage: number;
  /** Round-clock advance over all batches per party, and the largest divided by the batch count. */
  rounds: number[];
  roundsPerBatch: number;
  /** Peak resident set per party, MB: the job's own figure where it reports one, else /proc/PID/status VmHWM polled during the run. */
  peakRssMb: (number | null)[];
  peakRssSource: string;
  /** Minimax: the input range B (calibrated as --bound auto does). */
  bound?: number;
}

/** A model trained for the bench (one epoch), reused when a finished one is already there. */
async function ensureModel(name: 'cnn' | 'resnet20', dir: string, t: { limitTrain?: number; batchSize?: number; lr?: number } = {}): Promise<string> {
  if (existsSync(path.join(dir, MANIFEST_FILE))) {
    const m = readManifest(dir);
    const same = m.model.name === name && m.dataset.spec === 'mnist' && m.metrics.epochs.length >= m.training.epochs
      && (t.limitTrain === undefined || m.dataset.trainCount === t.limitTrain) && (t.batchSize === undefined || m.training.batchSize === t.batchSize) && (t.lr === undefined || m.training.lr === t.lr);
    if (same) {
      log(`reusing ${name} in ${dir} (${m.metrics.epochs.length} epoch(s), test accuracy ${(m.metrics.testAccuracy * 100).toFixed(2)}%)`);
      return dir;
    }
  }
  log(`training ${name} for 1 epoch${t.limitTrain ? ` on ${t.limitTrain} images` : ''} into ${dir}`);
  await trainFromArgs({
    model: name, dataset: 'mnist', epochs: 1, lrGamma: 0.1, momentum: 0.9, wd: 0, mixup: false, mixupAlpha: MIXUP_ALPHA,
    act: 'relu', seed: 1, out: dir, resume: false, backend: 'auto', limitTrain: t.limitTrain, batchSize: t.batchSize, lr: t.lr, limitTest: 500, progress: false,
  }, (line) => log(`  ${line}`), false);
  return dir;
}

/** Peak RSS (VmHWM) of a live process in bytes, or undefined (not Linux, or gone). */
function vmHwm(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function run(c: Config): Promise<BenchRow> {
  if (c.mode === 'plain') throw new Error(`${c.name}: not an MPC run`);
  const t0 = performance.now();
  const handle = startRun({ mode: c.mode, job: c.job, timeoutMs: 590_000 });
  const peak: number[] = [0, 0, 0];
  const poll = (): void => handle.children.forEach((ch, i) => { peak[i] = Math.max(peak[i]!, vmHwm(ch.pid) ?? 0); });
  const timer = setInterval(poll, 50);
  let result;
  try {
    result = await handle.done;
  } finally {
    clearInterval(timer);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  // 2 parties: P2 only deals and has no job output.
  const parties = [0, 1, 2].map((id) => result.parties.find((p) => p.id === id)!);
  const outs = parties.map((p) => p.output as (InferOutput & { peakRssBytes?: number }) | null);
  const online = outs.filter((o): o is InferOutput & { peakRssBytes?: number } => o !== null);
  const data = outs[1]!;
  const n = c.job.n;
  const perBatch = data.batchSeconds.map((_, i) => Math.max(...online.map((o) => o.batchSeconds[i] ?? 0)));
  const sizes = perBatch.map((_, i) => Math.min(c.job.batch, n - i * c.job.batch));
  const steady = perBatch.length > 1 ? median(perBatch.slice(1).map((s, i) => s / sizes[i + 1]!)) : perBatch[0]! / sizes[0]!;
  const seconds = perBatch.reduce((s, v) => s + v, 0);
  const own = online.length === 3 && online.every((o) => typeof o.peakRssBytes === 'number');
  const rss = own ? online.map((o) => o.peakRssBytes!) : peak.map((b) => (b > 0 ? b : null));
  const dealerBytes = parties[2]!.stats.peers.reduce((sum, q) => sum + q.dealer.payloadBytesSent, 0);
  return {
    name: c.name, model: c.model, relu: c.relu, parties: c.parties, n, batch: c.job.batch, batches: data.batches,
    accuracy: (data.correct ?? 0) / n,
    seconds, msPerImage: (seconds / n) * 1000, msPerImageSteady: steady * 1000,
    weightSeconds: Math.max(...online.map((o) => o.weightSeconds)), wallSeconds,
    sentMbPerImage: outs.map((o) => (o ? o.bytesSent / n / 1e6 : 0)),
    sentReceivedMbPerImage: outs.map((o) => (o ? (o.bytesSent + o.bytesReceived) / n / 1e6 : 0)),
    dealerMbPerImage: dealerBytes / n / 1e6,
    rounds: outs.map((o) => o?.rounds ?? 0),
    roundsPerBatch: Math.max(...online.map((o) => o.rounds)) / data.batches,
    peakRssMb: rss.map((b) => (b === null ? null : Math.round(b / 1e6))),
    peakRssSource: own ? 'job (process.resourceUsage().maxRSS)' : 'launcher polling /proc/PID/status VmHWM every 50 ms (misses the last 50 ms of each party)',
    ...(c.job.nonlinearity.kind === 'minimax' ? { bound: c.job.nonlinearity.bound } : {}),
  };
}

type InferArgs = Parameters<typeof inferJob>[0];

/**
 * The minimax composite ReLU at alpha 10 on 2 parties (P2 only deals, as
 * CrypTen's TTP), B calibrated as `mpcnet infer --bound auto` does; or why
 * it cannot run.
 */
async function minimaxConfig(base: InferArgs): Promise<{ job: InferJob; mode: Config['mode'] } | string> {
  try {
    const r = await resolveInferJob({ ...base, parties: 2, relu: 'minimax', alpha: 10, bound: 'auto' } as InferArgs);
    return (r.job.nonlinearity.kind as string) === 'minimax' ? r : '`mpcnet infer` has no --relu minimax (the job falls back to another nonlinearity)';
  } catch (err) {
    return `\`mpcnet infer --relu minimax --alpha 10\` refused: ${(err as Error).message}`;
  }
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const cnn = option('model') ?? await ensureModel('cnn', path.join('out', 'bench-infer', 'cnn-mnist'));
  const resnet = withResnet ? option('resnet') ?? await ensureModel('resnet20', path.join('out', 'bench-infer', 'resnet20-mnist'), { limitTrain: 3000, batchSize: 32, lr: 0.05 }) : undefined;
  const base = (model: string, n: number, batch: number, lx: number): InferArgs => ({ model, parties: 3, relu: 'bicoptor', lx, skip: 0, n, batch, fracBits: 16, emulate: false });
  const configs: Config[] = [];
  for (const lx of [16, 8]) configs.push({ name: `cnn bicoptor lx ${lx}`, model: cnn, relu: `bicoptor --lx ${lx}`, parties: 3, ...inferJob(base(cnn, cnnN, 64, lx)) });
  const mm = await minimaxConfig(base(cnn, cnnN, 64, 16));
  if (typeof mm === 'string') log(`minimax skipped: ${mm}`);
  else configs.push({ name: 'cnn minimax alpha 10', model: cnn, relu: 'minimax --alpha 10 --parties 2', parties: 2, ...mm });
  if (resnet) configs.push({ name: 'resnet20 bicoptor lx 16', model: resnet, relu: 'bicoptor --lx 16', parties: 3, ...inferJob(base(resnet, resnetN, 16, 16)) });

  const rows: BenchRow[] = [];
  for (const [i, c] of configs.entries()) {
    log(`${c.name} (${i + 1}/${configs.length}): n ${c.job.n}, batch ${c.job.batch}`);
    const r = await run(c);
    rows.push(r);
    log(`${c.name}: ${r.msPerImage.toFixed(1)} ms/image (steady ${r.msPerImageSteady.toFixed(1)}), MB/image sent ${r.sentMbPerImage.map((b) => b.toFixed(2)).join('/')}, `
      + `rounds/batch ${r.roundsPerBatch.toFixed(1)}, accuracy ${(r.accuracy * 100).toFixed(1)}%, peak RSS MB ${r.peakRssMb.join('/')}`);
  }
  const vsCrypten = rows.filter((r) => r.model === cnn).map((r) => ({
    name: r.name,
    timeRatio: r.msPerImage / CRYPTEN.msPerImage,
    steadyTimeRatio: r.msPerImageSteady / CRYPTEN.msPerImage,
    /** The busiest party's sent + received against CrypTen's per party figure. */
    bytesRatioMaxParty: Math.max(...r.sentReceivedMbPerImage) / CRYPTEN.mbPerImagePerParty,
    roundsRatio: r.roundsPerBatch / CRYPTEN.rounds,
  }));
  const report = {
    date: new Date().toISOString(),
    command: ['node', 'dist/bench/infer.js', ...argv].join(' '),
    machine: { ...machineInfo(), loadavgBefore: load0, loadavgAfter: loadavg() },
    models: { cnn, ...(resnet ? { resnet20: resnet } : {}) },
    crypten: CRYPTEN,
    minimax: typeof mm === 'string' ? { skipped: mm } : { parties: 2, alpha: 10, bound: mm.job.nonlinearity.kind === 'minimax' ? mm.job.nonlinearity.bound : null },
    rows,
    vsCrypten,
  };
  if (outFile) {
    mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
    writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
  }
  if (asJson) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  const f = (xs: (number | null)[], d = 2): string => xs.map((x) => (x === null ? '-' : x.toFixed(d))).join(' / ');
  process.stdout.write(markdownTable(
    ['config', 'parties', 'n', 'batch', 'ms/image', 'steady ms/image', 'MB/image sent P0/P1/P2', 'MB/image sent+recv P0/P1/P2', 'dealer MB/image', 'rounds/batch', 'accuracy', 'peak RSS MB P0/P1/P2'],
    [
      ...rows.map((r) => [r.name, r.parties, r.n, r.batch, r.msPerImage.toFixed(1), r.msPerImageSteady.toFixed(1), f(r.sentMbPerImage), f(r.sentReceivedMbPerImage), r.dealerMbPerImage.toFixed(2),
        r.roundsPerBatch.toFixed(1), `${(r.accuracy * 100).toFixed(1)}%`, f(r.peakRssMb, 0)]),
      ['CrypTen (quiet machine)', 2, '', CRYPTEN.batch, CRYPTEN.msPerImage, '', `${CRYPTEN.mbPerImagePerParty} per party`, '', '', CRYPTEN.rounds, '', ''],
    ],
    ['left', ...new Array<'right'>(11).fill('right')],
  ));
  process.stdout.write(`load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')} (${availableParallelism()} cores)\n`);
}

await main();

/**
 * `mpcnet infer`: secure inference of a saved tfjs model in real party
 * processes (or, with --emulate, the same code in the plaintext context).
 * The model owner P0 shares the weights, the data owner P1 the images; only
 * P1 learns the predictions. Prints accuracy, time, traffic per party and a
 * per-layer table (time, bytes, rounds).
 */
import { transportNote, transportOf, withTransportOption, type TransportArgs } from './transport-option.js';
import cliProgress from 'cli-progress';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFileAtomic, writeJsonAtomic } from '../common/atomic-write.js';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { truncSignParams } from '../approx/truncation-sign.js';
import { infer, type InferJob, type InferOutput } from '../jobs/infer.js';
import { parseJob } from '../jobs/index.js';
import { Context, sectionSeconds, type ProfileEntry } from '../mpc/context.js';
import { runSession, type LaunchOptions } from '../mpc/launcher.js';
import type { PlanSummary } from '../mpc/offline-plan.js';
import { offlinePlanFigures, offlinePlanFor, type OfflinePlanFigures } from './offline-option.js';
import { importModel } from '../nn/import-tfjs.js';
import type { ModelSpec } from '../nn/spec.js';
import { describeNonlinearity, type Nonlinearity } from '../nn/nonlinearity.js';
import { calibrateBound, type Calibration } from '../nn/calibrate.js';
import { SIGN_TABLE } from '../approx/minimax-sign.js';
import { CALIBRATION_IMAGES, loadDataset } from '../data/index.js';
import { MANIFEST_FILE, readManifest } from '../plain/manifest.js';
import { markdownTable } from '../report/markdown.js';
import { checkSessionFracBits, DEFAULT_FRAC_BITS } from '../ring/fixed.js';

const DEFAULT_ALPHA = 10;

/** The inference job's own options (`mpcnet infer`, and `mpcnet dealer --plan --model` for its offline plan). */
export interface InferJobArgs {
  model: string;
  relu: 'bicoptor' | 'minimax' | 'poly';
  lx: number;
  skip: number;
  /** minimax only (default 10). */
  alpha?: number;
  /** minimax only: a number, or 'auto' (default). */
  bound?: string;
  n: number;
  batch: number;
  dataset?: string;
}

interface Args extends TransportArgs, InferJobArgs {
  parties: number;
  fracBits: number;
  emulate: boolean;
  json: boolean;
  out?: string;
  /** 2 parties: P0 writes the run's dealer requests here (for mpcnet dealer --plan --from-record). */
  recordPlan?: string;
  /** Take the correlations from this offline plan folder; no dealer online. */
  offline?: string;
}

/** What inferReport and resolveInferJob take: the command's options less its output flags. */
export type InferRunArgs = Omit<Args, 'json' | 'out'>;

export interface LayerRow {
  layer: string;
  seconds: number;
  /** Sent + received payload bytes per party (P0, P1, P2), all batches. */
  bytes: number[];
  /** Rounds per batch on the critical path (advance of the largest clock over the parties). */
  rounds: number;
}

export interface InferReport {
  model: string;
  dataset: string;
  parties: number | 'emulated';
  nonlinearity: Nonlinearity;
  fracBits: number;
  n: number;
  batch: number;
  accuracy: number;
  correct: number;
  /** Wall seconds of all batches (slowest party), weights excluded; per image. */
  seconds: number;
  secondsPerImage: number;
  weightSeconds: number;
  perParty: { id: number; bytesSent: number; bytesReceived: number; rounds: number; bytesPerImage: number; peakRssBytes: number }[];
  layers: LayerRow[];
  predictionsOnlyAt: string;
  /** Correlated randomness P2 sent as the dealer, per image (the offline phase's bytes, sent online unless --offline). */
  dealerBytesPerImage?: number;
  /** --bound auto: the B found and on which images. */
  calibration?: Calibration;
  /** --offline: the plan's offline figures; P2 served nothing online. */
  offlinePlan?: OfflinePlanFigures;
}

/**
 * The model, its dataset and input normalisation (manifest if present; else
 * pixels scaled to [0, 1]). `weights` false reads the architecture only (the
 * dealer's offline plan); by default the weights are checked up front too.
 */
function modelInputs(a: Pick<Args, 'model' | 'dataset'>, weights = true): { spec: ModelSpec; dataset: string; normalization: { mean: number[]; std: number[] } } {
  if (!existsSync(a.model)) throw new Error(`--model ${a.model}: no such directory`);
  const manifest = existsSync(path.join(a.model, MANIFEST_FILE)) ? readManifest(a.model) : null;
  // The launcher runs beside the model owner here, so the weights are checked
  // up front too: a missing or truncated file fails before any party starts.
  const spec = importModel(a.model, { weights });
  const channels = manifest?.dataset.channels ?? spec.inputShape[0] ?? 1;
  return {
    spec,
    dataset: a.dataset ?? manifest?.dataset.spec ?? 'mnist',
    normalization: manifest?.normalization ?? { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) },
  };
}

/** Every check the parties would make, before any process starts: one clear error each. */
export function inferJob(
  a: Omit<Args, 'json' | 'out'>, calibratedBound?: number, inputs?: ReturnType<typeof modelInputs>,
): { job: InferJob; mode: '2pc' | '3pc' | 'plain'; spec: ModelSpec } {
  checkSessionFracBits(a.fracBits, '--frac-bits');
  const { spec, dataset, normalization } = inputs ?? modelInputs(a);
  let nonlinearity: Nonlinearity;
  if (a.relu === 'bicoptor') {
    if (!a.emulate && a.parties !== 3) throw new Error(`--relu bicoptor is a 3-party protocol (P2 is an online helper): use --parties 3, or --relu minimax / poly with 2 parties`);
    truncSignParams({ lx: a.lx, skip: a.skip, fracBits: a.fracBits });
    nonlinearity = { kind: 'bicoptor', lx: a.lx, skip: a.skip };
  } else if (a.relu === 'minimax') {
    const alpha = a.alpha ?? DEFAULT_ALPHA;
    if (!Number.isInteger(alpha) || SIGN_TABLE[alpha] === undefined) throw new Error(`--alpha must be one of ${Object.keys(SIGN_TABLE).join(', ')}, got ${alpha}`);
    const bound = calibratedBound ?? Number(a.bound ?? 'auto');
    if (!(bound > 0) || !Number.isFinite(bound)) throw new Error(`--bound must be a number > 0 or 'auto', got ${a.bound}`);
    nonlinearity = { kind: 'minimax', alpha, bound };
  } else nonlinearity = { kind: 'poly' };
  const job = parseJob({ kind: 'infer', model: path.resolve(a.model), dataset, n: a.n, batch: a.batch, nonlinearity, normalization }) as InferJob;
  return { job, mode: a.emulate ? 'plain' : a.parties === 3 ? '3pc' : '2pc', spec };
}

/**
 * inferJob, with `--bound auto` settled by calibration; the model is read
 * once. `weights` false: the architecture only, and --bound must be given.
 */
export async function resolveInferJob(a: Omit<Args, 'json' | 'out'>, weights = true): Promise<ReturnType<typeof inferJob> & { calibration?: Calibration }> {
  checkSessionFracBits(a.fracBits, '--frac-bits');
  const inputs = modelInputs(a, weights);
  if (a.relu !== 'minimax' || (a.bound ?? 'auto') !== 'auto') return inferJob(a, undefined, inputs);
  if (!weights) throw new Error('--relu minimax: give --bound B, the value the online run will use (--bound auto calibrates on the model\'s weights, which the offline plan does not read)');
  inferJob(a, 1, inputs); // every other check before the calibration run
  const calibration = await calibrateBound(inputs.spec, loadDataset(inputs.dataset), inputs.normalization, a.fracBits);
  return { ...inferJob(a, calibration.bound, inputs), calibration };
}

function progressBar(total: number): { update(done: number): void; stop(): void } {
  if (!process.stderr.isTTY) {
    return { update: (done) => void process.stderr.write(`infer: batch ${done}/${total}\n`), stop() {} };
  }
  const bar = new cliProgress.SingleBar({ format: 'infer [{bar}] {value}/{total} batches | eta {eta_formatted}', stream: process.stderr, clearOnComplete: true, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

/**
 * Per-layer time and bytes from the parties' profiles, and rounds per batch
 * on the critical path: how far the largest round clock over all parties
 * moves during the layer (a party's own clock may lag: P0 receives nothing
 * in a truncation ReLU, so its next message catches up).
 */
function layerRows(names: string[], profiles: (Record<string, ProfileEntry> | undefined)[], outs: InferOutput[]): LayerRow[] {
  const batches = outs[0]?.clocks.length ?? 0;
  return names.map((layer, i) => {
    const entries = profiles.map((p) => p?.[layer]);
    let rounds = 0;
    for (let b = 0; b < batches; b++) {
      const top = (k: number): number => Math.max(...outs.map((o) => o.clocks[b]?.[k] ?? 0));
      rounds += top(i + 1) - top(i);
    }
    return {
      layer,
      seconds: sectionSeconds(outs.map((o, k) => ({ id: o.id, entry: entries[k] }))),
      bytes: entries.map((e) => (e ? e.bytesSent + e.bytesReceived : 0)),
      rounds: batches > 0 ? rounds / batches : 0,
    };
  });
}

export async function inferReport(a: Omit<Args, 'json' | 'out'>, opts: { progress?: boolean; announce?: (line: string) => void } = {}): Promise<InferReport> {
  const { job, mode, spec, calibration } = await resolveInferJob(a);
  const layers = spec.layers.map((l) => l.name);
  const bar = opts.progress === false ? { update() {}, stop() {} } : progressBar(Math.ceil(job.n / job.batch));
  let outs: InferOutput[];
  let dealerBytes: number | undefined;
  let profiles: (Record<string, ProfileEntry> | undefined)[];
  let plan: PlanSummary | null = null;
  let planServed = 0;
  try {
    if (mode === 'plain') {
      const ctx = Context.plain({ fracBits: a.fracBits, onProgress: (e) => bar.update(Number(e['batch'] ?? 0)) });
      outs = [await infer(ctx, job)];
      profiles = [ctx.profile()];
    } else {
      const session: LaunchOptions = {
        mode, transport: transportOf(a), fracBits: a.fracBits, job,
        onProgress: (id, e) => { if (id === 1) bar.update(Number(e['batch'] ?? 0)); },
      };
      if (a.recordPlan !== undefined && mode !== '2pc') throw new Error('--record-plan is for 2-party runs (--parties 2)');
      if (a.offline !== undefined && a.recordPlan !== undefined) throw new Error('--offline and --record-plan exclude each other');
      if (a.recordPlan !== undefined) session.recordPlan = path.resolve(a.recordPlan);
      if (a.offline !== undefined) {
        const found = offlinePlanFor(a.offline, session);
        plan = found.summary;
        session.offlinePlan = found.ref;
      }
      // After the job is checked: a bad model or flag is the first line of stderr.
      opts.announce?.(transportNote(session.transport ?? 'tls'));
      const run = await runSession(session);
      if (plan) planServed = run.parties[2]?.dealer?.correlations ?? 0;
      // In 2pc P2 only deals correlations and has no job output.
      const online = run.parties.filter((p) => p.output !== null);
      outs = online.map((p) => p.output as InferOutput);
      profiles = online.map((p) => p.profile);
      dealerBytes = run.parties.find((p) => p.id === 2)?.stats.peers.reduce((n, q) => n + q.dealer.payloadBytesSent, 0);
    }
  } finally {
    bar.stop();
  }
  const data = mode === 'plain' ? outs[0]! : outs.find((o) => o.id === 1)!;
  const perBatch = data.batchSeconds.map((_, i) => Math.max(...outs.map((o) => o.batchSeconds[i] ?? 0)));
  const seconds = perBatch.reduce((s, v) => s + v, 0);
  return {
    model: a.model, dataset: job.dataset, parties: mode === 'plain' ? 'emulated' : a.parties, nonlinearity: job.nonlinearity, fracBits: a.fracBits,
    n: job.n, batch: job.batch, accuracy: (data.correct ?? 0) / job.n, correct: data.correct ?? 0,
    seconds, secondsPerImage: seconds / job.n, weightSeconds: Math.max(...outs.map((o) => o.weightSeconds)),
    perParty: outs.map((o) => ({ id: o.id, bytesSent: o.bytesSent, bytesReceived: o.bytesReceived, rounds: o.rounds, bytesPerImage: (o.bytesSent + o.bytesReceived) / job.n, peakRssBytes: o.peakRssBytes })),
    layers: layerRows(layers, profiles, outs),
    predictionsOnlyAt: mode === 'plain' ? 'plaintext context' : 'P1 (data owner)',
    ...(calibration ? { calibration } : {}),
    ...(dealerBytes !== undefined ? { dealerBytesPerImage: dealerBytes / job.n } : {}),
    ...(plan ? { offlinePlan: offlinePlanFigures(plan, planServed) } : {}),
  };
}

const mb = (b: number): string => (b / 1e6).toFixed(2);

export function inferText(r: InferReport): string {
  const head = [
    `infer: ${r.model} on ${r.dataset}, ${r.parties === 'emulated' ? 'emulated (plaintext context)' : `${r.parties} parties`}, ${describeNonlinearity(r.nonlinearity)}, f = ${r.fracBits}`,
    ...(r.calibration ? [`--bound auto: B = ${r.calibration.bound.toPrecision(4)} (largest ReLU input on ${r.calibration.batch})`] : []),
    `accuracy ${(r.accuracy * 100).toFixed(2)}% (${r.correct}/${r.n}), ${r.seconds.toFixed(2)} s (${(r.secondsPerImage * 1000).toFixed(1)} ms/image, batch ${r.batch}), weights shared in ${r.weightSeconds.toFixed(2)} s; predictions only at ${r.predictionsOnlyAt}`,
    ...r.perParty.map((p) => `P${p.id}: sent ${mb(p.bytesSent)} MB, received ${mb(p.bytesReceived)} MB (${mb(p.bytesPerImage)} MB/image), rounds ${p.rounds}, peak RSS ${(p.peakRssBytes / 2 ** 20).toFixed(0)} MiB`),
    ...(r.dealerBytesPerImage !== undefined ? [`P2 as dealer: ${mb(r.dealerBytesPerImage)} MB/image of correlated randomness sent to P0 during the run${r.offlinePlan ? '' : ' (mpcnet dealer --plan moves it ahead of the run)'}`] : []),
    ...(r.offlinePlan ? [`offline plan ${r.offlinePlan.planId} (by ${r.offlinePlan.derivedBy}${r.offlinePlan.rehearsalSeconds !== undefined ? ` in ${r.offlinePlan.rehearsalSeconds.toFixed(2)} s` : ''}): generated ahead in ${r.offlinePlan.generateSeconds.toFixed(2)} s, files P0 ${mb(r.offlinePlan.fileBytes.P0)} MB, P1 ${mb(r.offlinePlan.fileBytes.P1)} MB (${r.offlinePlan.entries} correlations); dealer correlations served online: ${r.offlinePlan.dealerCorrelationsServed}`] : []),
    '',
  ];
  const table = markdownTable(['layer', 'seconds', ...r.perParty.map((p) => `MB P${p.id}`), 'rounds per batch'],
    r.layers.map((l) => [l.layer, l.seconds.toFixed(3), ...l.bytes.slice(0, r.perParty.length).map((b) => mb(b)), l.rounds]));
  return head.join('\n') + '\n' + table;
}

/** Adds the inference job's options; `demandModel` false leaves --model optional (the caller checks). */
export function withInferJobOptions<T>(y: Argv<T>, demandModel: boolean): Argv<T & InferJobArgs> {
  return y
    .option('model', { type: 'string', ...(demandModel ? { demandOption: true } : {}), describe: 'directory with model.json + weights.bin (manifest.json optional)' })
    .option('relu', { type: 'string', choices: ['bicoptor', 'minimax', 'poly'] as const, default: 'bicoptor' as const, describe: 'what replaces ReLU: the 3-party truncation ReLU, the minimax composite polynomial (2 or 3 parties), or the model\'s own polynomials' })
    .option('lx', { type: 'number', default: 16, describe: 'bits of the truncation ReLU\'s sign test (even)' })
    .option('skip', { type: 'number', default: 0, describe: 'key bits skipped by the sign test' })
    .option('alpha', { type: 'number', default: 10, describe: 'minimax: precision 2^-alpha of r_alpha on [-1, 1] (4..14)' })
    .option('bound', { type: 'string', default: 'auto', describe: `minimax: input range B (ReLU becomes B r_alpha(x / B)), or auto: the largest ReLU input on ${CALIBRATION_IMAGES} training images spread over the split` })
    .option('n', { type: 'number', default: 200, describe: 'test images, spread over the split so every class appears' })
    .option('batch', { type: 'number', default: 64, describe: 'images per batch' })
    .option('dataset', { type: 'string', describe: 'mnist, idx:DIR, cifar10:DIR (default: the manifest\'s, else mnist)' }) as unknown as Argv<T & InferJobArgs>;
}

export const inferCommand: CommandModule<object, Args> = {
  command: 'infer',
  describe: 'Secure inference of a saved tfjs model in real party processes',
  builder: (y: Argv) =>
    withInferJobOptions(withTransportOption(y), true)
      .option('parties', { type: 'number', choices: [2, 3], default: 3, describe: '3: P2 online (truncation ReLU); 2: P2 only deals (polynomial models)' })
      .option('frac-bits', { type: 'number', default: DEFAULT_FRAC_BITS, describe: 'fixed-point fractional bits f' })
      .option('emulate', { type: 'boolean', default: false, describe: 'run the same graph in the plaintext context' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('out', { type: 'string', describe: 'also write infer.json and infer.md there' })
      .option('record-plan', { type: 'string', describe: '2 parties: P0 writes every dealer request of this run to FILE, for mpcnet dealer --plan --from-record FILE' })
      .option('offline', { type: 'string', describe: 'take the correlations from the offline plan in this folder (mpcnet dealer --plan --model ...); no dealer work online' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const r = await inferReport(argv, { announce: (line) => void process.stderr.write(`${line}\n`) });
    if (argv.out) {
      mkdirSync(argv.out, { recursive: true });
      writeJsonAtomic(path.join(argv.out, 'infer.json'), r);
      writeFileAtomic(path.join(argv.out, 'infer.md'), inferText(r));
    }
    process.stdout.write(argv.json ? JSON.stringify(r, null, 2) + '\n' : inferText(r));
  },
};

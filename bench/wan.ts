/**
 * WAN benchmark (root only; not run in CI): the three parties in network
 * namespaces mpcnet0..2 (scripts/wan-netns.sh) with added one-way delay and
 * a per-party bandwidth limit. For each network setting it shapes the links
 * (`scripts/wan-netns.sh shape DELAY_MS RATE_MBIT`), probes them (TCP round
 * trip and bulk throughput between mpcnet0 and mpcnet1), then runs, with
 * MPCNET_PARTY_NETNS / MPCNET_PARTY_HOSTS set so that the launcher starts
 * party k in mpcnetK (src/mpc/launcher.ts):
 *   - `mpcnet infer` of the seed CNN with the 3-party truncation ReLU
 *     (--relu bicoptor) at each --lx and with the minimax polynomial ReLU
 *     (--relu minimax, --parties from --minimax-parties), --n images in
 *     batches of --batch: seconds per image, rounds per batch on the
 *     critical path, payload MB every party sent per image, accuracy;
 *   - `mpcnet bench relu --lx ... --n N`: seconds per call of N ReLUs.
 * Bytes on the wire (TCP/IP and TLS headers, the dealer's traffic, the
 * handshake and weight sharing included) are read from the namespaces'
 * interface counters around each command. The parties run under
 * `nice -n 10`; the load average is recorded (a shared machine slows them).
 *
 *   sudo scripts/wan-netns.sh up
 *   sudo node dist/bench/wan.js [--settings lan,20/100,50/50] [--model DIR] [--lx 8,12,16]
 *        [--n 64] [--batch 64] [--minimax-parties 3] [--relu-n 10000] [--relu-reps 3]
 *        [--no-infer] [--no-relu] [--json] [--out results/wan]
 *   sudo scripts/wan-netns.sh down
 *
 * A setting is lan (no shaping: veth pairs on a bridge) or DELAY_MS/RATE_MBIT
 * (one-way delay, so RTT = 2 x DELAY_MS; RATE_MBIT out of each party).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from '../src/report/machine.js';
import { markdownTable, type Align } from '../src/report/markdown.js';

const NETNS = ['mpcnet0', 'mpcnet1', 'mpcnet2'] as const;
const HOSTS = ['10.77.0.1', '10.77.0.2', '10.77.0.3'] as const;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'wan-netns.sh');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const SELF = fileURLToPath(import.meta.url);
const PROBE_PORT = 9_777;
/** Per command; a WAN run of the minimax CNN at 50 Mbit/s takes about a minute. */
const COMMAND_TIMEOUT_MS = 20 * 60_000;

// ---------------------------------------------------------------- link probe

/** `wan.js --probe-server HOST` / `--probe-client HOST MB`: run inside the namespaces by probeLink. */
async function probeMain(args: string[]): Promise<boolean> {
  if (args[0] === '--probe-server') {
    const server = net.createServer((s) => {
      s.setNoDelay(true);
      let want = -1;
      let got = 0;
      s.on('data', (d: Buffer) => {
        if (want < 0 && d[0] === 0x70) return void s.write(d); // 'p': echo
        if (want < 0) {
          want = d.readUInt32BE(1);
          got = d.length - 5;
        } else got += d.length;
        if (got >= want) {
          s.write('k');
          want = -1;
        }
      });
      s.on('end', () => server.close());
    });
    server.listen(PROBE_PORT, args[1], () => process.stdout.write('listening\n'));
    setTimeout(() => process.exit(1), 120_000).unref();
    return true;
  }
  if (args[0] === '--probe-client') {
    const mb = Number(args[2]);
    const s = net.connect(PROBE_PORT, args[1]);
    s.setNoDelay(true);
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    const reply = (): Promise<void> => new Promise((resolve) => s.once('data', () => resolve()));
    const rtts: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      s.write('p');
      await reply();
      rtts.push(performance.now() - t);
    }
    rtts.sort((a, b) => a - b);
    const bytes = Math.round(mb * 1e6);
    const buf = Buffer.alloc(bytes);
    buf[0] = 0x62;
    buf.writeUInt32BE(bytes - 5, 1);
    const t = performance.now();
    s.write(buf);
    await reply();
    const seconds = (performance.now() - t) / 1000;
    process.stdout.write(JSON.stringify({ rttMs: rtts[10], mbit: (bytes * 8) / seconds / 1e6 }) + '\n');
    s.end();
    return true;
  }
  return false;
}

interface Probe {
  rttMs: number;
  mbit: number;
}

/** Median TCP round trip and one-stream throughput from mpcnet0 to mpcnet1. */
async function probeLink(mb: number): Promise<Probe> {
  const server = spawn('ip', ['netns', 'exec', NETNS[1], process.execPath, SELF, '--probe-server', HOSTS[1]], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`link probe server exited with ${code}`)));
    });
    const out = execFileSync('ip', ['netns', 'exec', NETNS[0], process.execPath, SELF, '--probe-client', HOSTS[1], String(mb)], { encoding: 'utf8', timeout: 120_000 });
    return JSON.parse(out) as Probe;
  } finally {
    server.kill();
  }
}

// ---------------------------------------------------------------- options

interface Setting {
  name: string;
  delayMs: number;
  rateMbit: number;
}

function parseSetting(text: string): Setting {
  if (text === 'lan') return { name: 'LAN', delayMs: 0, rateMbit: 0 };
  const m = /^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (!m) throw new Error(`--settings: '${text}' is neither 'lan' nor DELAY_MS/RATE_MBIT (e.g. 20/100)`);
  const delayMs = Number(m[1]);
  const rateMbit = Number(m[2]);
  if (delayMs === 0 && rateMbit === 0) return { name: 'LAN', delayMs: 0, rateMbit: 0 };
  return { name: `${delayMs} ms / ${rateMbit > 0 ? `${rateMbit} Mbit` : 'unlimited'}`, delayMs, rateMbit };
}

interface Options {
  settings: Setting[];
  model: string | undefined;
  lx: number[];
  n: number;
  batch: number;
  minimaxParties: number[];
  reluN: number;
  reluReps: number;
  infer: boolean;
  relu: boolean;
  json: boolean;
  out: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const known = new Set(['settings', 'model', 'lx', 'n', 'batch', 'minimax-parties', 'relu-n', 'relu-reps', 'out']);
  const flags = new Set(['no-infer', 'no-relu', 'json']);
  const values = new Map<string, string>();
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (flags.has(name)) seen.add(name);
    else if (known.has(name) && i + 1 < argv.length) values.set(name, argv[++i]!);
    else throw new Error(`unknown or incomplete option '${a}' (see the comment at the top of bench/wan.ts)`);
  }
  const int = (name: string, fallback: number): number => {
    const v = Number(values.get(name) ?? fallback);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${values.get(name)}`);
    return v;
  };
  const ints = (name: string, fallback: string): number[] => (values.get(name) ?? fallback).split(',').map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a comma list of positive integers, got ${values.get(name)}`);
    return v;
  });
  const minimaxParties = ints('minimax-parties', '3');
  for (const p of minimaxParties) if (p !== 2 && p !== 3) throw new Error(`--minimax-parties: ${p} is neither 2 nor 3`);
  return {
    settings: (values.get('settings') ?? 'lan,20/100,50/50').split(',').map((s) => parseSetting(s.trim())),
    model: values.get('model'),
    lx: ints('lx', '8,12,16'),
    n: int('n', 64),
    batch: int('batch', 64),
    minimaxParties,
    reluN: int('relu-n', 10_000),
    reluReps: int('relu-reps', 3),
    infer: !seen.has('no-infer'),
    relu: !seen.has('no-relu'),
    json: seen.has('json'),
    out: values.get('out'),
  };
}

// ---------------------------------------------------------------- running

const log = (line: string): void => void process.stderr.write(`bench wan: ${line}\n`);

/** Refuse early and clearly: root, the namespaces, a build. */
function checkReady(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('needs root (the parties run in network namespaces via ip netns exec): sudo scripts/wan-netns.sh up, then sudo node dist/bench/wan.js');
  }
  const missing = NETNS.filter((ns) => !existsSync(path.join('/run/netns', ns)));
  if (missing.length > 0) throw new Error(`network namespace(s) ${missing.join(', ')} missing: run scripts/wan-netns.sh up first (and scripts/wan-netns.sh down afterwards)`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
}

/** Shape the links; returns the engine the script used ('netem', 'wire' or 'none'). */
function shape(s: Setting): string {
  const out = execFileSync(SCRIPT, ['shape', String(s.delayMs), String(s.rateMbit)], { encoding: 'utf8' });
  log(out.trim());
  return /\((netem|wire)\)/.exec(out)?.[1] ?? 'none';
}

/** Bytes every party namespace has sent on its links (eth0, and tun0 when scripts/wan-wire.c carries the traffic). */
function wireBytesSent(): number {
  let total = 0;
  for (const ns of NETNS) {
    const links = JSON.parse(execFileSync('ip', ['-n', ns, '-j', '-s', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string; stats64?: { tx?: { bytes?: number } } }[];
    for (const l of links) if (l.ifname !== 'lo') total += l.stats64?.tx?.bytes ?? 0;
  }
  return total;
}

interface Ran {
  stdout: string;
  wallSeconds: number;
  wireBytes: number;
  load: number;
}

/** One mpcnet command across the namespaces, niced, its stdout kept (JSON); a failure shows its stderr. */
function runCli(args: string[]): Promise<Ran> {
  const before = wireBytesSent();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '10', process.execPath, CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MPCNET_PARTY_NETNS: NETNS.join(','), MPCNET_PARTY_HOSTS: HOSTS.join(',') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGINT'), COMMAND_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`mpcnet ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderr.trim()}`));
      resolve({ stdout, wallSeconds: (performance.now() - t0) / 1000, wireBytes: wireBytesSent() - before, load: loadavg()[0]! });
    });
  });
}

export interface WanRow {
  setting: string;
  delayMs: number;
  rateMbit: number;
  kind: 'infer' | 'relu';
  method: string;
  parties: number;
  /** Seconds per image (infer: all batches over n, weight sharing excluded) or per call of reluN ReLUs (median). */
  seconds: number;
  unit: 'image' | 'call';
  /** Rounds on the critical path: per batch (infer) or per call (relu). */
  rounds: number;
  /** Payload bytes all parties sent, per image or per call (the dealer's correlations in 3-party minimax are not in the parties' counts: see wireMB). */
  payloadMB: number;
  /** Bytes all party namespaces sent for the whole command (headers, TLS, handshake, weights, dealer included). */
  wireMB: number;
  accuracy?: number;
  wallSeconds: number;
  load: number;
}

interface InferJson {
  secondsPerImage: number;
  accuracy: number;
  n: number;
  perParty: { bytesSent: number }[];
  layers: { rounds: number }[];
}

interface ReluJson {
  rows: { lx: number; n: number; seconds: number; roundsCritical: number; parties: { bytesSent: number }[] }[];
}

async function runSetting(s: Setting, o: Options, model: string): Promise<WanRow[]> {
  const rows: WanRow[] = [];
  const base = { setting: s.name, delayMs: s.delayMs, rateMbit: s.rateMbit };
  if (o.infer) {
    const methods: { method: string; parties: number; args: string[] }[] = [
      ...o.lx.map((lx) => ({ method: `truncation ReLU l_x ${lx}`, parties: 3, args: ['--relu', 'bicoptor', '--lx', String(lx), '--parties', '3'] })),
      ...o.minimaxParties.map((p) => ({ method: 'minimax ReLU alpha 10', parties: p, args: ['--relu', 'minimax', '--parties', String(p)] })),
    ];
    for (const m of methods) {
      const r = await runCli(['infer', '--model', model, '--n', String(o.n), '--batch', String(o.batch), '--json', ...m.args]);
      const j = JSON.parse(r.stdout) as InferJson;
      const row: WanRow = {
        ...base, kind: 'infer', method: m.method, parties: m.parties, seconds: j.secondsPerImage, unit: 'image',
        rounds: j.layers.reduce((t, l) => t + l.rounds, 0),
        payloadMB: j.perParty.reduce((t, p) => t + p.bytesSent, 0) / j.n / 1e6,
        wireMB: r.wireBytes / 1e6, accuracy: j.accuracy, wallSeconds: r.wallSeconds, load: r.load,
      };
      log(`${s.name}: infer ${m.method} (${m.parties} parties): ${(row.seconds * 1000).toFixed(1)} ms/image, ${row.rounds} rounds/batch, wall ${r.wallSeconds.toFixed(1)} s`);
      rows.push(row);
    }
  }
  if (o.relu) {
    const r = await runCli(['bench', 'relu', '--lx', o.lx.join(','), '--n', String(o.reluN), '--reps', String(o.reluReps), '--json']);
    const j = JSON.parse(r.stdout) as ReluJson;
    for (const x of j.rows) {
      const row: WanRow = {
        ...base, kind: 'relu', method: `truncation ReLU l_x ${x.lx}`, parties: 3, seconds: x.seconds, unit: 'call',
        rounds: x.roundsCritical, payloadMB: x.parties.reduce((t, p) => t + p.bytesSent, 0) / 1e6,
        // One session for all l_x: its wire bytes are shared out by payload.
        wireMB: 0, wallSeconds: r.wallSeconds, load: r.load,
      };
      rows.push(row);
    }
    const payload = rows.filter((x) => x.kind === 'relu' && x.setting === s.name).reduce((t, x) => t + x.payloadMB, 0);
    for (const x of rows) if (x.kind === 'relu' && x.setting === s.name) x.wireMB = payload > 0 ? (r.wireBytes / 1e6) * (x.payloadMB / payload) : 0;
    log(`${s.name}: bench relu n ${o.reluN}: ${j.rows.map((x) => `l_x ${x.lx} ${(x.seconds * 1000).toFixed(1)} ms`).join(', ')}; wall ${r.wallSeconds.toFixed(1)} s`);
  }
  return rows;
}

/** The seed CNN: --model, else the demo's, else one trained here for one epoch (~10 s). */
async function seedModel(given: string | undefined): Promise<string> {
  if (given !== undefined) {
    if (!existsSync(path.join(given, 'model.json'))) throw new Error(`--model ${given}: no model.json there`);
    return given;
  }
  for (const dir of ['out/demo/cnn-mnist', 'out/wan-cnn']) if (existsSync(path.join(ROOT, dir, 'model.json'))) return path.join(ROOT, dir);
  const dir = path.join(ROOT, 'out', 'wan-cnn');
  log(`no seed CNN found: training one (1 epoch) into ${dir}`);
  execFileSync('nice', ['-n', '10', process.execPath, CLI, 'train', '--model', 'cnn', '--dataset', 'mnist', '--epochs', '1', '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

// ---------------------------------------------------------------- report

interface WanReport {
  date: string;
  command: string;
  machine: ReturnType<typeof machineInfo>;
  model: string;
  n: number;
  batch: number;
  reluN: number;
  settings: (Setting & { engine: string; probe: Probe })[];
  rows: WanRow[];
}

const f2 = (x: number): string => x.toFixed(2);
const secs = (x: number): string => (x >= 1 ? x.toFixed(2) : x >= 0.01 ? x.toFixed(3) : x.toFixed(4));

function markdown(r: WanReport): string {
  const names = r.settings.map((s) => s.name);
  const out: string[] = [
    '# WAN benchmark',
    '',
    `${r.date.slice(0, 10)}, ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}; \`${r.command}\`. ` +
      `Parties in network namespaces mpcnet0..2 (scripts/wan-netns.sh); a setting D ms / R Mbit delays every packet D ms one way (RTT 2D) and sends at most R Mbit/s out of each party; LAN: veth pairs, no shaping. ` +
      'TLS 1.3 between all parties. Parties under nice -n 10; load average (1 min) after each command in the detail table.',
    '',
    markdownTable(['setting', 'engine', 'probe RTT ms', 'probe Mbit/s (one TCP stream)'],
      r.settings.map((s) => [s.name, s.engine, f2(s.probe.rttMs), s.probe.mbit.toFixed(1)]), ['left', 'left', 'right', 'right']),
  ];
  const pivot = (kind: 'infer' | 'relu'): string => {
    const rows = r.rows.filter((x) => x.kind === kind);
    const keys = [...new Set(rows.map((x) => `${x.method}|${x.parties}`))];
    return markdownTable(
      ['method', 'parties', 'rounds', 'payload MB sent', ...names.map((n) => `${n}: s/${kind === 'infer' ? 'image' : 'call'}`)],
      keys.map((k) => {
        const first = rows.find((x) => `${x.method}|${x.parties}` === k)!;
        return [first.method, first.parties, first.rounds, f2(first.payloadMB),
          ...names.map((n) => { const x = rows.find((y) => `${y.method}|${y.parties}` === k && y.setting === n); return x ? secs(x.seconds) : '-'; })];
      }), ['left', 'right', 'right', 'right', ...names.map((): Align => 'right')]);
  };
  if (r.rows.some((x) => x.kind === 'infer')) {
    out.push('', `## Seed CNN inference: seconds per image (${r.n} images, batch ${r.batch}; rounds per batch on the critical path; payload MB all parties sent per image)`, '', pivot('infer'));
  }
  if (r.rows.some((x) => x.kind === 'relu')) {
    out.push('', `## 3-party truncation ReLU alone (mpcnet bench relu): seconds per call of ${r.reluN.toLocaleString('en-US')} ReLUs (median; payload MB per call)`, '', pivot('relu'));
  }
  out.push('', '## Every run', '', markdownTable(
    ['setting', 'kind', 'method', 'parties', 'seconds', 'per', 'rounds', 'payload MB', 'wire MB (command)', 'accuracy', 'wall s', 'load'],
    r.rows.map((x) => [x.setting, x.kind, x.method, x.parties, secs(x.seconds), x.unit, x.rounds, f2(x.payloadMB), f2(x.wireMB),
      x.accuracy === undefined ? '' : `${(x.accuracy * 100).toFixed(1)}%`, x.wallSeconds.toFixed(1), x.load.toFixed(2)]),
    ['left', 'left', 'left', 'right', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'right']));
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (await probeMain(args)) return;
  const o = parseOptions(args);
  checkReady();
  const model = await seedModel(o.model);
  if (o.out !== undefined) mkdirSync(o.out, { recursive: true });
  const report: WanReport = {
    date: new Date().toISOString(), command: ['node', 'dist/bench/wan.js', ...args].join(' '), machine: machineInfo(),
    model: path.relative(ROOT, model) || model, n: o.n, batch: o.batch, reluN: o.reluN, settings: [], rows: [],
  };
  try {
    for (const s of o.settings) {
      const engine = shape(s);
      const probe = await probeLink(s.rateMbit > 0 && s.rateMbit < 200 ? 10 : 50);
      log(`${s.name}: probe RTT ${probe.rttMs.toFixed(2)} ms, ${probe.mbit.toFixed(1)} Mbit/s`);
      report.settings.push({ ...s, engine, probe });
      report.rows.push(...await runSetting(s, o, model));
    }
  } finally {
    // Leave the namespaces unshaped (they stay up: scripts/wan-netns.sh down removes them).
    try {
      execFileSync(SCRIPT, ['shape', '0', '0'], { stdio: 'ignore' });
    } catch {
      log('could not remove the shaping: run scripts/wan-netns.sh shape 0 0');
    }
  }
  const text = markdown(report);
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : text);
  if (o.out !== undefined) {
    writeFileSync(path.join(o.out, 'wan.md'), text);
    writeFileSync(path.join(o.out, 'wan.json'), JSON.stringify(report, null, 2) + '\n');
    log(`wrote ${path.join(o.out, 'wan.md')} and wan.json`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench wan: ${(err as Error).message}\n`);
  process.exit(1);
});

/**
 * Offline phase (issue 11, item 5; src/mpc/offline-plan.ts): `mpcnet dealer
 * --plan` writes the holders' files, `mpcnet bench arith --offline DIR`
 * runs the job in real party processes with no dealer work online, and a
 * plan that does not match the run is refused naming the file (and entry).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/mpc/launcher.js';
import { claimFile, generatePlan, generatePlanFromRecord, jobHashOf, planFile, PlanReader, type PlanJob } from '../src/mpc/offline-plan.js';
import { runSession } from '../src/mpc/launcher.js';
import type { InferJob, InferOutput } from '../src/jobs/infer.js';
import { selectBackend } from '../src/plain/backend.js';
import { saveModel } from '../src/plain/model-io.js';
import { buildModel } from '../src/plain/models/index.js';
import { randomize } from './helpers/random-weights.js';
import type { CorrelationSpec } from '../src/mpc/correlations.js';

const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
/** Per process: each run below takes a few seconds at most on an idle machine. */
const SPAWN_TIMEOUT = 40_000;
/** Per test: a few sessions of three processes on a busy 2-core machine. */
const CLI_TIMEOUT = 60_000;

function mpcnet(args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: SPAWN_TIMEOUT });
  if (r.error) throw new Error(`mpcnet ${args.join(' ')}: ${r.error.message}\n${r.stderr ?? ''}`);
  return r;
}

interface Report {
  maxAbsError: number;
  dealer: { bytesSent: number; bytesReceived: number };
  perParty: { bytesSent: number }[];
  offlinePlan?: { entries: number; dealerCorrelationsServed: number; fileBytes: { P0: number; P1: number }; correctionBytes: number };
}

function bench(job: string[], extra: string[] = []): Report {
  const r = mpcnet(['bench', 'arith', ...job, '--plain-ws', '--json', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

function plan(job: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-'));
  const r = mpcnet(['dealer', '--plan', ...job, '--out', dir]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return dir;
}

const MUL = ['--op', 'mul', '--size', '20000', '--reps', '1'];
const MATMUL = ['--op', 'matmul', '--size', '48', '--reps', '1', '--trunc', 'dealer'];

describe('offline plan: real parties', () => {
  it.each([['mul', MUL], ['matmul', MATMUL]])('%s: offline + online equals the online-dealer run and asks the dealer nothing', (_, job) => {
    const online = bench(job);
    const dir = plan(job);
    const offline = bench(job, ['--offline', dir]);
    // Same tolerance as the online-dealer run (both against float64), and the same online traffic.
    expect(offline.maxAbsError).toBeLessThan(1e-3);
    expect(Math.abs(offline.maxAbsError - online.maxAbsError)).toBeLessThan(1e-3);
    expect(offline.perParty.map((p) => p.bytesSent)).toEqual(online.perParty.map((p) => p.bytesSent));
    expect(online.dealer.bytesSent).toBeGreaterThan(0);
    expect(offline.dealer).toEqual({ bytesSent: 0, bytesReceived: 0 });
    expect(offline.offlinePlan!.dealerCorrelationsServed).toBe(0);
    expect(offline.offlinePlan!.fileBytes.P0).toBe(statSync(path.join(dir, 'P0.plan')).size);
    expect(offline.offlinePlan!.correctionBytes).toBe(2 * online.dealer.bytesSent); // warm-up + 1 rep
  }, CLI_TIMEOUT);

  it('refuses a plan from a different job, or another plan\'s file, naming the file', () => {
    const dir = plan(MUL);
    const other = mpcnet(['bench', 'arith', '--op', 'mul', '--size', '20001', '--reps', '1', '--plain-ws', '--offline', dir]);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain(`the plan in ${path.join(dir, 'plan.json')} was made for a different job`);

    // Another plan's P0 file under this plan's summary: P0 refuses it.
    const second = plan(MUL);
    const mixed = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-'));
    for (const f of ['plan.json', 'P1.plan']) copyFileSync(path.join(dir, f), path.join(mixed, f));
    copyFileSync(path.join(second, 'P0.plan'), path.join(mixed, 'P0.plan'));
    const r1 = mpcnet(['bench', 'arith', ...MUL, '--plain-ws', '--offline', mixed]);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toMatch(new RegExp(`offline plan file ${path.join(mixed, 'P0.plan')}: belongs to plan`));
  }, CLI_TIMEOUT);

  it('refuses a truncated or corrupted file, naming the file and the entry', () => {
    const dir = plan(MUL);
    const truncated = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-'));
    for (const f of ['plan.json', 'P0.plan', 'P1.plan']) copyFileSync(path.join(dir, f), path.join(truncated, f));
    truncateSync(path.join(truncated, 'P0.plan'), statSync(path.join(truncated, 'P0.plan')).size - 100);
    const r2 = mpcnet(['bench', 'arith', ...MUL, '--plain-ws', '--offline', truncated]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain(`offline plan file ${path.join(truncated, 'P0.plan')}, entry 1: truncated`);

    const corrupted = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-'));
    for (const f of ['plan.json', 'P0.plan', 'P1.plan']) copyFileSync(path.join(dir, f), path.join(corrupted, f));
    const bytes = readFileSync(path.join(corrupted, 'P0.plan'));
    bytes[bytes.length - 8] ^= 1;
    writeFileSync(path.join(corrupted, 'P0.plan'), bytes);
    const r3 = mpcnet(['bench', 'arith', ...MUL, '--plain-ws', '--offline', corrupted]);
    expect(r3.status).toBe(1);
    expect(r3.stderr).toContain(`offline plan file ${path.join(corrupted, 'P0.plan')}, entry 1: corrupted (data hash differs)`);
  }, CLI_TIMEOUT);
});

describe('offline plan: reader checks (in process)', () => {
  const job: PlanJob = { mode: '2pc', fracBits: 16, truncation: 'local', job: { kind: 'test' } };
  const a: CorrelationSpec = { kind: 'mul', n: 10 };
  const b: CorrelationSpec = { kind: 'square', n: 4 };

  it('refuses a request out of order, an extra one, a missing one, and another job', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-'));
    const s = generatePlan(dir, job, [{ label: 'x', spec: a }, { label: 'y', spec: b }]);
    const expect0 = { planId: s.planId, jobHash: jobHashOf(job) };
    const file = planFile(dir, 0);

    const order = new PlanReader(file, 0, expect0);
    expect(() => order.next(b, 'y')).toThrow(`offline plan file ${file}, entry 0: the run's request (label "y", spec {"kind":"square","n":4}) does not match the plan (label "x", spec {"kind":"mul","n":10})`);
    // The first reader claimed the file: a second run is refused (a plan serves one run).
    expect(() => new PlanReader(file, 0, expect0)).toThrow(/^offline plan file .*P0\.plan: already used by an earlier run \(claimed at .* by process \d+\)/);
    rmSync(claimFile(file)); // below: each reader as if on a fresh copy of the plan

    const extra = new PlanReader(file, 0, expect0);
    expect(extra.next(a, 'x')!.length).toBe(10);
    expect(extra.next(b, 'y')!.length).toBe(4);
    expect(() => extra.next(a, 'z')).toThrow(`offline plan file ${file}, entry 2: the run asks for more correlations than the plan's 2`);
    rmSync(claimFile(file));

    const missing = new PlanReader(planFile(dir, 1), 1, expect0);
    expect(missing.next(a, 'x')).toBeNull();
    expect(() => missing.finish()).toThrow(`offline plan file ${planFile(dir, 1)}: the run used 1 of the plan's 2 correlations`);

    expect(() => new PlanReader(file, 0, { ...expect0, jobHash: jobHashOf({ ...job, fracBits: 12 }) })).toThrow(`offline plan file ${file}: was made for a different job`);
    expect(() => new PlanReader(file, 1, expect0)).toThrow(`offline plan file ${file}: made for P0, but this is P1`);
    expect(() => new PlanReader(path.join(dir, 'nope.plan'), 0, expect0)).toThrow(`offline plan file ${path.join(dir, 'nope.plan')}: cannot open it`);
  });
});

describe('offline plan: secure inference from a recorded run (2 parties)', () => {
  it('reproduces the online-dealer run with P2 asked nothing; another job is refused naming the file', async () => {
    await selectBackend('cpu');
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-infer-'));
    const model = path.join(dir, 'model');
    const m = buildModel({ name: 'cnn', activation: { kind: 'ppoly', coefficients: [0.1, 0.5, 0.2], perChannel: true }, seed: 4, inputShape: [28, 28, 1], numClasses: 10 });
    randomize(m, 13);
    await saveModel(m, model);
    const job: InferJob = { kind: 'infer', model, dataset: 'mnist', n: 8, batch: 4, nonlinearity: { kind: 'poly' }, normalization: { mean: [0], std: [1] } };
    const record = path.join(dir, 'requests.jsonl');
    const online = await runSession({ mode: '2pc', transport: 'plain', job, recordPlan: record });
    const planDir = path.join(dir, 'plan');
    const s = generatePlanFromRecord(planDir, record);
    expect(s.entries).toBeGreaterThan(4);
    const offline = await runSession({ mode: '2pc', transport: 'plain', job, offlinePlan: { dir: planDir, planId: s.planId } });
    const logits = (r: typeof online): number[] => (r.parties.find((p) => p.id === 1)!.output as InferOutput).firstLogits!;
    const scale = Math.max(...logits(online).map(Math.abs));
    const diff = Math.max(...logits(offline).map((v, i) => Math.abs(v - logits(online)[i]!)));
    expect(diff / scale).toBeLessThan(1e-3);
    expect((offline.parties[1]!.output as InferOutput).predictions).toEqual((online.parties[1]!.output as InferOutput).predictions);
    const dealerSent = (r: typeof online): number => r.parties[2]!.stats.peers.reduce((n, q) => n + q.dealer.payloadBytesSent, 0);
    expect(online.parties[2]!.dealer!.correlations).toBe(s.entries);
    expect(offline.parties[2]!.dealer!.correlations).toBe(0);
    expect(dealerSent(online)).toBeGreaterThan(s.correctionBytes);
    expect(dealerSent(offline)).toBeLessThan(200); // the X25519 key exchange only

    const other = runSession({ mode: '2pc', transport: 'plain', job: { ...job, n: 4 }, offlinePlan: { dir: planDir, planId: s.planId } });
    await expect(other).rejects.toThrow(`offline plan file ${planFile(planDir, 0)}: was made for a different job`);
  }, CLI_TIMEOUT);
});

interface InferJsonReport {
  correct: number;
  perParty: { id: number; bytesSent: number; bytesReceived: number; rounds: number }[];
  dealerBytesPerImage?: number;
  offlinePlan?: { entries: number; dealerCorrelationsServed: number; fileBytes: { P0: number; P1: number } };
}

describe('offline plan: derived from the model alone (rehearsal), 2 and 3 parties', () => {
  // A small CNN with random weights: its own polynomial activations (2 parties) or the 3-party truncation ReLU.
  async function smallModel(dir: string, activation: 'ppoly' | 'relu'): Promise<string> {
    await selectBackend('cpu');
    const model = path.join(dir, `model-${activation}`);
    const act = activation === 'ppoly' ? { kind: 'ppoly' as const, coefficients: [0.1, 0.5, 0.2], perChannel: true } : { kind: 'relu' as const };
    const m = buildModel({ name: 'cnn', activation: act, seed: 5, inputShape: [28, 28, 1], numClasses: 10 });
    randomize(m, 17);
    await saveModel(m, model);
    return model;
  }

  function inferRun(job: string[], extra: string[] = []): InferJsonReport {
    const r = mpcnet(['infer', ...job, '--plain-ws', '--json', ...extra]);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as InferJsonReport;
  }

  it.each([
    ['2 parties, the model\'s polynomials', 'ppoly' as const, ['--parties', '2', '--relu', 'poly']],
    ['3 parties, truncation ReLU (P2 still helps online)', 'relu' as const, ['--parties', '3', '--relu', 'bicoptor', '--lx', '12']],
  ])('%s: the plan serves the real run with no dealer work, once', async (_, activation, flags) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-model-'));
    const model = await smallModel(dir, activation);
    const job = ['--model', model, '--n', '12', '--batch', '8', ...flags];
    const planDir = path.join(dir, 'plan');
    const made = mpcnet(['dealer', '--plan', ...job, '--out', planDir, '--json']);
    expect(made.status, made.stderr).toBe(0);
    const summary = JSON.parse(made.stdout) as { entries: number; derivedBy: string; rehearsalSeconds: number };
    expect(summary.derivedBy).toBe('rehearsal');
    expect(summary.entries).toBeGreaterThan(0);

    const online = inferRun(job);
    const offline = inferRun(job, ['--offline', planDir]);
    // Same predictions and the same online traffic between the parties; nothing dealt online.
    expect(offline.correct).toBe(online.correct);
    expect(offline.perParty.map((p) => [p.bytesSent, p.rounds])).toEqual(online.perParty.map((p) => [p.bytesSent, p.rounds]));
    expect(offline.offlinePlan!.entries).toBe(summary.entries);
    expect(offline.offlinePlan!.dealerCorrelationsServed).toBe(0);
    expect(existsSync(claimFile(planFile(planDir, 0)))).toBe(true);

    // A second run with the same plan would reuse its masks: refused before any party starts.
    const again = mpcnet(['infer', ...job, '--plain-ws', '--offline', planDir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`--offline: offline plan file ${planFile(planDir, 0)}: already used by an earlier run`);
    // A new plan in the same folder replaces the used one and its claim.
    expect(mpcnet(['dealer', '--plan', ...job, '--out', planDir]).status).toBe(0);
    expect(existsSync(claimFile(planFile(planDir, 0)))).toBe(false);
  }, 2 * CLI_TIMEOUT);

  it('refuses what a plan cannot be derived for, naming the option', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-plan-model-'));
    const model = await smallModel(dir, 'relu');
    const auto = mpcnet(['dealer', '--plan', '--model', model, '--parties', '2', '--relu', 'minimax', '--out', path.join(dir, 'p')]);
    expect(auto.status).toBe(1);
    expect(auto.stderr).toContain('--relu minimax: give --bound B');
    const two = mpcnet(['dealer', '--plan', '--model', model, '--op', 'mul', '--size', '4', '--out', path.join(dir, 'p')]);
    expect(two.status).toBe(1);
    expect(two.stderr).toContain('give exactly one job');
  }, CLI_TIMEOUT);
});

/**
 * Offline phase (issue 11, item 5): the dealer's work done ahead of the run
 * and written to per-holder files, so that the online run needs no dealer.
 * 2-party sessions (P2 is then idle online) and 3-party ones (P2 still helps
 * online, but deals nothing).
 *
 * A plan is the exact sequence of correlation requests (label, spec) a job
 * makes: derived from the job, either by formula (`bench-arith`,
 * src/jobs/bench-arith.ts) or by rehearsing it on zero inputs
 * (src/mpc/plan-rehearsal.ts: `mpcnet dealer --plan --model DIR`), or
 * recorded by P0 in a run with the dealer online (SessionConfig.recordPlan,
 * PlanRecorder: `mpcnet infer --parties 2 --record-plan FILE`).
 * `mpcnet dealer --plan` fixes fresh dealer seeds k02 and k12 for the plan
 * (instead of agreeing them by X25519 at session start), replays the dealer
 * (dealerCorrection) for every entry and streams the results to disk one
 * correlation at a time:
 *   - P0.plan: k02, then per entry its label, spec and P0's correction c0;
 *   - P1.plan: k12, then per entry its label and spec (P1 draws everything
 *     from k12, so it needs no data);
 *   - plan.json: public metadata (plan id, hashes, sizes, time), no secret.
 *
 * SECURITY: the .plan files hold the dealer seeds. P0.plan is a secret of
 * P0 and P1.plan of P1: whoever holds both (or either one plus the other
 * holder's view) learns every correlation and so the other holder's inputs
 * from the online messages, exactly as a dealer colluding with a holder
 * would. Generate them on the dealer's machine and hand each file only to
 * its holder; delete them after the run. A plan is for one run: reusing it
 * reuses masks, so a holder claims its file (P<id>.plan.used, created
 * exclusively) before it uses it, and refuses a file already claimed, also
 * by a run that failed (its masked messages may have gone out).
 *
 * The online run checks each request against the plan in order: label,
 * spec, the entry's data hash, and at the end that every entry was used.
 * Any difference (a plan made for another job, a truncated or corrupted
 * file, a request out of order) ends the run with an error naming the file
 * and the entry.
 *
 * File layout (little-endian): magic 'MPCPLAN1', u32 header length, header
 * JSON, zero padding to 8 bytes; then per entry: u32 meta length, u32 zero,
 * meta JSON {i, label, spec, bytes, sha256}, padding to 8, `bytes` of data.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { SEED_BYTES } from '../ring/prg.js';
import type { TruncationMode } from './context.js';
import { dealerCorrection, outputSize, parseCorrelationSpec, specKey, type CorrelationSpec } from './correlations.js';
import { correlationStream, type OfflineSource } from './dealer-client.js';
import { MaskCache } from './dealer-service.js';
import { SeedBook } from './seeds.js';

export const PLAN_FORMAT = 'mpcnet-offline-plan/1';
const MAGIC = Buffer.from('MPCPLAN1', 'latin1');
/** Longest header or entry meta JSON a reader accepts. */
const MAX_META_BYTES = 1 << 16;

export interface PlanEntry {
  label: string;
  spec: CorrelationSpec;
}

/** What a plan is bound to: the session settings and the job (hashed canonically). */
export interface PlanJob {
  mode: '2pc' | '3pc';
  fracBits: number;
  truncation: TruncationMode;
  job: unknown;
}

/** plan.json: public, no secret. */
export interface PlanSummary {
  format: string;
  planId: string;
  jobHash: string;
  planHash: string;
  entries: number;
  /** Wall seconds to generate both files. */
  seconds: number;
  /** File bytes per holder. */
  bytes: { P0: number; P1: number };
  /** Correction bytes (c0) in P0's file: what the online dealer would have sent. */
  correctionBytes: number;
  /** The job, when the plan was derived from it; absent for a recorded plan. */
  job?: PlanJob;
  /** How the request sequence was found: by formula (bench arith), by rehearsal, or from a recording run. */
  derivedBy?: 'formula' | 'rehearsal' | 'record';
  /** Wall seconds of the rehearsal (derivedBy 'rehearsal'), not included in `seconds`. */
  rehearsalSeconds?: number;
  /** The request record the plan was made from (mpcnet dealer --plan --from-record). */
  recordedFrom?: string;
}

/** Where the session config points the holders (SessionConfig.offlinePlan). */
export interface OfflinePlanRef {
  /** Folder holding P<id>.plan (each holder needs only its own). */
  dir: string;
  planId: string;
}

interface FileHeader {
  format: string;
  holder: 0 | 1;
  planId: string;
  jobHash: string;
  planHash: string;
  entries: number;
  /** Dealer seed shared with this holder, hex. */
  seedHex: string;
  /** sha256 of the seed, so that a corrupted seed is refused rather than giving wrong shares. */
  seedSha256: string;
}

interface EntryMeta {
  i: number;
  label: string;
  spec: unknown;
  bytes: number;
  sha256: string;
}

export function planFile(dir: string, holder: 0 | 1): string {
  return path.join(dir, `P${holder}.plan`);
}

export function planSummaryFile(dir: string): string {
  return path.join(dir, 'plan.json');
}

/** JSON with object keys sorted, so a hash does not depend on key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function jobHashOf(job: PlanJob): string {
  return createHash('sha256').update(canonical({ mode: job.mode, fracBits: job.fracBits, truncation: job.truncation, job: job.job })).digest('hex');
}

function entryKey(e: { label: string; spec: unknown }): string {
  return canonical({ label: e.label, spec: e.spec });
}

function pad8(n: number): number {
  return (8 - (n % 8)) % 8;
}

/** Appends to a file descriptor, counting bytes. */
class Sink {
  bytes = 0;
  constructor(private readonly fd: number) {}
  write(buf: Uint8Array): void {
    let off = 0;
    while (off < buf.byteLength) off += writeSync(this.fd, buf, off, buf.byteLength - off);
    this.bytes += buf.byteLength;
  }
  /** u32 length + JSON (+ u32 zero when `entry`) + padding to 8. */
  json(v: unknown, entry: boolean): void {
    const text = Buffer.from(JSON.stringify(v), 'utf8');
    const head = Buffer.alloc(entry ? 8 : 4);
    head.writeUInt32LE(text.byteLength, 0);
    this.write(head);
    this.write(text);
    this.write(Buffer.alloc(pad8(this.bytes)));
  }
}

/**
 * The offline phase: generate both holders' files in `dir` for `entries`
 * (the exact request sequence of the job), one correlation in memory at a
 * time, and write plan.json. Returns the summary it wrote.
 */
export function generatePlan(dir: string, job: PlanJob, entries: readonly PlanEntry[], rehearsalSeconds?: number): PlanSummary {
  const about = rehearsalSeconds === undefined ? { job, derivedBy: 'formula' as const } : { job, derivedBy: 'rehearsal' as const, rehearsalSeconds };
  return generateBound(dir, jobHashOf(job), about, entries);
}

type PlanOrigin = Pick<PlanSummary, 'job' | 'derivedBy' | 'rehearsalSeconds' | 'recordedFrom'>;

function generateBound(dir: string, jobHash: string, about: PlanOrigin, entries: readonly PlanEntry[]): PlanSummary {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  const planId = randomUUID();
  const planHash = createHash('sha256').update(jobHash).update(canonical(entries.map((e) => ({ label: e.label, spec: e.spec })))).digest('hex');
  const seeds = [randomBytes(SEED_BYTES), randomBytes(SEED_BYTES)] as const;
  const dealer = new SeedBook(new Map([[0, new Uint8Array(seeds[0])], [1, new Uint8Array(seeds[1])]]));
  const masks = new MaskCache(dealer);
  // Written under temporary names and renamed at the end: a failed generation leaves an earlier plan in dir as it was.
  const temps = [0, 1].map((h) => `${planFile(dir, h as 0 | 1)}.partial`);
  const fds = temps.map((t) => openSync(t, 'w', 0o600));
  let correctionBytes = 0;
  let done = false;
  try {
    const sinks = fds.map((fd) => new Sink(fd));
    sinks.forEach((sink, holder) => {
      sink.write(MAGIC);
      const header: FileHeader = { format: PLAN_FORMAT, holder: holder as 0 | 1, planId, jobHash, planHash, entries: entries.length, seedHex: seeds[holder]!.toString('hex'), seedSha256: createHash('sha256').update(seeds[holder]!).digest('hex') };
      sink.json(header, false);
    });
    entries.forEach((e, i) => {
      const spec = parseCorrelationSpec(e.spec);
      const stream = correlationStream(e.label);
      const c0 = dealerCorrection(spec, dealer.stream(0, stream), dealer.stream(1, stream), (ref) => masks.get(ref));
      const data = new Uint8Array(c0.buffer, c0.byteOffset, c0.byteLength);
      const sha256 = createHash('sha256').update(data).digest('hex');
      sinks[0]!.json({ i, label: e.label, spec, bytes: data.byteLength, sha256 } satisfies EntryMeta, true);
      sinks[0]!.write(data);
      sinks[1]!.json({ i, label: e.label, spec, bytes: 0, sha256: createHash('sha256').digest('hex') } satisfies EntryMeta, true);
      correctionBytes += data.byteLength;
    });
    const summary: PlanSummary = {
      format: PLAN_FORMAT, planId, jobHash, planHash, entries: entries.length, seconds: 0,
      bytes: { P0: sinks[0]!.bytes, P1: sinks[1]!.bytes }, correctionBytes, ...about,
    };
    for (const fd of fds) fsyncSync(fd);
    for (const h of [0, 1] as const) {
      renameSync(temps[h]!, planFile(dir, h));
      // The claim of the plan these files replace (see PlanReader).
      rmSync(claimFile(planFile(dir, h)), { force: true });
    }
    summary.seconds = (performance.now() - t0) / 1000;
    writeFileSync(planSummaryFile(dir), JSON.stringify(summary, null, 2) + '\n');
    done = true;
    return summary;
  } finally {
    for (const fd of fds) closeSync(fd);
    if (!done) for (const t of temps) rmSync(t, { force: true });
  }
}

/** A holder's claim on its plan file: created when a run starts using it, so that no second run reuses its masks. */
export function claimFile(file: string): string {
  return `${file}.used`;
}

/** The error for a plan file an earlier run claimed (see claimPlanFile), or null while it is unclaimed. */
export function earlierClaim(file: string): Error | null {
  const claim = claimFile(file);
  let text: string;
  try {
    text = readFileSync(claim, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    text = '';
  }
  let by = '';
  try {
    const c = JSON.parse(text) as { claimedAt?: unknown; pid?: unknown };
    by = ` (claimed at ${String(c.claimedAt)} by process ${String(c.pid)})`;
  } catch { /* an unreadable claim is still a claim */ }
  return new Error(`offline plan file ${file}: already used by an earlier run${by}; a plan serves one run only (reusing it would reuse its masks): make a new one with mpcnet dealer --plan`);
}

/**
 * Claim `file` for this run, or throw naming the run that claimed it first.
 * O_EXCL creation is atomic: two runs started at once cannot both win.
 */
function claimPlanFile(file: string, planId: string): void {
  let fd: number;
  try {
    fd = openSync(claimFile(file), 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw earlierClaim(file) ?? (err as Error);
    throw new Error(`offline plan file ${file}: cannot claim it for this run (${(err as Error).message})`);
  }
  try {
    writeSync(fd, JSON.stringify({ planId, claimedAt: new Date().toISOString(), pid: process.pid }) + '\n');
  } finally {
    closeSync(fd);
  }
}

const RECORD_FORMAT = 'mpcnet-plan-record/1';

/**
 * A recording run (SessionConfig.recordPlan, P0): every request made of the
 * online dealer, in order, as JSON lines after a header line with the job
 * hash. Labels and specs only: public shapes, no secret.
 */
export class PlanRecorder {
  private readonly fd: number;

  constructor(readonly file: string, jobHash: string) {
    try {
      this.fd = openSync(file, 'w');
    } catch (err) {
      throw new Error(`plan record ${file}: cannot write it (${(err as Error).message})`);
    }
    this.line({ format: RECORD_FORMAT, jobHash });
  }

  add(spec: CorrelationSpec, label: string): void {
    this.line({ label, spec });
  }

  private line(v: unknown): void {
    const buf = Buffer.from(JSON.stringify(v) + '\n', 'utf8');
    let off = 0;
    while (off < buf.byteLength) off += writeSync(this.fd, buf, off, buf.byteLength - off);
  }
}

/** The offline phase from a recording run's request list (mpcnet dealer --plan --from-record). */
export function generatePlanFromRecord(dir: string, recordFile: string): PlanSummary {
  let lines: string[];
  try {
    lines = readFileSync(recordFile, 'utf8').split('\n').filter((l) => l.length > 0);
  } catch (err) {
    throw new Error(`plan record ${recordFile}: cannot read it (${(err as Error).message})`);
  }
  const parse = (l: string, i: number): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(l);
      if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
    } catch { /* below */ }
    throw new Error(`plan record ${recordFile}, line ${i + 1}: not a JSON object`);
  };
  const head = parse(lines[0] ?? '', 0);
  if (head['format'] !== RECORD_FORMAT || typeof head['jobHash'] !== 'string') throw new Error(`plan record ${recordFile}: not a ${RECORD_FORMAT} file`);
  const entries = lines.slice(1).map((l, i) => {
    const e = parse(l, i + 1);
    if (typeof e['label'] !== 'string') throw new Error(`plan record ${recordFile}, line ${i + 2}: no label`);
    try {
      return { label: e['label'], spec: parseCorrelationSpec(e['spec']) };
    } catch (err) {
      throw new Error(`plan record ${recordFile}, line ${i + 2}: ${(err as Error).message}`);
    }
  });
  return generateBound(dir, head['jobHash'], { derivedBy: 'record', recordedFrom: path.resolve(recordFile) }, entries);
}

/** plan.json of `dir`, checked enough to use its id. */
export function readPlanSummary(dir: string): PlanSummary {
  const file = planSummaryFile(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`offline plan ${file}: cannot read it (${(err as Error).message}); make one with mpcnet dealer --plan --out ${dir}`);
  }
  const s = raw as Partial<PlanSummary>;
  if (s.format !== PLAN_FORMAT || typeof s.planId !== 'string' || typeof s.jobHash !== 'string') throw new Error(`offline plan ${file}: not a ${PLAN_FORMAT} summary`);
  return s as PlanSummary;
}

/**
 * A holder's side of the plan: reads its file entry by entry as the run
 * asks (bounded memory) and checks each request against it.
 */
export class PlanReader implements OfflineSource {
  private readonly fd: number;
  private readonly size: number;
  private offset = 0;
  private used = 0;
  private readonly header: FileHeader;
  readonly dealerSeed: Uint8Array;

  constructor(readonly file: string, private readonly holder: 0 | 1, expect: { planId: string; jobHash: string }) {
    try {
      this.fd = openSync(file, 'r');
    } catch (err) {
      throw new Error(`offline plan file ${file}: cannot open it (${(err as Error).message})`);
    }
    try {
      this.size = fstatSync(this.fd).size;
      const magic = this.read(MAGIC.byteLength, 'the file start');
      if (!Buffer.from(magic).equals(MAGIC)) throw this.fail('not an mpcnet offline plan file (bad magic)');
      const header = this.meta(false, 'the header') as Partial<FileHeader>;
      if (header.format !== PLAN_FORMAT) throw this.fail(`format ${JSON.stringify(header.format)}, expected ${PLAN_FORMAT}`);
      if (header.holder !== holder) throw this.fail(`made for P${String(header.holder)}, but this is P${holder}`);
      if (header.planId !== expect.planId) throw this.fail(`belongs to plan ${String(header.planId)}, but the session names plan ${expect.planId}`);
      if (header.jobHash !== expect.jobHash) throw this.fail('was made for a different job or session settings (job hash differs): run mpcnet dealer --plan for this job');
      if (typeof header.entries !== 'number' || !Number.isInteger(header.entries) || header.entries < 0) throw this.fail('header has no entry count');
      if (typeof header.seedHex !== 'string' || !/^[0-9a-f]+$/.test(header.seedHex) || header.seedHex.length !== 2 * SEED_BYTES) throw this.fail('header has no valid dealer seed');
      this.header = header as FileHeader;
      this.dealerSeed = new Uint8Array(Buffer.from(header.seedHex, 'hex'));
      if (createHash('sha256').update(this.dealerSeed).digest('hex') !== header.seedSha256) throw this.fail('corrupted (dealer seed hash differs)');
      claimPlanFile(file, expect.planId);
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  get entries(): number {
    return this.header.entries;
  }

  private fail(what: string, entry?: number): Error {
    return new Error(`offline plan file ${this.file}${entry === undefined ? '' : `, entry ${entry}`}: ${what}`);
  }

  private read(n: number, what: string, entry?: number): Uint8Array {
    if (this.offset + n > this.size) throw this.fail(`truncated (${what} needs ${n} bytes at offset ${this.offset}, the file has ${this.size})`, entry);
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buf, got, n - got, this.offset + got);
      if (r === 0) throw this.fail(`truncated while reading ${what}`, entry);
      got += r;
    }
    this.offset += n;
    return buf;
  }

  private meta(entry: boolean, what: string, i?: number): unknown {
    const head = Buffer.from(this.read(entry ? 8 : 4, what, i));
    const len = head.readUInt32LE(0);
    if (len === 0 || len > MAX_META_BYTES) throw this.fail(`corrupted (${what} declares ${len} bytes)`, i);
    const text = Buffer.from(this.read(len, what, i)).toString('utf8');
    this.read(pad8(this.offset), what, i);
    try {
      return JSON.parse(text);
    } catch {
      throw this.fail(`corrupted (${what} is not valid JSON)`, i);
    }
  }

  /** The next entry, checked against this request; P0 gets its correction c0. */
  next(spec: CorrelationSpec, label: string): BigUint64Array | null {
    const i = this.used;
    const want = `label ${JSON.stringify(label)}, spec ${specKey(spec)}`;
    if (i >= this.header.entries) throw this.fail(`the run asks for more correlations than the plan's ${this.header.entries} (request ${want})`, i);
    const m = this.meta(true, `entry ${i}`, i) as Partial<EntryMeta>;
    if (m.i !== i || typeof m.label !== 'string' || typeof m.bytes !== 'number' || typeof m.sha256 !== 'string') throw this.fail('corrupted (entry header fields)', i);
    let planned: string;
    try {
      planned = specKey(parseCorrelationSpec(m.spec));
    } catch (err) {
      throw this.fail(`corrupted (spec: ${(err as Error).message})`, i);
    }
    if (entryKey({ label: m.label, spec: planned }) !== entryKey({ label, spec: specKey(spec) })) {
      throw this.fail(`the run's request (${want}) does not match the plan (label ${JSON.stringify(m.label)}, spec ${planned})`, i);
    }
    const expectBytes = this.holder === 0 ? outputSize(spec) * 8 : 0;
    if (m.bytes !== expectBytes) throw this.fail(`corrupted (${m.bytes} data bytes, expected ${expectBytes})`, i);
    let out: BigUint64Array | null = null;
    if (expectBytes > 0) {
      out = new BigUint64Array(expectBytes / 8);
      const bytes = new Uint8Array(out.buffer);
      bytes.set(this.read(expectBytes, `entry ${i} data`, i));
      if (createHash('sha256').update(bytes).digest('hex') !== m.sha256) throw this.fail('corrupted (data hash differs)', i);
    }
    this.used++;
    return out;
  }

  /** The run is over: every entry must have been used. */
  finish(): void {
    try {
      if (this.used !== this.header.entries) throw this.fail(`the run used ${this.used} of the plan's ${this.header.entries} correlations`);
      if (this.offset !== this.size) throw this.fail(`${this.size - this.offset} bytes after the last entry`);
    } finally {
      closeSync(this.fd);
    }
  }
}

/**
 * Per-party checkpoints of MPC training: each party writes only its own
 * shares (weights, batch-norm moving statistics, SGD velocities; P2 in 3PC
 * holds placeholders and writes shapes only) to OUT/mpc-checkpoint/pI.json.
 *
 * Safety: a file is written to a temporary name and renamed into place, the
 * previous generation kept as pI.prev.json. Parties write independently, so
 * a party killed mid-run can leave the others one checkpoint ahead; resume
 * picks the latest (epoch, step) that every party holds (current or
 * previous generation) with the same run id and settings, and each party
 * first makes that generation its current one, so a stale newer file never
 * mixes with the resumed run. A SHA-256 over the tensors catches a
 * corrupted file.
 *
 * A party killed during the very first write leaves a directory without a
 * complete checkpoint (some party's file never arrived): there is nothing
 * to resume, so --resume says so, and a new run moves it aside (never
 * deleting anything) instead of refusing the directory (checkpointState).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { faultPoint } from '../mpc/fault-hook.js';
import { Shared } from '../mpc/shared.js';

export const MPC_CHECKPOINT_DIR = 'mpc-checkpoint';
const FORMAT = 'mpcnet-mpc-checkpoint';

export interface CheckpointPosition {
  /** Completed epochs, and completed batches of the epoch in progress. */
  epoch: number;
  step: number;
}

export interface MpcCheckpointMeta extends CheckpointPosition {
  format: typeof FORMAT;
  runId: string;
  party: string;
  /** JSON of the settings that must agree for a resume (model, data, schedule, session mode). */
  settings: string;
  /** Per finished epoch: mean revealed loss (NaN-free: null without --reveal-loss), seconds. */
  history: { epoch: number; loss: number | null; seconds: number }[];
  seconds: number;
}

export interface SavedTensor {
  name: string;
  shape: number[];
  fracBits: number;
  /** Base64 of the little-endian 64-bit share (empty for a placeholder). */
  share: string;
}

interface File extends MpcCheckpointMeta {
  tensors: SavedTensor[];
  sha256: string;
}

export function partyTag(id: number, plain: boolean): string {
  return plain ? 'emulated' : `p${id}`;
}

function files(out: string, party: string): { current: string; prev: string; tmp: string } {
  const dir = path.join(out, MPC_CHECKPOINT_DIR);
  return { current: path.join(dir, `${party}.json`), prev: path.join(dir, `${party}.prev.json`), tmp: path.join(dir, `${party}.tmp`) };
}

function digest(t: SavedTensor[]): string {
  const h = createHash('sha256');
  for (const x of t) h.update(`${x.name}|${x.shape.join(',')}|${x.fracBits}|${x.share};`);
  return h.digest('hex');
}

export function encodeTensor(name: string, s: Shared): SavedTensor {
  return { name, shape: [...s.shape], fracBits: s.fracBits, share: Buffer.from(s.share.buffer, s.share.byteOffset, s.share.byteLength).toString('base64') };
}

export function decodeTensor(t: SavedTensor): Shared {
  const bytes = Buffer.from(t.share, 'base64');
  const share = new BigUint64Array(bytes.byteLength / 8);
  new Uint8Array(share.buffer).set(bytes);
  return new Shared(share, t.shape, t.fracBits);
}

/** Atomically replaces the party's checkpoint, keeping the previous one. */
export function writePartyCheckpoint(out: string, meta: MpcCheckpointMeta, tensors: SavedTensor[]): void {
  const f = files(out, meta.party);
  mkdirSync(path.dirname(f.current), { recursive: true });
  const body: File = { ...meta, tensors, sha256: digest(tensors) };
  writeFileSync(f.tmp, JSON.stringify(body));
  if (existsSync(f.current)) renameSync(f.current, f.prev);
  // The riskiest moment to die: no current file, only the previous generation.
  faultPoint('checkpoint-write');
  renameSync(f.tmp, f.current);
}

function readFile(file: string): File {
  let body: File;
  try {
    body = JSON.parse(readFileSync(file, 'utf8')) as File;
  } catch (err) {
    throw new Error(`${file}: corrupted checkpoint (${(err as Error).message})`);
  }
  if (body.format !== FORMAT || !Array.isArray(body.tensors)) throw new Error(`${file}: not an mpcnet MPC checkpoint`);
  if (digest(body.tensors) !== body.sha256) throw new Error(`${file}: corrupted checkpoint (checksum mismatch)`);
  return body;
}

/** The metadata of a party's generations (current first); [] when it has none. */
export function partyGenerations(out: string, party: string): MpcCheckpointMeta[] {
  const f = files(out, party);
  const gens: MpcCheckpointMeta[] = [];
  for (const file of [f.current, f.prev]) {
    if (!existsSync(file)) continue;
    const { tensors: _t, sha256: _s, ...meta } = readFile(file);
    gens.push(meta);
  }
  return gens;
}

/** A party's current or previous generation (not a temporary file, which may be half written). */
const GENERATION_FILE = /^(emulated|p\d)(\.prev)?\.json$/;

/** The party files a run writes, from its settings key's mode; undefined when unreadable. */
function partiesOfSettings(settings: unknown): string[] | undefined {
  if (typeof settings !== 'string') return undefined;
  try {
    const mode = (JSON.parse(settings) as { mode?: unknown }).mode;
    return mode === 'plain' ? [partyTag(0, true)] : mode === '2pc' ? ['p0', 'p1'] : mode === '3pc' ? ['p0', 'p1', 'p2'] : undefined;
  } catch {
    return undefined;
  }
}

export type CheckpointState =
  | { kind: 'none' }
  /** Something to resume (or a corrupted file, which resumePoint names). */
  | { kind: 'present' }
  /** No complete checkpoint: no party's file is in place, or `missing` parties of the run that wrote the others have none. */
  | { kind: 'incomplete'; dir: string; missing: string[] };

/**
 * What OUT/mpc-checkpoint holds. The writing run's parties come from its
 * files' settings (not from this run's options), so a good checkpoint of
 * another mode is 'present' (refused or named as such), never set aside.
 */
export function checkpointState(out: string): CheckpointState {
  const dir = path.join(out, MPC_CHECKPOINT_DIR);
  if (!existsSync(dir)) return { kind: 'none' };
  const names = readdirSync(dir).filter((n) => GENERATION_FILE.test(n));
  if (names.length === 0) return { kind: 'incomplete', dir, missing: [] };
  const holders = new Set(names.map((n) => GENERATION_FILE.exec(n)![1]!));
  for (const n of names) {
    let expected: string[] | undefined;
    try {
      expected = partiesOfSettings((JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as { settings?: unknown }).settings);
    } catch {
      continue; // corrupted: resumePoint reports it
    }
    if (!expected) continue;
    const missing = expected.filter((p) => !holders.has(p));
    return missing.length > 0 ? { kind: 'incomplete', dir, missing } : { kind: 'present' };
  }
  return { kind: 'present' };
}

function incompleteReason(s: Extract<CheckpointState, { kind: 'incomplete' }>): string {
  return s.missing.length === 0
    ? 'no party\'s checkpoint file is in place: the first checkpoint write was interrupted'
    : `no checkpoint of party ${s.missing.join(', ')}: its first checkpoint write was interrupted, or the file was removed`;
}

/**
 * A new run's way past an incomplete checkpoint: renamed to
 * mpc-checkpoint.incomplete-TIME beside it (kept, in case a file was only
 * moved away by hand). Returns the line to log.
 */
export function setAsideIncomplete(s: Extract<CheckpointState, { kind: 'incomplete' }>): string {
  const aside = `${s.dir}.incomplete-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(s.dir, aside);
  return `${s.dir} holds no complete checkpoint (${incompleteReason(s)}): moved it to ${aside}, starting a new run`;
}

const key = (p: CheckpointPosition): number => p.epoch * 1e9 + p.step;

/**
 * The resume point every party holds (launcher side, before any process
 * starts): one clear error for a missing party file, another run's or
 * model's checkpoint, or a corrupted file.
 */
export function resumePoint(out: string, parties: string[], settings: string): { runId: string } & CheckpointPosition {
  const state = checkpointState(out);
  if (state.kind === 'none') throw new Error(`${out}: no MPC checkpoint to resume from (${MPC_CHECKPOINT_DIR}/ is missing)`);
  if (state.kind === 'incomplete') throw new Error(`no complete checkpoint in ${state.dir} (${incompleteReason(state)}): nothing to resume; start without --resume (the incomplete directory is then moved aside, not deleted)`);
  const gens = parties.map((p) => {
    const g = partyGenerations(out, p);
    if (g.length === 0) throw new Error(`${path.join(out, MPC_CHECKPOINT_DIR)}: no checkpoint of party ${p} (its share file is missing)`);
    return g;
  });
  const runId = gens[0]![0]!.runId;
  for (const [i, g] of gens.entries()) {
    for (const m of g) {
      if (m.runId !== runId) throw new Error(`${out}: party ${parties[i]}'s checkpoint is from another training run (${m.runId}, not ${runId})`);
      if (m.settings !== settings) throw new Error(`${out}: cannot resume: the checkpoint was written for other settings or another model (${m.settings}), this run has ${settings}`);
    }
  }
  const common = gens[0]!.map((m) => ({ epoch: m.epoch, step: m.step }))
    .filter((p) => gens.every((g) => g.some((m) => key(m) === key(p))))
    .sort((a, b) => key(b) - key(a));
  if (common.length === 0) throw new Error(`${out}: the parties' checkpoints share no common training step; cannot resume`);
  return { runId, ...common[0]! };
}

/** Party side: the tensors of the chosen generation, made the current one. */
export function loadPartyCheckpoint(out: string, party: string, runId: string, at: CheckpointPosition): { meta: MpcCheckpointMeta; tensors: Map<string, Shared> } {
  const f = files(out, party);
  for (const file of [f.current, f.prev]) {
    if (!existsSync(file)) continue;
    const body = readFile(file);
    if (body.runId !== runId || key(body) !== key(at)) continue;
    if (file === f.prev) renameSync(f.prev, f.current);
    const { tensors, sha256: _s, ...meta } = body;
    return { meta, tensors: new Map(tensors.map((t) => [t.name, decodeTensor(t)])) };
  }
  throw new Error(`${path.dirname(f.current)}: party ${party} has no checkpoint of run ${runId} at epoch ${at.epoch}, step ${at.step}`);
}

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
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

export function hasCheckpoint(out: string): boolean {
  return existsSync(path.join(out, MPC_CHECKPOINT_DIR));
}

const key = (p: CheckpointPosition): number => p.epoch * 1e9 + p.step;

/**
 * The resume point every party holds (launcher side, before any process
 * starts): one clear error for a missing party file, another run's or
 * model's checkpoint, or a corrupted file.
 */
export function resumePoint(out: string, parties: string[], settings: string): { runId: string } & CheckpointPosition {
  if (!hasCheckpoint(out)) throw new Error(`${out}: no MPC checkpoint to resume from (${MPC_CHECKPOINT_DIR}/ is missing)`);
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

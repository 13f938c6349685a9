/**
 * Per-epoch checkpoints for --resume: every model weight (trainable and not:
 * batch-norm moving statistics included) and every SGD velocity, bit for
 * bit, with the epoch count and metrics so far. Randomness needs no saving:
 * each epoch's streams derive from (seed, epoch) (random.ts). So resuming
 * after epoch k continues exactly as the uninterrupted run would have.
 * Written to a temporary directory and renamed into place, so an
 * interrupted write leaves the previous checkpoint intact.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EpochMetrics, TrainSettings } from './manifest.js';
import type { SgdMomentum } from './sgd.js';

export const CHECKPOINT_DIR = 'checkpoint';
const STATE_FILE = 'state.json';
const TENSORS_FILE = 'tensors.bin';

export interface CheckpointEntry {
  role: 'weight' | 'velocity';
  name: string;
  shape: number[];
  /** Offset in float32 elements into tensors.bin. */
  offset: number;
}

export interface CheckpointState {
  version: 1;
  epochsDone: number;
  settings: TrainSettings;
  history: EpochMetrics[];
  /** Training seconds so far (all sessions). */
  seconds: number;
  entries: CheckpointEntry[];
}

export interface Checkpoint {
  state: CheckpointState;
  data: Float32Array;
  file: string;
}

export function checkpointDir(outDir: string): string {
  return path.join(outDir, CHECKPOINT_DIR);
}

export async function saveCheckpoint(outDir: string, model: LayersModel, sgd: SgdMomentum, s: Omit<CheckpointState, 'version' | 'entries'>): Promise<void> {
  const entries: CheckpointEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (role: CheckpointEntry['role'], name: string, t: tf.Tensor, data: Float32Array): void => {
    entries.push({ role, name, shape: [...t.shape], offset });
    chunks.push(data);
    offset += data.length;
  };
  for (const w of model.weights) {
    const t = w.read();
    add('weight', w.originalName, t, (await t.data()) as Float32Array);
  }
  for (let i = 0; i < sgd.velocities.length; i++) {
    const v = sgd.velocities[i]!;
    add('velocity', model.trainableWeights[i]?.originalName ?? sgd.vars[i]!.name, v, (await v.data()) as Float32Array);
  }
  const all = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const final = checkpointDir(outDir);
  const tmp = `${final}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(path.join(tmp, TENSORS_FILE), new Uint8Array(all.buffer));
  const state: CheckpointState = { version: 1, entries, ...s };
  writeFileSync(path.join(tmp, STATE_FILE), JSON.stringify(state, null, 1));
  const old = `${final}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  rmSync(old, { recursive: true, force: true });
}

/** The checkpoint in outDir, or undefined if there is none. Throws naming the file if it is damaged. */
export function readCheckpoint(outDir: string): Checkpoint | undefined {
  const dir = checkpointDir(outDir);
  const stateFile = path.join(dir, STATE_FILE);
  if (!existsSync(stateFile)) return undefined;
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new Error(`${stateFile}: not valid JSON: ${(err as Error).message}`);
  }
  if (state.version !== 1 || !Array.isArray(state.entries)) throw new Error(`${stateFile}: not an mpcnet checkpoint (version ${String(state.version)})`);
  const file = path.join(dir, TENSORS_FILE);
  if (!existsSync(file)) throw new Error(`${file}: checkpoint tensors missing`);
  const bytes = readFileSync(file);
  const need = state.entries.reduce((n, e) => Math.max(n, e.offset + e.shape.reduce((a, b) => a * b, 1)), 0);
  if (bytes.byteLength !== need * 4) throw new Error(`${file}: ${bytes.byteLength} bytes, ${stateFile} describes ${need * 4}`);
  const data = new Float32Array(need);
  new Uint8Array(data.buffer).set(bytes);
  return { state, data, file };
}

/** Writes the checkpoint's weights and velocities into a freshly built model and optimizer. */
export function restoreCheckpoint(c: Checkpoint, model: LayersModel, sgd: SgdMomentum): void {
  const weights = c.state.entries.filter((e) => e.role === 'weight');
  const velocities = c.state.entries.filter((e) => e.role === 'velocity');
  if (weights.length !== model.weights.length || velocities.length !== sgd.velocities.length) {
    throw new Error(`${c.file}: holds ${weights.length} weights and ${velocities.length} velocities; the model has ${model.weights.length} and ${sgd.velocities.length}`);
  }
  const slice = (e: CheckpointEntry): tf.Tensor => {
    const size = e.shape.reduce((a, b) => a * b, 1);
    return tf.tensor(c.data.subarray(e.offset, e.offset + size), e.shape, 'float32');
  };
  model.weights.forEach((w, i) => {
    const e = weights[i]!;
    if (e.name !== w.originalName || e.shape.join() !== w.shape.join()) {
      throw new Error(`${c.file}: weight ${i} is ${e.name} [${e.shape}], the model has ${w.originalName} [${w.shape}]`);
    }
    const t = slice(e);
    w.write(t);
    t.dispose();
  });
  sgd.velocities.forEach((v, i) => {
    const e = velocities[i]!;
    if (e.shape.join() !== v.shape.join()) throw new Error(`${c.file}: velocity ${i} has shape [${e.shape}], expected [${v.shape}]`);
    const t = slice(e);
    v.assign(t);
    t.dispose();
  });
}

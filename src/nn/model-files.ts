/**
 * Reads a saved tfjs layers model (model.json and the weight files its
 * manifest names) as plain data: the topology as parsed JSON and every weight
 * by name as a float32 array, without tfjs. The MPC import reads models this
 * way, and src/plain/model-io.ts's loadModel reads its files through here
 * before handing them to tfjs.
 *
 * Parties that know only the architecture (weights: false) read model.json
 * alone; they still learn each weight's shape from the manifest, which is
 * part of the architecture.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const MODEL_JSON = 'model.json';

export interface ModelWeight {
  shape: number[];
  /** Null when the weights were not read (weights: false). */
  values: Float32Array | null;
}

export interface ModelFiles {
  /** Path of model.json, for messages. */
  source: string;
  /** modelTopology from model.json, as parsed (not checked here). */
  topology: unknown;
  /** Every weight of the manifest by name, in manifest order. */
  weights: Map<string, ModelWeight>;
}

export interface ReadModelOptions {
  /** Read the weight files too (the model owner); false: model.json only. */
  weights: boolean;
}

interface ManifestEntry {
  name: string;
  shape: number[];
}

interface ManifestGroup {
  paths: string[];
  entries: ManifestEntry[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Checks the manifest's structure and dtypes, reporting every bad entry at
 * once (only float32 weights are supported: the import converts them to
 * fixed point itself).
 */
function parseManifest(file: string, manifest: unknown[]): ManifestGroup[] {
  const problems: string[] = [];
  const groups: ManifestGroup[] = [];
  const seen = new Set<string>();
  manifest.forEach((g, gi) => {
    if (!isRecord(g) || !Array.isArray(g['paths']) || !g['paths'].every((p) => typeof p === 'string') || !Array.isArray(g['weights'])) {
      problems.push(`weightsManifest[${gi}] needs "paths" (file names) and "weights" (a list)`);
      return;
    }
    const entries: ManifestEntry[] = [];
    for (const [wi, w] of (g['weights'] as unknown[]).entries()) {
      const where = `weightsManifest[${gi}].weights[${wi}]`;
      if (!isRecord(w) || typeof w['name'] !== 'string' || !Array.isArray(w['shape']) || !w['shape'].every((d) => Number.isInteger(d) && (d as number) >= 0)) {
        problems.push(`${where} needs a "name" and a "shape" of non-negative integers`);
        continue;
      }
      const name = w['name'];
      const dtype = w['dtype'] ?? 'float32';
      if (dtype !== 'float32') problems.push(`weight ${name} has dtype ${String(dtype)}: only float32 weights are supported`);
      else if (w['quantization'] !== undefined) problems.push(`weight ${name} is quantized: only plain float32 weights are supported`);
      if (seen.has(name)) problems.push(`weight ${name} is listed twice`);
      seen.add(name);
      entries.push({ name, shape: [...(w['shape'] as number[])] });
    }
    groups.push({ paths: g['paths'] as string[], entries });
  });
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  return groups;
}

/**
 * The weights of one manifest group: its files are one byte stream (tfjs
 * shards a group across several files), holding the group's weights in
 * order.
 */
function readGroup(dir: string, file: string, group: ManifestGroup, out: Map<string, ModelWeight>): void {
  const parts: Buffer[] = [];
  for (const p of group.paths) {
    const wf = path.join(dir, p);
    if (!existsSync(wf)) throw new Error(`${wf}: weights file named by ${file} not found`);
    parts.push(readFileSync(wf));
  }
  const bytes = parts.reduce((n, b) => n + b.byteLength, 0);
  const need = group.entries.reduce((n, e) => n + elementCount(e.shape) * 4, 0);
  if (bytes !== need) {
    const names = group.paths.map((p) => path.join(dir, p));
    const what = names.length === 1 ? names[0]! : `${names.join(' + ')} (together)`;
    throw new Error(`${what}: ${bytes} bytes, the manifest in ${file} needs ${need} (${bytes < need ? 'truncated' : 'too long'})`);
  }
  // One aligned copy of the stream; each weight is a view into it.
  const all = new Float32Array(need / 4);
  const view = new Uint8Array(all.buffer);
  let at = 0;
  for (const b of parts) {
    view.set(b, at);
    at += b.byteLength;
  }
  let offset = 0;
  for (const e of group.entries) {
    const n = elementCount(e.shape);
    out.set(e.name, { shape: e.shape, values: all.subarray(offset, offset + n) });
    offset += n;
  }
}

/** Reads dir/model.json and (with weights: true) the weight files it names. Throws naming the file and the problem. */
export function readModelFiles(dir: string, opts: ReadModelOptions): ModelFiles {
  const file = path.join(dir, MODEL_JSON);
  if (!existsSync(file)) throw new Error(`${file}: model file not found`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(json) || !isRecord(json['modelTopology']) || !Array.isArray(json['weightsManifest'])) {
    throw new Error(`${file}: not a tfjs layers model (no modelTopology or weightsManifest)`);
  }
  const format = json['format'];
  if (format !== undefined && format !== 'layers-model') throw new Error(`${file}: not a tfjs layers model (format "${String(format)}")`);
  const groups = parseManifest(file, json['weightsManifest']);
  const weights = new Map<string, ModelWeight>();
  for (const g of groups) {
    if (opts.weights) readGroup(dir, file, g, weights);
    else for (const e of g.entries) weights.set(e.name, { shape: e.shape, values: null });
  }
  return { source: file, topology: json['modelTopology'], weights };
}

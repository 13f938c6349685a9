/**
 * A trained model on disk in the standard tfjs layers format: model.json
 * (topology and weights manifest) and weights.bin (float32 weights in
 * manifest order), so any tfjs loader and the MPC weight import read it.
 * tfjs-node's file:// handler is not available without tfjs-node, so this
 * writes and reads the two files itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// Custom layer classes must be registered before a model using them is loaded.
import './activations/index.js';
import './models/shortcut.js';
import './models/batch-norm.js';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

interface ModelJson {
  modelTopology: {};
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

export async function saveModel(model: LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
      throw new Error(`saving ${path.join(dir, MODEL_FILE)}: tfjs handed over incomplete model artifacts`);
    }
    const json: ModelJson = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? '',
      convertedBy: 'mpcnet',
      weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
    };
    const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    writeFileSync(path.join(dir, WEIGHTS_FILE), new Uint8Array(weights));
    writeFileSync(path.join(dir, MODEL_FILE), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
  }));
}

export async function loadModel(dir: string): Promise<LayersModel> {
  const file = path.join(dir, MODEL_FILE);
  if (!existsSync(file)) throw new Error(`${file}: model file not found`);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (json.modelTopology === undefined || !Array.isArray(json.weightsManifest)) throw new Error(`${file}: not a tfjs layers model (no modelTopology or weightsManifest)`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const wf = path.join(dir, p);
      if (!existsSync(wf)) throw new Error(`${wf}: weights file named by ${file} not found`);
      const b = readFileSync(wf);
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  const weightData = tf.io.CompositeArrayBuffer.join(buffers);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weightData.byteLength !== expected) throw new Error(`${path.join(dir, WEIGHTS_FILE)}: ${weightData.byteLength} bytes, the manifest in ${file} needs ${expected}`);
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData, format: json.format }));
  } catch (err) {
    throw new Error(`${file}: cannot build the model: ${(err as Error).message}`);
  }
}

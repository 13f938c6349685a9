/**
 * A trained model on disk in the standard tfjs layers format: model.json
 * (topology and weights manifest) and weights.bin (float32 weights in
 * manifest order), so any tfjs loader and the MPC weight import read it.
 * tfjs-node's file:// handler is not available without tfjs-node, so this
 * writes and reads the two files itself (reading through
 * src/nn/model-files.ts, which the MPC import shares).
 *
 * A saved model is for inference: NGNV-ReLU layers, which differ from ReLU
 * only in training, are written as tfjs' standard ReLU, so plain tfjs loads
 * models trained with NGNV (the manifest still records the NGNV settings).
 * Resuming training does not read model.json: it rebuilds the model from the
 * checkpoint's settings. Layers that do need this project's classes to
 * load: PolynomialActivation, PPoly and ResNets' PadShortcut.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MODEL_JSON, readModelFiles } from '../nn/model-files.js';
// Custom layer classes must be registered before a model using them is loaded.
import { NgnvRelu } from './activations/index.js';
import './models/shortcut.js';
import './models/batch-norm.js';

export const MODEL_FILE = MODEL_JSON;
export const WEIGHTS_FILE = 'weights.bin';

interface ModelJson {
  modelTopology: {};
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/**
 * The topology with every NgnvRelu layer turned into a standard ReLU (same
 * name, same inputs; NGNV has no weights, so the manifest is unchanged).
 */
export function portableTopology(topology: {}): {} {
  const copy = structuredClone(topology) as { config?: unknown; model_config?: { config?: unknown } };
  const config = copy.model_config?.config ?? copy.config;
  // Functional and Sequential configs list their layers under "layers"; older Sequential configs are the list itself.
  const layers = Array.isArray(config) ? config : (config as { layers?: unknown } | undefined)?.layers;
  if (!Array.isArray(layers)) return copy;
  for (const layer of layers as { class_name?: string; config?: Record<string, unknown> }[]) {
    if (layer.class_name !== NgnvRelu.className) continue;
    const { r: _r, lambda: _l, variant: _v, ...base } = layer.config ?? {};
    layer.class_name = 'ReLU';
    layer.config = { ...base, max_value: null };
  }
  return copy;
}

export async function saveModel(model: LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
      throw new Error(`saving ${path.join(dir, MODEL_FILE)}: tfjs handed over incomplete model artifacts`);
    }
    if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error(`saving ${path.join(dir, MODEL_FILE)}: tfjs handed over a binary topology`);
    const json: ModelJson = {
      modelTopology: portableTopology(artifacts.modelTopology),
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

/**
 * Loads the model in `dir`; `editTopology`, when given, may rewrite a copy of
 * the parsed topology first (weight-free changes only: the weights are
 * matched by name, e.g. the PANN transformer's activation swaps).
 */
export async function loadModel(dir: string, editTopology?: (topology: unknown) => unknown): Promise<LayersModel> {
  const files = readModelFiles(dir, { weights: true });
  const topology = editTopology ? editTopology(structuredClone(files.topology)) : files.topology;
  // readModelFiles keeps the manifest's order: the specs and the bytes line up.
  const specs: tf.io.WeightsManifestEntry[] = [];
  let total = 0;
  for (const [name, w] of files.weights) {
    specs.push({ name, shape: w.shape, dtype: 'float32' });
    total += w.values!.length;
  }
  const data = new Float32Array(total);
  let at = 0;
  for (const w of files.weights.values()) {
    data.set(w.values!, at);
    at += w.values!.length;
  }
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: topology as {}, weightSpecs: specs, weightData: data.buffer, format: 'layers-model' }));
  } catch (err) {
    throw new Error(`${files.source}: cannot build the model: ${(err as Error).message}`);
  }
}

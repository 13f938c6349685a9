/**
 * The model transformer: edits a saved model's topology JSON so that every
 * ReLU site runs an approximation layer, and (under minimax) every max
 * pooling runs AppMax, then loads it with the original weights (none of the
 * swapped layers has weights, so the weight names still line up).
 *
 * ReLU sites: ReLU layers (max_value unset, no slope or threshold),
 * Activation('relu'), NgnvRelu, and any layer with `activation: 'relu'`
 * (Conv2D, Dense, ...), which becomes linear with the approximation layer
 * inserted after it under the name `<layer>_relu` (functional models: every
 * inbound reference and model output that named the layer is rewired to the
 * new one, node for node). Sequential and functional topologies, bare or
 * inside a Keras `model_config`. Configs are written in the file's snake_case
 * form; tfjs converts them when it loads.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { FitMethod } from '../../approx/fits.js';
import { loadModel } from '../model-io.js';
import './layers.js';

export type PannApprox =
  | { kind: 'minimax'; alpha: number; bound: number | 'auto' }
  | { kind: 'truncation'; lx: number; skip?: number; fracBits?: number; seed?: number }
  | { kind: 'poly'; method: FitMethod; degree: number; interval?: [number, number] | 'auto' };

export type SiteKind = 'relu-layer' | 'activation' | 'ngnv' | 'fused' | 'max-pool';

export interface PannSite {
  /** The layer that now computes the approximation (for fused sites: the inserted layer). */
  layer: string;
  /** The layer of the original model it comes from. */
  source: string;
  kind: SiteKind;
}

/** A replacement layer in the file's form: class name and snake_case config (name included). */
export interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
  name?: string;
  inbound_nodes?: unknown[];
}

/** Makes the layer that replaces a site; pool sites get the pooling's geometry (pool_size, strides, padding, data_format). */
export interface SiteReplacer {
  relu(name: string): LayerJson;
  /** Undefined: leave max pooling as it is. */
  maxPool?: (name: string, geometry: Record<string, unknown>) => LayerJson;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ModelConfig {
  functional: boolean;
  layers: LayerJson[];
  config: Record<string, unknown>;
}

function modelConfig(topology: unknown): ModelConfig {
  if (!isRecord(topology)) throw new Error('model topology: not a JSON object');
  const inner = isRecord(topology.model_config) ? topology.model_config : topology;
  const className = inner.class_name;
  const config = inner.config;
  if (className === 'Sequential' && Array.isArray(config)) throw new Error('model topology: the old Sequential form (a bare layer list) is not supported; re-save the model');
  if (!isRecord(config) || !Array.isArray(config.layers)) throw new Error(`model topology: no layer list (class ${String(className)})`);
  return { functional: className !== 'Sequential', layers: config.layers as LayerJson[], config };
}

function isPlainRelu(l: LayerJson): boolean {
  const c = l.config ?? {};
  const maxValue = c.max_value ?? null;
  return maxValue === null && !c.negative_slope && !c.threshold;
}

function siteKind(l: LayerJson): SiteKind | undefined {
  if (l.class_name === 'ReLU') return isPlainRelu(l) ? 'relu-layer' : undefined;
  if (l.class_name === 'NgnvRelu') return 'ngnv';
  if (l.class_name === 'Activation') return l.config?.activation === 'relu' ? 'activation' : undefined;
  if (l.class_name === 'MaxPooling2D') return 'max-pool';
  if (l.config?.activation === 'relu') return 'fused';
  return undefined;
}

const nameOf = (l: LayerJson): string => String(l.config?.name ?? l.name);

/** Replaces `from` by `to` in every [layer, node, tensor, ...] reference of an inbound-node or output list. */
function rewire(value: unknown, from: string, to: string): unknown {
  if (!Array.isArray(value)) return value;
  if (value.length >= 3 && value[0] === from && typeof value[1] === 'number' && typeof value[2] === 'number') return [to, ...value.slice(1)];
  return value.map((v) => rewire(v, from, to));
}

/**
 * Rewrites the topology (in place; pass a copy) and lists the sites, in
 * layer order. Throws when a model has no site to replace.
 */
export function rewriteTopology(topology: unknown, replace: SiteReplacer): PannSite[] {
  const m = modelConfig(topology);
  const names = new Set(m.layers.map(nameOf));
  const sites: PannSite[] = [];
  const out: LayerJson[] = [];
  for (const layer of m.layers) {
    const kind = siteKind(layer);
    const name = nameOf(layer);
    if (kind === undefined || (kind === 'max-pool' && !replace.maxPool)) {
      out.push(layer);
      continue;
    }
    if (kind === 'fused') {
      let added = `${name}_relu`;
      for (let k = 2; names.has(added); k++) added = `${name}_relu${k}`;
      names.add(added);
      layer.config = { ...layer.config, activation: 'linear' };
      const inserted = replace.relu(added);
      out.push(layer);
      if (m.functional) {
        for (const other of m.layers) if (other !== layer && other.inbound_nodes) other.inbound_nodes = rewire(other.inbound_nodes, name, added) as unknown[];
        m.config.output_layers = rewire(m.config.output_layers, name, added);
        const nodes = Math.max(layer.inbound_nodes?.length ?? 1, 1);
        out.push({ ...inserted, name: added, inbound_nodes: Array.from({ length: nodes }, (_, i) => [[name, i, 0, {}]]) });
      } else out.push(inserted);
      sites.push({ layer: added, source: name, kind });
      continue;
    }
    const swapped =
      kind === 'max-pool'
        ? replace.maxPool!(name, { pool_size: layer.config.pool_size, strides: layer.config.strides, padding: layer.config.padding, data_format: layer.config.data_format ?? 'channels_last' })
        : replace.relu(name);
    // same name, same inbound nodes: nothing to rewire
    out.push(m.functional ? { ...swapped, name, inbound_nodes: layer.inbound_nodes ?? [] } : swapped);
    sites.push({ layer: name, source: name, kind });
  }
  if (sites.filter((s) => s.kind !== 'max-pool').length === 0) throw new Error('the model has no ReLU to approximate (no ReLU, Activation(relu), NgnvRelu or activation: relu layer)');
  m.config.layers = out;
  return sites;
}

/** Lists the sites without changing anything. */
export function findSites(topology: unknown, withMaxPool = true): PannSite[] {
  const dummy = (name: string): LayerJson => ({ class_name: 'ReLU', config: { name } });
  return rewriteTopology(structuredClone(topology), { relu: dummy, ...(withMaxPool ? { maxPool: dummy } : {}) });
}

/** An approximation with every 'auto' settled and defaults filled in: what the layers are built from. */
export type ResolvedApprox =
  | { kind: 'minimax'; alpha: number; bound: number }
  | { kind: 'truncation'; lx: number; skip: number; fracBits: number; seed: number }
  | { kind: 'poly'; method: FitMethod; degree: number; interval: [number, number]; coefficients: number[] };

const common = (name: string): Record<string, unknown> => ({ name, trainable: false, dtype: 'float32' });

export function replacerFor(a: ResolvedApprox): SiteReplacer {
  switch (a.kind) {
    case 'minimax':
      return {
        relu: (name) => ({ class_name: 'AppReluLayer', config: { ...common(name), alpha: a.alpha, bound: a.bound } }),
        maxPool: (name, g) => ({ class_name: 'AppMaxPoolLayer', config: { ...common(name), ...g, alpha: a.alpha, bound: a.bound } }),
      };
    case 'truncation':
      return { relu: (name) => ({ class_name: 'TruncReluLayer', config: { ...common(name), lx: a.lx, skip: a.skip, frac_bits: a.fracBits, seed: a.seed } }) };
    case 'poly':
      return { relu: (name) => ({ class_name: 'PolyActivationLayer', config: { ...common(name), coefficients: a.coefficients, interval: a.interval } }) };
  }
}

/** The calibration probes: exact ReLU and max pooling that record max |input|. */
export const probeReplacer: SiteReplacer = {
  relu: (name) => ({ class_name: 'PannProbeLayer', config: { ...common(name), mode: 'relu' } }),
  maxPool: (name, g) => ({ class_name: 'PannProbeLayer', config: { ...common(name), ...g, mode: 'maxpool' } }),
};

/** Loads the model in `dir` with `replace` applied; also returns the sites. */
export async function loadRewritten(dir: string, replace: SiteReplacer): Promise<{ model: LayersModel; sites: PannSite[] }> {
  let sites: PannSite[] = [];
  const model = await loadModel(dir, (topology) => {
    sites = rewriteTopology(topology, replace);
    return topology;
  });
  return { model, sites };
}

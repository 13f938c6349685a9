/**
 * The Keras layer graph of a tfjs model.json, before any conversion: the
 * layers of a Sequential or functional (Model) topology with their inputs,
 * checked (one input, one output, single-output layers called once, unique
 * names, no cycles, no dangling inputs) and put in one deterministic
 * topological order. Problems are collected in the caller's list; only a
 * topology that cannot be read at all throws.
 */

export type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface RawLayer {
  /** Position in model.json, the tie-break of the topological order. */
  index: number;
  name: string;
  className: string;
  config: Json;
  /** Names of the layers whose outputs it takes. */
  inputs: string[];
}

interface Topology {
  layers: RawLayer[];
  input: string | undefined;
  output: string | undefined;
}

/** A config field by its saved (snake_case) name, or the camelCase one. */
export function field(config: Json, snake: string): unknown {
  if (snake in config) return config[snake];
  const camel = snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return config[camel];
}

function layerList(fail: (msg: string) => never, list: unknown): Json[] {
  if (!Array.isArray(list) || !list.every(isRecord)) fail('the model config has no list of layers');
  return list as Json[];
}

function rawLayer(fail: (msg: string) => never, l: Json, index: number, inputs: string[]): RawLayer {
  const config = isRecord(l['config']) ? l['config'] : {};
  const name = typeof l['name'] === 'string' ? l['name'] : config['name'];
  if (typeof name !== 'string' || typeof l['class_name'] !== 'string') fail(`layer ${index} has no name or class_name`);
  return { index, name, className: l['class_name'], config, inputs };
}

/** [[name, node, tensor], ...] (input_layers / output_layers) -> names. */
function endpointNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  // A single endpoint may be saved unwrapped: [name, node, tensor].
  const list = typeof v[0] === 'string' ? [v] : v;
  return list.filter(Array.isArray).map((e) => String((e as unknown[])[0]));
}

function parseTopology(source: string, topology: unknown, problems: string[]): Topology {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  let t = topology;
  // Models converted from Keras files wrap the model in model_config.
  if (isRecord(t) && isRecord(t['model_config'])) t = t['model_config'];
  if (!isRecord(t)) return fail('modelTopology is not an object');
  const cls = t['class_name'];
  const config = t['config'];

  if (cls === 'Sequential') {
    const list = layerList(fail, Array.isArray(config) ? config : isRecord(config) ? config['layers'] : undefined);
    if (list.length === 0) fail('the Sequential model has no layers');
    const layers: RawLayer[] = [];
    let prev: string | undefined;
    list.forEach((l, i) => {
      const raw = rawLayer(fail, l, i, prev === undefined ? [] : [prev]);
      if (i === 0 && raw.className !== 'InputLayer') {
        // tfjs saves a Sequential model's input as its first layer's batch_input_shape.
        const shape = field(raw.config, 'batch_input_shape') ?? field(raw.config, 'batch_shape');
        const taken = new Set(list.map((x) => (isRecord(x['config']) ? x['config']['name'] : undefined)));
        let name = `${raw.name}_input`;
        while (taken.has(name)) name += '_';
        if (shape === undefined) problems.push(`layer ${raw.name} (${raw.className}): the first layer of a Sequential model has no batch_input_shape, so the input shape is unknown`);
        layers.push({ index: -1, name, className: 'InputLayer', config: { batch_input_shape: shape }, inputs: [] });
        raw.inputs = [name];
      }
      layers.push(raw);
      prev = raw.name;
    });
    return { layers, input: layers[0]!.name, output: layers[layers.length - 1]!.name };
  }

  if (cls === 'Model' || cls === 'Functional') {
    if (!isRecord(config)) fail(`the ${cls} model has no config`);
    const c = config as Json;
    const list = layerList(fail, c['layers']);
    const layers = list.map((l, i) => {
      const nodes = l['inbound_nodes'];
      const inputs: string[] = [];
      const name = String(l['name'] ?? (isRecord(l['config']) ? l['config']['name'] : i));
      const cn = String(l['class_name']);
      if (Array.isArray(nodes) && nodes.length > 1) {
        problems.push(`layer ${name} (${cn}): called ${nodes.length} times (shared layers are not supported)`);
      }
      const node = Array.isArray(nodes) ? nodes[0] : undefined;
      if (node !== undefined) {
        if (!Array.isArray(node) || !node.every((e) => Array.isArray(e) && typeof e[0] === 'string')) {
          problems.push(`layer ${name} (${cn}): inbound node not in tfjs's [[name, node, tensor, kwargs], ...] form`);
        } else {
          for (const e of node as unknown[][]) {
            if ((e[1] ?? 0) !== 0 || (e[2] ?? 0) !== 0) problems.push(`layer ${name} (${cn}): takes output ${String(e[2])} of node ${String(e[1])} of ${String(e[0])} (only single-output layers called once are supported)`);
            inputs.push(e[0] as string);
          }
        }
      }
      return rawLayer(fail, l, i, inputs);
    });
    const ins = endpointNames(c['input_layers']);
    const outs = endpointNames(c['output_layers']);
    if (ins.length !== 1) problems.push(`${ins.length} model inputs (${ins.join(', ')}): exactly one is supported`);
    if (outs.length !== 1) problems.push(`${outs.length} model outputs (${outs.join(', ')}): exactly one is supported`);
    return { layers, input: ins[0], output: outs[0] };
  }

  return fail(`modelTopology class "${String(cls)}" is neither a Sequential nor a functional (Model) model`);
}

/**
 * Kahn's algorithm, always taking the ready layer that comes first in
 * model.json: the file's own order whenever that order is valid, and the
 * same order on every party in any case.
 */
function topologicalOrder(layers: RawLayer[], problems: string[]): RawLayer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const waiting = new Map<string, number>();
  const consumers = new Map<string, RawLayer[]>();
  for (const l of layers) {
    let n = 0;
    for (const i of l.inputs) {
      if (!byName.has(i)) {
        problems.push(`layer ${l.name} (${l.className}): its input ${i} is not a layer of the model`);
        continue;
      }
      n++;
      consumers.set(i, [...(consumers.get(i) ?? []), l]);
    }
    waiting.set(l.name, n);
  }
  const ready = layers.filter((l) => waiting.get(l.name) === 0);
  const order: RawLayer[] = [];
  while (ready.length > 0) {
    let k = 0;
    for (let j = 1; j < ready.length; j++) if (ready[j]!.index < ready[k]!.index) k = j;
    const l = ready.splice(k, 1)[0]!;
    order.push(l);
    for (const c of consumers.get(l.name) ?? []) {
      const n = waiting.get(c.name)! - 1;
      waiting.set(c.name, n);
      if (n === 0) ready.push(c);
    }
  }
  if (order.length < layers.length) {
    const stuck = layers.filter((l) => !order.includes(l)).map((l) => l.name);
    problems.push(`layers ${stuck.join(', ')} form a cycle`);
  }
  return order;
}

/**
 * The model's layers in topological order (parseTopology, topologicalOrder)
 * and its output layer's name, after the checks on the graph as a whole.
 */
export function layerGraph(source: string, topology: unknown, problems: string[]): { order: RawLayer[]; output: string | undefined } {
  const topo = parseTopology(source, topology, problems);
  const order = topologicalOrder(topo.layers, problems);
  const inputLayers = topo.layers.filter((l) => l.className === 'InputLayer');
  if (inputLayers.length > 1) problems.push(`${inputLayers.length} input layers (${inputLayers.map((l) => l.name).join(', ')}): exactly one is supported`);
  if (topo.input !== undefined && order[0] !== undefined && order[0].name !== topo.input) {
    problems.push(`layer ${order[0].name} (${order[0].className}) has no inputs but is not the model's input ${topo.input}`);
  }
  if (topo.output !== undefined && !topo.layers.some((l) => l.name === topo.output)) problems.push(`the model output ${topo.output} is not a layer of the model`);
  const names = new Set<string>();
  for (const l of topo.layers) {
    if (names.has(l.name)) problems.push(`layer name ${l.name} is used twice`);
    names.add(l.name);
  }
  return { order, output: topo.output };
}

/** `mpcnet eval`: test accuracy of a backbone saved by `mpcnet train`. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadDataset } from '../data/index.js';
import { BACKEND_NAMES, describeBackend, selectBackend, type BackendName } from '../plain/backend.js';
import { evaluateAccuracy } from '../plain/evaluate.js';
import { readManifest } from '../plain/manifest.js';
import { loadModel } from '../plain/model-io.js';

interface Args {
  model: string;
  dataset?: string;
  backend: BackendName | 'auto';
  limitTest?: number;
  json: boolean;
}

export interface EvalReport {
  accuracy: number;
  n: number;
  model: string;
  dataset: string;
  backend: string;
}

export async function evalFromArgs(a: Omit<Args, 'json'>, log: (line: string) => void): Promise<EvalReport> {
  const manifest = readManifest(a.model);
  const backend = await selectBackend(a.backend);
  log(`backend: ${describeBackend(backend)}`);
  const spec = a.dataset ?? manifest.dataset.spec;
  const d = loadDataset(spec, { limitTest: a.limitTest });
  if (d.height !== manifest.dataset.height || d.width !== manifest.dataset.width || d.channels !== manifest.dataset.channels) {
    throw new Error(`${spec}: images are ${d.height}x${d.width}x${d.channels}, the model in ${a.model} takes ${manifest.dataset.height}x${manifest.dataset.width}x${manifest.dataset.channels}`);
  }
  const model = await loadModel(a.model);
  const acc = await evaluateAccuracy(model, d, d.test, manifest.normalization);
  return { accuracy: acc.accuracy, n: acc.n, model: a.model, dataset: spec, backend: backend.name };
}

export const evalCommand: CommandModule<object, Args> = {
  command: 'eval',
  describe: 'Test accuracy of a backbone saved by mpcnet train',
  builder: (y: Argv) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'directory written by mpcnet train (manifest.json, model.json, weights.bin)' })
      .option('dataset', { type: 'string', describe: 'override the manifest\'s dataset (same image shape)' })
      .option('backend', { type: 'string', choices: ['auto', ...BACKEND_NAMES], default: 'auto' as const })
      .option('limit-test', { type: 'number', describe: 'use N test images, spread over the split' })
      .option('json', { type: 'boolean', default: false, describe: 'print { accuracy, n, ... } as JSON' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const r = await evalFromArgs(argv, (line) => void process.stderr.write(`${line}\n`));
    if (argv.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else process.stdout.write(`accuracy ${(r.accuracy * 100).toFixed(2)}% (n = ${r.n}) on ${r.dataset}\n`);
  },
};

/** Datasets by CLI spec: `mnist` (embedded), `idx:DIR`, `cifar10:DIR`. */
import { loadCifar10 } from './cifar10.js';
import { loadIdxDataset } from './idx.js';
import { loadEmbeddedMnist } from './mnist.js';
import { imageSize, limitSplit, type ImageDataset } from './types.js';

export * from './types.js';
export { loadEmbeddedMnist } from './mnist.js';
export { loadIdxDataset, parseIdx, readIdxFile } from './idx.js';
export { loadCifar10, parseCifar10Batch } from './cifar10.js';
export { gatherNormalized, measureNormalization, type Normalization } from './normalization.js';
export { syntheticDataset } from './synthetic.js';

export interface LoadOptions {
  /** Use only the first N training / test images (quick runs). */
  limitTrain?: number;
  limitTest?: number;
}

export function loadDataset(spec: string, opts: LoadOptions = {}): ImageDataset {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  let d: ImageDataset;
  if (kind === 'mnist' && arg === '') d = loadEmbeddedMnist();
  else if (kind === 'idx' && arg !== '') d = loadIdxDataset(arg, spec);
  else if (kind === 'cifar10' && arg !== '') d = loadCifar10(arg, spec);
  else throw new Error(`unknown dataset "${spec}": use mnist, idx:DIR or cifar10:DIR`);
  const size = imageSize(d);
  return { ...d, train: limitSplit(d.train, size, opts.limitTrain), test: limitSplit(d.test, size, opts.limitTest) };
}

/**
 * CIFAR-style ResNet-(6k+2) (He et al. 2016, section 4.2): a 3x3 conv with 16
 * filters, three stages of k basic blocks with 16, 32, 64 filters (stride 2
 * at the first block of stages 2 and 3), global average pooling, a dense
 * classifier. ResNet-20/32/44/56 are k = 3/5/7/9. Any input size and channel
 * count: the convolutions use same padding and the pooling is global.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { makeActivation } from '../activations/index.js';
import { convBn, dense, type BuildContext } from './common.js';
import { PadShortcut } from './shortcut.js';

export function resnetDepthOk(depth: number): boolean {
  return Number.isInteger(depth) && depth >= 8 && (depth - 2) % 6 === 0;
}

export function buildResnet(ctx: BuildContext, depth: number, inputShape: [number, number, number], numClasses: number): LayersModel {
  if (!resnetDepthOk(depth)) throw new Error(`ResNet depth must be 6k+2 (20, 32, 44, 56, ...), got ${depth}`);
  const blocks = (depth - 2) / 6;
  const input = tfl.input({ shape: inputShape, name: 'input' });
  let x = convBn(ctx, input, 'stem', 16, 3, 1);
  let channels = 16;
  [16, 32, 64].forEach((filters, stage) => {
    for (let b = 0; b < blocks; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const name = `s${stage + 1}b${b + 1}`;
      let y = convBn(ctx, x, `${name}a`, filters, 3, stride);
      y = convBn(ctx, y, `${name}b`, filters, 3, 1, false);
      const shortcut = stride !== 1 || filters !== channels
        ? (new PadShortcut({ name: `${name}_short`, stride, outChannels: filters }).apply(x) as SymbolicTensor)
        : x;
      const sum = tfl.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as SymbolicTensor;
      x = makeActivation(ctx.activation, `${name}_act`).apply(sum) as SymbolicTensor;
      channels = filters;
    }
  });
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as SymbolicTensor;
  const logits = dense(ctx, x, 'logits', numClasses);
  return tfl.model({ inputs: input, outputs: logits, name: `resnet${depth}` });
}

/**
 * A small learnable dataset for unit tests only: each class is a fixed random
 * template plus pixel noise, so tiny models separate it in a few steps.
 */
import type { ImageDataset, ImageSplit } from './types.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface SyntheticOptions {
  height?: number;
  width?: number;
  channels?: number;
  numClasses?: number;
  train?: number;
  test?: number;
  noise?: number;
  seed?: number;
}

export function syntheticDataset(o: SyntheticOptions = {}): ImageDataset {
  const height = o.height ?? 8;
  const width = o.width ?? 8;
  const channels = o.channels ?? 1;
  const numClasses = o.numClasses ?? 4;
  const noise = o.noise ?? 40;
  const rand = lcg(o.seed ?? 1);
  const size = height * width * channels;
  const templates = Array.from({ length: numClasses }, () => Uint8Array.from({ length: size }, () => (rand() < 0.5 ? 40 : 215)));
  const make = (count: number): ImageSplit => {
    const pixels = new Uint8Array(count * size);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const label = i % numClasses;
      labels[i] = label;
      for (let p = 0; p < size; p++) {
        const v = templates[label]![p]! + (rand() * 2 - 1) * noise;
        pixels[i * size + p] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    return { pixels, labels, count };
  };
  return {
    kind: 'synthetic', spec: 'synthetic', height, width, channels, numClasses,
    train: make(o.train ?? 64), test: make(o.test ?? 32),
    split: 'synthetic (unit tests)', files: [],
  };
}

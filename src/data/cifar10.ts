/**
 * CIFAR-10, binary version, from a local directory (no download).
 *
 * Each of data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin
 * (test) is a run of 3073-byte records: a label byte (0-9), then the 32x32
 * image as 1024 red, 1024 green, 1024 blue bytes, rows first. Records are
 * converted to NHWC. The directory may be the archive's
 * cifar-10-batches-bin/ or its parent.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkSplit, type ImageDataset, type ImageSplit } from './types.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_FILE = 'test_batch.bin';

/** Decodes the records of one batch file into NHWC pixels and labels. */
export function parseCifar10Batch(bytes: Uint8Array, file: string): ImageSplit {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new Error(`${file}: ${bytes.length} bytes is not a whole number of 3073-byte CIFAR-10 records (corrupt or not a CIFAR-10 binary batch)`);
  }
  const count = bytes.length / RECORD;
  const pixels = new Uint8Array(count * 3 * PLANE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const r = i * RECORD;
    const label = bytes[r]!;
    if (label > 9) throw new Error(`${file}: record ${i} has label ${label} (expected 0-9; corrupt file?)`);
    labels[i] = label;
    const out = i * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[r + 1 + p]!;
      pixels[out + 3 * p + 1] = bytes[r + 1 + PLANE + p]!;
      pixels[out + 3 * p + 2] = bytes[r + 1 + 2 * PLANE + p]!;
    }
  }
  return { pixels, labels, count };
}

function readBatch(dir: string, name: string): ImageSplit {
  const file = path.join(dir, name);
  if (!existsSync(file)) throw new Error(`${file}: CIFAR-10 batch file not found`);
  return parseCifar10Batch(readFileSync(file), file);
}

function join(parts: ImageSplit[]): ImageSplit {
  const count = parts.reduce((n, p) => n + p.count, 0);
  const size = 3 * PLANE;
  const pixels = new Uint8Array(count * size);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * size);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { pixels, labels, count };
}

export function loadCifar10(dir: string, spec = `cifar10:${dir}`): ImageDataset {
  if (!existsSync(dir)) throw new Error(`${dir}: CIFAR-10 directory not found`);
  const nested = path.join(dir, 'cifar-10-batches-bin');
  const root = !existsSync(path.join(dir, CIFAR10_TEST_FILE)) && existsSync(nested) ? nested : dir;
  const train = join(CIFAR10_TRAIN_FILES.map((f) => readBatch(root, f)));
  const test = readBatch(root, CIFAR10_TEST_FILE);
  checkSplit(train, 3 * PLANE, 10, path.join(root, 'data_batch_*.bin'));
  checkSplit(test, 3 * PLANE, 10, path.join(root, CIFAR10_TEST_FILE));
  return {
    kind: 'cifar10', spec, height: SIDE, width: SIDE, channels: 3, numClasses: 10, train, test,
    split: 'CIFAR-10 data_batch_1-5 train, test_batch test',
    files: [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].map((f) => path.join(root, f)),
  };
}

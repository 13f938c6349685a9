/**
 * IDX files (the MNIST format, also used by Fashion-MNIST), gzipped or not.
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte), a dimension
 * count, then one big-endian uint32 per dimension, then the data. Images are
 * 3-dimensional (count, rows, cols), labels 1-dimensional.
 * A directory holds the four standard files, e.g. train-images-idx3-ubyte.gz;
 * the dot spelling (train-images.idx3-ubyte) is accepted too.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { checkSplit, type ImageDataset, type ImageSplit } from './types.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses one IDX file's bytes (already gunzipped). `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new Error(`${file}: too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${file}: not an IDX file (magic bytes ${bytes[0]}, ${bytes[1]}; expected 0, 0)`);
  if (bytes[2] !== 0x08) throw new Error(`${file}: IDX element type 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const rank = bytes[3]!;
  const header = 4 + 4 * rank;
  if (rank === 0 || bytes.length < header) throw new Error(`${file}: truncated IDX header (rank ${rank})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== size) {
    throw new Error(`${file}: IDX header says [${dims.join(', ')}] = ${size} bytes of data, the file holds ${bytes.length - header}`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** Reads an IDX file, gunzipping when it starts with the gzip magic. */
export function readIdxFile(file: string): IdxArray {
  let raw: Uint8Array;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read: ${(err as Error).message}`);
  }
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch (err) {
      throw new Error(`${file}: corrupt gzip data: ${(err as Error).message}`);
    }
  }
  return parseIdx(raw, file);
}

const ROLES = {
  trainImages: ['train-images', 'idx3-ubyte'],
  trainLabels: ['train-labels', 'idx1-ubyte'],
  testImages: ['t10k-images', 'idx3-ubyte'],
  testLabels: ['t10k-labels', 'idx1-ubyte'],
} as const;

function findRole(dir: string, names: string[], [stem, suffix]: readonly [string, string]): string {
  const pattern = new RegExp(`^${stem}[-.]${suffix}(\\.gz)?$`);
  const hit = names.find((n) => pattern.test(n));
  if (hit === undefined) throw new Error(`${path.join(dir, `${stem}-${suffix}[.gz]`)}: file not found (IDX dataset directory ${dir})`);
  return path.join(dir, hit);
}

function split(images: IdxArray, labels: IdxArray, imageFile: string, labelFile: string): ImageSplit {
  if (images.dims.length !== 3) throw new Error(`${imageFile}: expected 3 IDX dimensions (count, rows, cols), got ${images.dims.length}`);
  if (labels.dims.length !== 1) throw new Error(`${labelFile}: expected 1 IDX dimension (count), got ${labels.dims.length}`);
  if (images.dims[0] !== labels.dims[0]) throw new Error(`${labelFile}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${imageFile}`);
  return { pixels: images.data, labels: labels.data, count: images.dims[0]! };
}

/** Loads the four standard IDX files from `dir`. */
export function loadIdxDataset(dir: string, spec = `idx:${dir}`): ImageDataset {
  if (!existsSync(dir)) throw new Error(`${dir}: IDX dataset directory not found`);
  const names = readdirSync(dir);
  const f = {
    trainImages: findRole(dir, names, ROLES.trainImages),
    trainLabels: findRole(dir, names, ROLES.trainLabels),
    testImages: findRole(dir, names, ROLES.testImages),
    testLabels: findRole(dir, names, ROLES.testLabels),
  };
  const trainImages = readIdxFile(f.trainImages);
  const testImages = readIdxFile(f.testImages);
  const train = split(trainImages, readIdxFile(f.trainLabels), f.trainImages, f.trainLabels);
  const test = split(testImages, readIdxFile(f.testLabels), f.testImages, f.testLabels);
  const [, height, width] = trainImages.dims as [number, number, number];
  if (testImages.dims[1] !== height || testImages.dims[2] !== width) {
    throw new Error(`${f.testImages}: images are ${testImages.dims[1]}x${testImages.dims[2]}, training images ${height}x${width}`);
  }
  let maxLabel = 0;
  for (const l of [train.labels, test.labels]) for (const v of l) maxLabel = Math.max(maxLabel, v);
  const numClasses = Math.max(10, maxLabel + 1);
  checkSplit(train, height * width, numClasses, f.trainImages);
  checkSplit(test, height * width, numClasses, f.testImages);
  return {
    kind: 'idx', spec, height, width, channels: 1, numClasses, train, test,
    split: 'the files\' own train (train-*) and test (t10k-*) sets',
    files: Object.values(f),
  };
}

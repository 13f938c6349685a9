/** Dataset loaders: embedded MNIST, IDX files (gzipped or not), CIFAR-10 binary batches, normalisation. */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  gatherNormalized, loadCifar10, loadDataset, loadEmbeddedMnist, loadIdxDataset, measureNormalization, parseCifar10Batch, parseIdx,
} from '../src/data/index.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'mpcnet-data-'));

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

function writeIdxDir(dir: string, opts: { gz: boolean; train: number; test: number; rows?: number; cols?: number; dot?: boolean }): void {
  const rows = opts.rows ?? 3;
  const cols = opts.cols ?? 2;
  const files: [string, Uint8Array][] = [
    ['train-images-idx3-ubyte', idx([opts.train, rows, cols], Uint8Array.from({ length: opts.train * rows * cols }, (_, i) => i % 256))],
    ['train-labels-idx1-ubyte', idx([opts.train], Uint8Array.from({ length: opts.train }, (_, i) => i % 10))],
    ['t10k-images-idx3-ubyte', idx([opts.test, rows, cols], Uint8Array.from({ length: opts.test * rows * cols }, (_, i) => 255 - (i % 256)))],
    ['t10k-labels-idx1-ubyte', idx([opts.test], Uint8Array.from({ length: opts.test }, (_, i) => (i * 3) % 10))],
  ];
  mkdirSync(dir, { recursive: true });
  for (const [dashed, bytes] of files) {
    const name = opts.dot ? dashed.replace(/-idx/, '.idx') : dashed;
    writeFileSync(path.join(dir, opts.gz ? `${name}.gz` : name), opts.gz ? gzipSync(bytes) : bytes);
  }
}

describe('embedded MNIST', () => {
  it('has the fixed 7,996 / 2,004 split of the 10,000 real digits, 28x28 bytes', () => {
    const d = loadEmbeddedMnist();
    expect([d.train.count, d.test.count]).toEqual([7996, 2004]);
    expect([d.height, d.width, d.channels, d.numClasses]).toEqual([28, 28, 1, 10]);
    const counts = new Array(10).fill(0);
    for (const l of d.test.labels) counts[l]++;
    expect(counts.every((c) => c >= 170 && c <= 230)).toBe(true);
    // Real digits: mostly background, some ink at full intensity.
    const px = d.train.pixels;
    const zeros = px.filter((v) => v === 0).length / px.length;
    expect(zeros).toBeGreaterThan(0.7);
    expect(Math.max(...px.subarray(0, 784))).toBeGreaterThan(200);
    expect(d.split).toMatch(/80%/);
  });

  it('loads by spec, with limits spread over the (class-ordered) split', () => {
    const d = loadDataset('mnist', { limitTrain: 100, limitTest: 50 });
    expect([d.train.count, d.test.count]).toEqual([100, 50]);
    expect(new Set(d.train.labels).size).toBe(10);
    expect(() => loadDataset('imagenet')).toThrow(/unknown dataset "imagenet"/);
  });
});

describe('IDX', () => {
  it('loads the four files, gzipped or raw, in either name spelling', () => {
    for (const [gz, dot] of [[true, false], [false, false], [true, true]] as const) {
      const dir = tmp();
      writeIdxDir(dir, { gz, dot, train: 12, test: 5 });
      const d = loadIdxDataset(dir);
      expect([d.train.count, d.test.count, d.height, d.width, d.channels, d.numClasses]).toEqual([12, 5, 3, 2, 1, 10]);
      expect(Array.from(d.train.pixels.subarray(0, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(Array.from(d.test.labels)).toEqual([0, 3, 6, 9, 2]);
      expect(loadDataset(`idx:${dir}`).spec).toBe(`idx:${dir}`);
    }
  });

  it('names the file for missing, corrupt or inconsistent data', () => {
    const dir = tmp();
    writeIdxDir(dir, { gz: false, train: 4, test: 2 });
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idx([3], new Uint8Array(3)));
    expect(() => loadIdxDataset(dir)).toThrow(/t10k-labels-idx1-ubyte: 3 labels for 2 images/);
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), new Uint8Array([1, 2, 3, 4, 5, 6]));
    expect(() => loadIdxDataset(dir)).toThrow(/t10k-labels-idx1-ubyte: not an IDX file/);
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    const gzDir = tmp();
    writeIdxDir(gzDir, { gz: true, train: 4, test: 2 });
    writeFileSync(path.join(gzDir, 'train-images-idx3-ubyte.gz'), new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    expect(() => loadIdxDataset(gzDir)).toThrow(/train-images-idx3-ubyte.gz: corrupt gzip data/);
    expect(() => parseIdx(idx([2, 3], new Uint8Array(5)), 'x.idx')).toThrow(/x.idx: IDX header says \[2, 3\] = 6 bytes of data, the file holds 5/);
    const empty = tmp();
    expect(() => loadIdxDataset(empty)).toThrow(/train-images-idx3-ubyte\[\.gz\]: file not found/);
    expect(() => loadIdxDataset(path.join(empty, 'nope'))).toThrow(/nope: IDX dataset directory not found/);
  });
});

describe('CIFAR-10 binary', () => {
  function batch(labels: number[]): Uint8Array {
    const rec = 3073;
    const out = new Uint8Array(labels.length * rec);
    labels.forEach((l, i) => {
      out[i * rec] = l;
      for (let p = 0; p < 1024; p++) {
        out[i * rec + 1 + p] = (p + i) % 256; // red
        out[i * rec + 1 + 1024 + p] = 7; // green
        out[i * rec + 1 + 2048 + p] = 200 + i; // blue
      }
    });
    return out;
  }

  it('decodes records to NHWC and loads the six files (or their cifar-10-batches-bin folder)', () => {
    const s = parseCifar10Batch(batch([3, 9]), 'b.bin');
    expect(s.count).toBe(2);
    expect(Array.from(s.labels)).toEqual([3, 9]);
    expect(Array.from(s.pixels.subarray(0, 6))).toEqual([0, 7, 200, 1, 7, 200]);
    expect(Array.from(s.pixels.subarray(3072, 3075))).toEqual([1, 7, 201]);
    const root = tmp();
    const dir = path.join(root, 'cifar-10-batches-bin');
    mkdirSync(dir);
    for (let b = 1; b <= 5; b++) writeFileSync(path.join(dir, `data_batch_${b}.bin`), batch([b, b + 1]));
    writeFileSync(path.join(dir, 'test_batch.bin'), batch([0]));
    const d = loadCifar10(root);
    expect([d.train.count, d.test.count, d.height, d.width, d.channels]).toEqual([10, 1, 32, 32, 3]);
    expect(Array.from(d.train.labels)).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    writeFileSync(path.join(dir, 'test_batch.bin'), batch([0]).subarray(0, 3000));
    expect(() => loadCifar10(root)).toThrow(/test_batch.bin: 3000 bytes is not a whole number of 3073-byte CIFAR-10 records/);
    writeFileSync(path.join(dir, 'test_batch.bin'), batch([12]));
    expect(() => loadCifar10(root)).toThrow(/test_batch.bin: record 0 has label 12/);
    expect(() => loadCifar10(tmp())).toThrow(/data_batch_1.bin: CIFAR-10 batch file not found/);
  });
});

describe('normalisation', () => {
  it('measures per-channel mean and std on [0, 1] and applies (x/255 - mean) / std', () => {
    const pixels = Uint8Array.from([0, 255, 255, 255, 0, 255, 255, 255]); // 2 images of 2 pixels x 2 channels
    const split = { pixels, labels: new Uint8Array(2), count: 2 };
    const n = measureNormalization(split, 2);
    expect(n.mean[0]).toBeCloseTo(0.5, 6);
    expect(n.mean[1]).toBeCloseTo(1, 6);
    expect(n.std[0]).toBeCloseTo(0.5, 6);
    expect(n.std[1]).toBe(1); // constant channel left unscaled
    const out = new Float32Array(4);
    gatherNormalized(split, 4, [1], n, out);
    expect(Array.from(out).map((v) => +v.toFixed(5))).toEqual([-1, 0, 1, 0]);
  });
});

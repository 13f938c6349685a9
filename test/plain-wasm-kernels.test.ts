/**
 * The wasm training kernels against the cpu backend's gradients: the
 * Conv2DBackpropFilter that wasm lacks (tfjs issue 8474) and the faster
 * Conv2DBackpropInput that replaces the shipped one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/plain/backend.js';
import { registerWasmTrainingKernels } from '../src/plain/wasm-kernels/index.js';
import { conv2DBackpropFilterWasm } from '../src/plain/wasm-kernels/conv2d-backprop-filter.js';
import { conv2DBackpropInputWasm } from '../src/plain/wasm-kernels/conv2d-backprop-input.js';
import { WASM_TRAINING_KERNELS } from '../src/plain/wasm-kernels/index.js';

/** Other replaced kernels, each probed through public ops (values and gradients). */
const PROBES: { name: string; run: () => tf.Tensor[] }[] = [
  { name: 'Tile', run: () => [tf.tile(t([2, 1, 3], 1), [3, 4, 2]), tf.tile(t([1, 1, 1, 5], 2), [2, 3, 4, 1]), tf.tile(tf.tensor1d([1, 2, 3], 'int32'), [3])] },
  { name: 'Sum', run: () => [tf.sum(t([6, 5, 4, 3], 3), [0, 1, 2]), tf.sum(t([6, 5, 4, 3], 4), [0], true), tf.sum(t([6, 5, 4], 5), [1, 2]), tf.sum(t([7, 3], 6))] },
  { name: 'Mean', run: () => [tf.mean(t([6, 5, 4, 3], 7), [0, 1, 2], true), tf.mean(t([6, 5, 4], 8), [2]), tf.mean(t([9], 9))] },
  { name: 'AvgPoolGrad', run: () => [
    tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid'), t([2, 3, 3, 4], 10))))(t([2, 7, 6, 4], 11)),
    tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, 3, 1, 'same'), t([2, 5, 5, 3], 12))))(t([2, 5, 5, 3], 13)),
    tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, 1, 2, 'valid'), t([1, 3, 3, 2], 14))))(t([1, 5, 5, 2], 15)),
  ] },
  { name: 'BatchMatMul', run: () => [
    tf.matMul(t([5, 7], 16), t([6, 7], 17), false, true), tf.matMul(t([7, 5], 18), t([7, 6], 19), true, false),
    tf.matMul(t([2, 7, 5], 20), t([2, 6, 7], 21), true, true), tf.matMul(t([5, 7], 22), t([7, 6], 23)),
  ] },
  { name: 'Identity', run: () => { const a = t([3, 4], 24); const b = tf.clone(a); a.dispose(); return [b]; } },
  { name: 'FusedBatchNorm', run: () => [
    tf.batchNorm(t([2, 3, 3, 4], 25), t([4], 26), tf.abs(t([4], 27)), t([4], 28), t([4], 29), 1e-3),
    tf.batchNorm(t([5, 4], 30), t([4], 31), tf.add(tf.abs(t([4], 32)), 0.1)),
  ] },
];

function t(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seeded(shape, seed), shape);
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case { x: [number, number, number, number]; k: [number, number]; co: number; s: [number, number]; pad: Pad }

const CASES: Case[] = [
  { x: [2, 7, 6, 3], k: [3, 3], co: 4, s: [1, 1], pad: 'same' },
  { x: [3, 9, 8, 2], k: [3, 2], co: 5, s: [2, 3], pad: 'valid' },
  { x: [2, 8, 8, 4], k: [3, 3], co: 6, s: [2, 2], pad: 'same' },
  { x: [2, 7, 7, 4], k: [1, 1], co: 3, s: [2, 2], pad: 'same' },
  { x: [1, 5, 5, 1], k: [5, 5], co: 2, s: [1, 1], pad: 'valid' },
  // tfjs sizes numeric padding with the filter height and row stride for both
  // axes, so numeric padding is only meaningful for square filters and strides.
  { x: [2, 11, 10, 1], k: [4, 3], co: 6, s: [3, 2], pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { x: [2, 9, 9, 3], k: [3, 3], co: 4, s: [2, 2], pad: 1 },
  { x: [4, 6, 6, 2], k: [3, 3], co: 3, s: [1, 1], pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
  { x: [5, 28, 28, 1], k: [3, 3], co: 8, s: [1, 1], pad: 'same' },
  // K = KH*KW*Ci < Co: the filter gradient's direct-gather path.
  { x: [3, 10, 9, 1], k: [3, 3], co: 16, s: [2, 2], pad: 'same' },
  { x: [2, 6, 7, 2], k: [2, 2], co: 12, s: [1, 1], pad: 'valid' },
];

function seeded(shape: number[], seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** Gradients of sum(conv(x, w) * r) with respect to x and w on the active backend. */
function grads(c: Case, seed: number): { dx: Float32Array; dw: Float32Array } {
  const ws = [c.k[0], c.k[1], c.x[3], c.co];
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.x, seed), c.x);
    const w = tf.tensor4d(seeded(ws, seed + 1), ws as [number, number, number, number]);
    const probe = tf.conv2d(x, w, c.s, c.pad);
    const r = tf.tensor(seeded(probe.shape, seed + 2), probe.shape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)));
    const [dx, dw] = g([x, w]);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  });
}

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let scale = 1e-6;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
  return err / scale;
}

describe('wasm training kernels', () => {
  const reference: { dx: Float32Array; dw: Float32Array }[] = [];
  const probeReference: Float32Array[][] = [];
  const probe = (run: () => tf.Tensor[]): Float32Array[] => tf.tidy(() => run().map((r) => Float32Array.from(r.dataSync())));
  beforeAll(async () => {
    await selectBackend('cpu');
    CASES.forEach((c, i) => reference.push(grads(c, 100 + i)));
    for (const p of PROBES) probeReference.push(probe(p.run));
    await selectBackend('wasm');
  });

  it('cover every replaced kernel with a probe', () => {
    const probed = new Set(['Conv2DBackpropFilter', 'Conv2DBackpropInput', ...PROBES.map((p) => p.name)]);
    for (const k of WASM_TRAINING_KERNELS) expect(probed.has(k.kernelName), k.kernelName).toBe(true);
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')).toBe(k);
  });

  PROBES.forEach((p, i) => {
    it(`${p.name} matches the cpu backend`, () => {
      const before = tf.memory().numTensors;
      const got = probe(p.run);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(probeReference[i]!.length);
      got.forEach((g, j) => {
        expect(g.length).toBe(probeReference[i]![j]!.length);
        expect(maxRelErr(g, probeReference[i]![j]!)).toBeLessThan(1e-5);
      });
    });
  });

  it('are registered for wasm, replacing the shipped input gradient', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(conv2DBackpropFilterWasm);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(conv2DBackpropInputWasm);
    registerWasmTrainingKernels(); // idempotent
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(conv2DBackpropFilterWasm);
  });

  CASES.forEach((c, i) => {
    it(`match cpu gradients: x [${c.x}], k ${c.k.join('x')}, co ${c.co}, strides ${c.s}, pad ${JSON.stringify(c.pad)}`, () => {
      const before = tf.memory().numTensors;
      const got = grads(c, 100 + i);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.dw.length).toBe(reference[i]!.dw.length);
      expect(got.dx.length).toBe(reference[i]!.dx.length);
      expect(maxRelErr(got.dw, reference[i]!.dw)).toBeLessThan(1e-5);
      expect(maxRelErr(got.dx, reference[i]!.dx)).toBeLessThan(1e-5);
    });
  });

  it('release their scratch tensors on the wasm heap', () => {
    const c = CASES[2]!;
    grads(c, 7);
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) grads(c, 7);
    expect(tf.memory().numBytes).toBe(bytes);
  });
});

/**
 * The division / sqrt / rsqrt / exp / reciprocal / softmax cases that
 * test/division-math.test.ts (plaintext and in-process sessions) and
 * test/mpc-division.test.ts (real processes) run, with their float64
 * references and the error bounds the tests state.
 *
 * Inputs are on the f-bit grid (multiples of 2^-f), so the reference sees
 * what the protocol sees. Error of an output y against the float64 value
 * r: |y - r| / max(1, |r|) (absolute up to 1, relative above), in ulps.
 */
import { Rng } from '../../src/common/random.js';
import type { NonlinearCase } from '../../src/jobs/nonlinear-check.js';

export const F = 16;
export const ULP = 2 ** -F;

export interface CheckCase {
  name: string;
  spec: NonlinearCase;
  /** float64 reference per output element. */
  reference: number[];
  /** Stated bound on the max error (ulps) in the plaintext context and in 2PC / 3PC. */
  plainUlps: number;
  mpcUlps: number;
}

const onGrid = (v: number): number => Math.round(v / ULP) * ULP;

function logGrid(min: number, max: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => onGrid(min * (max / min) ** (i / (n - 1))));
}

function linGrid(min: number, max: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => onGrid(min + ((max - min) * i) / (n - 1)));
}

function uniform(n: number, lo: number, hi: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => onGrid(lo + (hi - lo) * rng.uniform()));
}

export const OCTAVE = { min: 0.5, max: 1 - ULP };
export const WIDE = { min: 2 ** -6, max: 2 ** 10 - ULP };
export const PUBLIC = { min: 0.25, max: 4 };

/** Softmax rows of K logits with max - min <= spread. */
function logits(rows: number, k: number, spread: number, seed: number): number[] {
  return uniform(rows * k, -spread / 2, spread / 2, seed);
}

function softmaxRef(x: number[], k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / k; r++) {
    const row = x.slice(r * k, (r + 1) * k);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

/**
 * The cases. n: points per range. Bounds: the plaintext context's measured
 * maxima (bench/division-error.ts, f = 16, and these grids) rounded up;
 * for 2PC / 3PC twice that plus 4 ulps (every truncation may add one more
 * ulp; measured in-process and in real processes well below).
 */
export function publicCases(n: number): CheckCase[] {
  const b1 = linGrid(OCTAVE.min, OCTAVE.max, n);
  const bp = logGrid(PUBLIC.min, PUBLIC.max, n);
  const a = uniform(n, -1, 1, 7);
  const xe = linGrid(-16, 0, n);
  const xr = linGrid(1, 10, n);
  const k = 10;
  const rows = Math.max(1, Math.floor(n / k));
  const z = logits(rows, k, 8, 11);
  const zw = logits(rows, k, 24, 12);
  return [
    { name: 'divide, b in [0.5, 1)', spec: { op: 'divide', x: b1, a, range: OCTAVE, normalisation: 'public' }, reference: b1.map((b, i) => a[i]! / b), plainUlps: 6, mpcUlps: 16 },
    { name: 'divide, b in [0.25, 4] (public bound)', spec: { op: 'divide', x: bp, a, range: PUBLIC, normalisation: 'public' }, reference: bp.map((b, i) => a[i]! / b), plainUlps: 48, mpcUlps: 100 },
    { name: 'sqrt, x in [0.5, 1)', spec: { op: 'sqrt', x: b1, range: OCTAVE, normalisation: 'public' }, reference: b1.map(Math.sqrt), plainUlps: 4, mpcUlps: 12 },
    { name: 'sqrt, x in [0.25, 4] (public bound)', spec: { op: 'sqrt', x: bp, range: PUBLIC, normalisation: 'public' }, reference: bp.map(Math.sqrt), plainUlps: 16, mpcUlps: 36 },
    { name: 'rsqrt, x in [0.5, 1)', spec: { op: 'rsqrt', x: b1, range: OCTAVE, normalisation: 'public' }, reference: b1.map((v) => 1 / Math.sqrt(v)), plainUlps: 2, mpcUlps: 8 },
    { name: 'rsqrt, x in [0.25, 4] (public bound)', spec: { op: 'rsqrt', x: bp, range: PUBLIC, normalisation: 'public' }, reference: bp.map((v) => 1 / Math.sqrt(v)), plainUlps: 20, mpcUlps: 44 },
    { name: 'exp, x in [-16, 0]', spec: { op: 'exp', x: xe }, reference: xe.map(Math.exp), plainUlps: 100, mpcUlps: 204 },
    { name: 'reciprocal, x in [1, 10]', spec: { op: 'reciprocal', x: xr, range: { min: 1, max: 10 } }, reference: xr.map((v) => 1 / v), plainUlps: 3, mpcUlps: 10 },
    { name: 'softmax (AppMax shift, B 32), 10 classes, spread 24', spec: { op: 'softmax', x: zw, shape: [rows, k], shift: { kind: 'appmax', bound: 32 } }, reference: softmaxRef(zw, k), plainUlps: 40, mpcUlps: 80 },
    { name: 'softmax (mean shift, spread 8), 10 classes', spec: { op: 'softmax', x: z, shape: [rows, k], shift: { kind: 'mean', spread: 8 } }, reference: softmaxRef(z, k), plainUlps: 160, mpcUlps: 324 },
  ];
}

/** Cases that need P2 online: private range normalisation, softmax with the row max. */
export function privateCases(n: number): CheckCase[] {
  const bw = logGrid(WIDE.min, WIDE.max, n);
  const a = uniform(n, -1, 1, 9);
  const k = 10;
  const rows = Math.max(1, Math.floor(n / k));
  const z = logits(rows, k, 16, 13);
  return [
    { name: 'divide, b in [2^-6, 2^10) (private)', spec: { op: 'divide', x: bw, a, range: WIDE, normalisation: 'private' }, reference: bw.map((b, i) => a[i]! / b), plainUlps: 6, mpcUlps: 16 },
    { name: 'sqrt, x in [2^-6, 2^10) (private)', spec: { op: 'sqrt', x: bw, range: WIDE, normalisation: 'private' }, reference: bw.map(Math.sqrt), plainUlps: 6, mpcUlps: 16 },
    { name: 'rsqrt, x in [2^-6, 2^10) (private)', spec: { op: 'rsqrt', x: bw, range: WIDE, normalisation: 'private' }, reference: bw.map((v) => 1 / Math.sqrt(v)), plainUlps: 2, mpcUlps: 8 },
    { name: 'softmax (max shift, lx 16), 10 classes, spread 16', spec: { op: 'softmax', x: z, shape: [rows, k], shift: { kind: 'max', lx: 16 } }, reference: softmaxRef(z, k), plainUlps: 48, mpcUlps: 100 },
  ];
}

/** Max error in ulps of outputs against the reference. */
export function maxErrorUlps(output: readonly number[], reference: readonly number[]): number {
  if (output.length !== reference.length) throw new RangeError(`${output.length} outputs for ${reference.length} references`);
  let m = 0;
  for (let i = 0; i < output.length; i++) m = Math.max(m, Math.abs(output[i]! - reference[i]!) / Math.max(1, Math.abs(reference[i]!)));
  return m / ULP;
}

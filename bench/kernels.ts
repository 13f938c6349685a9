/**
 * Kernel throughput: Z_2^64 matmul and conv2d (WebAssembly SIMD ring kernel)
 * against tfjs float32 on the tfjs wasm backend, a plain JS BigUint64Array
 * loop and a naive BigInt loop; plus the elementwise ring ops and fixed-point
 * encode/decode. Rates are multiply-adds (or elements) per second, medians of
 * several timed repetitions after warm-up, one thread.
 *
 *   node dist/bench/kernels.js [--json] [--quick]
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { naiveMatmulBigInt } from '../src/ring/reference.js';
import {
  add, conv2d, decode, encode, matmul, mul, mulScalar, neg, randomRing, shrArith, sub,
} from '../src/ring/index.js';

const args = new Set(process.argv.slice(2));
const asJson = args.has('--json');
const quick = args.has('--quick');

interface Timing {
  /** median milliseconds per call */
  ms: number;
  /** multiply-adds (or elements) per second */
  rate: number;
  /** timed repetitions */
  reps: number;
  /** the work measured, when it differs from the row's shape */
  note?: string;
}

/** Median time of `fn` after warm-up, repeating until ~budgetMs are spent (3..25 reps). */
function measure(work: number, fn: () => void, budgetMs = quick ? 150 : 600): Timing {
  const t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  if (first < budgetMs / 4) fn();
  const reps = Math.max(3, Math.min(25, Math.floor(budgetMs / Math.max(first, 0.01))));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1]!;
  return { ms, rate: work / (ms / 1000), reps };
}

function withNote(t: Timing, note: string): Timing {
  return { ...t, note };
}

// ---------------------------------------------------------------- references

/** Plain JS over BigUint64Array: i-p-j order, unrolled by 4 (the fastest JS form measured). */
function jsMatmul(a: BigUint64Array, b: BigUint64Array, m: number, n: number, k: number): BigUint64Array {
  const c = new BigUint64Array(m * k);
  const head = k & 3;
  for (let i = 0; i < m; i++) {
    const ci = i * k;
    for (let p = 0; p < n; p++) {
      const av = a[i * n + p]!;
      const bp = p * k;
      let j = 0;
      for (; j < head; j++) c[ci + j] += av * b[bp + j]!;
      for (; j < k; j += 4) {
        c[ci + j] += av * b[bp + j]!;
        c[ci + j + 1] += av * b[bp + j + 1]!;
        c[ci + j + 2] += av * b[bp + j + 2]!;
        c[ci + j + 3] += av * b[bp + j + 3]!;
      }
    }
  }
  return c;
}

interface ConvShape {
  N: number; C: number; H: number; W: number; Co: number; kh: number; kw: number; pad: number;
}

/** Direct convolution in plain JS over BigUint64Array (stride 1), innermost loop over output columns. */
function jsConv2d(x: BigUint64Array, w: BigUint64Array, s: ConvShape): BigUint64Array {
  const { N, C, H, W, Co, kh, kw, pad } = s;
  const Ho = H + 2 * pad - kh + 1;
  const Wo = W + 2 * pad - kw + 1;
  const y = new BigUint64Array(N * Co * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Co; o++) {
      const yBase = (n * Co + o) * Ho * Wo;
      for (let c = 0; c < C; c++) {
        const xBase = (n * C + c) * H * W;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[((o * C + c) * kh + ky) * kw + kx]!;
            const oxLo = Math.max(0, pad - kx);
            const oxHi = Math.min(Wo, W + pad - kx);
            for (let oy = 0; oy < Ho; oy++) {
              const iy = oy - pad + ky;
              if (iy < 0 || iy >= H) continue;
              const xRow = xBase + iy * W - pad + kx;
              const yRow = yBase + oy * Wo;
              for (let ox = oxLo; ox < oxHi; ox++) y[yRow + ox] += wv * x[xRow + ox]!;
            }
          }
        }
      }
    }
  }
  return y;
}

function naiveBigIntConv2d(x: BigUint64Array, w: BigUint64Array, s: ConvShape): BigUint64Array {
  const { N, C, H, W, Co, kh, kw, pad } = s;
  const Ho = H + 2 * pad - kh + 1;
  const Wo = W + 2 * pad - kw + 1;
  const y = new BigUint64Array(N * Co * Ho * Wo);
  for (let n = 0; n < N; n++) for (let o = 0; o < Co; o++) for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
    let acc = 0n;
    for (let c = 0; c < C; c++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy - pad + ky;
      const ix = ox - pad + kx;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      acc += x[((n * C + c) * H + iy) * W + ix]! * w[((o * C + c) * kh + ky) * kw + kx]!;
    }
    y[((n * Co + o) * Ho + oy) * Wo + ox] = BigInt.asUintN(64, acc);
  }
  return y;
}

// ---------------------------------------------------------------- tfjs

async function initTfjs(): Promise<string> {
  const require = createRequire(import.meta.url);
  const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  setWasmPaths(path.dirname(wasmFile) + path.sep);
  const ok = await tf.setBackend('wasm');
  await tf.ready();
  if (!ok || tf.getBackend() !== 'wasm') throw new Error(`tfjs wasm backend unavailable (got ${tf.getBackend()})`);
  return tf.getBackend();
}

function tfMatmul(m: number, n: number, k: number): Timing {
  const a = tf.randomUniform([m, n]) as tf.Tensor2D;
  const b = tf.randomUniform([n, k]) as tf.Tensor2D;
  const t = measure(m * n * k, () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  });
  a.dispose();
  b.dispose();
  return t;
}

function tfConv(s: ConvShape): Timing {
  // tfjs convolves NHWC with filters [kh, kw, C, Co]; the multiply-adds are the same.
  const x = tf.randomUniform([s.N, s.H, s.W, s.C]) as tf.Tensor4D;
  const w = tf.randomUniform([s.kh, s.kw, s.C, s.Co]) as tf.Tensor4D;
  const xp = s.pad > 0 ? (tf.pad(x, [[0, 0], [s.pad, s.pad], [s.pad, s.pad], [0, 0]]) as tf.Tensor4D) : x;
  const t = measure(convMadds(s), () => {
    const y = tf.conv2d(xp, w, 1, 'valid');
    y.dataSync();
    y.dispose();
  });
  if (xp !== x) xp.dispose();
  x.dispose();
  w.dispose();
  return withNote(t, 'NHWC, input pre-padded');
}

// ---------------------------------------------------------------- rows

function convMadds(s: ConvShape): number {
  const Ho = s.H + 2 * s.pad - s.kh + 1;
  const Wo = s.W + 2 * s.pad - s.kw + 1;
  return s.N * s.Co * Ho * Wo * s.C * s.kh * s.kw;
}

function convLabel(s: ConvShape): string {
  return `N${s.N} C${s.C} ${s.H}x${s.W} -> Co${s.Co} ${s.kh}x${s.kw} pad ${s.pad}`;
}

interface Row {
  kernel: string;
  shape: string;
  work: number;
  ringWasm: Timing;
  tfjsWasmF32?: Timing;
  jsBigUint64: Timing;
  naiveBigInt: Timing;
}

function matmulRow(m: number, n: number, k: number): Row {
  const a = randomRing(m * n);
  const b = randomRing(n * k);
  const out = new BigUint64Array(m * k);
  const ring = measure(m * n * k, () => matmul(a, b, m, n, k, out));
  // Slow references run on fewer rows (same n and k, so the same inner loops).
  const jsRows = Math.max(1, Math.min(m, Math.floor(4e6 / (n * k))));
  const aJs = a.subarray(0, jsRows * n);
  const js = withNote(measure(jsRows * n * k, () => jsMatmul(aJs, b, jsRows, n, k), quick ? 100 : 300), `${jsRows} x ${n} x ${k}`);
  const nb = Math.min(64, n, k);
  const naiveRows = Math.max(1, Math.min(m, Math.floor(2e5 / (nb * nb))));
  const an = randomRing(naiveRows * nb);
  const bn = randomRing(nb * nb);
  const naive = withNote(
    measure(naiveRows * nb * nb, () => naiveMatmulBigInt(an, bn, naiveRows, nb, nb), quick ? 100 : 300),
    `${naiveRows} x ${nb} x ${nb}`,
  );
  return { kernel: 'matmul', shape: `${m}x${n}x${k}`, work: m * n * k, ringWasm: ring, jsBigUint64: js, naiveBigInt: naive };
}

function convRow(s: ConvShape): Row {
  const xs = [s.N, s.C, s.H, s.W];
  const ws = [s.Co, s.C, s.kh, s.kw];
  const x = randomRing(s.N * s.C * s.H * s.W);
  const w = randomRing(s.Co * s.C * s.kh * s.kw);
  const work = convMadds(s);
  const ring = measure(work, () => conv2d(x, xs, w, ws, { stride: 1, padding: s.pad }));
  const small: ConvShape = { ...s, N: 1 };
  const xSmall = x.subarray(0, s.C * s.H * s.W);
  const js = withNote(measure(convMadds(small), () => jsConv2d(xSmall, w, small), quick ? 100 : 300), 'N=1');
  const tiny: ConvShape = { ...s, N: 1, Co: Math.min(s.Co, 4) };
  const naive = withNote(
    measure(convMadds(tiny), () => naiveBigIntConv2d(xSmall, w.subarray(0, tiny.Co * s.C * s.kh * s.kw), tiny), quick ? 100 : 300),
    `N=1, Co=${tiny.Co}`,
  );
  return { kernel: 'conv2d', shape: convLabel(s), work, ringWasm: ring, jsBigUint64: js, naiveBigInt: naive };
}

interface ElementRow {
  op: string;
  elements: number;
  timing: Timing;
}

function elementwiseRows(n: number): ElementRow[] {
  const a = randomRing(n);
  const b = randomRing(n);
  const out = new BigUint64Array(n);
  const reals = new Float64Array(n);
  for (let i = 0; i < n; i++) reals[i] = (Math.random() - 0.5) * 2000;
  const enc = encode(reals, 16);
  const encOut = new BigUint64Array(n);
  const decOut = new Float64Array(n);
  const rows: Array<[string, () => void]> = [
    ['add', () => add(a, b, out)],
    ['sub', () => sub(a, b, out)],
    ['mul', () => mul(a, b, out)],
    ['neg', () => neg(a, out)],
    ['mulScalar', () => mulScalar(a, 0x123456789abcdefn, out)],
    ['shrArith', () => shrArith(a, 16, out)],
    ['encode f=16', () => encode(reals, 16, encOut)],
    ['decode f=16', () => decode(enc, 16, decOut)],
    ['encode (new)', () => encode(reals, 16)],
  ];
  return rows.map(([op, fn]) => ({ op, elements: n, timing: measure(n, fn, quick ? 100 : 300) }));
}

// ---------------------------------------------------------------- output

function fmtRate(t: Timing | undefined): string {
  if (t === undefined) return '-';
  return `${(t.rate / 1e9).toFixed(2)}e9`;
}

function fmtMs(t: Timing): string {
  return t.ms >= 100 ? t.ms.toFixed(0) : t.ms >= 10 ? t.ms.toFixed(1) : t.ms.toFixed(2);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  let tfBackend = 'unavailable';
  let tfError: string | undefined;
  try {
    tfBackend = await initTfjs();
  } catch (e) {
    tfError = e instanceof Error ? e.message : String(e);
  }

  const matmulShapes: Array<[number, number, number]> = quick ? [[128, 128, 128], [256, 256, 256]] : [[128, 128, 128], [256, 256, 256], [512, 512, 512]];
  const convShapes: ConvShape[] = [
    { N: 16, C: 16, H: 28, W: 28, Co: 32, kh: 3, kw: 3, pad: 1 },
    { N: 16, C: 64, H: 16, W: 16, Co: 64, kh: 3, kw: 3, pad: 1 },
  ];

  const rows: Row[] = [];
  for (const [m, n, k] of matmulShapes) {
    const row = matmulRow(m, n, k);
    if (tfError === undefined) row.tfjsWasmF32 = tfMatmul(m, n, k);
    rows.push(row);
  }
  for (const s of convShapes) {
    const row = convRow(s);
    if (tfError === undefined) row.tfjsWasmF32 = tfConv(s);
    rows.push(row);
  }
  const elementwise = [...elementwiseRows(1 << 16), ...elementwiseRows(1 << 20)];

  const machine = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    tfjsBackend: tfBackend,
    ...(tfError !== undefined ? { tfjsError: tfError } : {}),
  };

  if (asJson) {
    console.log(JSON.stringify({ machine, unit: 'multiply-adds/s (kernels), elements/s (elementwise)', kernels: rows, elementwise }, null, 2));
    return;
  }

  console.log(`mpcnet kernel bench: node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, tfjs backend: ${tfBackend}${tfError ? ` (${tfError})` : ''}`);
  console.log('multiply-adds per second (median); ring kernels exact mod 2^64, tfjs in float32\n');
  const head = [pad('kernel', 8), pad('shape', 36), pad('ring wasm', 20), pad('tfjs wasm f32', 15), pad('JS BigUint64', 14), 'naive BigInt'];
  console.log(head.join(' '));
  for (const r of rows) {
    console.log([
      pad(r.kernel, 8),
      pad(r.shape, 36),
      pad(`${fmtRate(r.ringWasm)} (${fmtMs(r.ringWasm)} ms)`, 20),
      pad(fmtRate(r.tfjsWasmF32), 15),
      pad(fmtRate(r.jsBigUint64), 14),
      fmtRate(r.naiveBigInt),
    ].join(' '));
  }
  console.log('\nJS BigUint64 and naive BigInt run on smaller slices (rows / images) of each shape:');
  for (const r of rows) console.log(`  ${pad(r.shape, 36)} JS: ${r.jsBigUint64.note}; naive: ${r.naiveBigInt.note}`);
  console.log('\nelementwise, elements per second (into a preallocated output unless "(new)"):');
  const sizes = [...new Set(elementwise.map((e) => e.elements))];
  console.log(`  ${pad('op', 13)}${sizes.map((n) => pad(`n = ${n}`, 24)).join('')}`);
  for (const op of [...new Set(elementwise.map((e) => e.op))]) {
    const cells = sizes.map((n) => {
      const e = elementwise.find((x) => x.op === op && x.elements === n);
      return pad(e ? `${fmtRate(e.timing)} (${fmtMs(e.timing)} ms)` : '-', 24);
    });
    console.log(`  ${pad(op, 13)}${cells.join('')}`);
  }
}

await main();

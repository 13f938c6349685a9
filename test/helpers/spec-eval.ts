/**
 * A plain float64 reference for a ModelSpec (test only): runs one image (or
 * feature vector) through the spec's layers as spec.ts defines them and
 * returns every layer's output in the spec layout ([C, H, W] or [F]), so the
 * importer's conversion can be checked against tfjs's own outputs.
 *
 * Pooling with padding follows TensorFlow: max ignores the padding, the
 * average divides by the number of input pixels under the window.
 */
import type { ActivationFn, LayerSpec, ModelSpec } from '../../src/nn/spec.js';

/** NHWC (one image, tfjs's layout) -> [C, H, W]. */
export function hwcToChw(x: ArrayLike<number>, h: number, w: number, c: number): Float64Array {
  const out = new Float64Array(h * w * c);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) out[(k * h + i) * w + j] = x[(i * w + j) * c + k]!;
  return out;
}

function activate(x: Float64Array, fn: ActivationFn, shape: number[]): Float64Array {
  const channels = shape[0]!;
  const per = x.length / channels;
  switch (fn.fn) {
    case 'linear':
      return x;
    case 'relu':
      return x.map((v) => Math.max(v, 0));
    case 'leaky-relu':
      return x.map((v) => (v >= 0 ? v : fn.alpha * v));
    case 'polynomial':
      return x.map((v) => fn.coefficients.reduceRight((acc, c) => acc * v + c, 0));
    case 'ppoly':
      return x.map((v, i) => {
        const row = fn.coefficients[fn.perChannel ? Math.floor(i / per) : 0]!;
        return row.reduceRight((acc, c) => acc * v + c, 0);
      });
    case 'softmax': {
      const m = Math.max(...x);
      const e = x.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    }
  }
}

function layer(l: LayerSpec, ins: Float64Array[], inShapes: number[][]): Float64Array {
  const x = ins[0]!;
  const s = inShapes[0]!;
  switch (l.kind) {
    case 'input':
    case 'identity':
    case 'flatten': {
      if (l.kind !== 'flatten') return x;
      const [c, h, w] = s as [number, number, number];
      const out = new Float64Array(x.length);
      for (let k = 0; k < c; k++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out[(i * w + j) * c + k] = x[(k * h + i) * w + j]!;
      return out;
    }
    case 'conv2d': {
      const [co, ci, kh, kw] = l.wShape;
      const [, h, w] = s as [number, number, number];
      const [, oh, ow] = l.outShape as [number, number, number];
      const wt = l.weight!;
      const out = new Float64Array(co * oh * ow);
      for (let o = 0; o < co; o++) for (let y = 0; y < oh; y++) for (let z = 0; z < ow; z++) {
        let acc = l.bias ? l.bias[o]! : 0;
        for (let c = 0; c < ci; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
          const r = y * l.stride[0] - l.padding.top + i;
          const q = z * l.stride[1] - l.padding.left + j;
          if (r >= 0 && r < h && q >= 0 && q < w) acc += wt[((o * ci + c) * kh + i) * kw + j]! * x[(c * h + r) * w + q]!;
        }
        out[(o * oh + y) * ow + z] = acc;
      }
      return activate(out, l.activation, l.outShape);
    }
    case 'dense': {
      const [f, u] = l.wShape;
      const out = new Float64Array(u);
      for (let k = 0; k < u; k++) {
        let acc = l.bias ? l.bias[k]! : 0;
        for (let i = 0; i < f; i++) acc += x[i]! * l.weight![i * u + k]!;
        out[k] = acc;
      }
      return activate(out, l.activation, l.outShape);
    }
    case 'affine': {
      const per = x.length / l.channels;
      return x.map((v, i) => v * l.scale![Math.floor(i / per)]! + l.shift![Math.floor(i / per)]!);
    }
    case 'batchnorm': {
      // Inference form: the moving statistics.
      const per = x.length / l.channels;
      return x.map((v, i) => {
        const ch = Math.floor(i / per);
        return ((v - l.movingMean![ch]!) * l.gamma![ch]!) / Math.sqrt(l.movingVariance![ch]! + l.epsilon) + l.beta![ch]!;
      });
    }
    case 'activation':
      return activate(x, l.activation, l.outShape);
    case 'avgpool':
    case 'maxpool': {
      const [c, h, w] = s as [number, number, number];
      const [, oh, ow] = l.outShape as [number, number, number];
      const out = new Float64Array(c * oh * ow);
      for (let k = 0; k < c; k++) for (let y = 0; y < oh; y++) for (let z = 0; z < ow; z++) {
        let acc = l.kind === 'maxpool' ? -Infinity : 0;
        let n = 0;
        for (let i = 0; i < l.pool[0]; i++) for (let j = 0; j < l.pool[1]; j++) {
          const r = y * l.stride[0] - l.padding.top + i;
          const q = z * l.stride[1] - l.padding.left + j;
          if (r < 0 || r >= h || q < 0 || q >= w) continue;
          const v = x[(k * h + r) * w + q]!;
          acc = l.kind === 'maxpool' ? Math.max(acc, v) : acc + v;
          n++;
        }
        out[(k * oh + y) * ow + z] = l.kind === 'maxpool' ? acc : acc / n;
      }
      return out;
    }
    case 'global-avgpool': {
      const [c, h, w] = s as [number, number, number];
      const out = new Float64Array(c);
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let i = 0; i < h * w; i++) acc += x[k * h * w + i]!;
        out[k] = acc / (h * w);
      }
      return out;
    }
    case 'add':
      return x.map((v, i) => ins.reduce((a, t) => a + t[i]!, 0));
    case 'pad-shortcut': {
      const [c, h, w] = s as [number, number, number];
      const [oc, oh, ow] = l.outShape as [number, number, number];
      const out = new Float64Array(oc * oh * ow);
      for (let k = 0; k < c; k++) for (let y = 0; y < oh; y++) for (let z = 0; z < ow; z++) {
        out[((k + l.padBefore) * oh + y) * ow + z] = x[(k * h + y * l.stride) * w + z * l.stride]!;
      }
      return out;
    }
  }
}

/** Every layer's output for one input given in the spec layout. */
export function evaluateSpec(spec: ModelSpec, input: Float64Array): Map<string, Float64Array> {
  const values = new Map<string, Float64Array>();
  const shapes = new Map<string, number[]>();
  for (const l of spec.layers) {
    const ins = l.kind === 'input' ? [input] : l.inputs.map((i) => values.get(i)!);
    const inShapes = l.kind === 'input' ? [l.outShape] : l.inputs.map((i) => shapes.get(i)!);
    const y = layer(l, ins, inShapes);
    if (y.length !== l.outShape.reduce((a, b) => a * b, 1)) throw new Error(`layer ${l.name}: ${y.length} values for shape [${l.outShape}]`);
    values.set(l.name, y);
    shapes.set(l.name, l.outShape);
  }
  return values;
}

/**
 * The registry of correlation kinds (src/mpc/correlations.ts) and its
 * bilinear entries (src/mpc/bilinear-kinds.ts), without a network: the
 * dealer's correction completes every kind's output, the bilinear maths
 * against BigInt references and the adjoint identities that make the
 * gradient kinds the gradients of the forward ones (exact in Z_2^64), the
 * power tuple, and the checks on specs that arrive over the network.
 */
import { describe, expect, it } from 'vitest';
import { BILINEAR_KINDS, bindBilinear, type BilinearSpec } from '../src/mpc/bilinear-kinds.js';
import {
  dealerCorrection, drawHolderShares, inputSizes, outputSize, parseCorrelationSpec, powerTupleShares, specKey,
  type CorrelationSpec, type PowerSpec,
} from '../src/mpc/correlations.js';
import { add, mul, shapeSize } from '../src/ring/index.js';
import { naiveMatmul, naiveTranspose, seededPrg } from './ring-helpers.js';

const CONV = { xShape: [2, 3, 7, 6], wShape: [4, 3, 3, 2], stride: 2, padding: 1 };
const CHANNELS = { outer: 3, channels: 4, inner: 5 };
const BILINEAR_SPECS: BilinearSpec[] = [
  { kind: 'matmul', m: 4, n: 5, k: 3 },
  { kind: 'matmul', m: 4, n: 5, k: 3, transA: true },
  { kind: 'matmul', m: 4, n: 5, k: 3, transB: true },
  { kind: 'matmul', m: 4, n: 5, k: 3, transA: true, transB: true },
  { kind: 'conv2d', ...CONV },
  { kind: 'conv2dGradWeight', ...CONV },
  { kind: 'conv2dGradInput', ...CONV },
  { kind: 'channelMul', ...CHANNELS },
  { kind: 'channelDot', ...CHANNELS },
];

/** sum_i a_i b_i mod 2^64 */
function dot(a: BigUint64Array, b: BigUint64Array): bigint {
  return BigInt.asUintN(64, Array.from(a).reduce((s, v, i) => s + v * b[i]!, 0n));
}

/** Reconstructs a kind's inputs and output from both holders' draws and the dealer's correction. */
function reconstruct(spec: CorrelationSpec, tag: number): { inputs: BigUint64Array[]; output: BigUint64Array } {
  const s0 = drawHolderShares(spec, 0, seededPrg(tag));
  const s1 = drawHolderShares(spec, 1, seededPrg(tag + 1));
  const c0 = dealerCorrection(spec, seededPrg(tag), seededPrg(tag + 1));
  return { inputs: s0.inputs.map((a, i) => add(a, s1.inputs[i]!)), output: add(c0, s1.output!) };
}

describe('correlation registry', () => {
  it.each(BILINEAR_SPECS.map((s) => [specKey(s), s] as const))('%s: the dealer completes c = op(a, b) from the holders\' draws', (_, spec) => {
    const op = bindBilinear(spec);
    expect(inputSizes(spec)).toEqual([shapeSize(op.xShape), shapeSize(op.yShape)]);
    expect(outputSize(spec)).toBe(shapeSize(op.outShape));
    const { inputs: [a, b], output } = reconstruct(spec, 10);
    expect(Array.from(output)).toEqual(Array.from(op.apply(a!, b!)));
    // apply with an output adds into it.
    const acc = op.apply(a!, b!);
    op.apply(a!, b!, acc);
    expect(Array.from(acc)).toEqual(Array.from(add(output, output)));
  });

  it('matmul with transposes is the plain product of the transposed matrices', () => {
    const prg = seededPrg(3);
    const [m, n, k] = [4, 5, 3];
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const op = bindBilinear({ kind: 'matmul', m, n, k, transA, transB });
        const a = prg.ring(m * n);
        const b = prg.ring(n * k);
        const plainA = transA ? naiveTranspose(a, n, m) : a;
        const plainB = transB ? naiveTranspose(b, k, n) : b;
        expect(Array.from(op.apply(a, b)), `transA ${transA} transB ${transB}`).toEqual(Array.from(naiveMatmul(plainA, plainB, m, n, k)));
      }
    }
  });

  it('the conv gradients are the adjoints of conv2d: <conv(x, w), dy> = <w, dW(x, dy)> = <x, dX(dy, w)>', () => {
    const prg = seededPrg(4);
    const fwd = bindBilinear({ kind: 'conv2d', ...CONV });
    const gw = bindBilinear({ kind: 'conv2dGradWeight', ...CONV });
    const gx = bindBilinear({ kind: 'conv2dGradInput', ...CONV });
    expect(gw.yShape).toEqual(fwd.outShape);
    expect(gx.xShape).toEqual(fwd.outShape);
    const x = prg.ring(shapeSize(CONV.xShape));
    const w = prg.ring(shapeSize(CONV.wShape));
    const dy = prg.ring(shapeSize(fwd.outShape));
    const forward = dot(fwd.apply(x, w), dy);
    expect(dot(w, gw.apply(x, dy))).toBe(forward);
    expect(dot(x, gx.apply(dy, w))).toBe(forward);
  });

  it('channelMul and channelDot are adjoint and match BigInt loops', () => {
    const prg = seededPrg(5);
    const scale = bindBilinear({ kind: 'channelMul', ...CHANNELS });
    const sum = bindBilinear({ kind: 'channelDot', ...CHANNELS });
    const n = shapeSize(scale.xShape);
    const [x, y, g] = [prg.ring(n), prg.ring(n), prg.ring(CHANNELS.channels)];
    const channel = (i: number) => Math.floor(i / CHANNELS.inner) % CHANNELS.channels;
    expect(Array.from(scale.apply(x, g))).toEqual(Array.from(x, (v, i) => BigInt.asUintN(64, v * g[channel(i)]!)));
    const sums = new Array<bigint>(CHANNELS.channels).fill(0n);
    x.forEach((v, i) => (sums[channel(i)] = BigInt.asUintN(64, sums[channel(i)]! + v * y[i]!)));
    expect(Array.from(sum.apply(x, y))).toEqual(sums);
    expect(dot(scale.apply(x, g), y)).toBe(dot(g, sum.apply(x, y)));
  });

  it.each([0, 3, 10])('power tuple, shift %i: the holders share b^1..b^d of b = r >> shift', (shift) => {
    const spec: PowerSpec = { n: 9, degree: 4, shift };
    const full: CorrelationSpec = { kind: 'power', ...spec };
    expect(outputSize(full)).toBe(9 * (shift > 0 ? 4 : 3));
    const { inputs: [r], output } = reconstruct(full, 20);
    const parts = powerTupleShares(spec, { inputs: [r!], output });
    expect(parts).toHaveLength(4);
    const b = Array.from(r!, (v) => v >> BigInt(shift));
    parts.forEach((p, j) => expect(Array.from(p), `b^${j + 1}`).toEqual(b.map((v) => BigInt.asUintN(64, v ** BigInt(j + 1)))));
  });

  it('square, mul and trunc keep their layouts', () => {
    const sq = reconstruct({ kind: 'square', n: 5 }, 30);
    expect(Array.from(sq.output)).toEqual(Array.from(mul(sq.inputs[0]!, sq.inputs[0]!)));
    const m = reconstruct({ kind: 'mul', n: 5 }, 31);
    // One chunk: [a | b].
    expect(Array.from(m.output)).toEqual(Array.from(mul(m.inputs[0]!.subarray(0, 5), m.inputs[0]!.subarray(5))));
    const t = reconstruct({ kind: 'trunc', n: 5, bits: 16 }, 32);
    // [r >> d | msb(r) 2^(64 - d)]
    expect(Array.from(t.output)).toEqual([...Array.from(t.inputs[0]!, (v) => v >> 16n), ...Array.from(t.inputs[0]!, (v) => (v >> 63n) << 48n)]);
  });
});

describe('parseCorrelationSpec', () => {
  it('gives back every kind it knows, and a plain matmul without transpose flags', () => {
    for (const spec of [...BILINEAR_SPECS, { kind: 'power', n: 3, degree: 3, shift: 2 } as const, { kind: 'trunc', n: 3, bits: 16 } as const]) {
      expect(parseCorrelationSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    }
    expect(specKey(parseCorrelationSpec({ kind: 'matmul', m: 1, n: 2, k: 3, transA: false }))).toBe('{"kind":"matmul","m":1,"n":2,"k":3}');
    expect(Object.keys(BILINEAR_KINDS)).toEqual(['hadamard', 'matmul', 'conv2d', 'conv2dGradWeight', 'conv2dGradInput', 'channelMul', 'channelDot']);
  });

  it.each([
    [null, /not an object/],
    [{ kind: 'cube', n: 3 }, /unknown kind "cube"/],
    [{ kind: 'toString' }, /unknown kind "toString"/],
    [{ kind: 'matmul', m: 2, n: 0, k: 2 }, /n must be an integer in \[1, 134217728\], got 0/],
    [{ kind: 'matmul', m: 2, n: 2, k: 2, transB: 'yes' }, /transB must be true, false or absent, got "yes"/],
    [{ kind: 'conv2dGradInput', xShape: [1, 2, 5, 5], wShape: [3, 4, 3, 3], stride: 1, padding: 0 }, /channel mismatch/],
    [{ kind: 'conv2dGradWeight', xShape: [1, 2, 5], wShape: [3, 2, 3, 3], stride: 1, padding: 0 }, /xShape must be a 4-d shape/],
    [{ kind: 'channelMul', outer: 2, channels: 3 }, /inner must be an integer/],
    [{ kind: 'channelDot', outer: 1 << 20, channels: 1 << 10, inner: 1 }, /tensor size must be an integer in \[1, 134217728\]/],
    [{ kind: 'power', n: 3, degree: 1, shift: 0 }, /degree must be an integer in \[2, 16\], got 1/],
    [{ kind: 'power', n: 3, degree: 3, shift: 63 }, /shift must be an integer in \[0, 62\], got 63/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseCorrelationSpec(raw)).toThrow(message);
  });

  it('escapes what the peer sent in its messages (no raw control or bidi characters)', () => {
    const message = (raw: unknown): string => {
      try {
        parseCorrelationSpec(raw);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(message({ kind: 'cu\u202ebe\n' })).toBe('correlation request: unknown kind "cu\\u202ebe\\n"');
    expect(message({ kind: 'matmul', m: 2, n: 2, k: 2, transB: 'y\u2066"s' })).toBe('correlation request: transB must be true, false or absent, got "y\\u2066\\"s"');
    expect(message({ kind: 'conv2d', xShape: ['\u202e', 1], wShape: [1, 1, 1, 1], stride: 1, padding: 0 })).toBe('correlation request: xShape must be a 4-d shape, got ["\\u202e",1]');
    // msgpack gives 64-bit integers as BigInt: still a message naming the field, not a JSON TypeError.
    expect(message({ kind: 'mul', n: 2n ** 63n })).toMatch(/^correlation request: n must be .*got 9223372036854775808$/);
  });
});

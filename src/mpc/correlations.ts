/**
 * Correlated randomness from the dealer, CrypTen-TTP style (PROTOCOLS.md 1):
 * every correlation is a few uniform "inputs" (a, b, r, ...) and one output
 * that is a public function of them (a*b, a@b, r >> d, ...). Each holder
 * draws its input shares from the PRG it shares with the dealer; P1 also
 * draws its output share; the dealer, holding both PRGs, computes the
 * output and sends P0 only the correction c0 = out - out1. Dealer traffic
 * per correlation: |out| ring elements to P0, plus a small request header.
 */
import { add, conv2d, conv2dOutputShape, matmul, mul, shrLogical, sub } from '../ring/index.js';
import { shapeSize, type Shape } from '../ring/tensor.js';

export type CorrelationSpec =
  | { kind: 'mul'; n: number }
  | { kind: 'square'; n: number }
  | { kind: 'matmul'; m: number; n: number; k: number }
  | { kind: 'conv2d'; xShape: number[]; wShape: number[]; stride: number; padding: number }
  | { kind: 'trunc'; n: number; bits: number };

export type CorrelationKind = CorrelationSpec['kind'];

/** One holder's shares: inputs in spec order, then the output. */
export interface CorrelationShares {
  inputs: BigUint64Array[];
  output: BigUint64Array;
}

/** Largest correlation the dealer accepts in one request (elements per tensor). */
export const MAX_CORRELATION_ELEMENTS = 1 << 27;

/**
 * Elementwise products are exchanged in chunks so that computing, sending
 * and combining overlap (1 round still: every chunk has the same depth).
 * The 'mul' triple's single input is laid out chunk by chunk as
 * [a_0 | b_0 | a_1 | b_1 | ...], so that each chunk's masked (eps, delta)
 * is one contiguous message after masking in place.
 */
export const ELEMENTWISE_CHUNK = 1 << 16;

export interface ChunkSpan {
  /** First element of the chunk in the operands. */
  start: number;
  length: number;
  /** Offset of the chunk's a part in the interleaved buffer (b follows at + length). */
  offset: number;
}

export function elementwiseChunks(n: number, parts: number): ChunkSpan[] {
  const spans: ChunkSpan[] = [];
  for (let start = 0; start < n; start += ELEMENTWISE_CHUNK) {
    const length = Math.min(ELEMENTWISE_CHUNK, n - start);
    spans.push({ start, length, offset: parts * start });
  }
  return spans;
}

function interleavedProduct(ab: BigUint64Array, n: number): BigUint64Array {
  const c = new BigUint64Array(n);
  for (const { start, length, offset } of elementwiseChunks(n, 2)) {
    mul(ab.subarray(offset, offset + length), ab.subarray(offset + length, offset + 2 * length), c.subarray(start, start + length));
  }
  return c;
}

function inputSizes(spec: CorrelationSpec): number[] {
  switch (spec.kind) {
    case 'mul':
      return [2 * spec.n];
    case 'square':
    case 'trunc':
      return [spec.n];
    case 'matmul':
      return [spec.m * spec.n, spec.n * spec.k];
    case 'conv2d':
      return [shapeSize(spec.xShape), shapeSize(spec.wShape)];
  }
}

export function outputSize(spec: CorrelationSpec): number {
  switch (spec.kind) {
    case 'mul':
    case 'square':
    case 'trunc':
      return spec.n;
    case 'matmul':
      return spec.m * spec.k;
    case 'conv2d':
      return shapeSize(conv2dOutputShape(spec.xShape, spec.wShape, { stride: spec.stride, padding: spec.padding }));
  }
}

/** The public function from (reconstructed) inputs to the output. Dealer side. */
function evaluate(spec: CorrelationSpec, v: BigUint64Array[]): BigUint64Array {
  switch (spec.kind) {
    case 'mul':
      return interleavedProduct(v[0]!, spec.n);
    case 'square':
      return mul(v[0]!, v[0]!);
    case 'matmul':
      return matmul(v[0]!, v[1]!, spec.m, spec.n, spec.k);
    case 'conv2d':
      return conv2d(v[0]!, spec.xShape, v[1]!, spec.wShape, { stride: spec.stride, padding: spec.padding }).data;
    case 'trunc':
      return shrLogical(v[0]!, spec.bits);
  }
}

/** Something that yields uniform ring elements in a fixed order (a Prg). */
export interface RingStream {
  ring(n: number): BigUint64Array;
}

/** Holder i's PRG draws for one correlation. P1 draws its output share too. */
export function drawHolderShares(spec: CorrelationSpec, holder: 0 | 1, prg: RingStream): { inputs: BigUint64Array[]; output: BigUint64Array | null } {
  // One draw for all inputs: they are views into one buffer, in spec order,
  // so that protocols can mask them in place and send them as one message.
  const sizes = inputSizes(spec);
  const all = prg.ring(sizes.reduce((a, b) => a + b, 0));
  let offset = 0;
  const inputs = sizes.map((n) => all.subarray(offset, (offset += n)));
  const output = holder === 1 ? prg.ring(outputSize(spec)) : null;
  return { inputs, output };
}

/** Dealer: replay both holders' draws and compute P0's output correction. */
export function dealerCorrection(spec: CorrelationSpec, prg0: RingStream, prg1: RingStream): BigUint64Array {
  const s0 = drawHolderShares(spec, 0, prg0);
  const s1 = drawHolderShares(spec, 1, prg1);
  const inputs = s0.inputs.map((a0, i) => add(a0, s1.inputs[i]!, a0));
  const out = evaluate(spec, inputs);
  return sub(out, s1.output!, out);
}

function positiveInt(v: unknown, what: string, max = MAX_CORRELATION_ELEMENTS): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new RangeError(`correlation request: ${what} must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function shape4(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length !== 4) throw new RangeError(`correlation request: ${what} must be a 4-d shape, got ${JSON.stringify(v)}`);
  return v.map((d, i) => positiveInt(d, `${what}[${i}]`, 1 << 20));
}

/**
 * Validate a spec that arrived over the network (the dealer trusts nothing
 * about its shape). Returns a clean copy or throws naming the problem.
 */
export function parseCorrelationSpec(raw: unknown): CorrelationSpec {
  if (typeof raw !== 'object' || raw === null) throw new TypeError('correlation request: not an object');
  const r = raw as Record<string, unknown>;
  let spec: CorrelationSpec;
  switch (r['kind']) {
    case 'mul':
    case 'square':
      spec = { kind: r['kind'], n: positiveInt(r['n'], 'n') };
      break;
    case 'trunc':
      spec = { kind: 'trunc', n: positiveInt(r['n'], 'n'), bits: positiveInt(r['bits'], 'bits', 63) };
      break;
    case 'matmul':
      spec = { kind: 'matmul', m: positiveInt(r['m'], 'm'), n: positiveInt(r['n'], 'n'), k: positiveInt(r['k'], 'k') };
      break;
    case 'conv2d':
      spec = {
        kind: 'conv2d',
        xShape: shape4(r['xShape'], 'xShape'),
        wShape: shape4(r['wShape'], 'wShape'),
        stride: positiveInt(r['stride'], 'stride', 64),
        padding: typeof r['padding'] === 'number' && Number.isInteger(r['padding']) && r['padding'] >= 0 && r['padding'] <= 64
          ? r['padding']
          : (() => { throw new RangeError(`correlation request: padding must be an integer in [0, 64], got ${JSON.stringify(r['padding'])}`); })(),
      };
      break;
    default:
      throw new RangeError(`correlation request: unknown kind ${JSON.stringify(r['kind'])}`);
  }
  for (const n of [...inputSizes(spec), outputSize(spec)]) positiveInt(n, 'tensor size');
  return spec;
}

/** Key for matching prefetched correlations with later uses. */
export function specKey(spec: CorrelationSpec): string {
  return JSON.stringify(spec);
}

export type { Shape };

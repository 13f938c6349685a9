/**
 * Correlated randomness from the dealer, CrypTen-TTP style (PROTOCOLS.md 1):
 * every correlation is a few uniform "inputs" (a, b, r, ...) and one output
 * that is a public function of them (a*b, a@b, r >> d, ...). Each holder
 * draws its input shares from the PRG it shares with the dealer; P1 also
 * draws its output share; the dealer, holding both PRGs, computes the
 * output and sends P0 only the correction c0 = out - out1. Dealer traffic
 * per correlation: |out| ring elements to P0, plus a small request header.
 *
 * KINDS below is the registry of correlation kinds, one entry each: how to
 * read its spec from a request, its input and output sizes, and how the
 * dealer evaluates the output. The bilinear kinds come from
 * src/mpc/bilinear-kinds.ts, whose entries the Beaver protocol uses too;
 * the spec type is derived from the registry, so a new kind is one entry.
 */
import { peerQuoted } from '../net/frames.js';
import { add, mul, mulScalar, shrLogical, sub } from '../ring/index.js';
import type { Shape } from '../ring/tensor.js';
import { allocRing, shapeSize } from '../ring/tensor.js';
import { BILINEAR_KINDS, bindBilinear, type BilinearKind, type BilinearKindName, type BilinearSpec } from './bilinear-kinds.js';
import { checkInt, MAX_CORRELATION_ELEMENTS, SpecFields } from './spec-fields.js';

export { MAX_CORRELATION_ELEMENTS };

/** One holder's shares: inputs in spec order, then the output. */
export interface CorrelationShares {
  inputs: BigUint64Array[];
  output: BigUint64Array;
}

interface KindDef<S> {
  /** The spec's fields (all but `kind`) from an untrusted request, checked. */
  parse(fields: SpecFields): S;
  /** Elements of each uniform input, drawn in this order as one buffer. */
  inputSizes(spec: S): number[];
  outputSize(spec: S): number;
  /**
   * Masks of earlier calls this correlation is about (protocols/masked.ts),
   * in order; the dealer regenerates them from their labels and passes them
   * to evaluate() after the fresh inputs.
   */
  references?(spec: S): MaskRef[];
  /** The dealer's public function from the reconstructed inputs to the output. */
  evaluate(spec: S, inputs: BigUint64Array[]): BigUint64Array;
}

/** A mask drawn by an earlier call: n elements from each holder's stream `maskStream(label)` with the dealer. */
export interface MaskRef {
  label: string;
  n: number;
}

/** Longest correlation or mask label the dealer accepts (call paths are much shorter). */
export const MAX_LABEL_LENGTH = 200;

/** Stream (shared by a holder and the dealer) of the mask a holder draws in the call labelled `label`. */
export function maskStream(label: string): string {
  return `mask:${label}`;
}

/**
 * Product of two masked operands (protocols/masked.ts): no fresh inputs; the
 * output is op(a, b) for the masks a, b the holders drew earlier, so the
 * holders combine it with the opened x - a and y - b they already have.
 */
export interface MaskedSpec {
  op: BilinearSpec;
  x: MaskRef;
  y: MaskRef;
}

function parseMaskRef(f: SpecFields): MaskRef {
  return { label: f.text('label', MAX_LABEL_LENGTH), n: f.int('n') };
}

function kind<S>(def: KindDef<S>): KindDef<S> {
  return def;
}

/** A bilinear kind as a correlation: inputs (a, b) of the operands' sizes, output c = op(a, b). */
function fromBilinear<S>(def: BilinearKind<S>): KindDef<S> {
  return {
    parse: (f) => def.parse(f),
    inputSizes: (spec) => {
      const op = def.bind(spec);
      return [shapeSize(op.xShape), shapeSize(op.yShape)];
    },
    outputSize: (spec) => shapeSize(def.bind(spec).outShape),
    evaluate: (spec, [a, b]) => def.bind(spec).apply(a!, b!),
  };
}

type SpecOfBilinear<D> = D extends BilinearKind<infer S> ? S : never;

function bilinearCorrelations<T extends Record<string, BilinearKind<unknown>>>(defs: T): { [K in keyof T]: KindDef<SpecOfBilinear<T[K]>> } {
  return Object.fromEntries(Object.entries(defs).map(([name, def]) => [name, fromBilinear(def)])) as { [K in keyof T]: KindDef<SpecOfBilinear<T[K]>> };
}

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
  const c = allocRing(n);
  for (const { start, length, offset } of elementwiseChunks(n, 2)) {
    mul(ab.subarray(offset, offset + length), ab.subarray(offset + length, offset + 2 * length), c.subarray(start, start + length));
  }
  return c;
}

/** Highest power a power tuple carries. */
export const MAX_POWER_DEGREE = 16;

export interface PowerSpec {
  n: number;
  /** Powers 1..degree of the base. */
  degree: number;
  /** The base is r >> shift (logical), r the uniform input: the opening x + r then also truncates x by shift bits (protocols/powers.ts). */
  shift: number;
}

/** Tensors of n elements in a power tuple's output: the base itself unless it is the input (shift 0), then base^2..base^degree. */
export function powerTupleOutputs({ degree, shift }: Pick<PowerSpec, 'degree' | 'shift'>): number {
  return degree - 1 + (shift > 0 ? 1 : 0);
}

const KINDS = {
  ...bilinearCorrelations(BILINEAR_KINDS),
  masked: kind({
    parse: (f: SpecFields): MaskedSpec => {
      const opFields = f.record('op');
      const name = opFields.text('kind', 40);
      if (!Object.hasOwn(BILINEAR_KINDS, name)) throw new RangeError(`correlation request: masked op has unknown kind ${peerQuoted(name)}`);
      const op = { kind: name, ...BILINEAR_KINDS[name as BilinearKindName].parse(opFields) } as BilinearSpec;
      const spec = { op, x: parseMaskRef(f.record('x')), y: parseMaskRef(f.record('y')) };
      const bound = bindBilinear(op);
      if (spec.x.n !== shapeSize(bound.xShape) || spec.y.n !== shapeSize(bound.yShape)) {
        throw new RangeError(`correlation request: masked ${name}: masks of ${spec.x.n} and ${spec.y.n} elements do not fit its operands`);
      }
      return spec;
    },
    inputSizes: () => [],
    outputSize: ({ op }) => shapeSize(bindBilinear(op).outShape),
    references: ({ x, y }) => [x, y],
    evaluate: ({ op }, [a, b]) => bindBilinear(op).apply(a!, b!),
  }),
  /** Elementwise triple, (a, b) interleaved by chunk (above). */
  mul: kind({
    parse: (f: SpecFields) => ({ n: f.int('n') }),
    inputSizes: ({ n }) => [2 * n],
    outputSize: ({ n }) => n,
    evaluate: ({ n }, [ab]) => interleavedProduct(ab!, n),
  }),
  /** (a, a^2): x^2 with one opening. */
  square: kind({
    parse: (f: SpecFields) => ({ n: f.int('n') }),
    inputSizes: ({ n }) => [n],
    outputSize: ({ n }) => n,
    evaluate: (_, [a]) => mul(a!, a!),
  }),
  /**
   * The dealer truncation's r and, one after the other, r >> bits (logical)
   * and msb(r) 2^(64 - bits): the second lets the holders undo the wrap of
   * the opened x + r exactly (protocols/truncation.ts).
   */
  trunc: kind({
    parse: (f: SpecFields) => ({ n: f.int('n'), bits: f.int('bits', 1, 62) }),
    inputSizes: ({ n }) => [n],
    outputSize: ({ n }) => 2 * n,
    evaluate: ({ n, bits }, [r]) => {
      const out = allocRing(2 * n);
      shrLogical(r!, bits, out.subarray(0, n));
      mulScalar(shrLogical(r!, 63), 1n << BigInt(64 - bits), out.subarray(n));
      return out;
    },
  }),
  /**
   * Power tuple (PROTOCOLS.md 6): r uniform and the powers of its base
   * b = r >> shift, b^1 (only if shift > 0) .. b^degree, one after the other.
   */
  power: kind({
    parse: (f: SpecFields): PowerSpec => ({ n: f.int('n'), degree: f.int('degree', 2, MAX_POWER_DEGREE), shift: f.int('shift', 0, 62) }),
    inputSizes: ({ n }) => [n],
    outputSize: (s) => s.n * powerTupleOutputs(s),
    evaluate: (s, [r]) => {
      const { n, degree, shift } = s;
      const base = shift > 0 ? shrLogical(r!, shift) : r!;
      const out = new BigUint64Array(n * powerTupleOutputs(s));
      let at = 0;
      if (shift > 0) {
        out.set(base);
        at = n;
      }
      let p = base;
      for (let j = 2; j <= degree; j++) p = mul(p, base, out.subarray(at, (at += n)));
      return out;
    },
  }),
};

type SpecOf<D> = D extends KindDef<infer S> ? S : never;
export type CorrelationKind = keyof typeof KINDS;
export type CorrelationSpec = { [K in CorrelationKind]: { kind: K } & SpecOf<(typeof KINDS)[K]> }[CorrelationKind];

function defOf(spec: CorrelationSpec): KindDef<CorrelationSpec> {
  // The entry that spec.kind names takes exactly this spec; TypeScript cannot follow that through the union.
  return KINDS[spec.kind] as unknown as KindDef<CorrelationSpec>;
}

export function inputSizes(spec: CorrelationSpec): number[] {
  return defOf(spec).inputSizes(spec);
}

export function outputSize(spec: CorrelationSpec): number {
  return defOf(spec).outputSize(spec);
}

/** A holder's shares of b^1..b^degree from a power tuple (b^1 is the input itself when shift is 0). */
export function powerTupleShares(spec: PowerSpec, shares: CorrelationShares): BigUint64Array[] {
  const { n, degree, shift } = spec;
  const out = shares.output;
  const parts = shift > 0 ? [] : [shares.inputs[0]!];
  for (let at = 0; parts.length < degree; at += n) parts.push(out.subarray(at, at + n));
  return parts;
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

/** The masks a correlation refers to (none for most kinds). */
export function maskReferences(spec: CorrelationSpec): MaskRef[] {
  return defOf(spec).references?.(spec) ?? [];
}

/**
 * Dealer: replay both holders' draws and compute P0's output correction.
 * `mask` gives the reconstructed mask of an earlier call (kinds with references).
 */
export function dealerCorrection(spec: CorrelationSpec, prg0: RingStream, prg1: RingStream, mask?: (ref: MaskRef) => BigUint64Array): BigUint64Array {
  const s0 = drawHolderShares(spec, 0, prg0);
  const s1 = drawHolderShares(spec, 1, prg1);
  const inputs = s0.inputs.map((a0, i) => add(a0, s1.inputs[i]!, a0));
  const refs = maskReferences(spec);
  if (refs.length > 0) {
    if (!mask) throw new Error(`${spec.kind} correlation: refers to masks, but no mask source was given`);
    inputs.push(...refs.map(mask));
  }
  const out = defOf(spec).evaluate(spec, inputs);
  return sub(out, s1.output!, out);
}

/**
 * Validate a spec that arrived over the network (the dealer trusts nothing
 * about its shape). Returns a clean copy or throws naming the problem.
 */
export function parseCorrelationSpec(raw: unknown): CorrelationSpec {
  if (typeof raw !== 'object' || raw === null) throw new TypeError('correlation request: not an object');
  const r = raw as Record<string, unknown>;
  const name = r['kind'];
  if (typeof name !== 'string' || !Object.hasOwn(KINDS, name)) throw new RangeError(`correlation request: unknown kind ${peerQuoted(name)}`);
  const spec = { kind: name, ...KINDS[name as CorrelationKind].parse(new SpecFields(r)) } as CorrelationSpec;
  for (const n of [...inputSizes(spec), outputSize(spec)]) checkInt(n, 'tensor size');
  return spec;
}

/** Key for matching prefetched correlations with later uses. */
export function specKey(spec: CorrelationSpec): string {
  return JSON.stringify(spec);
}

export type { Shape };

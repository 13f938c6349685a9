/**
 * The arithmetic an evaluation path may use, as an interface, so one program
 * (Clenshaw or Horner for p_alpha, AppReLU, AppMax) runs unchanged on float64
 * arrays, on float32 arrays (bit-exact IEEE single precision: each op's
 * result is stored in a Float32Array, and +, -, * computed in double then
 * rounded once equal the single-precision results), on a fixed-point
 * simulation of the MPC path, or on tfjs tensors (an adapter with
 * tf.add / tf.sub / tf.mul; run it inside tf.tidy).
 */

export interface ElementwiseOps<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  /** a times a public constant. */
  scale(a: T, s: number): T;
  /** a plus a public constant. */
  shift(a: T, s: number): T;
  /** A value shaped like `like` filled with the constant. */
  fill(like: T, v: number): T;
}

// Plain loops per op (no per-element callbacks): V8 keeps them monomorphic,
// about 10x faster than a generic map, which matters for dense-grid checks.
function typedOps<A extends Float64Array | Float32Array>(make: (n: number) => A, constant: (v: number) => number): ElementwiseOps<A> {
  return {
    add(a, b) {
      const out = make(a.length);
      for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
      return out;
    },
    sub(a, b) {
      const out = make(a.length);
      for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
      return out;
    },
    mul(a, b) {
      const out = make(a.length);
      for (let i = 0; i < a.length; i++) out[i] = a[i]! * b[i]!;
      return out;
    },
    scale(a, s) {
      const c = constant(s);
      const out = make(a.length);
      for (let i = 0; i < a.length; i++) out[i] = a[i]! * c;
      return out;
    },
    shift(a, s) {
      const c = constant(s);
      const out = make(a.length);
      for (let i = 0; i < a.length; i++) out[i] = a[i]! + c;
      return out;
    },
    fill: (like, v) => make(like.length).fill(constant(v)) as A,
  };
}

/** float64 arrays. */
export const float64Ops: ElementwiseOps<Float64Array> = typedOps((n) => new Float64Array(n), (v) => v);

/** float32 arrays: constants are rounded to float32 as a tfjs scalar would be. */
export const float32Ops: ElementwiseOps<Float32Array> = typedOps((n) => new Float32Array(n), Math.fround);

/** Scalar float64 numbers (the convenience APIs). */
export const numberOps: ElementwiseOps<number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  scale: (a, s) => a * s,
  shift: (a, s) => a + s,
  fill: (_like, v) => v,
};

/**
 * Fixed point with `fracBits` fractional bits, as the MPC path computes:
 * values and public constants are multiples of 2^-f (constants rounded to
 * nearest when encoded), and every product is truncated by floor(. / 2^f),
 * the deterministic part of the protocols' truncation (which may add one more
 * unit in the last place). Values stay below 2^53 ulps for the ranges here.
 */
export function fixedPointOps(fracBits: number): ElementwiseOps<Float64Array> {
  if (!Number.isInteger(fracBits) || fracBits < 1 || fracBits > 40) throw new Error(`fracBits must be an integer in 1..40, got ${fracBits}`);
  const one = 2 ** fracBits;
  const enc = (v: number): number => Math.round(v * one);
  const make = (n: number): Float64Array => new Float64Array(n);
  // values are held as integers (ulps) internally: exact adds, floor on products
  const base = typedOps(make, enc);
  return {
    ...base,
    mul(a, b) {
      const out = make(a.length);
      for (let i = 0; i < a.length; i++) out[i] = Math.floor((a[i]! * b[i]!) / one);
      return out;
    },
    scale(a, s) {
      const c = enc(s);
      const out = make(a.length);
      for (let i = 0; i < a.length; i++) out[i] = Math.floor((a[i]! * c) / one);
      return out;
    },
  };
}

/** Encode / decode helpers for the fixed-point ops (values in ulps of 2^-f). */
export function toFixed(xs: ArrayLike<number>, fracBits: number): Float64Array {
  const one = 2 ** fracBits;
  return Float64Array.from(xs as ArrayLike<number>, (x) => Math.round(x * one));
}

export function fromFixed(xs: ArrayLike<number>, fracBits: number): Float64Array {
  const one = 2 ** fracBits;
  return Float64Array.from(xs as ArrayLike<number>, (x) => x / one);
}

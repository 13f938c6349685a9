/** Shapes and a minimal ring tensor: row-major data over Z_2^64. */

export type Shape = readonly number[];

export interface RingTensor {
  readonly data: BigUint64Array;
  readonly shape: Shape;
}

function describe(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Number of elements of a shape (1 for the scalar shape []). Throws on a bad dimension. */
export function shapeSize(shape: Shape): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`bad shape ${describe(shape)}: dimension ${d} is not a non-negative integer`);
    size *= d;
  }
  if (!Number.isSafeInteger(size)) throw new RangeError(`bad shape ${describe(shape)}: too many elements`);
  return size;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throws a RangeError naming `what` unless `data` has exactly shapeSize(shape) elements. */
export function assertShape(data: { readonly length: number }, shape: Shape, what = 'tensor'): void {
  const size = shapeSize(shape);
  if (data.length !== size) {
    throw new RangeError(`${what}: shape ${describe(shape)} needs ${size} elements, got ${data.length}`);
  }
}

/** A ring tensor after checking that data and shape agree. */
export function ringTensor(data: BigUint64Array, shape: Shape, what = 'tensor'): RingTensor {
  assertShape(data, shape, what);
  return { data, shape: [...shape] };
}

export function zerosRing(shape: Shape): RingTensor {
  return { data: new BigUint64Array(shapeSize(shape)), shape: [...shape] };
}

export function formatShape(shape: Shape): string {
  return describe(shape);
}

/** Below this many elements a zeroed allocation is as cheap (Buffer.allocUnsafe pools small sizes; the view must be 8-byte aligned). */
const UNINIT_MIN_ELEMENTS = 1024;

/**
 * n ring elements of undefined content, for outputs every element of which
 * is written next. `new BigUint64Array(n)` zero-fills: for the 25 MB tensors
 * of a training step that memset was ~10% of a party's CPU. The memory comes
 * from this process's own heap, so nothing from another party can show.
 */
export function allocRing(n: number): BigUint64Array {
  if (n < UNINIT_MIN_ELEMENTS) return new BigUint64Array(n);
  const bytes = Buffer.allocUnsafeSlow(n * 8);
  return new BigUint64Array(bytes.buffer, bytes.byteOffset, n);
}

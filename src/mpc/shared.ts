/**
 * A secret-shared tensor as one party sees it: its additive share over
 * Z_2^64, the public shape, and the number of fractional bits of the value
 * it encodes (a product of two f-bit values carries 2f until truncated).
 * In the one-party plaintext context the "share" is the value itself.
 */
import { shapesEqual, shapeSize, type Shape } from '../ring/tensor.js';

export class Shared {
  constructor(
    readonly share: BigUint64Array,
    readonly shape: Shape,
    readonly fracBits: number,
  ) {
    const size = shapeSize(shape);
    if (share.length !== size) {
      throw new RangeError(`share of ${share.length} elements does not match shape [${shape.join(', ')}] (${size})`);
    }
  }

  get size(): number {
    return this.share.length;
  }

  /** Same share, new shape (element count must agree). */
  reshape(shape: Shape): Shared {
    return new Shared(this.share, shape, this.fracBits);
  }

  with(share: BigUint64Array, fracBits = this.fracBits): Shared {
    return new Shared(share, this.shape, fracBits);
  }
}

export function assertSameShape(what: string, a: Shape, b: Shape): void {
  if (!shapesEqual(a, b)) throw new RangeError(`${what}: shapes [${a.join(', ')}] and [${b.join(', ')}] differ`);
}

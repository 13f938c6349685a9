/**
 * A secret-shared tensor as one party sees it: its additive share over
 * Z_2^64, the public shape, and the number of fractional bits of the value
 * it encodes (a product of two f-bit values carries 2f until truncated).
 * In the one-party plaintext context the "share" is the value itself.
 * P2 holds no shares: its tensors are placeholders (an empty share array
 * with the public shape), so that it can run the same job program as the
 * holders and protocols it takes no part in cost it nothing.
 */
import { shapesEqual, shapeSize, type Shape } from '../ring/tensor.js';

const EMPTY = new BigUint64Array(0);

export class Shared {
  constructor(
    readonly share: BigUint64Array,
    readonly shape: Shape,
    readonly fracBits: number,
  ) {
    const size = shapeSize(shape);
    if (share.length !== size && share.length !== 0) {
      throw new RangeError(`share of ${share.length} elements does not match shape [${shape.join(', ')}] (${size})`);
    }
  }

  /** A tensor P2 follows by shape only. */
  static placeholder(shape: Shape, fracBits: number): Shared {
    return new Shared(EMPTY, shape, fracBits);
  }

  /** Element count of the tensor (also on a placeholder). */
  get size(): number {
    return shapeSize(this.shape);
  }

  /** False on P2's placeholders. */
  get held(): boolean {
    return this.share.length === this.size;
  }

  /** Same share, new shape (element count must agree). */
  reshape(shape: Shape): Shared {
    return new Shared(this.share, shape, this.fracBits);
  }

  /** Same shape, new share (an empty share keeps a placeholder a placeholder). */
  with(share: BigUint64Array, fracBits = this.fracBits): Shared {
    return new Shared(share, this.shape, fracBits);
  }
}

export function assertSameShape(what: string, a: Shape, b: Shape): void {
  if (!shapesEqual(a, b)) throw new RangeError(`${what}: shapes [${a.join(', ')}] and [${b.join(', ')}] differ`);
}

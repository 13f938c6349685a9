/**
 * Randomness for shares and masks (DESIGN.md "Numbers"): fresh values from
 * the OS CSPRNG, PRG streams from AES-128-CTR keyed by a 16-byte seed.
 * Two parties holding the same seed draw identical streams as long as they
 * draw the same lengths in the same order (PROTOCOLS.md section 1).
 */
import { createCipheriv, randomFillSync } from 'node:crypto';

export const SEED_BYTES = 16;

export function randomSeed(): Uint8Array {
  return randomFillSync(new Uint8Array(SEED_BYTES));
}

/** n uniform ring elements from the OS CSPRNG. */
export function randomRing(n: number): BigUint64Array {
  const out = new BigUint64Array(n);
  randomFillSync(out);
  return out;
}

// Reused zero block: CTR keystream = E(counter) xor 0.
let zeros = new Uint8Array(0);
function zeroBytes(n: number): Uint8Array {
  if (zeros.length < n) zeros = new Uint8Array(Math.max(n, 1 << 16));
  return zeros.subarray(0, n);
}

export class Prg {
  private readonly cipher: ReturnType<typeof createCipheriv>;
  private drawnBytes = 0;

  constructor(seed: Uint8Array) {
    if (seed.length !== SEED_BYTES) {
      throw new RangeError(`PRG seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
    }
    // Counter block starts at zero; the key is the seed.
    this.cipher = createCipheriv('aes-128-ctr', seed, Buffer.alloc(16));
  }

  /** Bytes drawn so far (for checking that two holders stay in step). */
  get position(): number {
    return this.drawnBytes;
  }

  /** Fill `out` with keystream bytes. Lengths must be multiples of 16 to keep views aligned; other lengths still work. */
  fill(out: Uint8Array): void {
    const ks = this.cipher.update(zeroBytes(out.length));
    out.set(ks);
    this.drawnBytes += out.length;
  }

  /** n uniform ring elements. */
  ring(n: number): BigUint64Array {
    const ks = this.cipher.update(zeroBytes(n * 8));
    this.drawnBytes += ks.length;
    // Use the keystream buffer itself when it is 8-byte aligned (large ones are): saves a copy.
    if (ks.byteOffset % 8 === 0) return new BigUint64Array(ks.buffer, ks.byteOffset, n);
    const out = new BigUint64Array(n);
    new Uint8Array(out.buffer).set(ks);
    return out;
  }

  /** A fresh seed drawn from this stream (to derive sub-streams). */
  seed(): Uint8Array {
    const s = new Uint8Array(SEED_BYTES);
    this.fill(s);
    return s;
  }
}


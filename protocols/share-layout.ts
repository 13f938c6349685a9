/**
 * Local rearrangements of shares (no communication): stacking tensors so
 * that several products of one round go in one Beaver call (one message
 * instead of several), splitting them back, and repeating one value per row
 * along a last axis. P2's placeholders stay placeholders.
 */
import { Shared } from '../src/mpc/shared.js';

const EMPTY = new BigUint64Array(0);

/** The flat concatenation of `parts` (all at one scale): shape [sum of sizes]. */
export function stack(parts: readonly Shared[]): Shared {
  const f = parts[0]!.fracBits;
  let n = 0;
  for (const p of parts) {
    if (p.fracBits !== f) throw new RangeError(`stack: fixed-point scales differ (${f} and ${p.fracBits} fractional bits)`);
    n += p.size;
  }
  if (!parts.every((p) => p.held)) return Shared.placeholder([n], f);
  const out = new BigUint64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p.share, at);
    at += p.size;
  }
  return new Shared(out, [n], f);
}

/** Splits a stacked tensor back into pieces of the given shapes (views, not copies). */
export function unstack(x: Shared, shapes: readonly (readonly number[])[]): Shared[] {
  const out: Shared[] = [];
  let at = 0;
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.push(new Shared(x.held ? x.share.subarray(at, at + n) : EMPTY, [...shape], x.fracBits));
    at += n;
  }
  if (at !== x.size) throw new RangeError(`unstack: pieces of ${at} elements from a tensor of ${x.size}`);
  return out;
}

/** v[r] repeated `k` times per row: shape `shape`, whose last axis has length k and whose rows number v.size. */
export function repeatPerRow(v: Shared, shape: readonly number[]): Shared {
  const k = shape[shape.length - 1]!;
  const rows = v.size;
  if (rows * k !== shape.reduce((a, b) => a * b, 1)) throw new RangeError(`repeatPerRow: ${rows} rows do not fill shape [${shape.join(', ')}]`);
  if (!v.held) return Shared.placeholder([...shape], v.fracBits);
  const out = new BigUint64Array(rows * k);
  for (let r = 0; r < rows; r++) out.fill(v.share[r]!, r * k, (r + 1) * k);
  return new Shared(out, [...shape], v.fracBits);
}

/** Sum over the last axis (length k): shape [rows]. */
export function sumRows(x: Shared, k: number): Shared {
  const rows = x.size / k;
  if (!Number.isInteger(rows)) throw new RangeError(`sumRows: ${x.size} elements are not rows of ${k}`);
  if (!x.held) return Shared.placeholder([rows], x.fracBits);
  const out = new BigUint64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let i = r * k; i < (r + 1) * k; i++) out[r] = out[r]! + x.share[i]!;
  }
  return new Shared(out, [rows], x.fracBits);
}

/**
 * Max pooling with the 3-party truncation ReLU (PROTOCOLS.md 4): a
 * tournament per window, max(a, b) = b + ReLU(a - b). All windows advance one
 * level per ReLU call, so a window of k elements costs ceil(log2 k) calls,
 * 2 ceil(log2 k) rounds, and k - 1 ReLUs. The sign decisions use lx bits:
 * the differences a - b must lie in the test's range (|a - b| < 2^(lx/2)
 * with the lx / 2 convention; otherwise the decision is unreliable, see
 * src/approx/truncation-sign.ts), and a pair closer than the test's
 * resolution may keep the smaller one (an error below that resolution);
 * the values themselves stay exact.
 * Input [N, C, H, W]; window kh x kw; stride (default: the window);
 * padding 'valid' or 'same' (TensorFlow's: total padding
 * max((out - 1) stride + k - in, 0), the smaller half before; padded cells
 * are left out of a window, as max pooling ignores them).
 */
import type { Context } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { relu, type TruncReluOptions } from './drelu.js';

export interface MaxPoolOptions extends TruncReluOptions {
  stride?: number | [number, number];
  padding?: 'valid' | 'same';
}

interface Geometry {
  outShape: [number, number, number, number];
  /** Input indices of each window's members, window after window. */
  members: Int32Array;
  /** Members per window. */
  counts: Int32Array;
}

function pair(v: number | [number, number], what: string): [number, number] {
  const [a, b] = typeof v === 'number' ? [v, v] : v;
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < 1) throw new RangeError(`maxPool2d: ${what} must be positive integers, got ${JSON.stringify(v)}`);
  return [a, b];
}

function axis(inSize: number, k: number, stride: number, padding: 'valid' | 'same'): { out: number; before: number } {
  if (padding === 'valid') {
    if (k > inSize) throw new RangeError(`maxPool2d: window ${k} is larger than the input ${inSize} ('valid' padding)`);
    return { out: Math.floor((inSize - k) / stride) + 1, before: 0 };
  }
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  return { out, before: Math.floor(total / 2) };
}

export function maxPoolGeometry(shape: readonly number[], window: number | [number, number], opts: Pick<MaxPoolOptions, 'stride' | 'padding'> = {}): Geometry {
  if (shape.length !== 4) throw new RangeError(`maxPool2d expects [N, C, H, W], got [${shape.join(', ')}]`);
  const [kh, kw] = pair(window, 'window');
  const [sh, sw] = pair(opts.stride ?? [kh, kw], 'stride');
  const padding = opts.padding ?? 'valid';
  const [n, c, h, w] = shape as [number, number, number, number];
  const rows = axis(h, kh, sh, padding);
  const cols = axis(w, kw, sw, padding);
  const windows = n * c * rows.out * cols.out;
  const counts = new Int32Array(windows);
  const members: number[] = [];
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < rows.out; i++) {
      for (let j = 0; j < cols.out; j++) {
        for (let di = 0; di < kh; di++) {
          const r = i * sh + di - rows.before;
          if (r < 0 || r >= h) continue;
          for (let dj = 0; dj < kw; dj++) {
            const col = j * sw + dj - cols.before;
            if (col < 0 || col >= w) continue;
            members.push(plane * h * w + r * w + col);
            counts[o]!++;
          }
        }
        o++;
      }
    }
  }
  return { outShape: [n, c, rows.out, cols.out], members: Int32Array.from(members), counts };
}

export function maxPool2d(ctx: Context, x: Shared, window: number | [number, number], opts: MaxPoolOptions): Promise<Shared> {
  return ctx.call('maxPool2d', async (c) => {
    const geo = maxPoolGeometry(x.shape, window, opts);
    const held = x.held;
    let counts = geo.counts;
    // Current candidates of every window, concatenated (empty on P2).
    let cand = held ? new BigUint64Array(geo.members.length) : new BigUint64Array(0);
    if (held) for (let i = 0; i < cand.length; i++) cand[i] = x.share[geo.members[i]!]!;
    let longest = counts.reduce((m, v) => Math.max(m, v), 0);
    while (longest > 1) {
      let pairs = 0;
      for (const k of counts) pairs += k >> 1;
      const diff = held ? new BigUint64Array(pairs) : new BigUint64Array(0);
      const second = held ? new BigUint64Array(pairs) : new BigUint64Array(0);
      if (held) {
        let at = 0;
        let q = 0;
        for (const k of counts) {
          for (let i = 0; i + 1 < k; i += 2, q++) {
            diff[q] = cand[at + i]! - cand[at + i + 1]!;
            second[q] = cand[at + i + 1]!;
          }
          at += k;
        }
      }
      const r = await relu(c, new Shared(diff, [pairs], x.fracBits), opts);
      const nextCounts = new Int32Array(counts.length);
      const next = held ? new BigUint64Array(counts.reduce((s, k) => s + ((k + 1) >> 1), 0)) : new BigUint64Array(0);
      let at = 0;
      let q = 0;
      let o = 0;
      for (let wdx = 0; wdx < counts.length; wdx++) {
        const k = counts[wdx]!;
        for (let i = 0; i + 1 < k; i += 2, q++) if (held) next[o++] = second[q]! + r.share[q]!;
        if (k % 2 === 1 && held) next[o++] = cand[at + k - 1]!;
        nextCounts[wdx] = (k + 1) >> 1;
        at += k;
      }
      cand = next;
      counts = nextCounts;
      longest = (longest + 1) >> 1;
    }
    return held ? new Shared(cand, geo.outShape, x.fracBits) : Shared.placeholder(geo.outShape, x.fracBits);
  });
}

/**
 * DReLU and ReLU for three parties in two rounds, without preprocessing:
 * the truncation-based comparison of Bicoptor (Zhou et al., IEEE S&P 2023)
 * and Bicoptor 2.0 (arXiv 2309.04909), as PROTOCOLS.md section 4 derives it.
 * The plaintext meaning of every step, and the rule for inputs near 0 and
 * out of range, is in src/approx/truncation-sign.ts (the one reference).
 *
 * Holders P0, P1, per element, with masks from their common stream k01:
 *  0. re-randomise x0 += rho, x1 -= rho; 1. flip: x' = (-1)^t x;
 *  2-3. local truncations by j + d bits (j = s..lx) and the tested values
 *     (holderTestValues); 4. modulus switch: P0 a' = a or K if a = 0,
 *     P1 b' = b - K, so a' + b' in (-K, K) is 0 iff the value is 0 mod K;
 *  5. mask in Z_p (p the smallest prime above K): P0 sends r a' + z, P1
 *     sends r b' - z, r in Z_p^*, z in Z_p, at positions rotated by a common
 *     random offset; for ReLU also z_b (P0: x'_0, P1: x'_1 + r_x).
 * Round 1: P0 and P1 -> P2, one message per chunk of elements.
 * P2: d' = [some sum is 0 mod p]; it sees at most one zero, at a uniform
 *     position, the other sums uniform in Z_p^*, and d' = DReLU(x) xor t, a
 *     fair coin; for ReLU z = x' + r_x, uniform. It draws P0's shares of d'
 *     (and y = d' z) from k02 and sends P1 its shares.
 * Round 2: P2 -> P1. P0 receives nothing: its output shares come from k02,
 *     so its round clock does not move (the next protocol's messages from
 *     P1 carry the two rounds to it).
 * Outputs: [DReLU] = t + (1 - 2t)[d'];  [ReLU] = t [x] + [y] - r_x [d'].
 * The ReLU keeps x's full precision: only the sign decision uses lx bits.
 *
 * Payload bytes per call of N elements (n = lx - s + 2 values, b = ceil(log2 p)):
 *   P0 -> P2 and P1 -> P2: ceil(N n b / 8) (+ 8N for ReLU); P2 -> P1: 8N (16N for ReLU).
 * Elements go in chunks of CHUNK (a multiple of 8, so only the last chunk's
 * packing rounds up): the holders' work, the transfers and P2's work overlap.
 */
import {
  holderTestValues,
  simulateTruncSign,
  truncSignParams,
  type TruncSignOptions,
  type TruncSignParams,
} from '../src/approx/truncation-sign.js';
import type { Context } from '../src/mpc/context.js';
import { ringView } from '../src/mpc/payload.js';
import { Shared } from '../src/mpc/shared.js';
import { fillBelowSmall, fillBits, fillUniform, packBits, packedBytes, unpackBits } from '../src/ring/field.js';

export interface TruncReluOptions extends Omit<TruncSignOptions, 'fracBits'> {
  /**
   * P2 only, for tests of its view: called per chunk with what P2 sees.
   * Runs in P2's own process on its own data: nothing leaves P2.
   */
  onHelperView?: (view: HelperView) => void;
}

export interface HelperView {
  /** d' per element. */
  dPrime: Uint8Array;
  /** Position of the zero among the n sums (-1: none), per element. */
  zeroAt: Int16Array;
  /** The n sums (m0 + m1 mod p) per element, as P2 computes them. */
  sums: Uint32Array;
  p: number;
}

/** Elements per message; a multiple of 8 so packed chunks are whole bytes. */
export const RELU_CHUNK = 8192;

const ONE = 1n;

/** The protocol's online payload bytes, by party (PROTOCOLS.md 4), for N elements. */
export function truncReluBytes(n: number, params: TruncSignParams, withRelu: boolean): { p0Sent: number; p1Sent: number; p1Received: number; p2Received: number; p2Sent: number } {
  const holderSent = packedBytes(n * params.values, params.fieldBits) + (withRelu ? 8 * n : 0);
  const p2Sent = (withRelu ? 16 : 8) * n;
  return { p0Sent: holderSent, p1Sent: holderSent, p1Received: p2Sent, p2Received: 2 * holderSent, p2Sent };
}

/** DReLU(x) = [x >= 0] as shares of 0/1 (0 fractional bits). 3 parties. */
export async function drelu(ctx: Context, x: Shared, opts: TruncReluOptions): Promise<Shared> {
  return ctx.call('drelu', async (c) => (await truncRelu(c, x, opts, false)).bit);
}

/** ReLU(x) = DReLU(x) x at x's full precision (sign decided on lx bits). 3 parties. */
export async function relu(ctx: Context, x: Shared, opts: TruncReluOptions): Promise<Shared> {
  return ctx.call('relu', async (c) => (await truncRelu(c, x, opts, true)).relu!);
}

/** Both outputs of one call: ReLU(x) and its DReLU bit (e.g. for a backward pass). */
export function reluWithBit(ctx: Context, x: Shared, opts: TruncReluOptions): Promise<{ relu: Shared; bit: Shared }> {
  return ctx.call('relu', async (c) => {
    const out = await truncRelu(c, x, opts, true);
    return { relu: out.relu!, bit: out.bit };
  });
}

async function truncRelu(c: Context, x: Shared, opts: TruncReluOptions, withRelu: boolean): Promise<{ bit: Shared; relu: Shared | null }> {
  const params = truncSignParams({ ...opts, fracBits: x.fracBits });
  const n = x.size;
  if (n === 0) throw new RangeError('truncation ReLU: no elements to compare (n = 0)');
  if (c.isPlain) {
    const bits = simulateTruncSign(x.share, params, c.emulationStream());
    const bit = new BigUint64Array(n);
    const out = withRelu ? new BigUint64Array(n) : null;
    for (let i = 0; i < n; i++) {
      if (bits[i]) {
        bit[i] = ONE;
        if (out) out[i] = x.share[i]!;
      }
    }
    return { bit: new Shared(bit, x.shape, 0), relu: out ? x.with(out) : null };
  }
  c.requireHelper('truncation ReLU');
  if (c.isHelper) {
    await helperSide(c, n, params, withRelu, opts.onHelperView);
    return { bit: Shared.placeholder(x.shape, 0), relu: withRelu ? Shared.placeholder(x.shape, x.fracBits) : null };
  }
  return holderSide(c, x, params, withRelu);
}

function chunks(n: number): { start: number; count: number }[] {
  const out = [];
  for (let start = 0; start < n; start += RELU_CHUNK) out.push({ start, count: Math.min(RELU_CHUNK, n - start) });
  return out;
}

async function holderSide(c: Context, x: Shared, params: TruncSignParams, withRelu: boolean): Promise<{ bit: Shared; relu: Shared | null }> {
  const holder = c.holderId;
  const n = x.size;
  const nv = params.values;
  const { p } = params;
  const K = 2 ** params.k;
  const xs = x.share;
  const common = c.common;
  const basis = c.rounds;
  const flipsAll = new Uint8Array(n);
  const maskAll = withRelu ? new BigUint64Array(n) : null;
  // Per-chunk scratch (messages are fresh: they are sent zero-copy).
  const xf = new BigUint64Array(RELU_CHUNK);
  const testIn = new BigUint64Array(RELU_CHUNK);
  const testWords = new Uint32Array(testIn.buffer);
  const rot = new Uint8Array(RELU_CHUNK);
  const rMul = new Uint32Array(RELU_CHUNK * nv);
  const zMask = new Uint32Array(RELU_CHUNK * nv);
  const vals = new Uint32Array(RELU_CHUNK * nv);
  const field = new Uint32Array(RELU_CHUNK * nv);
  const ringBytes = withRelu ? 8 : 0;

  for (const { start, count } of chunks(n)) {
    // Draw order is the protocol: both holders draw the same lengths in the same order.
    const rho = common.ring(count);
    const flips = flipsAll.subarray(start, start + count);
    fillBits(common, flips);
    const rotC = rot.subarray(0, count);
    fillBelowSmall(common, rotC, nv);
    const m = count * nv;
    fillUniform(common, rMul.subarray(0, m), p - 1, 1);
    fillUniform(common, zMask.subarray(0, m), p);
    if (maskAll) maskAll.set(common.ring(count), start);

    // Steps 0-1: re-randomise and flip; the test input is y0 (P0) or w1 = -y1 (P1).
    if (holder === 0) {
      for (let i = 0; i < count; i++) {
        xf[i] = flips[i] ? -(xs[start + i]! + rho[i]!) : xs[start + i]! + rho[i]!;
        testIn[i] = xf[i]!;
      }
    } else {
      for (let i = 0; i < count; i++) {
        xf[i] = flips[i] ? rho[i]! - xs[start + i]! : xs[start + i]! - rho[i]!;
        testIn[i] = -xf[i]!;
      }
    }
    // Steps 2-3.
    holderTestValues(holder, testWords, flips, params, count, vals);
    // Steps 4-5: modulus switch into Z_p, masks, rotation.
    for (let e = 0; e < count; e++) {
      const base = e * nv;
      const shift = rotC[e]!;
      for (let i = 0; i < nv; i++) {
        const a = vals[base + i]!;
        let pos = i + shift;
        if (pos >= nv) pos -= nv;
        const at = base + pos;
        const switched = holder === 0 ? (a === 0 ? K : a) : a + p - K; // b' = b - K, kept in [0, p)
        const prod = rMul[at]! * switched; // < 2^52: exact
        const masked = prod - Math.floor(prod / p) * p;
        const z = zMask[at]!;
        field[at] = holder === 0 ? (masked + z >= p ? masked + z - p : masked + z) : (masked >= z ? masked - z : masked - z + p);
      }
    }
    const msg = new Uint8Array(ringBytes * count + packedBytes(m, params.fieldBits));
    if (withRelu) {
      const zRing = new BigUint64Array(msg.buffer, 0, count);
      if (holder === 0) zRing.set(xf.subarray(0, count));
      else for (let i = 0; i < count; i++) zRing[i] = xf[i]! + maskAll![start + i]!;
    }
    packBits(field.subarray(0, m), params.fieldBits, msg.subarray(ringBytes * count));
    c.send(2, msg, { basis });
  }

  // Outputs: P0 draws its shares of d' and y from k02; P1 receives its own from P2.
  const bit = new BigUint64Array(n);
  const out = withRelu ? new BigUint64Array(n) : null;
  const fromP2 = holder === 0 ? c.prg(2) : null;
  let j = 0;
  for (const { start, count } of chunks(n)) {
    let dShare: BigUint64Array;
    let yShare: BigUint64Array | null = null;
    if (fromP2) {
      dShare = fromP2.ring(count);
      if (withRelu) yShare = fromP2.ring(count);
    } else {
      const reply = ringView(await c.recv(2), (withRelu ? 2 : 1) * count, `chunk ${j} of '${c.tag}' from P2`);
      dShare = reply.subarray(0, count);
      if (withRelu) yShare = reply.subarray(count);
    }
    const own = holder === 0 ? ONE : 0n;
    for (let i = 0; i < count; i++) {
      const k = start + i;
      bit[k] = flipsAll[k] ? own - dShare[i]! : dShare[i]!;
      if (out) out[k] = (flipsAll[k] ? xs[k]! : 0n) + yShare![i]! - maskAll![k]! * dShare[i]!;
    }
    j++;
  }
  return { bit: new Shared(bit, x.shape, 0), relu: out ? x.with(out) : null };
}

async function helperSide(c: Context, n: number, params: TruncSignParams, withRelu: boolean, onView: ((view: HelperView) => void) | undefined): Promise<void> {
  const nv = params.values;
  const { p } = params;
  const toP0 = c.prg(0);
  const f0 = new Uint32Array(RELU_CHUNK * nv);
  const f1 = new Uint32Array(RELU_CHUNK * nv);
  const dPrime = new Uint8Array(RELU_CHUNK);
  let j = 0;
  for (const { count } of chunks(n)) {
    const m = count * nv;
    const ringBytes = withRelu ? 8 * count : 0;
    const expected = ringBytes + packedBytes(m, params.fieldBits);
    const parts = [];
    for (const from of [0, 1] as const) {
      const payload = await c.recv(from);
      const what = `chunk ${j} of '${c.tag}' from P${from}`;
      if (!payload || payload.byteLength !== expected) throw new Error(`${what}: expected ${expected} bytes, got ${payload ? payload.byteLength : 0}`);
      try {
        unpackBits(payload.subarray(ringBytes), m, params.fieldBits, from === 0 ? f0 : f1);
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`);
      }
      parts.push(withRelu ? new BigUint64Array(payload.buffer, payload.byteOffset, count) : null);
    }
    const view = onView ? { dPrime: new Uint8Array(count), zeroAt: new Int16Array(count).fill(-1), sums: new Uint32Array(m), p } : null;
    for (let e = 0; e < count; e++) {
      let zero = 0;
      for (let i = e * nv; i < (e + 1) * nv; i++) {
        const a = f0[i]!;
        const b = f1[i]!;
        if (a >= p || b >= p) throw new Error(`chunk ${j} of '${c.tag}': a field element is not below p = ${p}`);
        const s = a + b;
        if (s === 0 || s === p) {
          zero = 1;
          if (view) view.zeroAt[e] = i - e * nv;
        }
        if (view) view.sums[i] = s >= p ? s - p : s;
      }
      dPrime[e] = zero;
      if (view) view.dPrime[e] = zero;
    }
    if (view) onView!(view);
    // P0's shares from k02, P1's by message.
    const d0 = toP0.ring(count);
    const reply = new BigUint64Array((withRelu ? 2 : 1) * count);
    for (let e = 0; e < count; e++) reply[e] = dPrime[e] ? ONE - d0[e]! : -d0[e]!;
    if (withRelu) {
      const y0 = toP0.ring(count);
      const [z0, z1] = parts as [BigUint64Array, BigUint64Array];
      for (let e = 0; e < count; e++) reply[count + e] = dPrime[e] ? z0[e]! + z1[e]! - y0[e]! : -y0[e]!;
    }
    c.send(1, reply);
    j++;
  }
}

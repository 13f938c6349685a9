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
 *     sends -(r b' - z) = r (K - b) + z, r in Z_p^*, z in Z_p, at positions
 *     rotated by a common random offset (P1 sends the negation so that P2's
 *     test "m0 + m1 = 0" becomes "m0 = m1'", checked on the XOR of the two
 *     packed messages: one unpacking instead of two); for ReLU also z_b
 *     (P0: x'_0, P1: x'_1 + r_x).
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
import type { Prg } from '../src/ring/prg.js';

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

/**
 * Steps 4-5 for one holder: value i of element e goes to position
 * (i + rot[e]) mod n as r s + z in Z_p, with s = a' = (a, or K if a = 0) on
 * P0 and s = -b' = K - b on P1 (both in [1, K]); so P0's and P1's entries
 * are equal exactly where a' + b' = 0. Branch-free: p < 2^26 and r s < 2^52
 * is exact in doubles; the quotient by multiplying with 1/p is off by at
 * most one and fixed with sign masks (a 50/50 branch per value measured
 * 2.5x slower).
 */
export function maskTestValues(
  holder: 0 | 1, vals: Uint32Array, rMul: Uint32Array, zMask: Uint32Array, rot: Uint8Array, out: Uint32Array, count: number, params: TruncSignParams,
): void {
  const nv = params.values;
  const { p } = params;
  const K = 2 ** params.k;
  const invP = 1 / p;
  for (let e = 0; e < count; e++) {
    const base = e * nv;
    const r = rot[e]!;
    for (let i = 0; i < nv; i++) {
      const at = base + (i + r < nv ? i + r : i + r - nv);
      const a = holder === 0 ? vals[base + i]! : K - vals[base + i]!; // in [0, K]
      const switched = a + (((a - 1) >> 31) & K); // 0 -> K (a <= 2^25, so (a - 1) >> 31 is -1 exactly for a = 0)
      const prod = rMul[at]! * switched;
      let m = (prod - Math.floor(prod * invP) * p) | 0; // in (-p, 2p)
      m -= p;
      m += (m >> 31) & p;
      m += (m >> 31) & p;
      m = (m + zMask[at]! - p) | 0;
      out[at] = m + ((m >> 31) & p);
    }
  }
}

function chunks(n: number): { start: number; count: number }[] {
  const out = [];
  for (let start = 0; start < n; start += RELU_CHUNK) out.push({ start, count: Math.min(RELU_CHUNK, n - start) });
  return out;
}

/** Per-chunk scratch of one holder (reused across chunks; messages are fresh as they are sent zero-copy). */
interface HolderScratch {
  xf: BigUint64Array;
  testIn: BigUint64Array;
  rot: Uint8Array;
  rMul: Uint32Array;
  zMask: Uint32Array;
  vals: Uint32Array;
  field: Uint32Array;
}

function holderScratch(nv: number): HolderScratch {
  const m = RELU_CHUNK * nv;
  return {
    xf: new BigUint64Array(RELU_CHUNK), testIn: new BigUint64Array(RELU_CHUNK), rot: new Uint8Array(RELU_CHUNK),
    rMul: new Uint32Array(m), zMask: new Uint32Array(m), vals: new Uint32Array(m), field: new Uint32Array(m),
  };
}

/**
 * Round 1 for one chunk: draw the masks, steps 0-5, and the message to P2.
 * A small synchronous function: V8 optimises it (and its typed-array BigInt
 * loops) far better than the same code inlined in the async protocol body.
 */
function holderChunk(
  holder: 0 | 1, xs: BigUint64Array, start: number, count: number, common: Prg, params: TruncSignParams,
  sc: HolderScratch, flips: Uint8Array, maskAll: BigUint64Array | null,
): Uint8Array {
  const nv = params.values;
  const m = count * nv;
  const { xf, testIn } = sc;
  // Draw order is the protocol: both holders draw the same lengths in the same order.
  const rho = common.ring(count);
  fillBits(common, flips);
  const rot = sc.rot.subarray(0, count);
  fillBelowSmall(common, rot, nv);
  fillUniform(common, sc.rMul.subarray(0, m), params.p - 1, 1);
  fillUniform(common, sc.zMask.subarray(0, m), params.p);
  if (maskAll) maskAll.set(common.ring(count), start);
  // Steps 0-1: re-randomise and flip; the test input is y0 (P0) or w1 = -y1 (P1).
  // (No BigInt-valued ternaries in these loops: V8 then boxes every value, ~9x slower.)
  if (holder === 0) for (let i = 0; i < count; i++) xf[i] = xs[start + i]! + rho[i]!;
  else for (let i = 0; i < count; i++) xf[i] = xs[start + i]! - rho[i]!;
  for (let i = 0; i < count; i++) if (flips[i]) xf[i] = 0n - xf[i]!;
  if (holder === 0) testIn.set(xf.subarray(0, count));
  else for (let i = 0; i < count; i++) testIn[i] = 0n - xf[i]!;
  // Steps 2-3, then 4-5.
  holderTestValues(holder, new Uint32Array(testIn.buffer), flips, params, count, sc.vals);
  maskTestValues(holder, sc.vals, sc.rMul, sc.zMask, rot, sc.field, count, params);
  const ringBytes = maskAll ? 8 * count : 0;
  const msg = new Uint8Array(ringBytes + packedBytes(m, params.fieldBits));
  if (maskAll) {
    // z_b: P0 x'_0, P1 x'_1 + r.
    const zRing = new BigUint64Array(msg.buffer, 0, count);
    zRing.set(xf.subarray(0, count));
    if (holder === 1) for (let i = 0; i < count; i++) zRing[i] = zRing[i]! + maskAll[start + i]!;
  }
  packBits(sc.field.subarray(0, m), params.fieldBits, msg.subarray(ringBytes));
  return msg;
}

/** Outputs for one chunk: [DReLU] = t + (1 - 2t)[d'] (P0 adds t); [ReLU] = t [x] + [y] - r [d']. */
function holderOutputs(
  holder: 0 | 1, xs: BigUint64Array, start: number, count: number, flips: Uint8Array, maskAll: BigUint64Array | null,
  dShare: BigUint64Array, yShare: BigUint64Array | null, bit: BigUint64Array, out: BigUint64Array | null,
): void {
  bit.set(dShare, start);
  const own = holder === 0 ? ONE : 0n;
  for (let i = 0; i < count; i++) if (flips[start + i]) bit[start + i] = own - bit[start + i]!;
  if (out && yShare && maskAll) {
    for (let i = 0; i < count; i++) out[start + i] = yShare[i]! - maskAll[start + i]! * dShare[i]!;
    for (let i = 0; i < count; i++) if (flips[start + i]) out[start + i] = out[start + i]! + xs[start + i]!;
  }
}

async function holderSide(c: Context, x: Shared, params: TruncSignParams, withRelu: boolean): Promise<{ bit: Shared; relu: Shared | null }> {
  const holder = c.holderId;
  const n = x.size;
  const xs = x.share;
  const common = c.common;
  const basis = c.rounds;
  const flipsAll = new Uint8Array(n);
  const maskAll = withRelu ? new BigUint64Array(n) : null;
  const sc = holderScratch(params.values);
  for (const { start, count } of chunks(n)) {
    c.send(2, holderChunk(holder, xs, start, count, common, params, sc, flipsAll.subarray(start, start + count), maskAll), { basis });
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
    holderOutputs(holder, xs, start, count, flipsAll, maskAll, dShare, yShare, bit, out);
    j++;
  }
  return { bit: new Shared(bit, x.shape, 0), relu: out ? x.with(out) : null };
}

/**
 * P2's test on one chunk: P0's and P1's messages hold equal entries exactly
 * where a tested value is 0, so d'[e] = [some of element e's n entries of
 * m0 XOR m1 is 0]. The XOR runs on the packed bytes (32-bit words where
 * aligned), so only one stream is unpacked. `diff` receives the unpacked XOR.
 */
function zeroTest(packed0: Uint8Array, packed1: Uint8Array, count: number, params: TruncSignParams, diff: Uint32Array, dPrime: Uint8Array): void {
  const nv = params.values;
  const x = new Uint8Array(packed0.length);
  const words = packed0.length >> 2;
  if (packed0.byteOffset % 4 === 0 && packed1.byteOffset % 4 === 0) {
    const w0 = new Uint32Array(packed0.buffer, packed0.byteOffset, words);
    const w1 = new Uint32Array(packed1.buffer, packed1.byteOffset, words);
    const wx = new Uint32Array(x.buffer, 0, words);
    for (let i = 0; i < words; i++) wx[i] = w0[i]! ^ w1[i]!;
    for (let i = words * 4; i < x.length; i++) x[i] = packed0[i]! ^ packed1[i]!;
  } else {
    for (let i = 0; i < x.length; i++) x[i] = packed0[i]! ^ packed1[i]!;
  }
  unpackBits(x, count * nv, params.fieldBits, diff);
  for (let e = 0; e < count; e++) {
    let zero = 0;
    for (let i = e * nv; i < (e + 1) * nv; i++) if (diff[i] === 0) zero = 1;
    dPrime[e] = zero;
  }
}

/** Tests only: P2's full view of one chunk (unpacks both messages; the fast path needs only their XOR). */
function recordView(packed0: Uint8Array, packed1: Uint8Array, count: number, params: TruncSignParams, dPrime: Uint8Array): HelperView {
  const nv = params.values;
  const { p } = params;
  const m0 = unpackBits(packed0, count * nv, params.fieldBits);
  const m1 = unpackBits(packed1, count * nv, params.fieldBits);
  const view: HelperView = { dPrime: dPrime.slice(0, count), zeroAt: new Int16Array(count).fill(-1), sums: new Uint32Array(count * nv), p };
  for (let i = 0; i < count * nv; i++) {
    // m0 + m1 in the protocol's terms (P1 sent the negation m1' = -m1).
    const sum = m0[i]! >= m1[i]! ? m0[i]! - m1[i]! : m0[i]! + p - m1[i]!;
    view.sums[i] = sum;
    if (sum === 0) view.zeroAt[Math.floor(i / nv)] = i % nv;
  }
  return view;
}

/** P2's message to P1: its shares of d' (and of y = d' z), P0's being drawn from k02 in the same order. */
function helperReply(dPrime: Uint8Array, count: number, toP0: Prg, z: [BigUint64Array, BigUint64Array] | [null, null]): BigUint64Array {
  const d0 = toP0.ring(count);
  const reply = new BigUint64Array((z[0] ? 2 : 1) * count);
  for (let e = 0; e < count; e++) reply[e] = 0n - d0[e]!;
  for (let e = 0; e < count; e++) if (dPrime[e]) reply[e] = reply[e]! + ONE;
  if (z[0] && z[1]) {
    const [z0, z1] = z;
    const y0 = toP0.ring(count);
    for (let e = 0; e < count; e++) reply[count + e] = 0n - y0[e]!;
    for (let e = 0; e < count; e++) if (dPrime[e]) reply[count + e] = reply[count + e]! + z0[e]! + z1[e]!;
  }
  return reply;
}

async function helperSide(c: Context, n: number, params: TruncSignParams, withRelu: boolean, onView: ((view: HelperView) => void) | undefined): Promise<void> {
  const toP0 = c.prg(0);
  const diff = new Uint32Array(RELU_CHUNK * params.values);
  const dPrime = new Uint8Array(RELU_CHUNK);
  let j = 0;
  for (const { count } of chunks(n)) {
    const ringBytes = withRelu ? 8 * count : 0;
    const expected = ringBytes + packedBytes(count * params.values, params.fieldBits);
    const packed: Uint8Array[] = [];
    const z: (BigUint64Array | null)[] = [];
    for (const from of [0, 1] as const) {
      const payload = await c.recv(from);
      if (!payload || payload.byteLength !== expected) {
        throw new Error(`chunk ${j} of '${c.tag}' from P${from}: expected ${expected} bytes, got ${payload ? payload.byteLength : 0}`);
      }
      packed.push(payload.subarray(ringBytes));
      z.push(withRelu ? new BigUint64Array(payload.buffer, payload.byteOffset, count) : null);
    }
    try {
      zeroTest(packed[0]!, packed[1]!, count, params, diff, dPrime);
    } catch (err) {
      throw new Error(`chunk ${j} of '${c.tag}' from P0 and P1: ${(err as Error).message}`);
    }
    if (onView) onView(recordView(packed[0]!, packed[1]!, count, params, dPrime));
    c.send(1, helperReply(dPrime, count, toP0, z as [BigUint64Array, BigUint64Array] | [null, null]));
    j++;
  }
}

/**
 * Truncation of fixed-point shares by d bits (PROTOCOLS.md 3).
 *
 * local (SecureML): P0 takes x0 >>arith d, P1 takes -((-x1) >>arith d).
 *   The result is floor(x / 2^d) + e, e in {0, 1}, unless the shares wrap:
 *   with x0 uniform, that happens with probability exactly |x| / 2^64
 *   (<= 2^(lx - 64) for |x| < 2^lx), and then the error is ~2^(64 - d).
 *   Shares are re-randomised with a common mask first so that failures are
 *   independent between calls, unless the caller says they are fresh.
 * dealer (exact up to the same 1-bit rounding, for |x| < 2^62): the dealer
 *   supplies [r], [r >> d] (logical) and [msb(r) 2^(64-d)], r uniform. P0
 *   adds 2^62 to its share, so x' = x + 2^62 is in [0, 2^63); c = x' + r is
 *   opened (1 round, |x| elements each way). Since x' < 2^63, x' + r
 *   wraps past 2^64 exactly when msb(r) = 1 and msb(c) = 0 (if msb(r) = 0
 *   it cannot; if msb(r) = 1, no wrap leaves c = x' + r >= 2^63). So the
 *   wrap w = msb(r) (1 - msb(c)) is linear in the shared bit given the
 *   public c, and x' >> d = (c >> d) - (r >> d) + w 2^(64-d) - borrow,
 *   where the borrow [c mod 2^d < r mod 2^d] is the usual 1-bit error:
 *   the result is floor(x / 2^d) + {0, 1}, 1 with probability
 *   (x mod 2^d) / 2^d, so unbiased. No large error: training, with ~10^9
 *   truncations per epoch at |x| ~ 2^33, expects ~0.5 local-truncation
 *   wraps per epoch (each one ruins the weights), none with this rule.
 *   (The plain masked opening without the msb share fails at |x| / 2^64,
 *   like the SecureML rule; knowing that x' has a zero top bit is what
 *   makes the wrap computable.)
 */
import type { Context, TruncationMode } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { add, addScalar, mul, shrArith, shrArithCeil, shrLogical, sub } from '../src/ring/index.js';
import { open } from './sharing.js';

export interface TruncateOptions {
  mode?: TruncationMode;
  /** Shares are already fresh uniform re-sharings (e.g. a Beaver output): skip re-randomising. */
  fresh?: boolean;
  /** The caller gives up x: local truncation may overwrite its share. */
  inPlace?: boolean;
}

function checkBits(x: Shared, bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 62) throw new RangeError(`truncation by ${bits} bits: must be an integer in [0, 62]`);
  if (bits > x.fracBits) throw new RangeError(`truncation by ${bits} bits of a value with only ${x.fracBits} fractional bits`);
}

/** The SecureML local rule for one holder's share. */
export function truncLocalShare(share: BigUint64Array, holder: 0 | 1, bits: number, out?: BigUint64Array): BigUint64Array {
  return holder === 0 ? shrArith(share, bits, out) : shrArithCeil(share, bits, out);
}

/**
 * Arithmetic shift by `bits` rounding to nearest, ties to even (a new
 * array). Ties are common, not rare: dividing by a power of two (average
 * pooling's 1/4) leaves exact halves, and half-up would bias them.
 */
function shrArithNearestEven(x: BigUint64Array, bits: number): BigUint64Array {
  const out = shrArith(x, bits);
  const mask = (1n << BigInt(bits)) - 1n;
  const half = 1n << BigInt(bits - 1);
  for (let i = 0; i < x.length; i++) {
    const rem = x[i]! & mask;
    if (rem > half || (rem === half && (out[i]! & 1n) === 1n)) out[i] = out[i]! + 1n; // typed-array stores wrap mod 2^64
  }
  return out;
}

/** Truncate by `bits` (default: the context's f). The result has x.fracBits - bits fractional bits. */
export function truncate(ctx: Context, x: Shared, bits = ctx.fracBits, opts: TruncateOptions = {}): Promise<Shared> {
  return ctx.call('truncate', (c) => truncateProtocol(c, x, bits, opts));
}

async function truncateProtocol(c: Context, x: Shared, bits: number, opts: TruncateOptions): Promise<Shared> {
  checkBits(x, bits);
  if (bits === 0) return x;
  const fracBits = x.fracBits - bits;
  c.noteTruncation(x.share);
  if (c.isPlain && c.plainRounding === 'nearest') return x.with(shrArithNearestEven(x.share, bits), fracBits);
  if (c.isPlain || x.size === 0) return x.with(shrArith(x.share, bits), fracBits);
  if (c.isHelper) return Shared.placeholder(x.shape, fracBits);
  const holder = c.holderId;
  // Values at no more than f + 4 fractional bits (|x| ~ 2^20 |v|) fail the local rule at ~2^-44 |v|
  // per element: negligible, so dealer mode keeps the opening for 2f-bit products.
  const mode = opts.mode ?? (x.fracBits <= c.fracBits + LOCAL_SAFE_EXTRA_BITS ? 'local' : c.truncation);
  if (mode === 'local') {
    let share = x.share;
    if (!opts.fresh) {
      const rho = c.common.ring(x.size);
      share = holder === 0 ? add(share, rho, rho) : sub(share, rho, rho);
    }
    return x.with(truncLocalShare(share, holder, bits, opts.inPlace ? share : undefined), fracBits);
  }
  const pair = await c.correlation({ kind: 'trunc', n: x.size, bits });
  const [r] = pair.inputs as [BigUint64Array];
  const masked = add(x.share, r);
  const opened = await open(c, holder === 0 ? addScalar(masked, TRUNC_OFFSET, masked) : masked);
  return x.with(truncMaskedShare(opened, pair.output, holder, bits), fracBits);
}

/** Dealer mode truncates values with at most f + this many fractional bits locally (see truncateProtocol). */
export const LOCAL_SAFE_EXTRA_BITS = 4;

/** P0's public shift of x into [0, 2^63) before the dealer truncation's opening. */
export const TRUNC_OFFSET = 1n << 62n;

/**
 * Dealer rule for one holder, given the opened c = x + 2^62 + r and its
 * share (s, m) of the correlation's output [r >> d | msb(r) 2^(64-d)]:
 * (1 - msb(c)) m - s, and P0 adds (c >> d) - 2^(62-d).
 */
export function truncMaskedShare(c: BigUint64Array, maskShares: BigUint64Array, holder: 0 | 1, bits: number): BigUint64Array {
  const n = c.length;
  const s = maskShares.subarray(0, n);
  const m = maskShares.subarray(n, 2 * n);
  const noMsb = addScalar(shrArith(c, 63), 1n); // 1 - msb(c): -1 + 1 or 0 + 1
  const out = sub(mul(noMsb, m, noMsb), s, noMsb);
  if (holder === 1) return out;
  add(out, shrLogical(c, bits), out);
  return addScalar(out, BigInt.asUintN(64, -(TRUNC_OFFSET >> BigInt(bits))), out);
}

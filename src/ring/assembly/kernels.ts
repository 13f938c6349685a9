// Ring kernels over Z_2^64, compiled by scripts/build-wasm.mjs with
// AssemblyScript (-O3, SIMD, stub runtime). Every buffer lives in linear
// memory above __heap_base and is laid out by the TypeScript side
// (src/ring/wasm/kernels.ts); nothing here allocates.
//
// Matrix product technique (DESIGN.md "Numbers"): each 64-bit value is split
// into 32-bit halves a = ah*2^32 + al. Modulo 2^64,
//   a*b = al*bl + 2^32 * (ah*bl + al*bh)            (cross term mod 2^32)
// The full 64-bit al*bl products come from i64x2.extmul_{low,high}_i32x4_u,
// the cross terms from i32x4.mul (which wraps mod 2^32 for free). Sums of
// each kind are kept apart and combined once per output tile.
//
// Layouts produced by the packing routines:
//   packed A: row pairs (2r, 2r+1); for each depth p, 16 bytes
//             [lo(2r), lo(2r+1), hi(2r), hi(2r+1)] as u32. An odd last row
//             is paired with a zero row.
//   packed B: panels of 4 columns (j0..j0+3); for each depth p, 32 bytes
//             [lo(j0..j0+3) as u32 x4, hi(j0..j0+3) as u32 x4]. Missing
//             columns of the last panel are zero.

// Blocking: a block of MC rows x KC depth of packed A (MC*KC*8 bytes) stays
// in L2 while every B panel slice (KC*32 bytes) streams through L1.
const MC: i32 = 64; // rows per block, even
const KC: i32 = 512; // depth per block

const FLAG_TRANS_A: i32 = 1;
const FLAG_TRANS_B: i32 = 2;
const FLAG_ACCUMULATE: i32 = 4;

export function heapBase(): usize {
  return __heap_base;
}

@inline function align16(x: usize): usize {
  return (x + 15) & ~(<usize>15);
}

@inline function packedABytes(m: i32, n: i32): usize {
  return align16(<usize>((m + 1) >> 1) * <usize>n * 16);
}

@inline function packedBBytes(n: i32, k: i32): usize {
  return align16(<usize>((k + 3) >> 2) * <usize>n * 32);
}

/** Bytes of scratch space gemm needs for an (m x n) * (n x k) product. */
export function gemmScratchBytes(m: i32, n: i32, k: i32): usize {
  return packedABytes(m, n) + packedBBytes(n, k);
}

// A element (i, p): row-major [m x n], or its transpose stored as [n x m].
@inline function loadA(a: usize, m: i32, n: i32, i: i32, p: i32, trans: bool): u64 {
  return trans
    ? load<u64>(a + ((<usize>p * <usize>m + <usize>i) << 3))
    : load<u64>(a + ((<usize>i * <usize>n + <usize>p) << 3));
}

// Packed A entry for row pair r at depth p.
@inline function storePairEntry(out: usize, n: i32, r: i32, p: i32, v0: u64, v1: u64): void {
  const q = out + ((<usize>r * <usize>n + <usize>p) << 4);
  store<u32>(q, <u32>v0);
  store<u32>(q, <u32>v1, 4);
  store<u32>(q, <u32>(v0 >>> 32), 8);
  store<u32>(q, <u32>(v1 >>> 32), 12);
}

function packA(a: usize, m: i32, n: i32, trans: bool, out: usize): void {
  const fullPairs = m >> 1;
  if (!trans) {
    // Two rows, two depths at a time: [lo hi lo hi] x 2 -> two pair entries.
    const n2 = n & ~1;
    for (let r = 0; r < fullPairs; r++) {
      const row0 = a + ((<usize>(r << 1) * <usize>n) << 3);
      const row1 = row0 + (<usize>n << 3);
      let q = out + ((<usize>r * <usize>n) << 4);
      for (let p = 0; p < n2; p += 2) {
        const off = <usize>p << 3;
        const v0 = v128.load(row0 + off);
        const v1 = v128.load(row1 + off);
        v128.store(q, i32x4.shuffle(v0, v1, 0, 4, 1, 5));
        v128.store(q, i32x4.shuffle(v0, v1, 2, 6, 3, 7), 16);
        q += 32;
      }
      if (n2 < n) {
        storePairEntry(out, n, r, n2, load<u64>(row0 + (<usize>n2 << 3)), load<u64>(row1 + (<usize>n2 << 3)));
      }
    }
  } else {
    // A^T row p holds A's column p: adjacent rows i, i+1 are adjacent in memory.
    for (let p = 0; p < n; p++) {
      const src = a + ((<usize>p * <usize>m) << 3);
      let q = out + (<usize>p << 4);
      const stride = <usize>n << 4;
      for (let r = 0; r < fullPairs; r++) {
        const v = v128.load(src + (<usize>r << 4));
        v128.store(q, i32x4.shuffle(v, v, 0, 2, 1, 3));
        q += stride;
      }
    }
  }
  if (m & 1) {
    const r = fullPairs;
    const i = m - 1;
    for (let p = 0; p < n; p++) storePairEntry(out, n, r, p, loadA(a, m, n, i, p, trans), 0);
  }
}

// Rows of one 4-column B panel: each row's 4 u64 at src (stride rowBytes)
// become [lo x4][hi x4] at q, 32 bytes per row.
@inline function packPanelRows(src: usize, rowBytes: usize, q: usize, count: i32): void {
  for (let r = 0; r < count; r++) {
    const v0 = v128.load(src);
    const v1 = v128.load(src, 16);
    v128.store(q, i32x4.shuffle(v0, v1, 0, 2, 4, 6));
    v128.store(q, i32x4.shuffle(v0, v1, 1, 3, 5, 7), 16);
    src += rowBytes;
    q += 32;
  }
}

function packB(b: usize, n: i32, k: i32, trans: bool, out: usize): void {
  const fullPanels = k >> 2;
  const panelStride = <usize>n << 5;
  if (!trans) {
    // Rows p of B, 4 columns at a time -> [lo x4][hi x4] of panel jp, depth
    // p; PB rows per sweep so each panel receives PB*32 contiguous bytes.
    const PB = 8;
    const rowBytes = <usize>k << 3;
    for (let p0 = 0; p0 < n; p0 += PB) {
      const p1 = min(n, p0 + PB);
      for (let jp = 0; jp < fullPanels; jp++) {
        packPanelRows(b + <usize>p0 * rowBytes + (<usize>jp << 5), rowBytes, out + <usize>jp * panelStride + (<usize>p0 << 5), p1 - p0);
      }
    }
  } else {
    // B^T rows j0..j0+3 are the panel's columns; two depths at a time.
    const n2 = n & ~1;
    for (let jp = 0; jp < fullPanels; jp++) {
      const c0 = b + ((<usize>(jp << 2) * <usize>n) << 3);
      const cs = <usize>n << 3;
      let q = out + <usize>jp * panelStride;
      for (let p = 0; p < n2; p += 2) {
        const off = <usize>p << 3;
        const v0 = v128.load(c0 + off);
        const v1 = v128.load(c0 + cs + off);
        const v2 = v128.load(c0 + 2 * cs + off);
        const v3 = v128.load(c0 + 3 * cs + off);
        const lo01 = i32x4.shuffle(v0, v1, 0, 4, 2, 6);
        const lo23 = i32x4.shuffle(v2, v3, 0, 4, 2, 6);
        const hi01 = i32x4.shuffle(v0, v1, 1, 5, 3, 7);
        const hi23 = i32x4.shuffle(v2, v3, 1, 5, 3, 7);
        v128.store(q, i32x4.shuffle(lo01, lo23, 0, 1, 4, 5));
        v128.store(q, i32x4.shuffle(hi01, hi23, 0, 1, 4, 5), 16);
        v128.store(q, i32x4.shuffle(lo01, lo23, 2, 3, 6, 7), 32);
        v128.store(q, i32x4.shuffle(hi01, hi23, 2, 3, 6, 7), 48);
        q += 64;
      }
      if (n2 < n) {
        for (let c = 0; c < 4; c++) {
          const v = load<u64>(c0 + <usize>c * cs + (<usize>n2 << 3));
          store<u32>(q + (<usize>c << 2), <u32>v);
          store<u32>(q + (<usize>c << 2), <u32>(v >>> 32), 16);
        }
      }
    }
  }
  // Last, partial panel: zero-filled missing columns.
  if (fullPanels << 2 < k) {
    const j0 = fullPanels << 2;
    const w = k - j0;
    let q = out + <usize>fullPanels * panelStride;
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 4; c++) {
        let v: u64 = 0;
        if (c < w) {
          const j = j0 + c;
          v = trans
            ? load<u64>(b + ((<usize>j * <usize>n + <usize>p) << 3))
            : load<u64>(b + ((<usize>p * <usize>k + <usize>j) << 3));
        }
        store<u32>(q + (<usize>c << 2), <u32>v);
        store<u32>(q + (<usize>c << 2), <u32>(v >>> 32), 16);
      }
      q += 32;
    }
  }
}

// Combine the 64-bit low-product sums of two columns with their cross sums
// (lanes 0,1 or 2,3 of x): l + (x << 32).
@inline function combineLow(l: v128, x: v128): v128 {
  return i64x2.add(l, i64x2.shl(i64x2.extend_low_i32x4_u(x), 32));
}

@inline function combineHigh(l: v128, x: v128): v128 {
  return i64x2.add(l, i64x2.shl(i64x2.extend_high_i32x4_u(x), 32));
}

// Write (or add) up to 4 columns of one output row.
@inline function writeRow(dst: usize, v0: v128, v1: v128, w: i32, add: bool): void {
  if (w == 4) {
    if (add) {
      v0 = i64x2.add(v0, v128.load(dst));
      v1 = i64x2.add(v1, v128.load(dst, 16));
    }
    v128.store(dst, v0);
    v128.store(dst, v1, 16);
    return;
  }
  const e0 = i64x2.extract_lane(v0, 0);
  const e1 = i64x2.extract_lane(v0, 1);
  const e2 = i64x2.extract_lane(v1, 0);
  if (add) {
    store<i64>(dst, load<i64>(dst) + e0);
    if (w > 1) store<i64>(dst, load<i64>(dst, 8) + e1, 8);
    if (w > 2) store<i64>(dst, load<i64>(dst, 16) + e2, 16);
  } else {
    store<i64>(dst, e0);
    if (w > 1) store<i64>(dst, e1, 8);
    if (w > 2) store<i64>(dst, e2, 16);
  }
}

// One 2x4 output tile over depth range [p0, p0 + kc).
@inline function tile(
  ap: usize, bq: usize, kc: i32,
  c: usize, i: i32, j0: i32, m: i32, k: i32, add: bool,
): void {
  const z = i64x2.splat(0);
  let l00 = z, l01 = z, x0 = z;
  let l10 = z, l11 = z, x1 = z;
  const end = bq + (<usize>kc << 5);
  while (bq < end) {
    const bl = v128.load(bq);
    const bh = v128.load(bq, 16);
    const s0l = v128.load32_splat(ap);
    const s0h = v128.load32_splat(ap, 8);
    l00 = i64x2.add(l00, i64x2.extmul_low_i32x4_u(bl, s0l));
    l01 = i64x2.add(l01, i64x2.extmul_high_i32x4_u(bl, s0l));
    x0 = i32x4.add(x0, i32x4.mul(bh, s0l));
    x0 = i32x4.add(x0, i32x4.mul(bl, s0h));
    const s1l = v128.load32_splat(ap, 4);
    const s1h = v128.load32_splat(ap, 12);
    l10 = i64x2.add(l10, i64x2.extmul_low_i32x4_u(bl, s1l));
    l11 = i64x2.add(l11, i64x2.extmul_high_i32x4_u(bl, s1l));
    x1 = i32x4.add(x1, i32x4.mul(bh, s1l));
    x1 = i32x4.add(x1, i32x4.mul(bl, s1h));
    ap += 16;
    bq += 32;
  }
  const w = min(4, k - j0);
  const row0 = c + ((<usize>i * <usize>k + <usize>j0) << 3);
  writeRow(row0, combineLow(l00, x0), combineHigh(l01, x0), w, add);
  if (i + 1 < m) {
    writeRow(row0 + (<usize>k << 3), combineLow(l10, x1), combineHigh(l11, x1), w, add);
  }
}

// Product over packed operands: C (m x k) = A * B, or C += A * B.
function gemmPacked(pa: usize, pb: usize, c: usize, m: i32, n: i32, k: i32, accumulate: bool): void {
  const pairs = (m + 1) >> 1;
  const panels = (k + 3) >> 2;
  const pairBlock = MC >> 1;
  for (let p0 = 0; p0 < n; p0 += KC) {
    const kc = min(KC, n - p0);
    const add = accumulate || p0 > 0;
    for (let r0 = 0; r0 < pairs; r0 += pairBlock) {
      const r1 = min(pairs, r0 + pairBlock);
      for (let jp = 0; jp < panels; jp++) {
        const bq = pb + ((<usize>jp * <usize>n + <usize>p0) << 5);
        for (let r = r0; r < r1; r++) {
          const ap = pa + ((<usize>r * <usize>n + <usize>p0) << 4);
          tile(ap, bq, kc, c, r << 1, jp << 2, m, k, add);
        }
      }
    }
  }
}

/**
 * C (m x k) = A (m x n) * B (n x k) mod 2^64, or C += A*B with
 * FLAG_ACCUMULATE. FLAG_TRANS_A: `a` holds A^T as [n x m]; FLAG_TRANS_B:
 * `b` holds B^T as [k x n]. `scratch` must have gemmScratchBytes(m, n, k)
 * bytes, 16-aligned. `c` must not overlap `a`, `b` or `scratch`.
 */
export function gemm(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, flags: i32, scratch: usize): void {
  if (m <= 0 || k <= 0) return;
  const accumulate = (flags & FLAG_ACCUMULATE) != 0;
  if (n <= 0) {
    if (!accumulate) memory.fill(c, 0, <usize>m * <usize>k << 3);
    return;
  }
  const pa = scratch;
  const pb = scratch + packedABytes(m, n);
  packA(a, m, n, (flags & FLAG_TRANS_A) != 0, pa);
  packB(b, n, k, (flags & FLAG_TRANS_B) != 0, pb);
  gemmPacked(pa, pb, c, m, n, k, accumulate);
}

/** Bytes of a packed A (m x n) or packed B (n x k). */
export function packedBytesA(m: i32, n: i32): usize {
  return packedABytes(m, n);
}

export function packedBytesB(n: i32, k: i32): usize {
  return packedBBytes(n, k);
}

/**
 * As gemm, with B already packed (by im2colPacked); `scratch` needs
 * packedBytesA(m, n) bytes. Only FLAG_TRANS_A and FLAG_ACCUMULATE apply.
 */
export function gemmPackedB(a: usize, pb: usize, c: usize, m: i32, n: i32, k: i32, flags: i32, scratch: usize): void {
  if (m <= 0 || k <= 0) return;
  const accumulate = (flags & FLAG_ACCUMULATE) != 0;
  if (n <= 0) {
    if (!accumulate) memory.fill(c, 0, <usize>m * <usize>k << 3);
    return;
  }
  packA(a, m, n, (flags & FLAG_TRANS_A) != 0, scratch);
  gemmPacked(scratch, pb, c, m, n, k, accumulate);
}

// ---------------------------------------------------------------------------
// Convolution helpers over NCHW tensors. The column matrix has one row per
// (c, ky, kx), row index (c*kh + ky)*kw + kx, and one column per output
// position (n, oy, ox) of the batch slice [n0, n0 + nc), column index
// (n*Ho + oy)*Wo + ox. Zero padding of ph rows / pw columns on each side.

@inline function ceilDivNonNeg(a: i32, b: i32): i32 {
  // ceil(a / b) for b > 0, clamped below at 0
  return a <= 0 ? 0 : (a + b - 1) / b;
}

// Output columns ox whose input column ix = ox*sw - pw + kx lies in [0, W).
@inline function validLo(pw: i32, kx: i32, sw: i32): i32 {
  return ceilDivNonNeg(pw - kx, sw);
}

@inline function validHi(W: i32, pw: i32, kx: i32, sw: i32, Wo: i32): i32 {
  const t = W - 1 + pw - kx;
  if (t < 0) return 0;
  return min(Wo, t / sw + 1);
}

// One row (c, ky, kx) of the column matrix: nc*Ho*Wo values at dst.
@inline function im2colRow(
  x: usize, C: i32, H: i32, W: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  Ho: i32, Wo: i32, ch: i32, ky: i32, kx: i32, n0: i32, nc: i32, dst: usize,
): void {
  const rowBytes = <usize>Wo << 3;
  const lo = validLo(pw, kx, sw);
  const hi = max(lo, validHi(W, pw, kx, sw, Wo));
  for (let nn = 0; nn < nc; nn++) {
    const plane = x + ((<usize>(n0 + nn) * <usize>C + <usize>ch) * <usize>H * <usize>W << 3);
    for (let oy = 0; oy < Ho; oy++) {
      const iy = oy * sh - ph + ky;
      if (iy < 0 || iy >= H) {
        memory.fill(dst, 0, rowBytes);
      } else {
        const src = plane + ((<usize>iy * <usize>W) << 3);
        if (lo > 0) memory.fill(dst, 0, <usize>lo << 3);
        if (hi < Wo) memory.fill(dst + (<usize>hi << 3), 0, <usize>(Wo - hi) << 3);
        if (sw == 1) {
          if (hi > lo) {
            memory.copy(dst + (<usize>lo << 3), src + (<usize>(lo - pw + kx) << 3), <usize>(hi - lo) << 3);
          }
        } else {
          for (let ox = lo; ox < hi; ox++) {
            store<u64>(dst + (<usize>ox << 3), load<u64>(src + (<usize>(ox * sw - pw + kx) << 3)));
          }
        }
      }
      dst += rowBytes;
    }
  }
}

export function im2col(
  x: usize, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  n0: i32, nc: i32, out: usize,
): void {
  const Ho = (H + 2 * ph - kh) / sh + 1;
  const Wo = (W + 2 * pw - kw) / sw + 1;
  const cols = <usize>nc * <usize>Ho * <usize>Wo;
  for (let ch = 0; ch < C; ch++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = (ch * kh + ky) * kw + kx;
        im2colRow(x, C, H, W, sh, sw, ph, pw, Ho, Wo, ch, ky, kx, n0, nc, out + ((<usize>row * cols) << 3));
      }
    }
  }
}

/** Rows per sweep of im2colPacked (its row buffer holds this many rows). */
const IM2COL_PACK_ROWS: i32 = 4;

export function im2colPackRows(): i32 {
  return IM2COL_PACK_ROWS;
}

/**
 * The column matrix [C*kh*kw, nc*Ho*Wo] written straight into gemm's packed-B
 * layout (packedBytesB(C*kh*kw, nc*Ho*Wo) bytes at out), IM2COL_PACK_ROWS rows
 * at a time through `rowBuf` (that many rows of nc*Ho*Wo u64), so the full
 * matrix is never materialised.
 */
export function im2colPacked(
  x: usize, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  n0: i32, nc: i32, rowBuf: usize, out: usize,
): void {
  const Ho = (H + 2 * ph - kh) / sh + 1;
  const Wo = (W + 2 * pw - kw) / sw + 1;
  const cols = nc * Ho * Wo;
  const depth = C * kh * kw;
  const fullPanels = cols >> 2;
  const panelStride = <usize>depth << 5;
  const rowBytes = <usize>cols << 3;
  for (let p0 = 0; p0 < depth; p0 += IM2COL_PACK_ROWS) {
    const p1 = min(depth, p0 + IM2COL_PACK_ROWS);
    for (let p = p0; p < p1; p++) {
      const kx = p % kw;
      const ky = (p / kw) % kh;
      const ch = p / (kw * kh);
      im2colRow(x, C, H, W, sh, sw, ph, pw, Ho, Wo, ch, ky, kx, n0, nc, rowBuf + <usize>(p - p0) * rowBytes);
    }
    for (let jp = 0; jp < fullPanels; jp++) {
      packPanelRows(rowBuf + (<usize>jp << 5), rowBytes, out + <usize>jp * panelStride + (<usize>p0 << 5), p1 - p0);
    }
    if (fullPanels << 2 < cols) {
      const j0 = fullPanels << 2;
      let q = out + <usize>fullPanels * panelStride + (<usize>p0 << 5);
      for (let p = p0; p < p1; p++) {
        const row = rowBuf + <usize>(p - p0) * rowBytes;
        for (let c = 0; c < 4; c++) {
          const v: u64 = j0 + c < cols ? load<u64>(row + (<usize>(j0 + c) << 3)) : 0;
          store<u32>(q + (<usize>c << 2), <u32>v);
          store<u32>(q + (<usize>c << 2), <u32>(v >>> 32), 16);
        }
        q += 32;
      }
    }
  }
}

/** Adjoint of im2col: adds every column-matrix entry into its input position of x. */
export function col2im(
  cm: usize, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  n0: i32, nc: i32, x: usize,
): void {
  const Ho = (H + 2 * ph - kh) / sh + 1;
  const Wo = (W + 2 * pw - kw) / sw + 1;
  const cols = <usize>nc * <usize>Ho * <usize>Wo;
  const rowBytes = <usize>Wo << 3;
  for (let ch = 0; ch < C; ch++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = (ch * kh + ky) * kw + kx;
        const lo = validLo(pw, kx, sw);
        const hi = validHi(W, pw, kx, sw, Wo);
        let src = cm + ((<usize>row * cols) << 3);
        for (let nn = 0; nn < nc; nn++) {
          const plane = x + ((<usize>(n0 + nn) * <usize>C + <usize>ch) * <usize>H * <usize>W << 3);
          for (let oy = 0; oy < Ho; oy++) {
            const iy = oy * sh - ph + ky;
            if (iy >= 0 && iy < H) {
              const dstRow = plane + ((<usize>iy * <usize>W) << 3);
              for (let ox = lo; ox < hi; ox++) {
                const d = dstRow + (<usize>(ox * sw - pw + kx) << 3);
                store<u64>(d, load<u64>(d) + load<u64>(src + (<usize>ox << 3)));
              }
            }
            src += rowBytes;
          }
        }
      }
    }
  }
}

/**
 * [rows, nc, inner] -> [nc, rows, inner] (moves whole inner runs). Used to turn
 * the conv product [Co, nc*Ho*Wo] into NCHW order.
 */
export function permute021(src: usize, rows: i32, nc: i32, inner: i32, dst: usize): void {
  const runBytes = <usize>inner << 3;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nc; b++) {
      memory.copy(
        dst + (<usize>b * <usize>rows + <usize>r) * runBytes,
        src + (<usize>r * <usize>nc + <usize>b) * runBytes,
        runBytes,
      );
    }
  }
}

// ---------------------------------------------------------------------------
// Shifts (plain JS BigInt shifts are not lowered to machine ops by V8).

export function shrArith(a: usize, len: i32, bits: i32, out: usize): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 3;
    v128.store(out + o, i64x2.shr_s(v128.load(a + o), bits));
    v128.store(out + o, i64x2.shr_s(v128.load(a + o, 16), bits), 16);
  }
  for (; i < len; i++) {
    const o = <usize>i << 3;
    store<i64>(out + o, load<i64>(a + o) >> (<i64>bits));
  }
}

/** -((-a) >> bits), i.e. ceil(a / 2^bits) for the signed value: P1's SecureML truncation in one pass. */
export function shrArithCeil(a: usize, len: i32, bits: i32, out: usize): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 3;
    v128.store(out + o, i64x2.neg(i64x2.shr_s(i64x2.neg(v128.load(a + o)), bits)));
    v128.store(out + o, i64x2.neg(i64x2.shr_s(i64x2.neg(v128.load(a + o, 16)), bits)), 16);
  }
  for (; i < len; i++) {
    const o = <usize>i << 3;
    store<i64>(out + o, -((-load<i64>(a + o)) >> (<i64>bits)));
  }
}

export function shrLogical(a: usize, len: i32, bits: i32, out: usize): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 3;
    v128.store(out + o, i64x2.shr_u(v128.load(a + o), bits));
    v128.store(out + o, i64x2.shr_u(v128.load(a + o, 16), bits), 16);
  }
  for (; i < len; i++) {
    const o = <usize>i << 3;
    store<u64>(out + o, load<u64>(a + o) >>> (<u64>bits));
  }
}

// ---------------------------------------------------------------------------
// Fixed-point encode / decode (float64 <-> two's complement ring elements).
// V8's Math.round and branchy JS are slow here; wasm has f64.floor, select
// and direct f64 <-> i64 conversions.

const TWO_63: f64 = 9223372036854775808.0;
const TWO_51: f64 = 2251799813685248.0;
// 1.5 * 2^52: adding it to an integer-valued |v| < 2^51 leaves v in the low
// mantissa bits, so v's two's complement is bits(v + MAGIC) - bits(MAGIC).
const MAGIC: f64 = 6755399441055744.0;
const MAGIC_BITS: i64 = 0x4338000000000000;

// One value at p: false if out of range (or NaN).
@inline function encodeOne(p: usize, scale: f64): bool {
  const x = load<f64>(p) * scale;
  const fl = floor<f64>(x);
  // round(x) = fl or fl + 1, so |fl| < 2^63 (doubles there step by 1024)
  // is exactly |round(x)| < 2^63; NaN fails too.
  if (!(fl < TWO_63 && fl > -TWO_63)) return false;
  // No select: V8 lowers an f64 select to a branch, and these are random.
  store<i64>(p, <i64>fl + <i64>(x - fl >= 0.5));
  return true;
}

/**
 * In place over `len` slots at `buf`: f64 x -> i64 round(x * scale), rounding
 * to nearest with ties towards +infinity (Math.round). Returns -1, or the
 * index of the first value whose rounded magnitude is >= 2^63 or that is NaN
 * (slots from about that index on are left unconverted).
 */
export function encodeFixed(buf: usize, len: i32, scale: f64): i32 {
  const vs = f64x2.splat(scale);
  const half = f64x2.splat(0.5);
  const lim = f64x2.splat(TWO_51);
  const magic = f64x2.splat(MAGIC);
  const magicBits = i64x2.splat(MAGIC_BITS);
  let i = 0;
  for (; i + 2 <= len; i += 2) {
    const p = buf + (<usize>i << 3);
    const x = f64x2.mul(v128.load(p), vs);
    const fl = f64x2.floor(x);
    if (i64x2.all_true(f64x2.lt(f64x2.abs(fl), lim))) {
      // all-ones (-1) in lanes that round up
      const up = f64x2.ge(f64x2.sub(x, fl), half);
      const v = i64x2.sub(f64x2.add(fl, magic), magicBits);
      v128.store(p, i64x2.sub(v, up));
    } else {
      if (!encodeOne(p, scale)) return i;
      if (!encodeOne(p + 8, scale)) return i + 1;
    }
  }
  if (i < len && !encodeOne(buf + (<usize>i << 3), scale)) return i;
  return -1;
}

/** In place: i64 x -> f64 x * inv (inv = 2^-fracBits). */
export function decodeFixed(buf: usize, len: i32, inv: f64): void {
  let i = 0;
  for (; i < len; i++) {
    const p = buf + (<usize>i << 3);
    store<f64>(p, <f64>load<i64>(p) * inv);
  }
}

// ---------------------------------------------------------------------------
// Fused elementwise Beaver combine (protocols/beaver.ts, PROTOCOLS.md 2),
// one chunk at a time, with the local truncation folded in.

/**
 * c += eps (y - [p0] delta) + x delta, where eps and delta are the sums of
 * both holders' masked halves [eps_i | delta_i]; then, if shift > 0, the
 * SecureML local truncation: P0 c >> shift, P1 -((-c) >> shift).
 */
export function beaverCombine(c: usize, mine: usize, theirs: usize, x: usize, y: usize, len: i32, p0: i32, shift: i32): void {
  const dOff = <usize>len << 3;
  const s = <i64>shift;
  for (let i = 0; i < len; i++) {
    const o = <usize>i << 3;
    const e = load<i64>(mine + o) + load<i64>(theirs + o);
    const d = load<i64>(mine + dOff + o) + load<i64>(theirs + dOff + o);
    const yv = load<i64>(y + o);
    let z = load<i64>(c + o) + e * (p0 ? yv - d : yv) + load<i64>(x + o) * d;
    if (shift > 0) z = p0 ? z >> s : -((-z) >> s);
    store<i64>(c + o, z);
  }
}

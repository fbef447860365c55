/*
 * The filter gradient of a 2D convolution (NHWC input, HWIO filter), computed directly: no
 * transposes, and no per-step tensor packed as XNNPACK weights.
 *   dw[ky, kx, c, o] = sum over b, oy, ox of xp[b, oy*sh + ky, ox*sw + kx, c] * dy[b, oy, ox, o]
 * on an input already padded (xp), so every tap is in range. For one output row and one ky, the
 * taps kx = 0..kw-1 of all input channels are kw*ci consecutive floats of xp, at a stride of sw*ci
 * from one output pixel to the next: dw[ky] (kw*ci x co) is a sum of outer products, done in
 * register tiles of 4 rows x 8 columns of dw, over a chunk of output rows that stays in cache.
 */
#include "simd.h"

/* Output rows per chunk: about this many bytes of dy, so that dy and x stay in L1/L2. */
#define CHUNK_BYTES 32768

typedef struct {
  const float *xp;
  const float *dy;
  int hp, wp, ci, oh, ow, co, sh, sw;
} geometry;

/* Where output row r (b, oy) reads xp for filter row ky, from k of the kw*ci taps on. */
static inline const float *x_row(const geometry *g, int r, int ky, int k) {
  const int b = r / g->oh, oy = r - b * g->oh;
  return g->xp + ((long)(b * g->hp + oy * g->sh + ky) * g->wp) * g->ci + k;
}

/* Output row r's dy, from channel n on. */
static inline const float *dy_row(const geometry *g, int r, int n) {
  return g->dy + (long)r * g->ow * g->co + n;
}

/* acc[k][n] (row stride co) += sum over the chunk's pixels of a[k] * d[n], 4 k x 8 n. */
static void tile_4x8(const geometry *g, int row0, int row1, int ky, int k, int n, float *acc) {
  float *w0 = acc + k * g->co + n;
  f32x4 a00 = wasm_v128_load(w0), a01 = wasm_v128_load(w0 + 4);
  f32x4 a10 = wasm_v128_load(w0 + g->co), a11 = wasm_v128_load(w0 + g->co + 4);
  f32x4 a20 = wasm_v128_load(w0 + 2 * g->co), a21 = wasm_v128_load(w0 + 2 * g->co + 4);
  f32x4 a30 = wasm_v128_load(w0 + 3 * g->co), a31 = wasm_v128_load(w0 + 3 * g->co + 4);
  const int step = g->sw * g->ci;
  for (int r = row0; r < row1; r++) {
    const float *x = x_row(g, r, ky, k), *d = dy_row(g, r, n);
    for (int ox = 0; ox < g->ow; ox++, x += step, d += g->co) {
      const f32x4 d0 = wasm_v128_load(d), d1 = wasm_v128_load(d + 4);
      f32x4 s = wasm_v128_load32_splat(x);
      a00 = madd(s, d0, a00);
      a01 = madd(s, d1, a01);
      s = wasm_v128_load32_splat(x + 1);
      a10 = madd(s, d0, a10);
      a11 = madd(s, d1, a11);
      s = wasm_v128_load32_splat(x + 2);
      a20 = madd(s, d0, a20);
      a21 = madd(s, d1, a21);
      s = wasm_v128_load32_splat(x + 3);
      a30 = madd(s, d0, a30);
      a31 = madd(s, d1, a31);
    }
  }
  wasm_v128_store(w0, a00); wasm_v128_store(w0 + 4, a01);
  wasm_v128_store(w0 + g->co, a10); wasm_v128_store(w0 + g->co + 4, a11);
  wasm_v128_store(w0 + 2 * g->co, a20); wasm_v128_store(w0 + 2 * g->co + 4, a21);
  wasm_v128_store(w0 + 3 * g->co, a30); wasm_v128_store(w0 + 3 * g->co + 4, a31);
}

/* One k row, 8 n columns: the last k % 4 rows. */
static void tile_1x8(const geometry *g, int row0, int row1, int ky, int k, int n, float *acc) {
  float *w0 = acc + k * g->co + n;
  f32x4 a0 = wasm_v128_load(w0), a1 = wasm_v128_load(w0 + 4);
  const int step = g->sw * g->ci;
  for (int r = row0; r < row1; r++) {
    const float *x = x_row(g, r, ky, k), *d = dy_row(g, r, n);
    for (int ox = 0; ox < g->ow; ox++, x += step, d += g->co) {
      const f32x4 s = wasm_v128_load32_splat(x);
      a0 = madd(s, wasm_v128_load(d), a0);
      a1 = madd(s, wasm_v128_load(d + 4), a1);
    }
  }
  wasm_v128_store(w0, a0); wasm_v128_store(w0 + 4, a1);
}

/* 4 k rows, 4 n columns: a co % 8 of 4 or more. */
static void tile_4x4(const geometry *g, int row0, int row1, int ky, int k, int n, float *acc) {
  float *w0 = acc + k * g->co + n;
  f32x4 a0 = wasm_v128_load(w0), a1 = wasm_v128_load(w0 + g->co);
  f32x4 a2 = wasm_v128_load(w0 + 2 * g->co), a3 = wasm_v128_load(w0 + 3 * g->co);
  const int step = g->sw * g->ci;
  for (int r = row0; r < row1; r++) {
    const float *x = x_row(g, r, ky, k), *d = dy_row(g, r, n);
    for (int ox = 0; ox < g->ow; ox++, x += step, d += g->co) {
      const f32x4 d0 = wasm_v128_load(d);
      a0 = madd(wasm_v128_load32_splat(x), d0, a0);
      a1 = madd(wasm_v128_load32_splat(x + 1), d0, a1);
      a2 = madd(wasm_v128_load32_splat(x + 2), d0, a2);
      a3 = madd(wasm_v128_load32_splat(x + 3), d0, a3);
    }
  }
  wasm_v128_store(w0, a0); wasm_v128_store(w0 + g->co, a1);
  wasm_v128_store(w0 + 2 * g->co, a2); wasm_v128_store(w0 + 3 * g->co, a3);
}

static void tile_1x4(const geometry *g, int row0, int row1, int ky, int k, int n, float *acc) {
  float *w0 = acc + k * g->co + n;
  f32x4 a0 = wasm_v128_load(w0);
  const int step = g->sw * g->ci;
  for (int r = row0; r < row1; r++) {
    const float *x = x_row(g, r, ky, k), *d = dy_row(g, r, n);
    for (int ox = 0; ox < g->ow; ox++, x += step, d += g->co) {
      a0 = madd(wasm_v128_load32_splat(x), wasm_v128_load(d), a0);
    }
  }
  wasm_v128_store(w0, a0);
}

/* The last co % 4 columns, one at a time. */
static void tile_1x1(const geometry *g, int row0, int row1, int ky, int k, int n, float *acc) {
  float sum = acc[k * g->co + n];
  const int step = g->sw * g->ci;
  for (int r = row0; r < row1; r++) {
    const float *x = x_row(g, r, ky, k), *d = dy_row(g, r, n);
    for (int ox = 0; ox < g->ow; ox++, x += step, d += g->co) sum += *x * *d;
  }
  acc[k * g->co + n] = sum;
}

/*
 * Part `part` of `parts` sums the output rows (b, oy) it takes into its own kh*kw*ci*co floats
 * at acc + part * kh*kw*ci*co (overwritten): the caller adds the parts' sums.
 */
EXPORT(conv2d_filter_grad)(const float *xp, const float *dy, float *acc, int batch, int hp, int wp, int ci,
                           int oh, int ow, int co, int kh, int kw, int sh, int sw, int part, int parts) {
  const geometry g = {xp, dy, hp, wp, ci, oh, ow, co, sh, sw};
  const int rows = batch * oh, span = kw * ci;
  const int row_bytes = ow * co * 4;
  const int chunk = row_bytes >= CHUNK_BYTES ? 1 : CHUNK_BYTES / row_bytes;
  acc += (long)part * kh * span * co;
  zero_floats(acc, kh * span * co);
  const int end = part_start(rows, part + 1, parts);
  for (int row0 = part_start(rows, part, parts); row0 < end; row0 += chunk) {
    const int row1 = row0 + chunk < end ? row0 + chunk : end;
    for (int ky = 0; ky < kh; ky++) {
      float *w = acc + ky * span * co;
      int k = 0;
      for (; k + 4 <= span; k += 4) {
        int n = 0;
        for (; n + 8 <= co; n += 8) tile_4x8(&g, row0, row1, ky, k, n, w);
        for (; n + 4 <= co; n += 4) tile_4x4(&g, row0, row1, ky, k, n, w);
        for (; n < co; n++) for (int kk = k; kk < k + 4; kk++) tile_1x1(&g, row0, row1, ky, kk, n, w);
      }
      for (; k < span; k++) {
        int n = 0;
        for (; n + 8 <= co; n += 8) tile_1x8(&g, row0, row1, ky, k, n, w);
        for (; n + 4 <= co; n += 4) tile_1x4(&g, row0, row1, ky, k, n, w);
        for (; n < co; n++) tile_1x1(&g, row0, row1, ky, k, n, w);
      }
    }
  }
}

/*
 * A 2D convolution (NHWC input), with a bias and ReLU fused when asked:
 *   y[b, oy, ox, o] = act(bias[o] + sum over ky, kx, c of x[b, oy*sh - pt + ky, ox*sw - pl + kx, c] * w[ky, kx, c, o])
 * with zeros outside x. The filter is first packed (pack_filter) in blocks of 8 output channels,
 * so that the inner loop reads it contiguously: per block, the 8 biases, then for each ky the
 * kw*ci rows of 8 weights. For one output row and one ky, the taps kx = 0..kw-1 of all input
 * channels are kw*ci consecutive floats of x: the row is a matrix product, done in register tiles
 * of 4 output pixels x 8 output channels. Pixels whose window crosses the left or right edge take
 * a one-pixel path over the taps inside x.
 */
#include "simd.h"

/*
 * Packs a [kh, kw, ci, co] filter (and bias, or zeros) as conv2d reads it. With `rotated`, packs
 * instead the filter of the input gradient of a convolution by w: w is then [kh, kw, co, ci] and
 * the packed filter is w rotated 180 degrees with its channel axes swapped, so that conv2d of dy
 * with it (padding kh-1-pt, kw-1-pl) is dx.
 */
EXPORT(pack_filter)(const float *w, const float *bias, float *packed, int kh, int kw, int ci, int co, int rotated) {
  const int span = kw * ci, blocks = (co + 7) / 8, block = 8 + kh * span * 8;
  for (int nb = 0; nb < blocks; nb++) {
    float *to = packed + (long)nb * block;
    for (int j = 0; j < 8; j++) to[j] = bias && nb * 8 + j < co ? bias[nb * 8 + j] : 0.0f;
    to += 8;
    for (int ky = 0; ky < kh; ky++) {
      for (int kx = 0; kx < kw; kx++) {
        for (int c = 0; c < ci; c++, to += 8) {
          for (int j = 0; j < 8; j++) {
            const int o = nb * 8 + j;
            float v = 0.0f;
            if (o < co) {
              v = rotated ? w[(((long)(kh - 1 - ky) * kw + (kw - 1 - kx)) * co + o) * ci + c]
                          : w[(((long)ky * kw + kx) * ci + c) * co + o];
            }
            to[j] = v;
          }
        }
      }
    }
  }
}

typedef struct {
  const float *x, *packed;
  float *y;
  int ih, iw, ci, oh, ow, co, kh, kw, sh, sw, pt, pl, relu;
} geometry;

static inline f32x4 finish(const geometry *g, f32x4 v) {
  return g->relu ? wasm_f32x4_max(v, wasm_f32x4_splat(0.0f)) : v;
}

/* 8 channels from n (fewer at the end of co: only those are stored). */
static inline void store8(const geometry *g, float *y, int n, f32x4 v0, f32x4 v1) {
  v0 = finish(g, v0);
  v1 = finish(g, v1);
  const int left = g->co - n;
  if (left >= 8) {
    wasm_v128_store(y, v0);
    wasm_v128_store(y + 4, v1);
    return;
  }
  if (left >= 4) {
    wasm_v128_store(y, v0);
    y += 4;
    v0 = v1;
  }
  store_partial(y, v0, left % 4);
}

/* Four neighbouring pixels (ox .. ox+3, all windows inside x horizontally), channel block nb. */
static void tile_4x8(const geometry *g, int b, int oy, int ox, int nb) {
  const int span = g->kw * g->ci, step = g->sw * g->ci;
  const float *block = g->packed + (long)nb * (8 + g->kh * span * 8);
  f32x4 a00 = wasm_v128_load(block), a01 = wasm_v128_load(block + 4);
  f32x4 a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
  for (int ky = 0; ky < g->kh; ky++) {
    const int iy = oy * g->sh - g->pt + ky;
    if (iy < 0 || iy >= g->ih) continue;
    const float *x = g->x + ((long)(b * g->ih + iy) * g->iw + ox * g->sw - g->pl) * g->ci;
    const float *w = block + 8 + (long)ky * span * 8;
    for (int k = 0; k < span; k++, x++, w += 8) {
      const f32x4 w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 4);
      f32x4 s = wasm_v128_load32_splat(x);
      a00 = madd(s, w0, a00);
      a01 = madd(s, w1, a01);
      s = wasm_v128_load32_splat(x + step);
      a10 = madd(s, w0, a10);
      a11 = madd(s, w1, a11);
      s = wasm_v128_load32_splat(x + 2 * step);
      a20 = madd(s, w0, a20);
      a21 = madd(s, w1, a21);
      s = wasm_v128_load32_splat(x + 3 * step);
      a30 = madd(s, w0, a30);
      a31 = madd(s, w1, a31);
    }
  }
  float *y = g->y + ((long)(b * g->oh + oy) * g->ow + ox) * g->co + nb * 8;
  store8(g, y, nb * 8, a00, a01);
  store8(g, y + g->co, nb * 8, a10, a11);
  store8(g, y + 2 * g->co, nb * 8, a20, a21);
  store8(g, y + 3 * g->co, nb * 8, a30, a31);
}

/* One pixel, channel block nb, over the taps inside x. */
static void pixel(const geometry *g, int b, int oy, int ox, int nb) {
  const int span = g->kw * g->ci;
  const float *block = g->packed + (long)nb * (8 + g->kh * span * 8);
  const int x0 = ox * g->sw - g->pl;
  const int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + g->kw > g->iw ? g->iw - x0 : g->kw;
  f32x4 a0 = wasm_v128_load(block), a1 = wasm_v128_load(block + 4);
  for (int ky = 0; ky < g->kh; ky++) {
    const int iy = oy * g->sh - g->pt + ky;
    if (iy < 0 || iy >= g->ih) continue;
    const float *x = g->x + ((long)(b * g->ih + iy) * g->iw + x0 + kx0) * g->ci;
    const float *w = block + 8 + ((long)ky * span + kx0 * g->ci) * 8;
    for (int k = kx0 * g->ci; k < kx1 * g->ci; k++, x++, w += 8) {
      const f32x4 s = wasm_v128_load32_splat(x);
      a0 = madd(s, wasm_v128_load(w), a0);
      a1 = madd(s, wasm_v128_load(w + 4), a1);
    }
  }
  store8(g, g->y + ((long)(b * g->oh + oy) * g->ow + ox) * g->co + nb * 8, nb * 8, a0, a1);
}

/* Output rows (b, oy) are split across parts. `packed` is pack_filter's output. */
EXPORT(conv2d)(const float *x, const float *packed, float *y, int batch, int ih, int iw, int ci, int oh, int ow, int co,
               int kh, int kw, int sh, int sw, int pt, int pl, int relu, int part, int parts) {
  const geometry g = {x, packed, y, ih, iw, ci, oh, ow, co, kh, kw, sh, sw, pt, pl, relu};
  /* Pixels whose whole window lies inside x horizontally: [in0, in1). */
  int in0 = (pl + sw - 1) / sw, in1 = iw - kw + pl < 0 ? 0 : (iw - kw + pl) / sw + 1;
  if (in1 > ow) in1 = ow;
  if (in0 > in1) in0 = in1;
  const int blocks = (co + 7) / 8;
  const int end = part_start(batch * oh, part + 1, parts);
  for (int r = part_start(batch * oh, part, parts); r < end; r++) {
    const int b = r / oh, oy = r - b * oh;
    for (int nb = 0; nb < blocks; nb++) {
      int ox = in0;
      for (; ox + 4 <= in1; ox += 4) tile_4x8(&g, b, oy, ox, nb);
      for (; ox < in1; ox++) pixel(&g, b, oy, ox, nb);
      for (ox = 0; ox < in0; ox++) pixel(&g, b, oy, ox, nb);
      for (ox = in1; ox < ow; ox++) pixel(&g, b, oy, ox, nb);
    }
  }
}

/*
 * The filter gradient of a depthwise convolution (NHWC input, filter [kh, kw, c, m]):
 *   df[ky, kx, ch, q] = sum over b, oy, ox of xp[b, oy*sh + ky, ox*sw + kx, ch] * dy[b, oy, ox, ch*m + q]
 * on an input already padded (xp). With multiplier m = 1 (every depthwise layer of our models),
 * four channels at a time, and a 3x3 filter keeps all nine taps' sums in registers so that each
 * dy value is loaded once; other multipliers take a plain loop.
 */
#include "simd.h"

typedef struct {
  const float *xp, *dy;
  int hp, wp, c, oh, ow, kh, kw, sh, sw, m;
} geometry;

/* Row r's contribution to acc (this part's sums), multiplier 1, 3x3 filter, channels [ch, ch + 4). */
static void row_3x3(const geometry *g, int r, int ch, float *acc) {
  const int b = r / g->oh, oy = r - b * g->oh;
  const long row = (long)g->wp * g->c;
  const float *x = g->xp + (long)(b * g->hp + oy * g->sh) * row + ch;
  const float *d = g->dy + (long)r * g->ow * g->c + ch;
  float *a = acc + ch;
  const int c = g->c, step = g->sw * g->c;
  f32x4 a0 = wasm_v128_load(a), a1 = wasm_v128_load(a + c), a2 = wasm_v128_load(a + 2 * c);
  f32x4 a3 = wasm_v128_load(a + 3 * c), a4 = wasm_v128_load(a + 4 * c), a5 = wasm_v128_load(a + 5 * c);
  f32x4 a6 = wasm_v128_load(a + 6 * c), a7 = wasm_v128_load(a + 7 * c), a8 = wasm_v128_load(a + 8 * c);
  for (int ox = 0; ox < g->ow; ox++, x += step, d += c) {
    const f32x4 v = wasm_v128_load(d);
    const float *x1 = x + row, *x2 = x + 2 * row;
    a0 = madd(v, wasm_v128_load(x), a0);
    a1 = madd(v, wasm_v128_load(x + c), a1);
    a2 = madd(v, wasm_v128_load(x + 2 * c), a2);
    a3 = madd(v, wasm_v128_load(x1), a3);
    a4 = madd(v, wasm_v128_load(x1 + c), a4);
    a5 = madd(v, wasm_v128_load(x1 + 2 * c), a5);
    a6 = madd(v, wasm_v128_load(x2), a6);
    a7 = madd(v, wasm_v128_load(x2 + c), a7);
    a8 = madd(v, wasm_v128_load(x2 + 2 * c), a8);
  }
  wasm_v128_store(a, a0); wasm_v128_store(a + c, a1); wasm_v128_store(a + 2 * c, a2);
  wasm_v128_store(a + 3 * c, a3); wasm_v128_store(a + 4 * c, a4); wasm_v128_store(a + 5 * c, a5);
  wasm_v128_store(a + 6 * c, a6); wasm_v128_store(a + 7 * c, a7); wasm_v128_store(a + 8 * c, a8);
}

/* Where output row r (b, oy) reads xp for tap (ky, kx), from channel ch on. */
static inline const float *x_at(const geometry *g, int r, int ky, int kx, int ch) {
  const int b = r / g->oh, oy = r - b * g->oh;
  return g->xp + ((long)(b * g->hp + oy * g->sh + ky) * g->wp + kx) * g->c + ch;
}

/* Multiplier 1, any filter size, channels [ch, ch + 4): one tap at a time. */
static void row_any(const geometry *g, int r, int ch, float *acc) {
  const int c = g->c, step = g->sw * g->c;
  for (int ky = 0; ky < g->kh; ky++) {
    for (int kx = 0; kx < g->kw; kx++) {
      const float *x = x_at(g, r, ky, kx, ch), *d = g->dy + (long)r * g->ow * c + ch;
      float *a = acc + (ky * g->kw + kx) * c + ch;
      f32x4 sum = wasm_v128_load(a);
      for (int ox = 0; ox < g->ow; ox++, x += step, d += c) sum = madd(wasm_v128_load(d), wasm_v128_load(x), sum);
      wasm_v128_store(a, sum);
    }
  }
}

/* Any multiplier, any filter size, channels [ch0, ch1), one value at a time. */
static void row_scalar(const geometry *g, int r, int ch0, int ch1, float *acc) {
  const int c = g->c, m = g->m, step = g->sw * c;
  for (int ky = 0; ky < g->kh; ky++) {
    for (int kx = 0; kx < g->kw; kx++) {
      for (int ch = ch0; ch < ch1; ch++) {
        for (int q = 0; q < m; q++) {
          const float *x = x_at(g, r, ky, kx, ch), *d = g->dy + (long)r * g->ow * c * m + ch * m + q;
          float *a = acc + ((ky * g->kw + kx) * c + ch) * m + q;
          float sum = *a;
          for (int ox = 0; ox < g->ow; ox++, x += step, d += c * m) sum += *d * *x;
          *a = sum;
        }
      }
    }
  }
}

/*
 * Part `part` of `parts` sums the output rows (b, oy) it takes into its own kh*kw*c floats at
 * acc + part * kh*kw*c*m (overwritten): the caller adds the parts' sums.
 */
EXPORT(depthwise_filter_grad)(const float *xp, const float *dy, float *acc, int batch, int hp, int wp, int c, int m,
                              int oh, int ow, int kh, int kw, int sh, int sw, int part, int parts) {
  const geometry g = {xp, dy, hp, wp, c, oh, ow, kh, kw, sh, sw, m};
  acc += (long)part * kh * kw * c * m;
  zero_floats(acc, kh * kw * c * m);
  const int end = part_start(batch * oh, part + 1, parts);
  for (int r = part_start(batch * oh, part, parts); r < end; r++) {
    int ch = 0;
    for (; m == 1 && ch + 4 <= c; ch += 4) {
      if (kh == 3 && kw == 3) row_3x3(&g, r, ch, acc);
      else row_any(&g, r, ch, acc);
    }
    row_scalar(&g, r, ch, c, acc);
  }
}

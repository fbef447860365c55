/*
 * The gradient of a max pool (NHWC): each window's output gradient goes to the first input
 * pixel, in row-major window order, holding the window's maximum, as TF.js's cpu kernel and
 * TensorFlow route it. The scan starts from -Infinity and takes only strictly greater values, so
 * NaN never wins and a window of nothing but NaN and -Infinity routes nothing. Four channels at a
 * time: each lane keeps its own best value and position.
 */
#include "simd.h"

typedef struct {
  const float *x, *dy;
  float *dx;
  int ih, iw, c, oh, ow, fh, fw, sh, sw, pt, pl;
} geometry;

/* One window, channels [ch, ch + 4): route dy to the lanes' first maxima. `add`: windows overlap. */
static inline void window4(const geometry *g, long image, int y0, int y1, int x0, int x1, long grad, int ch, int add) {
  f32x4 best = wasm_f32x4_splat(-__builtin_inff());
  v128_t where = wasm_i32x4_splat(-1);
  int k = 0;
  for (int y = y0; y < y1; y++) {
    for (int x = x0; x < x1; x++, k++) {
      const f32x4 v = wasm_v128_load(g->x + image + ((long)y * g->iw + x) * g->c + ch);
      const v128_t greater = wasm_f32x4_gt(v, best);
      best = wasm_v128_bitselect(v, best, greater);
      where = wasm_v128_bitselect(wasm_i32x4_splat(k), where, greater);
    }
  }
  const f32x4 d = wasm_v128_load(g->dy + grad + ch);
  k = 0;
  for (int y = y0; y < y1; y++) {
    for (int x = x0; x < x1; x++, k++) {
      float *to = g->dx + image + ((long)y * g->iw + x) * g->c + ch;
      const f32x4 routed = wasm_v128_and(d, wasm_i32x4_eq(where, wasm_i32x4_splat(k)));
      wasm_v128_store(to, add ? wasm_f32x4_add(wasm_v128_load(to), routed) : routed);
    }
  }
}

/* The same for one channel. */
static inline void window1(const geometry *g, long image, int y0, int y1, int x0, int x1, long grad, int ch, int add) {
  float best = -__builtin_inff();
  long where = -1;
  for (int y = y0; y < y1; y++) {
    for (int x = x0; x < x1; x++) {
      const long at = image + ((long)y * g->iw + x) * g->c + ch;
      if (g->x[at] > best) {
        best = g->x[at];
        where = at;
      }
    }
  }
  if (!add) {
    for (int y = y0; y < y1; y++) {
      for (int x = x0; x < x1; x++) g->dx[image + ((long)y * g->iw + x) * g->c + ch] = 0.0f;
    }
  }
  if (where >= 0) g->dx[where] += g->dy[grad + ch];
}

/* Images are split across parts. */
EXPORT(max_pool_grad)(const float *x, const float *dy, float *dx, int batch, int ih, int iw, int c, int oh, int ow,
                      int fh, int fw, int sh, int sw, int pt, int pl, int part, int parts) {
  const geometry g = {x, dy, dx, ih, iw, c, oh, ow, fh, fw, sh, sw, pt, pl};
  const long image_size = (long)ih * iw * c;
  /* Windows that do not overlap write each pixel they cover once; overlapping ones add up. */
  const int add = fh > sh || fw > sw;
  /* Whether the windows cover every pixel of the image exactly once. */
  const int tiled = !add && pt == 0 && pl == 0 && oh * sh == ih && ow * sw == iw && fh == sh && fw == sw;
  const int end = part_start(batch, part + 1, parts);
  for (int b = part_start(batch, part, parts); b < end; b++) {
    const long image = b * image_size;
    if (!tiled) zero_floats(dx + image, (int)image_size);
    for (int oy = 0; oy < oh; oy++) {
      const int y = oy * sh - pt;
      const int y0 = y < 0 ? 0 : y, y1 = y + fh > ih ? ih : y + fh;
      for (int ox = 0; ox < ow; ox++) {
        const int xs = ox * sw - pl;
        const int x0 = xs < 0 ? 0 : xs, x1 = xs + fw > iw ? iw : xs + fw;
        const long grad = (((long)b * oh + oy) * ow + ox) * c;
        int ch = 0;
        for (; ch + 4 <= c; ch += 4) window4(&g, image, y0, y1, x0, x1, grad, ch, !tiled);
        for (; ch < c; ch++) window1(&g, image, y0, y1, x0, x1, grad, ch, !tiled);
      }
    }
  }
}

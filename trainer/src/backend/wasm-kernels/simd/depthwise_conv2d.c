/*
 * A depthwise convolution with channel multiplier 1 (NHWC input, filter [kh, kw, c, 1]):
 *   y[b, oy, ox, ch] = sum over ky, kx of x[b, oy*sh + ky - pt, ox*sw + kx - pl, ch] * f[ky, kx, ch]
 * with zeros outside x. TF.js's wasm backend runs it on one thread; here the parts split the
 * batch's output rows. Each tap adds its products to the output row, which stays in cache, four
 * channels at a time.
 */
#include "simd.h"

/* out[0..c) += x[0..c) * f[0..c). */
static inline void add_products(float *out, const float *x, const float *f, int c) {
  int ch = 0;
  for (; ch + 4 <= c; ch += 4) {
    wasm_v128_store(out + ch, madd(wasm_v128_load(x + ch), wasm_v128_load(f + ch), wasm_v128_load(out + ch)));
  }
  for (; ch < c; ch++) out[ch] += x[ch] * f[ch];
}

EXPORT(depthwise_conv2d)(const float *x, const float *f, float *y, int batch, int ih, int iw, int c, int oh, int ow, int kh, int kw,
                         int sh, int sw, int pt, int pl, int part, int parts) {
  const int rows = batch * oh, end = part_start(rows, part + 1, parts);
  for (int row = part_start(rows, part, parts); row < end; row++) {
    const int b = row / oh, oy = row - b * oh;
    float *out = y + (long)row * ow * c;
    zero_floats(out, ow * c);
    for (int ky = 0; ky < kh; ky++) {
      const int iy = oy * sh + ky - pt;
      if (iy < 0 || iy >= ih) continue;
      const float *in = x + ((long)b * ih + iy) * iw * c;
      for (int kx = 0; kx < kw && kx - pl < iw; kx++) {
        /* The output columns whose input column ox*sw + kx - pl lies inside the row. */
        const int first = kx >= pl ? 0 : (pl - kx + sw - 1) / sw;
        const int last = (iw - 1 + pl - kx) / sw;
        const float *taps = f + (long)(ky * kw + kx) * c;
        for (int ox = first; ox <= last && ox < ow; ox++) add_products(out + (long)ox * c, in + ((long)ox * sw + kx - pl) * c, taps, c);
      }
    }
  }
}

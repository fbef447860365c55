/*
 * Passes over an activation viewed as rows of c channels (NHWC: a row is a pixel): per-channel
 * sums (batch norm's moments, its gradient, bias gradients, global average pools), per-channel
 * maxima and their gradient (global max pools), a per-channel scale and shift (batch norm, bias
 * adds), and the elementwise gradients of ReLU and Square.
 * Sums run in blocks of BLOCK rows added to a running total, so a sum over a million rows keeps
 * about the precision of one over a thousand.
 */
#include "simd.h"

#define BLOCK 256

/*
 * totals[0..c) += the sums over rows [r0, r1) of x (rows of c). A block of rows at a time, all
 * its channels before the next block, so that a row's cache lines are read from memory once.
 */
static void add_row_sums(const float *x, float *totals, long r0, long r1, int c) {
  for (long r = r0; r < r1; r += BLOCK) {
    const long end = r + BLOCK < r1 ? r + BLOCK : r1;
    int ch = 0;
    for (; ch + 8 <= c; ch += 8) {
      f32x4 a = wasm_f32x4_splat(0.0f), b = a;
      for (long i = r; i < end; i++) {
        a = wasm_f32x4_add(a, wasm_v128_load(x + i * c + ch));
        b = wasm_f32x4_add(b, wasm_v128_load(x + i * c + ch + 4));
      }
      wasm_v128_store(totals + ch, wasm_f32x4_add(wasm_v128_load(totals + ch), a));
      wasm_v128_store(totals + ch + 4, wasm_f32x4_add(wasm_v128_load(totals + ch + 4), b));
    }
    for (; ch + 4 <= c; ch += 4) {
      f32x4 a = wasm_f32x4_splat(0.0f);
      for (long i = r; i < end; i++) a = wasm_f32x4_add(a, wasm_v128_load(x + i * c + ch));
      wasm_v128_store(totals + ch, wasm_f32x4_add(wasm_v128_load(totals + ch), a));
    }
    for (; ch < c; ch++) {
      float a = 0.0f;
      for (long i = r; i < end; i++) a += x[i * c + ch];
      totals[ch] += a;
    }
  }
}

/*
 * x is [outer, rows, c]; each of the outer * splits jobs sums one of `splits` consecutive row
 * ranges of one outer index: out[(o * splits + s) * c + ch] = scale * sum. With splits > 1 the
 * caller adds each outer index's splits (add_parts).
 */
EXPORT(channel_sums)(const float *x, float *out, int outer, int rows, int c, float scale, int splits, int part, int parts) {
  const int jobs = outer * splits;
  const int end = part_start(jobs, part + 1, parts);
  for (int job = part_start(jobs, part, parts); job < end; job++) {
    const int o = job / splits, s = job - o * splits;
    float *totals = out + (long)job * c;
    zero_floats(totals, c);
    add_row_sums(x + (long)o * rows * c, totals, part_start(rows, s, splits), part_start(rows, s + 1, splits), c);
    for (int ch = 0; ch < c; ch++) totals[ch] *= scale;
  }
}

/*
 * x is [outer, rows, c]: out[o * c + ch] = the largest x[o, r, ch] over the rows, a NaN among them
 * giving NaN (as TF.js's Max does); a part takes whole outer indices.
 */
EXPORT(channel_max)(const float *x, float *out, int outer, int rows, int c, int part, int parts) {
  const int end = part_start(outer, part + 1, parts);
  for (int o = part_start(outer, part, parts); o < end; o++) {
    const float *from = x + (long)o * rows * c;
    float *to = out + (long)o * c;
    int ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      f32x4 m = wasm_v128_load(from + ch);
      for (long r = 1; r < rows; r++) m = wasm_f32x4_max(m, wasm_v128_load(from + r * c + ch));
      wasm_v128_store(to + ch, m);
    }
    for (; ch < c; ch++) {
      float m = from[ch];
      for (long r = 1; r < rows; r++) {
        const float v = from[r * c + ch];
        if (v != v || v > m) m = v;
        if (m != m) break;
      }
      to[ch] = m;
    }
  }
}

/*
 * The gradient of channel_max as TF.js computes Max's, dy * (x == max): every element equal to its
 * channel's maximum gets the whole dy, ties included. x is [outer, rows, c], max and dy [outer, c];
 * the parts split all outer * rows rows.
 */
EXPORT(channel_max_grad)(const float *dy, const float *x, const float *max, float *dx, int outer, int rows, int c, int part, int parts) {
  const long r0 = part_start(outer * rows, part, parts), r1 = part_start(outer * rows, part + 1, parts);
  const f32x4 one = wasm_f32x4_splat(1.0f);
  for (long r = r0; r < r1; r++) {
    const long o = r / rows;
    const float *from = x + r * c, *m = max + o * c, *d = dy + o * c;
    float *to = dx + r * c;
    int ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const f32x4 hit = wasm_v128_and(one, wasm_f32x4_eq(wasm_v128_load(from + ch), wasm_v128_load(m + ch)));
      wasm_v128_store(to + ch, wasm_f32x4_mul(wasm_v128_load(d + ch), hit));
    }
    for (; ch < c; ch++) to[ch] = d[ch] * (from[ch] == m[ch] ? 1.0f : 0.0f);
  }
}

/*
 * Two per-channel sums over this part's share of the rows, to acc + part * 2c as [s1, s2]:
 * with dy, batch norm's gradient sums s1 = sum of dy and s2 = sum of dy * (x - mean); with a null
 * dy, the squared deviations of a variance: s1 = 0 and s2 = sum of (x - mean)^2. Blocks of rows
 * as in add_row_sums.
 */
EXPORT(centered_sums)(const float *dy, const float *x, const float *mean, float *acc, int rows, int c, int part, int parts) {
  const long r0 = part_start(rows, part, parts), r1 = part_start(rows, part + 1, parts);
  float *s1 = acc + (long)part * 2 * c, *s2 = s1 + c;
  zero_floats(s1, 2 * c);
  for (long r = r0; r < r1; r += BLOCK) {
    const long end = r + BLOCK < r1 ? r + BLOCK : r1;
    int ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const f32x4 m = wasm_v128_load(mean + ch);
      f32x4 b1 = wasm_f32x4_splat(0.0f), b2 = b1;
      if (dy) {
        for (long i = r; i < end; i++) {
          const f32x4 d = wasm_v128_load(dy + i * c + ch);
          b1 = wasm_f32x4_add(b1, d);
          b2 = madd(d, wasm_f32x4_sub(wasm_v128_load(x + i * c + ch), m), b2);
        }
      } else {
        for (long i = r; i < end; i++) {
          const f32x4 d = wasm_f32x4_sub(wasm_v128_load(x + i * c + ch), m);
          b2 = madd(d, d, b2);
        }
      }
      wasm_v128_store(s1 + ch, wasm_f32x4_add(wasm_v128_load(s1 + ch), b1));
      wasm_v128_store(s2 + ch, wasm_f32x4_add(wasm_v128_load(s2 + ch), b2));
    }
    for (; ch < c; ch++) {
      float b1 = 0.0f, b2 = 0.0f;
      for (long i = r; i < end; i++) {
        const float d = x[i * c + ch] - mean[ch];
        if (dy) {
          b1 += dy[i * c + ch];
          b2 += dy[i * c + ch] * d;
        } else {
          b2 += d * d;
        }
      }
      s1[ch] += b1;
      s2[ch] += b2;
    }
  }
}

/*
 * out = (x - center[ch]) * scale[ch] + shift[ch] over this part's rows; a null center or shift is
 * 0, a null scale 1.
 */
EXPORT(channel_affine)(const float *x, const float *center, const float *scale, const float *shift, float *out, int rows, int c,
                       int part, int parts) {
  const long r0 = part_start(rows, part, parts), r1 = part_start(rows, part + 1, parts);
  if (center) {
    for (long r = r0; r < r1; r++) {
      const float *from = x + r * c;
      float *to = out + r * c;
      int ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        f32x4 v = wasm_f32x4_sub(wasm_v128_load(from + ch), wasm_v128_load(center + ch));
        if (scale) v = wasm_f32x4_mul(v, wasm_v128_load(scale + ch));
        if (shift) v = wasm_f32x4_add(v, wasm_v128_load(shift + ch));
        wasm_v128_store(to + ch, v);
      }
      for (; ch < c; ch++) {
        float v = from[ch] - center[ch];
        if (scale) v *= scale[ch];
        if (shift) v += shift[ch];
        to[ch] = v;
      }
    }
    return;
  }
  if (c == 1) {
    /* One channel: the same scale and shift everywhere, four values at a time. */
    const float s = scale ? scale[0] : 1.0f, t = shift ? shift[0] : 0.0f;
    long i = r0;
    for (; i + 4 <= r1; i += 4) {
      f32x4 v = wasm_v128_load(x + i);
      if (scale) v = wasm_f32x4_mul(v, wasm_f32x4_splat(s));
      if (shift) v = wasm_f32x4_add(v, wasm_f32x4_splat(t));
      wasm_v128_store(out + i, v);
    }
    for (; i < r1; i++) out[i] = scale && shift ? x[i] * s + t : scale ? x[i] * s : x[i] + t;
    return;
  }
  for (long r = r0; r < r1; r++) {
    const float *from = x + r * c;
    float *to = out + r * c;
    int ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      f32x4 v = wasm_v128_load(from + ch);
      if (scale) v = wasm_f32x4_mul(v, wasm_v128_load(scale + ch));
      if (shift) v = wasm_f32x4_add(v, wasm_v128_load(shift + ch));
      wasm_v128_store(to + ch, v);
    }
    for (; ch < c; ch++) to[ch] = scale && shift ? from[ch] * scale[ch] + shift[ch] : scale ? from[ch] * scale[ch] : from[ch] + shift[ch];
  }
}

/*
 * Batch norm's input gradient with the batch's own mean and variance differentiated through, per
 * channel: dx = dy * a + (x - mean) * b + c, with coef = [a, b, c], c floats each, over this part's
 * rows.
 */
EXPORT(batch_norm_dx)(const float *dy, const float *x, const float *mean, const float *coef, float *dx, int rows, int c, int part,
                      int parts) {
  const long r0 = part_start(rows, part, parts), r1 = part_start(rows, part + 1, parts);
  const float *a = coef, *b = coef + c, *k = coef + 2 * c;
  for (long r = r0; r < r1; r++) {
    const float *d = dy + r * c, *from = x + r * c;
    float *to = dx + r * c;
    int ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const f32x4 centered = wasm_f32x4_sub(wasm_v128_load(from + ch), wasm_v128_load(mean + ch));
      const f32x4 v = madd(centered, wasm_v128_load(b + ch), wasm_v128_load(k + ch));
      wasm_v128_store(to + ch, madd(wasm_v128_load(d + ch), wasm_v128_load(a + ch), v));
    }
    for (; ch < c; ch++) to[ch] = d[ch] * a[ch] + ((from[ch] - mean[ch]) * b[ch] + k[ch]);
  }
}

/*
 * ReLU's gradient as TF.js computes it, dy * step(x): step is 1 where x > 0, 0 elsewhere and NaN
 * where x is NaN.
 */
EXPORT(relu_grad)(const float *dy, const float *x, float *dx, int n, int part, int parts) {
  const long i0 = part_start(n / 4, part, parts) * 4L, i1 = part + 1 == parts ? n : part_start(n / 4, part + 1, parts) * 4L;
  const f32x4 one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f);
  long i = i0;
  for (; i + 4 <= i1; i += 4) {
    const f32x4 v = wasm_v128_load(x + i);
    const f32x4 step = wasm_v128_bitselect(v, wasm_v128_and(one, wasm_f32x4_gt(v, zero)), wasm_f32x4_ne(v, v));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < i1; i++) dx[i] = dy[i] * (x[i] != x[i] ? x[i] : x[i] > 0.0f ? 1.0f : 0.0f);
}

/* Square's gradient: dy * (2 x). */
EXPORT(square_grad)(const float *dy, const float *x, float *dx, int n, int part, int parts) {
  const long i0 = part_start(n / 4, part, parts) * 4L, i1 = part + 1 == parts ? n : part_start(n / 4, part + 1, parts) * 4L;
  const f32x4 two = wasm_f32x4_splat(2.0f);
  long i = i0;
  for (; i + 4 <= i1; i += 4) {
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), wasm_f32x4_mul(wasm_v128_load(x + i), two)));
  }
  for (; i < i1; i++) dx[i] = dy[i] * (x[i] * 2.0f);
}

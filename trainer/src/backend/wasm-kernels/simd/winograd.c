/*
 * Stride-1 3x3 convolutions (NHWC, zeros outside x) by Winograd's F(2x2, 3x3): each 2x2 block of
 * output pixels ("tile") is A^T [(G w G^T) . (B^T d B)] A, d being the 4x4 input patch under it,
 * so that a tile takes 16 multiplies per input and output channel instead of 36. In channels:
 * the 16 products are 16 matrix products (tiles x input channels) by (input x output channels),
 *   m[e][t][o] = sum over c of v[e][t][c] * u[e][c][o],
 * with v = B^T d B (winograd_conv2d, for a block of tiles at a time, in scratch space) and
 * u = G w G^T (winograd_filter, once per call). The block's v and m stay in cache; the products
 * run in register tiles of 4 tiles x 8 output channels, as conv2d.c's do.
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 */
#include "simd.h"

/* Input channels are padded to a multiple of 4 (with zeros), output channels to one of 8. */
static inline int pad4(int n) { return (n + 3) & ~3; }
static inline int pad8(int n) { return (n + 7) & ~7; }

/*
 * u[e][nb][c][j] = (G w G^T)[e] for input channel c and output channel nb*8 + j (zero past ci or co):
 * per element e of the 4x4 transform, per block of 8 output channels, ci4 rows of 8. With
 * `rotated`, w is [3, 3, co, ci] and transformed rotated 180 degrees with its channel axes
 * swapped: the filter of a convolution's input gradient (see pack_filter in conv2d.c).
 */
EXPORT(winograd_filter)(const float *w, float *u, int ci, int co, int rotated) {
  const int ci4 = pad4(ci), co8 = pad8(co), blocks = co8 / 8;
  for (int c = 0; c < ci4; c++) {
    for (int o = 0; o < co8; o++) {
      float g[3][3], h[4][3], t[4][4];
      for (int ky = 0; ky < 3; ky++) {
        for (int kx = 0; kx < 3; kx++) {
          float v = 0.0f;
          if (c < ci && o < co) v = rotated ? w[(((2 - ky) * 3 + (2 - kx)) * co + o) * ci + c] : w[((ky * 3 + kx) * ci + c) * co + o];
          g[ky][kx] = v;
        }
      }
      for (int k = 0; k < 3; k++) {
        h[0][k] = g[0][k];
        h[1][k] = 0.5f * (g[0][k] + g[1][k] + g[2][k]);
        h[2][k] = 0.5f * (g[0][k] - g[1][k] + g[2][k]);
        h[3][k] = g[2][k];
      }
      for (int i = 0; i < 4; i++) {
        t[i][0] = h[i][0];
        t[i][1] = 0.5f * (h[i][0] + h[i][1] + h[i][2]);
        t[i][2] = 0.5f * (h[i][0] - h[i][1] + h[i][2]);
        t[i][3] = h[i][2];
      }
      for (int e = 0; e < 16; e++) u[(((long)e * blocks + o / 8) * ci4 + c) * 8 + o % 8] = t[e / 4][e % 4];
    }
  }
}

/* Floats of scratch space one part needs for blocks of `block` tiles (see winograd_conv2d). */
static inline long scratch_floats(int block, int ci, int co) {
  return 16L * block * (pad4(ci) + pad8(co)) + pad4(ci);
}

typedef struct {
  const float *x, *u, *bias;
  float *y;
  int ih, iw, ci, oh, ow, co, pt, pl, relu;
  int th, tw; /* tiles down and across an image */
} geometry;

/*
 * A part's share of the work: blocks [first, end) of `block` tiles, and its scratch space: the
 * transformed inputs (v), the products or transformed output gradients (w), a zero pixel.
 */
typedef struct {
  float *v, *w;
  const float *zeros;
  long tiles;
  int first, end;
} part_plan;

static part_plan plan_part(const geometry *g, int batch, float *scratch, int block, int part, int parts) {
  part_plan p;
  p.v = scratch + (long)part * scratch_floats(block, g->ci, g->co);
  p.w = p.v + 16L * block * pad4(g->ci);
  float *zeros = p.w + 16L * block * pad8(g->co);
  zero_floats(zeros, pad4(g->ci));
  p.zeros = zeros;
  p.tiles = (long)batch * g->th * g->tw;
  const int blocks = (int)((p.tiles + block - 1) / block);
  p.first = part_start(blocks, part, parts);
  p.end = part_start(blocks, part + 1, parts);
  return p;
}

/* Tiles in block bk: from bk * block, at most block of them. */
static inline int block_count(const part_plan *p, int bk, int block) {
  const long left = p->tiles - (long)bk * block;
  return left < block ? (int)left : block;
}

/* Where tile `tile` lies: image b, tile row ty and column tx. */
static inline void tile_at(const geometry *g, long tile, int *b, int *ty, int *tx) {
  const long per_image = (long)g->th * g->tw;
  *b = (int)(tile / per_image);
  const int r = (int)(tile - (long)*b * per_image);
  *ty = r / g->tw;
  *tx = r - *ty * g->tw;
}

/* Channels [c, c + n) of one pixel, n < 4, zeros in the other lanes. */
static inline f32x4 load_partial(const float *p, int n) {
  return wasm_f32x4_make(p[0], n > 1 ? p[1] : 0.0f, n > 2 ? p[2] : 0.0f, 0.0f);
}

/* v[e][i][c] (row stride ci4, element stride block * ci4) = B^T d B of tile `tile`, block row i. */
static void input_tile(const geometry *g, long tile, float *v, int i, int block, const float *zeros) {
  const int ci = g->ci, ci4 = pad4(ci);
  int b, ty, tx;
  tile_at(g, tile, &b, &ty, &tx);
  const int y0 = 2 * ty - g->pt, x0 = 2 * tx - g->pl;
  /* The 16 pixels of the patch, the zero pixel where they lie outside x. */
  const float *p[16];
  for (int a = 0; a < 4; a++) {
    for (int q = 0; q < 4; q++) {
      const int y = y0 + a, x = x0 + q;
      p[a * 4 + q] = y >= 0 && y < g->ih && x >= 0 && x < g->iw ? g->x + (((long)b * g->ih + y) * g->iw + x) * ci : zeros;
    }
  }
  const long es = (long)block * ci4;
  float *to = v + (long)i * ci4;
  for (int c = 0; c < ci4; c += 4) {
    f32x4 d[16];
    if (c + 4 <= ci) {
      for (int k = 0; k < 16; k++) d[k] = wasm_v128_load(p[k] + c);
    } else {
      for (int k = 0; k < 16; k++) d[k] = p[k] == zeros ? wasm_f32x4_splat(0.0f) : load_partial(p[k] + c, ci - c);
    }
    f32x4 e[16];
    for (int q = 0; q < 4; q++) {
      e[q] = wasm_f32x4_sub(d[q], d[8 + q]);
      e[4 + q] = wasm_f32x4_add(d[4 + q], d[8 + q]);
      e[8 + q] = wasm_f32x4_sub(d[8 + q], d[4 + q]);
      e[12 + q] = wasm_f32x4_sub(d[4 + q], d[12 + q]);
    }
    for (int a = 0; a < 4; a++) {
      const f32x4 *row = e + 4 * a;
      float *out = to + (long)(4 * a) * es + c;
      wasm_v128_store(out, wasm_f32x4_sub(row[0], row[2]));
      wasm_v128_store(out + es, wasm_f32x4_add(row[1], row[2]));
      wasm_v128_store(out + 2 * es, wasm_f32x4_sub(row[2], row[1]));
      wasm_v128_store(out + 3 * es, wasm_f32x4_sub(row[1], row[3]));
    }
  }
}

/* m rows [i, i + 4) (row stride co8), 8 columns = v rows [i, i + 4) (row stride k) times u's k x 8 block. */
static void product_4x8(const float *v, const float *u, float *m, int k, int co8) {
  f32x4 a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const float *v1 = v + k, *v2 = v1 + k, *v3 = v2 + k;
  for (int c = 0; c < k; c++, u += 8) {
    const f32x4 w0 = wasm_v128_load(u), w1 = wasm_v128_load(u + 4);
    f32x4 s = wasm_v128_load32_splat(v + c);
    a00 = madd(s, w0, a00);
    a01 = madd(s, w1, a01);
    s = wasm_v128_load32_splat(v1 + c);
    a10 = madd(s, w0, a10);
    a11 = madd(s, w1, a11);
    s = wasm_v128_load32_splat(v2 + c);
    a20 = madd(s, w0, a20);
    a21 = madd(s, w1, a21);
    s = wasm_v128_load32_splat(v3 + c);
    a30 = madd(s, w0, a30);
    a31 = madd(s, w1, a31);
  }
  wasm_v128_store(m, a00); wasm_v128_store(m + 4, a01);
  wasm_v128_store(m + co8, a10); wasm_v128_store(m + co8 + 4, a11);
  wasm_v128_store(m + 2 * co8, a20); wasm_v128_store(m + 2 * co8 + 4, a21);
  wasm_v128_store(m + 3 * co8, a30); wasm_v128_store(m + 3 * co8 + 4, a31);
}

/* One row of the same. */
static void product_1x8(const float *v, const float *u, float *m, int k) {
  f32x4 a0 = wasm_f32x4_splat(0.0f), a1 = a0;
  for (int c = 0; c < k; c++, u += 8) {
    const f32x4 s = wasm_v128_load32_splat(v + c);
    a0 = madd(s, wasm_v128_load(u), a0);
    a1 = madd(s, wasm_v128_load(u + 4), a1);
  }
  wasm_v128_store(m, a0);
  wasm_v128_store(m + 4, a1);
}

/* y for tile `tile` (block row i) = A^T m A (+ bias, ReLU), the pixels inside y only. */
static void output_tile(const geometry *g, long tile, const float *m, int i, int block) {
  const int co = g->co, co8 = pad8(co);
  int b, ty, tx;
  tile_at(g, tile, &b, &ty, &tx);
  const int rows = 2 * ty + 1 < g->oh ? 2 : 1, cols = 2 * tx + 1 < g->ow ? 2 : 1;
  float *y = g->y + (((long)b * g->oh + 2 * ty) * g->ow + 2 * tx) * co;
  const long es = (long)block * co8;
  const float *from = m + (long)i * co8;
  const f32x4 zero = wasm_f32x4_splat(0.0f);
  for (int o = 0; o < co; o += 4) {
    f32x4 s[8];
    for (int q = 0; q < 4; q++) {
      const f32x4 m0 = wasm_v128_load(from + q * es + o), m1 = wasm_v128_load(from + (4 + q) * es + o);
      const f32x4 m2 = wasm_v128_load(from + (8 + q) * es + o), m3 = wasm_v128_load(from + (12 + q) * es + o);
      s[q] = wasm_f32x4_add(wasm_f32x4_add(m0, m1), m2);
      s[4 + q] = wasm_f32x4_sub(wasm_f32x4_sub(m1, m2), m3);
    }
    f32x4 out[4] = {
      wasm_f32x4_add(wasm_f32x4_add(s[0], s[1]), s[2]), wasm_f32x4_sub(wasm_f32x4_sub(s[1], s[2]), s[3]),
      wasm_f32x4_add(wasm_f32x4_add(s[4], s[5]), s[6]), wasm_f32x4_sub(wasm_f32x4_sub(s[5], s[6]), s[7]),
    };
    const int n = co - o < 4 ? co - o : 4;
    f32x4 bias = zero;
    if (g->bias) bias = n == 4 ? wasm_v128_load(g->bias + o) : load_partial(g->bias + o, n);
    for (int k = 0; k < 4; k++) {
      const int dy = k / 2, dx = k % 2;
      if (dy >= rows || dx >= cols) continue;
      f32x4 v = wasm_f32x4_add(out[k], bias);
      if (g->relu) v = wasm_f32x4_max(v, zero);
      float *to = y + ((long)dy * g->ow + dx) * co + o;
      if (n == 4) {
        wasm_v128_store(to, v);
      } else {
        to[0] = wasm_f32x4_extract_lane(v, 0);
        if (n > 1) to[1] = wasm_f32x4_extract_lane(v, 1);
        if (n > 2) to[2] = wasm_f32x4_extract_lane(v, 2);
      }
    }
  }
}

/*
 * y = conv(x, w) + bias (ReLU when asked) for a 3x3 filter, stride 1, padding pt (top) and pl
 * (left); `u` is winograd_filter's transform of w. Tiles are taken `block` at a time, split
 * across parts by blocks; part p works in its own scratch_floats(block, ci, co) floats at
 * scratch + p * that (v, then m, then a zero pixel).
 */
EXPORT(winograd_conv2d)(const float *x, const float *u, const float *bias, float *y, int batch, int ih, int iw, int ci,
                        int oh, int ow, int co, int pt, int pl, int relu, float *scratch, int block, int part, int parts) {
  const geometry g = {x, u, bias, y, ih, iw, ci, oh, ow, co, pt, pl, relu, (oh + 1) / 2, (ow + 1) / 2};
  const int ci4 = pad4(ci), co8 = pad8(co), nblocks = co8 / 8;
  const part_plan p = plan_part(&g, batch, scratch, block, part, parts);
  float *v = p.v, *m = p.w;
  for (int bk = p.first; bk < p.end; bk++) {
    const long first = (long)bk * block;
    const int count = block_count(&p, bk, block);
    for (int i = 0; i < count; i++) input_tile(&g, first + i, v, i, block, p.zeros);
    for (int e = 0; e < 16; e++) {
      const float *ve = v + (long)e * block * ci4;
      float *me = m + (long)e * block * co8;
      for (int nb = 0; nb < nblocks; nb++) {
        const float *ub = u + ((long)e * nblocks + nb) * ci4 * 8;
        int i = 0;
        for (; i + 4 <= count; i += 4) product_4x8(ve + (long)i * ci4, ub, me + (long)i * co8 + nb * 8, ci4, co8);
        for (; i < count; i++) product_1x8(ve + (long)i * ci4, ub, me + (long)i * co8 + nb * 8, ci4);
      }
    }
    for (int i = 0; i < count; i++) output_tile(&g, first + i, m, i, block);
  }
}

/*
 * The filter gradient of the same convolution. With m = u . v per tile (16 elements), the
 * gradient of u[e] is the sum over tiles of v[e] (x) a[e], a = A dy A^T the tile's output
 * gradient taken back through A, and dw = G^T du G (winograd_filter_grad_finish):
 *   du[e][c][o] = sum over tiles t of v[e][t][c] * a[e][t][o],
 * 16 matrix products over the tiles, in register tiles of 4 input x 8 output channels.
 */

/* a[e][i][o] (row stride co8, element stride block * co8) = A dy A^T of tile `tile`, block row i. */
static void gradient_tile(const geometry *g, const float *dy, long tile, float *a, int i, int block) {
  const int co = g->co, co8 = pad8(co);
  int b, ty, tx;
  tile_at(g, tile, &b, &ty, &tx);
  const int rows = 2 * ty + 1 < g->oh ? 2 : 1, cols = 2 * tx + 1 < g->ow ? 2 : 1;
  const float *from = dy + (((long)b * g->oh + 2 * ty) * g->ow + 2 * tx) * co;
  const long es = (long)block * co8;
  float *to = a + (long)i * co8;
  const f32x4 zero = wasm_f32x4_splat(0.0f);
  for (int o = 0; o < co8; o += 4) {
    const int n = co - o < 4 ? (co - o < 0 ? 0 : co - o) : 4;
    f32x4 d[4];
    for (int k = 0; k < 4; k++) {
      const int y = k / 2, x = k % 2;
      const float *p = from + ((long)y * g->ow + x) * co + o;
      d[k] = y >= rows || x >= cols || n == 0 ? zero : n == 4 ? wasm_v128_load(p) : load_partial(p, n);
    }
    /* Rows: A = [1 0; 1 1; 1 -1; 0 -1] on the left. */
    f32x4 e[8];
    for (int x = 0; x < 2; x++) {
      e[x] = d[x];
      e[2 + x] = wasm_f32x4_add(d[x], d[2 + x]);
      e[4 + x] = wasm_f32x4_sub(d[x], d[2 + x]);
      e[6 + x] = wasm_f32x4_neg(d[2 + x]);
    }
    /* Columns: A^T on the right. */
    for (int y = 0; y < 4; y++) {
      const f32x4 p = e[2 * y], q = e[2 * y + 1];
      float *out = to + (long)(4 * y) * es + o;
      wasm_v128_store(out, p);
      wasm_v128_store(out + es, wasm_f32x4_add(p, q));
      wasm_v128_store(out + 2 * es, wasm_f32x4_sub(p, q));
      wasm_v128_store(out + 3 * es, wasm_f32x4_neg(q));
    }
  }
}

/* du rows [c, c + 4) (row stride co8), 8 columns, += the sum over `count` tiles of v[t][c..] a[t][n..]. */
static void outer_4x8(const float *v, const float *a, float *du, int count, int ci4, int co8) {
  f32x4 s00 = wasm_v128_load(du), s01 = wasm_v128_load(du + 4);
  f32x4 s10 = wasm_v128_load(du + co8), s11 = wasm_v128_load(du + co8 + 4);
  f32x4 s20 = wasm_v128_load(du + 2 * co8), s21 = wasm_v128_load(du + 2 * co8 + 4);
  f32x4 s30 = wasm_v128_load(du + 3 * co8), s31 = wasm_v128_load(du + 3 * co8 + 4);
  for (int t = 0; t < count; t++, v += ci4, a += co8) {
    const f32x4 a0 = wasm_v128_load(a), a1 = wasm_v128_load(a + 4);
    f32x4 s = wasm_v128_load32_splat(v);
    s00 = madd(s, a0, s00);
    s01 = madd(s, a1, s01);
    s = wasm_v128_load32_splat(v + 1);
    s10 = madd(s, a0, s10);
    s11 = madd(s, a1, s11);
    s = wasm_v128_load32_splat(v + 2);
    s20 = madd(s, a0, s20);
    s21 = madd(s, a1, s21);
    s = wasm_v128_load32_splat(v + 3);
    s30 = madd(s, a0, s30);
    s31 = madd(s, a1, s31);
  }
  wasm_v128_store(du, s00); wasm_v128_store(du + 4, s01);
  wasm_v128_store(du + co8, s10); wasm_v128_store(du + co8 + 4, s11);
  wasm_v128_store(du + 2 * co8, s20); wasm_v128_store(du + 2 * co8 + 4, s21);
  wasm_v128_store(du + 3 * co8, s30); wasm_v128_store(du + 3 * co8 + 4, s31);
}

/*
 * Part `part` of `parts` sums du over its blocks of tiles into its own 16 * ci4 * co8 floats at
 * acc + part * that (overwritten; the caller adds the parts' sums, then calls
 * winograd_filter_grad_finish). Scratch as for winograd_conv2d.
 */
EXPORT(winograd_filter_grad)(const float *x, const float *dy, float *acc, int batch, int ih, int iw, int ci, int oh, int ow, int co,
                             int pt, int pl, float *scratch, int block, int part, int parts) {
  const geometry g = {x, 0, 0, 0, ih, iw, ci, oh, ow, co, pt, pl, 0, (oh + 1) / 2, (ow + 1) / 2};
  const int ci4 = pad4(ci), co8 = pad8(co);
  float *du = acc + (long)part * 16 * ci4 * co8;
  zero_floats(du, 16 * ci4 * co8);
  const part_plan p = plan_part(&g, batch, scratch, block, part, parts);
  float *v = p.v, *a = p.w;
  for (int bk = p.first; bk < p.end; bk++) {
    const long first = (long)bk * block;
    const int count = block_count(&p, bk, block);
    for (int i = 0; i < count; i++) {
      input_tile(&g, first + i, v, i, block, p.zeros);
      gradient_tile(&g, dy, first + i, a, i, block);
    }
    for (int e = 0; e < 16; e++) {
      const float *ve = v + (long)e * block * ci4, *ae = a + (long)e * block * co8;
      float *due = du + (long)e * ci4 * co8;
      for (int c = 0; c < ci4; c += 4) {
        for (int n = 0; n < co8; n += 8) outer_4x8(ve + c, ae + n, due + (long)c * co8 + n, count, ci4, co8);
      }
    }
  }
}

/* dw[ky][kx][c][o] = (G^T du G)[ky][kx] for the summed du (16 * ci4 * co8 floats), over this part's input channels. */
EXPORT(winograd_filter_grad_finish)(const float *du, float *dw, int ci, int co, int part, int parts) {
  const int ci4 = pad4(ci), co8 = pad8(co);
  const long es = (long)ci4 * co8;
  const int end = part_start(ci, part + 1, parts);
  for (int c = part_start(ci, part, parts); c < end; c++) {
    for (int o = 0; o < co; o++) {
      const float *u = du + (long)c * co8 + o;
      float h[3][4];
      for (int l = 0; l < 4; l++) {
        const float u0 = u[l * es], u1 = u[(4 + l) * es], u2 = u[(8 + l) * es], u3 = u[(12 + l) * es];
        h[0][l] = u0 + 0.5f * (u1 + u2);
        h[1][l] = 0.5f * (u1 - u2);
        h[2][l] = 0.5f * (u1 + u2) + u3;
      }
      for (int k = 0; k < 3; k++) {
        dw[((k * 3 + 0) * ci + c) * co + o] = h[k][0] + 0.5f * (h[k][1] + h[k][2]);
        dw[((k * 3 + 1) * ci + c) * co + o] = 0.5f * (h[k][1] - h[k][2]);
        dw[((k * 3 + 2) * ci + c) * co + o] = 0.5f * (h[k][1] + h[k][2]) + h[k][3];
      }
    }
  }
}

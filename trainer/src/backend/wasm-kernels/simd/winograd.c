/*
 * Stride-1 3x3 convolutions (NHWC, zeros outside x) by Winograd's minimal filtering F(nxn, 3x3),
 * n = 2 or 4: each nxn block of output pixels ("tile") is A^T [(G w G^T) . (B^T d B)] A, d being
 * the (n+2)x(n+2) input patch under it, so that a tile takes (n+2)^2 multiplies per input and
 * output channel instead of 9 n^2: 16 for 4 pixels with n = 2 (2.25x fewer), 36 for 16 with
 * n = 4 (4x fewer), whose transforms cost more adds per pixel and round a little more. In
 * channels, the (n+2)^2 products are as many matrix products (tiles x input channels) by (input x
 * output channels),
 *   m[e][t][o] = sum over c of v[e][t][c] * u[e][c][o],
 * with v = B^T d B (winograd_conv2d, for a block of tiles at a time, in scratch space) and
 * u = G w G^T (winograd_filter, once per call). The block's v and m stay in cache; the products
 * run in register tiles of 4 tiles x 8 output channels, as conv2d.c's do.
 * F(2x2, 3x3):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * F(4x4, 3x3) (Lavin and Gray, 2016, points 0, 1, -1, 2, -2):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * The filter gradient (winograd_filter_grad) goes by F(2x2, 3x3) only.
 */
#include "simd.h"

/* Input channels are padded to a multiple of 4 (with zeros), output channels to one of 8. */
static inline int pad4(int n) { return (n + 3) & ~3; }
static inline int pad8(int n) { return (n + 7) & ~7; }

/* G applied to three vectors at stride `in`, n + 2 written at stride `out`. */
static inline void g_rows(const f32x4 *g, int in, int n, f32x4 *h, int out) {
  const f32x4 a = g[0], b = g[in], c = g[2 * in];
  if (n == 2) {
    const f32x4 half = wasm_f32x4_splat(0.5f), ac = wasm_f32x4_add(a, c);
    h[0] = a;
    h[out] = wasm_f32x4_mul(half, wasm_f32x4_add(ac, b));
    h[2 * out] = wasm_f32x4_mul(half, wasm_f32x4_sub(ac, b));
    h[3 * out] = c;
  } else {
    const f32x4 ac6 = wasm_f32x4_mul(wasm_f32x4_splat(1.0f / 6.0f), wasm_f32x4_add(a, c)), b6 = wasm_f32x4_mul(wasm_f32x4_splat(1.0f / 6.0f), b);
    const f32x4 e = madd(wasm_f32x4_splat(1.0f / 24.0f), a, wasm_f32x4_mul(wasm_f32x4_splat(1.0f / 6.0f), c)), b12 = wasm_f32x4_mul(wasm_f32x4_splat(1.0f / 12.0f), b);
    h[0] = wasm_f32x4_mul(wasm_f32x4_splat(0.25f), a);
    h[out] = wasm_f32x4_neg(wasm_f32x4_add(ac6, b6));
    h[2 * out] = wasm_f32x4_sub(b6, ac6);
    h[3 * out] = wasm_f32x4_add(e, b12);
    h[4 * out] = wasm_f32x4_sub(e, b12);
    h[5 * out] = c;
  }
}

/*
 * u[e][nb][c][j] = (G w G^T)[e] for input channel c and output channel nb*8 + j (zero past ci or co):
 * per element e of the (n+2)x(n+2) transform, per block of 8 output channels, ci4 rows of 8. With
 * `rotated`, w is [3, 3, co, ci] and transformed rotated 180 degrees with its channel axes
 * swapped: the filter of a convolution's input gradient (see pack_filter in conv2d.c). Four
 * output channels at a time; parts split the input channels.
 */
EXPORT(winograd_filter)(const float *w, float *u, int ci, int co, int rotated, int n, int part, int parts) {
  const int ci4 = pad4(ci), co8 = pad8(co), blocks = co8 / 8, s = n + 2, elements = s * s;
  const int end = part_start(ci4, part + 1, parts);
  for (int c = part_start(ci4, part, parts); c < end; c++) {
    for (int o = 0; o < co8; o += 4) {
      f32x4 g[9], h[18], t[36];
      for (int k = 0; k < 9; k++) {
        const int tap = rotated ? 8 - k : k;
        float lane[4];
        for (int j = 0; j < 4; j++) {
          const int oj = o + j;
          lane[j] = c >= ci || oj >= co ? 0.0f : rotated ? w[((long)tap * co + oj) * ci + c] : w[((long)tap * ci + c) * co + oj];
        }
        g[k] = wasm_f32x4_make(lane[0], lane[1], lane[2], lane[3]);
      }
      for (int k = 0; k < 3; k++) g_rows(g + k, 3, n, h + k, 3);
      for (int i = 0; i < s; i++) g_rows(h + 3 * i, 1, n, t + s * i, 1);
      float *to = u + ((long)(o / 8) * ci4 + c) * 8 + o % 8;
      const long es = (long)blocks * ci4 * 8;
      for (int e = 0; e < elements; e++) wasm_v128_store(to + e * es, t[e]);
    }
  }
}

/* Elements of the transforms for output tiles of n x n pixels. */
static inline int elements_of(int n) { return (n + 2) * (n + 2); }

/* Floats of scratch space one part needs for blocks of `block` tiles of n x n (see winograd_conv2d). */
static inline long scratch_floats(int block, int ci, int co, int n) {
  return (long)elements_of(n) * block * (pad4(ci) + pad8(co)) + pad4(ci);
}

typedef struct {
  const float *x, *u, *bias;
  float *y;
  int ih, iw, ci, oh, ow, co, pt, pl, relu;
  int n;      /* output pixels down and across a tile: 2 or 4 */
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
  const long elements = elements_of(g->n);
  p.v = scratch + (long)part * scratch_floats(block, g->ci, g->co, g->n);
  p.w = p.v + elements * block * pad4(g->ci);
  float *zeros = p.w + elements * block * pad8(g->co);
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

/* The s x s pixels (s = n + 2) of tile `tile`'s input patch, row by row; the zero pixel where they lie outside x. */
static void patch_pixels(const geometry *g, long tile, const float *zeros, const float **p) {
  const int s = g->n + 2;
  int b, ty, tx;
  tile_at(g, tile, &b, &ty, &tx);
  const int y0 = g->n * ty - g->pt, x0 = g->n * tx - g->pl;
  for (int a = 0; a < s; a++) {
    for (int q = 0; q < s; q++) {
      const int y = y0 + a, x = x0 + q;
      p[a * s + q] = y >= 0 && y < g->ih && x >= 0 && x < g->iw ? g->x + (((long)b * g->ih + y) * g->iw + x) * g->ci : zeros;
    }
  }
}

/* Channels [c, c + 4) of the k patch pixels, zeros past ci. */
static inline void load_patch(const float **p, int k, int c, int ci, const float *zeros, f32x4 *d) {
  if (c + 4 <= ci) {
    for (int j = 0; j < k; j++) d[j] = wasm_v128_load(p[j] + c);
  } else {
    for (int j = 0; j < k; j++) d[j] = p[j] == zeros ? wasm_f32x4_splat(0.0f) : load_partial(p[j] + c, ci - c);
  }
}

/* B^T (F(2x2) or F(4x4)) applied to n + 2 vectors at stride `in`, written at stride `out`. */
static inline void input_transform(int n, const f32x4 *d, int in, f32x4 *r, int out) {
  const f32x4 d0 = d[0], d1 = d[in], d2 = d[2 * in], d3 = d[3 * in];
  if (n == 2) {
    r[0] = wasm_f32x4_sub(d0, d2);
    r[out] = wasm_f32x4_add(d1, d2);
    r[2 * out] = wasm_f32x4_sub(d2, d1);
    r[3 * out] = wasm_f32x4_sub(d1, d3);
    return;
  }
  const f32x4 four = wasm_f32x4_splat(4.0f), five = wasm_f32x4_splat(5.0f), two = wasm_f32x4_splat(2.0f);
  const f32x4 d4 = d[4 * in], d5 = d[5 * in];
  const f32x4 d42 = wasm_f32x4_sub(d4, d2), d13 = wasm_f32x4_sub(d1, d3);
  r[0] = wasm_f32x4_sub(madd(four, d0, d4), wasm_f32x4_mul(five, d2));
  r[out] = wasm_f32x4_sub(wasm_f32x4_add(d3, d4), wasm_f32x4_mul(four, wasm_f32x4_add(d1, d2)));
  r[2 * out] = madd(four, wasm_f32x4_sub(d1, d2), wasm_f32x4_sub(d4, d3));
  r[3 * out] = wasm_f32x4_sub(d42, wasm_f32x4_mul(two, d13));
  r[4 * out] = madd(two, d13, d42);
  r[5 * out] = wasm_f32x4_sub(madd(four, d1, d5), wasm_f32x4_mul(five, d3));
}

/*
 * v[e][i][c] (row stride ci4, element stride block * ci4) = B^T d B of tile `tile`, block row i.
 * Inlined with n a constant, so that its loops unroll and the arrays stay in wasm locals rather
 * than on the stack.
 */
static inline __attribute__((always_inline)) void input_tile_n(const geometry *g, long tile, float *v, int i, int block, const float *zeros, const int n) {
  const int ci = g->ci, ci4 = pad4(ci), s = n + 2;
  const float *p[36];
  patch_pixels(g, tile, zeros, p);
  const long es = (long)block * ci4;
  float *to = v + (long)i * ci4;
  for (int c = 0; c < ci4; c += 4) {
    f32x4 d[36], e[36], r[6];
    load_patch(p, s * s, c, ci, zeros, d);
    for (int q = 0; q < s; q++) input_transform(n, d + q, s, e + q, s);
    for (int a = 0; a < s; a++) {
      input_transform(n, e + s * a, 1, r, 1);
      float *out = to + (long)(s * a) * es + c;
      for (int k = 0; k < s; k++) wasm_v128_store(out + k * es, r[k]);
    }
  }
}

static void input_tile(const geometry *g, long tile, float *v, int i, int block, const float *zeros) {
  if (g->n == 2) input_tile_n(g, tile, v, i, block, zeros, 2);
  else input_tile_n(g, tile, v, i, block, zeros, 4);
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

/* Output channels [o, o + 4) of the tile's pixels out[dy * n + dx] (+ bias, ReLU), those inside y only. */
static void store_tile(const geometry *g, long tile, int o, const f32x4 *out) {
  const int n = g->n, co = g->co;
  int b, ty, tx;
  tile_at(g, tile, &b, &ty, &tx);
  const int rows = g->oh - n * ty < n ? g->oh - n * ty : n, cols = g->ow - n * tx < n ? g->ow - n * tx : n;
  float *y = g->y + (((long)b * g->oh + n * ty) * g->ow + n * tx) * co + o;
  const int lanes = co - o < 4 ? co - o : 4;
  const f32x4 zero = wasm_f32x4_splat(0.0f);
  f32x4 bias = zero;
  if (g->bias) bias = lanes == 4 ? wasm_v128_load(g->bias + o) : load_partial(g->bias + o, lanes);
  for (int dy = 0; dy < rows; dy++) {
    for (int dx = 0; dx < cols; dx++) {
      f32x4 v = wasm_f32x4_add(out[dy * n + dx], bias);
      if (g->relu) v = wasm_f32x4_max(v, zero);
      float *to = y + ((long)dy * g->ow + dx) * co;
      if (lanes == 4) wasm_v128_store(to, v);
      else store_partial(to, v, lanes);
    }
  }
}

/* A^T (F(2x2) or F(4x4)) applied to n + 2 vectors at stride `in`, n written at stride `out`. */
static inline void output_transform(int n, const f32x4 *m, int in, f32x4 *r, int out) {
  const f32x4 m1 = m[in], m2 = m[2 * in], m3 = m[3 * in];
  if (n == 2) {
    r[0] = wasm_f32x4_add(wasm_f32x4_add(m[0], m1), m2);
    r[out] = wasm_f32x4_sub(wasm_f32x4_sub(m1, m2), m3);
    return;
  }
  const f32x4 m4 = m[4 * in];
  const f32x4 p12 = wasm_f32x4_add(m1, m2), d12 = wasm_f32x4_sub(m1, m2);
  const f32x4 p34 = wasm_f32x4_add(m3, m4), d34 = wasm_f32x4_sub(m3, m4);
  r[0] = wasm_f32x4_add(wasm_f32x4_add(m[0], p12), p34);
  r[out] = madd(wasm_f32x4_splat(2.0f), d34, d12);
  r[2 * out] = madd(wasm_f32x4_splat(4.0f), p34, p12);
  r[3 * out] = wasm_f32x4_add(madd(wasm_f32x4_splat(8.0f), d34, d12), m[5 * in]);
}

/* y for tile `tile` (block row i) = A^T m A (+ bias, ReLU); inlined with n a constant, as input_tile_n. */
static inline __attribute__((always_inline)) void output_tile_n(const geometry *g, long tile, const float *m, int i, int block, const int n) {
  const int co8 = pad8(g->co), s = n + 2;
  const long es = (long)block * co8;
  const float *from = m + (long)i * co8;
  for (int o = 0; o < g->co; o += 4) {
    f32x4 e[36], h[24], out[16];
    for (int k = 0; k < s * s; k++) e[k] = wasm_v128_load(from + k * es + o);
    for (int q = 0; q < s; q++) output_transform(n, e + q, s, h + q, s);
    for (int a = 0; a < n; a++) output_transform(n, h + s * a, 1, out + n * a, 1);
    store_tile(g, tile, o, out);
  }
}

static void output_tile(const geometry *g, long tile, const float *m, int i, int block) {
  if (g->n == 2) output_tile_n(g, tile, m, i, block, 2);
  else output_tile_n(g, tile, m, i, block, 4);
}

/*
 * y = conv(x, w) + bias (ReLU when asked) for a 3x3 filter, stride 1, padding pt (top) and pl
 * (left), in tiles of n x n output pixels; `u` is winograd_filter's transform of w for the same
 * n. Tiles are taken `block` at a time, split across parts by blocks; part p works in its own
 * scratch_floats(block, ci, co, n) floats at scratch + p * that (v, then m, then a zero pixel).
 */
EXPORT(winograd_conv2d)(const float *x, const float *u, const float *bias, float *y, int batch, int ih, int iw, int ci,
                        int oh, int ow, int co, int pt, int pl, int relu, int n, float *scratch, int block, int part, int parts) {
  const geometry g = {x, u, bias, y, ih, iw, ci, oh, ow, co, pt, pl, relu, n, (oh + n - 1) / n, (ow + n - 1) / n};
  const int ci4 = pad4(ci), co8 = pad8(co), nblocks = co8 / 8, elements = elements_of(n);
  const part_plan p = plan_part(&g, batch, scratch, block, part, parts);
  float *v = p.v, *m = p.w;
  for (int bk = p.first; bk < p.end; bk++) {
    const long first = (long)bk * block;
    const int count = block_count(&p, bk, block);
    for (int i = 0; i < count; i++) input_tile(&g, first + i, v, i, block, p.zeros);
    for (int e = 0; e < elements; e++) {
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
  const geometry g = {x, 0, 0, 0, ih, iw, ci, oh, ow, co, pt, pl, 0, 2, (oh + 1) / 2, (ow + 1) / 2};
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

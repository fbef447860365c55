/*
 * Zero padding around the images of an NHWC tensor, for the kernels that read a padded input
 * (the direct filter gradients). TF.js's PadV2 goes element by element through a general N-D
 * loop, about 13 ms for a batch of 64 RGB images of 100x100; here each output row is a fill, a
 * copy and a fill (bulk memory operations).
 */
#include "simd.h"

/*
 * y [batch, pt + h + pb, pl + w + pr, c] = x [batch, h, w, c] with pt zero rows above, pb below, pl
 * zero columns left and pr right; parts split the output rows.
 */
EXPORT(pad_images)(const float *x, float *y, int batch, int h, int w, int c, int pt, int pb, int pl, int pr, int part, int parts) {
  const int oh = pt + h + pb, rows = batch * oh;
  const long in_row = (long)w * c, left = (long)pl * c, right = (long)pr * c, out_row = left + in_row + right;
  const int end = part_start(rows, part + 1, parts);
  for (int r = part_start(rows, part, parts); r < end; r++) {
    const int b = r / oh, iy = r - b * oh - pt;
    float *to = y + (long)r * out_row;
    if (iy < 0 || iy >= h) {
      __builtin_memset(to, 0, out_row * sizeof(float));
      continue;
    }
    __builtin_memset(to, 0, left * sizeof(float));
    __builtin_memcpy(to + left, x + ((long)b * h + iy) * in_row, in_row * sizeof(float));
    __builtin_memset(to + left + in_row, 0, right * sizeof(float));
  }
}

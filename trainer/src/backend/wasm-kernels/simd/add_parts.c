/* The sum of the partial results that the parts of a split kernel wrote side by side. */
#include "simd.h"

/* out[i] = sum over p < count of acc[p * n + i], for this part's share of i. */
EXPORT(add_parts)(const float *acc, float *out, int n, int count, int part, int parts) {
  const int begin = part_start(n / 4, part, parts) * 4;
  const int end = part + 1 == parts ? n : part_start(n / 4, part + 1, parts) * 4;
  int i = begin;
  for (; i + 4 <= end; i += 4) {
    f32x4 sum = wasm_v128_load(acc + i);
    for (int p = 1; p < count; p++) sum = wasm_f32x4_add(sum, wasm_v128_load(acc + (long)p * n + i));
    wasm_v128_store(out + i, sum);
  }
  for (; i < end; i++) {
    float sum = acc[i];
    for (int p = 1; p < count; p++) sum += acc[(long)p * n + i];
    out[i] = sum;
  }
}

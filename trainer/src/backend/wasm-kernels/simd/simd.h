/*
 * Shared by the training kernels: built with clang for wasm32 + SIMD128, no libc and no static
 * data (build.mjs checks: it would be written over the backend's heap). Each kernel is called on
 * the wasm backend's own heap, from the main thread and from helper threads at once, each with a
 * stack of its own (../training-kernels.ts), so it may touch nothing but its arguments.
 */
#ifndef TRAINING_KERNELS_SIMD_H
#define TRAINING_KERNELS_SIMD_H

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) void name

typedef v128_t f32x4;

/*
 * a * b + c. The relaxed build (-mrelaxed-simd) uses relaxed SIMD's f32x4.relaxed_madd, which the
 * engine lowers to one fused multiply-add where the CPU has one (x86 with FMA3, ARM) and to a
 * multiply and an add elsewhere; the plain build always multiplies, then adds.
 */
static inline f32x4 madd(f32x4 a, f32x4 b, f32x4 c) {
#ifdef __wasm_relaxed_simd__
  return (f32x4)__builtin_wasm_relaxed_madd_f32x4((__f32x4)a, (__f32x4)b, (__f32x4)c);
#else
  return wasm_f32x4_add(wasm_f32x4_mul(a, b), c);
#endif
}

/* Part `part` of `parts` takes the items [part_start(n, part, parts), part_start(n, part + 1, parts)). */
static inline int part_start(int n, int part, int parts) {
  return (int)((long long)n * part / parts);
}

/* The first n lanes of v (n < 4) to p; the floats after them are left as they are. */
static inline void store_partial(float *p, f32x4 v, int n) {
  switch (n) {
    case 3: p[2] = wasm_f32x4_extract_lane(v, 2); /* fall through */
    case 2: p[1] = wasm_f32x4_extract_lane(v, 1); /* fall through */
    case 1: p[0] = wasm_f32x4_extract_lane(v, 0); /* fall through */
    default: break;
  }
}

static inline void zero_floats(float *to, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(to + i, wasm_f32x4_splat(0.0f));
  for (; i < n; i++) to[i] = 0.0f;
}

#endif

// AVX-512 vector traits (16 floats / 8 doubles per zmm) shared by the per-ISA kernel
// files of several families (gemm, conv, reduce). Include ONLY from *_avx512.cpp files:
// the structs live in an anonymous namespace, so each file built with the AVX-512 flags
// gets its own internal copy and no ISA code is merged into baseline callers.
//
// Zf / Zd: the members of traits_avx2.h's Yf / Yd, with __mmask masks.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace fastgrad::kernels::simd {
namespace {

struct Zf {
  using T = float;
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_load_ps(p); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static Mask mask(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
  static V maskz_loadu(Mask m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void mask_storeu(T* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
};

struct Zd {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static Mask mask(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
  static V maskz_loadu(Mask m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void mask_storeu(T* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  // (the maskz form: GCC 12 warns about _mm512_cvtps_pd's undefined pass-through)
  static V widen(const float* p) { return _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p)); }
  static double hsum(V v) {  // (GCC 12's _mm512_reduce_add_pd trips -Wuninitialized)
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
  }
};

}  // namespace
}  // namespace fastgrad::kernels::simd

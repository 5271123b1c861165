// Entry points of the per-ISA float32 unary kernels (unary_<isa>.cpp), used by the
// driver unary.cpp. Each processes a contiguous range on the calling thread; the
// driver owns threading and the FTZ/DAZ state.
#pragma once
#include <cstdint>

#include "fastgrad/kernels/unary.h"

namespace fastgrad::kernels::unary_detail {

using UnaryF32Fn = void (*)(UnaryOp op, const float* x, float* y, int64_t n);
using BwdF32Fn = void (*)(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n);
using OutBwdF32Fn = void (*)(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n);

void unary_f32_scalar(UnaryOp op, const float* x, float* y, int64_t n);
void unary_f32_avx2(UnaryOp op, const float* x, float* y, int64_t n);
void unary_f32_avx512(UnaryOp op, const float* x, float* y, int64_t n);

void bwd_f32_scalar(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n);
void out_bwd_f32_scalar(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n);
void bwd_f32_avx2(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n);
void out_bwd_f32_avx2(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n);
void bwd_f32_avx512(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n);
void out_bwd_f32_avx512(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n);

}  // namespace fastgrad::kernels::unary_detail

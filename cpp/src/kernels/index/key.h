// The element loops of x[key] / x[key] = v (ops/index.cpp composes them): plain loops over
// int64 positions, free of Tensor and autodiff.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fastgrad::kernels {

// Advanced indexing, one index array at a time: lin[e] = lin[e] * n + v[e] (v[e] negative
// counts from the end of the axis of size n). Returns the first e with v[e] outside
// [-n, n), or -1 when all m are in bounds (lin is then complete).
int64_t accumulate_linear_index(const int64_t* v, int64_t m, int64_t n, int64_t* lin);

// out[j] = start + j * step for j < len (a negative-step slice as positions).
void arithmetic_positions(int64_t start, int64_t step, int64_t len, int64_t* out);

// Which write wins where m writes land on positions pos[i] in [0, n): the last one (NumPy's
// order). Fills last[0, n) (scratch), the written positions in ascending order into uniq,
// the index i of the winning write of each into keep, and mask[p] = 1 where written;
// returns how many positions were written.
int64_t last_writes(const int64_t* pos, int64_t m, int64_t n, int64_t* last, int64_t* uniq, int64_t* keep,
                    uint8_t* mask);

// The storage offset of every element of a strided tensor (shape, strides in elements,
// nd axes, first element at offset), in row-major order into out.
void strided_offsets(const int64_t* shape, const int64_t* strides, int64_t nd, int64_t offset, int64_t* out);

// Element i of src (isz bytes each, contiguous) to base + at[i] * isz, for i < m, in order.
void scatter_elements(char* base, const int64_t* at, int64_t m, const char* src, size_t isz);

}  // namespace fastgrad::kernels

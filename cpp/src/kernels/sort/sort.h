// Sorting and order statistics along one axis, seen as contiguous (outer, n, inner) blocks:
// plain loops free of Tensor and autodiff. Order is PyTorch's: NaN compares greater than
// every number (last ascending, first descending); ties keep their input order (stable).
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// idx[a, j, i] = the position along the axis of the j-th element of column (a, :, i) in
// sorted order. Only the first k positions of each column are written (k <= n; out is
// (outer, k, inner)), which serves sort (k = n), topk and kthvalue.
template <typename T>
void argsort_axis(const T* x, int64_t outer, int64_t n, int64_t inner, bool descending, int64_t k,
                  int64_t* idx);

// cummax / cummin: idx[a, j, i] = the position of the running extremum of x[a, 0..j, i]; a
// tie moves it to the later position, a NaN holds it from there on (PyTorch's rule).
template <typename T>
void cum_extremum_axis(const T* x, int64_t outer, int64_t n, int64_t inner, bool max, int64_t* idx);

// searchsorted on rows: for each of the m values v[r, j] (row r of `rows` rows; a single
// row of sorted values serves all when seq_rows == 1) the insertion point into the sorted
// seq[r, 0..n): the first position with seq >= v (right: seq > v).
template <typename T>
void searchsorted_rows(const T* seq, int64_t seq_rows, int64_t n, const T* v, int64_t rows, int64_t m,
                       bool right, int64_t* out);

// unique over the n rows of the row-major n x m matrix x: the slices along torch.unique's
// dim (the other axes flattened in order), or single values (m = 1) for the flattened input.
// sort: rows visited in lexicographic order (stable, NaN largest, as argsort_axis), else as
// given (unique_consecutive). Neighbouring equal rows form one run; a row holding a NaN
// equals no other row (NaN != NaN, as torch's). For run u: rep[u] = its first row and
// counts[u] its length; inverse[r] = the run of row r. rep, counts and inverse hold n
// entries; returns the number of runs.
template <typename T>
int64_t unique_rows(const T* x, int64_t n, int64_t m, bool sort, int64_t* rep, int64_t* inverse,
                    int64_t* counts);

// multinomial: `draws` samples from each of the rows of p (n nonnegative weights, not all
// zero), with or without replacement, by inverting the running sum with the uniforms u
// (rows x draws, in [0, 1)); out rows x draws. Without replacement a drawn category's
// weight is removed before the next draw.
void multinomial_rows(const double* p, int64_t rows, int64_t n, const double* u, int64_t draws,
                      bool replacement, int64_t* out);

// Why rows x n weights cannot be sampled `draws` times: 0 they can, 1 a weight is negative,
// NaN or infinite, 2 a row sums to 0, 3 too few nonzero weights to draw without replacement.
int multinomial_invalid(const double* p, int64_t rows, int64_t n, int64_t draws, bool replacement);

}  // namespace fastgrad::kernels

// Convolution kernels against a naive direct convolution (and its adjoint loops)
// evaluated in double precision.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fastgrad/kernels/conv.h"

using fastgrad::kernels::ConvGeom;
namespace K = fastgrad::kernels;

namespace {

struct Case {
  int nd;
  int64_t N, C_in, C_out, groups;
  std::vector<int64_t> in, k, stride, dil, plo, phi;
};

ConvGeom make_geom(const Case& c, bool cl) {
  ConvGeom g;
  g.nd = c.nd;
  g.N = c.N;
  g.C_in = c.C_in;
  g.C_out = c.C_out;
  g.groups = c.groups;
  g.channels_last = cl;
  for (int i = 0; i < c.nd; ++i) {
    g.in[i] = c.in[i];
    g.k[i] = c.k[i];
    g.stride[i] = c.stride[i];
    g.dil[i] = c.dil[i];
    g.pad_lo[i] = c.plo[i];
    g.pad_hi[i] = c.phi[i];
    g.out[i] = (g.in[i] + g.pad_lo[i] + g.pad_hi[i] - g.dil[i] * (g.k[i] - 1) - 1) / g.stride[i] + 1;
  }
  return g;
}

// Spatial geometry lifted to 3-D (leading dims of size 1), independent of the library.
struct S3 {
  int64_t in[3], out[3], k[3], s[3], d[3], pl[3];
  int64_t Pin, Pout, Kv;
};
S3 lift3(const ConvGeom& g) {
  S3 r;
  const int off = 3 - g.nd;
  for (int i = 0; i < 3; ++i) {
    const bool pad = i < off;
    const int j = i - off;
    r.in[i] = pad ? 1 : g.in[j];
    r.out[i] = pad ? 1 : g.out[j];
    r.k[i] = pad ? 1 : g.k[j];
    r.s[i] = pad ? 1 : g.stride[j];
    r.d[i] = pad ? 1 : g.dil[j];
    r.pl[i] = pad ? 0 : g.pad_lo[j];
  }
  r.Pin = r.in[0] * r.in[1] * r.in[2];
  r.Pout = r.out[0] * r.out[1] * r.out[2];
  r.Kv = r.k[0] * r.k[1] * r.k[2];
  return r;
}

// Visits every (x index, w index, y index) triple of the convolution sum.
template <typename F>
void for_each_term(const ConvGeom& g, F&& f) {
  const S3 s = lift3(g);
  const int64_t Cig = g.C_in / g.groups, Cog = g.C_out / g.groups;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.C_out; ++o)
      for (int64_t od = 0; od < s.out[0]; ++od)
        for (int64_t oh = 0; oh < s.out[1]; ++oh)
          for (int64_t ow = 0; ow < s.out[2]; ++ow) {
            const int64_t po = (od * s.out[1] + oh) * s.out[2] + ow;
            const int64_t yi =
                g.channels_last ? (n * s.Pout + po) * g.C_out + o : (n * g.C_out + o) * s.Pout + po;
            const int64_t grp = o / Cog;
            for (int64_t ci = 0; ci < Cig; ++ci)
              for (int64_t kd = 0; kd < s.k[0]; ++kd)
                for (int64_t kh = 0; kh < s.k[1]; ++kh)
                  for (int64_t kw = 0; kw < s.k[2]; ++kw) {
                    const int64_t id = od * s.s[0] - s.pl[0] + kd * s.d[0];
                    const int64_t ih = oh * s.s[1] - s.pl[1] + kh * s.d[1];
                    const int64_t iw = ow * s.s[2] - s.pl[2] + kw * s.d[2];
                    if (id < 0 || id >= s.in[0] || ih < 0 || ih >= s.in[1] || iw < 0 || iw >= s.in[2])
                      continue;
                    const int64_t pi = (id * s.in[1] + ih) * s.in[2] + iw;
                    const int64_t c = grp * Cig + ci;
                    const int64_t kk = (kd * s.k[1] + kh) * s.k[2] + kw;
                    const int64_t xi =
                        g.channels_last ? (n * s.Pin + pi) * g.C_in + c : (n * g.C_in + c) * s.Pin + pi;
                    const int64_t wi =
                        g.channels_last ? (o * s.Kv + kk) * Cig + ci : (o * Cig + ci) * s.Kv + kk;
                    f(xi, wi, yi);
                  }
          }
}

template <typename T>
std::vector<T> random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& e : v) e = static_cast<T>(u(rng));
  return v;
}

// |got - ref| <= tol * eps(T) * (sum of |terms|) + tiny: the standard bound for a
// floating-point dot product, with a margin for blocked summation orders.
template <typename T>
void expect_close(const std::vector<T>& got, const std::vector<double>& ref, const std::vector<double>& mag,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size());
  const double eps = std::numeric_limits<T>::epsilon();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = 32 * eps * mag[i] + 1e-30;
    if (!(std::fabs(static_cast<double>(got[i]) - ref[i]) <= tol)) {
      if (++bad <= 3)
        ADD_FAILURE() << what << " at " << i << ": got " << got[i] << " want " << ref[i] << " tol " << tol;
    }
  }
  EXPECT_EQ(bad, 0) << what;
}

std::string describe(const ConvGeom& g) {
  std::string s = "nd=" + std::to_string(g.nd) + " N=" + std::to_string(g.N) +
                  " Cin=" + std::to_string(g.C_in) + " Cout=" + std::to_string(g.C_out) +
                  " G=" + std::to_string(g.groups) + (g.channels_last ? " NHWC" : " NCHW");
  for (int i = 0; i < g.nd; ++i)
    s += " [in " + std::to_string(g.in[i]) + " k " + std::to_string(g.k[i]) + " s " +
         std::to_string(g.stride[i]) + " d " + std::to_string(g.dil[i]) + " p " +
         std::to_string(g.pad_lo[i]) + "/" + std::to_string(g.pad_hi[i]) + "]";
  return s;
}

template <typename T>
void check_case(const Case& c, bool cl, bool with_bias, unsigned seed) {
  const ConvGeom g = make_geom(c, cl);
  const S3 s = lift3(g);
  const std::string what = describe(g) + (sizeof(T) == 4 ? " float" : " double");
  SCOPED_TRACE(what);
  std::mt19937 rng(seed);
  const size_t nx = g.N * g.C_in * s.Pin, ny = g.N * g.C_out * s.Pout,
               nw = g.C_out * (g.C_in / g.groups) * s.Kv;
  auto x = random_vec<T>(nx, rng), w = random_vec<T>(nw, rng), gy = random_vec<T>(ny, rng);
  auto b = random_vec<T>(g.C_out, rng);

  std::vector<double> yr(ny, 0), ym(ny, 0), gxr(nx, 0), gxm(nx, 0), gwr(nw, 0), gwm(nw, 0);
  for_each_term(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    const double xv = x[xi], wv = w[wi], gv = gy[yi];
    yr[yi] += xv * wv;
    ym[yi] += std::fabs(xv * wv);
    gxr[xi] += gv * wv;
    gxm[xi] += std::fabs(gv * wv);
    gwr[wi] += gv * xv;
    gwm[wi] += std::fabs(gv * xv);
  });
  if (with_bias)
    for (size_t i = 0; i < ny; ++i) {
      const int64_t o = cl ? i % g.C_out : (i / s.Pout) % g.C_out;
      yr[i] += b[o];
      ym[i] += std::fabs(b[o]);
    }

  // Outputs start as NaN: the kernels must overwrite every element.
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y(ny, nan), gx(nx, nan), gw(nw, nan);
  K::conv_forward<T>(g, x.data(), w.data(), with_bias ? b.data() : nullptr, y.data());
  expect_close(y, yr, ym, "forward");
  K::conv_grad_input<T>(g, gy.data(), w.data(), gx.data());
  expect_close(gx, gxr, gxm, "grad_input");
  K::conv_grad_weight<T>(g, x.data(), gy.data(), gw.data());
  expect_close(gw, gwr, gwm, "grad_weight");

  // Same thread count, same bits.
  std::vector<T> gw2(nw, nan);
  K::conv_grad_weight<T>(g, x.data(), gy.data(), gw2.data());
  for (size_t i = 0; i < nw; ++i)
    ASSERT_EQ(std::memcmp(&gw[i], &gw2[i], sizeof(T)), 0) << "grad_weight not deterministic";
}

Case C1(int64_t N, int64_t ci, int64_t co, int64_t G, int64_t in, int64_t k, int64_t s, int64_t d,
        int64_t plo, int64_t phi) {
  return Case{1, N, ci, co, G, {in}, {k}, {s}, {d}, {plo}, {phi}};
}

std::vector<Case> all_cases() {
  std::vector<Case> v;
  // 1-D
  v.push_back(C1(1, 3, 5, 1, 11, 3, 1, 1, 1, 1));
  v.push_back(C1(3, 4, 6, 2, 17, 4, 2, 2, 2, 3));
  v.push_back(C1(3, 5, 7, 1, 9, 1, 1, 1, 0, 0));   // pointwise
  v.push_back(C1(3, 6, 4, 2, 9, 1, 1, 1, 0, 0));   // grouped pointwise
  v.push_back(C1(2, 5, 3, 1, 10, 1, 2, 1, 0, 0));  // 1x1 with stride
  v.push_back(C1(2, 4, 4, 4, 13, 5, 3, 1, 2, 2));  // depthwise stride 3
  v.push_back(C1(1, 2, 3, 1, 6, 3, 1, 1, 0, 5));   // pad_hi creates padding-only outputs
  // 2-D
  v.push_back(Case{2, 1, 3, 4, 1, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}});
  v.push_back(Case{2, 3, 4, 6, 2, {13, 10}, {3, 2}, {2, 3}, {2, 1}, {0, 2}, {1, 0}});
  v.push_back(Case{2, 3, 5, 5, 5, {8, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}});     // depthwise
  v.push_back(Case{2, 2, 3, 6, 3, {9, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}});     // depth multiplier
  v.push_back(Case{2, 3, 4, 5, 1, {8, 8}, {4, 4}, {1, 1}, {1, 1}, {1, 1}, {2, 2}});     // TF "same", even k
  v.push_back(Case{2, 2, 3, 4, 1, {17, 14}, {5, 3}, {3, 3}, {2, 2}, {3, 0}, {4, 2}});   // stride 3 dil 2
  v.push_back(Case{2, 3, 6, 4, 2, {5, 6}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}});     // grouped pointwise
  v.push_back(Case{2, 1, 16, 8, 1, {40, 37}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}});  // several pixel tiles
  v.push_back(Case{2, 1, 32, 8, 1, {50, 50}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}});  // many tiles, N=1
  v.push_back(Case{2, 5, 8, 6, 2, {11, 13}, {3, 3}, {2, 1}, {1, 2}, {1, 2}, {2, 1}});
  v.push_back(Case{2, 4, 24, 16, 1, {12, 12}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}});  // pointwise, batch
  // 3-D
  v.push_back(Case{3, 3, 4, 4, 2, {5, 6, 7}, {3, 2, 3}, {1, 2, 1}, {1, 1, 2}, {1, 0, 2}, {1, 1, 0}});
  v.push_back(Case{3, 1, 3, 2, 1, {4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}});
  v.push_back(
      Case{3, 2, 4, 4, 4, {5, 5, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}});  // depthwise
  v.push_back(
      Case{3, 2, 5, 3, 1, {3, 4, 5}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}});  // pointwise
  v.push_back(Case{3, 3, 2, 3, 1, {7, 6, 5}, {2, 3, 2}, {3, 2, 2}, {2, 1, 2}, {2, 1, 0}, {0, 2, 1}});
  return v;
}

class ConvKernel : public ::testing::TestWithParam<int> {};

TEST_P(ConvKernel, MatchesNaiveReference) {
  const Case c = all_cases()[GetParam()];
  for (bool cl : {false, true})
    for (bool bias : {false, true}) {
      check_case<float>(c, cl, bias, 1234 + GetParam());
      check_case<double>(c, cl, bias, 4321 + GetParam());
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvKernel, ::testing::Range(0, static_cast<int>(all_cases().size())));

// Random geometries, also run with one thread (GEMM-parallel path) and under an
// enclosing parallel region (both serial paths).
TEST(ConvKernelRandom, RandomGeometries) {
  std::mt19937 rng(7);
  auto ri = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int it = 0; it < 40; ++it) {
    Case c;
    c.nd = ri(1, 3);
    c.groups = ri(1, 3);
    c.C_in = c.groups * ri(1, 3);
    c.C_out = c.groups * ri(1, 3);
    c.N = ri(1, 4);
    for (int d = 0; d < c.nd; ++d) {
      const int64_t k = ri(1, 4), dil = ri(1, 2), s = ri(1, 3);
      const int64_t span = dil * (k - 1) + 1;
      const int64_t plo = ri(0, 2), phi = ri(0, 2);
      const int64_t in = std::max<int64_t>(span - plo - phi, 1) + ri(0, c.nd == 3 ? 4 : 9);
      c.in.push_back(in);
      c.k.push_back(k);
      c.stride.push_back(s);
      c.dil.push_back(dil);
      c.plo.push_back(plo);
      c.phi.push_back(phi);
    }
    const bool cl = it % 2;
    check_case<float>(c, cl, it % 3 == 0, 100 + it);
    check_case<double>(c, !cl, it % 3 == 1, 200 + it);
    if (it % 5 == 0) {
      const int saved = omp_get_max_threads();
      omp_set_num_threads(1);
      check_case<float>(c, cl, true, 300 + it);
      omp_set_num_threads(saved);
    }
    if (it % 7 == 0) {
#pragma omp parallel num_threads(2)
      {
#pragma omp single
        check_case<double>(c, cl, false, 400 + it);
      }
    }
  }
}

}  // namespace

// Row-major accumulate-into-C matrix products: register-tiled fast paths written once over simd::Vec<W>
// (AVX-512, AVX2 or portable, chosen at run time), and the plain triple loops kept as the reference.
#include "lenet/gemm.h"

#include <algorithm>
#include <cstddef>

#include "lenet/simd.h"

namespace lenet {

namespace {

// Register tiles per vector width: MR rows of C by NV vectors of W columns for the axpy form (nn, tn),
// and DR rows of A by W/DR rows of B (W accumulators, summed together by hsum_each) for the
// dot-product form (nt). AVX-512 has 32 vector registers, AVX2 and SSE 16.
template <int W>
struct Tiles {
  static constexpr int MR = 6, NV = W == 16 ? 4 : 2;
  static constexpr int DR = W == 4 ? 2 : 4;
};

// C(MR × cols) += Σ_p A(i, p) · B(p, j) for one tile, A(i, p) = a[i·a_rs + p·a_cs], B row p at b + p·ldb.
// With Tail, lanes past `cols` are masked.
template <int W, int MR, int NV, bool Tail>
LENET_INLINE inline void axpy_tile(float* c, int ldc, const float* a, int a_rs, int a_cs, const float* b,
                                   int ldb, int k, int cols) {
  using V = simd::Vec<W>;
  V acc[MR][NV] = {};
  const float* ar[MR];
  for (int r = 0; r < MR; ++r) ar[r] = a + std::ptrdiff_t(r) * a_rs;
  int lanes[NV];
  for (int v = 0; v < NV; ++v) lanes[v] = std::clamp(cols - v * W, 0, W);
  for (int p = 0; p < k; ++p) {
    const float* bp = b + std::ptrdiff_t(p) * ldb;
    V bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = Tail ? simd::load_n<W>(bp + v * W, lanes[v]) : simd::load<W>(bp + v * W);
    for (int r = 0; r < MR; ++r) {
      const float av = ar[r][std::ptrdiff_t(p) * a_cs];
      for (int v = 0; v < NV; ++v) acc[r][v] += av * bv[v];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) {
      float* cr = c + std::ptrdiff_t(r) * ldc + v * W;
      if (Tail)
        simd::store_n<W>(cr, simd::load_n<W>(cr, lanes[v]) + acc[r][v], lanes[v]);
      else
        simd::store<W>(cr, simd::load<W>(cr) + acc[r][v]);
    }
}

// The tail column block, with just enough vectors for `cols`.
template <int W, int MR, int NV>
LENET_INLINE inline void axpy_tail(float* c, int ldc, const float* a, int a_rs, int a_cs, const float* b,
                                   int ldb, int k, int cols) {
  if constexpr (NV > 1)
    if (cols <= (NV - 1) * W) return axpy_tail<W, MR, NV - 1>(c, ldc, a, a_rs, a_cs, b, ldb, k, cols);
  axpy_tile<W, MR, NV, true>(c, ldc, a, a_rs, a_cs, b, ldb, k, cols);
}

// One band of MR rows, across all columns.
template <int W, int MR>
LENET_INLINE inline void axpy_band(float* c, const float* a, int a_rs, int a_cs, const float* b, int n,
                                   int k) {
  constexpr int NV = Tiles<W>::NV, NC = NV * W;
  int j = 0;
  for (; j + NC <= n; j += NC) axpy_tile<W, MR, NV, false>(c + j, n, a, a_rs, a_cs, b + j, n, k, NC);
  if (j < n) axpy_tail<W, MR, NV>(c + j, n, a, a_rs, a_cs, b + j, n, k, n - j);
}

// C(m,n) += A·B with B rows contiguous; A(i, p) = a[i·a_rs + p·a_cs] (nn: a_rs = k, a_cs = 1; tn: 1, m).
// Bands of MR rows, then the last rows in bands of 4, 2 and 1, so no row is computed twice.
template <int W>
LENET_INLINE inline void gemm_axpy(float* c, const float* a, int a_rs, int a_cs, const float* b, int m, int n,
                                   int k) {
  constexpr int MR = Tiles<W>::MR;
  int i = 0;
  auto band = [&]<int R>() LENET_INLINE {
    axpy_band<W, R>(c + std::ptrdiff_t(i) * n, a + std::ptrdiff_t(i) * a_rs, a_rs, a_cs, b, n, k);
    i += R;
  };
  while (m - i >= MR) band.template operator()<MR>();
  if (m - i >= 4) band.template operator()<4>();
  if (m - i >= 2) band.template operator()<2>();
  if (m - i >= 1) band.template operator()<1>();
}

// C(i, j) += dot(A row i, B row j) for a DR × (W/DR) tile; columns past `cols` repeat the last and are
// not stored. The W dot products are reduced together and land in C as one vector.
template <int W, int DR>
LENET_INLINE inline void dot_tile(float* c, int ldc, const float* a, const float* b, int k, int cols) {
  using V = simd::Vec<W>;
  constexpr int DC = W / DR;
  V acc[W] = {};
  const float* bc[DC];
  for (int q = 0; q < DC; ++q) bc[q] = b + std::ptrdiff_t(q < cols ? q : cols - 1) * k;
  int p = 0;
  for (; p + W <= k; p += W) {
    V bv[DC];
    for (int q = 0; q < DC; ++q) bv[q] = simd::load<W>(bc[q] + p);
    for (int r = 0; r < DR; ++r) {
      const V av = simd::load<W>(a + std::ptrdiff_t(r) * k + p);
      for (int q = 0; q < DC; ++q) acc[r * DC + q] += av * bv[q];
    }
  }
  if (p < k) {
    V bv[DC];
    for (int q = 0; q < DC; ++q) bv[q] = simd::load_n<W>(bc[q] + p, k - p);
    for (int r = 0; r < DR; ++r) {
      const V av = simd::load_n<W>(a + std::ptrdiff_t(r) * k + p, k - p);
      for (int q = 0; q < DC; ++q) acc[r * DC + q] += av * bv[q];
    }
  }
  const V sums = simd::hsum_each<W>(acc);
  for (int r = 0; r < DR; ++r)
    for (int q = 0; q < DC; ++q)
      if (q < cols) c[std::ptrdiff_t(r) * ldc + q] += sums[r * DC + q];
}

// Bands of DR rows of A (4 or 2, then 2 and 1 at the bottom edge), each against a block of rows of B
// small enough to stay in L1 while every band of A passes it (kL1Floats), so B is read from L2 once.
template <int W>
LENET_INLINE inline void gemm_dot(float* c, const float* a, const float* b, int m, int n, int k) {
  constexpr int DR = Tiles<W>::DR, kL1Floats = 6144;  // 24 KB of the 48 KB L1
  const int block = std::max(W, kL1Floats / std::max(k, 1) / W * W);
  for (int j0 = 0; j0 < n; j0 += block) {
    const int j1 = std::min(n, j0 + block);
    int i = 0;
    auto band = [&]<int R>() LENET_INLINE {
      constexpr int DC = W / R;
      for (int j = j0; j < j1; j += DC)
        dot_tile<W, R>(c + std::ptrdiff_t(i) * n + j, n, a + std::ptrdiff_t(i) * k, b + std::ptrdiff_t(j) * k,
                       k, std::min(DC, j1 - j));
      i += R;
    };
    while (m - i >= DR) band.template operator()<DR>();
    if constexpr (DR > 2)
      if (m - i >= 2) band.template operator()<2>();
    if (m - i >= 1) band.template operator()<1>();
  }
}

}  // namespace

// C += A·B: tiles of C held in registers while k streams; B rows are the vectors.
void gemm_nn(float* c, const float* a, const float* b, int m, int n, int k) {
  if (m <= 0 || n <= 0) return;
  simd::dispatch([&]<int W>() LENET_INLINE { gemm_axpy<W>(c, a, k, 1, b, m, n, k); });
}

// C += A·Bᵀ: every element is a dot product of two contiguous rows, W of them reduced at once.
void gemm_nt(float* c, const float* a, const float* b, int m, int n, int k) {
  if (m <= 0 || n <= 0) return;
  simd::dispatch([&]<int W>() LENET_INLINE { gemm_dot<W>(c, a, b, m, n, k); });
}

// C += Aᵀ·B: as gemm_nn, A read down its columns.
void gemm_tn(float* c, const float* a, const float* b, int m, int n, int k) {
  if (m <= 0 || n <= 0) return;
  simd::dispatch([&]<int W>() LENET_INLINE { gemm_axpy<W>(c, a, 1, m, b, m, n, k); });
}

double fma_probe(long iterations, float* sink) {
  double flops = 0;
  simd::dispatch([&]<int W>() LENET_INLINE {
    using V = simd::Vec<W>;
    constexpr int kChains = 12;  // FMA latency (4) × FMA ports (2), and some to spare
    V acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = simd::splat<W>(float(i));
    const V mul = simd::splat<W>(0.999999f), add = simd::splat<W>(1e-7f);
    for (long it = 0; it < iterations; ++it)
      for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * mul + add;
    V total = {};
    for (int i = 0; i < kChains; ++i) total += acc[i];
    *sink = simd::hsum<W>(total);
    flops = double(iterations) * kChains * W * 2;
  });
  return flops;
}

namespace naive {

namespace {

// C (m, n) += A·B, the sums in double; a(i, p) and b(p, j) read the operands as they are stored.
template <class A, class B>
void product(float* c, int m, int n, int k, const A& a, const B& b) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) s += double(a(i, p)) * b(p, j);
      c[i * n + j] += float(s);
    }
}

}  // namespace

void gemm_nn(float* c, const float* a, const float* b, int m, int n, int k) {
  product(
      c, m, n, k, [&](int i, int p) { return a[i * k + p]; }, [&](int p, int j) { return b[p * n + j]; });
}

void gemm_nt(float* c, const float* a, const float* b, int m, int n, int k) {
  product(
      c, m, n, k, [&](int i, int p) { return a[i * k + p]; }, [&](int p, int j) { return b[j * k + p]; });
}

void gemm_tn(float* c, const float* a, const float* b, int m, int n, int k) {
  product(
      c, m, n, k, [&](int i, int p) { return a[p * m + i]; }, [&](int p, int j) { return b[p * n + j]; });
}

}  // namespace naive
}  // namespace lenet

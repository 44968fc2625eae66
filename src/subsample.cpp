// Trainable 2×2 subsampling (S2, S4 in the 1998 paper): out = coef · (sum of the 2×2 block) + bias.
// The derivative of each input in a block is the same: d_out · coef.
#include "lenet/subsample.h"

#include <algorithm>
#include <cstddef>

#include "lenet/simd.h"

namespace lenet {

namespace {

// Sums of the 2×2 blocks of output row y, columns x0 .. x0 + W (lo + hi = the 2·(columns) inputs read).
template <int W>
LENET_INLINE inline simd::Vec<W> block_sums(const float* plane, int in_w, int y, int x0, int lo, int hi) {
  const float* r0 = plane + (2 * y) * in_w + 2 * x0;
  const float* r1 = r0 + in_w;
  const simd::Vec<W> a = simd::load_n<W>(r0, lo) + simd::load_n<W>(r1, lo);
  const simd::Vec<W> b = simd::load_n<W>(r0 + W, hi) + simd::load_n<W>(r1 + W, hi);
  return simd::alternate<W, 0>(a, b) + simd::alternate<W, 1>(a, b);
}

}  // namespace

void subsample_forward(float* out, const float* in, const float* coef, const float* bias, const PoolShape& s,
                       int n) {
  // in (n, c, h, w) -> out (n, c, h/2, w/2)
  const int oh = s.out_h(), ow = s.out_w();
  simd::dispatch([&]<int W>() LENET_INLINE {
    for (int b = 0; b < n; ++b)
      for (int c = 0; c < s.c; ++c) {
        const float* p = in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w;
        float* q = out + (std::size_t(b) * s.c + c) * oh * ow;
        for (int y = 0; y < oh; ++y)
          for (int x0 = 0; x0 < ow; x0 += W) {
            const int m = std::min(W, ow - x0), lo = std::min(W, 2 * m), hi = 2 * m - lo;
            simd::store_n<W>(q + y * ow + x0, coef[c] * block_sums<W>(p, s.in_w, y, x0, lo, hi) + bias[c], m);
          }
      }
  });
}

void subsample_backward(float* d_in, float* d_coef, float* d_bias, const float* d_out, const float* in,
                        const float* coef, const PoolShape& s, int n) {
  // d_out (n, c, h/2, w/2) -> d_in (n, c, h, w); d_coef, d_bias accumulate
  const int oh = s.out_h(), ow = s.out_w();
  const std::size_t in_hw = std::size_t(s.in_h) * s.in_w;
  if (d_in && (s.in_h % 2 || s.in_w % 2))  // an odd trailing row or column gets no gradient
    std::fill(d_in, d_in + std::size_t(n) * s.c * in_hw, 0.0f);
  simd::dispatch([&]<int W>() LENET_INLINE {
    using V = simd::Vec<W>;
    for (int c = 0; c < s.c; ++c) {
      V gc = {}, gb = {};
      for (int b = 0; b < n; ++b) {
        const float* p = in + (std::size_t(b) * s.c + c) * in_hw;
        const float* g = d_out + (std::size_t(b) * s.c + c) * oh * ow;
        float* dp = d_in ? d_in + (std::size_t(b) * s.c + c) * in_hw : nullptr;
        for (int y = 0; y < oh; ++y)
          for (int x0 = 0; x0 < ow; x0 += W) {
            const int m = std::min(W, ow - x0), lo = std::min(W, 2 * m), hi = 2 * m - lo;
            const V go = simd::load_n<W>(g + y * ow + x0, m);
            gc += go * block_sums<W>(p, s.in_w, y, x0, lo, hi);
            gb += go;
            if (!dp) continue;
            // every input of a block gets d_out · coef
            const V d = go * coef[c];
            const V d0 = simd::interleave<W, 0>(d, d), d1 = simd::interleave<W, 1>(d, d);
            for (int row = 0; row < 2; ++row) {
              float* dst = dp + (2 * y + row) * s.in_w + 2 * x0;
              simd::store_n<W>(dst, d0, lo);
              simd::store_n<W>(dst + W, d1, hi);
            }
          }
      }
      d_coef[c] += simd::hsum<W>(gc);
      d_bias[c] += simd::hsum<W>(gb);
    }
  });
}

void subsample_backward_hessian(float* d2_in, float* d2_coef, float* d2_bias, const float* d2_out,
                                const float* in, const float* coef, const PoolShape& s, int n) {
  // d2_out (n, c, h/2, w/2) -> d2_in (n, c, h, w); d2_coef, d2_bias accumulate
  const int oh = s.out_h(), ow = s.out_w();
  for (int c = 0; c < s.c; ++c) {
    float hc = 0, hb = 0;
    const float c2 = coef[c] * coef[c];
    for (int b = 0; b < n; ++b) {
      const float* p = in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w;
      const float* h = d2_out + (std::size_t(b) * s.c + c) * oh * ow;
      float* dp = d2_in ? d2_in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w : nullptr;
      if (dp)
        for (int t = 0; t < s.in_h * s.in_w; ++t) dp[t] = 0.0f;
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          const float* r0 = p + (2 * y) * s.in_w + 2 * x;
          const float* r1 = r0 + s.in_w;
          const float sum = r0[0] + r0[1] + r1[0] + r1[1];
          const float ho = h[y * ow + x];
          hc += ho * sum * sum;
          hb += ho;
          if (dp) {
            float* d0 = dp + (2 * y) * s.in_w + 2 * x;
            float* d1 = d0 + s.in_w;
            d0[0] = d0[1] = d1[0] = d1[1] = ho * c2;
          }
        }
    }
    d2_coef[c] += hc;
    d2_bias[c] += hb;
  }
}

}  // namespace lenet

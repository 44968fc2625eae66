// 2×2/2 max pooling. Ties go to the first of the block in row-major order, as in PyTorch,
// so the gradient path matches the reference.
#include "lenet/maxpool.h"

#include <algorithm>
#include <cstddef>

#include "lenet/simd.h"

namespace lenet {

void maxpool_forward(float* out, std::int32_t* argmax, const float* in, const PoolShape& s, int n) {
  // in (n, c, h, w) -> out (n, c, h/2, w/2)
  simd::dispatch([&]<int W>() LENET_INLINE {
    using V = simd::Vec<W>;
    using I = simd::IVec<W>;
    // Sizes as locals: the index stores below are ints, which could alias the captured shape and would
    // make the compiler reload it after every store.
    const int oh = s.out_h(), ow = s.out_w(), in_w = s.in_w;
    const std::size_t planes = std::size_t(n) * s.c, in_hw = std::size_t(s.in_h) * in_w;
    I lane2;  // 0, 2, 4, ...: the left column of each block, relative to the first
    for (int i = 0; i < W; ++i) lane2[i] = 2 * i;
    for (std::size_t plane = 0; plane < planes; ++plane) {
      const float* p = in + plane * in_hw;
      float* q = out + plane * oh * ow;
      std::int32_t* am = argmax + plane * oh * ow;
      for (int y = 0; y < oh; ++y)
        for (int x0 = 0; x0 < ow; x0 += W) {
          const int pairs = 2 * std::min(W, ow - x0), lo = std::min(W, pairs), hi = pairs - lo;
          const float* r0 = p + (2 * y) * in_w + 2 * x0;
          const float* r1 = r0 + in_w;
          const V t0 = simd::load_n<W>(r0, lo), t1 = simd::load_n<W>(r0 + W, hi);
          const V b0 = simd::load_n<W>(r1, lo), b1 = simd::load_n<W>(r1 + W, hi);
          // The block's four values in row-major order; ties keep the earlier one, as in PyTorch.
          const V cand[4] = {simd::alternate<W, 0>(t0, t1), simd::alternate<W, 1>(t0, t1),
                             simd::alternate<W, 0>(b0, b1), simd::alternate<W, 1>(b0, b1)};
          const I first = lane2 + ((2 * y) * in_w + 2 * x0);
          const int offset[4] = {0, 1, in_w, in_w + 1};
          V best = cand[0];
          I at = first;
          for (int k = 1; k < 4; ++k) {
            const I wins = cand[k] > best;
            best = wins ? cand[k] : best;
            at = wins ? first + offset[k] : at;
          }
          const int m = std::min(W, ow - x0);
          simd::store_n<W>(q + y * ow + x0, best, m);
          // the indices travel as float bit patterns through the masked store
          simd::store_n<W>(reinterpret_cast<float*>(am + y * ow + x0), simd::bit_cast<V>(at), m);
        }
    }
  });
}

void maxpool_backward(float* d_in, const float* d_out, const std::int32_t* argmax, const PoolShape& s,
                      int n) {
  // d_out (n, c, h/2, w/2) -> d_in (n, c, h, w)
  if (s.in_h % 2 || s.in_w % 2)  // an odd trailing row or column gets no gradient
    std::fill(d_in, d_in + std::size_t(n) * s.c * s.in_h * s.in_w, 0.0f);
  simd::dispatch([&]<int W>() LENET_INLINE {
    using V = simd::Vec<W>;
    using I = simd::IVec<W>;
    const int oh = s.out_h(), ow = s.out_w(), in_w = s.in_w;  // locals, as in the forward
    const std::size_t planes = std::size_t(n) * s.c, in_hw = std::size_t(s.in_h) * in_w;
    I lane2;
    for (int i = 0; i < W; ++i) lane2[i] = 2 * i;
    for (std::size_t plane = 0; plane < planes; ++plane) {
      float* dp = d_in + plane * in_hw;
      const float* g = d_out + plane * oh * ow;
      const std::int32_t* am = argmax + plane * oh * ow;
      for (int y = 0; y < oh; ++y)
        for (int x0 = 0; x0 < ow; x0 += W) {
          const int m = std::min(W, ow - x0), lo = std::min(W, 2 * m), hi = 2 * m - lo;
          const V at_bits = simd::load_n<W>(reinterpret_cast<const float*>(am + y * ow + x0), m);
          const I at = simd::bit_cast<I>(at_bits);
          const V gv = simd::load_n<W>(g + y * ow + x0, m), zero = {};
          const I first = lane2 + ((2 * y) * in_w + 2 * x0);
          // Each block writes its winner's gradient and zeros elsewhere: d_in is assigned in full.
          for (int row = 0; row < 2; ++row) {
            const I left = first + row * in_w;
            const V e = at == left ? gv : zero, o = at == left + 1 ? gv : zero;
            float* dst = dp + (2 * y + row) * in_w + 2 * x0;
            simd::store_n<W>(dst, simd::interleave<W, 0>(e, o), lo);
            simd::store_n<W>(dst + W, simd::interleave<W, 1>(e, o), hi);
          }
        }
    }
  });
}

}  // namespace lenet

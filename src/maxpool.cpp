// 2×2/2 max pooling. Ties go to the first of the block in row-major order, as in PyTorch,
// so the gradient path matches the reference.
#include "lenet/maxpool.h"

#include <algorithm>
#include <cstddef>

#include "lenet/simd.h"

namespace lenet {

namespace {

#if LENET_X86_DISPATCH  // the row pairs permute with GCC's __builtin_shuffle (indices known at run time)
// Planes of rows of at most 10 (S4's 10×10), at AVX-512: a block row fills 5 of 16 lanes, so two output rows
// share a vector. As in_h is even, output row g of the whole batch (planes one after another) reads input
// rows 2g and 2g + 1 wherever its plane starts, so the pair g, g + 1 reads 4·in_w consecutive inputs, from
// which each candidate of the block (top-left, top-right, bottom-left, bottom-right) is one two-vector
// permute.
template <int W>
bool pairs_rows(const PoolShape& s) {
  return W == 16 && s.in_h % 2 == 0 && s.in_w % 2 == 0 && 3 * s.in_w <= 2 * W;
}

// The lanes of an output row pair: lane l holds row l / ow, column l % ow.
template <int W>
struct RowPair {
  simd::IVec<W> top_left;  // the block's top-left input, from the pair's first input
  simd::IVec<W> second;    // −1 in the lanes of the second row
  simd::IVec<W> col2;      // 2·column
  explicit RowPair(const PoolShape& s) {
    const int ow = s.out_w();
    for (int l = 0; l < W; ++l) {
      const int r = l < 2 * ow ? l / ow : 0, x = l < 2 * ow ? l % ow : 0;
      top_left[l] = r * 2 * s.in_w + 2 * x;
      second[l] = r ? -1 : 0;
      col2[l] = 2 * x;
    }
  }
  // Each lane's top-left input within its plane, for a pair of rows y0, y1 of their planes.
  simd::IVec<W> first_in_plane(int y0, int y1, int in_w) const {
    const int base0 = 2 * y0 * in_w, base1 = 2 * y1 * in_w;
    return col2 + ((second & base1) | (~second & base0));
  }
};

#endif

}  // namespace

void maxpool_forward(float* out, std::int32_t* argmax, const float* in, const PoolShape& s, int n) {
  // in (n, c, h, w) -> out (n, c, h/2, w/2)
  simd::dispatch([&]<int W>() LENET_INLINE {
    using V = simd::Vec<W>;
    using I = simd::IVec<W>;
    // Sizes as locals: the index stores below are ints, which could alias the captured shape and would
    // make the compiler reload it after every store.
    const int oh = s.out_h(), ow = s.out_w(), in_w = s.in_w;
    if (oh == 0 || ow == 0) return;
    const std::size_t planes = std::size_t(n) * s.c, in_hw = std::size_t(s.in_h) * in_w;
    const int offset[4] = {0, 1, in_w, in_w + 1};
    // The first of the four candidates that is greater than those before it wins: ties keep the earlier
    // one in row-major order, as in PyTorch.
    auto pick = [&offset](const V(&cand)[4], const I& first, V& best, I& at) LENET_INLINE {
      best = cand[0];
      at = first;
      for (int k = 1; k < 4; ++k) {
        const I wins = cand[k] > best;
        best = wins ? cand[k] : best;
        at = wins ? first + offset[k] : at;
      }
    };
    std::size_t rows_done = 0;  // output rows of the batch already pooled, the planes taken as one
#if LENET_X86_DISPATCH
    if constexpr (W == 16)
      if (pairs_rows<W>(s)) {
        const RowPair<W> pair(s);
        const std::size_t rows = planes * oh;
        const int head = std::min(W, 3 * in_w), tail = 3 * in_w - head, lanes = 2 * ow;
        int y0 = 0;  // the first row's place in its plane
        for (; rows_done + 2 <= rows; rows_done += 2) {
          const int y1 = y0 + 1 == oh ? 0 : y0 + 1;
          const float* p = in + 2 * rows_done * in_w;
          const V t0 = simd::load_n<W>(p, head), t1 = simd::load_n<W>(p + W, tail);
          const V b0 = simd::load_n<W>(p + in_w, head), b1 = simd::load_n<W>(p + in_w + W, tail);
          const V cand[4] = {
              __builtin_shuffle(t0, t1, pair.top_left), __builtin_shuffle(t0, t1, pair.top_left + 1),
              __builtin_shuffle(b0, b1, pair.top_left), __builtin_shuffle(b0, b1, pair.top_left + 1)};
          V best;
          I at;
          pick(cand, pair.first_in_plane(y0, y1, in_w), best, at);
          simd::store_n<W>(out + rows_done * ow, best, lanes);
          simd::store_n<W>(reinterpret_cast<float*>(argmax + rows_done * ow), simd::bit_cast<V>(at), lanes);
          y0 = y1 + 1 == oh ? 0 : y1 + 1;
        }
      }
#endif
    I lane2;  // 0, 2, 4, ...: the left column of each block, relative to the first
    for (int i = 0; i < W; ++i) lane2[i] = 2 * i;
    // Row by row: every row (no pairs), or the last one left by the pairs.
    const std::size_t first_plane = rows_done / oh;
    const int first_y = int(rows_done % oh);
    for (std::size_t plane = first_plane; plane < planes; ++plane) {
      const float* p = in + plane * in_hw;
      float* q = out + plane * oh * ow;
      std::int32_t* am = argmax + plane * oh * ow;
      for (int y = plane == first_plane ? first_y : 0; y < oh; ++y)
        for (int x0 = 0; x0 < ow; x0 += W) {
          const int pairs = 2 * std::min(W, ow - x0), lo = std::min(W, pairs), hi = pairs - lo;
          const float* r0 = p + (2 * y) * in_w + 2 * x0;
          const float* r1 = r0 + in_w;
          const V t0 = simd::load_n<W>(r0, lo), t1 = simd::load_n<W>(r0 + W, hi);
          const V b0 = simd::load_n<W>(r1, lo), b1 = simd::load_n<W>(r1 + W, hi);
          // The block's four values in row-major order.
          const V cand[4] = {simd::alternate<W, 0>(t0, t1), simd::alternate<W, 1>(t0, t1),
                             simd::alternate<W, 0>(b0, b1), simd::alternate<W, 1>(b0, b1)};
          V best;
          I at;
          pick(cand, lane2 + ((2 * y) * in_w + 2 * x0), best, at);
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
    if (oh == 0 || ow == 0) return;
    const std::size_t planes = std::size_t(n) * s.c, in_hw = std::size_t(s.in_h) * in_w;
    std::size_t rows_done = 0;  // output rows of the batch done, the planes taken as one
#if LENET_X86_DISPATCH
    if constexpr (W == 16)
      if (pairs_rows<W>(s)) {
        // A pair of output rows g, g + 1 writes the 4·in_w inputs of rows 2g .. 2g + 3, in vectors of W:
        // input q takes the gradient of output lane from[q] if that output's winner is q, else 0.
        constexpr int kParts = 3;  // 4·in_w ≤ 40 inputs
        I from[kParts], local[kParts], second[kParts];
        for (int part = 0; part < kParts; ++part)
          for (int l = 0; l < W; ++l) {
            const int q = std::min(part * W + l, 4 * in_w - 1), rr = q / in_w, col = q % in_w;
            from[part][l] = (rr / 2) * ow + col / 2;
            local[part][l] = (rr % 2) * in_w + col;  // within the block row, from its first input
            second[part][l] = rr / 2 ? -1 : 0;
          }
        const std::size_t rows = planes * oh;
        const int lanes = 2 * ow;
        int y0 = 0;
        for (; rows_done + 2 <= rows; rows_done += 2) {
          const int y1 = y0 + 1 == oh ? 0 : y0 + 1;
          const V gv = simd::load_n<W>(d_out + rows_done * ow, lanes);
          const I at = simd::bit_cast<I>(
              simd::load_n<W>(reinterpret_cast<const float*>(argmax + rows_done * ow), lanes));
          float* dst = d_in + 2 * rows_done * in_w;
          const int base0 = 2 * y0 * in_w, base1 = 2 * y1 * in_w;
          for (int part = 0; part < kParts; ++part) {
            const int count = std::clamp(4 * in_w - part * W, 0, W);
            if (count == 0) break;
            const I pos = local[part] + ((second[part] & base1) | (~second[part] & base0));
            const V g = __builtin_shuffle(gv, from[part]);
            const V v = __builtin_shuffle(at, from[part]) == pos ? g : V{};
            simd::store_n<W>(dst + part * W, v, count);
          }
          y0 = y1 + 1 == oh ? 0 : y1 + 1;
        }
      }
#endif
    I lane2;
    for (int i = 0; i < W; ++i) lane2[i] = 2 * i;
    // Row by row: every row (no pairs), or the last one left by the pairs.
    const std::size_t first_plane = rows_done / oh;
    const int first_y = int(rows_done % oh);
    for (std::size_t plane = first_plane; plane < planes; ++plane) {
      float* dp = d_in + plane * in_hw;
      const float* g = d_out + plane * oh * ow;
      const std::int32_t* am = argmax + plane * oh * ow;
      for (int y = plane == first_plane ? first_y : 0; y < oh; ++y)
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

// Convolution: the public API, the direct loops (reference, and readable), and the dispatch of the fast
// path: vectorised direct convolutions for LeNet's shapes (conv2d_tiles.h), a full connection for a 1×1
// output (C5), im2col + GEMM for the rest.
#include "lenet/conv2d.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>

#include "conv2d_tiles.h"
#include "lenet/activation.h"
#include "lenet/aligned.h"
#include "lenet/gemm.h"
#include "lenet/simd.h"

namespace lenet {

using namespace conv_tiles;  // the vectorised kernels (conv2d_tiles.h)

ConnectionTable full_connection_table(int in_c, int out_c) {
  ConnectionTable t;
  t.inputs.resize(out_c);
  for (auto& row : t.inputs)
    for (int i = 0; i < in_c; ++i) row.push_back(i);
  return t;
}

ConnectionTable lenet5_c3_table() {
  // Table I: maps 0-5 read three contiguous S2 maps, 6-11 four contiguous, 12-14 four non-contiguous,
  // 15 all six. Fewer connections, and broken symmetry so the maps learn different features.
  return ConnectionTable{{{0, 1, 2},
                          {1, 2, 3},
                          {2, 3, 4},
                          {3, 4, 5},
                          {4, 5, 0},
                          {5, 0, 1},
                          {0, 1, 2, 3},
                          {1, 2, 3, 4},
                          {2, 3, 4, 5},
                          {3, 4, 5, 0},
                          {4, 5, 0, 1},
                          {5, 0, 1, 2},
                          {0, 1, 3, 4},
                          {1, 2, 4, 5},
                          {0, 2, 3, 5},
                          {0, 1, 2, 3, 4, 5}}};
}

std::size_t Conv2dShape::weight_offset(int o) const {
  if (!table) return std::size_t(o) * in_c * k * k;
  std::size_t off = 0;
  for (int q = 0; q < o; ++q) off += table->inputs[q].size() * k * k;
  return off;
}

std::size_t Conv2dShape::weight_count() const { return weight_offset(out_c); }

std::size_t Conv2dShape::connections() const { return weight_count() * out_h() * out_w(); }

namespace naive {

void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const Conv2dShape& s,
                    int n, bool relu) {
  // in (n, in_c, in_h, in_w) -> out (n, out_c, out_h, out_w)
  const int oh = s.out_h(), ow = s.out_w(), k = s.k;
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < s.out_c; ++o) {
      const float* w_o = weight + s.weight_offset(o);
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          double a = bias[o];
          for (int j = 0; j < s.inputs_of(o); ++j) {
            const float* plane = in + (std::size_t(b) * s.in_c + s.input_map(o, j)) * s.in_h * s.in_w;
            const float* w = w_o + j * k * k;
            for (int ky = 0; ky < k; ++ky)
              for (int kx = 0; kx < k; ++kx) a += double(w[ky * k + kx]) * plane[(y + ky) * s.in_w + x + kx];
          }
          const float v = float(a);
          out[((std::size_t(b) * s.out_c + o) * oh + y) * ow + x] = relu && !(v > 0.0f) ? 0.0f : v;
        }
    }
}

void conv2d_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, const Conv2dShape& s, int n) {
  // d_out (n, out_c, out_h, out_w) -> d_in (n, in_c, in_h, in_w); d_weight, d_bias accumulate
  const int oh = s.out_h(), ow = s.out_w(), k = s.k;
  if (d_in) std::fill(d_in, d_in + std::size_t(n) * s.in_c * s.in_h * s.in_w, 0.0f);
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < s.out_c; ++o) {
      const float* g = d_out + (std::size_t(b) * s.out_c + o) * oh * ow;
      const std::size_t w_off = s.weight_offset(o);
      double gb = 0;
      for (int p = 0; p < oh * ow; ++p) gb += g[p];
      d_bias[o] += float(gb);
      for (int j = 0; j < s.inputs_of(o); ++j) {
        const std::size_t plane_off = (std::size_t(b) * s.in_c + s.input_map(o, j)) * s.in_h * s.in_w;
        const float* plane = in + plane_off;
        for (int ky = 0; ky < k; ++ky)
          for (int kx = 0; kx < k; ++kx) {
            double gw = 0;
            const float w = weight[w_off + j * k * k + ky * k + kx];
            for (int y = 0; y < oh; ++y)
              for (int x = 0; x < ow; ++x) {
                const float go = g[y * ow + x];
                gw += double(go) * plane[(y + ky) * s.in_w + x + kx];
                if (d_in) d_in[plane_off + (y + ky) * s.in_w + x + kx] += go * w;
              }
            d_weight[w_off + j * k * k + ky * k + kx] += float(gw);
          }
      }
    }
}

}  // namespace naive

namespace {

// The preconditions of every kernel here: a kernel that fits the input, a table with one entry per output
// map naming existing input maps.
void assert_shape([[maybe_unused]] const Conv2dShape& s, [[maybe_unused]] int n) {
  assert(n >= 0 && s.in_c > 0 && s.out_c > 0 && s.k > 0 && s.out_h() > 0 && s.out_w() > 0);
#ifndef NDEBUG
  if (s.table) {
    assert(int(s.table->inputs.size()) == s.out_c);
    for (const auto& maps : s.table->inputs)
      for (int c : maps) assert(c >= 0 && c < s.in_c);
  }
#endif
}

// Per-thread scratch that only grows: after the first batch nothing is allocated.
struct ConvScratch {
  AlignedFloats dense_w, dense_dw, col, d_col;
  static float* grow(AlignedFloats& v, std::size_t count) {
    if (v.size() < count) v.resize(count);
    return v.data();
  }
};
thread_local ConvScratch scratch;

// Expands the compact (table) weights to dense (out_c, in_c·k·k) with zeros where nothing connects.
const float* dense_weights(const float* weight, const Conv2dShape& s) {
  if (!s.table) return weight;
  const int kk = s.k * s.k;
  float* w = ConvScratch::grow(scratch.dense_w, std::size_t(s.out_c) * s.in_c * kk);
  std::fill(w, w + std::size_t(s.out_c) * s.in_c * kk, 0.0f);
  for (int o = 0; o < s.out_c; ++o)
    for (int j = 0; j < s.inputs_of(o); ++j)
      std::memcpy(w + (std::size_t(o) * s.in_c + s.input_map(o, j)) * kk,
                  weight + s.weight_offset(o) + j * kk, kk * sizeof(float));
  return w;
}

// col (in_c·k·k, out_h·out_w): row (c, ky, kx) holds the input pixels that kernel tap meets.
void im2col(float* col, const float* in, const Conv2dShape& s) {
  const int oh = s.out_h(), ow = s.out_w(), k = s.k;
  for (int c = 0; c < s.in_c; ++c)
    for (int ky = 0; ky < k; ++ky)
      for (int kx = 0; kx < k; ++kx) {
        float* row = col + ((c * k + ky) * k + kx) * oh * ow;
        for (int y = 0; y < oh; ++y) {
          const float* src = in + (c * s.in_h + y + ky) * s.in_w + kx;
          std::memcpy(row + y * ow, src, ow * sizeof(float));
        }
      }
}

void col2im_add(float* d_in, const float* d_col, const Conv2dShape& s) {
  const int oh = s.out_h(), ow = s.out_w(), k = s.k;
  for (int c = 0; c < s.in_c; ++c)
    for (int ky = 0; ky < k; ++ky)
      for (int kx = 0; kx < k; ++kx) {
        const float* row = d_col + ((c * k + ky) * k + kx) * oh * ow;
        for (int y = 0; y < oh; ++y) {
          float* dst = d_in + (c * s.in_h + y + ky) * s.in_w + kx;
          for (int x = 0; x < ow; ++x) dst[x] += row[y * ow + x];
        }
      }
}

// The general path for shapes the vectorised kernels do not take: im2col, then a product per sample.
void im2col_weight_grad(float* dw, const float* d_out, const float* in, const Conv2dShape& s, int n) {
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k;
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w;
  float* col = ConvScratch::grow(scratch.col, std::size_t(ckk) * ohw);
  for (int b = 0; b < n; ++b) {
    im2col(col, in + std::size_t(b) * in_size, s);
    gemm_nt(dw, d_out + std::size_t(b) * s.out_c * ohw, col, s.out_c, ckk, ohw);
  }
}

void im2col_input_grad(float* d_in, const float* d_out, const float* w, const Conv2dShape& s, int n) {
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k;
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w;
  float* d_col = ConvScratch::grow(scratch.d_col, std::size_t(ckk) * ohw);
  for (int b = 0; b < n; ++b) {
    std::fill(d_col, d_col + std::size_t(ckk) * ohw, 0.0f);
    gemm_tn(d_col, w, d_out + std::size_t(b) * s.out_c * ohw, ckk, ohw, s.out_c);
    float* di = d_in + std::size_t(b) * in_size;
    std::fill(di, di + in_size, 0.0f);
    col2im_add(di, d_col, s);
  }
}

// Scratch of the vectorised kernels, per thread, grow-only like ConvScratch.
struct VecScratch {
  AlignedFloats packed, packed_d, tmaps, pad, part;
};
thread_local VecScratch vscratch;

}  // namespace

void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const Conv2dShape& s,
                    int n, bool relu) {
  // in (n, in_c, in_h, in_w) -> out (n, out_c, out_h, out_w)
  assert_shape(s, n);
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k;
  const float* w = dense_weights(weight, s);
  if (ohw == 1) {  // the kernel covers the whole input: a full connection, batched as one product
    for (int b = 0; b < n; ++b) std::copy(bias, bias + s.out_c, out + std::size_t(b) * s.out_c);
    gemm_nt(out, in, w, n, s.out_c, ckk);
    if (relu) relu_forward(out, out, std::size_t(n) * s.out_c);
    return;
  }
  simd::dispatch([&]<int W>() LENET_INLINE {
    if (maps_layout_fits<W>(s)) {
      float* wt = ConvScratch::grow(vscratch.packed, std::size_t(ckk) * s.out_c);
      // dense weights (out_c, in_c·k·k) -> (in_c·k·k, out_c): the maps of each tap side by side
      simd::transpose_matrix<W>(wt, s.out_c, w, ckk, s.out_c, ckk);
      float* tmaps = ConvScratch::grow(vscratch.tmaps, std::size_t(ohw) * s.out_c);
      conv_maps_forward<W>(out, in, wt, bias, tmaps, s, n, relu);
    } else {
      constexpr int OB = ConvTiles<W>::kRowsOB;
      float* wpk = ConvScratch::grow(vscratch.packed, std::size_t(s.out_c + OB - 1) / OB * OB * ckk);
      pack_rows_forward(wpk, w, s, OB);
      conv_rows_forward<W>(out, in, wpk, bias, s, n, relu);
    }
  });
}

void conv2d_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, const Conv2dShape& s, int n) {
  // d_out (n, out_c, out_h, out_w) -> d_in (n, in_c, in_h, in_w); d_weight, d_bias accumulate
  assert_shape(s, n);
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k, kk = s.k * s.k;
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w;
  const float* w = dense_weights(weight, s);
  float* dw = d_weight;
  if (s.table) {
    dw = ConvScratch::grow(scratch.dense_dw, std::size_t(s.out_c) * ckk);
    std::fill(dw, dw + std::size_t(s.out_c) * ckk, 0.0f);
  }
  simd::dispatch([&]<int W>() LENET_INLINE {
    for (int b = 0; b < n; ++b)
      for (int o = 0; o < s.out_c; ++o)
        d_bias[o] += simd::sum<W>(d_out + (std::size_t(b) * s.out_c + o) * ohw, ohw);
  });
  if (ohw == 1) {
    gemm_tn(dw, d_out, in, s.out_c, ckk, n);
    if (d_in) {
      std::fill(d_in, d_in + std::size_t(n) * in_size, 0.0f);
      gemm_nn(d_in, d_out, w, n, ckk, s.out_c);
    }
  } else {
    simd::dispatch([&]<int W>() LENET_INLINE {
      constexpr int G = ConvTiles<W>::kMapsNO * W;
      if (W >= 8 && s.k == kVecK && s.out_c % G == 0) {  // d_out to maps-last order, then vectors across maps
        float* gt = ConvScratch::grow(vscratch.tmaps, std::size_t(n) * ohw * s.out_c);
        for (int b = 0; b < n; ++b)
          simd::transpose_matrix<W>(gt + std::size_t(b) * ohw * s.out_c, s.out_c,
                                    d_out + std::size_t(b) * s.out_c * ohw, ohw, s.out_c, ohw);
        if constexpr (W >= 8) conv_maps_weight_grad<W>(dw, gt, in, s, n);
      } else if (s.k == kVecK) {
        float* part = ConvScratch::grow(vscratch.part, std::size_t(s.out_c) * s.in_c * kk * W);
        conv_rows_weight_grad<W>(dw, d_out, in, part, s, n);
      } else {
        im2col_weight_grad(dw, d_out, in, s, n);
      }
      if (!d_in) return;
      if (s.k == kVecK) {
        constexpr int CB = ConvTiles<W>::kFlatCB;
        const std::size_t cpad = std::size_t(s.in_c + CB - 1) / CB * CB;
        float* wq = ConvScratch::grow(vscratch.packed_d, std::size_t(s.out_c) * kk * cpad);
        pack_flat_input_grad(wq, w, s, CB);
        const std::size_t plane = std::size_t(s.out_h() + 2 * (s.k - 1)) * s.out_w();
        float* gpad = ConvScratch::grow(vscratch.pad, std::size_t(s.out_c) * plane + W);
        const std::size_t seg = std::size_t(s.in_h) * s.out_w() + 3 * W;
        float* part = ConvScratch::grow(vscratch.part, std::size_t(s.in_c) * s.k * seg);
        // The margins around each segment are read and multiplied by a zero mask, so they must hold zeros,
        // not what a call for another shape left there: a NaN there survives 0·x (a diverged run poisoned
        // the next one in the same thread; seen by the trainer's NaN check, test_train and test_checkpoint).
        std::fill(part, part + std::size_t(s.in_c) * s.k * seg, 0.0f);
        conv_flat_input_grad<W>(d_in, d_out, wq, gpad, part, seg, s, n);
      } else if (input_grad_fits<W>(s)) {
        constexpr int CB = ConvTiles<W>::kDinCB;
        const std::size_t cpad = std::size_t(s.in_c + CB - 1) / CB * CB;
        float* wpd = ConvScratch::grow(vscratch.packed_d, std::size_t(s.out_c) * s.k * s.k * cpad);
        pack_input_grad(wpd, w, s, CB);
        const std::size_t lp = ConvTiles<W>::kDinNV * W + s.k - 1, ph = s.out_h() + 2 * (s.k - 1);
        float* pad = ConvScratch::grow(vscratch.pad, std::size_t(s.out_c) * ph * lp);
        conv_rows_input_grad<W>(d_in, d_out, wpd, pad, s, n);
      } else {
        im2col_input_grad(d_in, d_out, w, s, n);
      }
    });
  }
  if (s.table)  // gather the connected kernels' gradients back into the compact layout
    for (int o = 0; o < s.out_c; ++o)
      for (int j = 0; j < s.inputs_of(o); ++j) {
        const float* src = dw + (std::size_t(o) * s.in_c + s.input_map(o, j)) * kk;
        float* dst = d_weight + s.weight_offset(o) + j * kk;
        for (int t = 0; t < kk; ++t) dst[t] += src[t];
      }
}

void conv2d_backward_hessian(float* d2_in, float* d2_weight, float* d2_bias, const float* d2_out,
                             const float* in, const float* weight, const Conv2dShape& s, int n) {
  // d2_out (n, out_c, out_h, out_w) -> d2_in (n, in_c, in_h, in_w); d2_weight, d2_bias accumulate
  thread_local std::vector<float> in_sq, w_sq;
  const std::size_t in_count = std::size_t(n) * s.in_c * s.in_h * s.in_w, w_count = s.weight_count();
  in_sq.resize(std::max(in_sq.size(), in_count));
  w_sq.resize(std::max(w_sq.size(), w_count));
  for (std::size_t i = 0; i < in_count; ++i) in_sq[i] = in[i] * in[i];
  for (std::size_t i = 0; i < w_count; ++i) w_sq[i] = weight[i] * weight[i];
  conv2d_backward(d2_in, d2_weight, d2_bias, d2_out, in_sq.data(), w_sq.data(), s, n);
}

}  // namespace lenet

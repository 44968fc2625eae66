// Convolution: the public API, the direct loops (reference, and readable), and the dispatch of the fast
// path: vectorised direct convolutions for LeNet's shapes (conv2d_tiles.h), a full connection for a 1×1
// output (C5), im2col + GEMM for the rest.
#include "lenet/conv2d.h"

#include <algorithm>
#include <array>
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

// The largest of f<W>() over the vector widths, so that a Workspace sized once serves whichever level
// simd::dispatch picks (simd::set_level may change it between calls).
template <class F>
std::size_t most_over_widths(const F& f) {
  return std::max({f.template operator()<4>(), f.template operator()<8>(), f.template operator()<16>()});
}

// Scratch of dense_weights: with a table, the dense copy (out_c, in_c·k·k).
std::array<std::size_t, 1> dense_weights_scratch(const Conv2dShape& s) {
  return {s.table ? std::size_t(s.out_c) * s.in_c * s.k * s.k : 0};
}

// Expands the compact (table) weights to dense (out_c, in_c·k·k) with zeros where nothing connects.
const float* dense_weights(const float* weight, const Conv2dShape& s, Scratch& scratch) {
  if (!s.table) return weight;
  const int kk = s.k * s.k;
  const auto [dense] = dense_weights_scratch(s);
  float* w = scratch.take(dense);
  std::fill(w, w + dense, 0.0f);
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

// The general path for shapes the vectorised kernels do not take: im2col, then a product per sample. Its
// scratch, for either gradient: one sample's columns (in_c·k·k, out_h·out_w).
std::array<std::size_t, 1> im2col_scratch(const Conv2dShape& s) {
  return {std::size_t(s.in_c) * s.k * s.k * s.out_h() * s.out_w()};
}

void im2col_weight_grad(float* dw, const float* d_out, const float* in, const Conv2dShape& s, int n,
                        Scratch scratch) {
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k;
  float* col = scratch.take(im2col_scratch(s)[0]);
  for (int b = 0; b < n; ++b) {
    im2col(col, in + std::size_t(b) * s.in_size(), s);
    gemm_nt(dw, d_out + std::size_t(b) * s.out_c * ohw, col, s.out_c, ckk, ohw);
  }
}

void im2col_input_grad(float* d_in, const float* d_out, const float* w, const Conv2dShape& s, int n,
                       Scratch scratch) {
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k;
  const std::size_t in_size = s.in_size();
  float* d_col = scratch.take(im2col_scratch(s)[0]);
  for (int b = 0; b < n; ++b) {
    std::fill(d_col, d_col + std::size_t(ckk) * ohw, 0.0f);
    gemm_tn(d_col, w, d_out + std::size_t(b) * s.out_c * ohw, ckk, ohw, s.out_c);
    float* di = d_in + std::size_t(b) * in_size;
    std::fill(di, di + in_size, 0.0f);
    col2im_add(di, d_col, s);
  }
}

// ---- which path each call takes at vector width W, and the scratch it needs ----

template <int W>
std::size_t forward_scratch(const Conv2dShape& s) {
  std::size_t floats = Scratch::floats(dense_weights_scratch(s));
  if (s.out_h() * s.out_w() == 1) return floats;
  return floats + (maps_layout_fits<W>(s) ? Scratch::floats(conv_maps_forward_scratch<W>(s))
                                          : Scratch::floats(conv_rows_forward_scratch<W>(s)));
}

template <int W>
std::size_t weight_grad_scratch(const Conv2dShape& s, int n) {
  if (maps_weight_grad_fits<W>(s)) return Scratch::floats(conv_maps_weight_grad_scratch(s, n));
  if (s.k == kVecK) return Scratch::floats(conv_rows_weight_grad_scratch<W>(s));
  return Scratch::floats(im2col_scratch(s));
}

template <int W>
std::size_t input_grad_scratch(const Conv2dShape& s) {
  if (s.k == kVecK) return Scratch::floats(conv_flat_input_grad_scratch<W>(s));
  if (input_grad_fits<W>(s)) return Scratch::floats(conv_rows_input_grad_scratch<W>(s));
  return Scratch::floats(im2col_scratch(s));
}

// The dense weights and, with a table, the dense weight gradient; then the weight gradient's scratch, and
// after it the input gradient's in the same floats.
template <int W>
std::size_t backward_scratch(const Conv2dShape& s, int n) {
  const std::size_t dense = Scratch::floats(dense_weights_scratch(s));
  if (s.out_h() * s.out_w() == 1) return 2 * dense;  // two products, no scratch of their own
  return 2 * dense + std::max(weight_grad_scratch<W>(s, n), input_grad_scratch<W>(s));
}

}  // namespace

std::size_t conv2d_forward_scratch(const Conv2dShape& s, [[maybe_unused]] int n) {
  return most_over_widths([&]<int W>() { return forward_scratch<W>(s); });
}

std::size_t conv2d_backward_scratch(const Conv2dShape& s, int n) {
  return most_over_widths([&]<int W>() { return backward_scratch<W>(s, n); });
}

std::size_t conv2d_backward_hessian_scratch(const Conv2dShape& s, int n) {
  return Scratch::rounded(std::size_t(n) * s.in_size()) + Scratch::rounded(s.weight_count()) +
         conv2d_backward_scratch(s, n);
}

void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const Conv2dShape& s,
                    int n, Scratch scratch, bool relu) {
  // in (n, in_c, in_h, in_w) -> out (n, out_c, out_h, out_w)
  assert_shape(s, n);
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k;
  const float* w = dense_weights(weight, s, scratch);
  if (ohw == 1) {  // the kernel covers the whole input: a full connection, batched as one product
    for (int b = 0; b < n; ++b) std::copy(bias, bias + s.out_c, out + std::size_t(b) * s.out_c);
    gemm_nt(out, in, w, n, s.out_c, ckk);
    if (relu) relu_forward(out, out, std::size_t(n) * s.out_c);
    return;
  }
  simd::dispatch([&]<int W>() LENET_INLINE {
    if (maps_layout_fits<W>(s))
      conv_maps_forward<W>(out, in, w, bias, s, n, relu, scratch);
    else
      conv_rows_forward<W>(out, in, w, bias, s, n, relu, scratch);
  });
}

void conv2d_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, const Conv2dShape& s, int n, Scratch scratch) {
  // d_out (n, out_c, out_h, out_w) -> d_in (n, in_c, in_h, in_w); d_weight, d_bias accumulate
  assert_shape(s, n);
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k, kk = s.k * s.k;
  const float* w = dense_weights(weight, s, scratch);
  float* dw = d_weight;
  if (s.table) {
    const auto [dense] = dense_weights_scratch(s);
    dw = scratch.take(dense);
    std::fill(dw, dw + dense, 0.0f);
  }
  simd::dispatch([&]<int W>() LENET_INLINE {
    if (ohw == 1) {  // C5: one value per map and sample, so the vectors run across the maps
      for (int b = 0; b < n; ++b)
        for (int o = 0; o < s.out_c; o += W) {
          const int m = std::min(W, s.out_c - o);
          // + 0.0f: the value simd::sum gives for one element (0 + x, which turns −0 into +0)
          const simd::Vec<W> g = simd::load_n<W>(d_out + std::size_t(b) * s.out_c + o, m) + 0.0f;
          simd::store_n<W>(d_bias + o, simd::load_n<W>(d_bias + o, m) + g, m);
        }
      return;
    }
    for (int b = 0; b < n; ++b)
      for (int o = 0; o < s.out_c; ++o)
        d_bias[o] += simd::sum<W>(d_out + (std::size_t(b) * s.out_c + o) * ohw, ohw);
  });
  if (ohw == 1) {
    gemm_tn(dw, d_out, in, s.out_c, ckk, n);
    if (d_in) {
      std::fill(d_in, d_in + std::size_t(n) * s.in_size(), 0.0f);
      gemm_nn(d_in, d_out, w, n, ckk, s.out_c);
    }
  } else {
    // The weight gradient and then the input gradient, each with the rest of the scratch.
    simd::dispatch([&]<int W>() LENET_INLINE {
      if constexpr (W >= 8)
        if (maps_weight_grad_fits<W>(s)) {  // vectors across maps, from d_out in maps-last order
          conv_maps_weight_grad<W>(dw, d_out, in, s, n, scratch);
          return;
        }
      if (s.k == kVecK)
        conv_rows_weight_grad<W>(dw, d_out, in, s, n, scratch);
      else
        im2col_weight_grad(dw, d_out, in, s, n, scratch);
    });
    if (d_in)
      simd::dispatch([&]<int W>() LENET_INLINE {
        if (s.k == kVecK)
          conv_flat_input_grad<W>(d_in, d_out, w, s, n, scratch);
        else if (input_grad_fits<W>(s))
          conv_rows_input_grad<W>(d_in, d_out, w, s, n, scratch);
        else
          im2col_input_grad(d_in, d_out, w, s, n, scratch);
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
                             const float* in, const float* weight, const Conv2dShape& s, int n,
                             Scratch scratch) {
  // d2_out (n, out_c, out_h, out_w) -> d2_in (n, in_c, in_h, in_w); d2_weight, d2_bias accumulate
  const std::size_t in_count = std::size_t(n) * s.in_size(), w_count = s.weight_count();
  float* in_sq = scratch.take(in_count);
  float* w_sq = scratch.take(w_count);
  for (std::size_t i = 0; i < in_count; ++i) in_sq[i] = in[i] * in[i];
  for (std::size_t i = 0; i < w_count; ++i) w_sq[i] = weight[i] * weight[i];
  conv2d_backward(d2_in, d2_weight, d2_bias, d2_out, in_sq, w_sq, s, n, scratch);
}

}  // namespace lenet

// Convolution kernels: the direct loops (reference, and readable) and the fast path, which lowers each
// sample to a matrix product (im2col + GEMM) and treats a 1×1 output (C5) as a full connection.
#include "lenet/conv2d.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "lenet/gemm.h"

namespace lenet {

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
                    int n) {
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
          out[((std::size_t(b) * s.out_c + o) * oh + y) * ow + x] = float(a);
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

// Per-thread scratch that only grows: after the first batch nothing is allocated.
struct ConvScratch {
  std::vector<float> dense_w, dense_dw, col, d_col;
  static float* grow(std::vector<float>& v, std::size_t count) {
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

}  // namespace

void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const Conv2dShape& s,
                    int n) {
  // in (n, in_c, in_h, in_w) -> out (n, out_c, out_h, out_w)
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k;
  const float* w = dense_weights(weight, s);
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < s.out_c; ++o) std::fill_n(out + (std::size_t(b) * s.out_c + o) * ohw, ohw, bias[o]);
  if (ohw == 1) {  // the kernel covers the whole input: a full connection, batched as one product
    gemm_nt(out, in, w, n, s.out_c, ckk);
    return;
  }
  float* col = ConvScratch::grow(scratch.col, std::size_t(ckk) * ohw);
  for (int b = 0; b < n; ++b) {
    im2col(col, in + std::size_t(b) * s.in_c * s.in_h * s.in_w, s);
    gemm_nn(out + std::size_t(b) * s.out_c * ohw, w, col, s.out_c, ohw, ckk);
  }
}

void conv2d_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, const Conv2dShape& s, int n) {
  // d_out (n, out_c, out_h, out_w) -> d_in (n, in_c, in_h, in_w); d_weight, d_bias accumulate
  const int ohw = s.out_h() * s.out_w(), ckk = s.in_c * s.k * s.k, kk = s.k * s.k;
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w;
  const float* w = dense_weights(weight, s);
  float* dw = d_weight;
  if (s.table) {
    dw = ConvScratch::grow(scratch.dense_dw, std::size_t(s.out_c) * ckk);
    std::fill(dw, dw + std::size_t(s.out_c) * ckk, 0.0f);
  }
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < s.out_c; ++o) {
      const float* g = d_out + (std::size_t(b) * s.out_c + o) * ohw;
      float sum = 0;
      for (int p = 0; p < ohw; ++p) sum += g[p];
      d_bias[o] += sum;
    }
  if (ohw == 1) {
    gemm_tn(dw, d_out, in, s.out_c, ckk, n);
    if (d_in) {
      std::fill(d_in, d_in + std::size_t(n) * in_size, 0.0f);
      gemm_nn(d_in, d_out, w, n, ckk, s.out_c);
    }
  } else {
    float* col = ConvScratch::grow(scratch.col, std::size_t(ckk) * ohw);
    float* d_col = d_in ? ConvScratch::grow(scratch.d_col, std::size_t(ckk) * ohw) : nullptr;
    for (int b = 0; b < n; ++b) {
      const float* g = d_out + std::size_t(b) * s.out_c * ohw;
      im2col(col, in + std::size_t(b) * in_size, s);
      gemm_nt(dw, g, col, s.out_c, ckk, ohw);
      if (d_in) {
        std::fill(d_col, d_col + std::size_t(ckk) * ohw, 0.0f);
        gemm_tn(d_col, w, g, ckk, ohw, s.out_c);
        float* di = d_in + std::size_t(b) * in_size;
        std::fill(di, di + in_size, 0.0f);
        col2im_add(di, d_col, s);
      }
    }
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

// Full connection kernels: the fast path is three matrix products over the batch, the naive one
// the defining sums.
#include "lenet/linear.h"

#include <algorithm>
#include <cassert>
#include <cstddef>

#include "lenet/gemm.h"

namespace lenet {

void linear_forward(float* out, const float* in, const float* weight, const float* bias, int in_f, int out_f,
                    int n) {
  // in (n, in_f) -> out (n, out_f)
  assert(in_f > 0 && out_f > 0 && n >= 0);
  for (int b = 0; b < n; ++b) std::copy(bias, bias + out_f, out + std::size_t(b) * out_f);
  gemm_nt(out, in, weight, n, out_f, in_f);
}

void linear_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, int in_f, int out_f, int n) {
  // d_out (n, out_f) -> d_in (n, in_f); d_weight (out_f, in_f), d_bias (out_f) accumulate
  assert(in_f > 0 && out_f > 0 && n >= 0);
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < out_f; ++o) d_bias[o] += d_out[std::size_t(b) * out_f + o];
  gemm_tn(d_weight, d_out, in, out_f, in_f, n);
  if (d_in) {
    std::fill(d_in, d_in + std::size_t(n) * in_f, 0.0f);
    gemm_nn(d_in, d_out, weight, n, in_f, out_f);
  }
}

std::size_t linear_backward_hessian_scratch(int in_f, int out_f, int n) {
  return Scratch::rounded(std::size_t(n) * in_f) + Scratch::rounded(std::size_t(out_f) * in_f);
}

void linear_backward_hessian(float* d2_in, float* d2_weight, float* d2_bias, const float* d2_out,
                             const float* in, const float* weight, int in_f, int out_f, int n,
                             Scratch scratch) {
  // d2_out (n, out_f) -> d2_in (n, in_f); d2_weight, d2_bias accumulate
  assert(in_f > 0 && out_f > 0 && n >= 0);
  const std::size_t in_count = std::size_t(n) * in_f, w_count = std::size_t(out_f) * in_f;
  float* in_sq = scratch.take(in_count);
  float* w_sq = scratch.take(w_count);
  for (std::size_t i = 0; i < in_count; ++i) in_sq[i] = in[i] * in[i];
  for (std::size_t i = 0; i < w_count; ++i) w_sq[i] = weight[i] * weight[i];
  linear_backward(d2_in, d2_weight, d2_bias, d2_out, in_sq, w_sq, in_f, out_f, n);
}

namespace naive {

void linear_forward(float* out, const float* in, const float* weight, const float* bias, int in_f, int out_f,
                    int n) {
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < out_f; ++o) {
      double a = bias[o];
      for (int i = 0; i < in_f; ++i)
        a += double(weight[std::size_t(o) * in_f + i]) * in[std::size_t(b) * in_f + i];
      out[std::size_t(b) * out_f + o] = float(a);
    }
}

void linear_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, int in_f, int out_f, int n) {
  for (int o = 0; o < out_f; ++o) {
    double gb = 0;
    for (int b = 0; b < n; ++b) gb += d_out[std::size_t(b) * out_f + o];
    d_bias[o] += float(gb);
    for (int i = 0; i < in_f; ++i) {
      double gw = 0;
      for (int b = 0; b < n; ++b)
        gw += double(d_out[std::size_t(b) * out_f + o]) * in[std::size_t(b) * in_f + i];
      d_weight[std::size_t(o) * in_f + i] += float(gw);
    }
  }
  if (d_in)
    for (int b = 0; b < n; ++b)
      for (int i = 0; i < in_f; ++i) {
        double g = 0;
        for (int o = 0; o < out_f; ++o)
          g += double(d_out[std::size_t(b) * out_f + o]) * weight[std::size_t(o) * in_f + i];
        d_in[std::size_t(b) * in_f + i] = float(g);
      }
}

}  // namespace naive
}  // namespace lenet

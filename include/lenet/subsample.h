// The paper's subsampling layers S2 and S4: each 2×2 block is summed, multiplied by one trainable
// coefficient per map and shifted by one trainable bias per map (the squashing follows separately).
#pragma once
#include <cstddef>

namespace lenet {

struct PoolShape {
  static constexpr int kWindow = 2;  // each output reads a kWindow×kWindow block, blocks side by side
  int c = 1, in_h = 0, in_w = 0;
  int out_h() const { return in_h / kWindow; }
  int out_w() const { return in_w / kWindow; }
  int fan_in() const { return kWindow * kWindow; }                             // inputs each output sums
  std::size_t in_size() const { return std::size_t(c) * in_h * in_w; }         // floats per sample
  std::size_t out_size() const { return std::size_t(c) * out_h() * out_w(); }  // floats per sample
};

// in (n, c, h, w), coef (c), bias (c) -> out (n, c, h/2, w/2)
void subsample_forward(float* out, const float* in, const float* coef, const float* bias, const PoolShape& s,
                       int n);
// Assigns d_in (skipped when nullptr); adds into d_coef and d_bias.
void subsample_backward(float* d_in, float* d_coef, float* d_bias, const float* d_out, const float* in,
                        const float* coef, const PoolShape& s, int n);

// Gauss–Newton second derivatives: d2_in = coef²·d2_out for each input of a block (assigned, skipped
// when nullptr); d2_coef += Σ d2_out·(block sum)², the coefficient's one connection carrying the sum;
// d2_bias += Σ d2_out.
void subsample_backward_hessian(float* d2_in, float* d2_coef, float* d2_bias, const float* d2_out,
                                const float* in, const float* coef, const PoolShape& s, int n);

}  // namespace lenet

// Full connection (F6, and the modern network's output layer): out = W·in + b.
// Weight (out_f, in_f) row-major, as torch.nn.Linear stores it.
#pragma once
#include <cstddef>

#include "lenet/workspace.h"

namespace lenet {

// in (n, in_f), weight (out_f, in_f), bias (out_f) -> out (n, out_f)
void linear_forward(float* out, const float* in, const float* weight, const float* bias, int in_f, int out_f,
                    int n);
// Assigns d_in (skipped when nullptr); adds into d_weight and d_bias.
void linear_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, int in_f, int out_f, int n);

// Gauss–Newton second derivatives: d2_in = Σ w²·d2_out (assigned, skipped when nullptr),
// d2_weight += Σ d2_out·x², d2_bias += Σ d2_out. The squared inputs and weights go in `scratch`, at least
// linear_backward_hessian_scratch(in_f, out_f, n) floats.
std::size_t linear_backward_hessian_scratch(int in_f, int out_f, int n);
void linear_backward_hessian(float* d2_in, float* d2_weight, float* d2_bias, const float* d2_out,
                             const float* in, const float* weight, int in_f, int out_f, int n,
                             Scratch scratch);

namespace naive {
void linear_forward(float* out, const float* in, const float* weight, const float* bias, int in_f, int out_f,
                    int n);
void linear_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, int in_f, int out_f, int n);
}  // namespace naive

}  // namespace lenet

// Squashing functions, applied element-wise (in place allowed: out may equal in).
// Backward uses the forward's output, so only one buffer per layer is kept.
#pragma once
#include <cstddef>

namespace lenet {

// The paper's f(a) = A·tanh(S·a) with A = 1.7159, S = 2/3, so that f(±1) = ±1 (Appendix A).
inline constexpr float kTanhAmplitude = 1.7159f;
inline constexpr float kTanhSlope = 2.0f / 3.0f;

void scaled_tanh_forward(float* out, const float* in, std::size_t count);
// d_in = d_out · f'(a), with f'(a) = (S/A)·(A² − f(a)²). Assigns d_in (may equal d_out).
void scaled_tanh_backward(float* d_in, const float* d_out, const float* out, std::size_t count);

// Gauss–Newton: d2_in = f'(a)²·d2_out (the f·f'' term is dropped, keeping the estimate positive).
void scaled_tanh_backward_hessian(float* d2_in, const float* d2_out, const float* out, std::size_t count);

void relu_forward(float* out, const float* in, std::size_t count);
void relu_backward(float* d_in, const float* d_out, const float* out, std::size_t count);

// ReLU's f' is 0 or 1, so its f'² routes second derivatives exactly as relu_backward routes gradients.
inline void relu_backward_hessian(float* d2_in, const float* d2_out, const float* out, std::size_t count) {
  relu_backward(d2_in, d2_out, out, count);
}

}  // namespace lenet

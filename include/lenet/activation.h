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

void relu_forward(float* out, const float* in, std::size_t count);
void relu_backward(float* d_in, const float* d_out, const float* out, std::size_t count);

}  // namespace lenet

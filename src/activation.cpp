// Scaled tanh and ReLU, forward and backward, element-wise.
// The tanh derivative is recovered from the output, saving the pre-activation buffer.
#include "lenet/activation.h"

#include <cmath>

#include "lenet/simd.h"

namespace lenet {

LENET_KERNEL void scaled_tanh_forward(float* out, const float* in, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = kTanhAmplitude * std::tanh(kTanhSlope * in[i]);
}

LENET_KERNEL void scaled_tanh_backward(float* d_in, const float* d_out, const float* out, std::size_t count) {
  constexpr float kScale = kTanhSlope / kTanhAmplitude;
  constexpr float kA2 = kTanhAmplitude * kTanhAmplitude;
  for (std::size_t i = 0; i < count; ++i) d_in[i] = d_out[i] * kScale * (kA2 - out[i] * out[i]);
}

LENET_KERNEL void relu_forward(float* out, const float* in, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

LENET_KERNEL void relu_backward(float* d_in, const float* d_out, const float* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) d_in[i] = out[i] > 0.0f ? d_out[i] : 0.0f;
}

void scaled_tanh_backward_hessian(float* d2_in, const float* d2_out, const float* out, std::size_t count) {
  constexpr float kScale = kTanhSlope / kTanhAmplitude;
  constexpr float kA2 = kTanhAmplitude * kTanhAmplitude;
  for (std::size_t i = 0; i < count; ++i) {
    const float fprime = kScale * (kA2 - out[i] * out[i]);
    d2_in[i] = d2_out[i] * fprime * fprime;
  }
}

}  // namespace lenet

// Scaled tanh and ReLU, forward and backward, element-wise.
// The tanh derivative is recovered from the output, saving the pre-activation buffer.
#include "lenet/activation.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "lenet/simd.h"

namespace lenet {

namespace {

// tanh without a libm call, so that the loop vectorises: for |t| ≥ 1/16, tanh|t| = (1 − e)/(1 + e) with
// e = exp(−2|t|) = 2^k·2^r, k integer and r ∈ (−1, 0], 2^r by its Taylor series in r·ln 2 to degree 9
// (error < 1e-8); below 1/16 the odd Taylor series of tanh to degree 7 (error < 1e-12), which avoids
// the cancellation in 1 − e. Largest error against double tanh: about 1 float ulp near 1.
inline float fast_tanh(float t) {
  const float a = std::fabs(t) < 9.0f ? std::fabs(t) : 9.0f;  // tanh(9) = 1 − 3e-8: float 1
  const float y = -2.0f * a * 1.44269504088896341f;           // log2(e^(−2a)) ∈ [−26, 0]
  const int k = int(y);                                       // truncation: r = y − k ∈ (−1, 0]
  const float x = (y - float(k)) * 0.69314718055994531f;      // 2^r = e^x, x ∈ (−0.7, 0]
  float p = 1.0f / 362880.0f;
  p = p * x + 1.0f / 40320.0f;
  p = p * x + 1.0f / 5040.0f;
  p = p * x + 1.0f / 720.0f;
  p = p * x + 1.0f / 120.0f;
  p = p * x + 1.0f / 24.0f;
  p = p * x + 1.0f / 6.0f;
  p = p * x + 0.5f;
  p = p * x + 1.0f;
  p = p * x + 1.0f;
  std::int32_t bits = (k + 127) << 23;  // 2^k as a float's exponent field; k ≥ −26
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float e = p * scale;
  const float large = (1.0f - e) / (1.0f + e);
  const float a2 = a * a;
  const float small = a * (1.0f + a2 * (-1.0f / 3.0f + a2 * (2.0f / 15.0f + a2 * (-17.0f / 315.0f))));
  const float r = a < 0.0625f ? small : large;
  return std::copysign(r, t);
}

}  // namespace

LENET_KERNEL void scaled_tanh_forward(float* out, const float* in, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = kTanhAmplitude * fast_tanh(kTanhSlope * in[i]);
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

// Scaled tanh and ReLU, forward and backward, element-wise.
// The tanh derivative is recovered from the output, saving the pre-activation buffer.
#include "lenet/activation.h"

#include <cstdint>

#include "lenet/simd.h"

namespace lenet {

namespace {

// tanh without a libm call, W lanes at a time: for |t| ≥ 1/16, tanh|t| = (1 − e)/(1 + e) with
// e = exp(−2|t|) = 2^k·2^r, k integer and r ∈ (−1, 0], 2^r by its Taylor series in r·ln 2 to degree 9
// (error < 1e-8); below 1/16 the odd Taylor series of tanh to degree 7 (error < 1e-12), which avoids
// the cancellation in 1 − e. Largest error against double tanh: about 1 float ulp near 1. A NaN stays
// NaN (so divergence is still seen downstream).
template <int W>
LENET_INLINE inline simd::Vec<W> fast_tanh(const simd::Vec<W>& t) {
  using V = simd::Vec<W>;
  using I = simd::IVec<W>;
  const I sign_bit = I{} + std::int32_t(0x80000000u);
  const I t_bits = simd::bit_cast<I>(t);
  const V abs_t = simd::bit_cast<V>(t_bits & ~sign_bit);
  const V a = abs_t < 9.0f ? abs_t : V{} + 9.0f;   // tanh(9) = 1 − 3e-8: float 1
  const V y = a * (-2.0f * 1.44269504088896341f);  // log2(e^(−2a)) ∈ [−26, 0]
  const I k = __builtin_convertvector(y, I);       // truncation: r = y − k ∈ (−1, 0]
  const V x = (y - __builtin_convertvector(k, V)) * 0.69314718055994531f;  // 2^r = e^x, x ∈ (−0.7, 0]
  V p = V{} + 1.0f / 362880.0f;
  p = p * x + 1.0f / 40320.0f;
  p = p * x + 1.0f / 5040.0f;
  p = p * x + 1.0f / 720.0f;
  p = p * x + 1.0f / 120.0f;
  p = p * x + 1.0f / 24.0f;
  p = p * x + 1.0f / 6.0f;
  p = p * x + 0.5f;
  p = p * x + 1.0f;
  p = p * x + 1.0f;
  const V e = p * simd::bit_cast<V>((k + 127) << 23);  // 2^k as a float's exponent field; k ≥ −26
  const V large = (1.0f - e) / (1.0f + e);
  const V a2 = a * a;
  const V small = a * (1.0f + a2 * (-1.0f / 3.0f + a2 * (2.0f / 15.0f + a2 * (-17.0f / 315.0f))));
  const V r = a < 0.0625f ? small : large;
  const V signed_r = simd::bit_cast<V>(simd::bit_cast<I>(r) | (t_bits & sign_bit));
  return t == t ? signed_r : t;
}

}  // namespace

void scaled_tanh_forward(float* out, const float* in, std::size_t count) {
  simd::dispatch([&]<int W>() LENET_INLINE {
    std::size_t i = 0;
    for (; i + W <= count; i += W)
      simd::store<W>(out + i, kTanhAmplitude * fast_tanh<W>(kTanhSlope * simd::load<W>(in + i)));
    if (i < count) {
      const int rest = int(count - i);
      simd::store_n<W>(out + i, kTanhAmplitude * fast_tanh<W>(kTanhSlope * simd::load_n<W>(in + i, rest)),
                       rest);
    }
  });
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

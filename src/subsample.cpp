// Trainable 2×2 subsampling (S2, S4 in the 1998 paper): out = coef · (sum of the 2×2 block) + bias.
// The derivative of each input in a block is the same: d_out · coef.
#include "lenet/subsample.h"

#include <cstddef>

namespace lenet {

void subsample_forward(float* out, const float* in, const float* coef, const float* bias, const PoolShape& s,
                       int n) {
  // in (n, c, h, w) -> out (n, c, h/2, w/2)
  const int oh = s.out_h(), ow = s.out_w();
  for (int b = 0; b < n; ++b)
    for (int c = 0; c < s.c; ++c) {
      const float* p = in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w;
      float* q = out + (std::size_t(b) * s.c + c) * oh * ow;
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          const float* r0 = p + (2 * y) * s.in_w + 2 * x;
          const float* r1 = r0 + s.in_w;
          q[y * ow + x] = coef[c] * (r0[0] + r0[1] + r1[0] + r1[1]) + bias[c];
        }
    }
}

void subsample_backward(float* d_in, float* d_coef, float* d_bias, const float* d_out, const float* in,
                        const float* coef, const PoolShape& s, int n) {
  // d_out (n, c, h/2, w/2) -> d_in (n, c, h, w); d_coef, d_bias accumulate
  const int oh = s.out_h(), ow = s.out_w();
  for (int c = 0; c < s.c; ++c) {
    float gc = 0, gb = 0;
    for (int b = 0; b < n; ++b) {
      const float* p = in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w;
      const float* g = d_out + (std::size_t(b) * s.c + c) * oh * ow;
      float* dp = d_in ? d_in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w : nullptr;
      if (dp)
        for (int t = 0; t < s.in_h * s.in_w; ++t) dp[t] = 0.0f;  // odd trailing row/column gets no gradient
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          const float* r0 = p + (2 * y) * s.in_w + 2 * x;
          const float* r1 = r0 + s.in_w;
          const float go = g[y * ow + x];
          gc += go * (r0[0] + r0[1] + r1[0] + r1[1]);
          gb += go;
          if (dp) {
            float* d0 = dp + (2 * y) * s.in_w + 2 * x;
            float* d1 = d0 + s.in_w;
            d0[0] = d0[1] = d1[0] = d1[1] = go * coef[c];
          }
        }
    }
    d_coef[c] += gc;
    d_bias[c] += gb;
  }
}

void subsample_backward_hessian(float* d2_in, float* d2_coef, float* d2_bias, const float* d2_out,
                                const float* in, const float* coef, const PoolShape& s, int n) {
  // d2_out (n, c, h/2, w/2) -> d2_in (n, c, h, w); d2_coef, d2_bias accumulate
  const int oh = s.out_h(), ow = s.out_w();
  for (int c = 0; c < s.c; ++c) {
    float hc = 0, hb = 0;
    const float c2 = coef[c] * coef[c];
    for (int b = 0; b < n; ++b) {
      const float* p = in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w;
      const float* h = d2_out + (std::size_t(b) * s.c + c) * oh * ow;
      float* dp = d2_in ? d2_in + (std::size_t(b) * s.c + c) * s.in_h * s.in_w : nullptr;
      if (dp)
        for (int t = 0; t < s.in_h * s.in_w; ++t) dp[t] = 0.0f;
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          const float* r0 = p + (2 * y) * s.in_w + 2 * x;
          const float* r1 = r0 + s.in_w;
          const float sum = r0[0] + r0[1] + r1[0] + r1[1];
          const float ho = h[y * ow + x];
          hc += ho * sum * sum;
          hb += ho;
          if (dp) {
            float* d0 = dp + (2 * y) * s.in_w + 2 * x;
            float* d1 = d0 + s.in_w;
            d0[0] = d0[1] = d1[0] = d1[1] = ho * c2;
          }
        }
    }
    d2_coef[c] += hc;
    d2_bias[c] += hb;
  }
}

}  // namespace lenet

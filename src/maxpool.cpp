// 2×2/2 max pooling. Ties go to the first of the block in row-major order, as in PyTorch,
// so the gradient path matches the reference.
#include "lenet/maxpool.h"

#include <algorithm>
#include <cstddef>

namespace lenet {

void maxpool_forward(float* out, std::int32_t* argmax, const float* in, const PoolShape& s, int n) {
  // in (n, c, h, w) -> out (n, c, h/2, w/2)
  const int oh = s.out_h(), ow = s.out_w();
  for (std::size_t plane = 0; plane < std::size_t(n) * s.c; ++plane) {
    const float* p = in + plane * s.in_h * s.in_w;
    float* q = out + plane * oh * ow;
    std::int32_t* am = argmax + plane * oh * ow;
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        int best = (2 * y) * s.in_w + 2 * x;
        for (int idx : {best + 1, best + s.in_w, best + s.in_w + 1})
          if (p[idx] > p[best]) best = idx;
        q[y * ow + x] = p[best];
        am[y * ow + x] = best;
      }
  }
}

void maxpool_backward(float* d_in, const float* d_out, const std::int32_t* argmax, const PoolShape& s,
                      int n) {
  // d_out (n, c, h/2, w/2) -> d_in (n, c, h, w)
  const int ohw = s.out_h() * s.out_w();
  std::fill(d_in, d_in + std::size_t(n) * s.c * s.in_h * s.in_w, 0.0f);
  for (std::size_t plane = 0; plane < std::size_t(n) * s.c; ++plane) {
    float* dp = d_in + plane * s.in_h * s.in_w;
    for (int t = 0; t < ohw; ++t) dp[argmax[plane * ohw + t]] += d_out[plane * ohw + t];
  }
}

}  // namespace lenet

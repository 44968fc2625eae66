// 2×2 max pooling with stride 2 (the modern network's S2 and S4).
// Forward records which input won each block, so backward routes the gradient there alone.
#pragma once
#include <cstdint>

#include "lenet/subsample.h"  // PoolShape

namespace lenet {

// in (n, c, h, w) -> out (n, c, h/2, w/2), argmax (n, c, h/2, w/2): index of the winner within its plane
void maxpool_forward(float* out, std::int32_t* argmax, const float* in, const PoolShape& s, int n);
// Assigns d_in.
void maxpool_backward(float* d_in, const float* d_out, const std::int32_t* argmax, const PoolShape& s, int n);

// Second derivatives follow the winner exactly as gradients do.
inline void maxpool_backward_hessian(float* d2_in, const float* d2_out, const std::int32_t* argmax,
                                     const PoolShape& s, int n) {
  maxpool_backward(d2_in, d2_out, argmax, s, n);
}

}  // namespace lenet

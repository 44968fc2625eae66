// The 1998 output layer: one Euclidean radial basis function unit per class,
// y_i = Σ_j (x_j − w_ij)², with fixed ±1 prototypes drawn as 7×12 digit bitmaps (the paper's Fig. 3).
#pragma once
#include <array>
#include <string_view>

namespace lenet {

inline constexpr int kRbfClasses = 10;
inline constexpr int kRbfWidth = 7, kRbfHeight = 12, kRbfInputs = kRbfWidth * kRbfHeight;  // 84 = F6

// The drawings: '#' is +1 (ink), '.' is −1; kRbfBitmaps[digit][row] is one 7-character row.
extern const std::array<std::array<std::string_view, kRbfHeight>, kRbfClasses> kRbfBitmaps;

// The prototypes as (10, 84) floats, built once from the bitmaps.
const float* rbf_digit_prototypes();

// in (n, 84), prototypes (10, 84) -> out (n, 10): squared distances ("penalties", smaller is better)
void rbf_forward(float* out, const float* in, const float* prototypes, int n);
// d_in = Σ_i d_out_i · 2 (x − w_i). Assigns d_in. The prototypes are fixed, so they get no gradient.
void rbf_backward(float* d_in, const float* d_out, const float* in, const float* prototypes, int n);

// Gauss–Newton seed at F6's output. Each RBF unit's own curvature is ∂²y_i/∂x_j² = 2; weights (n, 10) say
// how much of each unit's curvature the loss keeps (≥ 0): d2_in_j = 2·Σ_i weights_i. Assigns d2_in.
void rbf_backward_hessian(float* d2_in, const float* weights, int n);

}  // namespace lenet

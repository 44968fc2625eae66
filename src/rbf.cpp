// Euclidean RBF output units with our hand-drawn 7×12 digit prototypes, in the spirit of the paper's
// Fig. 3: stylised, two pixels thick, so that similar digits stay far apart in the 84-d code space.
#include "lenet/rbf.h"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace lenet {

// clang-format off
const std::array<std::array<std::string_view, kRbfHeight>, kRbfClasses> kRbfBitmaps = {{
  {".......", "..###..", ".##.##.", ".#...#.", "##...##", "##...##", "##...##", "##...##", ".#...#.", ".##.##.", "..###..", "......."},  // 0
  {".......", "...##..", "..###..", ".####..", "...##..", "...##..", "...##..", "...##..", "...##..", "...##..", ".######", "......."},  // 1
  {".......", ".#####.", "##...##", ".....##", "....##.", "...##..", "..##...", ".##....", "##.....", "##.....", "#######", "......."},  // 2
  {".......", "######.", ".....##", ".....##", ".....##", "..####.", ".....##", ".....##", ".....##", ".....##", "######.", "......."},  // 3
  {".......", "....##.", "...###.", "..####.", ".##.##.", "##..##.", "#######", "....##.", "....##.", "....##.", "....##.", "......."},  // 4
  {".......", "#######", "##.....", "##.....", "######.", ".....##", ".....##", ".....##", ".....##", "##...##", ".#####.", "......."},  // 5
  {".......", "..####.", ".##....", "##.....", "##.....", "######.", "##...##", "##...##", "##...##", "##...##", ".#####.", "......."},  // 6
  {".......", "#######", ".....##", "....##.", "....##.", "...##..", "...##..", "..##...", "..##...", "..##...", "..##...", "......."},  // 7
  {".......", ".#####.", "##...##", "##...##", "##...##", ".#####.", "##...##", "##...##", "##...##", "##...##", ".#####.", "......."},  // 8
  {".......", ".#####.", "##...##", "##...##", "##...##", "##...##", ".######", ".....##", ".....##", "....##.", ".####..", "......."},  // 9
}};
// clang-format on

const float* rbf_digit_prototypes() {
  static const std::vector<float> prototypes = [] {
    std::vector<float> p(kRbfClasses * kRbfInputs);
    for (int d = 0; d < kRbfClasses; ++d)
      for (int r = 0; r < kRbfHeight; ++r)
        for (int c = 0; c < kRbfWidth; ++c)
          p[d * kRbfInputs + r * kRbfWidth + c] = kRbfBitmaps[d][r][c] == '#' ? 1.0f : -1.0f;
    return p;
  }();
  return prototypes.data();
}

void rbf_forward(float* out, const float* in, const float* prototypes, int n) {
  // in (n, 84) -> out (n, 10)
  for (int b = 0; b < n; ++b) {
    const float* x = in + std::size_t(b) * kRbfInputs;
    for (int i = 0; i < kRbfClasses; ++i) {
      const float* w = prototypes + i * kRbfInputs;
      float y = 0;
      for (int j = 0; j < kRbfInputs; ++j) y += (x[j] - w[j]) * (x[j] - w[j]);
      out[std::size_t(b) * kRbfClasses + i] = y;
    }
  }
}

void rbf_backward(float* d_in, const float* d_out, const float* in, const float* prototypes, int n) {
  // d_out (n, 10) -> d_in (n, 84)
  for (int b = 0; b < n; ++b) {
    const float* x = in + std::size_t(b) * kRbfInputs;
    const float* g = d_out + std::size_t(b) * kRbfClasses;
    float* dx = d_in + std::size_t(b) * kRbfInputs;
    for (int j = 0; j < kRbfInputs; ++j) {
      float s = 0;
      for (int i = 0; i < kRbfClasses; ++i) s += g[i] * 2.0f * (x[j] - prototypes[i * kRbfInputs + j]);
      dx[j] = s;
    }
  }
}

void rbf_backward_hessian(float* d2_in, const float* weights, int n) {
  // weights (n, 10) -> d2_in (n, 84)
  for (int b = 0; b < n; ++b) {
    float sum = 0;
    for (int i = 0; i < kRbfClasses; ++i) sum += weights[std::size_t(b) * kRbfClasses + i];
    std::fill_n(d2_in + std::size_t(b) * kRbfInputs, kRbfInputs, 2.0f * sum);
  }
}

}  // namespace lenet

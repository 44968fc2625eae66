// Resampling by exact area coverage (a box filter), used to reduce large pictures and to scale a digit to
// the MNIST box.
#include "lenet/resample.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace lenet {

namespace {

// For each output index, the source indices it covers and the share of each: exact box-filter coverage.
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weight;  // count[i] weights from offset[i]
  std::vector<int> offset;
};

Taps area_taps(int out_n, int in_n) {
  Taps t;
  const double step = double(in_n) / out_n;
  for (int o = 0; o < out_n; ++o) {
    const double lo = o * step, hi = (o + 1) * step;
    const int a = int(std::floor(lo)), b = std::min(in_n, int(std::ceil(hi)));
    t.first.push_back(a);
    t.count.push_back(b - a);
    t.offset.push_back(int(t.weight.size()));
    for (int i = a; i < b; ++i) {
      const double cover = std::min(hi, double(i + 1)) - std::max(lo, double(i));
      t.weight.push_back(float(cover / step));
    }
  }
  return t;
}

}  // namespace

void resample_area(float* out, int out_w, int out_h, const float* in, int in_w, int in_h) {
  const Taps tx = area_taps(out_w, in_w), ty = area_taps(out_h, in_h);
  std::vector<float> rows(std::size_t(out_w) * in_h);  // horizontal pass: in_h rows of out_w
  for (int y = 0; y < in_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      float s = 0;
      for (int k = 0; k < tx.count[x]; ++k) s += tx.weight[tx.offset[x] + k] * in[y * in_w + tx.first[x] + k];
      rows[std::size_t(y) * out_w + x] = s;
    }
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      float s = 0;
      for (int k = 0; k < ty.count[y]; ++k)
        s += ty.weight[ty.offset[y] + k] * rows[std::size_t(ty.first[y] + k) * out_w + x];
      out[std::size_t(y) * out_w + x] = s;
    }
}

}  // namespace lenet

// Resampling by exact area coverage (a box filter), used to reduce large pictures and to scale a digit to
// the MNIST box.
#include "lenet/resample.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

// Both passes in one sweep down the input: each input row is reduced horizontally once, then added into
// the (one or two, when reducing) output rows that cover it. Every output pixel gets the same products,
// added in the same order, as a horizontal pass over the whole picture followed by a vertical one, but a
// 12-Mpixel photo needs neither a float copy of itself (48 MB) nor an intermediate picture of in_h rows.
template <typename T>
void resample_rows(float* out, int out_w, int out_h, const T* in, int in_w, int in_h) {
  if (out_w == in_w && out_h == in_h) {
    // Each output pixel's one tap has weight 1 in both passes: 0 + 1·v, then 0 + 1·(that), exactly v (and
    // +0 for −0), without building the taps: the page finder resamples a small picture at its own size.
    for (std::size_t i = 0; i < std::size_t(out_w) * out_h; ++i) out[i] = 0.0f + float(in[i]);
    return;
  }
  const Taps tx = area_taps(out_w, in_w), ty = area_taps(out_h, in_h);
  std::fill(out, out + std::size_t(out_w) * out_h, 0.0f);
  std::vector<float> row(static_cast<std::size_t>(out_w));
  int lowest = 0;  // the first output row whose input rows are not all behind
  for (int y = 0; y < in_h; ++y) {
    const T* src = in + std::size_t(y) * in_w;
    for (int x = 0; x < out_w; ++x) {
      float s = 0;
      const float* wx = tx.weight.data() + tx.offset[x];
      for (int k = 0; k < tx.count[x]; ++k) s += wx[k] * float(src[tx.first[x] + k]);
      row[std::size_t(x)] = s;
    }
    while (lowest < out_h && ty.first[lowest] + ty.count[lowest] <= y) ++lowest;
    for (int o = lowest; o < out_h && ty.first[o] <= y; ++o) {
      const float wy = ty.weight[std::size_t(ty.offset[o] + y - ty.first[o])];
      float* dst = out + std::size_t(o) * out_w;
      for (int x = 0; x < out_w; ++x) dst[x] += wy * row[std::size_t(x)];
    }
  }
}

}  // namespace

void resample_area(float* out, int out_w, int out_h, const float* in, int in_w, int in_h) {
  resample_rows(out, out_w, out_h, in, in_w, in_h);
}

void resample_area(float* out, int out_w, int out_h, const std::uint8_t* in, int in_w, int in_h) {
  resample_rows(out, out_w, out_h, in, in_w, in_h);
}

}  // namespace lenet

// Slant correction of a row of writing (include/lenet/deskew.h): moments-based slant, as MNIST-style
// deskewing estimates it (x leaning by mu11 / mu02 per unit of height), and a shear of the ink map.
#include "lenet/deskew.h"

#include <algorithm>
#include <cmath>

namespace lenet {

double ink_slant(const InkMap& m, const Components& c, const std::vector<int>& members) {
  // Raw moments per component (sums of w, wx, wy, wxy, wyy), accumulated in one sweep of the map.
  struct Sums {
    double w = 0, x = 0, y = 0, xy = 0, yy = 0;
  };
  std::vector<char> wanted(c.list.size() + 1, 0);
  for (int k : members) wanted[std::size_t(k) + 1] = 1;
  std::vector<Sums> sums(c.list.size() + 1);
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x) {
      const std::size_t i = std::size_t(y) * m.width + x;
      const std::size_t label = std::size_t(c.labels[i]);
      if (!wanted[label] || m.ink[i] <= 0) continue;
      Sums& s = sums[label];
      const double w = m.ink[i];
      s.w += w, s.x += w * x, s.y += w * y, s.xy += w * x * y, s.yy += w * y * y;
    }
  // Central moments of each piece about its own centre, pooled.
  double mu11 = 0, mu02 = 0;
  for (const Sums& s : sums) {
    if (s.w <= 0) continue;
    const double cx = s.x / s.w, cy = s.y / s.w;
    mu11 += s.xy - s.w * cx * cy;
    mu02 += s.yy - s.w * cy * cy;
  }
  return mu02 > 0 ? mu11 / mu02 : 0;
}

Shear upright_shear(double slant, int height) {
  Shear s;
  s.slope = slant;
  s.offset = slant > 0 ? slant * (height - 1) : 0;
  return s;
}

InkMap shear_ink(const InkMap& m, const Components& c, const std::vector<int>& members, const Shear& s) {
  std::vector<char> wanted(c.list.size() + 1, 0);
  for (int k : members) wanted[std::size_t(k) + 1] = 1;
  InkMap out;
  out.width = m.width + int(std::ceil(std::abs(s.slope) * std::max(0, m.height - 1))) + 1;
  out.height = m.height;
  out.ink.assign(std::size_t(out.width) * out.height, 0.0f);
  out.threshold = m.threshold;
  out.scale = m.scale;
  out.dark_ink = m.dark_ink;
  out.source = m.source;
  auto ink_at = [&](int y, int x) {
    if (x < 0 || x >= m.width) return 0.0f;
    const std::size_t i = std::size_t(y) * m.width + x;
    return wanted[std::size_t(c.labels[i])] ? m.ink[i] : 0.0f;
  };
  for (int y = 0; y < m.height; ++y) {
    // Sheared column x' holds the original's x = x' - shift, between columns x0 and x0 + 1.
    const double shift = s.shift(y);
    const int whole = int(std::floor(shift));
    const float frac = float(shift - whole);  // of the original column x0 + 1 in x', from the left
    float* row = &out.ink[std::size_t(y) * out.width];
    for (int x = 0; x < out.width; ++x) {
      const int x0 = x - whole - 1;  // x' - shift lies in [x0, x0 + 1]
      row[x] = frac * ink_at(y, x0) + (1 - frac) * ink_at(y, x0 + 1);
    }
  }
  return out;
}

Box unshear(const Box& b, const Shear& s, int width) {
  // The box's corners go back to x - shift(y); its left and right edges lean, so the extremes are at its
  // top or bottom rows.
  const double top = s.shift(b.y), bottom = s.shift(std::max(b.y, b.bottom() - 1));
  const int x0 = std::max(0, int(std::floor(b.x - std::max(top, bottom))));
  const int x1 = std::min(width, int(std::ceil(b.right() - std::min(top, bottom))));
  return Box{x0, b.y, std::max(0, x1 - x0), b.h};
}

}  // namespace lenet

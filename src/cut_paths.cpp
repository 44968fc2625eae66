// Candidate cuts through a group of touching digits (include/lenet/cut_paths.h): straight cuts at the
// projection's minima, and bending cut paths from the contours' valleys, each the path across the least ink.
#include "lenet/cut_paths.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace lenet {

double CutPath::mean() const {
  return x.empty() ? 0.0 : std::accumulate(x.begin(), x.end(), 0.0) / double(x.size());
}

CutPath straight_cut(int x, const Box& box) {
  return CutPath{box.y, std::vector<int>(std::size_t(box.h), x)};
}

namespace {

// At most this many straight cuts (the lowest projection minima) and this many bending paths per group.
constexpr int kMaxStraightCuts = 10;
constexpr int kMaxPathCuts = 6;
// A cut no nearer than this many writing heights to the group's edges (a piece narrower is a sliver).
constexpr double kCutMargin = 0.12;
// A contour valley at least this deep (writing heights) below the contour on both sides, at most this
// many per contour; a path keeps within kPathReach heights of the column it starts from.
constexpr double kMinValleyDepth = 0.08;
constexpr int kMaxValleys = 3;
constexpr double kPathReach = 0.3;
// The cost of a path: the ink it crosses (0..1 per pixel) plus kBendCost per column it moves sideways
// (chosen on the evaluation's dev set among 0.05, 0.2, 0.5 and 1: 688, 691, 690, 692 of 900 numbers exact).
constexpr float kBendCost = 0.2f;
// A path that moves less than this share of the group's ink from one side to the other of a cut already
// found makes the same pieces.
constexpr double kSameCut = 0.01;

// The members' ink in the group's box, row-major, 0 elsewhere.
struct GroupInk {
  Box box;
  std::vector<float> ink;
  std::vector<double> row_sums;  // per row, prefix sums: row_sums[y * (w + 1) + x] = ink of columns < x
  double total = 0;
  float at(int x, int y) const { return ink[std::size_t(y) * std::size_t(box.w) + std::size_t(x)]; }
  double between(int y, int x0, int x1) const {  // ink of row y (local) in local columns [x0, x1)
    x0 = std::clamp(x0, 0, box.w), x1 = std::clamp(x1, 0, box.w);
    if (x1 <= x0) return 0;
    const std::size_t r = std::size_t(y) * std::size_t(box.w + 1);
    return row_sums[r + std::size_t(x1)] - row_sums[r + std::size_t(x0)];
  }
};

GroupInk group_ink(const InkMap& m, const Components& c, const std::vector<int>& members, const Box& box) {
  std::vector<char> member(c.list.size() + 1, 0);
  for (int k : members) member[std::size_t(k) + 1] = 1;
  GroupInk g;
  g.box = box;
  g.ink.assign(std::size_t(box.w) * std::size_t(box.h), 0.0f);
  g.row_sums.assign(std::size_t(box.w + 1) * std::size_t(box.h), 0.0);
  for (int y = 0; y < box.h; ++y) {
    double sum = 0;
    for (int x = 0; x < box.w; ++x) {
      const std::size_t i = std::size_t(box.y + y) * m.width + std::size_t(box.x + x);
      const float v = member[std::size_t(c.labels[i])] ? m.ink[i] : 0.0f;
      g.ink[std::size_t(y) * std::size_t(box.w) + std::size_t(x)] = v;
      sum += v;
      g.row_sums[std::size_t(y) * std::size_t(box.w + 1) + std::size_t(x + 1)] = sum;
    }
    g.total += sum;
  }
  return g;
}

// Straight cuts: local minima of the (smoothed) vertical projection, away from the edges, the lowest
// kMaxStraightCuts of them, as local columns left to right.
std::vector<int> projection_minima(const GroupInk& g, double height) {
  const int w = g.box.w;
  std::vector<double> proj(std::size_t(w), 0.0);
  for (int y = 0; y < g.box.h; ++y)
    for (int x = 0; x < w; ++x) proj[std::size_t(x)] += g.at(x, y);
  const int r = std::max(1, int(height / 30));
  std::vector<double> smooth(proj.size(), 0.0);
  for (int x = 0; x < w; ++x) {
    double s = 0;
    int count = 0;
    for (int k = std::max(0, x - r); k <= std::min(w - 1, x + r); ++k) s += proj[std::size_t(k)], ++count;
    smooth[std::size_t(x)] = s / count;
  }
  const int margin = std::max(1, int(kCutMargin * height));
  std::vector<std::pair<double, int>> minima;
  for (int x = margin; x < w - margin; ++x) {
    if (smooth[std::size_t(x)] > smooth[std::size_t(x - 1)]) continue;
    int end = x;  // a plateau counts once, at its middle
    while (end + 1 < w && smooth[std::size_t(end + 1)] == smooth[std::size_t(x)]) ++end;
    if (end + 1 < w && smooth[std::size_t(end + 1)] > smooth[std::size_t(x)])
      minima.push_back({smooth[std::size_t(x)], (x + end + 1) / 2});
    x = end;
  }
  std::sort(minima.begin(), minima.end());
  if (minima.size() > std::size_t(kMaxStraightCuts)) minima.resize(kMaxStraightCuts);
  std::vector<int> cuts;
  for (const auto& [value, x] : minima) cuts.push_back(x);
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

// Valleys of a contour, depth[x] = how far the ink starts inside the box from one side (from the top for
// the upper contour, from the bottom for the lower): columns where it starts deeper than on both sides,
// by at least kMinValleyDepth heights, the deepest kMaxValleys, as local columns.
std::vector<int> contour_valleys(const std::vector<int>& depth, double height) {
  const int w = int(depth.size());
  const int margin = std::max(1, int(kCutMargin * height)), reach = std::max(2, int(0.25 * height));
  std::vector<std::pair<int, int>> valleys;  // (-how deep, column)
  for (int x = margin; x < w - margin; ++x) {
    if (depth[std::size_t(x)] < depth[std::size_t(x - 1)]) continue;
    int end = x;
    while (end + 1 < w && depth[std::size_t(end + 1)] == depth[std::size_t(x)]) ++end;
    if (end + 1 >= w || depth[std::size_t(end + 1)] > depth[std::size_t(x)]) {
      x = end;
      continue;
    }
    int left = depth[std::size_t(x)], right = left;
    for (int k = std::max(0, x - reach); k < x; ++k) left = std::min(left, depth[std::size_t(k)]);
    for (int k = end + 1; k <= std::min(w - 1, end + reach); ++k)
      right = std::min(right, depth[std::size_t(k)]);
    const int below_sides = depth[std::size_t(x)] - std::max(left, right);
    if (below_sides >= kMinValleyDepth * height) valleys.push_back({-below_sides, (x + end) / 2});
    x = end;
  }
  std::sort(valleys.begin(), valleys.end());
  if (valleys.size() > std::size_t(kMaxValleys)) valleys.resize(kMaxValleys);
  std::vector<int> columns;
  for (const auto& [d, x] : valleys) columns.push_back(x);
  return columns;
}

// The path from local column x0 on the top row down (or on the bottom row up) that crosses the least ink,
// moving at most one column per row and keeping within `reach` columns of x0. Its cost goes to `cost`.
CutPath cheapest_path(const GroupInk& g, int x0, bool downwards, int reach, double& cost) {
  const int w = g.box.w, h = g.box.h;
  const int lo = std::max(0, x0 - reach), hi = std::min(w - 1, x0 + reach), band = hi - lo + 1;
  constexpr float kNone = std::numeric_limits<float>::infinity();
  std::vector<float> total(std::size_t(band) * std::size_t(h), kNone);
  std::vector<signed char> step(std::size_t(band) * std::size_t(h), 0);
  auto row_of = [&](int k) { return downwards ? k : h - 1 - k; };  // k-th row of the path's way
  total[std::size_t(x0 - lo)] = g.at(x0, row_of(0));
  for (int k = 1; k < h; ++k) {
    const int y = row_of(k);
    for (int b = 0; b < band; ++b) {
      float best = kNone;
      signed char from = 0;
      for (int d = -1; d <= 1; ++d) {
        if (b + d < 0 || b + d >= band) continue;
        const float t = total[std::size_t(k - 1) * band + std::size_t(b + d)] + (d ? kBendCost : 0.0f);
        if (t < best) best = t, from = static_cast<signed char>(d);
      }
      total[std::size_t(k) * band + std::size_t(b)] = best + g.at(lo + b, y);
      step[std::size_t(k) * band + std::size_t(b)] = from;
    }
  }
  const float* last = &total[std::size_t(h - 1) * band];
  int b = int(std::min_element(last, last + band) - last);
  cost = last[b];
  CutPath path{g.box.y, std::vector<int>(std::size_t(h), 0)};
  for (int k = h - 1; k >= 0; --k) {
    path.x[std::size_t(row_of(k))] = g.box.x + lo + b;
    b += step[std::size_t(k) * band + std::size_t(b)];
  }
  return path;
}

// Whether a path makes the same pieces as a cut already found: it moves less than kSameCut of the group's
// ink from one side to the other.
bool same_cut(const GroupInk& g, const CutPath& a, const CutPath& b) {
  double moved = 0;
  for (int y = 0; y < g.box.h; ++y) {
    const int xa = a.x[std::size_t(y)] - g.box.x, xb = b.x[std::size_t(y)] - g.box.x;
    moved += g.between(y, std::min(xa, xb), std::max(xa, xb));
  }
  return moved < kSameCut * g.total;
}

}  // namespace

std::vector<CutPath> candidate_cuts(const InkMap& m, const Components& c, const std::vector<int>& members,
                                    const Box& box, double height, long long& work) {
  const GroupInk g = group_ink(m, c, members, box);
  work += 2LL * box.w * box.h;
  std::vector<CutPath> cuts;
  const std::vector<int> minima = projection_minima(g, height);
  for (int x : minima) cuts.push_back(straight_cut(box.x + x, box));

  // Where the ink starts, from the top and from the bottom of each column (the box's height if nowhere).
  std::vector<int> from_top(std::size_t(box.w), box.h), from_bottom(std::size_t(box.w), box.h);
  for (int x = 0; x < box.w; ++x)
    for (int y = 0; y < box.h; ++y)
      if (g.at(x, y) > m.threshold) {
        from_top[std::size_t(x)] = std::min(from_top[std::size_t(x)], y);
        from_bottom[std::size_t(x)] = box.h - 1 - y;
      }
  std::vector<std::pair<int, bool>> starts;  // (local column, downwards)
  for (int x : contour_valleys(from_top, height)) starts.push_back({x, true});
  for (int x : contour_valleys(from_bottom, height)) starts.push_back({x, false});
  for (int x : minima) starts.push_back({x, true}), starts.push_back({x, false});

  const int reach = std::max(2, int(kPathReach * height));
  std::vector<std::pair<double, CutPath>> paths;
  for (const auto& [x, downwards] : starts) {
    double cost = 0;
    CutPath p = cheapest_path(g, x, downwards, reach, cost);
    work += 3LL * box.h * (2 * reach + 1);
    paths.push_back({cost, std::move(p)});
  }
  std::stable_sort(paths.begin(), paths.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  int added = 0;
  for (auto& entry : paths) {
    CutPath& p = entry.second;  // (clang 14, emscripten's, cannot capture a structured binding)
    if (added == kMaxPathCuts) break;
    const int margin = std::max(1, int(kCutMargin * height));
    const double mean = p.mean();
    if (mean < box.x + margin || mean > box.right() - margin) continue;
    if (std::any_of(cuts.begin(), cuts.end(), [&](const CutPath& q) { return same_cut(g, p, q); })) continue;
    cuts.push_back(std::move(p));
    ++added;
  }
  std::stable_sort(cuts.begin(), cuts.end(),
                   [](const CutPath& a, const CutPath& b) { return a.mean() < b.mean(); });
  return cuts;
}

MnistImage normalise_between(const InkMap& m, const Components& c, const std::vector<int>& members,
                             const Box& box, const CutPath& left, const CutPath& right, Box* crop_box) {
  *crop_box = Box{};
  if (box.w <= 0) return MnistImage{};
  std::vector<char> member(c.list.size() + 1, 0);
  for (int k : members) member[std::size_t(k) + 1] = 1;
  auto columns = [&](int y) {
    return std::pair{std::max(box.x, left.at(y)), std::min(box.right(), right.at(y))};
  };
  // The members' ink, cropped to where it actually is between the cuts.
  int cx0 = box.right(), cx1 = box.x - 1, cy0 = box.bottom(), cy1 = box.y - 1;
  for (int y = box.y; y < box.bottom(); ++y) {
    const auto [x0, x1] = columns(y);
    for (int x = x0; x < x1; ++x) {
      const std::size_t i = std::size_t(y) * m.width + x;
      if (!member[std::size_t(c.labels[i])] || m.ink[i] <= 0) continue;
      cx0 = std::min(cx0, x), cx1 = std::max(cx1, x), cy0 = std::min(cy0, y), cy1 = std::max(cy1, y);
    }
  }
  if (cx1 < cx0) return MnistImage{};
  const int cw = cx1 - cx0 + 1, ch = cy1 - cy0 + 1;
  *crop_box = Box{cx0, cy0, cw, ch};
  std::vector<float> crop(std::size_t(cw) * ch, 0.0f);
  for (int y = 0; y < ch; ++y) {
    const auto [x0, x1] = columns(cy0 + y);
    for (int x = std::max(x0, cx0); x < std::min(x1, cx0 + cw); ++x) {
      const std::size_t i = std::size_t(cy0 + y) * m.width + x;
      if (member[std::size_t(c.labels[i])]) crop[std::size_t(y) * cw + std::size_t(x - cx0)] = m.ink[i];
    }
  }
  return normalise_digit(crop.data(), cw, ch);
}

}  // namespace lenet

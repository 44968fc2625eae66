// The page in a picture of writing: the paper's level under the ink (a grey-level closing), the sheet
// apart from the table around it, and the lines of ruled and squared paper.
#include "lenet/page.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lenet/resample.h"

namespace lenet {

// Otsu's threshold on values in [0, top]: the cut that maximises the between-class variance.
// Not inlined: inlined, GCC kept the running maximum in the caller's variable in memory (a store and a
// load per value, each waiting for the last).
[[gnu::noinline]] float largest(const std::vector<float>& values) {
  float top = 0;
  for (float x : values) top = std::max(top, x);
  return top;
}

float otsu_threshold(const std::vector<float>& values, float top) {
  constexpr int kBins = 256;
  if (top <= 0) return 0;
  // Counted in four interleaved integer histograms: a picture's paper puts run after run of pixels in one
  // bin, and a single histogram of doubles made each count wait for the last one's store. The counts are
  // exact either way, so the sums below are the same bits.
  std::array<std::array<std::uint32_t, kBins>, 4> counts{};
  const auto bin = [top](float x) {
    return std::size_t(std::clamp(int(x / top * (kBins - 1) + 0.5f), 0, kBins - 1));
  };
  std::size_t i = 0;
  for (; i + 4 <= values.size(); i += 4)
    for (std::size_t k = 0; k < 4; ++k) ++counts[k][bin(values[i + k])];
  for (; i < values.size(); ++i) ++counts[0][bin(values[i])];
  std::array<double, kBins> hist{};
  for (int b = 0; b < kBins; ++b)
    hist[std::size_t(b)] = double(counts[0][std::size_t(b)]) + counts[1][std::size_t(b)] +
                           counts[2][std::size_t(b)] + counts[3][std::size_t(b)];
  double total = 0, sum = 0;
  for (int b = 0; b < kBins; ++b) {
    total += hist[b];
    sum += b * hist[b];
  }
  double w0 = 0, sum0 = 0, best = -1;
  int cut = 0;
  for (int b = 0; b < kBins - 1; ++b) {
    w0 += hist[b];
    sum0 += b * hist[b];
    const double w1 = total - w0;
    if (w0 == 0 || w1 == 0) continue;
    const double m0 = sum0 / w0, m1 = (sum - sum0) / w1;
    const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      cut = b;
    }
  }
  return (cut + 0.5f) / (kBins - 1) * top;
}

namespace {

// The paper's brightness under the ink, by a grey-level closing (dark ink: the largest level nearby, then
// the smallest of those) or opening (light ink) with a square window wider than any stroke. Unlike a
// smooth surface through the median, it does not assume that the ink is a minority of the pixels, and it
// follows what a photo adds: the edge of a hard shadow, a darker table around the sheet. Computed on the
// picture reduced to at most kBackgroundSide pixels a side (averaging out the sensor's noise), then
// interpolated back.
constexpr int kBackgroundSide = 256;
// The window's side, as a share of the picture's shorter side: wider than a marker's stroke in a tight
// crop (strokes are about a tenth of a digit's height, a fifth at most), narrower than the strip of
// table around a sheet in most photos.
constexpr double kBackgroundWindow = 0.2;

// A small window (a 28x28 picture's is 3 pixels each way) is scanned directly, a whole row at a time, which
// vectorises: 2r + 1 row operations per row against a queue's branches per pixel. The extreme of a set of
// values does not depend on how it is found, so both ways give the same bits.
constexpr int kDirectWindow = 8;

template <bool Max>
void running_extreme_direct(std::vector<float>& out, const std::vector<float>& in, int w, int h, int r,
                            bool along_rows) {
  const auto pick = [](float a, float b) { return Max ? std::max(a, b) : std::min(a, b); };
  for (int y = 0; y < h; ++y) {
    float* o = out.data() + std::size_t(y) * w;
    const float* row = in.data() + std::size_t(y) * w;
    std::copy(row, row + w, o);
    if (along_rows) {
      for (int d = 1; d <= r && d < w; ++d) {
        for (int x = 0; x + d < w; ++x) o[x] = pick(o[x], row[x + d]);
        for (int x = d; x < w; ++x) o[x] = pick(o[x], row[x - d]);
      }
    } else {
      for (int k = std::max(0, y - r); k <= std::min(h - 1, y + r); ++k) {
        const float* other = in.data() + std::size_t(k) * w;
        for (int x = 0; x < w; ++x) o[x] = pick(o[x], other[x]);
      }
    }
  }
}

// Running maximum (or minimum) over 2r + 1 pixels along rows (or columns), the window clipped at the ends.
// A monotonic queue of candidate positions makes it O(n) whatever r (each position enters and leaves once):
// the window is a fifth of the picture, so the O(n r) scan cost the web page ~30 ms per drawing.
void running_extreme(std::vector<float>& out, const std::vector<float>& in, int w, int h, int r,
                     bool along_rows, bool take_max) {
  out.resize(in.size());
  if (r <= kDirectWindow) {
    if (take_max)
      running_extreme_direct<true>(out, in, w, h, r, along_rows);
    else
      running_extreme_direct<false>(out, in, w, h, r, along_rows);
    return;
  }
  const int n = along_rows ? w : h, lines = along_rows ? h : w;
  const std::size_t step = along_rows ? 1 : std::size_t(w);
  std::vector<float> line(std::size_t(n), 0.0f);
  std::vector<int> queue(std::size_t(n), 0);  // positions whose values decrease (max) or increase (min)
  for (int l = 0; l < lines; ++l) {
    const std::size_t base = along_rows ? std::size_t(l) * w : std::size_t(l);
    for (int i = 0; i < n; ++i) line[std::size_t(i)] = in[base + std::size_t(i) * step];
    int head = 0, tail = 0, next = 0;
    for (int i = 0; i < n; ++i) {
      for (const int last = std::min(n - 1, i + r); next <= last; ++next) {
        const float v = line[std::size_t(next)];
        // A queued value that the new one equals or beats can never be the extreme again.
        while (tail > head && (take_max ? line[std::size_t(queue[std::size_t(tail - 1)])] <= v
                                        : line[std::size_t(queue[std::size_t(tail - 1)])] >= v))
          --tail;
        queue[std::size_t(tail++)] = next;
      }
      while (queue[std::size_t(head)] < i - r) ++head;
      out[base + std::size_t(i) * step] = line[std::size_t(queue[std::size_t(head)])];
    }
  }
}

}  // namespace

std::vector<float> paper_background(const std::vector<float>& grey, int w, int h, bool dark_ink) {
  const double f = std::max(1.0, double(std::max(w, h)) / kBackgroundSide);
  const int sw = std::max(1, int(std::lround(w / f))), sh = std::max(1, int(std::lround(h / f)));
  std::vector<float> small(std::size_t(sw) * sh), a, b;
  resample_area(small.data(), sw, sh, grey.data(), w, h);
  const int r = std::max(1, int(std::lround(kBackgroundWindow * std::min(sw, sh) / 2)));
  // Closing = dilation then erosion of the paper's level; for light ink on a dark board, the reverse.
  running_extreme(a, small, sw, sh, r, true, dark_ink);
  running_extreme(b, a, sw, sh, r, false, dark_ink);
  running_extreme(a, b, sw, sh, r, true, !dark_ink);
  running_extreme(b, a, sw, sh, r, false, !dark_ink);
  // Bilinear interpolation back to w × h, pixel centres aligned.
  std::vector<float> out(grey.size());
  const double fx = double(sw) / w, fy = double(sh) / h;
  // Each column's two source columns and weight, the same for every row: computed once.
  std::vector<int> left(static_cast<std::size_t>(w)), right(static_cast<std::size_t>(w));
  std::vector<float> weight(static_cast<std::size_t>(w));
  for (int x = 0; x < w; ++x) {
    const double sx = std::clamp((x + 0.5) * fx - 0.5, 0.0, double(sw - 1));
    left[std::size_t(x)] = int(sx);
    right[std::size_t(x)] = std::min(sw - 1, int(sx) + 1);
    weight[std::size_t(x)] = float(sx - int(sx));
  }
  for (int y = 0; y < h; ++y) {
    const double sy = std::clamp((y + 0.5) * fy - 0.5, 0.0, double(sh - 1));
    const int y0 = int(sy), y1 = std::min(sh - 1, y0 + 1);
    const float ty = float(sy - y0);
    for (int x = 0; x < w; ++x) {
      const int x0 = left[std::size_t(x)], x1 = right[std::size_t(x)];
      const float tx = weight[std::size_t(x)];
      const float top = b[std::size_t(y0) * sw + x0] * (1 - tx) + b[std::size_t(y0) * sw + x1] * tx;
      const float bottom = b[std::size_t(y1) * sw + x0] * (1 - tx) + b[std::size_t(y1) * sw + x1] * tx;
      out[std::size_t(y) * w + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

namespace {

// The pixels that reach the picture's edge without crossing region `region` (4-connected).
std::vector<char> reach_from_border(const std::vector<int>& label, int region, int sw, int sh) {
  const std::size_t n = label.size();
  const int best = region;
  std::vector<int> stack;
  std::vector<char> outside(n, 0);
  for (int y = 0; y < sh; ++y)
    for (int x = 0; x < sw; ++x) {
      if (x != 0 && y != 0 && x != sw - 1 && y != sh - 1) continue;
      const int i = y * sw + x;
      if (label[std::size_t(i)] == best || outside[std::size_t(i)]) continue;
      outside[std::size_t(i)] = 1;
      stack.push_back(i);
      while (!stack.empty()) {
        const int p = stack.back();
        stack.pop_back();
        const int px = p % sw, py = p / sw;
        const int nb[4][2] = {{px - 1, py}, {px + 1, py}, {px, py - 1}, {px, py + 1}};
        for (const auto& q : nb) {
          if (q[0] < 0 || q[1] < 0 || q[0] >= sw || q[1] >= sh) continue;
          const int qi = q[1] * sw + q[0];
          if (outside[std::size_t(qi)] || label[std::size_t(qi)] == best) continue;
          outside[std::size_t(qi)] = 1;
          stack.push_back(qi);
        }
      }
    }
  return outside;
}

}  // namespace

// The sheet in a photo that shows the table around it: the largest region of the reduced picture on the
// paper's side of Otsu's threshold, its holes (the writing) filled. When it is a clear sheet — between
// kSheetMin and kSheetMax of the picture, touching at most one of its edges, and brighter (for dark ink)
// than what lies around it — everything outside it, and a rim of kSheetRim of the picture's shorter side
// inside its outline (the outline itself and the shadow the sheet casts), is not writing. Returns a mask
// (1 = on the sheet) at w × h, or an empty vector when there is no such sheet.
constexpr double kSheetMin = 0.15;
constexpr double kSheetMax = 0.92;
constexpr double kSheetRim = 0.015;

std::vector<char> sheet_mask(const std::vector<float>& grey, int w, int h, bool dark_ink) {
  const double f = std::max(1.0, double(std::max(w, h)) / kBackgroundSide);
  const int sw = std::max(1, int(std::lround(w / f))), sh = std::max(1, int(std::lround(h / f)));
  if (sw < 16 || sh < 16) return {};
  std::vector<float> small(std::size_t(sw) * sh);
  resample_area(small.data(), sw, sh, grey.data(), w, h);
  // Paper side: brighter than Otsu's threshold for dark ink, darker for light ink.
  std::vector<float> level(small.size());
  for (std::size_t i = 0; i < small.size(); ++i) level[i] = dark_ink ? small[i] : 255.0f - small[i];
  const float top = largest(level);
  const float cut = otsu_threshold(level, top);
  const std::size_t n = small.size();
  std::vector<int> label(n, 0), stack;
  int best = 0, best_area = 0, next = 0, best_sides = 0;
  for (std::size_t s = 0; s < n; ++s) {
    if (label[s] || level[s] <= cut) continue;
    int area = 0, sides = 0;  // sides: the picture's edges it touches, one bit each
    label[s] = ++next;
    stack.push_back(int(s));
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      ++area;
      const int px = p % sw, py = p / sw;
      sides |= int(py == 0) | int(py == sh - 1) << 1 | int(px == 0) << 2 | int(px == sw - 1) << 3;
      const int nb[4][2] = {{px - 1, py}, {px + 1, py}, {px, py - 1}, {px, py + 1}};
      for (const auto& q : nb) {
        if (q[0] < 0 || q[1] < 0 || q[0] >= sw || q[1] >= sh) continue;
        const int qi = q[1] * sw + q[0];
        if (label[std::size_t(qi)] || level[std::size_t(qi)] <= cut) continue;
        label[std::size_t(qi)] = next;
        stack.push_back(qi);
      }
    }
    if (area > best_area) best_area = area, best = next, best_sides = sides;
  }
  // The sheet with its holes filled holds the region: if the region already reaches two of the picture's
  // edges, so does the sheet, which is then refused below (edges > 1). A scan or a drawing ends here.
  if (best == 0 || std::popcount(unsigned(best_sides)) > 1) return {};
  // Fill the sheet's holes: what cannot reach the picture's edge without crossing the sheet is on it.
  const std::vector<char> outside = reach_from_border(label, best, sw, sh);
  int inside_count = 0, edges = 0, outside_edges = 0;
  bool top_edge = false, bottom_edge = false, left_edge = false, right_edge = false;
  {
    bool t = false, bo = false, l = false, r = false;
    for (int x = 0; x < sw; ++x)
      t |= outside[std::size_t(x)] != 0, bo |= outside[std::size_t(sh - 1) * sw + x] != 0;
    for (int y = 0; y < sh; ++y)
      l |= outside[std::size_t(y) * sw] != 0, r |= outside[std::size_t(y) * sw + sw - 1] != 0;
    outside_edges = int(t) + int(bo) + int(l) + int(r);
  }
  double in_sum = 0, out_sum = 0;
  for (int y = 0; y < sh; ++y)
    for (int x = 0; x < sw; ++x) {
      const std::size_t i = std::size_t(y) * sw + x;
      if (outside[i]) {
        out_sum += level[i];
        continue;
      }
      ++inside_count;
      in_sum += level[i];
      top_edge |= y == 0, bottom_edge |= y == sh - 1, left_edge |= x == 0, right_edge |= x == sw - 1;
    }
  edges = int(top_edge) + int(bottom_edge) + int(left_edge) + int(right_edge);
  const double share = double(inside_count) / double(n);
  // A sheet on a table: the table shows on three sides at least, the sheet runs off one at most (a
  // shadow across a sheet that fills the frame splits it into parts that each reach two edges or more).
  if (share < kSheetMin || share > kSheetMax || edges > 1 || outside_edges < 3) return {};
  const double in_mean = in_sum / inside_count, out_mean = out_sum / double(n - std::size_t(inside_count));
  if (in_mean - out_mean < 0.1 * top) return {};
  // The rim: erode the sheet by kSheetRim of the shorter side (a square, in the reduced picture).
  const int rim = std::max(1, int(std::lround(kSheetRim * std::min(sw, sh))));
  std::vector<float> on(n), a, b;
  for (std::size_t i = 0; i < n; ++i) on[i] = outside[i] ? 0.0f : 1.0f;
  running_extreme(a, on, sw, sh, rim, true, false);
  running_extreme(b, a, sw, sh, rim, false, false);
  std::vector<char> mask(std::size_t(w) * h);
  for (int y = 0; y < h; ++y) {
    const int syy = std::min(sh - 1, int((y + 0.5) * sh / h));
    for (int x = 0; x < w; ++x) {
      const int sxx = std::min(sw - 1, int((x + 0.5) * sw / w));
      mask[std::size_t(y) * w + x] = b[std::size_t(syy) * sw + sxx] > 0.5f;
    }
  }
  return mask;
}

namespace {

// Ruled and squared paper: its lines are ink to every threshold, but they are long, thin and straight,
// which writing is not. Along each of a few directions near the horizontal (a photo's perspective tilts
// them), a run of ink longer than kRuleLength of the picture's width marks a line; it is removed where
// it is thin (at most kRuleThickness of the picture's height, across the line) and kept where a stroke
// crosses it (ink continues on both sides of the line). Only when at least two such lines are found
// (ruled paper has many; the bar of a 7 in a tight crop is one). Vertical lines the same way, by
// transposition. Returns the number of pixels removed.
constexpr double kRuleLength = 0.5;
constexpr double kRuleThickness = 0.012;
constexpr double kRuleMaxSlope = 0.08;
constexpr int kRuleGap = 3;

// std::lround for |v| < 2^31, exactly (halves away from zero), without its library call: the line search
// rounds a few million positions per picture. Outside (−1, 0), v − floor(v) is exact (Sterbenz), so the
// comparison with 0.5 is too; inside, v + 1 could round onto 0.5.
inline int round_half_away(double v) {
  if (v < 0 && v > -1) return v <= -0.5 ? -1 : 0;
  int f = int(v);  // towards zero
  if (double(f) > v) --f;
  const double d = v - f;
  return v >= 0 ? f + (d >= 0.5) : f + (d > 0.5);
}

// The scan lines near the horizontal along which near_on runs for at least kRuleLength of the width (gaps
// bridged): their pixels set in `line`, the row of each run's middle added to `centres`.
void find_rule_runs(std::vector<char>& line, std::vector<int>& centres, const std::vector<char>& near_on,
                    int w, int h) {
  const int min_run = int(kRuleLength * w);
  constexpr int kSlopes = 9;
  // The scan lines are y = y0 + slope x, rounded; only the near_on pixels can extend a run, so each scan
  // line's hits are gathered from them instead of walking every line through every pixel: the cost follows
  // the ink, not the picture (the web page's pad is mostly paper). The hits are listed row by row, and a
  // line's rows never decrease along x for a slope ≥ 0 (never increase for a slope < 0), so taking the rows
  // upwards (downwards) gives each line its hits in x order, and the sort below writes nearly in sequence.
  std::vector<int> hit_x, row_first(std::size_t(h) + 1, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x)
      if (near_on[std::size_t(y) * w + x]) hit_x.push_back(x);
    row_first[std::size_t(y) + 1] = int(hit_x.size());
  }
  // Calls f(x, y) for every hit, in the order above.
  const auto each_hit = [&](bool upwards, auto&& f) {
    for (int r = 0; r < h; ++r) {
      const int y = upwards ? r : h - 1 - r;
      for (int k = row_first[std::size_t(y)]; k < row_first[std::size_t(y) + 1]; ++k)
        f(hit_x[std::size_t(k)], y);
    }
  };
  std::vector<int> dy(std::size_t(w) + 1), first, xs(hit_x.size());
  std::vector<char> exact(std::size_t(w) + 1);
  for (int si = 0; si < kSlopes; ++si) {
    const double slope = kRuleMaxSlope * (2.0 * si / (kSlopes - 1) - 1);
    const int y_lo = slope > 0 ? -int(std::ceil(slope * w)) : 0;
    const int y_hi = slope < 0 ? h + int(std::ceil(-slope * w)) : h;
    const auto row_at = [slope](int y0, int x) { return round_half_away(y0 + slope * x); };
    // The line's row at x is the nearest integer to y0 + slope x, which is y0 + dy[x] unless slope x lies
    // within 1e-6 of a half (where the sum's rounding, and a tie's sign, decide): there it is computed.
    for (int x = 0; x <= w; ++x) {
      const double t = slope * x;
      dy[std::size_t(x)] = round_half_away(t);
      exact[std::size_t(x)] = std::abs(t - std::floor(t) - 0.5) < 1e-6;
    }
    // The scan line through pixel (x, y), or y_hi if none is (the rounding can skip a row).
    const auto line_through = [&](int x, int y) {
      const int y0 = y - dy[std::size_t(x)];
      if (!exact[std::size_t(x)]) return y0;
      for (int c = y0 - 1; c <= y0 + 1; ++c)
        if (row_at(c, x) == y) return c;
      return y_hi;
    };
    // Counting sort of the hits by scan line, keeping x order within each.
    const int lines = y_hi - y_lo;
    first.assign(std::size_t(lines) + 1, 0);
    each_hit(slope >= 0, [&](int x, int y) {
      const int y0 = line_through(x, y);
      if (y0 >= y_lo && y0 < y_hi) ++first[std::size_t(y0 - y_lo) + 1];
    });
    for (int l = 0; l < lines; ++l) first[std::size_t(l) + 1] += first[std::size_t(l)];
    std::vector<int> fill(first.begin(), first.end() - 1);
    each_hit(slope >= 0, [&](int x, int y) {
      const int y0 = line_through(x, y);
      if (y0 >= y_lo && y0 < y_hi) xs[std::size_t(fill[std::size_t(y0 - y_lo)]++)] = x;
    });
    for (int y0 = y_lo; y0 < y_hi; ++y0) {
      const int* x_begin = xs.data() + first[std::size_t(y0 - y_lo)];
      const int* x_end = xs.data() + first[std::size_t(y0 - y_lo) + 1];
      // A line faded or broken by the camera in places: gaps of up to kRuleGap pixels are bridged. A scan
      // line is inside the picture over one stretch of x, so between two of its hits it stays inside.
      for (const int* p = x_begin; p != x_end;) {
        const int start = *p;
        int last = *p++;
        while (p != x_end && *p - last <= kRuleGap + 1) last = *p++;
        const int end = last + 1;
        if (end - start < min_run) continue;
        centres.push_back(int(std::lround(y0 + slope * (start + end) / 2)));
        for (int k = start; k < end; ++k) {
          const int yy = exact[std::size_t(k)] ? row_at(y0, k) : y0 + dy[std::size_t(k)];
          if (yy >= 0 && yy < h) line[std::size_t(yy) * w + k] = 1;
        }
      }
    }
  }
}

int remove_horizontal_rules(std::vector<float>& ink, int w, int h, float threshold) {
  if (w < 40 || h < 40) return 0;
  const int max_thick = std::max(2, int(std::lround(kRuleThickness * h)));
  std::vector<char> on(ink.size()), line(ink.size(), 0);
  for (std::size_t i = 0; i < ink.size(); ++i) on[i] = ink[i] > threshold;
  // on, tolerant of a one-pixel step of a slanted line: a pixel or its neighbour above or below (computed
  // once: the search below asks it about nine times per pixel).
  std::vector<char> near_on(ink.size(), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::size_t i = std::size_t(y) * w + x;
      near_on[i] = on[i] || (y > 0 && on[i - std::size_t(w)]) || (y + 1 < h && on[i + std::size_t(w)]);
    }
  std::vector<int> centres;  // the row of each run's middle
  find_rule_runs(line, centres, near_on, w, h);
  // Each line is found at a few neighbouring offsets and slopes: count lines by their middles.
  std::sort(centres.begin(), centres.end());
  int distinct = 0;
  for (std::size_t k = 0; k < centres.size(); ++k)
    distinct += k == 0 || centres[k] - centres[k - 1] > max_thick + 2;
  if (distinct < 2) return 0;
  // Per column, each vertical run of ink that holds line pixels: removed if thin and not continued by a
  // stroke on both sides.
  int removed = 0;
  for (int x = 0; x < w; ++x) {
    int y = 0;
    while (y < h) {
      if (!on[std::size_t(y) * w + x]) {
        ++y;
        continue;
      }
      int end = y;
      bool has_line = false;
      while (end < h && on[std::size_t(end) * w + x]) has_line |= line[std::size_t(end++) * w + x] != 0;
      if (has_line && end - y <= max_thick) {
        // A stroke crossing the line continues above and below it (within two pixels, either side).
        auto stroke_at = [&](int yy) {
          if (yy < 0 || yy >= h) return false;
          for (int dx = -1; dx <= 1; ++dx)
            if (x + dx >= 0 && x + dx < w && on[std::size_t(yy) * w + x + dx] &&
                !line[std::size_t(yy) * w + x + dx])
              return true;
          return false;
        };
        const bool crossed = (stroke_at(y - 1) || stroke_at(y - 2)) && (stroke_at(end) || stroke_at(end + 1));
        if (!crossed)
          for (int k = y; k < end; ++k) {
            // The line's faint anti-aliased rim goes with it.
            for (int d = -1; d <= 1; ++d)
              if (k + d >= 0 && k + d < h) ink[std::size_t(k + d) * w + x] = 0;
            ++removed;
          }
      }
      y = end;
    }
  }
  return removed;
}

// In tiles of kTile x kTile, so that the writes down the columns of a photo-sized picture stay in cache.
std::vector<float> transposed(const std::vector<float>& in, int w, int h) {
  constexpr int kTile = 32;
  std::vector<float> out(in.size());
  for (int ty = 0; ty < h; ty += kTile)
    for (int tx = 0; tx < w; tx += kTile)
      for (int y = ty; y < std::min(h, ty + kTile); ++y)
        for (int x = tx; x < std::min(w, tx + kTile); ++x)
          out[std::size_t(x) * h + y] = in[std::size_t(y) * w + x];
  return out;
}

}  // namespace

int remove_rules(std::vector<float>& ink, int w, int h, float threshold) {
  int removed = remove_horizontal_rules(ink, w, h, threshold);
  std::vector<float> columns = transposed(ink, w, h);
  const int vertical = remove_horizontal_rules(columns, h, w, threshold);
  if (vertical > 0) ink = transposed(columns, h, w);
  return removed + vertical;
}

}  // namespace lenet

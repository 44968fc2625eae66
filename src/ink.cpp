// Ink extraction: the paper's lighting and noise removed from a grey picture, the ink scaled to 0..1, and
// the ink's connected components (which of them are writing).
#include "lenet/ink.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "lenet/page.h"
#include "lenet/resample.h"
#include "lenet/simd.h"

namespace lenet {

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw ImageError(source + ": " + what);
}

// Paper brightness as a quadratic surface over the picture, g ≈ c0 + c1 u + c2 v + c3 u² + c4 uv + c5 v²
// (u, v in [−1, 1]): enough for a linear lighting gradient and a camera's vignetting.
struct Surface {
  std::array<double, 6> c{};
  static std::array<double, 6> terms(double u, double v) { return {1, u, v, u * u, u * v, v * v}; }
  double at(double u, double v) const {
    const auto t = terms(u, v);
    double s = 0;
    for (int k = 0; k < 6; ++k) s += c[k] * t[k];
    return s;
  }
};

// Least squares by the normal equations and Gaussian elimination with partial pivoting; a tiny ridge on
// the non-constant terms keeps a degenerate (one-row, one-column) picture solvable.
// The sums of the normal equations (upper triangle and right-hand side) over the samples in use; returns
// how many. Each sum adds its products in sample order in both versions, so they give the same bits.
std::size_t normal_sums(double (&a)[6][7], const std::vector<float>& u, const std::vector<float>& v,
                        const std::vector<float>& g, const std::vector<char>& use) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!use[i]) continue;
    ++n;
    const auto t = Surface::terms(u[i], v[i]);
    for (int r = 0; r < 6; ++r) {
      for (int c = r; c < 6; ++c) a[r][c] += t[r] * t[c];
      a[r][6] += t[r] * g[i];
    }
  }
  return n;
}

#if LENET_X86_DISPATCH
// The same with each row of the matrix in one AVX-512 vector (lanes below the diagonal are computed and
// dropped): 7 vector multiply-adds per sample instead of 27 scalar ones, the fit's main cost on a small
// picture. Built with -ffp-contract=off (CMakeLists.txt), so a product and its sum stay two roundings.
typedef double D8 __attribute__((vector_size(64)));
__attribute__((target("avx512f"))) std::size_t normal_sums_avx512(double (&a)[6][7],
                                                                  const std::vector<float>& u,
                                                                  const std::vector<float>& v,
                                                                  const std::vector<float>& g,
                                                                  const std::vector<char>& use) {
  D8 rows[6] = {}, rhs = {};
  std::size_t n = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!use[i]) continue;
    ++n;
    const double x = u[i], y = v[i];
    const D8 t = {1, x, y, x * x, x * y, y * y, 0, 0};
    for (int r = 0; r < 6; ++r) rows[r] += t[r] * t;
    rhs += t * double(g[i]);
  }
  for (int r = 0; r < 6; ++r) {
    for (int c = r; c < 6; ++c) a[r][c] = rows[r][c];
    a[r][6] = rhs[r];
  }
  return n;
}
#endif

Surface fit_surface(const std::vector<float>& u, const std::vector<float>& v, const std::vector<float>& g,
                    const std::vector<char>& use) {
  double a[6][7] = {};
#if LENET_X86_DISPATCH
  const std::size_t n = simd::level() == simd::Level::Avx512 ? normal_sums_avx512(a, u, v, g, use)
                                                             : normal_sums(a, u, v, g, use);
#else
  const std::size_t n = normal_sums(a, u, v, g, use);
#endif
  // The matrix is symmetric (t[r] t[c] = t[c] t[r] exactly): the lower triangle is the upper one.
  for (int r = 1; r < 6; ++r)
    for (int c = 0; c < r; ++c) a[r][c] = a[c][r];
  Surface s;
  if (n == 0) return s;
  for (int r = 1; r < 6; ++r) a[r][r] += 1e-6 * double(n);
  for (int col = 0; col < 6; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 6; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    std::swap(a[col], a[pivot]);
    if (std::abs(a[col][col]) < 1e-12) continue;
    for (int r = 0; r < 6; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int c = col; c < 7; ++c) a[r][c] -= f * a[col][c];
    }
  }
  for (int k = 0; k < 6; ++k) s.c[k] = std::abs(a[k][k]) < 1e-12 ? 0.0 : a[k][6] / a[k][k];
  return s;
}

// At most this share of a sheet's pixels is writing or darker than the paper (writing, and the shadow of a
// hand or a phone across the sheet). A photo that shows a sheet on a table has hundreds of pixels a side;
// in a small scan, a white digit's strokes with their holes filled can pass for a sheet (white 8s and 9s
// upscaled from tiny scans did).
constexpr double kSheetMaxWriting = 0.35;
constexpr int kSheetPhotoMinSide = 200;

float median_of(std::vector<float> values) {
  if (values.empty()) return 0;
  auto mid = values.begin() + std::ptrdiff_t(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

// In a photo that shows the table, only the sheet can hold writing: the residual outside it is zeroed.
// Returns the paper's noise (robust σ) from the pixels on the paper's side of Otsu's threshold of the
// residual, whatever share of the picture the ink takes; that threshold goes to paper_cut.
float restrict_to_sheet(std::vector<float>& r, float& top, float& paper_cut, const std::vector<char>& sheet,
                        int step) {
  if (!sheet.empty()) {
    for (std::size_t i = 0; i < r.size(); ++i)
      if (!sheet[i]) r[i] = 0;
    top = largest(r);
  }
  paper_cut = otsu_threshold(r, top);
  std::vector<float> paper_side;
  for (std::size_t i = 0; i < r.size(); i += std::size_t(step))
    if (r[i] <= paper_cut) paper_side.push_back(r[i]);
  const float centre = median_of(paper_side);
  for (float& x : paper_side) x = std::abs(x - centre);
  return std::max(1.0f, 1.4826f * median_of(paper_side));
}

// The share of its minimum-area bounding rectangle that a region fills: near 1 for a sheet of paper (a
// quadrilateral, also under a phone's perspective: 0.9 for a trapezoid whose far side is 80% of its near
// one), π/4 for an ellipse, and less for a digit's strokes with their holes filled (a light 8 on a dark
// board, which the sheet finder can otherwise take for a sheet). The rectangle is the best one aligned
// with an edge of the convex hull of the region's rows (rotating calipers; Freeman & Shapira, 1975).
constexpr double kSheetMinRectangularity = 0.85;

double cross(const std::array<double, 2>& o, const std::array<double, 2>& a, const std::array<double, 2>& b) {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

double rectangularity(const std::vector<char>& mask, int w, int h) {
  std::vector<std::array<double, 2>> points;
  double area = 0;
  for (int y = 0; y < h; ++y) {
    const char* row = mask.data() + std::size_t(y) * std::size_t(w);
    int left = -1, right = -1;
    for (int x = 0; x < w; ++x)
      if (row[x]) {
        if (left < 0) left = x;
        right = x;
        ++area;
      }
    if (left < 0) continue;  // each pixel is a unit square: its row's outer corners
    for (const double yy : {double(y), y + 1.0}) {
      points.push_back({double(left), yy});
      points.push_back({right + 1.0, yy});
    }
  }
  if (points.size() < 3) return 0;
  // The convex hull (Andrew's monotone chain), counter-clockwise.
  std::sort(points.begin(), points.end());
  std::vector<std::array<double, 2>> hull(2 * points.size());
  std::size_t k = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
    hull[k++] = points[i];
  }
  for (std::size_t i = points.size() - 1, lower = k + 1; i-- > 0;) {
    while (k >= lower && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
    hull[k++] = points[i];
  }
  hull.resize(k - 1);
  double best = 0;
  for (std::size_t i = 0; i < hull.size(); ++i) {
    const auto& a = hull[i];
    const auto& b = hull[(i + 1) % hull.size()];
    const double ex = b[0] - a[0], ey = b[1] - a[1], len = std::hypot(ex, ey);
    if (len == 0) continue;
    double lo_u = 0, hi_u = 0, lo_v = 0, hi_v = 0;
    for (const auto& p : hull) {
      const double u = ((p[0] - a[0]) * ex + (p[1] - a[1]) * ey) / len;
      const double v = ((p[1] - a[1]) * ex - (p[0] - a[0]) * ey) / len;
      lo_u = std::min(lo_u, u), hi_u = std::max(hi_u, u), lo_v = std::min(lo_v, v), hi_v = std::max(hi_v, v);
    }
    const double rect = (hi_u - lo_u) * (hi_v - lo_v);
    if (best == 0 || rect < best) best = rect;
  }
  return best > 0 ? area / best : 0;
}

// A photo of a sheet on a darker table: the table can take more of the picture than the sheet, and against
// a surface fitted through both, the whole sheet stands out bright, as if it were light ink. The writing is
// on the sheet, so there the polarity is decided again from the sheet's own pixels: dark writing when they
// hold more mass far below their median than above it, and the dark pixels are a minority (a white digit
// on black has no dark minority of its own, or a large one: its holes), on a region shaped like a sheet.
// `sheet` is sheet_mask(grey, w, h, true).
bool dark_writing_on_a_sheet(const std::vector<float>& grey, const std::vector<char>& sheet, int w, int h) {
  if (sheet.empty() || rectangularity(sheet, w, h) < kSheetMinRectangularity) return false;
  std::vector<float> on_sheet;
  for (std::size_t i = 0; i < grey.size(); ++i)
    if (sheet[i]) on_sheet.push_back(grey[i]);
  const float centre = median_of(on_sheet);
  std::vector<float> spread(on_sheet.size());
  for (std::size_t i = 0; i < on_sheet.size(); ++i) spread[i] = std::abs(on_sheet[i] - centre);
  const float sigma = std::max(1.0f, 1.4826f * median_of(spread));
  double dark = 0, bright = 0;
  std::size_t dark_pixels = 0;
  for (float g : on_sheet) {
    dark += std::max(0.0f, centre - g - 3 * sigma);
    bright += std::max(0.0f, g - centre - 3 * sigma);
    dark_pixels += g < centre - 3 * sigma;
  }
  return dark > bright && double(dark_pixels) < kSheetMaxWriting * double(on_sheet.size());
}

// The sheet the writing lies on (sheet_mask; empty when there is no clear sheet), and in `dark_ink` the
// writing's polarity: the whole picture's (`picture_dark`), corrected for a sheet on a darker table. The
// sheet for dark writing is found once: it decides that polarity, and when it does, it is the sheet returned.
std::vector<char> sheet_and_polarity(const std::vector<float>& grey, int w, int h, bool picture_dark,
                                     bool& dark_ink) {
  dark_ink = picture_dark;
  if (!dark_ink && std::min(w, h) >= kSheetPhotoMinSide) {
    std::vector<char> sheet = sheet_mask(grey, w, h, true);
    dark_ink = dark_writing_on_a_sheet(grey, sheet, w, h);
    if (dark_ink) return sheet;
  }
  return sheet_mask(grey, w, h, dark_ink);
}

}  // namespace

InkMap extract_ink(const GreyImage& image) {
  InkMap map;
  map.source = image.source;
  if (image.width <= 0 || image.height <= 0) fail(image.source, "image has no pixels");

  // Work on at most kMaxWorkingSide pixels a side: a digit needs far fewer, and it bounds the time.
  const int longer = std::max(image.width, image.height);
  map.scale = longer > kMaxWorkingSide ? double(kMaxWorkingSide) / longer : 1.0;
  const int w = std::max(1, int(std::lround(image.width * map.scale)));
  const int h = std::max(1, int(std::lround(image.height * map.scale)));
  map.scale = double(w) / image.width;
  std::vector<float> grey;
  if (w == image.width && h == image.height) {
    grey.assign(image.pixels.begin(), image.pixels.end());
  } else {
    grey.resize(std::size_t(w) * h);
    resample_area(grey.data(), w, h, image.pixels.data(), image.width, image.height);
  }
  map.width = w;
  map.height = h;

  // The paper's lighting, fitted on up to ~10k sample pixels; each refit leaves out the pixels far from
  // the last fit (ink, either polarity), so the ink — a minority — does not pull the surface.
  const int step = std::max(1, int(std::sqrt(double(w) * h / 10000.0)));
  auto coord = [](int i, int n) { return n > 1 ? 2.0f * i / (n - 1) - 1.0f : 0.0f; };
  std::vector<float> su, sv, sg;
  for (int y = 0; y < h; y += step)
    for (int x = 0; x < w; x += step) {
      su.push_back(coord(x, w));
      sv.push_back(coord(y, h));
      sg.push_back(grey[std::size_t(y) * w + x]);
    }
  // The first estimate is the median (a constant): a least-squares surface through everything could bulge
  // into a digit that fills the picture.
  Surface paper;
  paper.c[0] = median_of(sg);
  std::vector<char> use(sg.size(), 1);
  std::vector<float> resid(sg.size());
  float sigma = 1;
  for (int iter = 0; iter < 6; ++iter) {
    if (iter > 0) paper = fit_surface(su, sv, sg, use);
    for (std::size_t i = 0; i < sg.size(); ++i) resid[i] = std::abs(sg[i] - float(paper.at(su[i], sv[i])));
    // Robust σ of the paper: 1.4826 × median absolute residual (ink is less than half the picture).
    sigma = std::max(1.0f, 1.4826f * median_of(resid));
    bool changed = false;
    for (std::size_t i = 0; i < sg.size(); ++i) {
      const char keep = resid[i] <= 2.5f * sigma;
      changed |= keep != use[i];
      use[i] = keep;
    }
    // The same pixels as last time give the same fit again: the later rounds could change nothing.
    if (!changed && iter > 0) break;
  }

  // Residual grey level of every pixel, and which tail the ink is in: the side with more mass beyond 3σ.
  std::vector<float> r(grey.size());
  double dark = 0, bright = 0;
  for (int y = 0; y < h; ++y) {
    // Along a row the surface is a quadratic in u: a0 + a1 u + a2 u².
    const double v = coord(y, h);
    const auto& c = paper.c;
    const double a0 = c[0] + c[2] * v + c[5] * v * v, a1 = c[1] + c[4] * v, a2 = c[3];
    for (int x = 0; x < w; ++x) {
      const std::size_t i = std::size_t(y) * w + x;
      const double u = coord(x, w);
      r[i] = grey[i] - float(a0 + (a1 + a2 * u) * u);
      dark += std::max(0.0f, -r[i] - 3 * sigma);
      bright += std::max(0.0f, r[i] - 3 * sigma);
    }
  }
  const std::vector<char> sheet = sheet_and_polarity(grey, w, h, dark >= bright, map.dark_ink);
  // The ink's contrast against the paper right around it (see paper_background), and the paper's noise
  // from the pixels on the paper's side of Otsu's threshold, whatever share of the picture the ink takes.
  const std::vector<float> background = paper_background(grey, w, h, map.dark_ink);
  for (std::size_t i = 0; i < r.size(); ++i)
    r[i] = std::max(0.0f, map.dark_ink ? background[i] - grey[i] : grey[i] - background[i]);
  float top = largest(r);
  float cut = 0;  // Otsu's threshold of r, between the paper and the ink
  sigma = restrict_to_sheet(r, top, cut, sheet, step);

  // Full ink = the median of the pixels above Otsu's threshold (a stroke's core, as in MNIST where most
  // stroke pixels are saturated); the paper's noise floor (3σ) maps to 0.
  std::vector<float> strong;
  for (float x : r)
    if (x > cut) strong.push_back(x);
  const float level = median_of(strong);
  if (strong.empty() || level < std::max(6 * sigma, 16.0f))
    fail(image.source, "no ink found (a blank or too faint picture: ink contrast " +
                           std::to_string(int(level)) + " grey levels, paper noise " +
                           std::to_string(int(sigma)) + ")");
  const float floor = std::min(3 * sigma, 0.5f * cut);
  const float span = level - floor;
  map.ink.resize(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) map.ink[i] = std::clamp((r[i] - floor) / span, 0.0f, 1.0f);
  map.threshold = std::clamp((cut - floor) / span, 0.05f, 0.95f);
  remove_rules(map.ink, w, h, map.threshold);
  return map;
}

// ---------------------------------------------------------------------------------------------------
// Components

Box unite(const Box& a, const Box& b) {
  if (a.w <= 0 || a.h <= 0) return b;
  if (b.w <= 0 || b.h <= 0) return a;
  const int x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
  return Box{x0, y0, std::max(a.right(), b.right()) - x0, std::max(a.bottom(), b.bottom()) - y0};
}

Components find_components(const InkMap& m) {
  const int w = m.width, h = m.height;
  Components c;
  c.labels.assign(std::size_t(w) * h, 0);
  std::vector<int> stack;
  struct Extent {
    int x0, y0, x1, y1;
  };
  std::vector<Extent> ext;
  for (int start = 0; start < w * h; ++start) {
    if (c.labels[start] || m.ink[start] <= m.threshold) continue;
    const std::int32_t label = std::int32_t(c.list.size()) + 1;
    Component comp;
    Extent e{w, h, -1, -1};
    c.labels[start] = label;
    stack.push_back(start);
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      const int px = p % w, py = p / w;
      ++comp.area;
      e = {std::min(e.x0, px), std::min(e.y0, py), std::max(e.x1, px), std::max(e.y1, py)};
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int qx = px + dx, qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
          const int q = qy * w + qx;
          if (c.labels[q] || m.ink[q] <= m.threshold) continue;
          c.labels[q] = label;
          stack.push_back(q);
        }
    }
    comp.box = Box{e.x0, e.y0, e.x1 - e.x0 + 1, e.y1 - e.y0 + 1};
    comp.touches_border = e.x0 == 0 || e.y0 == 0 || e.x1 == w - 1 || e.y1 == h - 1;
    c.list.push_back(comp);
    ext.push_back(e);
  }
  if (c.list.empty()) return c;

  // Grow each component into the faint ink around it (anti-aliased edges below the threshold), by a
  // radius proportional to the writing's size: breadth-first, so each edge pixel joins its nearest piece.
  std::vector<int> heights;
  for (const auto& comp : c.list) heights.push_back(comp.box.h);
  std::nth_element(heights.begin(), heights.begin() + std::ptrdiff_t(heights.size() / 2), heights.end());
  const int radius = std::max(1, int(std::lround(0.06 * heights[heights.size() / 2])));
  std::vector<int> frontier, next;
  for (int p = 0; p < w * h; ++p)
    if (c.labels[p]) frontier.push_back(p);
  for (int ring = 0; ring < radius && !frontier.empty(); ++ring) {
    next.clear();
    for (int p : frontier) {
      const int px = p % w, py = p / w;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int qx = px + dx, qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
          const int q = qy * w + qx;
          if (c.labels[q] || m.ink[q] <= 0) continue;
          c.labels[q] = c.labels[p];
          next.push_back(q);
          Extent& e = ext[std::size_t(c.labels[p] - 1)];
          e = {std::min(e.x0, qx), std::min(e.y0, qy), std::max(e.x1, qx), std::max(e.y1, qy)};
        }
    }
    std::swap(frontier, next);
  }
  for (std::size_t k = 0; k < c.list.size(); ++k)
    c.list[k].ink_box = Box{ext[k].x0, ext[k].y0, ext[k].x1 - ext[k].x0 + 1, ext[k].y1 - ext[k].y0 + 1};
  return c;
}

std::vector<int> significant_components(const Components& c, const InkMap& m) {
  std::vector<int> keep;
  if (c.list.empty()) return keep;
  int largest = 0;
  for (const auto& comp : c.list) largest = std::max(largest, comp.area);
  // Specks: far smaller than the main stroke (a detached stroke of a 5 or a 4 is still a sizeable part).
  const int min_area = std::max(3, int(0.02 * largest));
  for (int k = 0; k < int(c.list.size()); ++k)
    if (c.list[std::size_t(k)].area >= min_area) keep.push_back(k);
  // The edge of the paper or table in a photo: touches the border and covers half the picture; dropped
  // only when something else remains.
  const double picture = double(m.width) * m.height;
  std::vector<int> inner;
  for (int k : keep) {
    const Box& b = c.list[std::size_t(k)].box;
    if (!(c.list[std::size_t(k)].touches_border && double(b.w) * b.h >= 0.5 * picture)) inner.push_back(k);
  }
  if (!inner.empty()) keep = inner;
  std::sort(keep.begin(), keep.end(),
            [&](int a, int b) { return c.list[std::size_t(a)].box.x < c.list[std::size_t(b)].box.x; });
  return keep;
}

}  // namespace lenet

// The MNIST normalisation (20 px box, 28x28, centre of mass) of a digit's ink, and the whole way from a
// picture of one digit to what the network reads.
#include "lenet/normalise.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "lenet/resample.h"

namespace lenet {

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw ImageError(source + ": " + what);
}

// Stroke width of the ink above half level, as 2·area / perimeter (a stroke of width t and length l has
// area t·l and perimeter ≈ 2l).
double stroke_width(const float* ink, int w, int h) {
  long long area = 0, edges = 0;
  auto on = [&](int x, int y) { return x >= 0 && y >= 0 && x < w && y < h && ink[y * w + x] > 0.5f; };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (!on(x, y)) continue;
      ++area;
      edges += !on(x - 1, y) + !on(x + 1, y) + !on(x, y - 1) + !on(x, y + 1);
    }
  return edges ? 2.0 * double(area) / double(edges) : 0.0;
}

// out[i] = the largest of in[k] for |k − i| ≤ r, 0 ≤ k < n (and at least 0), along a row or column
// (`stride`): a queue of the candidates in decreasing order, so O(n) whatever r. Stroke thickening takes r
// up to about 5% of the digit's longer side, so an O(n·r) window made a tall thin piece cost seconds.
void window_max(float* out, const float* in, int n, std::ptrdiff_t stride, int r, std::vector<int>& queue) {
  queue.clear();
  std::size_t head = 0;
  int next = 0;
  for (int i = 0; i < n; ++i) {
    for (; next < n && next <= i + r; ++next) {
      while (queue.size() > head && in[queue.back() * stride] <= in[next * stride]) queue.pop_back();
      queue.push_back(next);
    }
    while (queue[head] < i - r) ++head;
    out[i * stride] = std::max(0.0f, in[queue[head] * stride]);
  }
}

// Grey-level dilation by a (2r+1)² square, separably; the image grows by r on every side.
std::vector<float> dilate(const float* ink, int w, int h, int r, int& out_w, int& out_h) {
  out_w = w + 2 * r;
  out_h = h + 2 * r;
  std::vector<float> padded(std::size_t(out_w) * out_h, 0.0f), tmp(padded.size(), 0.0f);
  for (int y = 0; y < h; ++y) std::copy(ink + y * w, ink + (y + 1) * w, padded.begin() + (y + r) * out_w + r);
  std::vector<int> queue;
  for (int y = 0; y < out_h; ++y)
    window_max(tmp.data() + std::size_t(y) * out_w, padded.data() + std::size_t(y) * out_w, out_w, 1, r,
               queue);
  for (int x = 0; x < out_w; ++x) window_max(padded.data() + x, tmp.data() + x, out_h, out_w, r, queue);
  return padded;
}

// MNIST strokes are about 1/10 of the digit's longer side (2 of 20 px); thinner than kMinStroke of it,
// a stroke fades to a faint trace in 20 px, so it is thickened to kTargetStroke first.
constexpr double kMinStroke = 0.06;
constexpr double kTargetStroke = 0.09;

}  // namespace

MnistImage normalise_digit(const float* ink_in, int w0, int h0) {
  MnistImage out{};
  if (w0 <= 0 || h0 <= 0) return out;
  const float* ink = ink_in;
  int w = w0, h = h0;
  std::vector<float> thick;
  const double longer = std::max(w, h), width = stroke_width(ink, w, h);
  if (width > 0 && width < kMinStroke * longer && longer >= 40) {
    const int r = int(std::lround((kTargetStroke * longer - width) / 2));
    if (r >= 1) {
      thick = dilate(ink, w, h, r, w, h);
      ink = thick.data();
    }
  }

  // Longer side to 20 px, aspect ratio kept, area averaging.
  const double s = double(kMnistBox) / std::max(w, h);
  const int ow = std::clamp(int(std::lround(w * s)), 1, kMnistBox),
            oh = std::clamp(int(std::lround(h * s)), 1, kMnistBox);
  std::vector<float> small(std::size_t(ow) * oh);
  resample_area(small.data(), ow, oh, ink, w, h);
  float peak = 0;
  for (float v : small) peak = std::max(peak, v);
  if (peak <= 0) return out;

  // Centre of mass to the centre of the 28×28 field (pixel-index coordinates, as MNIST: its digits'
  // mean centre of mass is at (14, 14) to within a tenth of a pixel... see tests), kept inside the field.
  double mass = 0, mx = 0, my = 0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      const double v = small[std::size_t(y) * ow + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  const int ox = std::clamp(int(std::lround(kMnistSide / 2.0 - mx / mass)), 0, kMnistSide - ow);
  const int oy = std::clamp(int(std::lround(kMnistSide / 2.0 - my / mass)), 0, kMnistSide - oh);
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      out[std::size_t(oy + y) * kMnistSide + ox + x] =
          std::uint8_t(std::lround(255.0f * std::min(1.0f, small[std::size_t(y) * ow + x] / peak)));
  return out;
}

MnistImage normalise_ink(const InkMap& m, const Components& c, const std::vector<int>& members, int col_begin,
                         int col_end, Box* crop_box) {
  if (crop_box) *crop_box = Box{};
  Box box;
  for (int k : members) box = unite(box, c.list[std::size_t(k)].ink_box);
  const int x0 = std::max(box.x, col_begin), x1 = std::min(box.right(), col_end);
  if (box.w <= 0 || x1 <= x0) return MnistImage{};
  std::vector<char> member(c.list.size() + 1, 0);
  for (int k : members) member[std::size_t(k) + 1] = 1;
  // The members' ink, cropped to where it actually is within the columns.
  int cx0 = x1, cx1 = x0 - 1, cy0 = box.bottom(), cy1 = box.y - 1;
  for (int y = box.y; y < box.bottom(); ++y)
    for (int x = x0; x < x1; ++x) {
      const std::size_t i = std::size_t(y) * m.width + x;
      if (!member[std::size_t(c.labels[i])] || m.ink[i] <= 0) continue;
      cx0 = std::min(cx0, x), cx1 = std::max(cx1, x), cy0 = std::min(cy0, y), cy1 = std::max(cy1, y);
    }
  if (cx1 < cx0) return MnistImage{};
  const int cw = cx1 - cx0 + 1, ch = cy1 - cy0 + 1;
  if (crop_box) *crop_box = Box{cx0, cy0, cw, ch};
  std::vector<float> crop(std::size_t(cw) * ch, 0.0f);
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x) {
      const std::size_t i = std::size_t(cy0 + y) * m.width + cx0 + x;
      if (member[std::size_t(c.labels[i])]) crop[std::size_t(y) * cw + x] = m.ink[i];
    }
  return normalise_digit(crop.data(), cw, ch);
}

namespace {

// The digit of a picture of one digit: the component with the most ink, weighted towards the middle of
// the picture (where people put what they photograph; the strip of table or a shadow's edge is at the
// side), and the pieces near it (the detached bar of a 5, a broken stroke), grown until nothing else is
// within kPieceReach of the digit's size. Specks and marks elsewhere in the picture are left out.
constexpr double kPieceReach = 0.3;
// Ink that cannot be one digit: more sizeable pieces than any digit has (noise, a checkerboard), or far
// wider than tall (a line, a dash; the widest digits are about as wide as tall).
constexpr std::size_t kMaxDigitPieces = 12;
constexpr double kMaxDigitAspect = 2.2;

std::vector<int> main_digit(const Components& c, const std::vector<int>& keep, const InkMap& m) {
  int best = -1;
  double best_score = -1;
  for (int k : keep) {
    const Box& b = c.list[std::size_t(k)].box;
    const double dx = (b.x + 0.5 * b.w) / m.width - 0.5, dy = (b.y + 0.5 * b.h) / m.height - 0.5;
    const double score = c.list[std::size_t(k)].area * (1.0 - std::min(0.9, 1.2 * std::hypot(dx, dy)));
    if (score > best_score) best_score = score, best = k;
  }
  std::vector<int> digit{best};
  std::vector<char> taken(c.list.size(), 0);
  taken[std::size_t(best)] = 1;
  Box box = c.list[std::size_t(best)].box;
  for (bool grew = true; grew;) {
    grew = false;
    const int reach = int(kPieceReach * std::max(box.w, box.h));
    for (int k : keep) {
      if (taken[std::size_t(k)]) continue;
      const Box& b = c.list[std::size_t(k)].box;
      const bool near = b.x <= box.right() + reach && b.right() >= box.x - reach &&
                        b.y <= box.bottom() + reach && b.bottom() >= box.y - reach;
      // A piece far larger than the digit so far is not a piece of it (the edge of the sheet).
      if (!near || double(b.w) * b.h > 4.0 * double(box.w) * box.h) continue;
      digit.push_back(k);
      taken[std::size_t(k)] = 1;
      box = unite(box, b);
      grew = true;
    }
  }
  std::sort(digit.begin(), digit.end(),
            [&](int a, int b) { return c.list[std::size_t(a)].box.x < c.list[std::size_t(b)].box.x; });
  return digit;
}

}  // namespace

MnistImage preprocess_digit(const GreyImage& image, std::string* not_a_digit) {
  const InkMap m = extract_ink(image);
  const Components c = find_components(m);
  const std::vector<int> keep = significant_components(c, m);
  if (keep.empty()) fail(image.source, "no ink found");
  // Beyond kMaxInkPieces (noise or a texture, which not_a_digit reports) only the largest pieces are looked
  // at, so that growing the digit piece by piece stays within the work budget.
  std::vector<int> candidates = keep;
  if (candidates.size() > std::size_t(kMaxInkPieces)) {
    auto larger = [&](int a, int b) { return c.list[std::size_t(a)].area > c.list[std::size_t(b)].area; };
    std::nth_element(candidates.begin(), candidates.begin() + kMaxInkPieces, candidates.end(), larger);
    candidates.resize(std::size_t(kMaxInkPieces));
    std::sort(candidates.begin(), candidates.end(),
              [&](int a, int b) { return c.list[std::size_t(a)].box.x < c.list[std::size_t(b)].box.x; });
  }
  const std::vector<int> digit = main_digit(c, candidates, m);
  if (not_a_digit) {
    Box box;
    for (int k : digit) box = unite(box, c.list[std::size_t(k)].box);
    not_a_digit->clear();
    if (keep.size() > kMaxDigitPieces)
      *not_a_digit = std::to_string(keep.size()) + " separate pieces of ink (noise or a pattern)";
    else if (box.w > kMaxDigitAspect * box.h)
      *not_a_digit = "ink " + std::to_string(box.w) + " px wide and " + std::to_string(box.h) +
                     " px high (a line or a dash)";
  }
  return normalise_ink(m, c, digit, 0, m.width);
}

}  // namespace lenet
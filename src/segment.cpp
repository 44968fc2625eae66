// Segmentation of a row of digits: components grouped by horizontal overlap, then within each group the
// best path through a graph of candidate cuts (minima of the ink's vertical projection), scored by the
// network's confidence in each piece (LeCun et al. 1998, Section VI: heuristic over-segmentation).
#include "lenet/segment.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace lenet {

namespace {

int overlap(int a0, int a1, int b0, int b1) { return std::min(a1, b1) - std::max(a0, b0); }

// Height of the writing: the median height of the components that are more than specks of a digit.
double writing_height(const Components& c, const std::vector<int>& comps) {
  int largest = 0;
  for (int k : comps) largest = std::max(largest, c.list[std::size_t(k)].area);
  std::vector<int> heights;
  for (int k : comps)
    if (c.list[std::size_t(k)].area >= 0.2 * largest) heights.push_back(c.list[std::size_t(k)].box.h);
  if (heights.empty()) return 1;
  std::sort(heights.begin(), heights.end());
  return heights[heights.size() / 2];
}

int find_root(std::vector<int>& parent, int i) {
  while (parent[std::size_t(i)] != i)
    i = parent[std::size_t(i)] = parent[std::size_t(parent[std::size_t(i)])];
  return i;
}

// A digit's pieces: how the network scores a candidate segment of a group.
struct Segment {
  int group = 0;
  int a = 0, b = 0;  // node indices within the group
  bool whole = false;
  MnistImage input{};
  Box crop;
  DigitGuess guess;
  double score = 0;
};

// A segment wider than this many writing heights is unlikely to be one digit (MNIST digits are at most
// about as wide as tall); narrower than the minimum it is a sliver, not a digit.
constexpr double kMaxDigitWidth = 1.25;
constexpr double kMinDigitWidth = 0.12;
// A group is offered cuts (it may hold several touching digits) when it is wider than kSplitWidth writing
// heights and than kSplitDigits times the width of one digit of this writing, which is the median width
// of the groups, at most kDigitAspect heights (MNIST's typical width-to-height ratio).
constexpr double kSplitWidth = 0.8;
constexpr double kSplitDigits = 1.3;
constexpr double kDigitAspect = 0.8;
// Log-probability lost per writing height of width beyond kMaxDigitWidth.
constexpr double kWidePenalty = 4.0;
// Weight and threshold of the winning logit relative to the typical one. Tuned on composed MNIST numbers
// (tests/test_read.cpp), where it makes most of the difference for touching digits.
constexpr double kEvidenceWeight = 7.5;
constexpr double kEvidenceThreshold = 0.9;
constexpr int kMaxCuts = 10;
// A piece shorter than this many writing heights is not a digit on its own; within kFragmentGap of a digit
// it joins it.
constexpr double kMinDigitHeight = 0.4;
constexpr double kFragmentGap = 0.25;

}  // namespace

std::vector<std::vector<int>> group_components(const Components& c, const std::vector<int>& comps) {
  const double height = writing_height(c, comps);
  const int n = int(comps.size());
  std::vector<int> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      const Box& p = c.list[std::size_t(comps[std::size_t(i)])].box;
      const Box& q = c.list[std::size_t(comps[std::size_t(j)])].box;
      const int ov = overlap(p.x, p.right(), q.x, q.right());
      if (ov <= 0) continue;
      const int narrow = std::min(p.w, q.w), low = std::min(p.h, q.h);
      const int vo = overlap(p.y, p.bottom(), q.y, q.bottom());
      // One piece mostly within the other's columns; or pieces stacked one above the other, or a small
      // piece beside a larger one (the detached bar of a 5, the foot of a 9), overlapping a little.
      const bool inside = ov >= 0.6 * narrow;
      const bool stacked_or_small = ov >= 0.2 * narrow && (vo < 0.5 * low || low < 0.4 * height);
      if (inside || stacked_or_small) parent[std::size_t(find_root(parent, i))] = find_root(parent, j);
    }
  std::vector<std::vector<int>> groups;
  std::vector<int> index(static_cast<std::size_t>(n), -1);
  for (int i = 0; i < n; ++i) {
    const int r = find_root(parent, i);
    if (index[std::size_t(r)] < 0) {
      index[std::size_t(r)] = int(groups.size());
      groups.emplace_back();
    }
    groups[std::size_t(index[std::size_t(r)])].push_back(comps[std::size_t(i)]);
  }
  auto bounds = [&](const std::vector<int>& g) {
    Box b;
    for (int k : g) b = unite(b, c.list[std::size_t(k)].box);
    return b;
  };
  std::sort(groups.begin(), groups.end(),
            [&](const auto& a, const auto& b) { return bounds(a).x < bounds(b).x; });
  // A group far shorter than the writing is no digit by itself (even a 1 spans most of the height): a
  // fragment of the nearest digit if it is close, otherwise a speck or a decimal point, and dropped.
  std::vector<std::vector<int>> kept;
  std::vector<std::vector<int>> fragments;
  for (auto& g : groups) (bounds(g).h < kMinDigitHeight * height ? fragments : kept).push_back(std::move(g));
  if (kept.empty()) return fragments;  // all small: read them as they are
  for (const auto& f : fragments) {
    const Box fb = bounds(f);
    int nearest = -1, best_gap = 0;
    for (int i = 0; i < int(kept.size()); ++i) {
      const Box kb = bounds(kept[std::size_t(i)]);
      const int gap = std::max({0, kb.x - fb.right(), fb.x - kb.right()});
      if (nearest < 0 || gap < best_gap) nearest = i, best_gap = gap;
    }
    if (best_gap <= kFragmentGap * height)
      kept[std::size_t(nearest)].insert(kept[std::size_t(nearest)].end(), f.begin(), f.end());
  }
  return kept;
}

namespace {

// Candidate cut columns inside a group: local minima of its (smoothed) vertical ink projection, away from
// the group's edges, the lowest kMaxCuts of them, left to right.
std::vector<int> candidate_cuts(const InkMap& m, const Components& c, const std::vector<int>& members,
                                const Box& box, double height) {
  std::vector<char> member(c.list.size() + 1, 0);
  for (int k : members) member[std::size_t(k) + 1] = 1;
  std::vector<double> proj(std::size_t(box.w), 0.0);
  for (int y = box.y; y < box.bottom(); ++y)
    for (int x = box.x; x < box.right(); ++x) {
      const std::size_t i = std::size_t(y) * m.width + x;
      if (member[std::size_t(c.labels[i])]) proj[std::size_t(x - box.x)] += m.ink[i];
    }
  const int r = std::max(1, int(height / 30));
  std::vector<double> smooth(proj.size(), 0.0);
  for (int x = 0; x < box.w; ++x) {
    double s = 0;
    int count = 0;
    for (int k = std::max(0, x - r); k <= std::min(box.w - 1, x + r); ++k) s += proj[std::size_t(k)], ++count;
    smooth[std::size_t(x)] = s / count;
  }
  const int margin = std::max(1, int(kMinDigitWidth * height));
  std::vector<std::pair<double, int>> minima;
  for (int x = margin; x < box.w - margin; ++x) {
    if (smooth[std::size_t(x)] > smooth[std::size_t(x - 1)]) continue;
    int end = x;  // a plateau counts once, at its middle
    while (end + 1 < box.w && smooth[std::size_t(end + 1)] == smooth[std::size_t(x)]) ++end;
    if (end + 1 < box.w && smooth[std::size_t(end + 1)] > smooth[std::size_t(x)])
      minima.push_back({smooth[std::size_t(x)], box.x + (x + end + 1) / 2});
    x = end;
  }
  std::sort(minima.begin(), minima.end());
  if (minima.size() > std::size_t(kMaxCuts)) minima.resize(kMaxCuts);
  std::vector<int> cuts;
  for (const auto& [value, x] : minima) cuts.push_back(x);
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

// The best path from group gi's left edge (node 0) to its right edge (node n − 1): Viterbi over the cut
// graph, whose edges are the group's segments with their scores.
std::vector<const Segment*> best_path(const std::vector<Segment>& segments, int gi, int n) {
  constexpr double kNone = -std::numeric_limits<double>::infinity();
  std::vector<double> best(std::size_t(n), kNone);
  std::vector<int> via(std::size_t(n), -1);
  best[0] = 0;
  for (int k = 0; k < int(segments.size()); ++k) {  // segments are in order of (a, b) within a group
    const Segment& s = segments[std::size_t(k)];
    if (s.group != gi || best[std::size_t(s.a)] == kNone) continue;
    const double total = best[std::size_t(s.a)] + s.score;
    if (total > best[std::size_t(s.b)]) best[std::size_t(s.b)] = total, via[std::size_t(s.b)] = k;
  }
  std::vector<const Segment*> path;
  for (int node = n - 1; node > 0 && via[std::size_t(node)] >= 0;
       node = segments[std::size_t(via[std::size_t(node)])].a)
    path.push_back(&segments[std::size_t(via[std::size_t(node)])]);
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace

Reading read_number(DigitClassifier& classifier, const GreyImage& image, const ReadOptions& options) {
  const InkMap m = extract_ink(image);
  const Components c = find_components(m);
  const std::vector<int> comps = significant_components(c, m);
  if (comps.empty()) throw ImageError(image.source + ": no ink found");
  const std::vector<std::vector<int>> groups = group_components(c, comps);
  std::vector<int> group_heights;
  std::vector<Box> boxes;
  for (const auto& g : groups) {
    Box b;
    for (int k : g) b = unite(b, c.list[std::size_t(k)].ink_box);
    boxes.push_back(b);
    group_heights.push_back(b.h);
  }
  std::sort(group_heights.begin(), group_heights.end());
  const double height = group_heights[group_heights.size() / 2];
  // Width of one digit in this writing: the median width of the groups that are not a narrow 1, at most
  // MNIST's typical aspect ratio times the height (so a row of touching pairs still offers cuts).
  std::vector<int> widths;
  for (const Box& b : boxes)
    if (b.w >= 0.45 * height) widths.push_back(b.w);
  std::sort(widths.begin(), widths.end());
  const double digit_width =
      std::min(widths.empty() ? kDigitAspect * height : widths[widths.size() / 2], kDigitAspect * height);

  // Every admissible segment of every group, classified in one batch. Nodes of a group: its left edge,
  // its candidate cuts, its right edge.
  std::vector<std::vector<int>> nodes(groups.size());
  std::vector<Segment> segments;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const Box& box = boxes[gi];
    nodes[gi] = {box.x};
    if (box.w > kSplitWidth * height && box.w > kSplitDigits * digit_width) {
      const std::vector<int> cuts = candidate_cuts(m, c, groups[gi], box, height);
      nodes[gi].insert(nodes[gi].end(), cuts.begin(), cuts.end());
    }
    nodes[gi].push_back(box.right());
    const auto& x = nodes[gi];
    const int n = int(x.size());
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b) {
        const double width = double(x[std::size_t(b)] - x[std::size_t(a)]) / height;
        const bool whole = a == 0 && b == n - 1;
        if (!whole && (width < kMinDigitWidth || width > 2 * kMaxDigitWidth)) continue;
        Segment s;
        s.group = int(gi);
        s.a = a;
        s.b = b;
        s.whole = whole;
        s.input = normalise_ink(m, c, groups[gi], x[std::size_t(a)], x[std::size_t(b)], &s.crop);
        if (s.crop.w == 0) continue;
        segments.push_back(s);
      }
  }
  std::vector<MnistImage> inputs;
  for (const auto& s : segments) inputs.push_back(s.input);
  const std::vector<DigitGuess> guesses = classifier.classify(inputs);
  for (std::size_t k = 0; k < segments.size(); ++k) segments[k].guess = guesses[k];

  // The score of a segment: the log-probability of its best class, minus a penalty for being wider than a
  // digit, plus (modern network) the strength of its winning logit relative to the median of the whole
  // groups in this picture (mostly single digits): the softmax is confident on almost anything, but the
  // logit of a piece of junk, or of two touching digits read as one, is usually weaker than a real digit's.
  // Relative, so that it does not depend on the scale of a particular model's logits.
  double typical = 0;
  if (classifier.model().arch() == Arch::Lenet5) {
    std::vector<float> whole;
    for (const auto& s : segments)
      if (s.whole) whole.push_back(s.guess.score);
    std::sort(whole.begin(), whole.end());
    if (!whole.empty()) typical = whole[whole.size() / 2];
  }
  for (Segment& s : segments) {
    const auto& x = nodes[std::size_t(s.group)];
    const double width = double(x[std::size_t(s.b)] - x[std::size_t(s.a)]) / height;
    s.score = std::log(std::max(1e-9, double(s.guess.confidence))) -
              kWidePenalty * std::max(0.0, width - kMaxDigitWidth);
    if (typical > 0) s.score += kEvidenceWeight * (s.guess.score / typical - kEvidenceThreshold);
  }

  Reading reading;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    for (const Segment* s : best_path(segments, int(gi), int(nodes[gi].size()))) {
      ReadDigit d;
      d.guess = s->guess;
      d.input = s->input;
      const double inv = 1.0 / m.scale;
      const int x0 = int(std::floor(s->crop.x * inv)), y0 = int(std::floor(s->crop.y * inv));
      const int x1 = std::min(image.width, int(std::ceil(s->crop.right() * inv)));
      const int y1 = std::min(image.height, int(std::ceil(s->crop.bottom() * inv)));
      d.box = Box{x0, y0, x1 - x0, y1 - y0};
      const bool unsure = d.guess.confidence < options.reject_below;
      reading.text += unsure ? '?' : char('0' + d.guess.digit);
      reading.digits.push_back(d);
    }
  }
  return reading;
}

}  // namespace lenet

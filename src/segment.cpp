// Segmentation of a row of digits: components grouped by horizontal overlap, then within each group the
// best path through a graph of candidate cuts (minima of the ink's vertical projection), scored by the
// network's confidence in each piece (LeCun et al. 1998, Section VI: heuristic over-segmentation).
#include "lenet/segment.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "lenet/cut_paths.h"
#include "lenet/deskew.h"

namespace lenet {

namespace {

int overlap(int a0, int a1, int b0, int b1) { return std::min(a1, b1) - std::max(a0, b0); }

// Whether cut `right` passes left of cut `left` in some row (no piece lies between them there).
bool crosses(const CutPath& left, const CutPath& right) {
  for (std::size_t y = 0; y < left.x.size(); ++y)
    if (right.x[y] < left.x[y]) return true;
  return false;
}

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
  double width = 0;  // writing heights, between the mean columns of its cuts
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
// The width and spacing prior (score_segments), chosen on the evaluation's dev set: log-probability lost
// per typical digit width beyond kWideDigits of them, per writing height that a piece of a cut is shorter
// than kShortPiece heights, and per cut.
constexpr double kWideDigitPenalty = 3.0;
constexpr double kWideDigits = 1.2;
constexpr double kShortPenalty = 10.0;
constexpr double kShortPiece = 0.75;
constexpr double kCutPenalty = 1.0;
// Weight and threshold of the winning logit relative to the typical one. Tuned on composed MNIST numbers
// (tests/test_read.cpp), where it makes most of the difference for touching digits.
constexpr double kEvidenceWeight = 7.5;
constexpr double kEvidenceThreshold = 0.9;
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

namespace {

// Marks written between digits, told apart by their size and where they sit in the row (top to bottom of
// the writing's band): a dash is a flat stroke at mid-height, a point a small blob on the baseline, a
// comma a small stroke that hangs below it. Found before grouping, so that a point close to a digit is
// not joined to it as a fragment.
struct Band {
  double top = 0, bottom = 0, height = 1;
};

Band writing_band(const Components& c, const std::vector<int>& comps, double height) {
  std::vector<int> tops, bottoms;
  for (int k : comps) {
    const Box& b = c.list[std::size_t(k)].box;
    if (b.h >= 0.6 * height) tops.push_back(b.y), bottoms.push_back(b.bottom());
  }
  if (tops.empty()) return Band{0, height, height};
  std::sort(tops.begin(), tops.end());
  std::sort(bottoms.begin(), bottoms.end());
  const double top = tops[tops.size() / 2], bottom = bottoms[bottoms.size() / 2];
  return Band{top, bottom, std::max(1.0, bottom - top)};
}

// A dash is at least this wide (writing heights) and at most this flat (height / width).
constexpr double kDashMinWidth = 0.22;
constexpr double kDashMaxFlatness = 0.65;
// A point or comma is at most this large (writing heights).
constexpr double kMarkMaxSize = 0.32;

char mark_symbol(const Component& comp, const Band& band, double height) {
  const Box& b = comp.box;
  const double cy = (b.y + 0.5 * b.h - band.top) / band.height;   // 0 = top of the writing, 1 = baseline
  const double below = (b.bottom() - band.bottom) / band.height;  // how far it hangs below the baseline
  if (b.w >= kDashMinWidth * height && b.h <= kDashMaxFlatness * b.w && b.h <= 0.3 * height && cy > 0.25 &&
      cy < 0.8)
    return '-';
  if (b.w > kMarkMaxSize * height || b.h > 1.6 * kMarkMaxSize * height) return 0;
  if (b.h > 1.3 * b.w && b.h <= 1.6 * kMarkMaxSize * height && below > 0.08 && cy > 0.75) return ',';
  if (b.h <= kMarkMaxSize * height && b.w <= 2.5 * b.h && b.h <= 2.5 * b.w && cy > 0.72 && below < 0.3)
    return '.';
  return 0;
}

// The marks among the components: not beside or under a digit's columns, shaped as above.
std::vector<int> find_marks(const Components& c, const std::vector<int>& comps, const Band& band,
                            double height, std::vector<char>& symbols) {
  std::vector<int> marks;
  for (int k : comps) {
    const Box& b = c.list[std::size_t(k)].box;
    const char symbol = mark_symbol(c.list[std::size_t(k)], band, height);
    if (!symbol) continue;
    bool inside_digit = false;
    for (int j : comps) {
      const Box& o = c.list[std::size_t(j)].box;
      if (j != k && o.h >= 0.5 * height && overlap(b.x, b.right(), o.x, o.right()) > 0.25 * b.w)
        inside_digit = true;
    }
    if (inside_digit) continue;
    marks.push_back(k);
    symbols.push_back(symbol);
  }
  return marks;
}

// A decimal point is small beside thick digits: less ink than the pieces significant_components keeps
// (2% of the largest), so it is looked for among those left out too. A point, not a speck of noise: a
// filled blob at least kMinPointSize writing heights across, on the baseline, between two digits.
constexpr double kMinPointSize = 0.08;
constexpr double kMinPointFill = 0.5;  // share of its box that is ink

void find_small_points(const Components& c, const std::vector<int>& comps, const Band& band, double height,
                       std::vector<int>& marks, std::vector<char>& symbols) {
  std::vector<char> kept(c.list.size(), 0);
  for (int k : comps) kept[std::size_t(k)] = 1;
  std::vector<int> candidates;
  for (int k = 0; k < int(c.list.size()); ++k) {
    const Component& comp = c.list[std::size_t(k)];
    const Box& b = comp.box;
    if (kept[std::size_t(k)] || b.w < kMinPointSize * height || b.h < kMinPointSize * height ||
        comp.area < kMinPointFill * b.w * b.h || mark_symbol(comp, band, height) != '.')
      continue;
    candidates.push_back(k);
  }
  if (candidates.size() > comps.size()) return;  // specks everywhere: noise, not points
  for (int k : candidates) {
    const Box& b = c.list[std::size_t(k)].box;
    bool left = false, right = false, inside = false;
    for (int j : comps) {
      const Box& o = c.list[std::size_t(j)].box;
      if (o.h < 0.5 * height) continue;
      inside |= overlap(b.x, b.right(), o.x, o.right()) > 0;
      left |= o.right() <= b.x;
      right |= o.x >= b.right();
    }
    if (left && right && !inside) marks.push_back(k), symbols.push_back('.');
  }
}

// The marks among the components (find_marks), taken out of `comps`; none when nothing but marks is left
// (then they are read as digits after all). Marks are never read as digits; ReadOptions::separators only
// says whether they are written.
std::vector<int> take_marks(const Components& c, std::vector<int>& comps, std::vector<char>& symbols) {
  const double row_height = writing_height(c, comps);
  const Band band = writing_band(c, comps, row_height);
  std::vector<int> marks = find_marks(c, comps, band, row_height, symbols);
  find_small_points(c, comps, band, row_height, marks, symbols);
  std::vector<int> rest;
  for (int k : comps)
    if (std::find(marks.begin(), marks.end(), k) == marks.end()) rest.push_back(k);
  if (rest.empty()) {
    symbols.clear();
    return {};
  }
  comps = rest;
  return marks;
}

// The way from the working ink map back to the picture: the shear that set the writing upright, the
// width of the map before it, and the working pixels per picture pixel.
struct Frame {
  Shear shear;
  int width = 0;
  double scale = 1;
};

// A row of writing as segmentation sees it: the ink map, its components, those that are writing, and the
// way back to the picture.
struct Row {
  InkMap m;
  Components c;
  std::vector<int> comps;
  Frame frame;
};

// Picture pixels of a box in the (sheared) ink map's pixels.
Box to_source(const Box& sheared, const Frame& f, const GreyImage& image) {
  const Box b = unshear(sheared, f.shear, f.width);
  const double inv = 1.0 / f.scale;
  const int x0 = int(std::floor(b.x * inv)), y0 = int(std::floor(b.y * inv));
  const int x1 = std::min(image.width, int(std::ceil(b.right() * inv)));
  const int y1 = std::min(image.height, int(std::ceil(b.bottom() * inv)));
  return Box{x0, y0, x1 - x0, y1 - y0};
}

// A space between groups of digits ("12 345"): a gap wider than kSpaceGap writing heights that also
// makes the step from one digit's centre to the next kSpacePitch times the typical step.
constexpr double kSpaceGap = 0.45;
constexpr double kSpacePitch = 1.35;

// The text: each digit ('?' below reject_below), each separator before the digit it stands before.
void write_text(Reading& reading, float reject_below) {
  std::size_t next = 0;
  for (std::size_t i = 0; i <= reading.digits.size(); ++i) {
    for (; next < reading.separators.size() && reading.separators[next].before == int(i); ++next)
      reading.text += reading.separators[next].symbol;
    if (i == reading.digits.size()) break;
    const DigitGuess& g = reading.digits[i].guess;
    reading.text += g.confidence < reject_below ? '?' : char('0' + g.digit);
  }
}

// Separators: the marks, then spaces where the gap between two digits is wide both in writing heights
// and against the typical step from digit to digit. `crops` are the digits' boxes in ink-map pixels.
void add_separators(Reading& reading, const std::vector<Box>& crops, const std::vector<int>& marks,
                    const std::vector<char>& mark_symbols, const Components& c, const Frame& frame,
                    const GreyImage& image, double height, bool write) {
  for (std::size_t i = 0; i < marks.size() && write; ++i) {
    const Box& b = c.list[std::size_t(marks[i])].box;
    ReadSeparator sep;
    sep.symbol = mark_symbols[i];
    sep.box = to_source(b, frame, image);
    const double cx = b.x + 0.5 * b.w;
    for (const Box& d : crops) sep.before += d.x + 0.5 * d.w < cx;
    reading.separators.push_back(sep);
  }
  if (write && crops.size() >= 3) {
    std::vector<double> steps;
    for (std::size_t i = 1; i < crops.size(); ++i)
      steps.push_back((crops[i].x + 0.5 * crops[i].w) - (crops[i - 1].x + 0.5 * crops[i - 1].w));
    std::vector<double> sorted = steps;
    std::sort(sorted.begin(), sorted.end());
    const double typical_step = sorted[(sorted.size() - 1) / 2];  // the lower median: spaces are rare
    for (std::size_t i = 1; i < crops.size(); ++i) {
      const Box& a = crops[i - 1];
      const Box& b = crops[i];
      const bool marked = std::any_of(reading.separators.begin(), reading.separators.end(),
                                      [&](const ReadSeparator& s) { return s.before == int(i); });
      if (marked || b.x - a.right() < kSpaceGap * height || steps[i - 1] < kSpacePitch * typical_step)
        continue;
      ReadSeparator sep;
      sep.symbol = ' ';
      sep.box =
          to_source(Box{a.right(), std::min(a.y, b.y), b.x - a.right(), std::max(a.h, b.h)}, frame, image);
      sep.before = int(i);
      reading.separators.push_back(sep);
    }
  }
  std::stable_sort(reading.separators.begin(), reading.separators.end(),
                   [](const ReadSeparator& a, const ReadSeparator& b) { return a.before < b.before; });
}

// Width of one digit in this writing: the median width of the groups that are not a narrow 1, at most
// MNIST's typical aspect ratio times the height (so a row of touching pairs still offers cuts).
double typical_digit_width(const std::vector<Box>& boxes, double height) {
  std::vector<int> widths;
  for (const Box& b : boxes)
    if (b.w >= 0.45 * height) widths.push_back(b.w);
  std::sort(widths.begin(), widths.end());
  return std::min(widths.empty() ? kDigitAspect * height : widths[widths.size() / 2], kDigitAspect * height);
}

// Classifies every segment in one batch and scores it for best_path.
void score_segments(DigitClassifier& classifier, std::vector<Segment>& segments, double height,
                    double digit_width) {
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
    s.score = std::log(std::max(1e-9, double(s.guess.confidence))) -
              kWidePenalty * std::max(0.0, s.width - kMaxDigitWidth);
    if (typical > 0) s.score += kEvidenceWeight * (s.guess.score / typical - kEvidenceThreshold);
    // The width and spacing prior: the digits of one hand are about as wide as each other and as tall as
    // the writing, so the pieces of a cut are penalised for being much wider than this writing's digit
    // (two digits read as one), shorter than the writing (a slice of a wide digit) and for each cut made
    // (the evidence term can make any confident sliver a gain).
    s.score -= kWideDigitPenalty * std::max(0.0, s.width * height / digit_width - kWideDigits);
    if (!s.whole) s.score -= kShortPenalty * std::max(0.0, kShortPiece - s.crop.h / height) + kCutPenalty;
  }
}

// MNIST's writers lean forward: the pooled moments slant (dx/dy, y downwards) of 20,000 MNIST training
// digits is -0.12, and that of a row of five of them lies within ±0.2 of it 90% of the time. A row
// leaning further than that from MNIST's slant is sheared to it; others are left as they are (the network
// learned their slant, and correcting a row's natural slant did not help on the dev set).
constexpr double kMnistSlant = -0.12;
constexpr double kMnistSlantSpread = 0.2;
// Beyond this the moments are more likely a row of odd shapes than writing that leans (italic handwriting
// leans by up to about 0.6).
constexpr double kMaxSlant = 1.0;

// Slant correction before segmentation, as MNIST-style deskewing does it for one digit, here for the
// whole row: the slant of the digit-sized pieces' ink from their second moments, and the map of the
// writing sheared to MNIST's slant, its pieces found again. Slanted digits are then cut by vertical cuts
// between digits that stand as MNIST's do, and read in the form the network learned. False when the row
// leans no further than MNIST's writers do.
bool deskew_row(const Row& row, Row& upright) {
  const double height = writing_height(row.c, row.comps);
  std::vector<int> tall;
  for (int k : row.comps)
    if (row.c.list[std::size_t(k)].box.h >= 0.5 * height) tall.push_back(k);
  const double slant = std::clamp(ink_slant(row.m, row.c, tall), -kMaxSlant, kMaxSlant);
  if (std::abs(slant - kMnistSlant) < kMnistSlantSpread) return false;
  const Shear shear = upright_shear(slant - kMnistSlant, row.m.height);
  upright.m = shear_ink(row.m, row.c, row.comps, shear);
  upright.c = find_components(upright.m);
  upright.comps = significant_components(upright.c, upright.m);
  upright.frame = row.frame;
  upright.frame.shear = shear;
  return !upright.comps.empty();
}

// How well the network reads a reading's digits, to choose between the row as written and deskewed: the
// mean of the digits' winning raw outputs, the logit of the modern network (a digit split in two, or two
// read as one, has a weaker one than a digit read whole: see score_segments) or the 1998 network's RBF
// penalty, lower for a better match. On the dev set the mean logit chose better than the mean
// log-probability or the least confident digit (675, 671, 671 of 900 numbers exact).
double reading_evidence(const Reading& r, bool modern) {
  if (r.digits.empty()) return -std::numeric_limits<double>::infinity();
  double sum = 0;
  for (const ReadDigit& d : r.digits) sum += modern ? d.guess.score : -d.guess.score;
  return sum / double(r.digits.size());
}

// One row of writing read: its marks taken out, its pieces grouped, the candidate segments of each group
// classified and the best path through each group's cuts chosen. `visited` counts the working pixels of
// the reading's budget.
Reading read_row(DigitClassifier& classifier, const GreyImage& image, Row& row, const ReadOptions& options,
                 long long& visited) {
  const InkMap& m = row.m;
  const Components& c = row.c;
  std::vector<int>& comps = row.comps;
  const Frame& frame = row.frame;
  const ReadBudget& budget = options.budget;
  // Working pixels visited so far: each group's projection for its cuts, each candidate's crop (with the
  // margin its strokes may be thickened by) and the component table it looks its pixels up in.
  auto visit = [&](long long pixels) {
    visited += pixels + (long long)c.list.size();
    if (visited > budget.max_pixels)
      throw WorkBudgetExceeded(
          image.source + ": cutting and normalising its candidate digits visits more than " +
          std::to_string(budget.max_pixels) +
          " working pixels, the budget of a reading (is it a number, or stripes or a texture?)");
  };
  std::vector<char> mark_symbols;
  const std::vector<int> marks = take_marks(c, comps, mark_symbols);
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
  const double digit_width = typical_digit_width(boxes, height);

  // Every admissible segment of every group, classified in one batch. Nodes of a group: its left edge,
  // its candidate cuts (straight and bending, cut_paths.h), its right edge.
  std::vector<std::vector<CutPath>> nodes(groups.size());
  std::vector<Segment> segments;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const Box& box = boxes[gi];
    nodes[gi] = {straight_cut(box.x, box)};
    if (box.w > kSplitWidth * height && box.w > kSplitDigits * digit_width) {
      long long work = 0;
      const std::vector<CutPath> cuts = candidate_cuts(m, c, groups[gi], box, height, work);
      visit(work);
      nodes[gi].insert(nodes[gi].end(), cuts.begin(), cuts.end());
    }
    nodes[gi].push_back(straight_cut(box.right(), box));
    const auto& x = nodes[gi];
    const int n = int(x.size());
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b) {
        const double width = (x[std::size_t(b)].mean() - x[std::size_t(a)].mean()) / height;
        const bool whole = a == 0 && b == n - 1;
        if (!whole && (width < kMinDigitWidth || width > 2 * kMaxDigitWidth ||
                       crosses(x[std::size_t(a)], x[std::size_t(b)])))
          continue;
        if (int(segments.size()) >= budget.max_candidates)
          throw WorkBudgetExceeded(
              image.source + ": more than " + std::to_string(budget.max_candidates) +
              " candidate digits, the budget of a reading (a row of digits has far fewer)");
        // The crop, grown by stroke thickening by up to a tenth of its longer side on each side.
        const long long cw = (long long)std::ceil(width * height), side = std::max<long long>(cw, box.h);
        visit((cw + side / 5) * (box.h + side / 5) + cw * box.h);
        Segment s;
        s.group = int(gi);
        s.a = a;
        s.b = b;
        s.whole = whole;
        s.width = width;
        s.input = normalise_between(m, c, groups[gi], box, x[std::size_t(a)], x[std::size_t(b)], &s.crop);
        if (s.crop.w == 0) continue;
        segments.push_back(s);
      }
  }
  score_segments(classifier, segments, height, digit_width);

  Reading reading;
  std::vector<Box> crops;  // of reading.digits, in ink-map pixels
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    for (const Segment* s : best_path(segments, int(gi), int(nodes[gi].size()))) {
      ReadDigit d;
      d.guess = s->guess;
      d.input = s->input;
      d.box = to_source(s->crop, frame, image);
      crops.push_back(s->crop);
      reading.digits.push_back(d);
    }
  }

  add_separators(reading, crops, marks, mark_symbols, c, frame, image, height, options.separators);

  write_text(reading, options.reject_below);
  return reading;
}

}  // namespace

Reading read_number(DigitClassifier& classifier, const GreyImage& image, const ReadOptions& options) {
  Row row;
  row.m = extract_ink(image);
  row.c = find_components(row.m);
  row.comps = significant_components(row.c, row.m);
  row.frame.width = row.m.width;
  row.frame.scale = row.m.scale;
  if (row.comps.empty()) throw ImageError(image.source + ": no ink found");
  auto check_pieces = [&](const Row& r) {
    if (int(r.comps.size()) > options.budget.max_pieces)
      throw WorkBudgetExceeded(
          image.source + ": " + std::to_string(r.comps.size()) +
          " pieces of ink that could be writing, more than the " + std::to_string(options.budget.max_pieces) +
          " of the work budget (a row of digits has far fewer: noise, dots or a texture?)");
  };
  check_pieces(row);
  long long visited = 0;
  Row upright;
  if (!deskew_row(row, upright)) return read_row(classifier, image, row, options, visited);
  // A row leaning far from MNIST's slant is read both ways and the network chooses: touching digits
  // mislead the moments (their pooled moments mix two digits' positions), and then the row as written
  // reads better.
  check_pieces(upright);
  Reading as_written = read_row(classifier, image, row, options, visited);
  Reading deskewed = read_row(classifier, image, upright, options, visited);
  const bool modern = classifier.model().arch() == Arch::Lenet5;
  return reading_evidence(deskewed, modern) >= reading_evidence(as_written, modern) ? deskewed : as_written;
}

}  // namespace lenet

// `read`: numbers of 3–8 MNIST test digits, written apart or touching, "photographed" and read back, with
// exact-string accuracy reported and held above a floor; and the segmentation's grouping rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "helpers/paths.h"
#include "helpers/synthetic.h"
#include "lenet/deskew.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/segment.h"

namespace lenet {
namespace {

bool under_sanitizer() { return std::getenv("LENET_SANITIZER") != nullptr; }

GreyImage photo_of(const test::InkCanvas& ink, Rng& rng, const std::string& path) {
  const test::PhotoStyle style = test::random_style(rng, rng.below(4) != 0);
  const std::vector<std::uint8_t> rgb = test::photograph(ink, style, rng);
  save_image(path, rgb.data(), ink.width, ink.height, 3, 85);
  return load_grey_image(path);
}

struct ReadScore {
  int numbers = 0, exact = 0, right_length = 0;
  long long digits = 0, digits_direct = 0;  // the same digits read straight from the idx file
};

// The canvas with its rows shifted so that the writing leans by `slope` (dx/dy, y downwards: negative
// leans forward), about its middle row, linearly interpolated; wider by the largest shift.
test::InkCanvas lean(const test::InkCanvas& in, double slope) {
  const int extra = int(std::ceil(std::abs(slope) * in.height / 2)) + 1;
  test::InkCanvas out{in.width + 2 * extra, in.height,
                      std::vector<float>(std::size_t(in.width + 2 * extra) * in.height)};
  for (int y = 0; y < in.height; ++y) {
    const double shift = extra + slope * (y - in.height / 2.0);
    for (int x = 0; x < out.width; ++x) {
      const double sx = x - shift;
      const int x0 = int(std::floor(sx));
      const float f = float(sx - x0);
      auto at = [&](int xx) { return xx >= 0 && xx < in.width ? in.at(xx, y) : 0.0f; };
      out.at(x, y) = (1 - f) * at(x0) + f * at(x0 + 1);
    }
  }
  return out;
}

// `count` numbers of 3–8 digits; each neighbouring pair touches with probability p_touch (at least one
// pair does when p_touch > 0). Enlarged 2–4×, half of them as crisp pen strokes; PNG and JPEG.
ReadScore read_numbers(int count, double p_touch, std::uint64_t seed, double slant = 0) {
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  DigitClassifier classifier(loaded.model, 32);
  Rng rng(seed);
  ReadScore s;
  for (int k = 0; k < count; ++k) {
    const int length = 3 + int(rng.below(6));
    std::vector<const std::uint8_t*> digits;
    std::vector<MnistImage> raw(static_cast<std::size_t>(length));
    std::string truth;
    for (int d = 0; d < length; ++d) {
      const int i = int(rng.below(std::uint32_t(test_set.count)));
      digits.push_back(test_set.image(i));
      std::copy(test_set.image(i), test_set.image(i) + 784, raw[std::size_t(d)].begin());
      truth += char('0' + test_set.labels[std::size_t(i)]);
    }
    const std::vector<DigitGuess> direct = classifier.classify(raw);
    for (int d = 0; d < length; ++d)
      s.digits_direct += direct[std::size_t(d)].digit == truth[std::size_t(d)] - '0';
    s.digits += length;
    std::vector<bool> touching(static_cast<std::size_t>(length - 1));
    bool any = false;
    for (std::size_t p = 0; p < touching.size(); ++p) any |= touching[p] = rng.uniform() < p_touch;
    if (p_touch > 0 && !any) touching[rng.below(std::uint32_t(touching.size()))] = true;
    const test::InkCanvas number = test::compose_number(digits, 28, 28, touching, rng);
    const double factor = rng.uniform(2.0f, 4.0f), pen = rng.below(2) ? 0.0 : 2.0;
    const test::InkCanvas big = test::enlarge(slant != 0 ? lean(number, slant) : number, factor, pen);
    const std::string path = test::temp_path(k % 2 ? "number.png" : "number.jpg");
    const Reading r = read_number(classifier, photo_of(big, rng, path));
    s.exact += r.text == truth;
    s.right_length += r.text.size() == truth.size();
    ++s.numbers;
  }
  return s;
}

void report(const char* what, const ReadScore& s) {
  std::printf(
      "read, %s: %d/%d exact (%.1f%%), right length %.1f%%; the same digits from the idx file: %.2f%%\n",
      what, s.exact, s.numbers, 100.0 * s.exact / s.numbers, 100.0 * s.right_length / s.numbers,
      100.0 * double(s.digits_direct) / double(s.digits));
}

// Digits written apart. Floor: the network alone reads ~99.3% of MNIST test digits, so a number of 5.5
// digits on average is all right at best ~0.993^5.5 ≈ 96%; on 1000 such numbers read measures 95.8% with
// the shipped model (92.6% with the earlier one, trained without distortions; the rest is segmentation,
// mostly wide single digits split in two). The floor, 85%, sits three standard errors of a 150-number
// sample (±2.1% at 92.6%) below the weaker model, so a model without distortions passes too.
TEST(Read, NumbersWrittenApart) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const ReadScore s = read_numbers(under_sanitizer() ? 20 : 150, 0.0, 101);
  report("digits apart", s);
  EXPECT_GE(double(s.exact) / s.numbers, under_sanitizer() ? 0.70 : 0.85);
}

// A photo of a sheet on a darker table that takes more of the picture than the sheet: against a surface
// fitted through both, the whole sheet stood out bright, as if it were light ink, so the paper around the
// writing was read as ink, the writing as paper, and the sheet's outline as a row of 1s (a 12-Mpixel photo
// of 4608 was read as 11217019511). A bright sheet, tilted by 0-12 degrees, on a dark or a mid-grey noisy
// table, with four MNIST test digits on it: each must be read exactly.
TEST(Read, ASheetOnADarkTableIsReadAsDarkWritingOnPaper) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  DigitClassifier classifier(loaded.model, 32);
  Rng rng(77);
  constexpr int kW = 1200, kH = 900, kSheetW = 700, kSheetH = 500, kScale = 5;
  int picture = 0;
  for (const double degrees : {0.0, 8.0, 12.0})
    for (const float table : {40.0f, 90.0f}) {
      GreyImage g;
      g.width = kW;
      g.height = kH;
      g.source = "sheet on a table " + std::to_string(picture++);
      g.pixels.resize(std::size_t(kW) * kH);
      std::string truth;
      std::vector<const std::uint8_t*> digits;
      for (int d = 0; d < 4; ++d) {
        const int i = int(rng.below(std::uint32_t(test_set.count)));
        digits.push_back(test_set.image(i));
        truth += char('0' + test_set.labels[std::size_t(i)]);
      }
      // Each pixel of the picture, turned back into the sheet's own coordinates (centred in the picture).
      const double a = degrees * M_PI / 180, c = std::cos(a), s = std::sin(a);
      for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) {
          const double dx = x - kW / 2.0, dy = y - kH / 2.0;
          const double u = c * dx + s * dy + kSheetW / 2.0, v = -s * dx + c * dy + kSheetH / 2.0;
          float level = table + 12.0f * (rng.uniform() - 0.5f) * 2;
          if (u >= 0 && v >= 0 && u < kSheetW && v < kSheetH) {
            level = 225;
            // Four digits of 140 px in a row across the sheet's middle, 120 px apart.
            const int du = int(u) - 120, dv = int(v) - 180;
            const int k = du / 120, px = (du - 120 * k) / kScale, py = dv / kScale;
            if (du >= 0 && dv >= 0 && k < 4 && px < 28 && py < 28 && du - 120 * k < 28 * kScale)
              level -= 0.78f * digits[std::size_t(k)][std::size_t(py) * 28 + std::size_t(px)];
          }
          g.pixels[std::size_t(y) * kW + x] = std::uint8_t(std::clamp(level, 0.0f, 255.0f));
        }
      EXPECT_EQ(read_number(classifier, g).text, truth) << g.source << ", tilted " << degrees << " degrees";
    }
}

// Each neighbouring pair touches with probability 0.3, at least one pair per number. On 1000 such numbers
// read measures 76% exact with the shipped model, 71–74% with the earlier one (vertical cuts cannot
// separate digits that overlap, and the network is confident about a pair read as one digit). Floor 60%:
// three standard errors of a 150-number sample (±3.7%) below the weaker model.
TEST(Read, NumbersWithTouchingDigits) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const ReadScore s = read_numbers(under_sanitizer() ? 20 : 150, 0.3, 202);
  report("some digits touching", s);
  EXPECT_GE(double(s.exact) / s.numbers, under_sanitizer() ? 0.45 : 0.60);
}

// Writing that leans far more than MNIST's writers do (forward by 0.45: an italic hand), digits apart: read
// after the row is sheared back to MNIST's slant. On these 150 numbers read measures 89.3% exact, 74.7%
// without the slant correction (the widened digits are split). Floor 80%: three standard errors of a
// 150-number sample (±2.5%) below.
TEST(Read, SlantedNumbersAreDeskewed) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const ReadScore s = read_numbers(under_sanitizer() ? 20 : 150, 0.0, 303, -0.45);
  report("slanted by 0.45", s);
  EXPECT_GE(double(s.exact) / s.numbers, under_sanitizer() ? 0.6 : 0.80);
}

// The slant of a leaning stroke is its lean; sheared upright it is as narrow as it is thick, and the box
// of the upright stroke maps back onto the leaning one.
TEST(Deskew, StrokeIsMeasuredAndShearedUpright) {
  InkMap m;
  m.width = 120, m.height = 100;
  m.ink.assign(std::size_t(m.width) * m.height, 0.0f);
  m.threshold = 0.5f;
  const double lean_by = -0.4;  // forward: the top is to the right
  for (int y = 10; y < 90; ++y)
    for (int x = 0; x < m.width; ++x) {
      const double left = 40 + lean_by * (y - 90);  // 40 at the bottom, 72 at the top
      if (x >= left && x < left + 6) m.ink[std::size_t(y) * m.width + x] = 1.0f;
    }
  const Components c = find_components(m);
  ASSERT_EQ(c.list.size(), 1u);
  const double slant = ink_slant(m, c, {0});
  EXPECT_NEAR(slant, lean_by, 0.02);
  const Shear shear = upright_shear(slant, m.height);
  const InkMap upright = shear_ink(m, c, {0}, shear);
  EXPECT_GE(upright.width, m.width + 39);
  const Components uc = find_components(upright);
  ASSERT_EQ(uc.list.size(), 1u);
  EXPECT_LE(uc.list[0].box.w, 9);
  EXPECT_EQ(uc.list[0].box.h, 80);
  const Box back = unshear(uc.list[0].box, shear, m.width);
  EXPECT_LE(back.x, 41);
  EXPECT_GE(back.right(), 77);
  EXPECT_LE(back.right(), 82);
}

// Boxes are in the source picture's pixels and each covers its digit.
TEST(Read, BoxesAreInSourcePixelsAndCoverEachDigit) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  DigitClassifier classifier(loaded.model);
  // Test digits 0, 1, 2 ("7", "2", "1"), placed 40 px apart at 3×: a 3 × (3 × 28 + 36)-px picture.
  const int scale = 3, pitch = 40;
  test::InkCanvas page{3 * pitch * scale, 40 * scale,
                       std::vector<float>(std::size_t(3 * pitch * 40 * scale * scale))};
  for (int d = 0; d < 3; ++d) {
    const test::InkCanvas big = test::enlarge(test::from_idx(test_set.image(d), 28, 28), scale);
    const test::InkCanvas one = test::place(big, page.width, page.height, (d * pitch + 6) * scale, 6 * scale);
    for (std::size_t i = 0; i < page.ink.size(); ++i) page.ink[i] = std::max(page.ink[i], one.ink[i]);
  }
  GreyImage g{page.width, page.height, std::vector<std::uint8_t>(page.ink.size()), "three digits"};
  for (std::size_t i = 0; i < page.ink.size(); ++i)
    g.pixels[i] = std::uint8_t(std::lround(240 - 220 * page.ink[i]));
  const Reading r = read_number(classifier, g);
  EXPECT_EQ(r.text, "721");
  ASSERT_EQ(r.digits.size(), 3u);
  for (int d = 0; d < 3; ++d) {
    const Box& b = r.digits[std::size_t(d)].box;
    const int frame_x = (d * pitch + 6) * scale, frame_y = 6 * scale;
    // Inside the digit's 28×28 frame (MNIST digits sit in its central 20×20) and at least 10 px tall.
    EXPECT_GE(b.x, frame_x) << d;
    EXPECT_LE(b.right(), frame_x + 28 * scale) << d;
    EXPECT_GE(b.y, frame_y) << d;
    EXPECT_LE(b.bottom(), frame_y + 28 * scale) << d;
    EXPECT_GE(b.h, 15 * scale) << d;
  }
}

// Separators are written as written: a dash, a decimal point, a space between groups (test digits 0..3,
// "7", "2", "1", "0", at 3×, with the mark drawn between the 2 and the 1); with ReadOptions::separators
// off, the digits alone. Each separator stands before the digit that follows it. Also a short thick dash
// (half as high as wide, as a marker draws it) and a point too small to count as a piece of writing
// beside the digits (under 2% of a digit's ink), which are still marks.
TEST(Read, SeparatorsAreWrittenAsWritten) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  DigitClassifier classifier(loaded.model);
  struct Case {
    char mark;
    double half_width, half_height, radius;  // of a dash; of a point (frame units)
  };
  for (const Case& k : {Case{'-', 5, 1.2, 0}, Case{'-', 3, 1.5, 0}, Case{'.', 0, 0, 1.6},
                        Case{'.', 0, 0, 1.0}, Case{' ', 0, 0, 0}}) {
    const int scale = k.mark == '.' && k.radius < 1.5 ? 4 : 3, pitch = 28;
    const int gap = k.mark == ' ' ? 26 : 16;  // at the 28-px scale, between the frames of the 2 and the 1
    const int width = (4 * pitch + gap + 12) * scale, height = 40 * scale;
    test::InkCanvas page{width, height, std::vector<float>(std::size_t(width) * height)};
    for (int d = 0; d < 4; ++d) {
      const int x = (6 + d * pitch + (d >= 2 ? gap : 0)) * scale;
      const test::InkCanvas big = test::enlarge(test::from_idx(test_set.image(d), 28, 28), scale);
      const test::InkCanvas one = test::place(big, width, height, x, 6 * scale);
      for (std::size_t i = 0; i < page.ink.size(); ++i) page.ink[i] = std::max(page.ink[i], one.ink[i]);
    }
    if (k.mark == '.' && k.radius < 1.5) {  // written with a marker: strokes 6 px thicker
      const test::InkCanvas thin = page;
      for (int y = 3; y < height - 3; ++y)
        for (int x = 3; x < width - 3; ++x)
          for (int dy = -3; dy <= 3; ++dy)
            for (int dx = -3; dx <= 3; ++dx) page.at(x, y) = std::max(page.at(x, y), thin.at(x + dx, y + dy));
    }
    // The mark, centred in the gap: MNIST's ink spans rows 4..24 of its frame (baseline near row 24).
    const int cx = (6 + 2 * pitch + gap / 2) * scale;
    double digits_ink = 0, mark_ink = 0;  // pixels more than half ink
    for (float v : page.ink) digits_ink += v > 0.5f;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const double u = double(x - cx) / scale, v = double(y) / scale - 6;  // frame units
        const bool dash = k.mark == '-' && std::abs(u) <= k.half_width && std::abs(v - 15) <= k.half_height;
        const bool point = k.mark == '.' && std::hypot(u, v - 22.5) <= k.radius;
        if (dash || point) page.at(x, y) = 1, ++mark_ink;
      }
    const std::string what = std::string("mark '") + k.mark + "' " + std::to_string(k.half_width) + "x" +
                             std::to_string(k.half_height) + " r" + std::to_string(k.radius);
    if (k.radius > 0 && k.radius < 1.5) {
      EXPECT_LT(mark_ink, 0.02 * digits_ink / 4) << what;
    }
    GreyImage g{width, height, std::vector<std::uint8_t>(page.ink.size()), "number with a separator"};
    for (std::size_t i = 0; i < page.ink.size(); ++i)
      g.pixels[i] = std::uint8_t(std::lround(240 - 220 * page.ink[i]));
    const Reading r = read_number(classifier, g);
    EXPECT_EQ(r.text, std::string("72") + k.mark + "10") << what;
    ASSERT_EQ(r.separators.size(), 1u) << r.text;
    EXPECT_EQ(r.separators[0].symbol, k.mark);
    EXPECT_EQ(r.separators[0].before, 2);
    EXPECT_EQ(r.digits.size(), 4u);
    ReadOptions digits_only;
    digits_only.separators = false;
    const Reading bare = read_number(classifier, g, digits_only);
    EXPECT_EQ(bare.text, "7210") << what;
    EXPECT_TRUE(bare.separators.empty());
  }
}

TEST(Read, BlankPictureIsAnError) {
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  DigitClassifier classifier(loaded.model);
  GreyImage g{200, 80, std::vector<std::uint8_t>(200 * 80, 200), "blank.png"};
  try {
    read_number(classifier, g);
    ADD_FAILURE() << "a blank picture was read";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("blank.png"), std::string::npos) << e.what();
  }
}

// Grouping: pieces stacked one above the other (a broken 9: loop above, tail below) are one digit; two tall
// strokes side by side (a slanted "11" whose boxes overlap) are two; a speck far from the writing is dropped.
TEST(Segment, GroupsStackedPiecesButNotNeighbours) {
  InkMap m;
  m.width = 200, m.height = 100;
  m.ink.assign(std::size_t(m.width) * m.height, 0.0f);
  m.threshold = 0.5f;
  auto bar = [&](int x0, int y0, int x1, int y1, int slant) {  // a stroke, shifted `slant` px over its height
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        const int sx = x + slant * (y1 - y) / (y1 - y0);
        if (sx >= 0 && sx < m.width) m.ink[std::size_t(y) * m.width + sx] = 1.0f;
      }
  };
  bar(20, 10, 50, 45, 0);     // a "9" broken in two: loop...
  bar(38, 52, 46, 90, 0);     // ...and tail, below and within its columns
  bar(90, 10, 97, 90, 12);    // slanted 1
  bar(104, 10, 111, 90, 12);  // slanted 1, its box overlapping the first's
  bar(185, 5, 188, 8, 0);     // a speck, far away
  const Components c = find_components(m);
  const std::vector<int> sig = significant_components(c, m);
  const auto groups = group_components(c, sig);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].size(), 2u);  // the 9's two pieces
  EXPECT_EQ(groups[1].size(), 1u);
  EXPECT_EQ(groups[2].size(), 1u);
}

}  // namespace
}  // namespace lenet

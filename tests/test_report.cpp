// The canvas, its bitmap font and the report pictures: sizes, content where it can be checked by pixels,
// the training-log reader (several runs appended, malformed lines) and the per-class table.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "helpers/paths.h"
#include "lenet/canvas.h"
#include "lenet/report.h"

namespace lenet {
namespace {

int dark_pixels(const Canvas& c, int x0, int y0, int w, int h) {
  int n = 0;
  for (int y = y0; y < y0 + h; ++y)
    for (int x = x0; x < x0 + w; ++x) n += c.at(x, y).r < 128;
  return n;
}

TEST(Canvas, TextIsDrawnInItsCellsAndEveryPrintableGlyphExists) {
  EXPECT_EQ(text_width("7>2"), 3 * kCellWidth - 1);
  EXPECT_EQ(text_width("7>2", 2), 2 * (3 * kCellWidth - 1));
  Canvas c(100, 20);
  c.text(2, 2, "1", kBlack);
  // The "1": a flag (1 + 2 pixels), a stem of 4 and a foot of 3 — 10 pixels, all inside its glyph cell.
  EXPECT_EQ(dark_pixels(c, 2, 2, kGlyphWidth, kGlyphHeight), 10);
  EXPECT_EQ(dark_pixels(c, 0, 0, 100, 20), 10);
  // Distinct glyphs for what the reports print; an unknown character falls back to '?'.
  const std::string shown = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .,:;-+%/()<>=_'#?!*[]@";
  for (char ch : shown) {
    Canvas g(10, 10);
    g.text(0, 0, std::string(1, ch), kBlack);
    if (ch != ' ') {
      EXPECT_GT(dark_pixels(g, 0, 0, 10, 10), 0) << ch;
    }
  }
  Canvas q(10, 10), unknown(10, 10);
  q.text(0, 0, "?", kBlack);
  unknown.text(0, 0, "~", kBlack);
  EXPECT_EQ(q.pixels(), unknown.pixels());
}

TEST(Canvas, SavesAPngThatReadsBack) {
  Canvas c(30, 20, Color{10, 200, 30});
  c.line(0, 0, 29, 19, kBlack);
  const std::string path = test::temp_path("canvas.png");
  c.save(path);
  const GreyImage g = load_grey_image(path);
  EXPECT_EQ(g.width, 30);
  EXPECT_EQ(g.height, 20);
  EXPECT_EQ(g.pixels[0], 0);             // the line starts at the corner
  EXPECT_GT(g.pixels[29], 100);          // background green, light in luminance
  EXPECT_EQ(g.pixels[19 * 30 + 29], 0);  // and ends at the opposite one
}

TEST(Report, ClassMetricsAndTheirTable) {
  Confusion m{};
  m[0][0] = 8, m[0][1] = 2, m[1][1] = 5, m[2][0] = 1;
  const ClassMetrics r = class_metrics(m);
  EXPECT_DOUBLE_EQ(r.recall[0], 0.8);
  EXPECT_DOUBLE_EQ(r.precision[0], 8.0 / 9.0);
  EXPECT_DOUBLE_EQ(r.precision[1], 5.0 / 7.0);
  EXPECT_EQ(r.support[2], 1);
  const std::string csv = class_metrics_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "class,precision,recall,support");
  EXPECT_NE(csv.find("\n0,0.8889,0.8000,10\n"), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 11);
}

TEST(Report, PicturesHaveTheirParts) {
  Confusion m{};
  for (int c = 0; c < kClasses; ++c) m[c][c] = 100;
  m[4][9] = 3;
  const Canvas confusion = confusion_picture(m);
  EXPECT_GT(confusion.width(), 10 * 40);
  EXPECT_GT(confusion.height(), 10 * 40);

  // Three images, two misclassified: a gallery of two cells.
  Dataset d;
  d.count = 3, d.rows = 28, d.cols = 28;
  d.images.assign(3 * 784, 0);
  d.images[784 + 400] = 255;
  d.labels = {1, 2, 3};
  const Canvas gallery = misclassified_picture(d, {1, 7, 5});
  EXPECT_GT(dark_pixels(gallery, 8, 30, 56, 56), 0);  // first cell: image 1's one ink pixel, 2× = 4 px
  EXPECT_EQ(dark_pixels(gallery, 8 + 3 * 64, 30, 56, 56), 0);  // no fourth cell

  const float maps[2 * 3 * 4] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const Canvas fm = feature_maps_picture(maps, 2, 3, 4, 5, 2, false);
  EXPECT_GT(fm.width(), 2 * 4 * 5);
  EXPECT_GT(fm.height(), 3 * 5);
}

TEST(Report, TrainingLogKeepsTheLastRunAndNamesBadLines) {
  const std::string path = test::temp_path("train-log.jsonl");
  {
    std::ofstream f(path);
    f << R"({"epoch":1,"train_loss":0.9,"train_accuracy":0.7,"test_loss":0.5,"test_accuracy":0.8})"
      << "\n"
      << R"({"epoch":2,"train_loss":0.4,"train_accuracy":0.9,"test_loss":0.3,"test_accuracy":0.9})"
      << "\n"
      << R"({"epoch":1,"train_loss":0.8,"train_accuracy":0.75,"test_loss":0.45,"test_accuracy":0.85})"
      << "\n"
      << "\n"
      << R"({"epoch":2,"train_loss":0.3,"train_accuracy":0.92})"
      << "\n";
  }
  const std::vector<LogEpoch> log = read_training_log(path);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_DOUBLE_EQ(log[0].train_loss, 0.8);
  EXPECT_DOUBLE_EQ(log[1].test_accuracy, -1);  // not recorded
  const Canvas curves = training_curves_picture(log);
  EXPECT_GT(curves.width(), 500);

  const std::string bad = test::temp_path("bad-log.jsonl");
  {
    std::ofstream f(bad);
    f << R"({"epoch":1,"train_loss":0.9,"train_accuracy":0.7})"
      << "\n"
      << "{not json\n";
  }
  try {
    read_training_log(bad);
    ADD_FAILURE() << "a malformed log was read";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_training_log(test::temp_path("no-such-log.jsonl")), DataError);
}

}  // namespace
}  // namespace lenet

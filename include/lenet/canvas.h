// An RGB picture to draw on: rectangles, lines, grey images and text in a small built-in 5×7 bitmap font,
// saved through save_image. What the report and visualisation pictures are drawn with.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lenet {

struct Color {
  std::uint8_t r = 0, g = 0, b = 0;
};
inline constexpr Color kWhite{255, 255, 255};
inline constexpr Color kBlack{0, 0, 0};

// The font: 5×7 glyphs in 6×9 cells at scale 1. Digits, letters (lower case drawn as capitals) and
// " .,:;-+%/()<>=_'#?!*[]@"; anything else is drawn as '?'. '>' is the arrow of "true>predicted".
inline constexpr int kGlyphWidth = 5, kGlyphHeight = 7, kCellWidth = 6, kCellHeight = 9;
int text_width(const std::string& text, int scale = 1);

class Canvas {
 public:
  Canvas(int width, int height, Color background = kWhite);
  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<std::uint8_t>& pixels() const { return rgb_; }  // RGB, row-major
  Color at(int x, int y) const;

  // Everything clips at the canvas edges.
  void set(int x, int y, Color c);
  void fill(int x, int y, int w, int h, Color c);
  void frame(int x, int y, int w, int h, Color c);  // 1-px outline
  void line(int x0, int y0, int x1, int y1, Color c);
  // Text with its top-left corner at (x, y).
  void text(int x, int y, const std::string& text, Color c, int scale = 1);
  // A grey image (0..255, row-major) enlarged `scale` times by pixel replication; ink_high: 255 is drawn
  // black (idx images, 0 = background), else grey levels are drawn as they are.
  void grey(int x, int y, const std::uint8_t* pixels, int w, int h, int scale, bool ink_high);
  // Copies another canvas in with its top-left corner at (x, y).
  void paste(int x, int y, const Canvas& other);

  // PNG (or any format save_image knows, by extension). Throws ImageError naming the file.
  void save(const std::string& path) const;

 private:
  int width_, height_;
  std::vector<std::uint8_t> rgb_;
};

// Colour scales: t in [0, 1]. White to a deep blue (counts); blue–white–red (signed values, t = 0.5 is 0).
Color sequential_color(double t);
Color diverging_color(double t);

}  // namespace lenet

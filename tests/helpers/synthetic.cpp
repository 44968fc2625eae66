// Synthetic "photos" of MNIST digits and numbers: enlargement, composition, paper, lighting, noise.
// Deterministic for a given Rng state.
#include "helpers/synthetic.h"

#include <algorithm>
#include <cmath>

namespace lenet::test {

namespace {

// Approximately standard normal: the sum of four uniforms, centred and scaled (Irwin–Hall); cheaper than
// Box–Muller, and noise needs no exact tails.
float gaussian(Rng& rng) {
  return (rng.uniform() + rng.uniform() + rng.uniform() + rng.uniform() - 2.0f) * 1.7320508f;
}

}  // namespace

InkCanvas from_idx(const std::uint8_t* image, int rows, int cols) {
  InkCanvas c{cols, rows, std::vector<float>(std::size_t(rows) * cols)};
  for (std::size_t i = 0; i < c.ink.size(); ++i) c.ink[i] = image[i] / 255.0f;
  return c;
}

InkCanvas enlarge(const InkCanvas& in, double factor, double pen) {
  InkCanvas out;
  out.width = std::max(1, int(std::lround(in.width * factor)));
  out.height = std::max(1, int(std::lround(in.height * factor)));
  out.ink.resize(std::size_t(out.width) * out.height);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const double sx = std::clamp((x + 0.5) / factor - 0.5, 0.0, in.width - 1.0);
      const double sy = std::clamp((y + 0.5) / factor - 0.5, 0.0, in.height - 1.0);
      const int x0 = int(sx), y0 = int(sy);
      const int x1 = std::min(x0 + 1, in.width - 1), y1 = std::min(y0 + 1, in.height - 1);
      const double fx = sx - x0, fy = sy - y0;
      double v = (1 - fx) * (1 - fy) * in.at(x0, y0) + fx * (1 - fy) * in.at(x1, y0) +
                 (1 - fx) * fy * in.at(x0, y1) + fx * fy * in.at(x1, y1);
      if (pen > 0) {
        // Crisp stroke: a steep ramp around half coverage, ~pen px wide at this scale.
        const double slope = factor / (pen * 0.5);
        v = std::clamp((v - 0.45) * slope + 0.5, 0.0, 1.0);
      }
      out.at(x, y) = float(v);
    }
  return out;
}

InkCanvas place(const InkCanvas& in, int width, int height, int x, int y) {
  InkCanvas out{width, height, std::vector<float>(std::size_t(width) * height, 0.0f)};
  for (int r = 0; r < in.height; ++r)
    for (int c = 0; c < in.width; ++c) {
      const int tx = x + c, ty = y + r;
      if (tx >= 0 && ty >= 0 && tx < width && ty < height)
        out.at(tx, ty) = std::max(out.at(tx, ty), in.at(c, r));
    }
  return out;
}

namespace {

// A short stroke from the rightmost ink of the left digit to the leftmost ink of the right one, at the
// row where they are closest, 2 px thick: how joined-up handwriting connects digits.
void ligature(InkCanvas& canvas, int left_end, int right_begin, int top, int rows) {
  int best = -1, from = 0, to = 0;
  for (int y = top; y < top + rows; ++y) {
    int a = -1, b = -1;
    for (int x = left_end - 1; x >= std::max(0, left_end - 10) && a < 0; --x)
      if (canvas.at(x, y) > 0.5f) a = x;
    for (int x = right_begin; x < std::min(canvas.width, right_begin + 10) && b < 0; ++x)
      if (canvas.at(x, y) > 0.5f) b = x;
    if (a < 0 || b < 0) continue;
    if (best < 0 || b - a < to - from) best = y, from = a, to = b;
  }
  if (best < 0) return;
  for (int x = from; x <= to; ++x)
    for (int y = best; y < std::min(canvas.height, best + 2); ++y) canvas.at(x, y) = 1.0f;
}

}  // namespace

InkCanvas compose_number(const std::vector<const std::uint8_t*>& digits, int rows, int cols,
                         const std::vector<bool>& touching, Rng& rng, int margin) {
  struct Piece {
    InkCanvas ink;
    int x0 = 0, x1 = 0;  // ink columns [x0, x1) in the digit's own frame
    int dy = 0;
  };
  std::vector<Piece> pieces;
  for (const std::uint8_t* d : digits) {
    Piece p{from_idx(d, rows, cols)};
    p.x0 = cols;
    p.x1 = 0;
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x)
        if (p.ink.at(x, y) > 0) p.x0 = std::min(p.x0, x), p.x1 = std::max(p.x1, x + 1);
    if (p.x1 <= p.x0) p.x0 = 0, p.x1 = cols;
    p.dy = int(rng.below(5)) - 2;
    pieces.push_back(std::move(p));
  }
  // Columns where each digit's frame starts, left to right.
  const int width_guess = int(pieces.size()) * cols + 2 * margin;
  const int height = rows + 4 + 2 * margin;
  InkCanvas canvas{width_guess, height, std::vector<float>(std::size_t(width_guess) * height, 0.0f)};
  auto paste = [&](const Piece& p, int left) {
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        const int tx = left + x, ty = margin + 2 + p.dy + y;
        if (tx >= 0 && tx < canvas.width) canvas.at(tx, ty) = std::max(canvas.at(tx, ty), p.ink.at(x, y));
      }
  };
  // Do the strokes of p, with its frame at `left`, touch ink already on the canvas (8-neighbours, > half)?
  auto touches = [&](const Piece& p, int left) {
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        if (p.ink.at(x, y) <= 0.5f) continue;
        const int tx = left + x, ty = margin + 2 + p.dy + y;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const int qx = tx + dx, qy = ty + dy;
            if (qx >= 0 && qy >= 0 && qx < canvas.width && qy < canvas.height && canvas.at(qx, qy) > 0.5f)
              return true;
          }
      }
    return false;
  };
  int right = margin;  // first free column after the ink so far
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    int left = right - p.x0 + (i == 0 ? 0 : 3 + int(rng.below(6)));
    bool joined = false;
    if (i > 0 && touching[i - 1]) {
      // Slide left until the strokes touch, but by at most 2 px of overlap (more would be one digit
      // written over another); if they still do not touch, join them with a pen stroke (a ligature).
      left = right - p.x0;
      while (!(joined = touches(p, left)) && left > right - p.x0 - 2) --left;
    }
    paste(p, left);
    if (i > 0 && touching[i - 1] && !joined) ligature(canvas, right, left + p.x0, margin + 2 + p.dy, rows);
    right = std::max(right, left + p.x1);
  }
  InkCanvas out{right + margin, height, {}};
  out.ink.resize(std::size_t(out.width) * height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < out.width; ++x) out.at(x, y) = canvas.at(x, y);
  return out;
}

PhotoStyle random_style(Rng& rng, bool dark_on_light) {
  PhotoStyle s;
  if (dark_on_light) {
    // Tinted paper (white, cream, grey, pale blue, yellow note) and blue, black or red ink.
    const Rgb papers[] = {
        {245, 245, 240}, {240, 232, 205}, {205, 205, 200}, {220, 230, 240}, {250, 240, 150}};
    const Rgb inks[] = {{25, 35, 120}, {20, 20, 25}, {150, 20, 25}, {60, 60, 60}};
    s.paper = papers[rng.below(5)];
    s.ink = inks[rng.below(4)];
  } else {
    // Chalk on a board, or a light digit on a dark screen.
    const Rgb boards[] = {{35, 55, 45}, {25, 25, 30}, {60, 60, 70}};
    const Rgb chalks[] = {{235, 235, 225}, {250, 240, 160}, {200, 220, 250}};
    s.paper = boards[rng.below(3)];
    s.ink = chalks[rng.below(3)];
  }
  s.gradient = rng.uniform(0.0f, 0.3f);
  s.gradient_angle = rng.uniform(0.0f, 6.2831853f);
  s.vignette = rng.uniform(0.0f, 0.2f);
  s.noise = rng.uniform(0.0f, 8.0f);
  s.blur = int(rng.below(2));
  return s;
}

std::vector<std::uint8_t> photograph(const InkCanvas& ink, const PhotoStyle& s, Rng& rng) {
  const int w = ink.width, h = ink.height;
  // Defocus: box blur of the ink coverage.
  InkCanvas cover = ink;
  if (s.blur > 0) {
    for (int pass = 0; pass < 2; ++pass) {  // horizontal, then vertical
      InkCanvas tmp = cover;
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          float sum = 0;
          int n = 0;
          for (int k = -s.blur; k <= s.blur; ++k) {
            const int qx = pass == 0 ? x + k : x, qy = pass == 0 ? y : y + k;
            if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
            sum += tmp.at(qx, qy);
            ++n;
          }
          cover.at(x, y) = sum / float(n);
        }
    }
  }
  std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
  const float ca = std::cos(s.gradient_angle), sa = std::sin(s.gradient_angle);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float u = w > 1 ? 2.0f * x / (w - 1) - 1 : 0, v = h > 1 ? 2.0f * y / (h - 1) - 1 : 0;
      const float light = 1 + 0.5f * s.gradient * (ca * u + sa * v) - 0.5f * s.vignette * (u * u + v * v);
      const float a = cover.at(x, y);
      const float mix[3] = {s.paper.r * (1 - a) + s.ink.r * a, s.paper.g * (1 - a) + s.ink.g * a,
                            s.paper.b * (1 - a) + s.ink.b * a};
      for (int ch = 0; ch < 3; ++ch) {
        const float value = mix[ch] * light + s.noise * gaussian(rng);
        rgb[(std::size_t(y) * w + x) * 3 + ch] = std::uint8_t(std::clamp(std::lround(value), 0l, 255l));
      }
    }
  return rgb;
}

std::vector<std::uint8_t> to_grey(const std::vector<std::uint8_t>& rgb) {
  std::vector<std::uint8_t> grey(rgb.size() / 3);
  for (std::size_t i = 0; i < grey.size(); ++i)
    grey[i] = std::uint8_t(std::lround(0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]));
  return grey;
}

}  // namespace lenet::test

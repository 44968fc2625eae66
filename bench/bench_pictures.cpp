// The picture path's time on one thread: the web pad's 280x280 drawing through preprocess_digit (what the
// page times per request), and a 12-Mpixel phone photo decoded and read. `./build/bench/bench_pictures`.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "lenet/decode.h"
#include "lenet/normalise.h"
#include "lenet/rng.h"

namespace lenet {
namespace {

struct Point {
  double x, y;
};

// Distance from p to the segment ab.
double to_segment(Point p, Point a, Point b) {
  const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(p.x - a.x - t * dx, p.y - a.y - t * dy);
}

// A "2" written with a round pen of `pen` pixels on a w x h picture (its shape given in [0, 1]), ink dark
// on `paper`, anti-aliased over a pixel.
GreyImage drawn_two(int w, int h, double pen, std::uint8_t paper) {
  std::vector<Point> path;
  for (int k = 0; k <= 12; ++k) {  // the top arc, then down to the bottom left, then the base
    const double a = M_PI * (1.1 - 1.35 * k / 12.0);
    path.push_back({0.5 + 0.25 * std::cos(a), 0.35 - 0.2 * std::sin(a)});
  }
  path.push_back({0.25, 0.8});
  path.push_back({0.78, 0.8});
  const double side = std::min(w, h);
  GreyImage g{w, h, std::vector<std::uint8_t>(std::size_t(w) * h), "drawn"};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double d = 1e9;
      const Point p{(x + 0.5) / side, (y + 0.5) / side};
      for (std::size_t k = 1; k < path.size(); ++k) d = std::min(d, to_segment(p, path[k - 1], path[k]));
      const double cover = std::clamp(pen / 2 - d * side + 0.5, 0.0, 1.0);
      g.pixels[std::size_t(y) * w + x] = std::uint8_t(std::lround(paper * (1 - cover)));
    }
  return g;
}

// The page's pad: 280x280, white, the pen of apps/lenet/web/app.js (PEN_WIDTH = 19).
void BM_PadPreprocess(benchmark::State& state) {
  const GreyImage pad = drawn_two(280, 280, 19, 255);
  for (auto _ : state) benchmark::DoNotOptimize(preprocess_digit(pad));
}
BENCHMARK(BM_PadPreprocess)->Unit(benchmark::kMillisecond);

// A 4000x3000 photo of a digit on uneven, noisy paper (as a phone's JPEG, quality 90): decoding alone,
// and decoding then preprocessing.
const std::string& photo_jpeg() {
  static const std::string bytes = [] {
    GreyImage g = drawn_two(4000, 3000, 90, 215);
    Rng rng(7);
    for (int y = 0; y < g.height; ++y)
      for (int x = 0; x < g.width; ++x) {
        std::uint8_t& p = g.pixels[std::size_t(y) * g.width + x];
        const double light = 0.8 + 0.2 * x / g.width;
        p = std::uint8_t(std::clamp(p * light + rng.uniform(-6.0f, 6.0f), 0.0, 255.0));
      }
    const std::string path = "/tmp/lenet_bench_photo.jpg";
    save_image(path, g.pixels.data(), g.width, g.height, 1, 90);
    std::FILE* f = std::fopen(path.c_str(), "rb");
    std::string out;
    char buf[1 << 16];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    std::fclose(f);
    std::remove(path.c_str());
    return out;
  }();
  return bytes;
}

void BM_PhotoDecode(benchmark::State& state) {
  const std::string& b = photo_jpeg();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        decode_grey_image(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), "photo"));
}
BENCHMARK(BM_PhotoDecode)->Unit(benchmark::kMillisecond);

void BM_PhotoDecodeAndPreprocess(benchmark::State& state) {
  const std::string& b = photo_jpeg();
  for (auto _ : state)
    benchmark::DoNotOptimize(preprocess_digit(
        decode_grey_image(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), "photo")));
}
BENCHMARK(BM_PhotoDecodeAndPreprocess)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lenet

BENCHMARK_MAIN();

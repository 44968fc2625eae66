// Writes the README's example pictures: a photo-like picture of one handwritten digit and one of a number,
// made from MNIST test digits (written in pen on ruled, tinted paper, lit unevenly, with noise and JPEG
// compression). Built and run by tools/make_examples.sh; deterministic.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "helpers/synthetic.h"
#include "lenet/idx.h"
#include "lenet/image.h"

using namespace lenet;

namespace {

// Faint ruled lines, as in a school exercise book: light blue lines every `pitch` px (ink coverage 0.15,
// in the ink colour's place the photo draws paper-blue, so they are added to the RGB afterwards).
void rule_lines(std::vector<std::uint8_t>& rgb, int w, int h, int pitch, int first) {
  for (int y = first; y < h; y += pitch)
    for (int dy = 0; dy < 2 && y + dy < h; ++dy)
      for (int x = 0; x < w; ++x) {
        std::uint8_t* p = &rgb[(std::size_t(y + dy) * w + x) * 3];
        p[0] = std::uint8_t(p[0] * 0.86), p[1] = std::uint8_t(p[1] * 0.92);  // a pale blue tint
      }
}

// The first test image of each wanted label, in order.
std::vector<int> pick(const Dataset& d, const std::string& digits) {
  std::vector<int> out;
  int from = 0;
  for (char c : digits)
    for (int i = from; i < d.count; ++i)
      if (d.labels[std::size_t(i)] == c - '0') {
        out.push_back(i);
        from = i + 1;
        break;
      }
  return out;
}

void write_examples(const std::string& mnist_dir, const std::string& out) {
  const Dataset d = load_split(mnist_dir, Split::Test);
  Rng rng(1998);

  test::PhotoStyle style;  // blue ballpoint on cream paper, lit from the upper left
  style.paper = {238, 230, 208};
  style.ink = {28, 42, 120};
  style.gradient = 0.28f;
  style.gradient_angle = 0.6f;
  style.vignette = 0.18f;
  style.noise = 5;
  style.blur = 1;

  {  // One digit: test image of a "4", 14x, pen strokes, off-centre on a 420x360 page.
    const int i = pick(d, "4")[0];
    const test::InkCanvas big = test::enlarge(test::from_idx(d.image(i), 28, 28), 11, 3.0);
    const test::InkCanvas page = test::place(big, 420, 360, 140, 30);
    std::vector<std::uint8_t> rgb = test::photograph(page, style, rng);
    rule_lines(rgb, page.width, page.height, 46, 20);
    save_image(out + "/digit-photo.jpg", rgb.data(), page.width, page.height, 3, 80);
  }
  {  // A number: 2026, the "0" and "2" touching, 4x, on a 2:1 page.
    std::vector<const std::uint8_t*> digits;
    for (int i : pick(d, "2026")) digits.push_back(d.image(i));
    const test::InkCanvas number = test::compose_number(digits, 28, 28, {false, true, false}, rng, 10);
    const test::InkCanvas big = test::enlarge(number, 4.5, 3.0);
    std::vector<std::uint8_t> rgb = test::photograph(big, style, rng);
    rule_lines(rgb, big.width, big.height, 40, 12);
    save_image(out + "/number-photo.jpg", rgb.data(), big.width, big.height, 3, 80);
  }
  std::printf("wrote %s/digit-photo.jpg and %s/number-photo.jpg\n", out.c_str(), out.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  try {  // a missing MNIST or an unwritable folder: said, and exit 1
    if (argc != 3) throw std::invalid_argument("usage: make_examples MNIST_DIR OUT_DIR");
    write_examples(argv[1], argv[2]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_examples: %s\n", e.what());
    return 1;
  }
}

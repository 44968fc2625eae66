// Example (lenet::lenet only): classify a 28×28 digit, given as a binary PGM with MNIST's levels
// (0 = background, 255 = ink), with a model file. Usage: classify_digit MODEL IMAGE.pgm
// Prints "DIGIT CONFIDENCE". Pictures of any other kind: see read_number.cpp (lenet::vision).
#include <lenet/lenet.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Only the one layout this example needs: "P5 28 28 255", then 784 bytes.
std::vector<std::uint8_t> read_pgm_28x28(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::string magic;
  int width = 0, height = 0, maxval = 0;
  in >> magic >> width >> height >> maxval;
  if (!in || magic != "P5" || width != 28 || height != 28 || maxval != 255)
    throw std::runtime_error(path + ": expected a binary PGM (P5) of 28x28 pixels with maxval 255");
  in.get();  // the single whitespace before the pixels
  std::vector<std::uint8_t> pixels(lenet::kImagePixels);
  if (!in.read(reinterpret_cast<char*>(pixels.data()), std::streamsize(pixels.size())))
    throw std::runtime_error(path + ": truncated: expected 784 bytes of pixels");
  return pixels;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: classify_digit MODEL IMAGE.pgm\n");
    return 2;
  }
  try {
    const lenet::Classifier classifier(argv[1]);  // thread-safe: share it between threads
    const lenet::DigitGuess guess =
        classifier.classify(std::span<const std::uint8_t>(read_pgm_28x28(argv[2])));
    std::printf("%d %.3f\n", guess.digit, double(guess.confidence));
  } catch (const std::exception& e) {  // lenet::ModelFileError, std::invalid_argument, ...
    std::fprintf(stderr, "classify_digit: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

// Test tool: lenet's own scores and probabilities for every image of an idx split, written as raw float32
// so that the interop tests (ONNX, PyTorch import, Python module) compare other runtimes against them.
// Usage: lenet_outputs MODEL DATA_DIR test|train OUT   -> OUT holds N×10 scores, then N×10 probabilities.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "lenet/idx.h"
#include "lenet/lenet5_io.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: lenet_outputs MODEL DATA_DIR test|train OUT\n");
    return 2;
  }
  try {
    using namespace lenet;
    const LoadedModel loaded = load_lenet5(argv[1]);
    const Lenet5& m = loaded.model;
    const Dataset data = load_split(argv[2], std::string(argv[3]) == "train" ? Split::Train : Split::Test);
    constexpr int kBatch = 256;
    Activations a(m, kBatch);
    std::vector<float> scores(std::size_t(data.count) * kClasses), probs(scores.size());
    for (int first = 0; first < data.count; first += kBatch) {
      const int n = std::min(kBatch, data.count - first);
      for (int i = 0; i < n; ++i)
        image_to_input(a.input.data() + std::size_t(i) * kInputSize, data.image(first + i), data.rows,
                       data.cols);
      lenet5_forward(m, a, n);
      for (int i = 0; i < n; ++i) {
        const float* s = a.scores.data() + std::size_t(i) * kClasses;
        const std::size_t at = std::size_t(first + i) * kClasses;
        std::copy_n(s, kClasses, scores.begin() + std::ptrdiff_t(at));
        m.probabilities(probs.data() + at, s);
      }
    }
    std::FILE* f = std::fopen(argv[4], "wb");
    if (!f) throw std::runtime_error(std::string("cannot create ") + argv[4]);
    const bool ok = std::fwrite(scores.data(), sizeof(float), scores.size(), f) == scores.size() &&
                    std::fwrite(probs.data(), sizeof(float), probs.size(), f) == probs.size();
    if (std::fclose(f) != 0 || !ok) throw std::runtime_error(std::string("cannot write ") + argv[4]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lenet_outputs: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

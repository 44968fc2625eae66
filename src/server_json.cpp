// The JSON of the web demo's answers, shared by lenet serve and the WebAssembly page (wasm/build.sh
// compiles this file too): the input, a guess, the feature maps, an error.
#include "lenet/server_json.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace lenet {

nlohmann::json image_json(const MnistImage& image) { return std::vector<int>(image.begin(), image.end()); }

nlohmann::json guess_json(const DigitGuess& g) {
  return {{"digit", g.digit}, {"confidence", g.confidence}, {"probabilities", g.probabilities}};
}

nlohmann::json feature_maps_json(const Lenet5& model, const Activations& a) {
  nlohmann::json out = nlohmann::json::array();
  for (const LayerInfo& l : model.layers()) {
    const AlignedFloats* buf = l.name == "C1"   ? &a.c1
                               : l.name == "S2" ? &a.s2
                               : l.name == "C3" ? &a.c3
                               : l.name == "S4" ? &a.s4
                                                : nullptr;
    if (!buf) continue;
    const std::size_t count = std::size_t(l.output[0]) * std::size_t(l.output[1]) * std::size_t(l.output[2]);
    // The size check keeps a mismatched model and activations from reading past the buffer.
    if (buf->size() < count) throw std::logic_error("activations of " + l.name + " smaller than its output");
    const auto [lo, hi] = std::minmax_element(buf->begin(), buf->begin() + std::ptrdiff_t(count));
    const float range = *hi - *lo;
    std::vector<int> pixels(count);
    for (std::size_t i = 0; i < count; ++i)
      pixels[i] = range > 0 ? int(std::lround(255.0f * ((*buf)[i] - *lo) / range)) : 0;
    out.push_back({{"name", l.name},
                   {"description", l.description},
                   {"precision", "fp32"},
                   {"maps", l.output[0]},
                   {"height", l.output[1]},
                   {"width", l.output[2]},
                   {"min", *lo},
                   {"max", *hi},
                   {"pixels", pixels}});
  }
  return out;
}

// Messages may quote the request (e.g. its path), which need not be UTF-8: such bytes become U+FFFD
// instead of an exception (found by fuzz/fuzz_http).
std::string error_json(int status, const std::string& message) {
  return nlohmann::json{{"error", message}, {"status", status}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lenet

// The JSON of the web demo's answers that both lenet serve (server_api.cpp) and the WebAssembly page
// (wasm/lenet_wasm.cpp) write: one definition, so the page reads the same fields from either.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "lenet/classify.h"
#include "lenet/image.h"
#include "lenet/lenet5.h"

namespace lenet {

// The 28x28 input as 784 numbers 0..255, row-major.
nlohmann::json image_json(const MnistImage& image);
// {"digit", "confidence", "probabilities": [10]}
nlohmann::json guess_json(const DigitGuess& g);
// C1, S2, C3 and S4 of the sample in slot 0 of the activations: [{"name", "description", "precision",
// "maps", "height", "width", "min", "max", "pixels"}], pixels scaled to 0..255 over the whole layer. Always
// the fp32 network's (an int8 server's answer comes from its int8 network, which keeps no maps), and each
// layer says so. std::logic_error if the activations are smaller than the model's layers say.
nlohmann::json feature_maps_json(const Lenet5& model, const Activations& a);
// {"error": message, "status": status}; bytes that are not UTF-8 become U+FFFD.
std::string error_json(int status, const std::string& message);

}  // namespace lenet

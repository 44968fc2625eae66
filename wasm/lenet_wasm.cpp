// The web demo's API — GET /api/model, POST /api/predict, POST /api/read — answered inside the browser by
// the library compiled to WebAssembly, with the same JSON as `lenet serve` (src/server_json.cpp, compiled
// by both), so the page (apps/lenet/web) runs unchanged from a static folder (`make web`, wasm/local.js).
// Picture files are decoded by the browser: a picture arrives as kPixelsType, its RGBA pixels.
#include <emscripten/emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lenet/classify.h"
#include "lenet/image.h"
#include "lenet/lenet5_io.h"
#include "lenet/model_file.h"
#include "lenet/segment.h"
#include "lenet/server_json.h"  // the same JSON as lenet serve

namespace {

using nlohmann::json;
using namespace lenet;

// As `lenet serve`'s default (include/lenet/server.h): larger pictures are refused.
constexpr long long kMaxPicturePixels = 16'000'000;
// A picture decoded by the browser: u32 width, u32 height (little-endian), then width·height RGBA pixels,
// not premultiplied.
constexpr const char* kPixelsType = "application/x-lenet-rgba";

struct HttpError {
  int status;
  std::string message;
};

struct State {
  std::optional<LoadedModel> loaded;
  std::unique_ptr<DigitClassifier> classifier;
  json info;
  std::string answer;        // the last answer: "<status>\n<json>", valid until the next call
  double inference_ms = 0;   // the last request's network time (classification of the 28x28 input)
  double preprocess_ms = 0;  // the last request's picture preprocessing time
};
State state;

std::string query_value(const std::string& target, const std::string& name) {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  std::string rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string::npos ? "1" : pair.substr(eq + 1);
    if (amp == std::string::npos) break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

bool query_flag(const std::string& target, const std::string& name) {
  const std::string v = query_value(target, name);
  return v == "1" || v == "true";
}

bool is_image_type(const std::string& type) { return type == kPixelsType; }

std::uint32_t read_u32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}

// RGBA pixels -> grey levels as the library's decoder makes them (src/decode.cpp): luminance with the
// BT.601 integer weights (77 R + 150 G + 29 B) / 256, so grey stays grey; then, if the picture has transparency,
// composited over paper that contrasts with the ink (black paper under light ink, else white).
GreyImage decode(const std::uint8_t* body, int size) {
  if (size < 8) throw HttpError{400, "expected a picture's pixels: width, height, RGBA"};
  const std::uint32_t w = read_u32(body), h = read_u32(body + 4);
  if (w == 0 || h == 0) throw HttpError{422, "uploaded image: image has no pixels"};
  if (static_cast<long long>(w) * h > kMaxPicturePixels) throw HttpError{413, "picture too large"};
  const std::size_t count = std::size_t(w) * h;
  if (std::size_t(size) != 8 + 4 * count)
    throw HttpError{
        400, "expected " + std::to_string(8 + 4 * count) + " bytes of pixels, found " + std::to_string(size)};
  const std::uint8_t* rgba = body + 8;
  GreyImage g;
  g.width = int(w);
  g.height = int(h);
  g.source = "uploaded image";
  g.pixels.resize(count);
  bool transparent = false;
  double weighted = 0, weight = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* p = rgba + 4 * i;
    g.pixels[i] = std::uint8_t((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
    transparent = transparent || p[3] != 255;
    weighted += double(g.pixels[i]) * p[3];
    weight += p[3];
  }
  if (transparent) {
    const double paper = (weight > 0 && weighted / weight > 127.5) ? 0.0 : 255.0;
    for (std::size_t i = 0; i < count; ++i) {
      const double a = rgba[4 * i + 3] / 255.0;
      g.pixels[i] = std::uint8_t(std::lround(a * g.pixels[i] + (1 - a) * paper));
    }
  }
  return g;
}

json predict(const std::string& target, const std::string& type, const std::uint8_t* body, int size) {
  MnistImage image{};
  bool maps = query_flag(target, "maps");
  if (type == "application/json") {
    json j;
    try {
      j = json::parse(body, body + size);
    } catch (const json::exception& e) {
      throw HttpError{400, std::string("malformed JSON: ") + e.what()};
    }
    const auto pixels = j.is_object() ? j.find("pixels") : j.end();
    if (pixels == j.end() || !pixels->is_array() || pixels->size() != image.size())
      throw HttpError{400, "expected {\"pixels\": [784 values 0..255]}"};
    for (std::size_t i = 0; i < image.size(); ++i) {
      const json& v = (*pixels)[i];
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 255))
        throw HttpError{400, "\"pixels\"[" + std::to_string(i) + "] must be a number in 0..255"};
      image[i] = std::uint8_t(std::lround(v.get<double>()));
    }
    if (const auto m = j.find("maps"); m != j.end() && m->is_boolean()) maps = maps || m->get<bool>();
  } else if (is_image_type(type)) {
    const GreyImage grey = decode(body, size);
    const double t0 = emscripten_get_now();
    image = preprocess_digit(grey);
    state.preprocess_ms = emscripten_get_now() - t0;
  } else {
    throw HttpError{415, "unsupported Content-Type '" + type + "': send a picture or application/json"};
  }
  const double t1 = emscripten_get_now();
  const DigitGuess g = state.classifier->classify(image);
  state.inference_ms = emscripten_get_now() - t1;
  json j = guess_json(g);
  j["input"] = image_json(image);
  if (maps) j["maps"] = feature_maps_json(state.loaded->model, state.classifier->activations());
  return j;
}

json read(const std::string& target, const std::string& type, const std::uint8_t* body, int size) {
  if (!is_image_type(type)) throw HttpError{415, "unsupported Content-Type '" + type + "': send an image"};
  ReadOptions ro;
  if (const std::string v = query_value(target, "reject"); !v.empty()) {
    char* end = nullptr;
    ro.reject_below = std::strtof(v.c_str(), &end);
    if (*end != '\0' || !(ro.reject_below >= 0 && ro.reject_below <= 1))
      throw HttpError{400, "query parameter reject must be a number in 0..1, not '" + v + "'"};
  }
  const GreyImage grey = decode(body, size);
  const Reading reading = read_number(*state.classifier, grey, ro);
  json digits = json::array();
  for (const ReadDigit& d : reading.digits) {
    json j = guess_json(d.guess);
    j["box"] = {{"x", d.box.x}, {"y", d.box.y}, {"w", d.box.w}, {"h", d.box.h}};
    j["input"] = image_json(d.input);
    digits.push_back(std::move(j));
  }
  return {{"text", reading.text}, {"width", grey.width}, {"height", grey.height}, {"digits", digits}};
}

const char* answer(int status, const json& j) {
  state.answer = std::to_string(status) + "\n" + j.dump(-1, ' ', false, json::error_handler_t::replace);
  return state.answer.c_str();
}

}  // namespace

extern "C" {

// Loads a model file from its bytes; returns "<status>\n<json>" (200 and the model's description, or 400
// and {"error"}).
EMSCRIPTEN_KEEPALIVE const char* lenet_wasm_load(const std::uint8_t* bytes, int size, const char* name) {
  try {
    state.loaded.emplace(
        lenet5_from_model_file(parse_model(bytes, std::size_t(std::max(size, 0)), name), name));
    state.classifier = std::make_unique<DigitClassifier>(state.loaded->model, 1);
    const Lenet5& model = state.loaded->model;
    state.info = {{"arch", std::string(arch_name(model.arch()))},
                  {"parameters", model.parameter_count()},
                  {"input", {1, kInputSide, kInputSide}},
                  {"model", name},
                  {"config", state.loaded->config}};
    if (state.loaded->config.contains("test_accuracy"))
      state.info["test_accuracy"] = state.loaded->config["test_accuracy"];
    for (const LayerInfo& l : model.layers())
      state.info["layers"].push_back({{"name", l.name},
                                      {"description", l.description},
                                      {"output", l.output},
                                      {"parameters", l.parameters},
                                      {"multiply_adds", l.connections}});
    return answer(200, state.info);
  } catch (const std::exception& e) {
    state.loaded.reset();
    return answer(400, {{"error", e.what()}});
  }
}

// The last POST /api/predict's times in milliseconds: the network on the 28x28 input (inference), and the
// picture's preprocessing into that input.
EMSCRIPTEN_KEEPALIVE double lenet_wasm_inference_ms() { return state.inference_ms; }
EMSCRIPTEN_KEEPALIVE double lenet_wasm_preprocess_ms() { return state.preprocess_ms; }

// One request to the API: method "GET"/"POST", target "/api/predict?maps=1", the Content-Type, the body.
// Returns "<status>\n<json>"; errors as {"error": message}, with the status `lenet serve` gives.
EMSCRIPTEN_KEEPALIVE const char* lenet_wasm_request(const char* method, const char* target_c,
                                                    const char* type_c, const std::uint8_t* body, int size) {
  const std::string target = target_c, m = method;
  std::string type = type_c;
  type = type.substr(0, type.find(';'));
  const std::string path = target.substr(0, target.find('?'));
  state.inference_ms = state.preprocess_ms = 0;
  try {
    if (!state.loaded) throw HttpError{503, "no model loaded"};
    if (path == "/api/model" && m == "GET") return answer(200, state.info);
    if (path == "/api/predict" && m == "POST") return answer(200, predict(target, type, body, size));
    if (path == "/api/read" && m == "POST") return answer(200, read(target, type, body, size));
    if (path == "/api/model" || path == "/api/predict" || path == "/api/read")
      throw HttpError{405, "method not allowed"};
    throw HttpError{404, "not found: " + path};
  } catch (const HttpError& e) {
    return answer(e.status, {{"error", e.message}});
  } catch (const ImageError& e) {
    return answer(422, {{"error", e.what()}});
  } catch (const std::exception& e) {
    return answer(400, {{"error", e.what()}});
  }
}

}  // extern "C"

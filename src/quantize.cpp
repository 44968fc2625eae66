// Post-training int8 quantisation of the modern LeNet-5: weights to int8 per output map, activation
// scales from training images, the requantisation constants folded per layer, and the int8 forward pass.
#include "lenet/quantize.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "lenet/errors.h"
#include "lenet/loss.h"
#include "lenet/simd.h"

namespace lenet {

std::string_view precision_name(Precision p) { return p == Precision::Int8 ? "int8" : "fp32"; }

std::optional<Precision> parse_precision(std::string_view name) {
  if (name == "fp32") return Precision::Fp32;
  if (name == "int8") return Precision::Int8;
  return std::nullopt;
}

namespace {

// The value at quantile q of v (v is reordered).
float quantile(std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, std::size_t(q * double(v.size())));
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
  return v[k];
}

// An activation scale that can divide: a layer that never fired on the calibration images keeps 1.
float usable(float clip) { return clip > 0 && std::isfinite(clip) ? clip : 1.0f; }

}  // namespace

Int8Scales calibrate_int8(const Lenet5& model, const Dataset& train, int images) {
  if (model.arch() != Arch::Lenet5) throw std::invalid_argument("int8 quantisation needs the modern lenet5");
  check_dataset_fits(train, "calibration set");
  const int count = std::min(images, train.count);
  if (count <= 0) throw std::invalid_argument("int8 calibration needs at least one training image");
  constexpr int kChunk = 250;
  Activations a(model, kChunk);
  std::vector<float> c1, c3, c5, f6;
  for (int first = 0; first < count; first += kChunk) {
    const int n = std::min(kChunk, count - first);
    for (int i = 0; i < n; ++i)
      image_to_input(a.input.data() + std::size_t(i) * kInputSize, train.image(first + i), train.rows,
                     train.cols);
    lenet5_forward(model, a, n);
    const std::size_t N = std::size_t(n);
    c1.insert(c1.end(), a.c1.begin(), a.c1.begin() + std::ptrdiff_t(N * 6 * 28 * 28));
    c3.insert(c3.end(), a.c3.begin(), a.c3.begin() + std::ptrdiff_t(N * 16 * 10 * 10));
    c5.insert(c5.end(), a.c5.begin(), a.c5.begin() + std::ptrdiff_t(N * 120));
    f6.insert(f6.end(), a.f6.begin(), a.f6.begin() + std::ptrdiff_t(N * Lenet5::kF6));
  }
  const double q = kInt8CalibrationQuantile;
  return Int8Scales{usable(quantile(c1, q)), usable(quantile(c3, q)), usable(quantile(c5, q)),
                    usable(quantile(f6, q)), count};
}

nlohmann::json int8_scales_json(const Int8Scales& s) {
  return {{"C1", s.c1},
          {"C3", s.c3},
          {"C5", s.c5},
          {"F6", s.f6},
          {"quantile", kInt8CalibrationQuantile},
          {"calibration_images", s.calibration_images}};
}

std::optional<Int8Scales> int8_scales_from_config(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("int8")) return std::nullopt;
  const nlohmann::json& j = config["int8"];
  if (!j.is_object()) throw std::runtime_error("config field int8: expected an object, found " + j.dump());
  auto scale = [&](const char* name) {
    if (!j.contains(name) || !j[name].is_number())
      throw std::runtime_error(std::string("config field int8.") + name + ": expected a positive number");
    const double v = j[name].get<double>();
    if (!(v > 0) || !std::isfinite(v))
      throw std::runtime_error(std::string("config field int8.") + name +
                               ": expected a positive finite number, found " + j[name].dump());
    return float(v);
  };
  Int8Scales s{scale("C1"), scale("C3"), scale("C5"), scale("F6"), 0};
  if (j.contains("calibration_images") && j["calibration_images"].is_number_integer())
    s.calibration_images = j["calibration_images"].get<int>();
  return s;
}

Int8Workspace::Int8Workspace(int cap)
    : capacity(cap),
      image(std::size_t(cap) * kInt8ImageBytes + kInt8ImageSlack),
      s2(std::size_t(cap) * kInt8S2Bytes),
      s4(std::size_t(cap) * kInt8S4Bytes),
      c5(std::size_t(cap) * kInt8C5Bytes),
      f6(std::size_t(cap) * kInt8F6Bytes) {}

namespace {

// Symmetric int8 weights of one output map: w ≈ step · q, q in [−127, 127]; returns step.
float quantize_map(std::int8_t* q, const float* w, int count) {
  float peak = 0;
  for (int k = 0; k < count; ++k) peak = std::max(peak, std::fabs(w[k]));
  const float step = peak > 0 ? peak / 127.0f : 1.0f;
  for (int k = 0; k < count; ++k) q[k] = std::int8_t(std::clamp(std::lrint(w[k] / step), -127L, 127L));
  return step;
}

void put_byte(std::int32_t& quad, int j, std::int8_t v) {
  quad =
      std::int32_t((std::uint32_t(quad) & ~(0xFFu << (8 * j))) | (std::uint32_t(std::uint8_t(v)) << (8 * j)));
}

// A layer with its sizes set and weights, scales and offsets all zero (what padding must hold).
Int8Layer zero_layer(int outputs, int out_lanes, std::size_t weight_quads, int in_bytes = 0) {
  Int8Layer l;
  l.in_bytes = in_bytes;
  l.out_lanes = out_lanes;
  l.outputs = outputs;
  l.weight.assign(weight_quads, 0);
  l.scale.assign(std::size_t(out_lanes), 0.0f);
  l.offset.assign(std::size_t(out_lanes), 0.0f);
  return l;
}

// A full layer: weights (outputs, inputs) in the fp32 model; input byte k of the int8 layer reads fp32
// input in_index(k) (or nothing, −1).
template <class InIndex>
Int8Layer full_layer(const float* w, const float* bias, int outputs, int inputs, int in_bytes, int out_lanes,
                     float in_step, float out_step, const InIndex& in_index) {
  Int8Layer l = zero_layer(outputs, out_lanes, std::size_t(in_bytes / 4) * std::size_t(out_lanes), in_bytes);
  std::vector<std::int8_t> q(static_cast<std::size_t>(inputs));
  for (int o = 0; o < outputs; ++o) {
    const float step = quantize_map(q.data(), w + std::size_t(o) * inputs, inputs);
    for (int k = 0; k < in_bytes; ++k) {
      const int src = in_index(k);
      if (src >= 0)
        put_byte(l.weight[std::size_t(k / 4) * std::size_t(out_lanes) + std::size_t(o)], k % 4,
                 q[std::size_t(src)]);
    }
    // out_step 0: logits, in real units.
    l.scale[std::size_t(o)] = in_step * step / (out_step > 0 ? out_step : 1.0f);
    l.offset[std::size_t(o)] = bias[o] / (out_step > 0 ? out_step : 1.0f);
  }
  return l;
}

}  // namespace

Int8Lenet5::Int8Lenet5(const Lenet5& model, const Int8Scales& s) : scales_(s) {
  if (model.arch() != Arch::Lenet5) throw std::invalid_argument("int8 quantisation needs the modern lenet5");
  const float* p = model.params.data();
  const float step1 = s.c1 / 255, step3 = s.c3 / 255, step5 = s.c5 / 255, step6 = s.f6 / 255;

  // C1 reads pixel levels: the network's input is x = background + ink_step · level (image_to_input).
  constexpr float kInkStep = (kInputInk - kInputBackground) / 255.0f;
  c1 = zero_layer(6, 16, 6 * 5 * 2);
  for (int c = 0; c < 6; ++c) {
    std::int8_t q[25];
    const float step = quantize_map(q, p + model.at.c1_w + std::size_t(c) * 25, 25);
    int sum = 0;
    for (int k = 0; k < 25; ++k) {
      const int kh = k / 5, kw = k % 5;
      put_byte(c1.weight[std::size_t((c * 5 + kh) * 2 + kw / 4)], kw % 4, q[k]);
      sum += q[k];
    }
    c1.scale[std::size_t(c)] = step * kInkStep / step1;
    c1.offset[std::size_t(c)] =
        (step * kInputBackground * float(sum) + p[model.at.c1_b + std::size_t(c)]) / step1;
  }

  // C3 reads S2's HWC rows: byte b of kernel row kh is (kw, map) = (b / 6, b % 6).
  c3 = zero_layer(16, 16, 5 * 8 * 16);
  for (int o = 0; o < 16; ++o) {
    std::int8_t q[150];  // (6, 5, 5)
    const float step = quantize_map(q, p + model.at.c3_w + std::size_t(o) * 150, 150);
    for (int kh = 0; kh < 5; ++kh)
      for (int b = 0; b < 30; ++b)
        put_byte(c3.weight[std::size_t((kh * 8 + b / 4) * 16 + o)], b % 4, q[(b % 6) * 25 + kh * 5 + b / 6]);
    c3.scale[std::size_t(o)] = step1 * step / step3;
    c3.offset[std::size_t(o)] = p[model.at.c3_b + std::size_t(o)] / step3;
  }

  // C5 reads S4 as HWC (5, 5, 16); its weights are (120, 16, 5, 5).
  c5 = full_layer(p + model.at.c5_w, p + model.at.c5_b, 120, 400, int(kInt8S4Bytes), int(kInt8C5Bytes), step3,
                  step5, [](int k) { return (k % 16) * 25 + k / 16; });
  f6 = full_layer(p + model.at.f6_w, p + model.at.f6_b, Lenet5::kF6, 120, int(kInt8C5Bytes),
                  int(kInt8F6Bytes), step5, step6, [](int k) { return k < 120 ? k : -1; });
  out = full_layer(p + model.at.out_w, p + model.at.out_b, kClasses, Lenet5::kF6, int(kInt8F6Bytes), 16,
                   step6, 0.0f, [](int k) { return k < Lenet5::kF6 ? k : -1; });
}

template <bool Naive>
void Int8Lenet5::run(float* scores, const std::uint8_t* images, int rows, int cols, int n,
                     Int8Workspace& ws) const {
  if (rows > 32 || cols > 32 || rows < 1 || cols < 1)
    throw std::invalid_argument("int8 forward: images must be at most 32x32");
  const int top = (32 - rows) / 2, left = (32 - cols) / 2;
  for (int first = 0; first < n; first += ws.capacity) {
    const int m = std::min(ws.capacity, n - first);
    // C1's input: the image centred in 32×32 background (level 0), as image_to_input does. MNIST's 28
    // columns are copied with a constant size (inline moves, not a libc call per row).
    std::memset(ws.image.data(), 0, std::size_t(m) * kInt8ImageBytes);
    const auto place = [&](std::size_t width) LENET_INLINE {
      for (int i = 0; i < m; ++i)
        for (int y = 0; y < rows; ++y)
          std::memcpy(ws.image.data() + std::size_t(i) * kInt8ImageBytes + std::size_t(top + y) * 32 + left,
                      images + (std::size_t(first + i) * rows + y) * width, width);
    };
    if (cols == kMnistSide)
      place(kMnistSide);
    else
      place(std::size_t(cols));
    float* s = scores + std::size_t(first) * kClasses;
    if constexpr (Naive) {
      // C1 + S2: 1@32x32 -> 6@28x28 -> 6@14x14; C3 + S4: -> 16@10x10 -> 16@5x5; C5, F6, OUTPUT
      naive::c1s2_int8_forward(ws.s2.data(), ws.image.data(), c1, m);
      naive::c3s4_int8_forward(ws.s4.data(), ws.s2.data(), c3, m);
      naive::fc_int8_forward(ws.c5.data(), ws.s4.data(), c5, m);
      naive::fc_int8_forward(ws.f6.data(), ws.c5.data(), f6, m);
      naive::fc_int8_logits(s, ws.f6.data(), out, m);
    } else {
      c1s2_int8_forward(ws.s2.data(), ws.image.data(), c1, m);
      c3s4_int8_forward(ws.s4.data(), ws.s2.data(), c3, m);
      fc_int8_forward(ws.c5.data(), ws.s4.data(), c5, m);
      fc_int8_forward(ws.f6.data(), ws.c5.data(), f6, m);
      fc_int8_logits(s, ws.f6.data(), out, m);
    }
  }
}

void Int8Lenet5::forward(float* scores, const std::uint8_t* images, int rows, int cols, int n,
                         Int8Workspace& ws) const {
  run<false>(scores, images, rows, cols, n, ws);
}
void Int8Lenet5::forward_naive(float* scores, const std::uint8_t* images, int rows, int cols, int n,
                               Int8Workspace& ws) const {
  run<true>(scores, images, rows, cols, n, ws);
}

Int8Lenet5 int8_network(const LoadedModel& loaded, const std::string& path) {
  if (loaded.model.arch() != Arch::Lenet5)
    throw ModelFileError(path + ": int8 inference runs the modern lenet5 only, this model is " +
                         std::string(arch_name(loaded.model.arch())));
  std::optional<Int8Scales> scales;
  try {
    scales = int8_scales_from_config(loaded.config);
  } catch (const std::exception& e) {
    throw ModelFileError(path + ": " + e.what());
  }
  if (!scales)
    throw ModelFileError(path + ": no int8 activation scales in the model (expected a config field int8); " +
                         "add them with `lenet quantize --model " + path + " --out QUANTISED.bin`");
  return Int8Lenet5(loaded.model, *scales);
}

DigitClassifier int8_classifier(const Lenet5& model, int batch, const Int8Lenet5& net) {
  auto ws = std::make_shared<Int8Workspace>(batch);
  return DigitClassifier(model, batch, [&net, ws](float* scores, const std::uint8_t* images, int n) {
    net.forward(scores, images, kMnistSide, kMnistSide, n, *ws);
  });
}

void int8_scores(float* scores, const Int8Lenet5& net, const Dataset& data, int threads) {
  check_dataset_fits(data, "evaluation set");
  constexpr int kChunk = 16;  // images per call: every buffer of the chunk stays in L1
  const int chunks = (data.count + kChunk - 1) / kChunk;
  const int team = threads > 0 ? threads : default_threads();
#pragma omp parallel num_threads(team)
  {
    Int8Workspace ws(kChunk);
#pragma omp for schedule(static)
    for (int c = 0; c < chunks; ++c) {
      const int first = c * kChunk, n = std::min(kChunk, data.count - first);
      net.forward(scores + std::size_t(first) * kClasses, data.image(first), data.rows, data.cols, n, ws);
    }
  }
}

EvalResult evaluate_int8(const Int8Lenet5& net, const Dataset& data, int threads) {
  std::vector<float> scores(std::size_t(data.count) * kClasses);
  int8_scores(scores.data(), net, data, threads);
  EvalResult r;
  r.count = data.count;
  r.predictions.resize(std::size_t(data.count));
  r.loss = data.count ? softmax_cross_entropy(nullptr, scores.data(), data.labels.data(), kClasses,
                                              data.count, 1.0f) /
                            data.count
                      : 0;
  long long correct = 0;
  for (int i = 0; i < data.count; ++i) {
    const float* s = scores.data() + std::size_t(i) * kClasses;
    const int pred = int(std::max_element(s, s + kClasses) - s);
    r.predictions[std::size_t(i)] = std::uint8_t(pred);
    r.confusion[data.labels[std::size_t(i)]][std::size_t(pred)] += 1;
    correct += pred == data.labels[std::size_t(i)];
  }
  r.accuracy = data.count ? double(correct) / data.count : 0;
  return r;
}

}  // namespace lenet

// The Fig. 9 networks as a list of layers over the library's kernels, and their momentum-SGD training.
#include "lenet/sequential.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "lenet/activation.h"
#include "lenet/lenet5.h"
#include "lenet/linear.h"
#include "lenet/loss.h"
#include "lenet/optimizer.h"

namespace lenet {

std::size_t SeqLayer::in_size() const {
  switch (kind) {
    case SeqKind::Conv:
      return std::size_t(conv.in_c) * conv.in_h * conv.in_w;
    case SeqKind::Subsample:
      return std::size_t(pool.c) * pool.in_h * pool.in_w;
    case SeqKind::Linear:
      return std::size_t(in_f);
  }
  return 0;
}

std::size_t SeqLayer::out_size() const {
  switch (kind) {
    case SeqKind::Conv:
      return std::size_t(conv.out_c) * conv.out_h() * conv.out_w();
    case SeqKind::Subsample:
      return std::size_t(pool.c) * pool.out_h() * pool.out_w();
    case SeqKind::Linear:
      return std::size_t(out_f);
  }
  return 0;
}

std::size_t SeqLayer::weight_count() const {
  return kind == SeqKind::Conv        ? conv.weight_count()
         : kind == SeqKind::Subsample ? std::size_t(pool.c)
                                      : std::size_t(in_f) * out_f;
}

std::size_t SeqLayer::bias_count() const {
  return kind == SeqKind::Conv        ? std::size_t(conv.out_c)
         : kind == SeqKind::Subsample ? std::size_t(pool.c)
                                      : std::size_t(out_f);
}

std::size_t SeqLayer::connections() const {
  return kind == SeqKind::Conv ? conv.connections() : kind == SeqKind::Subsample ? in_size() : weight_count();
}

Sequential::Sequential(std::string name, int input_side, std::vector<SeqLayer> layers)
    : name_(std::move(name)), input_side_(input_side), layers_(std::move(layers)) {
  std::size_t total = 0, previous = std::size_t(input_side) * input_side;
  for (SeqLayer& l : layers_) {
    if (l.in_size() != previous) throw std::invalid_argument(name_ + ": layer " + l.name + " does not fit");
    l.w = total;
    total += l.weight_count();
    l.b = total;
    total += l.bias_count();
    previous = l.out_size();
  }
  if (previous != std::size_t(kClasses)) throw std::invalid_argument(name_ + ": the last layer must give 10");
  params.assign(total, 0.0f);
  grads.assign(total, 0.0f);
}

std::size_t Sequential::connections() const {
  std::size_t total = 0;
  for (const SeqLayer& l : layers_) total += l.connections();
  return total;
}

void Sequential::init(Rng& rng) {
  for (const SeqLayer& l : layers_) {
    const std::size_t outputs = l.bias_count();
    for (std::size_t o = 0; o < outputs; ++o) {
      const int oi = int(o);
      const float fan_in = l.kind == SeqKind::Conv        ? float(l.conv.inputs_of(oi) * l.conv.k * l.conv.k)
                           : l.kind == SeqKind::Subsample ? 4.0f
                                                          : float(l.in_f);
      const float bound = 1.0f / std::sqrt(fan_in);
      const std::size_t first = l.kind == SeqKind::Conv        ? l.conv.weight_offset(oi)
                                : l.kind == SeqKind::Subsample ? o
                                                               : o * std::size_t(l.in_f);
      const std::size_t count = l.kind == SeqKind::Conv
                                    ? std::size_t(l.conv.inputs_of(oi)) * l.conv.k * l.conv.k
                                : l.kind == SeqKind::Subsample ? 1
                                                               : std::size_t(l.in_f);
      for (std::size_t i = 0; i < count; ++i) params[l.w + first + i] = rng.uniform(-bound, bound);
      params[l.b + o] = rng.uniform(-bound, bound);
    }
  }
}

namespace {

SeqLayer linear(std::string name, int in_f, int out_f) {
  SeqLayer l;
  l.name = std::move(name);
  l.kind = SeqKind::Linear;
  l.in_f = in_f;
  l.out_f = out_f;
  return l;
}

SeqLayer conv(std::string name, int in_c, int side, int out_c) {
  SeqLayer l;
  l.name = std::move(name);
  l.kind = SeqKind::Conv;
  l.conv = Conv2dShape{in_c, side, side, out_c, 5, nullptr};
  return l;
}

SeqLayer subsample(std::string name, int c, int side) {
  SeqLayer l;
  l.name = std::move(name);
  l.kind = SeqKind::Subsample;
  l.pool = PoolShape{c, side, side};
  return l;
}

std::vector<SeqLayer> fully_connected(const std::vector<int>& hidden) {
  std::vector<SeqLayer> layers;
  int in = 28 * 28;
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    std::string name = "H";  // built by appending: GCC 12 warns falsely (-Wrestrict) on "H" + std::string
    name += std::to_string(i + 1);
    layers.push_back(linear(name, in, hidden[i]));
    in = hidden[i];
  }
  layers.push_back(linear("OUTPUT", in, kClasses));
  return layers;
}

}  // namespace

std::vector<std::string> sequential_names() {
  return {"fc-300", "fc-1000", "fc-300-100", "fc-500-150", "lenet1", "lenet4"};
}

Sequential make_sequential(const std::string& name) {
  if (name == "fc-300") return Sequential(name, 28, fully_connected({300}));
  if (name == "fc-1000") return Sequential(name, 28, fully_connected({1000}));
  if (name == "fc-300-100") return Sequential(name, 28, fully_connected({300, 100}));
  if (name == "fc-500-150") return Sequential(name, 28, fully_connected({500, 150}));
  if (name == "lenet1")  // Section III-C.2 / Fig. 9: 28×28 input
    return Sequential(name, 28,
                      {conv("C1", 1, 28, 4), subsample("S2", 4, 24), conv("C3", 4, 12, 12),
                       subsample("S4", 12, 8), linear("OUTPUT", 12 * 4 * 4, kClasses)});
  if (name == "lenet4")  // 32×32 input, 120 units where LeNet-5 has C5 and F6
    return Sequential(name, 32,
                      {conv("C1", 1, 32, 4), subsample("S2", 4, 28), conv("C3", 4, 14, 16),
                       subsample("S4", 16, 10), conv("C5", 16, 5, 120), linear("OUTPUT", 120, kClasses)});
  throw std::invalid_argument("unknown network '" + name + "'");
}

SeqActivations::SeqActivations(const Sequential& net, int cap) : capacity(cap) {
  const std::size_t n = std::size_t(cap);
  x.emplace_back(n * net.input_side() * net.input_side());
  for (const SeqLayer& l : net.layers()) x.emplace_back(n * l.out_size());
  for (const auto& v : x) d.emplace_back(v.size());
  padded.resize(kInputSize);
  labels.resize(n);
  for (const SeqLayer& l : net.layers())
    if (l.kind == SeqKind::Conv)
      workspace.reserve(std::max(conv2d_forward_scratch(l.conv, cap), conv2d_backward_scratch(l.conv, cap)));
}

void sequential_fill_inputs(const Sequential& net, SeqActivations& a, const Dataset& data, const int* indices,
                            int first, int n) {
  assert(n <= a.capacity && data.rows <= net.input_side() && data.cols <= net.input_side());
  const int side = net.input_side();
  for (int i = 0; i < n; ++i) {
    const int idx = indices ? indices[i] : first + i;
    float* dst = a.x[0].data() + std::size_t(i) * side * side;
    if (side == kInputSide) {
      image_to_input(dst, data.image(idx), data.rows, data.cols);
    } else {  // 28×28: the same levels, centred, no padding
      image_to_input(a.padded.data(), data.image(idx), data.rows, data.cols);
      const int off = (kInputSide - side) / 2;
      for (int y = 0; y < side; ++y)
        std::copy_n(a.padded.data() + (y + off) * kInputSide + off, side, dst + y * side);
    }
  }
}

void sequential_forward(const Sequential& net, SeqActivations& a, int n) {
  const float* p = net.params.data();
  const auto& layers = net.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const SeqLayer& l = layers[i];
    float* out = a.x[i + 1].data();
    const float* in = a.x[i].data();
    switch (l.kind) {
      case SeqKind::Conv:
        conv2d_forward(out, in, p + l.w, p + l.b, l.conv, n, a.workspace.scratch());
        break;
      case SeqKind::Subsample:
        subsample_forward(out, in, p + l.w, p + l.b, l.pool, n);
        break;
      case SeqKind::Linear:
        linear_forward(out, in, p + l.w, p + l.b, l.in_f, l.out_f, n);
        break;
    }
    if (i + 1 < layers.size()) scaled_tanh_forward(out, out, std::size_t(n) * l.out_size());
  }
}

void sequential_backward(Sequential& net, SeqActivations& a, int n) {
  const float* p = net.params.data();
  float* g = net.grads.data();
  const auto& layers = net.layers();
  for (std::size_t i = layers.size(); i-- > 0;) {
    const SeqLayer& l = layers[i];
    float* d_out = a.d[i + 1].data();
    if (i + 1 < layers.size())
      scaled_tanh_backward(d_out, d_out, a.x[i + 1].data(), std::size_t(n) * l.out_size());
    float* d_in = i > 0 ? a.d[i].data() : nullptr;
    const float* in = a.x[i].data();
    switch (l.kind) {
      case SeqKind::Conv:
        conv2d_backward(d_in, g + l.w, g + l.b, d_out, in, p + l.w, l.conv, n, a.workspace.scratch());
        break;
      case SeqKind::Subsample:
        subsample_backward(d_in, g + l.w, g + l.b, d_out, in, p + l.w, l.pool, n);
        break;
      case SeqKind::Linear:
        linear_backward(d_in, g + l.w, g + l.b, d_out, in, p + l.w, l.in_f, l.out_f, n);
        break;
    }
  }
}

SeqTrainConfig sequential_train_config(int epochs, std::uint64_t seed) {
  SeqTrainConfig cfg;
  cfg.epochs = epochs > 0 ? epochs : 20;
  cfg.lr_step = std::max(1, cfg.epochs / 4);
  cfg.seed = seed;
  return cfg;
}

std::vector<double> sequential_train(Sequential& net, const Dataset& train_set, const SeqTrainConfig& cfg) {
  SeqActivations a(net, cfg.batch);
  OptimizerConfig oc;
  oc.kind = OptimizerKind::Momentum;
  Optimizer opt(oc, net.parameter_count());
  Rng rng(cfg.seed ^ 0x5E9u);
  std::vector<int> order(std::size_t(train_set.count));
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> errors;
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    shuffle(order.data(), order.size(), rng);
    const float lr = step_decay_lr(cfg.lr, 0.5f, cfg.lr_step, epoch);
    long long wrong = 0;
    for (int start = 0; start < train_set.count; start += cfg.batch) {
      const int n = std::min(cfg.batch, train_set.count - start);
      const int* idx = order.data() + start;
      sequential_fill_inputs(net, a, train_set, idx, 0, n);
      sequential_forward(net, a, n);
      std::uint8_t* labels = a.labels.data();
      for (int i = 0; i < n; ++i) labels[i] = train_set.labels[std::size_t(idx[i])];
      const float* logits = a.x.back().data();
      for (int i = 0; i < n; ++i) {
        const float* s = logits + std::size_t(i) * kClasses;
        wrong += int(std::max_element(s, s + kClasses) - s) != labels[i];
      }
      softmax_cross_entropy(a.d.back().data(), logits, labels, kClasses, n, 1.0f / float(n));
      sequential_backward(net, a, n);
      opt.step(net.params, net.grads, lr);
      std::fill(net.grads.begin(), net.grads.end(), 0.0f);
    }
    errors.push_back(double(wrong) / train_set.count);
  }
  return errors;
}

std::vector<std::uint8_t> sequential_predict(const Sequential& net, const Dataset& data) {
  constexpr int kChunk = 256;
  SeqActivations a(net, kChunk);
  std::vector<std::uint8_t> out(std::size_t(data.count));
  for (int first = 0; first < data.count; first += kChunk) {
    const int n = std::min(kChunk, data.count - first);
    sequential_fill_inputs(net, a, data, nullptr, first, n);
    sequential_forward(net, a, n);
    for (int i = 0; i < n; ++i) {
      const float* s = a.x.back().data() + std::size_t(i) * kClasses;
      out[std::size_t(first + i)] = std::uint8_t(std::max_element(s, s + kClasses) - s);
    }
  }
  return out;
}

}  // namespace lenet

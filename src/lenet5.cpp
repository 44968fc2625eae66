// LeNet-5, layer by layer as the paper draws it: C1 S2 C3 S4 C5 F6 OUTPUT, each a labelled call.
// The two architectures share the convolutions and F6; they differ in squashing, pooling and output.
#include "lenet/lenet5.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "enum_names.h"
#include "lenet/activation.h"
#include "lenet/linear.h"
#include "lenet/loss.h"
#include "lenet/maxpool.h"
#include "lenet/rbf.h"
#include "lenet/simd.h"

namespace lenet {

namespace {
constexpr NameOf<Arch> kArchNames[] = {{Arch::Lenet5, "lenet5"}, {Arch::Lenet5_1998, "lenet5-1998"}};
constexpr NameOf<InitRule> kInitRuleNames[] = {{InitRule::Paper, "paper"}, {InitRule::Sqrt, "sqrt"}};
}  // namespace

std::string_view arch_name(Arch arch) { return name_in(kArchNames, arch); }

std::optional<Arch> parse_arch(std::string_view name) { return parse_in(kArchNames, name); }

std::string_view init_rule_name(InitRule rule) { return name_in(kInitRuleNames, rule); }

std::optional<InitRule> parse_init_rule(std::string_view name) { return parse_in(kInitRuleNames, name); }

Lenet5::Lenet5(Arch arch) : arch_(arch) {
  const bool paper = arch == Arch::Lenet5_1998;
  static const ConnectionTable kTableI = lenet5_c3_table();  // shared and immutable: copies stay valid
  // Each layer reads what the one before it makes: only the maps and kernels are given here.
  c1 = Conv2dShape{1, kInputSide, kInputSide, 6, 5, nullptr};
  s2 = PoolShape{c1.out_c, c1.out_h(), c1.out_w()};
  c3 = Conv2dShape{s2.c, s2.out_h(), s2.out_w(), 16, 5, paper ? &kTableI : nullptr};
  s4 = PoolShape{c3.out_c, c3.out_h(), c3.out_w()};
  c5 = Conv2dShape{s4.c, s4.out_h(), s4.out_w(), 120, 5, nullptr};
  assert(c5.out_h() == 1 && c5.out_w() == 1);  // C5 is fully connected to S4 (Section II-B)
  const std::int64_t f6_in = std::int64_t(c5.out_size());

  std::size_t total = 0;
  auto add = [&](std::string name, std::vector<std::int64_t> shape) {
    std::size_t count = 1;
    for (auto d : shape) count *= std::size_t(d);
    tensors_.push_back(TensorInfo{std::move(name), std::move(shape), total, count});
    total += count;
    return tensors_.back().offset;
  };
  at.c1_w = add("C1.weight", {c1.out_c, c1.in_c, c1.k, c1.k});
  at.c1_b = add("C1.bias", {c1.out_c});
  if (paper) {
    at.s2_w = add("S2.weight", {s2.c});
    at.s2_b = add("S2.bias", {s2.c});
    at.c3_w = add("C3.weight", {std::int64_t(c3.weight_count()) / (c3.k * c3.k), c3.k,
                                c3.k});  // the 60 connected (C3 map, S2 map) pairs of Table I
  } else {
    at.c3_w = add("C3.weight", {c3.out_c, c3.in_c, c3.k, c3.k});
  }
  at.c3_b = add("C3.bias", {c3.out_c});
  if (paper) {
    at.s4_w = add("S4.weight", {s4.c});
    at.s4_b = add("S4.bias", {s4.c});
  }
  at.c5_w = add("C5.weight", {c5.out_c, c5.in_c, c5.k, c5.k});
  at.c5_b = add("C5.bias", {c5.out_c});
  at.f6_w = add("F6.weight", {kF6, f6_in});
  at.f6_b = add("F6.bias", {kF6});
  if (!paper) {
    at.out_w = add("OUTPUT.weight", {kClasses, kF6});
    at.out_b = add("OUTPUT.bias", {kClasses});
  }
  assert(c3.weight_count() == tensors_[paper ? 4 : 2].count);
  params.assign(total, 0.0f);
  grads.assign(total, 0.0f);
}

const TensorInfo* Lenet5::find_tensor(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<LayerInfo> Lenet5::layers() const {
  const bool paper = arch_ == Arch::Lenet5_1998;
  const std::string squash = paper ? "scaled tanh" : "ReLU";
  auto conv_params = [](const Conv2dShape& s) { return s.weight_count() + std::size_t(s.out_c); };
  auto maps = [](const auto& s) { return std::array<int, 3>{s.out_c, s.out_h(), s.out_w()}; };
  auto pool_maps = [](const PoolShape& s) { return std::array<int, 3>{s.c, s.out_h(), s.out_w()}; };
  // 1998 subsampling: a coefficient and a bias per map, one window of inputs per unit.
  auto pool_params = [paper](const PoolShape& s) { return paper ? 2 * std::size_t(s.c) : 0u; };
  auto pool_connections = [paper](const PoolShape& s) { return paper ? s.out_size() * s.fan_in() : 0u; };
  const std::size_t f6_in = c5.out_size();
  std::vector<LayerInfo> out;
  out.push_back({"C1", "conv 5x5, " + squash, maps(c1), conv_params(c1), c1.connections()});
  out.push_back({"S2", paper ? "2x2 sum x coefficient + bias, scaled tanh" : "max pool 2x2", pool_maps(s2),
                 pool_params(s2), pool_connections(s2)});
  out.push_back({"C3", std::string("conv 5x5, ") + (paper ? "Table I connections, " : "full, ") + squash,
                 maps(c3), conv_params(c3), c3.connections()});
  out.push_back({"S4", paper ? "2x2 sum x coefficient + bias, scaled tanh" : "max pool 2x2", pool_maps(s4),
                 pool_params(s4), pool_connections(s4)});
  out.push_back({"C5", "conv 5x5, " + squash, maps(c5), conv_params(c5), c5.connections()});
  out.push_back(
      {"F6", "full, " + squash, {kF6, 1, 1}, std::size_t(kF6) * f6_in + kF6, std::size_t(kF6) * f6_in});
  if (paper)
    out.push_back(
        {"OUTPUT", "Euclidean RBF, fixed 7x12 prototypes", {kClasses, 1, 1}, 0, std::size_t(kClasses) * kF6});
  else
    out.push_back({"OUTPUT",
                   "full, logits",
                   {kClasses, 1, 1},
                   std::size_t(kClasses) * kF6 + kClasses,
                   std::size_t(kClasses) * kF6});
  return out;
}

int Lenet5::predict_class(const float* scores) const {
  if (arch_ == Arch::Lenet5) return int(std::max_element(scores, scores + kClasses) - scores);
  return int(std::min_element(scores, scores + kClasses) - scores);
}

void Lenet5::probabilities(float* out, const float* scores) const {
  softmax(out, scores, kClasses, 1, arch_ == Arch::Lenet5_1998);
}

void Lenet5::init(Rng& rng, InitRule rule) {
  const bool paper = arch_ == Arch::Lenet5_1998;
  // The 1998 net's bound for a unit of fan-in Fi: Appendix A's 2.4/Fi, or 1/√Fi.
  const auto bound_for = [rule](float fan_in) {
    return rule == InitRule::Paper ? 2.4f / fan_in : 1.0f / std::sqrt(fan_in);
  };
  // Fills [offset, offset+count) uniformly in ±bound.
  auto fill = [&](std::size_t offset, std::size_t count, float bound) {
    for (std::size_t i = 0; i < count; ++i) params[offset + i] = rng.uniform(-bound, bound);
  };
  // A layer whose units share one fan-in: all its weights, then all its biases.
  auto weights_and_bias = [&](std::size_t w, std::size_t b, std::size_t count, int units, int fan_in) {
    if (paper) {  // biases included, as in Appendix A
      fill(w, count, bound_for(float(fan_in)));
      fill(b, std::size_t(units), bound_for(float(fan_in)));
    } else {  // He-uniform for ReLU units, zero biases
      fill(w, count, std::sqrt(6.0f / float(fan_in)));
      std::fill_n(params.begin() + std::ptrdiff_t(b), units, 0.0f);
    }
  };
  // A convolution that reads every input map: each unit sums in_c·k·k inputs.
  auto conv = [&](const Conv2dShape& s, std::size_t w, std::size_t b) {
    assert(!s.table);
    weights_and_bias(w, b, s.weight_count(), s.out_c, s.fan_in(0));
  };
  // A subsampling layer (1998): one coefficient and one bias per map, each unit summing one window.
  auto subsampling = [&](const PoolShape& s, std::size_t w, std::size_t b) {
    fill(w, std::size_t(s.c), bound_for(float(s.fan_in())));
    fill(b, std::size_t(s.c), bound_for(float(s.fan_in())));
  };
  conv(c1, at.c1_w, at.c1_b);
  if (paper) {
    subsampling(s2, at.s2_w, at.s2_b);
    // C3's fan-in differs per map (Table I: 3, 4 or 6 S2 maps of k·k taps): each map's weights, then its
    // bias.
    for (int o = 0; o < c3.out_c; ++o) {
      const float bound = bound_for(float(c3.fan_in(o)));
      fill(at.c3_w + c3.weight_offset(o), std::size_t(c3.fan_in(o)), bound);
      fill(at.c3_b + std::size_t(o), 1, bound);
    }
    subsampling(s4, at.s4_w, at.s4_b);
  } else {
    conv(c3, at.c3_w, at.c3_b);
  }
  conv(c5, at.c5_w, at.c5_b);
  const int f6_in = int(c5.out_size());
  weights_and_bias(at.f6_w, at.f6_b, std::size_t(kF6) * f6_in, kF6, f6_in);
  if (!paper) {  // logits: PyTorch's default bound 1/sqrt(fan_in), no ReLU follows
    fill(at.out_w, std::size_t(kClasses) * kF6, 1.0f / std::sqrt(float(kF6)));
    std::fill_n(params.begin() + std::ptrdiff_t(at.out_b), kClasses, 0.0f);
  }
}

void Lenet5::zero_grad() { std::fill(grads.begin(), grads.end(), 0.0f); }

Activations::Activations(const Lenet5& m, int cap) : capacity(cap) {
  const std::size_t n = std::size_t(cap);
  input.resize(n * kInputSize);
  c1.resize(n * m.c1.out_size());
  s2.resize(n * m.s2.out_size());
  c3.resize(n * m.c3.out_size());
  s4.resize(n * m.s4.out_size());
  c5.resize(n * m.c5.out_size());
  f6.resize(n * Lenet5::kF6);
  scores.resize(n * kClasses);
  if (m.arch() == Arch::Lenet5) {
    s2_arg.resize(s2.size());
    s4_arg.resize(s4.size());
  }
  d_c1.resize(c1.size());
  d_s2.resize(s2.size());
  d_c3.resize(c3.size());
  d_s4.resize(s4.size());
  d_c5.resize(c5.size());
  d_f6.resize(f6.size());
  d_scores.resize(scores.size());
  // The kernels' scratch for the largest call (each backward_hessian needs more than its backward).
  for (const Conv2dShape* conv : {&m.c1, &m.c3, &m.c5})
    workspace.reserve(
        std::max(conv2d_forward_scratch(*conv, cap), conv2d_backward_hessian_scratch(*conv, cap)));
  workspace.reserve(linear_backward_hessian_scratch(int(m.c5.out_size()), Lenet5::kF6, cap));
  if (m.arch() == Arch::Lenet5)
    workspace.reserve(linear_backward_hessian_scratch(Lenet5::kF6, kClasses, cap));
}

void image_to_input(float* out, const std::uint8_t* image, int rows, int cols) {
  assert(rows <= kInputSide && cols <= kInputSide);
  std::fill(out, out + kInputSize, kInputBackground);
  const int top = (kInputSide - rows) / 2, left = (kInputSide - cols) / 2;
  constexpr float kScale = (kInputInk - kInputBackground) / 255.0f;
  // W pixels at a time (it runs for every training image); a row's last vector is its last W pixels,
  // overlapping the one before rather than reading past the row.
  simd::dispatch([&]<int W>() LENET_INLINE {
    for (int y = 0; y < rows; ++y) {
      const std::uint8_t* src = image + std::size_t(y) * cols;
      float* dst = out + (top + y) * kInputSide + left;
      if (cols < W) {
        for (int x = 0; x < cols; ++x) dst[x] = kInputBackground + kScale * float(src[x]);
        continue;
      }
      for (int x0 = 0; x0 < cols; x0 += W) {
        const int x = std::min(x0, cols - W);
        simd::store<W>(dst + x, kInputBackground + kScale * simd::load_bytes<W>(src + x));
      }
    }
  });
}

namespace {

void squash_forward(Arch arch, AlignedFloats& buf, std::size_t count) {
  if (arch == Arch::Lenet5_1998)
    scaled_tanh_forward(buf.data(), buf.data(), count);
  else
    relu_forward(buf.data(), buf.data(), count);
}

void squash_backward(Arch arch, AlignedFloats& d, const AlignedFloats& out, std::size_t count) {
  if (arch == Arch::Lenet5_1998)
    scaled_tanh_backward(d.data(), d.data(), out.data(), count);
  else
    relu_backward(d.data(), d.data(), out.data(), count);
}

void squash_backward_hessian(Arch arch, AlignedFloats& d2, const AlignedFloats& out, std::size_t count) {
  if (arch == Arch::Lenet5_1998)
    scaled_tanh_backward_hessian(d2.data(), d2.data(), out.data(), count);
  else
    relu_backward_hessian(d2.data(), d2.data(), out.data(), count);
}

// S2 or S4 as the backward passes see it: the maps it reads (C1's or C3's) and makes, their gradients, the
// max-pool winners (modern), and its coefficients' and biases' place in the arenas (1998).
struct PoolLayer {
  const PoolShape& shape;
  AlignedFloats &in, &out, &d_in, &d_out;
  std::vector<std::int32_t>& winners;
  std::size_t coef, bias;
};

PoolLayer s2_layer(const Lenet5& m, Activations& a) {
  return {m.s2, a.c1, a.s2, a.d_c1, a.d_s2, a.s2_arg, m.at.s2_w, m.at.s2_b};
}
PoolLayer s4_layer(const Lenet5& m, Activations& a) {
  return {m.s4, a.c3, a.s4, a.d_c3, a.d_s4, a.s4_arg, m.at.s4_w, m.at.s4_b};
}

// 1998: trainable subsampling, then the squashing. Modern: max pooling, noting each block's winner.
void pool_forward(const Lenet5& m, const PoolLayer& l, int n) {
  const float* p = m.params.data();
  if (m.arch() == Arch::Lenet5_1998) {
    subsample_forward(l.out.data(), l.in.data(), p + l.coef, p + l.bias, l.shape, n);
    squash_forward(m.arch(), l.out, std::size_t(n) * l.shape.out_size());
  } else {
    maxpool_forward(l.out.data(), l.winners.data(), l.in.data(), l.shape, n);
  }
}

// Back through a pooling layer and the squashing of the convolution before it; ADDS to g (1998). Modern:
// the ReLU's derivative is applied to the pooled gradient, before max pooling routes it back: only each
// block's winner gets a gradient, the winner's value is the pooled value, so masking by the pooled map > 0
// gives exactly the same gradient as masking by the convolution's map > 0, over a quarter of the values.
void pool_backward(const Lenet5& m, const PoolLayer& l, float* g, int n) {
  const std::size_t out_count = std::size_t(n) * l.shape.out_size(),
                    in_count = std::size_t(n) * l.shape.in_size();
  if (m.arch() == Arch::Lenet5_1998) {
    squash_backward(m.arch(), l.d_out, l.out, out_count);
    subsample_backward(l.d_in.data(), g + l.coef, g + l.bias, l.d_out.data(), l.in.data(),
                       m.params.data() + l.coef, l.shape, n);
    squash_backward(m.arch(), l.d_in, l.in, in_count);
  } else {
    relu_backward(l.d_out.data(), l.d_out.data(), l.out.data(), out_count);
    maxpool_backward(l.d_in.data(), l.d_out.data(), l.winners.data(), l.shape, n);
  }
}

// The same for second derivatives (ADDS to h), up to the pooling layer's input: the squashing before it is
// the next layer's business (C3's or C1's).
void pool_backward_hessian(const Lenet5& m, const PoolLayer& l, float* h, int n) {
  if (m.arch() == Arch::Lenet5_1998) {
    squash_backward_hessian(m.arch(), l.d_out, l.out, std::size_t(n) * l.shape.out_size());
    subsample_backward_hessian(l.d_in.data(), h + l.coef, h + l.bias, l.d_out.data(), l.in.data(),
                               m.params.data() + l.coef, l.shape, n);
  } else {
    maxpool_backward_hessian(l.d_in.data(), l.d_out.data(), l.winners.data(), l.shape, n);
  }
}

}  // namespace

void lenet5_forward(const Lenet5& m, Activations& a, int n) {
  assert(n <= a.capacity);
  const Scratch scratch = a.workspace.scratch();
  const Arch arch = m.arch();
  const bool paper = arch == Arch::Lenet5_1998;
  const float* p = m.params.data();
  const std::size_t N = std::size_t(n);

  // C1: 1@32x32 -> 6@28x28, 5x5 convolution (modern: the ReLU is applied as the maps are stored)
  conv2d_forward(a.c1.data(), a.input.data(), p + m.at.c1_w, p + m.at.c1_b, m.c1, n, scratch, !paper);
  if (paper) squash_forward(arch, a.c1, N * m.c1.out_size());
  // S2: 6@28x28 -> 6@14x14
  pool_forward(m, s2_layer(m, a), n);
  // C3: 6@14x14 -> 16@10x10, Table I connections (1998) or all six maps (modern, ReLU fused)
  conv2d_forward(a.c3.data(), a.s2.data(), p + m.at.c3_w, p + m.at.c3_b, m.c3, n, scratch, !paper);
  if (paper) squash_forward(arch, a.c3, N * m.c3.out_size());
  // S4: 16@10x10 -> 16@5x5
  pool_forward(m, s4_layer(m, a), n);
  // C5: 16@5x5 -> 120@1x1, 5x5 convolution over every S4 map
  conv2d_forward(a.c5.data(), a.s4.data(), p + m.at.c5_w, p + m.at.c5_b, m.c5, n, scratch);
  squash_forward(arch, a.c5, N * m.c5.out_size());
  // F6: 120 -> 84, full connection
  linear_forward(a.f6.data(), a.c5.data(), p + m.at.f6_w, p + m.at.f6_b, int(m.c5.out_size()), Lenet5::kF6,
                 n);
  squash_forward(arch, a.f6, N * Lenet5::kF6);
  // OUTPUT: 84 -> 10, Euclidean RBF penalties (1998) or logits (modern)
  if (paper)
    rbf_forward(a.scores.data(), a.f6.data(), rbf_digit_prototypes(), n);
  else
    linear_forward(a.scores.data(), a.f6.data(), p + m.at.out_w, p + m.at.out_b, Lenet5::kF6, kClasses, n);
}

double lenet5_loss([[maybe_unused]] const Lenet5& m, Activations& a, const std::uint8_t* labels, int n,
                   LossKind loss, float map_j, float grad_scale) {
  assert((loss == LossKind::CrossEntropy) == (m.arch() == Arch::Lenet5));
  return batch_loss(loss, a.d_scores.data(), a.scores.data(), labels, kClasses, n, map_j, grad_scale);
}

void lenet5_backward(const Lenet5& m, Activations& a, float* g, int n) {
  assert(n <= a.capacity);
  const bool paper = m.arch() == Arch::Lenet5_1998;
  const float* p = m.params.data();
  const std::size_t N = std::size_t(n);
  const Scratch scratch = a.workspace.scratch();

  // OUTPUT
  if (paper)
    rbf_backward(a.d_f6.data(), a.d_scores.data(), a.f6.data(), rbf_digit_prototypes(), n);
  else
    linear_backward(a.d_f6.data(), g + m.at.out_w, g + m.at.out_b, a.d_scores.data(), a.f6.data(),
                    p + m.at.out_w, Lenet5::kF6, kClasses, n);
  // F6
  squash_backward(m.arch(), a.d_f6, a.f6, N * Lenet5::kF6);
  linear_backward(a.d_c5.data(), g + m.at.f6_w, g + m.at.f6_b, a.d_f6.data(), a.c5.data(), p + m.at.f6_w,
                  int(m.c5.out_size()), Lenet5::kF6, n);
  // C5
  squash_backward(m.arch(), a.d_c5, a.c5, N * m.c5.out_size());
  conv2d_backward(a.d_s4.data(), g + m.at.c5_w, g + m.at.c5_b, a.d_c5.data(), a.s4.data(), p + m.at.c5_w,
                  m.c5, n, scratch);
  // S4, and C3's squashing (modern: C3's ReLU masks the pooled gradient, see pool_backward)
  pool_backward(m, s4_layer(m, a), g, n);
  // C3
  conv2d_backward(a.d_s2.data(), g + m.at.c3_w, g + m.at.c3_b, a.d_c3.data(), a.s2.data(), p + m.at.c3_w,
                  m.c3, n, scratch);
  // S2, and C1's squashing (modern: masked before pooling, as for S4)
  pool_backward(m, s2_layer(m, a), g, n);
  // C1 (the input needs no gradient)
  conv2d_backward(nullptr, g + m.at.c1_w, g + m.at.c1_b, a.d_c1.data(), a.input.data(), p + m.at.c1_w, m.c1,
                  n, scratch);
}

void lenet5_backward_hessian(const Lenet5& m, Activations& a, const std::uint8_t* labels, float* h, int n) {
  assert(n <= a.capacity);
  const Scratch scratch = a.workspace.scratch();
  const bool paper = m.arch() == Arch::Lenet5_1998;
  const float* p = m.params.data();
  const std::size_t N = std::size_t(n);
  // The second-derivative pass reuses the gradient buffers: d2_x for every activation x.
  float* seed = a.d_scores.data();
  if (paper) {
    // OUTPUT: keep the correct class's RBF curvature only -> d2 = 2 at every F6 output
    std::fill(seed, seed + N * kClasses, 0.0f);
    for (int b = 0; b < n; ++b) seed[std::size_t(b) * kClasses + labels[b]] = 1.0f;
    rbf_backward_hessian(a.d_f6.data(), seed, n);
  } else {
    // OUTPUT: softmax cross-entropy's diagonal curvature p(1 - p) at the logits, then the full connection
    softmax(seed, a.scores.data(), kClasses, n, false);
    for (std::size_t i = 0; i < N * kClasses; ++i) seed[i] = seed[i] * (1.0f - seed[i]);
    linear_backward_hessian(a.d_f6.data(), h + m.at.out_w, h + m.at.out_b, seed, a.f6.data(), p + m.at.out_w,
                            Lenet5::kF6, kClasses, n, scratch);
  }
  auto squash = [&](AlignedFloats& d2, const AlignedFloats& out, std::size_t count) {
    squash_backward_hessian(m.arch(), d2, out, count);
  };
  // F6
  squash(a.d_f6, a.f6, N * Lenet5::kF6);
  linear_backward_hessian(a.d_c5.data(), h + m.at.f6_w, h + m.at.f6_b, a.d_f6.data(), a.c5.data(),
                          p + m.at.f6_w, int(m.c5.out_size()), Lenet5::kF6, n, scratch);
  // C5
  squash(a.d_c5, a.c5, N * m.c5.out_size());
  conv2d_backward_hessian(a.d_s4.data(), h + m.at.c5_w, h + m.at.c5_b, a.d_c5.data(), a.s4.data(),
                          p + m.at.c5_w, m.c5, n, scratch);
  // S4
  pool_backward_hessian(m, s4_layer(m, a), h, n);
  // C3
  squash(a.d_c3, a.c3, N * m.c3.out_size());
  conv2d_backward_hessian(a.d_s2.data(), h + m.at.c3_w, h + m.at.c3_b, a.d_c3.data(), a.s2.data(),
                          p + m.at.c3_w, m.c3, n, scratch);
  // S2
  pool_backward_hessian(m, s2_layer(m, a), h, n);
  // C1
  squash(a.d_c1, a.c1, N * m.c1.out_size());
  conv2d_backward_hessian(nullptr, h + m.at.c1_w, h + m.at.c1_b, a.d_c1.data(), a.input.data(), p + m.at.c1_w,
                          m.c1, n, scratch);
}

}  // namespace lenet

// The whole model: a gradient check of both architectures through the one checker (kink crossings
// identified, not tolerated), parameter counts against the paper, tensor layout, initialisation bounds,
// the gradient contract, batch independence, prediction and input preprocessing.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "helpers/gradcheck.h"
#include "lenet/activation.h"
#include "lenet/lenet5.h"
#include "lenet/rbf.h"
#include "lenet/rng.h"

namespace lenet {
namespace {

using test::check_gradient;
using test::GradCheckEntry;
using test::GradCheckOptions;
using test::GradCheckResult;
using test::gradient_ok;

constexpr int kBatch = 2;
const std::uint8_t kLabels[kBatch] = {3, 8};

// Random pixels in the paper's input range [−0.1, 1.175].
void random_input(Activations& a, int n, Rng& rng) {
  for (std::size_t i = 0; i < std::size_t(n) * kInputSize; ++i)
    a.input[i] = rng.uniform(kInputBackground, kInputInk);
}

double forward_loss(const Lenet5& model, Activations& a, int n) {
  lenet5_forward(model, a, n);
  return lenet5_loss(model, a, kLabels, n, model.default_loss(), kDefaultMapJ, 1.0f);
}

// ---- the network again, in double, written plainly from the paper ----
//
// Why a second forward pass: the numerical side of the whole-model check cannot use the float one. At the
// 1998 network's initial point the loss is ~84 (F6 near 0, prototypes ±1, so each penalty is ~84) while
// C1's derivatives are ~1e-3 (±2.4/Fi keeps every layer's gain ≈ 1.4/√Fi): float rounding of the
// penalties alone, ~84·ε ≈ 5e-6, swamps (L(p+h) − L(p−h)) for any usable h (measured: 30–50% errors in
// C1–S4). In double the rounding is ~1e-14, so the check is limited only by the float backward pass. The
// reference reads the same parameter arena, and ReferenceForward pins lenet5_forward to it, so both
// the forward and the backward of the library are checked.

struct Reference {
  std::vector<double> scores;  // (n, 10)
  // Modern net: each ReLU's sign and each max-pool winner, in forward order — which side of every kink.
  std::vector<std::int32_t> pattern;
  double loss = 0;  // the default loss, summed over the samples
};

struct Maps {
  int c = 0, h = 0, w = 0;
  std::vector<double> v;  // (n, c, h, w)
  double& at(int b, int ch, int y, int x) { return v[((std::size_t(b) * c + ch) * h + y) * w + x]; }
};

// Valid 5×5 convolution; output map o reads the input maps table[o] (all when table is nullptr). The compact
// weights hold, map after map, the kernels of the inputs it reads, in table order.
Maps ref_conv(Maps& in, int out_c, const ConnectionTable* table, const float* weight, const float* bias,
              int n) {
  const int k = 5;
  Maps out{out_c, in.h - k + 1, in.w - k + 1, {}};
  out.v.assign(std::size_t(n) * out.c * out.h * out.w, 0.0);
  for (int b = 0; b < n; ++b) {
    const float* w = weight;
    for (int o = 0; o < out_c; ++o) {
      std::vector<int> inputs;
      if (table)
        inputs = table->inputs[std::size_t(o)];
      else
        for (int i = 0; i < in.c; ++i) inputs.push_back(i);
      double* dst = &out.at(b, o, 0, 0);
      std::fill_n(dst, out.h * out.w, double(bias[o]));
      for (std::size_t j = 0; j < inputs.size(); ++j) {
        const double* src = &in.at(b, inputs[j], 0, 0);
        for (int ky = 0; ky < k; ++ky)
          for (int kx = 0; kx < k; ++kx) {
            const double tap = w[(j * k + ky) * k + kx];
            for (int y = 0; y < out.h; ++y)
              for (int x = 0; x < out.w; ++x) dst[y * out.w + x] += tap * src[(y + ky) * in.w + x + kx];
          }
      }
      w += inputs.size() * k * k;
    }
  }
  return out;
}

void ref_squash(Arch arch, std::vector<double>& v, std::vector<std::int32_t>& pattern) {
  for (double& x : v) {
    if (arch == Arch::Lenet5_1998) {
      x = double(kTanhAmplitude) * std::tanh((2.0 / 3.0) * x);
    } else {
      pattern.push_back(x > 0);
      x = std::max(x, 0.0);
    }
  }
}

// 2×2 blocks: coefficient·sum + bias (1998) or the maximum, the first in row-major order winning ties
// (modern).
Maps ref_pool(Arch arch, Maps& in, const float* coef, const float* bias, int n,
              std::vector<std::int32_t>& pattern) {
  Maps out{in.c, in.h / 2, in.w / 2, {}};
  out.v.assign(std::size_t(n) * out.c * out.h * out.w, 0.0);
  for (int b = 0; b < n; ++b)
    for (int c = 0; c < in.c; ++c)
      for (int y = 0; y < out.h; ++y)
        for (int x = 0; x < out.w; ++x) {
          const double v[4] = {in.at(b, c, 2 * y, 2 * x), in.at(b, c, 2 * y, 2 * x + 1),
                               in.at(b, c, 2 * y + 1, 2 * x), in.at(b, c, 2 * y + 1, 2 * x + 1)};
          if (arch == Arch::Lenet5_1998) {
            out.at(b, c, y, x) = double(coef[c]) * (v[0] + v[1] + v[2] + v[3]) + bias[c];
          } else {
            int best = 0;
            for (int i = 1; i < 4; ++i)
              if (v[i] > v[best]) best = i;
            out.at(b, c, y, x) = v[best];
            pattern.push_back(best);
          }
        }
  return out;
}

// in (n, in_f) -> (n, out_f), weight (out_f, in_f)
std::vector<double> ref_linear(const std::vector<double>& in, int in_f, int out_f, const float* weight,
                               const float* bias, int n) {
  std::vector<double> out(std::size_t(n) * out_f);
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < out_f; ++o) {
      double a = bias[o];
      for (int i = 0; i < in_f; ++i) a += double(weight[o * in_f + i]) * in[std::size_t(b) * in_f + i];
      out[std::size_t(b) * out_f + o] = a;
    }
  return out;
}

Reference reference_forward(const Lenet5& m, const float* input, int n) {
  const Arch arch = m.arch();
  const bool paper = arch == Arch::Lenet5_1998;
  const float* p = m.params.data();
  Reference r;
  Maps x{1, kInputSide, kInputSide, std::vector<double>(input, input + std::ptrdiff_t(n) * kInputSize)};
  Maps c1 = ref_conv(x, 6, nullptr, p + m.at.c1_w, p + m.at.c1_b, n);  // C1
  ref_squash(arch, c1.v, r.pattern);
  Maps s2 = ref_pool(arch, c1, p + m.at.s2_w, p + m.at.s2_b, n, r.pattern);  // S2
  if (paper) ref_squash(arch, s2.v, r.pattern);
  const ConnectionTable table_i = lenet5_c3_table();
  Maps c3 = ref_conv(s2, 16, paper ? &table_i : nullptr, p + m.at.c3_w, p + m.at.c3_b, n);  // C3
  ref_squash(arch, c3.v, r.pattern);
  Maps s4 = ref_pool(arch, c3, p + m.at.s4_w, p + m.at.s4_b, n, r.pattern);  // S4
  if (paper) ref_squash(arch, s4.v, r.pattern);
  Maps c5 = ref_conv(s4, 120, nullptr, p + m.at.c5_w, p + m.at.c5_b, n);  // C5
  ref_squash(arch, c5.v, r.pattern);
  std::vector<double> f6 = ref_linear(c5.v, 120, Lenet5::kF6, p + m.at.f6_w, p + m.at.f6_b, n);  // F6
  ref_squash(arch, f6, r.pattern);

  r.scores.assign(std::size_t(n) * kClasses, 0.0);
  if (paper) {  // OUTPUT: Euclidean RBF, y_i = Σ_j (x_j − w_ij)²
    const float* w = rbf_digit_prototypes();
    for (int b = 0; b < n; ++b)
      for (int i = 0; i < kClasses; ++i) {
        double y = 0;
        for (int j = 0; j < kRbfInputs; ++j) {
          const double d = f6[std::size_t(b) * kRbfInputs + j] - w[i * kRbfInputs + j];
          y += d * d;
        }
        r.scores[std::size_t(b) * kClasses + i] = y;
      }
  } else {  // OUTPUT: logits
    r.scores = ref_linear(f6, Lenet5::kF6, kClasses, p + m.at.out_w, p + m.at.out_b, n);
  }

  for (int b = 0; b < n; ++b) {
    const double* s = &r.scores[std::size_t(b) * kClasses];
    const int c = kLabels[b];
    if (paper) {  // MAP, Eq. 9: y_c + log(e^(−j) + Σ e^(−y_i)), shifted by the smallest exponent
      const double lo = std::min(double(kDefaultMapJ), *std::min_element(s, s + kClasses));
      double sum = std::exp(lo - kDefaultMapJ);
      for (int i = 0; i < kClasses; ++i) sum += std::exp(lo - s[i]);
      r.loss += s[c] + std::log(sum) - lo;
    } else {  // cross-entropy: log Σ e^(z_i) − z_c
      const double hi = *std::max_element(s, s + kClasses);
      double sum = 0;
      for (int i = 0; i < kClasses; ++i) sum += std::exp(s[i] - hi);
      r.loss += std::log(sum) + hi - s[c];
    }
  }
  return r;
}

TEST(ReferenceForward, Lenet5ForwardAndLossMatchTheDoubleReference) {
  for (Arch arch : {Arch::Lenet5, Arch::Lenet5_1998}) {
    SCOPED_TRACE(std::string(arch_name(arch)));
    Lenet5 model(arch);
    Rng rng(5);
    model.init(rng);
    Activations a(model, kBatch);
    random_input(a, kBatch, rng);
    const double loss = forward_loss(model, a, kBatch);
    const Reference r = reference_forward(model, a.input.data(), kBatch);
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < r.scores.size(); ++i) {
      scale = std::max(scale, std::abs(r.scores[i]));
      diff = std::max(diff, std::abs(a.scores[i] - r.scores[i]));
    }
    std::printf("[reference] %s: scores worst difference %.3g of %.3g, loss %.9g vs %.9g\n",
                std::string(arch_name(arch)).c_str(), diff, scale, loss, r.loss);
    EXPECT_LE(diff, 1e-5 * scale);
    EXPECT_NEAR(loss, r.loss, 1e-5 * std::abs(r.loss));
  }
}

// ---- whole-model gradient check ----

// ∂loss/∂params by backprop, into model.grads.
void backprop(Lenet5& model, Activations& a, int n) {
  model.zero_grad();
  forward_loss(model, a, n);
  lenet5_backward(model, a, model.grads.data(), n);
}

// Does moving parameter i by ±h take some ReLU or max-pool across its kink? Perturbs as the checker does.
bool crosses_kink(Lenet5& model, const std::vector<float>& input, std::size_t i, double h) {
  const std::vector<std::int32_t> base = reference_forward(model, input.data(), kBatch).pattern;
  const float x = model.params[i];
  bool crossed = false;
  for (double step : {h, -h}) {
    model.params[i] = float(double(x) + step);
    crossed = crossed || reference_forward(model, input.data(), kBatch).pattern != base;
  }
  model.params[i] = x;
  return crossed;
}

// The float forward must be on the same side of every kink as the double one, or the analytic gradient
// would belong to a different piece of the function than the numerical one.
void expect_same_kink_sides(const Lenet5& model, const Activations& a) {
  const Reference r = reference_forward(model, a.input.data(), kBatch);
  std::size_t mismatches = 0, q = 0;
  auto same_sign = [&](const AlignedFloats& buf, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) mismatches += r.pattern[q++] != (buf[i] > 0.0f);
  };
  auto same_winner = [&](const std::vector<std::int32_t>& arg, const PoolShape& s, std::size_t count) {
    const std::size_t ohw = std::size_t(s.out_h()) * s.out_w();
    for (std::size_t i = 0; i < count; ++i) {
      const int y = int(i % ohw) / s.out_w(), x = int(i % ohw) % s.out_w();
      const int dy = arg[i] / s.in_w - 2 * y, dx = arg[i] % s.in_w - 2 * x;  // the winner within its block
      mismatches += r.pattern[q++] != 2 * dy + dx;
    }
  };
  // The reference records the pattern layer by layer in forward order: C1, S2, C3, S4, C5, F6.
  same_sign(a.c1, std::size_t(kBatch) * 6 * 28 * 28);
  same_winner(a.s2_arg, model.s2, std::size_t(kBatch) * 6 * 14 * 14);
  same_sign(a.c3, std::size_t(kBatch) * 16 * 10 * 10);
  same_winner(a.s4_arg, model.s4, std::size_t(kBatch) * 16 * 5 * 5);
  same_sign(a.c5, std::size_t(kBatch) * 120);
  same_sign(a.f6, std::size_t(kBatch) * Lenet5::kF6);
  EXPECT_EQ(q, r.pattern.size());
  EXPECT_EQ(mismatches, 0u) << "float and double forward passes disagree on which side of a kink they are";
}

struct TensorCheck {
  std::string name;
  GradCheckResult smooth;     // the values that crossed no kink
  std::size_t crossings = 0;  // values set aside because a kink lies within ±h
};

struct ModelCheck {
  std::vector<TensorCheck> tensors;
  std::size_t checked = 0, crossings = 0;
};

// `values` random parameters spread over every tensor; each tensor goes through the checker on its own, so
// its small derivatives are judged against its own scale, not F6's.
ModelCheck check_model_gradient(Arch arch, std::uint64_t seed, double h, double tolerance,
                                std::size_t values = 200) {
  Lenet5 model(arch);
  Rng rng(seed);
  model.init(rng);
  Activations a(model, kBatch);
  random_input(a, kBatch, rng);
  backprop(model, a, kBatch);
  const std::vector<float> analytic = model.grads;
  const std::vector<float> input(a.input.begin(), a.input.end());
  if (arch == Arch::Lenet5) expect_same_kink_sides(model, a);

  auto loss = [&] { return reference_forward(model, input.data(), kBatch).loss; };
  // Small tensors (S2's 6 coefficients) entirely, the rest of the values shared among the larger ones.
  std::vector<const TensorInfo*> by_size;
  for (const TensorInfo& t : model.tensors()) by_size.push_back(&t);
  std::stable_sort(by_size.begin(), by_size.end(), [](auto* x, auto* y) { return x->count < y->count; });
  std::size_t budget = values;
  ModelCheck check;
  for (std::size_t ti = 0; ti < by_size.size(); ++ti) {
    const TensorInfo& t = *by_size[ti];
    const std::size_t quota = std::min(t.count, budget / (by_size.size() - ti));
    budget -= quota;
    GradCheckOptions opt;
    opt.h = h;
    std::vector<std::size_t> local(t.count);
    std::iota(local.begin(), local.end(), std::size_t(0));
    shuffle(local.data(), local.size(), rng);
    local.resize(quota);
    for (std::size_t i : local) opt.indices.push_back(t.offset + i);
    std::sort(opt.indices.begin(), opt.indices.end());

    const GradCheckResult r = check_gradient(loss, model.params, analytic, opt);
    check.checked += r.entries.size();
    // A ReLU or max-pool kink inside [p − h, p + h] makes the central difference meaningless there: such a
    // value is set aside, but only when the crossing is actually found, and it is counted.
    TensorCheck tc{t.name, {}, 0};
    for (const GradCheckEntry& e : r.entries) {
      if (e.rel_error > tolerance && arch == Arch::Lenet5 && crosses_kink(model, input, e.index, h)) {
        ++tc.crossings;
        continue;
      }
      if (tc.smooth.entries.empty() || e.rel_error > tc.smooth.max_rel) {
        tc.smooth.max_rel = e.rel_error;
        tc.smooth.worst = tc.smooth.entries.size();
      }
      tc.smooth.max_abs = std::max(tc.smooth.max_abs, e.abs_error);
      tc.smooth.entries.push_back(e);
    }
    check.crossings += tc.crossings;
    check.tensors.push_back(tc);
  }
  std::printf("[gradcheck] %s, h = %g: %zu parameters checked, %zu set aside as kink crossings\n",
              std::string(arch_name(arch)).c_str(), h, check.checked, check.crossings);
  return check;
}

std::string label(Arch arch, const TensorCheck& t) {
  return std::string(arch_name(arch)) + " " + t.name +
         (t.crossings ? " (" + std::to_string(t.crossings) + " set aside: kink crossed)" : "");
}

TEST(Lenet5Gradient, Paper1998WithMapLoss) {
  // Scaled tanh, subsampling, Table I, RBF, MAP: smooth everywhere, so every value must pass.
  const ModelCheck c = check_model_gradient(Arch::Lenet5_1998, 1, 1e-3, 1e-4);
  for (const TensorCheck& t : c.tensors)
    EXPECT_TRUE(gradient_ok(t.smooth, 1e-4, label(Arch::Lenet5_1998, t)));
  EXPECT_EQ(c.checked, 200u);
  EXPECT_EQ(c.crossings, 0u);
}

TEST(Lenet5Gradient, ModernWithCrossEntropy) {
  // In double a tiny step costs no precision, and makes kink crossings rare.
  const ModelCheck c = check_model_gradient(Arch::Lenet5, 2, 1e-4, 1e-4);
  for (const TensorCheck& t : c.tensors) EXPECT_TRUE(gradient_ok(t.smooth, 1e-4, label(Arch::Lenet5, t)));
  EXPECT_EQ(c.checked, 200u);
  EXPECT_LE(c.crossings, c.checked / 50);  // many would mean the check is no longer checking
}

// The kink accounting itself: at a step of 1e-2 many of the 2×(4704 + 1600 + 204) ReLUs and 2×1576 max-pool
// blocks are within reach, so many values cross a kink; every value that misses the tolerance must be one
// of them. (The tolerance is wider here: the cross-entropy's curvature adds an O(h²) error of ~2e-3.)
TEST(Lenet5Gradient, ModernAtAWideStepEveryOutlierCrossesAKink) {
  const ModelCheck c = check_model_gradient(Arch::Lenet5, 2, 1e-2, 5e-3, 100);
  EXPECT_GT(c.crossings, 0u);
  for (const TensorCheck& t : c.tensors) {
    if (t.smooth.entries.empty()) continue;  // every sampled value of this tensor crossed a kink
    EXPECT_TRUE(gradient_ok(t.smooth, 5e-3, label(Arch::Lenet5, t) + ", h = 1e-2"));
  }
}

// ---- the gradient contract at model level ----

TEST(Lenet5, BackwardAddsIntoGradsAndZeroGradClears) {
  for (Arch arch : {Arch::Lenet5, Arch::Lenet5_1998}) {
    SCOPED_TRACE(std::string(arch_name(arch)));
    Lenet5 model(arch);
    Rng rng(3);
    model.init(rng);
    Activations a(model, kBatch);
    random_input(a, kBatch, rng);
    backprop(model, a, kBatch);
    const std::vector<float> once = model.grads;
    EXPECT_GT(*std::max_element(once.begin(), once.end()), 0.0f);
    lenet5_backward(model, a, model.grads.data(), kBatch);  // a second time, without clearing
    // Twice the first, up to float rounding: the kernels add per sample into what is already there, so the
    // sums round differently; judged against each tensor's largest gradient.
    for (const TensorInfo& t : model.tensors()) {
      float scale = 0;
      for (std::size_t i = t.offset; i < t.offset + t.count; ++i) scale = std::max(scale, std::abs(once[i]));
      for (std::size_t i = t.offset; i < t.offset + t.count; ++i)
        ASSERT_NEAR(model.grads[i], 2 * once[i], 1e-5 * scale) << t.name << "[" << i - t.offset << "]";
    }
    model.zero_grad();
    EXPECT_TRUE(std::all_of(model.grads.begin(), model.grads.end(), [](float g) { return g == 0.0f; }));
  }
}

// ---- the architecture against the paper ----

TEST(Lenet5, Paper1998ParameterCountsPerLayer) {
  const Lenet5 model(Arch::Lenet5_1998);
  const std::vector<LayerInfo> layers = model.layers();
  const char* names[] = {"C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"};
  const std::size_t params[] = {156, 12, 1516, 32, 48120, 10164, 0};  // Section II-B
  const std::array<int, 3> outputs[] = {{6, 28, 28}, {6, 14, 14}, {16, 10, 10}, {16, 5, 5},
                                        {120, 1, 1}, {84, 1, 1},  {10, 1, 1}};
  ASSERT_EQ(layers.size(), 7u);
  std::size_t total = 0;
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(layers[i].name, names[i]);
    EXPECT_EQ(layers[i].parameters, params[i]) << names[i];
    EXPECT_EQ(layers[i].output, outputs[i]) << names[i];
    total += layers[i].parameters;
  }
  EXPECT_EQ(total, 60000u);
  EXPECT_EQ(model.parameter_count(), 60000u);
}

TEST(Lenet5, ModernParameterCountsPerLayer) {
  const Lenet5 model(Arch::Lenet5);
  // C1 6·25+6, C3 16·150+16 (full), C5 120·400+120, F6 84·120+84, OUTPUT 10·84+10; pooling has none.
  const std::size_t params[] = {156, 0, 2416, 0, 48120, 10164, 850};
  const std::vector<LayerInfo> layers = model.layers();
  ASSERT_EQ(layers.size(), 7u);
  std::size_t total = 0;
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(layers[i].parameters, params[i]) << layers[i].name;
    total += layers[i].parameters;
  }
  EXPECT_EQ(total, 61706u);
  EXPECT_EQ(model.parameter_count(), 61706u);
}

TEST(Lenet5, TensorNamesShapesAndLayout) {
  struct Expected {
    const char* name;
    std::vector<std::int64_t> shape;
  };
  const std::vector<Expected> paper = {
      {"C1.weight", {6, 1, 5, 5}},    {"C1.bias", {6}},   {"S2.weight", {6}},       {"S2.bias", {6}},
      {"C3.weight", {60, 5, 5}},      {"C3.bias", {16}},  {"S4.weight", {16}},      {"S4.bias", {16}},
      {"C5.weight", {120, 16, 5, 5}}, {"C5.bias", {120}}, {"F6.weight", {84, 120}}, {"F6.bias", {84}}};
  const std::vector<Expected> modern = {
      {"C1.weight", {6, 1, 5, 5}},    {"C1.bias", {6}},     {"C3.weight", {16, 6, 5, 5}}, {"C3.bias", {16}},
      {"C5.weight", {120, 16, 5, 5}}, {"C5.bias", {120}},   {"F6.weight", {84, 120}},     {"F6.bias", {84}},
      {"OUTPUT.weight", {10, 84}},    {"OUTPUT.bias", {10}}};
  for (Arch arch : {Arch::Lenet5_1998, Arch::Lenet5}) {
    SCOPED_TRACE(std::string(arch_name(arch)));
    const Lenet5 model(arch);
    const auto& expected = arch == Arch::Lenet5 ? modern : paper;
    ASSERT_EQ(model.tensors().size(), expected.size());
    std::size_t offset = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const TensorInfo& t = model.tensors()[i];
      EXPECT_EQ(t.name, expected[i].name);
      EXPECT_EQ(t.shape, expected[i].shape) << t.name;
      std::size_t count = 1;
      for (auto d : t.shape) count *= std::size_t(d);
      EXPECT_EQ(t.count, count) << t.name;
      EXPECT_EQ(t.offset, offset) << t.name << ": tensors lie back to back";
      offset += t.count;
      EXPECT_EQ(model.find_tensor(t.name), &t);
    }
    EXPECT_EQ(offset, model.parameter_count());
    EXPECT_EQ(model.grads.size(), model.params.size());
    EXPECT_EQ(model.find_tensor("C2.weight"), nullptr);
    // The offsets the forward pass uses agree with the named tensors.
    EXPECT_EQ(model.at.c1_w, model.find_tensor("C1.weight")->offset);
    EXPECT_EQ(model.at.c3_w, model.find_tensor("C3.weight")->offset);
    EXPECT_EQ(model.at.c5_b, model.find_tensor("C5.bias")->offset);
    EXPECT_EQ(model.at.f6_w, model.find_tensor("F6.weight")->offset);
    if (arch == Arch::Lenet5_1998) {
      EXPECT_EQ(model.at.s2_w, model.find_tensor("S2.weight")->offset);
      EXPECT_EQ(model.at.s4_b, model.find_tensor("S4.bias")->offset);
    } else {
      EXPECT_EQ(model.at.out_w, model.find_tensor("OUTPUT.weight")->offset);
    }
  }
}

TEST(Lenet5, NamesRoundTrip) {
  for (Arch arch : {Arch::Lenet5, Arch::Lenet5_1998}) EXPECT_EQ(parse_arch(arch_name(arch)), arch);
  EXPECT_EQ(arch_name(Arch::Lenet5_1998), "lenet5-1998");
  EXPECT_EQ(parse_arch("lenet4"), std::nullopt);
  for (LossKind l : {LossKind::CrossEntropy, LossKind::Mle, LossKind::Map})
    EXPECT_EQ(parse_loss(loss_name(l)), l);
  EXPECT_EQ(parse_loss("hinge"), std::nullopt);
  EXPECT_EQ(Lenet5(Arch::Lenet5).default_loss(), LossKind::CrossEntropy);
  EXPECT_EQ(Lenet5(Arch::Lenet5_1998).default_loss(), LossKind::Map);
}

// ---- initialisation ----

// Every 1998 tensor lies within ±bound(Fi) of its rule, and reaches past half of it (not degenerate).
void expect_1998_init_bounds(InitRule rule, double (*bound_of)(double fan_in)) {
  Lenet5 model(Arch::Lenet5_1998);
  Rng rng(11);
  model.init(rng, rule);
  auto within = [&](const char* name, std::size_t first, std::size_t count, double fan_in) {
    const double bound = bound_of(fan_in);
    const TensorInfo* t = model.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    double largest = 0;
    for (std::size_t i = first; i < first + count; ++i) {
      const float w = model.params[t->offset + i];
      ASSERT_LE(std::abs(w), bound * (1 + 1e-6)) << name << "[" << i << "]";
      largest = std::max(largest, double(std::abs(w)));
    }
    // With ≥ 20 values the largest reaches past half the bound.
    if (count >= 20) {
      EXPECT_GT(largest, 0.5 * bound) << name;
    }
  };
  within("C1.weight", 0, 150, 25);
  within("C1.bias", 0, 6, 25);
  within("S2.weight", 0, 6, 4);
  within("S2.bias", 0, 6, 4);
  for (int o = 0; o < 16; ++o) {  // Table I: 3, 4 or 6 S2 maps of 25 taps
    const int fan_in = model.c3.inputs_of(o) * 25;
    within("C3.weight", model.c3.weight_offset(o), std::size_t(fan_in), fan_in);
    within("C3.bias", std::size_t(o), 1, fan_in);
  }
  within("S4.weight", 0, 16, 4);
  within("S4.bias", 0, 16, 4);
  within("C5.weight", 0, 48000, 400);
  within("C5.bias", 0, 120, 400);
  within("F6.weight", 0, 10080, 120);
  within("F6.bias", 0, 84, 120);
}

TEST(Lenet5, Paper1998InitWithinPlusMinus2Point4OverFanIn) {
  // Appendix A: uniform in ±2.4/Fi, Fi the fan-in of the receiving unit (biases too).
  expect_1998_init_bounds(InitRule::Paper, [](double fan_in) { return 2.4 / fan_in; });
}

TEST(Lenet5, Sqrt1998InitWithinPlusMinusOneOverRootFanIn) {
  // ±1/√Fi on every layer; S2/S4 (Fi = 4) get ±0.5.
  expect_1998_init_bounds(InitRule::Sqrt, [](double fan_in) { return 1 / std::sqrt(fan_in); });
}

TEST(Lenet5, InitRuleDefaultAndNames) {
  // The default is the rule the validation split chose (docs/reproduction.md): init(rng) == init(rng, Sqrt).
  Lenet5 a(Arch::Lenet5_1998), b(Arch::Lenet5_1998), c(Arch::Lenet5_1998);
  Rng r1(5), r2(5), r3(5);
  a.init(r1);
  b.init(r2, InitRule::Paper);
  c.init(r3, InitRule::Sqrt);
  EXPECT_EQ(a.params, c.params);
  EXPECT_NE(a.params, b.params);
  EXPECT_EQ(kDefaultInitRule, InitRule::Sqrt);
  // C5 under the paper's rule is 2.4/400 = 0.006 at most; under sqrt up to 0.05.
  const TensorInfo* c5 = b.find_tensor("C5.weight");
  EXPECT_LE(*std::max_element(b.params.begin() + std::ptrdiff_t(c5->offset),
                              b.params.begin() + std::ptrdiff_t(c5->offset + c5->count)),
            0.006f);
  EXPECT_GT(*std::max_element(c.params.begin() + std::ptrdiff_t(c5->offset),
                              c.params.begin() + std::ptrdiff_t(c5->offset + c5->count)),
            0.04f);
  for (InitRule rule : {InitRule::Paper, InitRule::Sqrt})
    EXPECT_EQ(parse_init_rule(init_rule_name(rule)), rule);
  EXPECT_FALSE(parse_init_rule("xavier").has_value());
}

TEST(Lenet5, ModernInitHeUniformAndZeroBiases) {
  Lenet5 model(Arch::Lenet5);
  Rng rng(12);
  model.init(rng);
  auto check = [&](const char* weights, const char* biases, double bound) {
    const TensorInfo* w = model.find_tensor(weights);
    const TensorInfo* b = model.find_tensor(biases);
    for (std::size_t i = 0; i < w->count; ++i)
      ASSERT_LE(std::abs(model.params[w->offset + i]), bound) << weights;
    for (std::size_t i = 0; i < b->count; ++i) ASSERT_EQ(model.params[b->offset + i], 0.0f) << biases;
  };
  check("C1.weight", "C1.bias", std::sqrt(6.0 / 25));
  check("C3.weight", "C3.bias", std::sqrt(6.0 / 150));
  check("C5.weight", "C5.bias", std::sqrt(6.0 / 400));
  check("F6.weight", "F6.bias", std::sqrt(6.0 / 120));
  check("OUTPUT.weight", "OUTPUT.bias", 1 / std::sqrt(84.0));
}

TEST(Lenet5, InitIsDeterministicPerSeed) {
  Lenet5 a(Arch::Lenet5_1998), b(Arch::Lenet5_1998), c(Arch::Lenet5_1998);
  Rng r1(7), r2(7), r3(8);
  a.init(r1);
  b.init(r2);
  c.init(r3);
  EXPECT_EQ(a.params, b.params);
  EXPECT_NE(a.params, c.params);
}

// ---- forward ----

TEST(Lenet5, BatchIndependence) {
  // A batch's forward pass equals each sample's alone (the fast C5 path batches the whole product).
  constexpr int kN = 3;
  for (Arch arch : {Arch::Lenet5, Arch::Lenet5_1998}) {
    SCOPED_TRACE(std::string(arch_name(arch)));
    Lenet5 model(arch);
    Rng rng(13);
    model.init(rng);
    Activations batch(model, kN), one(model, 1);
    random_input(batch, kN, rng);
    lenet5_forward(model, batch, kN);
    for (int b = 0; b < kN; ++b) {
      std::copy_n(batch.input.begin() + std::ptrdiff_t(b) * kInputSize, kInputSize, one.input.begin());
      lenet5_forward(model, one, 1);
      for (int i = 0; i < kClasses; ++i) {
        const float x = batch.scores[std::size_t(b) * kClasses + i], y = one.scores[std::size_t(i)];
        EXPECT_NEAR(x, y, 1e-5 * (1 + std::abs(y))) << "sample " << b << " class " << i;
      }
    }
  }
}

TEST(Lenet5, PredictClassIsArgmaxOfLogitsAndArgminOfPenalties) {
  const float scores[kClasses] = {0.5f, 2.0f, -1.0f, 7.0f, 0.0f, 1.0f, 3.0f, -4.0f, 0.25f, 6.5f};
  const Lenet5 modern(Arch::Lenet5), paper(Arch::Lenet5_1998);
  EXPECT_EQ(modern.predict_class(scores), 3);  // the largest logit
  EXPECT_EQ(paper.predict_class(scores), 7);   // the smallest penalty
  // Probabilities agree with the prediction and sum to one.
  for (const Lenet5* m : {&modern, &paper}) {
    float p[kClasses];
    m->probabilities(p, scores);
    EXPECT_EQ(int(std::max_element(p, p + kClasses) - p), m->predict_class(scores));
    EXPECT_NEAR(std::accumulate(p, p + kClasses, 0.0), 1.0, 1e-6);
  }
}

// ---- input preprocessing ----

TEST(ImageToInput, PaperLevelsAndCentredPadding) {
  // A 28×28 image: background 0 -> −0.1, ink 255 -> 1.175, placed at rows/columns 2..29 of 32×32.
  std::vector<std::uint8_t> image(28 * 28, 0);
  image[0] = 255;            // top-left pixel of the image
  image[28 * 28 - 1] = 255;  // bottom-right
  image[5 * 28 + 9] = 51;    // 51/255 = 0.2 of the way: −0.1 + 0.2·1.275 = 0.155
  std::vector<float> out(kInputSize);
  image_to_input(out.data(), image.data(), 28, 28);
  EXPECT_FLOAT_EQ(out[2 * 32 + 2], 1.175f);
  EXPECT_FLOAT_EQ(out[29 * 32 + 29], 1.175f);
  EXPECT_NEAR(out[(2 + 5) * 32 + 2 + 9], 0.155f, 1e-6);
  int ink = 0, background = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const float v = out[y * 32 + x];
      ink += v == kInputInk;
      background += v == kInputBackground;
      if (y < 2 || y >= 30 || x < 2 || x >= 30) {
        EXPECT_EQ(v, kInputBackground) << "padding at " << y << "," << x;
      }
    }
  EXPECT_EQ(ink, 2);
  EXPECT_EQ(background, 32 * 32 - 3);

  // An odd-sized image is centred with the extra pixel after it: 5×3 at rows 13..17, columns 14..16.
  const std::vector<std::uint8_t> small(15, 255);
  image_to_input(out.data(), small.data(), 5, 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const bool inside = y >= 13 && y < 18 && x >= 14 && x < 17;
      EXPECT_EQ(out[y * 32 + x], inside ? kInputInk : kInputBackground) << y << "," << x;
    }
}

}  // namespace
}  // namespace lenet

// Pins the modern LeNet-5 (Arch::Lenet5) to an independent PyTorch reference (tools/make_torch_reference.py):
// logits, loss, every gradient, and 5 steps of momentum SGD and of Adam; prints the worst difference per
// tensor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "helpers/fixture.h"
#include "helpers/paths.h"
#include "lenet/lenet5.h"
#include "lenet/optimizer.h"

namespace {

using lenet::test::Fixture;
using lenet::test::fixture_bytes;
using lenet::test::fixture_floats;
using lenet::test::FixtureArray;

constexpr int kBatch = 8;
constexpr int kSteps = 5;
constexpr float kMomentumLr = 0.01f, kMomentum = 0.9f;
constexpr float kAdamLr = 0.001f;

// Tolerances: |lenet − torch| ≤ rel · max|torch| + abs, per tensor. Both sides compute in float32 with
// different summation orders; the script measures torch's own float32 error against float64 at ≲1e-6 of
// each tensor's largest value (loss 7e-8 of 2.3, gradients ≤ 8e-9 of ≥ 5e-3), and lenet's is of the same
// kind, so 2e-5 leaves a 10–20× margin yet catches any real mistake (a wrong index, a missing term or a
// flipped ReLU moves a tensor by ≥ 1e-3 of its scale).
struct Tolerance {
  double rel, abs;
};
constexpr Tolerance kForwardTol{2e-5, 1e-7};
constexpr Tolerance kGradTol{2e-5, 1e-9};
// After 5 steps the parameters have moved by ≤ 5·lr·|step|, and rounding differences in the gradients feed
// into them; compared to the parameters' own scale (≥ 0.04) they stay within ~1e-6.
constexpr Tolerance kMomentumTol{2e-5, 1e-7};
// Adam divides each gradient by its own running RMS, which turns a relative gradient error into the same
// relative error of an lr-sized step, so its parameters drift apart a little more than momentum's (observed
// ≤ 1.3e-6 of max|ref| against ≤ 1e-7). A component whose gradient were pure rounding noise would take
// steps of random sign and break this bound; with this fixture none is (dead units get exactly 0).
constexpr Tolerance kAdamTol{2e-5, 1e-7};

const Fixture& fixture() {
  static const Fixture f =
      lenet::test::read_fixture(lenet::test::source_path("tests/fixtures/lenet5_torch.bin"));
  return f;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + ")";
}

// Prints the worst absolute difference, the same relative to max|ref| (what the tolerance uses) and the
// worst element-wise relative difference among elements ≥ 1% of max|ref| (smaller ones are rounding noise
// relative to themselves); then EXPECTs every element within tolerance.
void expect_close(const std::string& what, const float* got, const float* ref, std::size_t count,
                  Tolerance tol) {
  double max_ref = 0;
  for (std::size_t i = 0; i < count; ++i) max_ref = std::max(max_ref, std::fabs(double(ref[i])));
  const double bound = tol.rel * max_ref + tol.abs;
  double worst_abs = 0, worst_rel = 0;
  std::size_t worst_at = 0, failures = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double d = std::fabs(double(got[i]) - double(ref[i]));
    if (!(d <= bound)) ++failures;  // also counts NaN
    if (!(d <= worst_abs)) worst_abs = d, worst_at = i;
    if (std::fabs(double(ref[i])) >= 0.01 * max_ref && max_ref > 0)
      worst_rel = std::max(worst_rel, d / std::fabs(double(ref[i])));
  }
  std::printf(
      "  %-30s n=%-6zu max|ref| %-9.3g worst abs %-9.3g (/max|ref| %-9.3g) worst rel %-9.3g tol %.3g%s\n",
      what.c_str(), count, max_ref, worst_abs, max_ref > 0 ? worst_abs / max_ref : 0.0, worst_rel, bound,
      failures ? "  FAIL" : "");
  EXPECT_EQ(failures, 0u) << what << ": " << failures << " of " << count << " elements off by more than "
                          << bound << "; worst at " << worst_at << ": lenet " << got[worst_at] << " vs torch "
                          << ref[worst_at];
}

// A model holding the fixture's initial weights, and activations for the batch holding its input.
struct Reference {
  lenet::Lenet5 model{lenet::Arch::Lenet5};
  lenet::Activations a{model, kBatch};
  std::vector<std::uint8_t> labels;

  Reference() {
    const Fixture& f = fixture();
    for (const auto& t : model.tensors()) {
      const FixtureArray& init = fixture_floats(f, "init." + t.name);
      if (init.shape != t.shape)
        throw lenet::test::FixtureError("init." + t.name + ": expected shape " + shape_string(t.shape) +
                                        ", found " + shape_string(init.shape));
      std::copy(init.data.begin(), init.data.end(), model.params.begin() + std::ptrdiff_t(t.offset));
    }
    const FixtureArray& input = fixture_floats(f, "input");
    if (input.shape != std::vector<std::int64_t>{kBatch, 1, lenet::kInputSide, lenet::kInputSide})
      throw lenet::test::FixtureError("input: unexpected shape " + shape_string(input.shape));
    std::copy(input.data.begin(), input.data.end(), a.input.begin());
    const FixtureArray& l = fixture_bytes(f, "labels");
    if (l.count() != std::size_t(kBatch)) throw lenet::test::FixtureError("labels: expected 8");
    labels = l.bytes;
  }

  // zero_grad, forward, loss, backward; returns the mean loss, as torch's CrossEntropyLoss.
  double pass() {
    model.zero_grad();
    lenet::lenet5_forward(model, a, kBatch);
    const double sum = lenet::lenet5_loss(model, a, labels.data(), kBatch, lenet::LossKind::CrossEntropy,
                                          0.0f, 1.0f / kBatch);
    lenet::lenet5_backward(model, a, model.grads.data(), kBatch);
    return sum / kBatch;
  }
};

TEST(TorchReference, FixtureIsTheExpectedOne) {
  const Fixture& f = fixture();
  const FixtureArray& version = fixture_bytes(f, "meta.torch_version");
  std::printf("  reference written by torch %s, %zu records\n",
              std::string(version.bytes.begin(), version.bytes.end()).c_str(), f.size());
  EXPECT_EQ(fixture_floats(f, "logits").shape, (std::vector<std::int64_t>{kBatch, lenet::kClasses}));
  EXPECT_EQ(fixture_floats(f, "momentum.loss").count(), std::size_t(kSteps));
  EXPECT_EQ(fixture_floats(f, "adam.loss").count(), std::size_t(kSteps));
}

TEST(TorchReference, LogitsLossAndEveryGradient) {
  Reference s;
  const Fixture& f = fixture();
  const double loss = s.pass();
  std::printf("  forward and backward at the initial weights, batch %d:\n", kBatch);
  expect_close("logits", s.a.scores.data(), fixture_floats(f, "logits").data.data(),
               std::size_t(kBatch) * lenet::kClasses, kForwardTol);
  const float loss_f = float(loss);
  expect_close("loss", &loss_f, fixture_floats(f, "loss").data.data(), 1, kForwardTol);
  for (const auto& t : s.model.tensors()) {
    const FixtureArray& ref = fixture_floats(f, "grad." + t.name);
    ASSERT_EQ(ref.shape, t.shape) << t.name;
    expect_close("grad." + t.name, s.model.grads.data() + t.offset, ref.data.data(), t.count, kGradTol);
  }
}

// Runs kSteps of the optimizer from the initial weights on the same batch, as the script does, and compares
// each step's loss (before the step) and the final parameters.
void replay(const std::string& tag, const lenet::OptimizerConfig& config, float lr, Tolerance tol) {
  Reference s;
  const Fixture& f = fixture();
  lenet::Optimizer opt(config, s.model.parameter_count());
  std::vector<float> losses;
  for (int step = 0; step < kSteps; ++step) {
    losses.push_back(float(s.pass()));
    opt.step(s.model.params, s.model.grads, lr);
  }
  std::printf("  %d steps of %s, lr %g:\n", kSteps, tag.c_str(), double(lr));
  const FixtureArray& ref_losses = fixture_floats(f, tag + ".loss");
  ASSERT_EQ(ref_losses.count(), std::size_t(kSteps));
  for (int step = 0; step < kSteps; ++step)
    expect_close(tag + ".loss[" + std::to_string(step) + "]", &losses[std::size_t(step)],
                 &ref_losses.data[std::size_t(step)], 1, kForwardTol);
  for (const auto& t : s.model.tensors()) {
    // The script may keep only the leading rows of a large tensor (C5.weight) to keep the file small.
    const FixtureArray& ref = fixture_floats(f, tag + ".final." + t.name);
    ASSERT_FALSE(ref.shape.empty()) << t.name;
    ASSERT_TRUE(std::equal(ref.shape.begin() + 1, ref.shape.end(), t.shape.begin() + 1, t.shape.end()) &&
                ref.shape[0] <= t.shape[0])
        << tag << ".final." << t.name << ": shape " << shape_string(ref.shape)
        << " is not a leading slice of " << shape_string(t.shape);
    expect_close(tag + ".final." + t.name + shape_string(ref.shape), s.model.params.data() + t.offset,
                 ref.data.data(), ref.count(), tol);
  }
}

TEST(TorchReference, MomentumTrajectory) {
  lenet::OptimizerConfig config;
  config.kind = lenet::OptimizerKind::Momentum;
  config.momentum = kMomentum;
  replay("momentum", config, kMomentumLr, kMomentumTol);
}

TEST(TorchReference, AdamTrajectory) {
  lenet::OptimizerConfig config;
  config.kind = lenet::OptimizerKind::Adam;
  replay("adam", config, kAdamLr, kAdamTol);
}

// Each sample's logits must not depend on the rest of the batch, and per-sample gradients (each scaled by
// 1/batch) must add up to the batch gradient: the accumulation contract of lenet5_backward.
TEST(TorchReference, BatchOfEightEqualsEachSampleAlone) {
  Reference batch;
  batch.pass();
  Reference one;
  lenet::Activations single(one.model, 1);
  one.model.zero_grad();
  std::vector<float> logits(std::size_t(kBatch) * lenet::kClasses);
  for (int b = 0; b < kBatch; ++b) {
    std::copy_n(one.a.input.begin() + std::ptrdiff_t(b) * lenet::kInputSize, lenet::kInputSize,
                single.input.begin());
    lenet::lenet5_forward(one.model, single, 1);
    std::copy_n(single.scores.begin(), lenet::kClasses, logits.begin() + std::ptrdiff_t(b) * lenet::kClasses);
    lenet::lenet5_loss(one.model, single, &one.labels[std::size_t(b)], 1, lenet::LossKind::CrossEntropy, 0.0f,
                       1.0f / kBatch);
    lenet::lenet5_backward(one.model, single, one.model.grads.data(), 1);  // adds
  }
  std::printf("  batch of %d vs one sample at a time:\n", kBatch);
  expect_close("logits", logits.data(), batch.a.scores.data(), logits.size(), kForwardTol);
  for (const auto& t : batch.model.tensors())
    expect_close("grad." + t.name, one.model.grads.data() + t.offset, batch.model.grads.data() + t.offset,
                 t.count, kGradTol);
}

// The reader refuses broken files rather than handing back garbage.
class FixtureReader : public ::testing::Test {
 protected:
  static std::vector<char> good() {
    std::ifstream in(lenet::test::source_path("tests/fixtures/lenet5_torch.bin"), std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
  }
  static void expect_rejected(const std::vector<char>& bytes, const std::string& name,
                              const std::string& needle) {
    const std::string path = lenet::test::temp_path(name);
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    try {
      lenet::test::read_fixture(path);
      ADD_FAILURE() << name << ": accepted";
    } catch (const lenet::test::FixtureError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(needle), std::string::npos) << message;
    }
  }
};

TEST_F(FixtureReader, RejectsMalformedFiles) {
  const std::vector<char> bytes = good();
  ASSERT_GT(bytes.size(), 100u);

  std::vector<char> bad = bytes;
  bad[0] = 'X';
  expect_rejected(bad, "magic.bin", "magic");

  bad = bytes;
  bad[4] = 2;
  expect_rejected(bad, "version.bin", "version");

  bad.assign(bytes.begin(), bytes.end() - 3);
  expect_rejected(bad, "truncated.bin", "data");

  bad = bytes;
  bad.push_back(0);
  expect_rejected(bad, "trailing.bin", "trailing");

  // First record: u32 name length at 12, name at 16 ("meta.torch_version", 18 bytes), dtype at 34.
  bad = bytes;
  bad[34] = 7;
  expect_rejected(bad, "dtype.bin", "dtype");

  bad = bytes;
  bad[12] = 0;
  expect_rejected(bad, "name.bin", "name length");

  expect_rejected({}, "empty.bin", "magic");
  EXPECT_THROW(lenet::test::read_fixture(lenet::test::temp_path("missing.bin")), lenet::test::FixtureError);
}

}  // namespace

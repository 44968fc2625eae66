// The int8 path: every int8 kernel against its naive reference at every SIMD level this CPU runs (bit for
// bit), and the quantised network against the fp32 one it came from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <span>

#include "helpers/bars.h"
#include "helpers/paths.h"
#include "lenet/classifier.h"
#include "lenet/lenet5_io.h"
#include "lenet/quantize.h"
#include "lenet/simd.h"
#include "lenet/trainer.h"

namespace lenet {
namespace {

using Bytes = std::vector<std::uint8_t, CacheAligned<std::uint8_t>>;

Bytes random_bytes(std::size_t n, std::mt19937& rng) {
  Bytes b(n);
  for (auto& v : b) v = std::uint8_t(rng());
  return b;
}

// A layer of random quads and requantisation constants that keep the levels spread over 0..255.
Int8Layer random_layer(std::size_t quads, int lanes, int outputs, int in_bytes, float scale,
                       std::mt19937& rng) {
  Int8Layer l;
  l.weight.resize(quads);
  for (auto& w : l.weight) w = std::int32_t(rng());
  l.scale.assign(std::size_t(lanes), 0.0f);
  l.offset.assign(std::size_t(lanes), 0.0f);
  std::uniform_real_distribution<float> u(0.5f, 1.5f), off(-20.0f, 140.0f);
  for (int o = 0; o < outputs; ++o) {
    l.scale[std::size_t(o)] = scale * u(rng);
    l.offset[std::size_t(o)] = off(rng);
  }
  l.in_bytes = in_bytes;
  l.out_lanes = lanes;
  l.outputs = outputs;
  return l;
}

// Runs f at each SIMD level the CPU has, then restores the level.
template <class F>
void at_every_level(const F& f) {
  const simd::Level saved = simd::level();
  for (simd::Level l : {simd::Level::Portable, simd::Level::Avx2, simd::Level::Avx512}) {
    if (int(l) > int(simd::best_level())) continue;
    simd::set_level(l);
    SCOPED_TRACE(std::string(int8_kernel_name()));
    f();
  }
  simd::set_level(saved);
}

TEST(Int8Kernels, C1S2MatchesNaive) {
  std::mt19937 rng(1);
  const int n = 3;
  const Bytes image = random_bytes(n * kInt8ImageBytes + kInt8ImageSlack, rng);
  Int8Layer c1 = random_layer(60, 16, 6, 0, 0.002f, rng);
  for (auto& w : c1.weight)  // kw 5..7 (bytes 1..3 of each second quad) are zero in a real layer
    if ((&w - c1.weight.data()) % 2 == 1) w &= 0xFF;
  Bytes want(n * kInt8S2Bytes), got(n * kInt8S2Bytes);
  naive::c1s2_int8_forward(want.data(), image.data(), c1, n);
  at_every_level([&] {
    std::fill(got.begin(), got.end(), 0);
    c1s2_int8_forward(got.data(), image.data(), c1, n);
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(0, std::memcmp(want.data() + i * kInt8S2Bytes, got.data() + i * kInt8S2Bytes, 14 * 14 * 6))
          << "image " << i;
  });
  // The levels are spread, so the comparison is not of saturated values.
  EXPECT_GT(std::count(want.begin(), want.begin() + 1176, 0), 10);
  EXPECT_LT(std::count(want.begin(), want.begin() + 1176, 255), 1000);
}

TEST(Int8Kernels, C3S4MatchesNaive) {
  std::mt19937 rng(2);
  const int n = 3;
  const Bytes s2 = random_bytes(n * kInt8S2Bytes, rng);
  Int8Layer c3 = random_layer(5 * 8 * 16, 16, 16, 0, 0.0005f, rng);
  for (int kh = 0; kh < 5; ++kh)  // bytes 30, 31 of each kernel row are zero in a real layer
    for (int o = 0; o < 16; ++o) c3.weight[std::size_t((kh * 8 + 7) * 16 + o)] &= 0xFFFF;
  Bytes want(n * kInt8S4Bytes), got(n * kInt8S4Bytes);
  naive::c3s4_int8_forward(want.data(), s2.data(), c3, n);
  at_every_level([&] {
    c3s4_int8_forward(got.data(), s2.data(), c3, n);
    EXPECT_EQ(want, got);
  });
  EXPECT_GT(std::count(want.begin(), want.end(), 0), 10);
}

TEST(Int8Kernels, FullAndLogitsMatchNaive) {
  std::mt19937 rng(3);
  // C5, F6 and OUTPUT's shapes, with image counts around the kernels' groups of 4.
  const struct {
    int in_bytes, lanes, outputs;
  } shapes[] = {{400, 128, 120}, {128, 96, 84}, {96, 16, 10}, {64, 160, 150}};
  for (const auto& sh : shapes)
    for (int n : {1, 2, 5, 16}) {
      const Bytes in = random_bytes(std::size_t(n) * sh.in_bytes, rng);
      const Int8Layer fc = random_layer(std::size_t(sh.in_bytes / 4) * sh.lanes, sh.lanes, sh.outputs,
                                        sh.in_bytes, 0.0004f, rng);
      Bytes want(std::size_t(n) * sh.lanes), got(want.size());
      std::vector<float> want_logits(std::size_t(n) * sh.outputs), got_logits(want_logits.size());
      naive::fc_int8_forward(want.data(), in.data(), fc, n);
      naive::fc_int8_logits(want_logits.data(), in.data(), fc, n);
      at_every_level([&] {
        fc_int8_forward(got.data(), in.data(), fc, n);
        EXPECT_EQ(want, got) << sh.in_bytes << " -> " << sh.outputs << ", n " << n;
        fc_int8_logits(got_logits.data(), in.data(), fc, n);
        EXPECT_EQ(want_logits, got_logits) << sh.in_bytes << " -> " << sh.outputs << ", n " << n;
      });
    }
}

// A modern net trained a little on the bar digits, its scales calibrated on the training set.
struct Trained {
  Lenet5 model{Arch::Lenet5};
  Dataset train = test::bar_digits(600, 11), held_out = test::bar_digits(300, 12);
  Trained() {
    Rng rng(5);
    model.init(rng);
    TrainConfig cfg;
    cfg.epochs = 2;
    cfg.batch = 32;
    cfg.lr = 0.02f;
    cfg.threads = 1;
    cfg.loss = LossKind::CrossEntropy;
    lenet::train(model, train, nullptr, cfg);
  }
};

TEST(Int8Network, NaiveAndFastAgreeAndFollowFp32) {
  Trained t;
  const Int8Scales scales = calibrate_int8(t.model, t.train, 600);
  EXPECT_GT(scales.c1, 0);
  const Int8Lenet5 net(t.model, scales);
  const Dataset& d = t.held_out;
  Int8Workspace ws(7);  // not a divisor of the count: the last chunk is short
  std::vector<float> naive_scores(std::size_t(d.count) * kClasses), fast(naive_scores.size());
  net.forward_naive(naive_scores.data(), d.images.data(), d.rows, d.cols, d.count, ws);
  at_every_level([&] {
    net.forward(fast.data(), d.images.data(), d.rows, d.cols, d.count, ws);
    EXPECT_EQ(naive_scores, fast);
  });
  const EvalResult fp32 = evaluate(t.model, d, 1), int8 = evaluate_int8(net, d, 2);
  EXPECT_GT(fp32.accuracy, 0.9);
  EXPECT_NEAR(int8.accuracy, fp32.accuracy, 0.02);
  int same = 0;
  for (int i = 0; i < d.count; ++i)
    same += fp32.predictions[std::size_t(i)] == int8.predictions[std::size_t(i)];
  EXPECT_GE(same, d.count * 97 / 100);
}

TEST(Int8Network, ScalesRoundTripThroughConfig) {
  const Int8Scales s{1.5f, 2.5f, 3.5f, 4.5f, 100};
  const nlohmann::json config = {{"int8", int8_scales_json(s)}};
  const auto back = int8_scales_from_config(config);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->c1, 1.5f);
  EXPECT_EQ(back->f6, 4.5f);
  EXPECT_EQ(back->calibration_images, 100);
  EXPECT_FALSE(int8_scales_from_config(nlohmann::json::object()));
  nlohmann::json bad = config;
  bad["int8"]["C3"] = -1;
  EXPECT_THROW(int8_scales_from_config(bad), std::runtime_error);
  bad["int8"] = "x";
  EXPECT_THROW(int8_scales_from_config(bad), std::runtime_error);
}

// lenet::Classifier with Precision::Int8: the scores of the int8 network for bytes and floats, the same
// answers on many threads; a model file without scales is refused naming lenet quantize.
TEST(Int8Network, ClassifierRunsTheInt8Network) {
  Trained t;
  const Int8Scales scales = calibrate_int8(t.model, t.train, 600);
  nlohmann::json config = {{"int8", int8_scales_json(scales)}};
  const std::string with = test::temp_path("int8-with-scales.bin"),
                    without = test::temp_path("int8-none.bin");
  save_lenet5(with, t.model, config);
  save_lenet5(without, t.model, nlohmann::json::object());
  const Classifier int8(with, Precision::Int8), fp32(with);
  EXPECT_EQ(int8.precision(), Precision::Int8);
  EXPECT_EQ(fp32.precision(), Precision::Fp32);
  const Dataset& d = t.held_out;
  const std::span<const std::uint8_t> bytes(d.images.data(), std::size_t(d.count) * kImagePixels);
  const std::vector<DigitGuess> got = int8.classify_many(bytes);
  std::vector<float> want(std::size_t(d.count) * kClasses);
  Int8Workspace ws(16);
  Int8Lenet5(t.model, scales).forward(want.data(), d.images.data(), d.rows, d.cols, d.count, ws);
  std::vector<float> ink(bytes.size());
  for (std::size_t i = 0; i < ink.size(); ++i) ink[i] = float(bytes[i]) / 255.0f;
  const std::vector<DigitGuess> from_floats = int8.classify_many(ink);
  const std::vector<DigitGuess> from_fp32 = fp32.classify_many(bytes);
  int same = 0;
  for (int i = 0; i < d.count; ++i) {
    const float* s = want.data() + std::size_t(i) * kClasses;
    const int digit = int(std::max_element(s, s + kClasses) - s);
    EXPECT_EQ(got[std::size_t(i)].digit, digit) << "image " << i;
    EXPECT_EQ(got[std::size_t(i)].score, s[digit]) << "image " << i;
    EXPECT_EQ(from_floats[std::size_t(i)].digit, digit) << "image " << i;
    same += from_fp32[std::size_t(i)].digit == digit;
  }
  EXPECT_GE(same, d.count * 97 / 100);
  try {
    const Classifier refused(without, Precision::Int8);
    ADD_FAILURE() << "a model without int8 scales was accepted";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find(without), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("lenet quantize"), std::string::npos) << e.what();
  }
}

TEST(Int8Network, RefusesThe1998Net) {
  const Lenet5 paper(Arch::Lenet5_1998);
  EXPECT_THROW(Int8Lenet5(paper, Int8Scales{1, 1, 1, 1, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace lenet

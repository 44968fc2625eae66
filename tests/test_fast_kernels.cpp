// The vectorised kernels against their naive references at every SIMD level this CPU runs (AVX-512,
// AVX2, portable), so the paths another machine would take are tested here too: GEMM tails, every
// convolution path (per row, per channel, the 1×1 product, the fallback), pooling, activations, RBF.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "helpers/gradcheck.h"  // random_vector
#include "helpers/scratch.h"
#include "lenet/activation.h"
#include "lenet/aligned.h"
#include "lenet/conv2d.h"
#include "lenet/gemm.h"
#include "lenet/ink.h"
#include "lenet/lenet5.h"
#include "lenet/linear.h"
#include "lenet/maxpool.h"
#include "lenet/rbf.h"
#include "lenet/rng.h"
#include "lenet/simd.h"
#include "lenet/subsample.h"
#include "lenet/trainer.h"

// Counts the allocations of the whole program while `counting` is set (for the training-step test below).
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace
void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
// The cache-aligned buffers (lenet/aligned.h) come from the aligned form.
void* operator new(std::size_t size, std::align_val_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = std::size_t(alignment);
  if (void* p = std::aligned_alloc(a, (std::max<std::size_t>(size, 1) + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
// GCC cannot tell that these operators delete pair with the operators new above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace lenet {
namespace {

using test::random_vector;

// Fast kernels sum in float in another order (and with FMA), the naive ones in double: the difference
// is judged relative to the size of the result, max |reference|.
constexpr double kTolerance = 1e-5;

// Every level this CPU runs, best first; restores the best level when the test ends.
class AtEveryLevel : public ::testing::Test {
 protected:
  std::vector<simd::Level> levels() const {
    std::vector<simd::Level> out;
    for (simd::Level l : {simd::Level::Avx512, simd::Level::Avx2, simd::Level::Portable})
      if (int(l) <= int(simd::best_level())) out.push_back(l);
    return out;
  }
  void TearDown() override { simd::set_level(simd::best_level()); }
};

// max |fast − ref| / max |ref| over one buffer.
double relative_difference(const std::vector<float>& fast, const std::vector<float>& ref) {
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    scale = std::max(scale, double(std::abs(ref[i])));
    const double d = std::abs(double(fast[i]) - ref[i]);
    if (!(d <= diff)) diff = d;  // NaN propagates
  }
  return diff / std::max(scale, 1e-30);
}

struct Worst {
  double rel = 0;
  std::string where;
  void add(double rel_diff, const std::string& what) {
    EXPECT_LE(rel_diff, kTolerance) << what;
    if (!(rel_diff <= rel)) rel = rel_diff, where = what;
  }
  void print(const char* kernel) const {
    std::printf("[fast kernels] %s: worst relative difference %.3g (%s)\n", kernel, rel, where.c_str());
  }
};

std::string level_tag(simd::Level l) { return std::string(simd::level_name(l)) + " "; }

// ---- matrix products ----

TEST_F(AtEveryLevel, GemmMatchesNaiveAroundEveryTileEdge) {
  using Gemm = void (*)(float*, const float*, const float*, int, int, int);
  struct Case {
    const char* name;
    Gemm fast, ref;
  };
  const Case cases[] = {{"gemm_nn", gemm_nn, naive::gemm_nn},
                        {"gemm_nt", gemm_nt, naive::gemm_nt},
                        {"gemm_tn", gemm_tn, naive::gemm_tn}};
  // Sizes around the tiles (rows of 2, 4, 6; columns of 4..64; dot products of 4..16 lanes), and the
  // network's own shapes.
  std::vector<int> sizes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};
  Worst worst;
  Rng rng(11);
  for (simd::Level level : levels()) {
    simd::set_level(level);
    for (const Case& c : cases)
      for (int t = 0; t < 60; ++t) {
        const int m = sizes[rng.below(std::uint32_t(sizes.size()))];
        const int n = sizes[rng.below(std::uint32_t(sizes.size()))];
        const int k = sizes[rng.below(std::uint32_t(sizes.size()))];
        const auto a = random_vector(std::size_t(m) * k, rng), b = random_vector(std::size_t(k) * n, rng);
        const auto c0 = random_vector(std::size_t(m) * n, rng);
        std::vector<float> fast = c0, ref = c0;
        c.fast(fast.data(), a.data(), b.data(), m, n, k);
        c.ref(ref.data(), a.data(), b.data(), m, n, k);
        worst.add(relative_difference(fast, ref), level_tag(level) + c.name + " m" + std::to_string(m) +
                                                      " n" + std::to_string(n) + " k" + std::to_string(k));
      }
  }
  worst.print("gemm");
}

// ---- convolution ----

// Forward, backward with and without d_in, against naive; d_weight and d_bias start from random values
// (they accumulate), out and d_in from NaN (they are assigned). Each call gets exactly the scratch its
// *_scratch function declares, and must stay inside it; or, given `reused`, that workspace.
void compare_conv(const Conv2dShape& s, int n, std::uint64_t seed, const std::string& name, Worst& worst,
                  Workspace* reused = nullptr) {
  Rng rng(seed);
  const std::size_t in_size = std::size_t(n) * s.in_c * s.in_h * s.in_w;
  const std::size_t out_size = std::size_t(n) * s.out_c * s.out_h() * s.out_w();
  const auto in = random_vector(in_size, rng), weight = random_vector(s.weight_count(), rng);
  const auto bias = random_vector(std::size_t(s.out_c), rng), d_out = random_vector(out_size, rng);
  const auto d_weight0 = random_vector(s.weight_count(), rng),
             d_bias0 = random_vector(std::size_t(s.out_c), rng);
  const float nan = std::numeric_limits<float>::quiet_NaN();

  std::vector<float> out_ref(out_size, nan), out_relu_ref(out_size, nan), naive_relu(out_size, nan);
  naive::conv2d_forward(out_ref.data(), in.data(), weight.data(), bias.data(), s, n);
  out_relu_ref = out_ref;
  relu_forward(out_relu_ref.data(), out_relu_ref.data(), out_size);
  naive::conv2d_forward(naive_relu.data(), in.data(), weight.data(), bias.data(), s, n, true);
  EXPECT_TRUE(naive_relu == out_relu_ref) << name << ": the naive ReLU differs from relu_forward";
  std::vector<float> d_in_ref(in_size, nan), dw_ref = d_weight0, db_ref = d_bias0;
  naive::conv2d_backward(d_in_ref.data(), dw_ref.data(), db_ref.data(), d_out.data(), in.data(),
                         weight.data(), s, n);

  // The input on a cache line (the kernels then read whole aligned rows when they can) and one float off.
  for (int shift : {0, 1}) {
    AlignedFloats placed(in_size + 1, nan);
    std::copy(in.begin(), in.end(), placed.begin() + shift);
    const float* x = placed.data() + shift;
    const std::string at = name + (shift ? " (input off the cache line)" : "");

    test::GuardedScratch forward_scratch(conv2d_forward_scratch(s, n));
    test::GuardedScratch backward_scratch(conv2d_backward_scratch(s, n));
    auto forward = [&] { return reused ? reused->scratch() : forward_scratch.scratch(); };
    auto backward = [&] { return reused ? reused->scratch() : backward_scratch.scratch(); };
    std::vector<float> out(out_size, nan);
    conv2d_forward(out.data(), x, weight.data(), bias.data(), s, n, forward());
    worst.add(relative_difference(out, out_ref), at + " out");
    // The fused ReLU: the same outputs with every non-positive one (and a NaN) stored as 0.
    std::vector<float> out_relu(out_size, nan);
    conv2d_forward(out_relu.data(), x, weight.data(), bias.data(), s, n, forward(), true);
    worst.add(relative_difference(out_relu, out_relu_ref), at + " out with ReLU");
    for (std::size_t i = 0; i < out_size; ++i)
      if (out_relu_ref[i] == 0.0f) {
        ASSERT_EQ(out_relu[i], 0.0f) << at << " ReLU output " << i;
      }

    std::vector<float> d_in(in_size, nan), dw = d_weight0, db = d_bias0;
    conv2d_backward(d_in.data(), dw.data(), db.data(), d_out.data(), x, weight.data(), s, n, backward());
    worst.add(relative_difference(d_in, d_in_ref), at + " d_in");
    worst.add(relative_difference(dw, dw_ref), at + " d_weight");
    worst.add(relative_difference(db, db_ref), at + " d_bias");

    std::vector<float> dw2 = d_weight0, db2 = d_bias0;
    conv2d_backward(nullptr, dw2.data(), db2.data(), d_out.data(), x, weight.data(), s, n, backward());
    worst.add(relative_difference(dw2, dw_ref), at + " d_weight without d_in");
    EXPECT_TRUE(forward_scratch.guard_intact()) << at << ": forward wrote past conv2d_forward_scratch()";
    EXPECT_TRUE(backward_scratch.guard_intact()) << at << ": backward wrote past conv2d_backward_scratch()";
  }
}

std::string describe(const Conv2dShape& s, int n) {
  return std::to_string(n) + "x" + std::to_string(s.in_c) + "@" + std::to_string(s.in_h) + "x" +
         std::to_string(s.in_w) + "->" + std::to_string(s.out_c) + " k" + std::to_string(s.k) +
         (s.table ? " table" : "");
}

TEST_F(AtEveryLevel, ConvolutionMatchesNaiveOnEveryPath) {
  const ConnectionTable table_i = lenet5_c3_table();
  ConnectionTable wide_table = full_connection_table(3, 32);
  wide_table.inputs[5] = {2, 0};  // a table over 32 maps: two map vectors at AVX-512
  const std::vector<Conv2dShape> shapes = {
      {1, 32, 32, 6, 5, nullptr},       // C1: vectors along the row, 28 = 16 + 12 lanes
      {3, 9, 48, 7, 5, nullptr},        // rows of 48 (two chunks, aligned when the input is), 7 maps
      {2, 8, 16, 6, 5, nullptr},        // rows of 16: one aligned vector and zeros past the row
      {6, 14, 14, 16, 5, nullptr},      // C3 full: vectors across the maps; input gradient along rows
      {6, 14, 14, 16, 5, &table_i},     // C3, Table I
      {6, 9, 11, 16, 5, &table_i},      // odd plane, tiles shifted back at the edges
      {3, 12, 40, 32, 5, &wide_table},  // input rows wider than 16: input gradient through im2col
      {2, 40, 9, 7, 5, nullptr},        // 7 maps: the last block of maps is partial
      {4, 7, 8, 5, 3, nullptr},         // 3×3 kernel: weight gradient through im2col
      {2, 6, 6, 16, 2, nullptr},        // 2×2 kernel, 16 maps on a 5×5 output
      {5, 6, 20, 9, 5, nullptr},        // 2-row output, 16-wide row
      {16, 5, 5, 120, 5, nullptr},      // C5: 1×1 output, a product
      {6, 5, 5, 16, 5, &table_i},       // 1×1 output through a table: products of the dense weights
      {1, 5, 5, 1, 5, nullptr},         // one output pixel, one map
  };
  Worst worst;
  for (simd::Level level : levels()) {
    simd::set_level(level);
    std::uint64_t seed = 1;
    for (const Conv2dShape& s : shapes)
      for (int n : {1, 3}) compare_conv(s, n, seed++, level_tag(level) + describe(s, n), worst);
  }
  worst.print("conv2d");
}

// A workspace outlives a call, and serves every layer: a NaN that one call leaves there (a diverged run)
// must not reach the results of the next.
TEST_F(AtEveryLevel, ConvolutionScratchLeftWithNaNDoesNotLeak) {
  const ConnectionTable table_i = lenet5_c3_table();
  const Conv2dShape shapes[] = {
      {1, 32, 32, 6, 5, nullptr}, {6, 14, 14, 16, 5, nullptr}, {6, 14, 14, 16, 5, &table_i}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (simd::Level level : levels()) {
    simd::set_level(level);
    for (const Conv2dShape& s : shapes) {
      const int n = 2;
      const std::size_t in_size = std::size_t(n) * s.in_c * s.in_h * s.in_w;
      const std::size_t out_size = std::size_t(n) * s.out_c * s.out_h() * s.out_w();
      std::vector<float> out(out_size), d_in(in_size), dw(s.weight_count()), db(std::size_t(s.out_c));
      const std::vector<float> all_nan_in(in_size, nan), all_nan_out(out_size, nan);
      const std::vector<float> nan_w(s.weight_count(), nan), nan_b(std::size_t(s.out_c), nan);
      Workspace workspace(std::max(conv2d_forward_scratch(s, n), conv2d_backward_scratch(s, n)));
      conv2d_forward(out.data(), all_nan_in.data(), nan_w.data(), nan_b.data(), s, n, workspace.scratch());
      conv2d_backward(d_in.data(), dw.data(), db.data(), all_nan_out.data(), all_nan_in.data(), nan_w.data(),
                      s, n, workspace.scratch());
      Worst worst;
      compare_conv(s, n, 77, level_tag(level) + "after NaN " + describe(s, n), worst, &workspace);
    }
  }
}

// ---- squashing ----

// ---- the network's input ----

// Every pixel of an image of any size up to 32×32 lands centred at −0.1 + 1.275·p/255, the rest at −0.1,
// whether a row is shorter than a vector, a multiple of one, or neither.
TEST_F(AtEveryLevel, ImageToInputMatchesTheFormulaForEverySize) {
  Rng rng(21);
  for (simd::Level level : levels()) {
    simd::set_level(level);
    for (auto [rows, cols] :
         {std::pair{28, 28}, {32, 32}, {20, 20}, {5, 7}, {1, 1}, {17, 17}, {30, 16}, {3, 31}}) {
      std::vector<std::uint8_t> image(std::size_t(rows) * cols);
      for (auto& p : image) p = std::uint8_t(rng.below(256));
      std::vector<float> out(kInputSize, std::numeric_limits<float>::quiet_NaN());
      image_to_input(out.data(), image.data(), rows, cols);
      const int top = (kInputSide - rows) / 2, left = (kInputSide - cols) / 2;
      for (int y = 0; y < kInputSide; ++y)
        for (int x = 0; x < kInputSide; ++x) {
          const bool inside = y >= top && y < top + rows && x >= left && x < left + cols;
          const double want =
              inside ? kInputBackground + (kInputInk - kInputBackground) *
                                              double(image[std::size_t(y - top) * cols + x - left]) / 255.0
                     : kInputBackground;
          ASSERT_NEAR(out[std::size_t(y) * kInputSide + x], want, 1e-6)
              << level_tag(level) << rows << "x" << cols << " at " << y << "," << x;
        }
    }
  }
}

TEST_F(AtEveryLevel, ScaledTanhMatchesDoublePrecisionAndKeepsNaN) {
  std::vector<float> a;
  for (float x = -12.0f; x <= 12.0f; x += 0.00937f) a.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-38f, -1e-20f, 0.0937f, -0.0938f, 1e7f, -3.4e38f}) a.push_back(x);
  for (simd::Level level : levels()) {
    simd::set_level(level);
    for (std::size_t count : {a.size(), std::size_t(1), std::size_t(17)}) {  // and the tail of a vector
      std::vector<float> out(count, std::numeric_limits<float>::quiet_NaN());
      scaled_tanh_forward(out.data(), a.data(), count);
      double worst = 0;
      for (std::size_t i = 0; i < count; ++i) {
        const double exact = double(kTanhAmplitude) * std::tanh(double(kTanhSlope) * double(a[i]));
        worst = std::max(worst, std::abs(out[i] - exact) / std::max(std::abs(exact), 1e-30));
        ASSERT_EQ(std::signbit(out[i]), std::signbit(a[i])) << a[i];
      }
      EXPECT_LT(worst, 1e-6) << level_tag(level) << count << " values";
    }
    const float nan_in[3] = {1.0f, std::numeric_limits<float>::quiet_NaN(), -1.0f};
    float nan_out[3];
    scaled_tanh_forward(nan_out, nan_in, 3);
    EXPECT_TRUE(std::isnan(nan_out[1])) << level_tag(level) << "a NaN pre-activation must stay NaN";
    EXPECT_NEAR(nan_out[0], 1.0f, 1e-4);
  }
}

// ---- max pooling ----

// The defining loops (maxpool.h keeps only the fast kernels): the first of the 2×2 block in row-major
// order wins ties; d_in is zero except at the winners.
void reference_maxpool_forward(float* out, std::int32_t* argmax, const float* in, const PoolShape& s, int n) {
  const int oh = s.out_h(), ow = s.out_w();
  for (std::size_t plane = 0; plane < std::size_t(n) * s.c; ++plane)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        const float* p = in + plane * s.in_h * s.in_w;
        int best = (2 * y) * s.in_w + 2 * x;
        for (int idx : {best + 1, best + s.in_w, best + s.in_w + 1})
          if (p[idx] > p[best]) best = idx;
        out[plane * oh * ow + std::size_t(y) * ow + x] = p[best];
        argmax[plane * oh * ow + std::size_t(y) * ow + x] = best;
      }
}

void reference_maxpool_backward(float* d_in, const float* d_out, const std::int32_t* argmax,
                                const PoolShape& s, int n) {
  const std::size_t in_hw = std::size_t(s.in_h) * s.in_w, ohw = std::size_t(s.out_h()) * s.out_w();
  std::fill(d_in, d_in + std::size_t(n) * s.c * in_hw, 0.0f);
  for (std::size_t plane = 0; plane < std::size_t(n) * s.c; ++plane)
    for (std::size_t t = 0; t < ohw; ++t)
      d_in[plane * in_hw + argmax[plane * ohw + t]] += d_out[plane * ohw + t];
}

TEST_F(AtEveryLevel, MaxPoolMatchesTheDefinitionIncludingTies) {
  // Rows of up to 10 pool two output rows per vector at AVX-512, across the planes' edges (S4: 5 rows a
  // plane), and the last row of an odd count alone: {16, 10, 10}, {2, 2, 2}, {3, 6, 8}, {1, 4, 10}.
  const PoolShape shapes[] = {{6, 28, 28}, {16, 10, 10}, {3, 7, 9},  {2, 2, 2}, {1, 5, 70},
                              {4, 40, 34}, {3, 6, 8},    {1, 4, 10}, {2, 4, 12}};
  for (simd::Level level : levels()) {
    simd::set_level(level);
    Rng rng(5);
    for (const PoolShape& s : shapes)
      for (int n : {1, 3}) {
        const std::size_t in_size = std::size_t(n) * s.c * s.in_h * s.in_w;
        const std::size_t out_size = std::size_t(n) * s.c * s.out_h() * s.out_w();
        std::vector<float> in = random_vector(in_size, rng);
        for (float& v : in) v = std::round(v * 2.0f);  // a few levels only: ties are common
        const auto d_out = random_vector(out_size, rng);
        std::vector<float> out(out_size), out_ref(out_size);
        std::vector<std::int32_t> arg(out_size), arg_ref(out_size);
        maxpool_forward(out.data(), arg.data(), in.data(), s, n);
        reference_maxpool_forward(out_ref.data(), arg_ref.data(), in.data(), s, n);
        const std::string name = level_tag(level) + std::to_string(n) + "x" + std::to_string(s.c) + "@" +
                                 std::to_string(s.in_h) + "x" + std::to_string(s.in_w);
        EXPECT_EQ(out, out_ref) << name;
        EXPECT_EQ(arg, arg_ref) << name;
        std::vector<float> d_in(in_size, std::numeric_limits<float>::quiet_NaN()), d_in_ref(in_size);
        maxpool_backward(d_in.data(), d_out.data(), arg.data(), s, n);
        reference_maxpool_backward(d_in_ref.data(), d_out.data(), arg_ref.data(), s, n);
        EXPECT_EQ(d_in, d_in_ref) << name;
      }
  }
}

// ---- trainable subsampling (the 1998 S2, S4) ----

// The defining loops (subsample.h keeps only the fast kernels), summed in double.
void reference_subsample(std::vector<float>& out, std::vector<float>* d_in, std::vector<float>& d_coef,
                         std::vector<float>& d_bias, const std::vector<float>& in,
                         const std::vector<float>& coef, const std::vector<float>& bias,
                         const std::vector<float>& d_out, const PoolShape& s, int n) {
  const int oh = s.out_h(), ow = s.out_w();
  if (d_in) std::fill(d_in->begin(), d_in->end(), 0.0f);
  for (int b = 0; b < n; ++b)
    for (int c = 0; c < s.c; ++c) {
      const std::size_t ip = (std::size_t(b) * s.c + c) * s.in_h * s.in_w,
                        op = (std::size_t(b) * s.c + c) * oh * ow;
      double gc = 0, gb = 0;
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          const std::size_t at = ip + std::size_t(2 * y) * s.in_w + 2 * x;
          const double sum = double(in[at]) + in[at + 1] + in[at + s.in_w] + in[at + s.in_w + 1];
          const float g = d_out[op + y * ow + x];
          out[op + y * ow + x] = float(coef[c] * sum + bias[c]);
          gc += g * sum;
          gb += g;
          if (d_in)
            for (std::size_t k : {at, at + 1, at + s.in_w, at + s.in_w + 1}) (*d_in)[k] = g * coef[c];
        }
      d_coef[c] += float(gc);
      d_bias[c] += float(gb);
    }
}

TEST_F(AtEveryLevel, SubsampleMatchesTheDefinition) {
  const PoolShape shapes[] = {{6, 28, 28}, {16, 10, 10}, {3, 7, 9}, {2, 2, 2}, {1, 5, 70}, {4, 40, 34}};
  Worst worst;
  for (simd::Level level : levels()) {
    simd::set_level(level);
    Rng rng(9);
    for (const PoolShape& s : shapes)
      for (int n : {1, 3}) {
        const std::size_t in_size = std::size_t(n) * s.c * s.in_h * s.in_w;
        const std::size_t out_size = std::size_t(n) * s.c * s.out_h() * s.out_w();
        const auto in = random_vector(in_size, rng), d_out = random_vector(out_size, rng);
        const auto coef = random_vector(std::size_t(s.c), rng), bias = random_vector(std::size_t(s.c), rng);
        const auto d_coef0 = random_vector(std::size_t(s.c), rng),
                   d_bias0 = random_vector(std::size_t(s.c), rng);
        std::vector<float> out(out_size), out_ref(out_size),
            d_in(in_size, std::numeric_limits<float>::quiet_NaN());
        std::vector<float> d_in_ref(in_size), d_coef = d_coef0, d_bias = d_bias0, d_coef_ref = d_coef0,
                                              d_bias_ref = d_bias0;
        subsample_forward(out.data(), in.data(), coef.data(), bias.data(), s, n);
        subsample_backward(d_in.data(), d_coef.data(), d_bias.data(), d_out.data(), in.data(), coef.data(), s,
                           n);
        reference_subsample(out_ref, &d_in_ref, d_coef_ref, d_bias_ref, in, coef, bias, d_out, s, n);
        const std::string name = level_tag(level) + std::to_string(n) + "x" + std::to_string(s.c) + "@" +
                                 std::to_string(s.in_h) + "x" + std::to_string(s.in_w);
        worst.add(relative_difference(out, out_ref), name + " out");
        worst.add(relative_difference(d_in, d_in_ref), name + " d_in");
        worst.add(relative_difference(d_coef, d_coef_ref), name + " d_coef");
        worst.add(relative_difference(d_bias, d_bias_ref), name + " d_bias");
        std::vector<float> d_coef2 = d_coef0,
                           d_bias2 = d_bias0;  // without d_in, the same parameter gradients
        subsample_backward(nullptr, d_coef2.data(), d_bias2.data(), d_out.data(), in.data(), coef.data(), s,
                           n);
        worst.add(relative_difference(d_coef2, d_coef_ref), name + " d_coef without d_in");
      }
  }
  worst.print("subsample");
}

// ---- the training step ----

// The engine sizes every buffer when it is made (activations, and the kernels' scratch in each thread's
// workspace): after the first (which starts the engine's threads), a training step — forward, loss, backward
// over threads, reduction, optimiser — allocates nothing.
TEST(TrainingStep, AllocatesNothingOnceWarm) {
  Dataset data;
  data.count = 256;
  data.rows = data.cols = 28;
  Rng rng(3);
  data.images.resize(std::size_t(data.count) * 28 * 28);
  data.labels.resize(std::size_t(data.count));
  for (auto& p : data.images) p = std::uint8_t(rng.below(256));
  for (auto& l : data.labels) l = std::uint8_t(rng.below(10));
  std::vector<int> order(std::size_t(data.count));
  for (int i = 0; i < data.count; ++i) order[std::size_t(i)] = i;
  for (Arch arch : {Arch::Lenet5, Arch::Lenet5_1998}) {
    Lenet5 model(arch);
    model.init(rng);
    allocations = 0;
    counting = true;
    Engine engine(model, 2, 64);  // allocates: the counter must see that
    counting = false;
    EXPECT_GT(allocations.load(), 0) << "the allocation counter counts nothing";
    Optimizer optimizer(OptimizerConfig{}, model.params.size());
    auto step = [&](int first) {
      engine.accumulate_gradients(model, data, order.data() + first, 64, model.default_loss(), kDefaultMapJ,
                                  1.0f / 64);
      optimizer.step(model.params, model.grads, 0.001f);
      model.zero_grad();
    };
    step(0);  // the engine starts its thread team here
    allocations = 0;
    counting = true;
    step(64);
    step(128);
    step(192);
    counting = false;
    EXPECT_EQ(allocations.load(), 0) << arch_name(arch) << ": allocations in three training steps";
  }
}

// The picture pipeline fits the paper's lighting with AVX-512 sums where the CPU has them (src/ink.cpp),
// which must round exactly as the scalar sums do: the ink map is the same bits at every level, for a small
// picture (whose background window is scanned directly) and a larger one (scanned by a queue).
TEST_F(AtEveryLevel, InkMapIsTheSameBitsAtEveryLevel) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> noise(-6, 6);
  for (int side : {28, 150}) {
    GreyImage picture;
    picture.width = side;
    picture.height = side + side / 4;
    picture.source = "ring";
    for (int y = 0; y < picture.height; ++y)
      for (int x = 0; x < picture.width; ++x) {
        const double d = std::hypot(x - 0.5 * picture.width, y - 0.5 * picture.height) / side;
        const int paper = 210 - 40 * x / side + noise(rng);  // a lighting gradient and sensor noise
        picture.pixels.push_back(std::uint8_t(d > 0.22 && d < 0.32 ? 40 + noise(rng) : paper));
      }
    std::vector<InkMap> maps;
    for (simd::Level level : levels()) {
      simd::set_level(level);
      maps.push_back(extract_ink(picture));
    }
    const auto inked =
        std::count_if(maps[0].ink.begin(), maps[0].ink.end(), [](float v) { return v > 0.5f; });
    EXPECT_GT(inked, side * side / 20) << "side " << side << ": the ring is found";
    for (std::size_t k = 1; k < maps.size(); ++k) {
      EXPECT_TRUE(maps[k].ink == maps[0].ink) << "side " << side << ", " << level_tag(levels()[k]);
      EXPECT_EQ(maps[k].threshold, maps[0].threshold);
    }
  }
}

}  // namespace
}  // namespace lenet

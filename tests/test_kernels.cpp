// Every fast kernel against its naive reference (STYLE rule 7) on random shapes and seeds: odd sizes,
// dimensions that are not multiples of 4, size 1, connection tables, 1×1 outputs, batch 1 and 5.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "helpers/gradcheck.h"  // random_vector
#include "lenet/conv2d.h"
#include "lenet/gemm.h"
#include "lenet/linear.h"
#include "lenet/rng.h"

namespace lenet {
namespace {

using test::random_vector;

// Fast kernels sum in float (blocked, vectorised, FMA), the naive ones in double; the difference is
// relative to the size of the result, max |reference|.
constexpr double kTolerance = 1e-5;

struct Worst {
  double rel = 0;
  std::string where;
};

// Worst |fast − ref| / max |ref| over one buffer; fails when above tolerance, and remembers the worst case.
void expect_close(const std::vector<float>& fast, const std::vector<float>& ref, const std::string& what,
                  Worst& worst) {
  ASSERT_EQ(fast.size(), ref.size()) << what;
  double scale = 0, diff = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    scale = std::max(scale, double(std::abs(ref[i])));
    const double d = std::abs(double(fast[i]) - ref[i]);
    if (d > diff || std::isnan(d)) diff = d, at = i;
  }
  const double rel = diff / std::max(scale, 1e-30);
  EXPECT_LE(rel, kTolerance) << what << ": worst at " << at << ", fast " << fast[at] << " vs naive "
                             << ref[at] << " (scale " << scale << ")";
  if (!(rel <= worst.rel)) worst = {rel, what};
}

void report(const char* kernel, const Worst& worst) {
  std::printf("[kernels] %s: worst relative difference %.3g (%s)\n", kernel, worst.rel, worst.where.c_str());
}

// ---- matrix products ----

using Gemm = void (*)(float*, const float*, const float*, int, int, int);

void compare_gemm(Gemm fast, Gemm ref, const char* name, int m, int n, int k, Rng& rng, Worst& worst) {
  const std::vector<float> a = random_vector(std::size_t(m) * k, rng);
  const std::vector<float> b = random_vector(std::size_t(k) * n, rng);
  const std::vector<float> c0 = random_vector(std::size_t(m) * n, rng);  // products accumulate into C
  std::vector<float> c_fast = c0, c_ref = c0;
  fast(c_fast.data(), a.data(), b.data(), m, n, k);
  ref(c_ref.data(), a.data(), b.data(), m, n, k);
  expect_close(
      c_fast, c_ref,
      std::string(name) + " m" + std::to_string(m) + " n" + std::to_string(n) + " k" + std::to_string(k),
      worst);
}

struct GemmShape {
  int m, n, k;
};

std::vector<GemmShape> gemm_shapes() {
  // Edges first: size 1 in each dimension, exactly 4 and around it, then random shapes.
  std::vector<GemmShape> shapes = {{1, 1, 1},    {1, 7, 3},      {5, 1, 9},     {3, 6, 1},
                                   {4, 4, 4},    {3, 5, 7},      {5, 3, 2},     {8, 8, 8},
                                   {9, 13, 6},   {4, 1, 4},      {1, 4, 17},    {17, 4, 1},
                                   {6, 150, 25}, {16, 100, 150}, {120, 5, 400}, {33, 31, 29}};
  Rng rng(2024);
  for (int i = 0; i < 40; ++i)
    shapes.push_back({1 + int(rng.below(40)), 1 + int(rng.below(40)), 1 + int(rng.below(40))});
  return shapes;
}

TEST(GemmKernels, MatchNaiveOnRandomShapes) {
  Worst nn, nt, tn;
  Rng rng(7);
  for (const GemmShape& s : gemm_shapes()) {
    compare_gemm(gemm_nn, naive::gemm_nn, "gemm_nn", s.m, s.n, s.k, rng, nn);
    compare_gemm(gemm_nt, naive::gemm_nt, "gemm_nt", s.m, s.n, s.k, rng, nt);
    compare_gemm(gemm_tn, naive::gemm_tn, "gemm_tn", s.m, s.n, s.k, rng, tn);
  }
  report("gemm_nn", nn);
  report("gemm_nt", nt);
  report("gemm_tn", tn);
}

// The naive products themselves, on a case small enough to write out: A (2×3), B (3×2).
TEST(GemmKernels, NaiveProductsByHand) {
  const float a[6] = {1, 2, 3, 4, 5, 6};     // [[1 2 3] [4 5 6]]
  const float b[6] = {7, 8, 9, 10, 11, 12};  // [[7 8] [9 10] [11 12]]
  float c[4] = {1, 1, 1, 1};
  naive::gemm_nn(c, a, b, 2, 2, 3);
  EXPECT_EQ(std::vector<float>(c, c + 4), (std::vector<float>{59, 65, 140, 155}));  // 1 + A·B
  // A·Aᵀ as gemm_nt(A, A), and Aᵀ·A as gemm_tn(A, A).
  float aat[4] = {0, 0, 0, 0}, ata[9] = {};
  naive::gemm_nt(aat, a, a, 2, 2, 3);
  EXPECT_EQ(std::vector<float>(aat, aat + 4), (std::vector<float>{14, 32, 32, 77}));
  naive::gemm_tn(ata, a, a, 3, 3, 2);
  EXPECT_EQ(std::vector<float>(ata, ata + 9), (std::vector<float>{17, 22, 27, 22, 29, 36, 27, 36, 45}));
}

// ---- convolution ----

struct ConvBuffers {
  std::vector<float> out, d_in, d_weight, d_bias;
};

// Forward and backward through one implementation; d_weight and d_bias start from the given values so
// the accumulation is compared too, d_in from garbage so the assignment is.
ConvBuffers run_conv(bool fast, const Conv2dShape& s, int n, const std::vector<float>& in,
                     const std::vector<float>& weight, const std::vector<float>& bias,
                     const std::vector<float>& d_out, const std::vector<float>& d_weight0,
                     const std::vector<float>& d_bias0) {
  ConvBuffers r;
  r.out.assign(d_out.size(), std::numeric_limits<float>::quiet_NaN());
  r.d_in.assign(in.size(), std::numeric_limits<float>::quiet_NaN());
  r.d_weight = d_weight0;
  r.d_bias = d_bias0;
  if (fast) {
    Workspace workspace(std::max(conv2d_forward_scratch(s, n), conv2d_backward_scratch(s, n)));
    conv2d_forward(r.out.data(), in.data(), weight.data(), bias.data(), s, n, workspace.scratch());
    conv2d_backward(r.d_in.data(), r.d_weight.data(), r.d_bias.data(), d_out.data(), in.data(), weight.data(),
                    s, n, workspace.scratch());
  } else {
    naive::conv2d_forward(r.out.data(), in.data(), weight.data(), bias.data(), s, n);
    naive::conv2d_backward(r.d_in.data(), r.d_weight.data(), r.d_bias.data(), d_out.data(), in.data(),
                           weight.data(), s, n);
  }
  return r;
}

struct ConvWorst {
  Worst out, d_in, d_weight, d_bias;
};

void compare_conv(const Conv2dShape& s, int n, std::uint64_t seed, const std::string& name,
                  ConvWorst& worst) {
  Rng rng(seed);
  const std::size_t in_size = std::size_t(n) * s.in_c * s.in_h * s.in_w;
  const std::size_t out_size = std::size_t(n) * s.out_c * s.out_h() * s.out_w();
  const std::vector<float> in = random_vector(in_size, rng);
  const std::vector<float> weight = random_vector(s.weight_count(), rng);
  const std::vector<float> bias = random_vector(std::size_t(s.out_c), rng);
  const std::vector<float> d_out = random_vector(out_size, rng);
  const std::vector<float> d_weight0 = random_vector(s.weight_count(), rng);
  const std::vector<float> d_bias0 = random_vector(std::size_t(s.out_c), rng);
  const ConvBuffers f = run_conv(true, s, n, in, weight, bias, d_out, d_weight0, d_bias0);
  const ConvBuffers r = run_conv(false, s, n, in, weight, bias, d_out, d_weight0, d_bias0);
  expect_close(f.out, r.out, name + " out", worst.out);
  expect_close(f.d_in, r.d_in, name + " d_in", worst.d_in);
  expect_close(f.d_weight, r.d_weight, name + " d_weight", worst.d_weight);
  expect_close(f.d_bias, r.d_bias, name + " d_bias", worst.d_bias);

  // Without d_in (C1 needs no input gradient) the parameter gradients must not change.
  std::vector<float> d_weight = d_weight0, d_bias = d_bias0;
  Workspace workspace(conv2d_backward_scratch(s, n));
  conv2d_backward(nullptr, d_weight.data(), d_bias.data(), d_out.data(), in.data(), weight.data(), s, n,
                  workspace.scratch());
  expect_close(d_weight, f.d_weight, name + " d_weight without d_in", worst.d_weight);
  expect_close(d_bias, f.d_bias, name + " d_bias without d_in", worst.d_bias);
}

std::string describe(const Conv2dShape& s, int n) {
  return std::to_string(n) + "x" + std::to_string(s.in_c) + "@" + std::to_string(s.in_h) + "x" +
         std::to_string(s.in_w) + "->" + std::to_string(s.out_c) + "@" + std::to_string(s.out_h()) + "x" +
         std::to_string(s.out_w()) + " k" + std::to_string(s.k) + (s.table ? " table" : "");
}

// A random connection table: each output map reads a random non-empty subset of the inputs, in random
// order (the compact weights follow the table's order, whatever it is).
ConnectionTable random_table(int in_c, int out_c, Rng& rng) {
  ConnectionTable t;
  t.inputs.resize(std::size_t(out_c));
  for (auto& row : t.inputs) {
    std::vector<int> maps(static_cast<std::size_t>(in_c));
    for (int i = 0; i < in_c; ++i) maps[std::size_t(i)] = i;
    shuffle(maps.data(), maps.size(), rng);
    maps.resize(1 + rng.below(std::uint32_t(in_c)));
    row = maps;
  }
  return t;
}

void report(const char* kernel, const ConvWorst& w) {
  std::printf("[kernels] %s: worst relative difference out %.3g, d_in %.3g, d_weight %.3g, d_bias %.3g\n",
              kernel, w.out.rel, w.d_in.rel, w.d_weight.rel, w.d_bias.rel);
}

TEST(Conv2dKernels, MatchNaiveOnRandomShapes) {
  ConvWorst worst;
  const int kernels[] = {1, 2, 3, 5};
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    Rng rng(seed * 7919);
    Conv2dShape s;
    s.in_c = 1 + int(rng.below(5));
    s.out_c = 1 + int(rng.below(9));
    s.k = kernels[rng.below(4)];
    s.in_h = s.k + int(rng.below(9));
    s.in_w = s.k + int(rng.below(9));
    const int n = 1 + int(rng.below(3));
    ConnectionTable table;
    if (seed % 2 == 0) {  // every other shape through a random connection table
      table = random_table(s.in_c, s.out_c, rng);
      s.table = &table;
    }
    compare_conv(s, n, seed, describe(s, n), worst);
  }
  report("conv2d (random shapes)", worst);
}

TEST(Conv2dKernels, MatchNaiveOnLenetShapes) {
  ConvWorst worst;
  const ConnectionTable table_i = lenet5_c3_table();
  for (int n : {1, 5}) {
    const Conv2dShape shapes[] = {
        {1, 32, 32, 6, 5, nullptr},    // C1
        {6, 14, 14, 16, 5, &table_i},  // C3, Table I
        {6, 14, 14, 16, 5, nullptr},   // C3, full
        {6, 9, 11, 16, 5, &table_i},   // Table I on an odd, non-square plane
        {16, 5, 5, 120, 5, nullptr},   // C5: 1×1 output
        {6, 5, 5, 16, 5, &table_i},    // Table I with a 1×1 output
        {3, 1, 1, 4, 1, nullptr},      // 1×1 kernel on a 1×1 plane
    };
    for (const Conv2dShape& s : shapes) compare_conv(s, n, 100 + std::uint64_t(n), describe(s, n), worst);
  }
  report("conv2d (LeNet shapes, batch 1 and 5)", worst);
}

// The naive convolution itself on a case small enough to compute by hand.
TEST(Conv2dKernels, NaiveByHand) {
  // One 3×3 input, one 2×2 kernel, bias 0.5 -> 2×2 output.
  const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 0, 0, -1};  // x[y][x] − x[y+1][x+1] = −4 everywhere
  const float b[1] = {0.5f};
  const Conv2dShape s{1, 3, 3, 1, 2, nullptr};
  float out[4];
  naive::conv2d_forward(out, in, w, b, s, 1);
  for (float v : out) EXPECT_EQ(v, -3.5f);
  const float d_out[4] = {1, 1, 1, 1};
  float d_in[9], d_w[4] = {}, d_b[1] = {};
  naive::conv2d_backward(d_in, d_w, d_b, d_out, in, w, s, 1);
  EXPECT_EQ(d_b[0], 4.0f);
  EXPECT_EQ(std::vector<float>(d_w, d_w + 4),
            (std::vector<float>{12, 16, 24, 28}));  // sums of the 2×2 windows
  EXPECT_EQ(std::vector<float>(d_in, d_in + 9), (std::vector<float>{1, 1, 0, 1, 0, -1, 0, -1, -1}));
}

// ---- full connection ----

TEST(LinearKernels, MatchNaiveOnRandomShapes) {
  Worst out_w, d_in_w, d_weight_w, d_bias_w;
  std::vector<GemmShape> shapes = {{1, 1, 1}, {1, 84, 10}, {5, 120, 84}, {3, 5, 4}, {4, 4, 4}, {7, 1, 13}};
  Rng shape_rng(99);
  for (int i = 0; i < 20; ++i)
    shapes.push_back(
        {1 + int(shape_rng.below(6)), 1 + int(shape_rng.below(40)), 1 + int(shape_rng.below(40))});
  for (std::size_t c = 0; c < shapes.size(); ++c) {
    const int n = shapes[c].m, in_f = shapes[c].n, out_f = shapes[c].k;
    Rng rng(c + 1);
    const std::vector<float> in = random_vector(std::size_t(n) * in_f, rng);
    const std::vector<float> weight = random_vector(std::size_t(out_f) * in_f, rng);
    const std::vector<float> bias = random_vector(std::size_t(out_f), rng);
    const std::vector<float> d_out = random_vector(std::size_t(n) * out_f, rng);
    const std::vector<float> d_weight0 = random_vector(weight.size(), rng),
                             d_bias0 = random_vector(bias.size(), rng);
    std::vector<float> out_f1(d_out.size()), out_r(d_out.size());
    std::vector<float> d_in_f(in.size(), std::numeric_limits<float>::quiet_NaN()), d_in_r = d_in_f;
    std::vector<float> d_weight_f = d_weight0, d_weight_r = d_weight0, d_bias_f = d_bias0, d_bias_r = d_bias0;
    linear_forward(out_f1.data(), in.data(), weight.data(), bias.data(), in_f, out_f, n);
    naive::linear_forward(out_r.data(), in.data(), weight.data(), bias.data(), in_f, out_f, n);
    linear_backward(d_in_f.data(), d_weight_f.data(), d_bias_f.data(), d_out.data(), in.data(), weight.data(),
                    in_f, out_f, n);
    naive::linear_backward(d_in_r.data(), d_weight_r.data(), d_bias_r.data(), d_out.data(), in.data(),
                           weight.data(), in_f, out_f, n);
    const std::string name =
        "linear n" + std::to_string(n) + " " + std::to_string(in_f) + "->" + std::to_string(out_f);
    expect_close(out_f1, out_r, name + " out", out_w);
    expect_close(d_in_f, d_in_r, name + " d_in", d_in_w);
    expect_close(d_weight_f, d_weight_r, name + " d_weight", d_weight_w);
    expect_close(d_bias_f, d_bias_r, name + " d_bias", d_bias_w);
  }
  std::printf("[kernels] linear: worst relative difference out %.3g, d_in %.3g, d_weight %.3g, d_bias %.3g\n",
              out_w.rel, d_in_w.rel, d_weight_w.rel, d_bias_w.rel);
}

}  // namespace
}  // namespace lenet

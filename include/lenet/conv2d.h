// Valid 2-D convolution, stride 1, square kernel, with an optional connection table (the paper's C3).
// Buffers are batch-major NCHW. Weights are stored compactly: for each output map, the k×k kernels of
// the input maps it reads, in the table's order (a full table gives the usual (out_c, in_c, k, k)).
#pragma once
#include <cstddef>
#include <vector>

#include "lenet/workspace.h"

namespace lenet {

// inputs[o] lists the input maps that output map o reads.
struct ConnectionTable {
  std::vector<std::vector<int>> inputs;
};

ConnectionTable full_connection_table(int in_c, int out_c);
// LeCun et al. 1998, Table I: which S2 maps each C3 map reads (0-based).
ConnectionTable lenet5_c3_table();

struct Conv2dShape {
  int in_c = 1, in_h = 0, in_w = 0;
  int out_c = 1, k = 5;
  const ConnectionTable* table = nullptr;  // nullptr: every output map reads every input map

  int out_h() const { return in_h - k + 1; }
  int out_w() const { return in_w - k + 1; }
  std::size_t in_size() const { return std::size_t(in_c) * in_h * in_w; }          // floats per sample
  std::size_t out_size() const { return std::size_t(out_c) * out_h() * out_w(); }  // floats per sample
  int inputs_of(int o) const { return table ? int(table->inputs[o].size()) : in_c; }
  int input_map(int o, int j) const { return table ? table->inputs[o][j] : j; }
  int fan_in(int o) const { return inputs_of(o) * k * k; }  // inputs each unit of map o sums
  std::size_t weight_offset(int o) const;  // start of output map o's kernels in the compact weights
  std::size_t weight_count() const;        // compact weights, without biases
  std::size_t connections() const;         // multiply-adds per sample
};

// The fast kernels take their scratch (packed weights, padded planes, partial sums) from `scratch`, at
// least conv2d_<pass>_scratch(s, n) floats (for any simd level); nothing is allocated or kept between calls.
std::size_t conv2d_forward_scratch(const Conv2dShape& s, int n);
std::size_t conv2d_backward_scratch(const Conv2dShape& s, int n);
std::size_t conv2d_backward_hessian_scratch(const Conv2dShape& s, int n);

// in (n, in_c, in_h, in_w), weight (compact), bias (out_c) -> out (n, out_c, out_h, out_w).
// relu: each output goes through max(0, ·) as it is stored (the same values as relu_forward afterwards,
// without a second pass over the maps).
void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const Conv2dShape& s,
                    int n, Scratch scratch, bool relu = false);
// Assigns d_in (skipped when d_in is nullptr); adds into d_weight and d_bias.
void conv2d_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, const Conv2dShape& s, int n, Scratch scratch);

// Gauss–Newton second derivatives (the paper's Appendix C), the same pass with squared weights and
// squared inputs: d2_in = Σ w²·d2_out (assigned, skipped when nullptr); d2_weight += Σ d2_out·x²;
// d2_bias += Σ d2_out. Each kernel tap meets one input per output, so this is the exact diagonal of
// ½·Σ d2_out·out² in the weights and inputs.
void conv2d_backward_hessian(float* d2_in, float* d2_weight, float* d2_bias, const float* d2_out,
                             const float* in, const float* weight, const Conv2dShape& s, int n,
                             Scratch scratch);

namespace naive {
void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const Conv2dShape& s,
                    int n, bool relu = false);
void conv2d_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, const Conv2dShape& s, int n);
}  // namespace naive

}  // namespace lenet

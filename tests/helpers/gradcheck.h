// The one numerical gradient checker (STYLE rule 8): central differences summed in double, the worst
// absolute and relative error, and helpers that build smooth test points (projection loss, kink margins).
#pragma once
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "lenet/rng.h"
#include "lenet/subsample.h"  // PoolShape

namespace lenet::test {

struct GradCheckOptions {
  double h = 1e-3;  // half-width of the central difference
  // Relative errors are taken against max(|analytic|, |numeric|, floor, scale_floor · rms), rms being the
  // root mean square of the analytic values checked: a near-zero derivative is judged against the size of
  // its neighbours, so the float rounding of the forward pass (~ε·|out|/h) does not count as a failure.
  double floor = 1e-6;
  double scale_floor = 0.1;
  std::vector<std::size_t> indices;  // which values to perturb; empty: every one
};

struct GradCheckEntry {
  std::size_t index = 0;  // into the checked values
  double analytic = 0, numeric = 0;
  double abs_error = 0, rel_error = 0;
};

struct GradCheckResult {
  std::vector<GradCheckEntry> entries;  // one per perturbed value, in the order checked
  double max_abs = 0, max_rel = 0;
  std::size_t worst = 0;  // position in entries of the largest relative error
};

// values: what loss() reads (a layer's input or parameters), perturbed in place and restored.
// analytic[i]: the claimed ∂loss/∂values[i]. The step is the one actually taken in float,
// (float(x+h) − float(x−h)), so rounding of the perturbed value itself adds no error. loss() is called
// once more at the end, so the buffers it writes are left as at the unperturbed point.
GradCheckResult check_gradient(const std::function<double()>& loss, std::span<float> values,
                               std::span<const float> analytic, const GradCheckOptions& options = {});

// Prints "what: n values, worst rel .. abs .. at i (analytic .., numeric ..)" and fails when the worst
// relative error exceeds tolerance. Use as EXPECT_TRUE(gradient_ok(result, 1e-3, "conv2d d_in")).
::testing::AssertionResult gradient_ok(const GradCheckResult& result, double tolerance,
                                       std::string_view what);

// Uniform values in [lo, hi).
std::vector<float> random_vector(std::size_t count, Rng& rng, float lo = -1.0f, float hi = 1.0f);

// The random projection loss L = Σ r_i · out_i, in double: every output contributes, with ∂L/∂out = r.
double projection(std::span<const float> out, std::span<const float> r);

// ReLU kink: resamples every value with |x| < margin (uniform in [-1, 1)) until none is left.
void keep_off_zero(std::span<float> x, float margin, Rng& rng);

// Max-pool kink: resamples each 2×2 block of in (n, c, h, w) until its four values differ pairwise
// by more than margin, so a perturbation smaller than margin cannot change the winner.
void separate_pool_blocks(std::span<float> in, const PoolShape& s, int n, float margin, Rng& rng);

}  // namespace lenet::test

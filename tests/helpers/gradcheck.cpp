// Central-difference gradient checking in double, and the helpers that keep test points away from kinks.
// Used by every layer, loss and whole-model gradient test.
#include "helpers/gradcheck.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <string>

namespace lenet::test {

GradCheckResult check_gradient(const std::function<double()>& loss, std::span<float> values,
                               std::span<const float> analytic, const GradCheckOptions& options) {
  assert(analytic.size() == values.size());
  std::vector<std::size_t> indices = options.indices;
  if (indices.empty())
    for (std::size_t i = 0; i < values.size(); ++i) indices.push_back(i);

  double sum_sq = 0;
  for (std::size_t i : indices) sum_sq += double(analytic[i]) * analytic[i];
  const double floor =
      std::max(options.floor, options.scale_floor * std::sqrt(sum_sq / double(indices.size())));

  GradCheckResult r;
  for (std::size_t i : indices) {
    assert(i < values.size());
    const float x = values[i];
    const float plus = float(double(x) + options.h), minus = float(double(x) - options.h);
    values[i] = plus;
    const double l_plus = loss();
    values[i] = minus;
    const double l_minus = loss();
    values[i] = x;

    GradCheckEntry e;
    e.index = i;
    e.analytic = analytic[i];
    e.numeric = (l_plus - l_minus) / (double(plus) - double(minus));
    e.abs_error = std::abs(e.analytic - e.numeric);
    e.rel_error = e.abs_error / std::max({std::abs(e.analytic), std::abs(e.numeric), floor});
    if (!std::isfinite(e.numeric) || !std::isfinite(e.analytic)) e.abs_error = e.rel_error = INFINITY;
    r.max_abs = std::max(r.max_abs, e.abs_error);
    if (r.entries.empty() || e.rel_error > r.max_rel) {
      r.max_rel = e.rel_error;
      r.worst = r.entries.size();
    }
    r.entries.push_back(e);
  }
  loss();  // leave whatever loss() writes (outputs, argmax) as at the unperturbed point
  return r;
}

::testing::AssertionResult gradient_ok(const GradCheckResult& result, double tolerance,
                                       std::string_view what) {
  if (result.entries.empty()) return ::testing::AssertionFailure() << what << ": nothing was checked";
  const GradCheckEntry& w = result.entries[result.worst];
  char line[256];
  std::snprintf(
      line, sizeof line,
      "%.*s: %zu values, worst rel %.3g abs %.3g at %zu (analytic %.9g, numeric %.9g), tolerance %.3g",
      int(what.size()), what.data(), result.entries.size(), result.max_rel, result.max_abs, w.index,
      w.analytic, w.numeric, tolerance);
  std::printf("[gradcheck] %s\n", line);
  if (result.max_rel <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << line;
}

std::vector<float> random_vector(std::size_t count, Rng& rng, float lo, float hi) {
  std::vector<float> v(count);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

double projection(std::span<const float> out, std::span<const float> r) {
  assert(out.size() == r.size());
  double sum = 0;
  for (std::size_t i = 0; i < out.size(); ++i) sum += double(r[i]) * out[i];
  return sum;
}

void keep_off_zero(std::span<float> x, float margin, Rng& rng) {
  for (float& v : x)
    while (std::abs(v) < margin) v = rng.uniform(-1.0f, 1.0f);
}

void separate_pool_blocks(std::span<float> in, const PoolShape& s, int n, float margin, Rng& rng) {
  assert(in.size() == std::size_t(n) * s.c * s.in_h * s.in_w);
  for (std::size_t plane = 0; plane < std::size_t(n) * s.c; ++plane)
    for (int y = 0; y < s.out_h(); ++y)
      for (int x = 0; x < s.out_w(); ++x) {
        const std::size_t top = plane * s.in_h * s.in_w + std::size_t(2 * y) * s.in_w + 2 * x;
        float* block[4] = {&in[top], &in[top + 1], &in[top + s.in_w], &in[top + s.in_w + 1]};
        auto separated = [&] {
          for (int a = 0; a < 4; ++a)
            for (int b = a + 1; b < 4; ++b)
              if (std::abs(*block[a] - *block[b]) <= margin) return false;
          return true;
        };
        while (!separated())
          for (float* v : block) *v = rng.uniform(-1.0f, 1.0f);
      }
}

}  // namespace lenet::test

// Fig. 9's classical classifiers: distances and covariances by the library's matrix products, linear parts
// trained with its full-connection kernels and momentum optimiser.
#include "lenet/classical.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "lenet/gemm.h"
#include "lenet/linear.h"
#include "lenet/loss.h"
#include "lenet/optimizer.h"
#include "lenet/rng.h"

namespace lenet {

namespace {

constexpr int kClassCount = 10;
constexpr int kPairs = kClassCount * (kClassCount - 1) / 2;

// Squared Euclidean distances (a.count, b.count) rows [a0, a0+na) of a against every row of b:
// ‖x‖² + ‖y‖² − 2·x·y, the cross term by one matrix product.
void squared_distances(float* out, const Features& a, int a0, int na, const Features& b,
                       const std::vector<float>& b_norms) {
  std::fill(out, out + std::size_t(na) * b.count, 0.0f);
  gemm_nt(out, a.row(a0), b.values.data(), na, b.count, a.dim);
  for (int i = 0; i < na; ++i) {
    const float* x = a.row(a0 + i);
    float xx = 0;
    for (int k = 0; k < a.dim; ++k) xx += x[k] * x[k];
    float* o = out + std::size_t(i) * b.count;
    for (int j = 0; j < b.count; ++j) o[j] = std::max(0.0f, xx + b_norms[std::size_t(j)] - 2 * o[j]);
  }
}

std::vector<float> row_norms(const Features& f) {
  std::vector<float> n(std::size_t(f.count));
  for (int i = 0; i < f.count; ++i) {
    const float* x = f.row(i);
    float s = 0;
    for (int k = 0; k < f.dim; ++k) s += x[k] * x[k];
    n[std::size_t(i)] = s;
  }
  return n;
}

// Standardises features in place with the training set's statistics (a constant feature keeps scale 1).
void standardise(LinearClassifier& c, const Features& train) {
  c.mean.assign(std::size_t(c.dim), 0.0f);
  c.inv_sd.assign(std::size_t(c.dim), 1.0f);
  std::vector<double> sum(std::size_t(c.dim)), sq(std::size_t(c.dim));
  for (int i = 0; i < train.count; ++i)
    for (int k = 0; k < c.dim; ++k) {
      sum[std::size_t(k)] += train.row(i)[k];
      sq[std::size_t(k)] += double(train.row(i)[k]) * train.row(i)[k];
    }
  for (int k = 0; k < c.dim; ++k) {
    const double m = sum[std::size_t(k)] / train.count, var = sq[std::size_t(k)] / train.count - m * m;
    c.mean[std::size_t(k)] = float(m);
    if (var > 1e-8) c.inv_sd[std::size_t(k)] = float(1 / std::sqrt(var));
  }
}

void standardised_rows(float* out, const LinearClassifier& c, const Features& f, const int* idx, int first,
                       int n) {
  for (int i = 0; i < n; ++i) {
    const float* x = f.row(idx ? idx[i] : first + i);
    float* o = out + std::size_t(i) * c.dim;
    for (int k = 0; k < c.dim; ++k) o[k] = (x[k] - c.mean[std::size_t(k)]) * c.inv_sd[std::size_t(k)];
  }
}

// Momentum SGD over batches of standardised rows; `loss` sets d_out (n, outputs) from out and the labels.
template <typename Loss>
void train_linear(LinearClassifier& c, const Features& train, const std::vector<std::uint8_t>& labels,
                  int epochs, float lr0, std::uint64_t seed, const Loss& loss) {
  constexpr int kBatch = 64;
  standardise(c, train);
  const std::size_t weights = std::size_t(c.outputs) * c.dim;
  c.params.assign(weights + std::size_t(c.outputs), 0.0f);
  std::vector<float> grads(c.params.size()), x(std::size_t(kBatch) * c.dim),
      out(std::size_t(kBatch) * c.outputs), d_out(out.size());
  std::vector<std::uint8_t> batch_labels(kBatch);
  OptimizerConfig oc;
  oc.kind = OptimizerKind::Momentum;
  Optimizer opt(oc, c.params.size());
  Rng rng(seed);
  std::vector<int> order(std::size_t(train.count));
  std::iota(order.begin(), order.end(), 0);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    shuffle(order.data(), order.size(), rng);
    const float lr = step_decay_lr(lr0, 0.5f, std::max(1, epochs / 4), epoch);
    for (int start = 0; start < train.count; start += kBatch) {
      const int n = std::min(kBatch, train.count - start);
      standardised_rows(x.data(), c, train, order.data() + start, 0, n);
      for (int i = 0; i < n; ++i)
        batch_labels[std::size_t(i)] = labels[std::size_t(order[std::size_t(start + i)])];
      linear_forward(out.data(), x.data(), c.params.data(), c.params.data() + weights, c.dim, c.outputs, n);
      loss(d_out.data(), out.data(), batch_labels.data(), n);
      linear_backward(nullptr, grads.data(), grads.data() + weights, d_out.data(), x.data(), c.params.data(),
                      c.dim, c.outputs, n);
      opt.step(c.params, grads, lr);
      std::fill(grads.begin(), grads.end(), 0.0f);
    }
  }
}

// The outputs (count, c.outputs) of the trained full connection for every row of data.
template <typename Each>
void linear_outputs(const LinearClassifier& c, const Features& data, const Each& each) {
  constexpr int kChunk = 256;
  const std::size_t weights = std::size_t(c.outputs) * c.dim;
  std::vector<float> x(std::size_t(kChunk) * c.dim), out(std::size_t(kChunk) * c.outputs);
  for (int first = 0; first < data.count; first += kChunk) {
    const int n = std::min(kChunk, data.count - first);
    standardised_rows(x.data(), c, data, nullptr, first, n);
    linear_forward(out.data(), x.data(), c.params.data(), c.params.data() + weights, c.dim, c.outputs, n);
    for (int i = 0; i < n; ++i) each(first + i, out.data() + std::size_t(i) * c.outputs);
  }
}

// The pair (a, b), a < b, of pairwise unit u, in the order (0,1) (0,2) … (8,9).
std::array<std::array<int, 2>, kPairs> pair_table() {
  std::array<std::array<int, 2>, kPairs> t{};
  int u = 0;
  for (int a = 0; a < kClassCount; ++a)
    for (int b = a + 1; b < kClassCount; ++b) t[std::size_t(u++)] = {a, b};
  return t;
}

}  // namespace

Features pixel_features(const Dataset& data) {
  Features f{data.count, data.rows * data.cols, std::vector<float>(data.images.size())};
  for (std::size_t i = 0; i < data.images.size(); ++i) f.values[i] = float(data.images[i]) / 255.0f;
  return f;
}

std::vector<std::uint8_t> knn_predict(const Features& train, const std::vector<std::uint8_t>& train_labels,
                                      const Features& test, int k) {
  assert(k >= 1 && train.dim == test.dim);
  constexpr int kChunk = 64;
  const std::vector<float> norms = row_norms(train);
  std::vector<float> dist(std::size_t(kChunk) * train.count);
  std::vector<std::uint8_t> out(std::size_t(test.count));
  std::vector<int> nearest(std::size_t(train.count));
  for (int first = 0; first < test.count; first += kChunk) {
    const int n = std::min(kChunk, test.count - first);
    squared_distances(dist.data(), test, first, n, train, norms);
    for (int i = 0; i < n; ++i) {
      const float* d = dist.data() + std::size_t(i) * train.count;
      std::iota(nearest.begin(), nearest.end(), 0);
      std::partial_sort(nearest.begin(), nearest.begin() + k, nearest.end(),
                        [d](int a, int b) { return d[a] < d[b] || (d[a] == d[b] && a < b); });
      std::array<int, kClassCount> votes{};
      for (int j = 0; j < k; ++j) ++votes[train_labels[std::size_t(nearest[std::size_t(j)])]];
      int best = train_labels[std::size_t(nearest[0])];  // ties go to the nearest neighbour's class
      for (int c = 0; c < kClassCount; ++c)
        if (votes[std::size_t(c)] > votes[std::size_t(best)]) best = c;
      out[std::size_t(first + i)] = std::uint8_t(best);
    }
  }
  return out;
}

Pca fit_pca(const Features& data, int components) {
  const int d = data.dim;
  Pca p{components, d, std::vector<float>(std::size_t(d), 0.0f), {}};
  for (int i = 0; i < data.count; ++i)
    for (int k = 0; k < d; ++k) p.mean[std::size_t(k)] += data.row(i)[k];
  for (float& m : p.mean) m /= float(data.count);
  // Covariance (d, d) = Xcᵀ·Xc / count, in chunks of centred rows.
  constexpr int kChunk = 512;
  std::vector<float> cov(std::size_t(d) * d, 0.0f), chunk(std::size_t(kChunk) * d);
  for (int first = 0; first < data.count; first += kChunk) {
    const int n = std::min(kChunk, data.count - first);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < d; ++k)
        chunk[std::size_t(i) * d + k] = data.row(first + i)[k] - p.mean[std::size_t(k)];
    gemm_tn(cov.data(), chunk.data(), chunk.data(), d, d, n);
  }
  for (float& c : cov) c /= float(data.count);
  // Subspace iteration: Q ← orthonormalise(C·Q), from a random start; 200 rounds settle 40 components of
  // MNIST's covariance (its eigenvalues fall off slowly enough to separate them).
  Rng rng(12345);
  std::vector<float> q(std::size_t(components) * d), next(q.size());
  for (float& v : q) v = rng.uniform(-1.0f, 1.0f);
  auto orthonormalise = [&](std::vector<float>& m) {  // rows, modified Gram–Schmidt in double
    for (int r = 0; r < components; ++r) {
      float* row = m.data() + std::size_t(r) * d;
      for (int s = 0; s < r; ++s) {
        const float* prev = m.data() + std::size_t(s) * d;
        double dot = 0;
        for (int k = 0; k < d; ++k) dot += double(row[k]) * prev[k];
        for (int k = 0; k < d; ++k) row[k] -= float(dot) * prev[k];
      }
      double norm = 0;
      for (int k = 0; k < d; ++k) norm += double(row[k]) * row[k];
      const float inv = float(1 / std::sqrt(std::max(norm, 1e-30)));
      for (int k = 0; k < d; ++k) row[k] *= inv;
    }
  };
  orthonormalise(q);
  for (int round = 0; round < 200; ++round) {
    std::fill(next.begin(), next.end(), 0.0f);
    gemm_nt(next.data(), q.data(), cov.data(), components, d, d);  // (Q·C)ᵀ rows: C symmetric
    orthonormalise(next);
    q.swap(next);
  }
  p.basis = std::move(q);
  return p;
}

Features pca_project(const Pca& p, const Features& data) {
  Features f{data.count, p.components, std::vector<float>(std::size_t(data.count) * p.components, 0.0f)};
  std::vector<float> centred(data.values.size());
  for (int i = 0; i < data.count; ++i)
    for (int k = 0; k < p.dim; ++k)
      centred[std::size_t(i) * p.dim + k] = data.row(i)[k] - p.mean[std::size_t(k)];
  gemm_nt(f.values.data(), centred.data(), p.basis.data(), data.count, p.components, p.dim);
  return f;
}

Features quadratic_features(const Features& data) {
  const int c = data.dim, dim = c + c * (c + 1) / 2;
  Features f{data.count, dim, std::vector<float>(std::size_t(data.count) * dim)};
  for (int i = 0; i < data.count; ++i) {
    const float* x = data.row(i);
    float* o = f.values.data() + std::size_t(i) * dim;
    std::copy_n(x, c, o);
    o += c;
    for (int a = 0; a < c; ++a)
      for (int b = a; b < c; ++b) *o++ = x[a] * x[b];
  }
  return f;
}

RbfLayer fit_rbf(const Features& train, const std::vector<std::uint8_t>& labels, int per_class,
                 int iterations, std::uint64_t seed) {
  RbfLayer r;
  r.centres = Features{kClassCount * per_class, train.dim, {}};
  r.centres.values.reserve(std::size_t(r.centres.count) * train.dim);
  Rng rng(seed);
  for (int cls = 0; cls < kClassCount; ++cls) {
    Features rows{0, train.dim, {}};
    for (int i = 0; i < train.count; ++i)
      if (labels[std::size_t(i)] == cls) {
        rows.values.insert(rows.values.end(), train.row(i), train.row(i) + train.dim);
        ++rows.count;
      }
    if (rows.count == 0)
      throw std::invalid_argument("fit_rbf: class " + std::to_string(cls) + " has no training rows");
    // Lloyd's k-means from per_class random rows (distinct while the class has that many).
    std::vector<int> pick(std::size_t(rows.count));
    std::iota(pick.begin(), pick.end(), 0);
    shuffle(pick.data(), pick.size(), rng);
    Features centres{per_class, train.dim, std::vector<float>(std::size_t(per_class) * train.dim)};
    for (int j = 0; j < per_class; ++j)
      std::copy_n(rows.row(pick[std::size_t(j % rows.count)]), train.dim,
                  centres.values.data() + std::size_t(j) * train.dim);
    std::vector<float> dist(std::size_t(rows.count) * per_class);
    std::vector<int> assign(std::size_t(rows.count));
    for (int it = 0; it < iterations; ++it) {
      squared_distances(dist.data(), rows, 0, rows.count, centres, row_norms(centres));
      for (int i = 0; i < rows.count; ++i) {
        const float* d = dist.data() + std::size_t(i) * per_class;
        assign[std::size_t(i)] = int(std::min_element(d, d + per_class) - d);
      }
      std::vector<double> sum(centres.values.size(), 0.0);
      std::vector<int> count(std::size_t(per_class), 0);
      for (int i = 0; i < rows.count; ++i) {
        const int j = assign[std::size_t(i)];
        ++count[std::size_t(j)];
        for (int k = 0; k < train.dim; ++k) sum[std::size_t(j) * train.dim + k] += rows.row(i)[k];
      }
      for (int j = 0; j < per_class; ++j)  // an empty cluster keeps its centre
        if (count[std::size_t(j)] > 0)
          for (int k = 0; k < train.dim; ++k)
            centres.values[std::size_t(j) * train.dim + k] =
                float(sum[std::size_t(j) * train.dim + k] / count[std::size_t(j)]);
    }
    r.centres.values.insert(r.centres.values.end(), centres.values.begin(), centres.values.end());
  }
  // Width: the mean squared distance from a centre to the nearest other (distinct) centre.
  const std::vector<float> norms = row_norms(r.centres);
  std::vector<float> dist(std::size_t(r.centres.count) * r.centres.count);
  squared_distances(dist.data(), r.centres, 0, r.centres.count, r.centres, norms);
  double total = 0;
  int counted = 0;
  for (int i = 0; i < r.centres.count; ++i) {
    float nearest = 0;
    for (int j = 0; j < r.centres.count; ++j) {
      const float d = dist[std::size_t(i) * r.centres.count + j];
      if (j != i && d > 1e-6f && (nearest == 0 || d < nearest)) nearest = d;
    }
    if (nearest > 0) {
      total += nearest;
      ++counted;
    }
  }
  r.two_s2 = counted > 0 ? float(2 * total / counted) : 1.0f;
  return r;
}

Features rbf_features(const RbfLayer& r, const Features& data) {
  Features f{data.count, r.centres.count, std::vector<float>(std::size_t(data.count) * r.centres.count)};
  const std::vector<float> norms = row_norms(r.centres);
  constexpr int kChunk = 256;
  for (int first = 0; first < data.count; first += kChunk) {
    const int n = std::min(kChunk, data.count - first);
    float* out = f.values.data() + std::size_t(first) * r.centres.count;
    squared_distances(out, data, first, n, r.centres, norms);
    for (std::size_t i = 0; i < std::size_t(n) * r.centres.count; ++i) out[i] = std::exp(-out[i] / r.two_s2);
  }
  return f;
}

LinearClassifier train_softmax_classifier(const Features& train, const std::vector<std::uint8_t>& labels,
                                          int epochs, float lr, std::uint64_t seed) {
  LinearClassifier c{train.dim, kClassCount, {}, {}, {}};
  train_linear(c, train, labels, epochs, lr, seed,
               [](float* d_out, const float* out, const std::uint8_t* y, int n) {
                 softmax_cross_entropy(d_out, out, y, kClassCount, n, 1.0f / float(n));
               });
  return c;
}

std::vector<std::uint8_t> predict_softmax(const LinearClassifier& c, const Features& data) {
  std::vector<std::uint8_t> out(std::size_t(data.count));
  linear_outputs(c, data, [&](int i, const float* s) {
    out[std::size_t(i)] = std::uint8_t(std::max_element(s, s + c.outputs) - s);
  });
  return out;
}

LinearClassifier train_pairwise_classifier(const Features& train, const std::vector<std::uint8_t>& labels,
                                           int epochs, float lr, std::uint64_t seed) {
  LinearClassifier c{train.dim, kPairs, {}, {}, {}};
  const auto pairs = pair_table();
  // Unit u sees only rows of its two classes: target 1 for a, 0 for b, logistic loss; other rows give it no
  // gradient.
  train_linear(c, train, labels, epochs, lr, seed,
               [&](float* d_out, const float* out, const std::uint8_t* y, int n) {
                 for (int i = 0; i < n; ++i)
                   for (int u = 0; u < kPairs; ++u) {
                     const std::size_t at = std::size_t(i) * kPairs + u;
                     const auto [a, b] = pairs[std::size_t(u)];
                     if (y[i] != a && y[i] != b) {
                       d_out[at] = 0;
                       continue;
                     }
                     const float p = 1 / (1 + std::exp(-out[at]));
                     d_out[at] = (p - (y[i] == a ? 1.0f : 0.0f)) / float(n);
                   }
               });
  return c;
}

std::vector<std::uint8_t> predict_pairwise(const LinearClassifier& c, const Features& data) {
  const auto pairs = pair_table();
  std::vector<std::uint8_t> out(std::size_t(data.count));
  linear_outputs(c, data, [&](int i, const float* s) {
    std::array<int, kClassCount> votes{};
    std::array<float, kClassCount> margin{};
    for (int u = 0; u < kPairs; ++u) {
      const auto [a, b] = pairs[std::size_t(u)];
      ++votes[std::size_t(s[u] > 0 ? a : b)];
      margin[std::size_t(a)] += s[u];
      margin[std::size_t(b)] -= s[u];
    }
    int best = 0;
    for (int k = 1; k < kClassCount; ++k)
      if (votes[std::size_t(k)] > votes[std::size_t(best)] ||
          (votes[std::size_t(k)] == votes[std::size_t(best)] &&
           margin[std::size_t(k)] > margin[std::size_t(best)]))
        best = k;
    out[std::size_t(i)] = std::uint8_t(best);
  });
  return out;
}

}  // namespace lenet

// Small feed-forward networks assembled from the library's own kernels (convolution, the paper's trainable
// subsampling, full connection, scaled tanh): the fully connected nets and LeNet-1 / LeNet-4 of the paper's
// Fig. 9 comparison. Parameters and gradients are two flat arenas with one layout, as in Lenet5; backward
// ADDS into the parameter gradients and assigns every input gradient.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lenet/conv2d.h"
#include "lenet/idx.h"
#include "lenet/rng.h"
#include "lenet/subsample.h"
#include "lenet/workspace.h"

namespace lenet {

enum class SeqKind { Conv, Subsample, Linear };

// One layer and, unless it is the last, the paper's scaled tanh after it.
struct SeqLayer {
  std::string name;  // e.g. "C1", "H1"
  SeqKind kind = SeqKind::Linear;
  Conv2dShape conv;             // Conv
  PoolShape pool;               // Subsample
  int in_f = 0, out_f = 0;      // Linear
  std::size_t w = 0, b = 0;     // where its weights and biases start in the arenas
  std::size_t in_size() const;  // values per sample
  std::size_t out_size() const;
  std::size_t weight_count() const;
  std::size_t bias_count() const;
  std::size_t connections() const;  // multiply-adds per sample
};

// A net of SeqLayers over a side×side input (background −0.1, ink 1.175, as LeNet-5 reads it), ending
// in 10 logits trained with softmax cross-entropy.
class Sequential {
 public:
  Sequential(std::string name, int input_side, std::vector<SeqLayer> layers);
  const std::string& name() const { return name_; }
  int input_side() const { return input_side_; }
  const std::vector<SeqLayer>& layers() const { return layers_; }
  std::size_t parameter_count() const { return params.size(); }
  std::size_t connections() const;
  // Weights and biases uniform in ±1/√Fi (Fi = fan-in of the receiving unit), for tanh units.
  void init(Rng& rng);

  std::vector<float> params, grads;

 private:
  std::string name_;
  int input_side_;
  std::vector<SeqLayer> layers_;
};

// Fig. 9's networks: "fc-300", "fc-1000", "fc-300-100", "fc-500-150" (28×28 input), "lenet1" (28×28:
// 4@24x24, 4@12x12, 12@8x8, 12@4x4, 10 full) and "lenet4" (32×32: 4@28x28, 4@14x14, 16@10x10, 16@5x5,
// 120, 10). The paper does not give LeNet-1's and LeNet-4's connection tables: every map reads every map.
std::vector<std::string> sequential_names();
Sequential make_sequential(const std::string& name);  // throws std::invalid_argument for an unknown name

// Activations and their gradients for up to `capacity` samples, one buffer per layer boundary.
struct SeqActivations {
  SeqActivations(const Sequential& net, int capacity);
  int capacity;
  std::vector<std::vector<float>> x, d;  // x[0] the input, x[i+1] layer i's output (after tanh)
  std::vector<float> padded;             // one 32×32 input, for nets that read 28×28
  std::vector<std::uint8_t> labels;      // the batch's labels
  Workspace workspace;                   // the convolutions' scratch, for `capacity` samples
};

// The side×side inputs of images data[indices[0..n)] (or data[first..first+n) when indices is nullptr).
void sequential_fill_inputs(const Sequential& net, SeqActivations& a, const Dataset& data, const int* indices,
                            int first, int n);
// x[0] (n, side, side) -> logits x.back() (n, 10)
void sequential_forward(const Sequential& net, SeqActivations& a, int n);
// From d.back() (n, 10), back through every layer; ADDS into net.grads.
void sequential_backward(Sequential& net, SeqActivations& a, int n);

struct SeqTrainConfig {
  int epochs = 20;
  int batch = 32;
  float lr = 0.02f;  // momentum 0.9, halved every lr_step epochs
  int lr_step = 5;
  std::uint64_t seed = 1;
};
// The baselines' schedule: `epochs` (≤ 0: 20) with the learning rate halved every quarter of them.
SeqTrainConfig sequential_train_config(int epochs, std::uint64_t seed);
// Momentum SGD on softmax cross-entropy. Returns the training error after each epoch (on the fly).
std::vector<double> sequential_train(Sequential& net, const Dataset& train_set, const SeqTrainConfig& cfg);
// Predicted class of every image of data.
std::vector<std::uint8_t> sequential_predict(const Sequential& net, const Dataset& data);

}  // namespace lenet

// The library's thread-safe entry point: a loaded LeNet-5 that any number of threads may use at once to
// classify 28×28 digit images given as uint8 or float pixels (docs/library.md).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lenet/classify.h"
#include "lenet/errors.h"
#include "lenet/export.h"
#include "lenet/lenet5.h"

namespace lenet {

// Pixels per image: 28×28, row-major, as in MNIST's idx files.
inline constexpr std::size_t kImagePixels = std::size_t(kMnistSide) * kMnistSide;

// Thread safety: every member function is const and may be called from many threads at once on one
// Classifier. The model is read-only after construction; each call borrows a workspace (the activations
// of one batch) from a pool guarded by a mutex and gives it back, so the pool grows to the largest number
// of simultaneous callers. Moving a Classifier while another thread uses it is not allowed.
class LENET_API Classifier {
 public:
  // Loads a model file written by `lenet train` (models/lenet5.bin ships with lenet). Throws
  // ModelFileError naming the file: unreadable, corrupt, or not a model of a known architecture.
  // Precision::Int8 runs the model's quantised form (docs/int8.md), about 3.5 times as fast; it needs the
  // activation scales that `lenet quantize` stores in the model file, and throws ModelFileError naming
  // the file when they are missing or the model is not the modern lenet5.
  explicit Classifier(const std::string& model_path, Precision precision = Precision::Fp32);
  explicit Classifier(Lenet5 model);
  ~Classifier();
  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;

  // One image of kImagePixels values, 0 = background (paper) ... 255 = ink, as in MNIST. The digit
  // should be centred the MNIST way (preprocess_digit in lenet::vision does it for a photo).
  DigitGuess classify(std::span<const std::uint8_t> pixels) const;
  // The same with floats, 0 = background ... 1 = ink.
  DigitGuess classify(std::span<const float> pixels) const;
  // n images back to back (n·kImagePixels values); one guess per image, in order.
  std::vector<DigitGuess> classify_many(std::span<const std::uint8_t> pixels) const;
  std::vector<DigitGuess> classify_many(std::span<const float> pixels) const;
  // Sizes that are not a positive multiple of kImagePixels, and floats outside [0, 1] (or NaN), throw
  // std::invalid_argument naming the image, the value and what was expected.

  const Lenet5& model() const;
  Precision precision() const;

  // A workspace of the pool, lent to one thread until the Lease is destroyed: for code that needs a
  // DigitClassifier of its own (e.g. read_number in lenet::vision).
  class LENET_API Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    DigitClassifier& classifier() const { return *classifier_; }

   private:
    friend class Classifier;
    struct Pool;
    Lease(Pool* pool, std::unique_ptr<DigitClassifier> classifier);
    Pool* pool_;
    std::unique_ptr<DigitClassifier> classifier_;
  };
  Lease borrow() const;

 private:
  std::unique_ptr<Lease::Pool> pool_;
};

}  // namespace lenet

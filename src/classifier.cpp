// Classifier: one read-only model and a mutex-guarded pool of per-call workspaces (DigitClassifier), so
// that any number of threads classify at once with exactly the answers of one thread.
#include "lenet/classifier.h"

#include <cmath>
#include <mutex>
#include <stdexcept>

#include "lenet/lenet5_io.h"
#include "lenet/quantize.h"

namespace lenet {

namespace {

constexpr int kBatch = 32;

// Throws std::invalid_argument unless size is a positive multiple of one image.
void check_size(std::size_t size, bool single) {
  if (single ? size != kImagePixels : (size == 0 || size % kImagePixels != 0))
    throw std::invalid_argument(
        "lenet::Classifier: " + std::to_string(size) + " pixel values; expected " +
        (single ? std::string("one 28x28 image (784 values, row-major)")
                : std::string("a positive multiple of 784 (28x28 images, row-major, back to back)")));
}

void check_ink(std::span<const float> pixels) {
  for (std::size_t i = 0; i < pixels.size(); ++i)
    if (!(pixels[i] >= 0.0f && pixels[i] <= 1.0f))  // also refuses NaN
      throw std::invalid_argument("lenet::Classifier: image " + std::to_string(i / kImagePixels) +
                                  ", pixel " + std::to_string(i % kImagePixels) + " is " +
                                  std::to_string(pixels[i]) +
                                  "; expected a value in [0, 1] (0 = background, 1 = ink)");
}

}  // namespace

struct Classifier::Lease::Pool {
  explicit Pool(Lenet5 m) : model(std::move(m)) {}
  const Lenet5 model;
  std::unique_ptr<const Int8Lenet5> int8;  // set for Precision::Int8; read-only, shared by every workspace
  std::mutex mutex;
  std::vector<std::unique_ptr<DigitClassifier>> idle;  // guarded by mutex
};

Classifier::Lease::Lease(Pool* pool, std::unique_ptr<DigitClassifier> classifier)
    : pool_(pool), classifier_(std::move(classifier)) {}

Classifier::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), classifier_(std::move(other.classifier_)) {}

Classifier::Lease::~Lease() {
  if (!classifier_) return;  // moved from
  try {
    const std::lock_guard lock(pool_->mutex);
    pool_->idle.push_back(std::move(classifier_));
  } catch (...) {  // no memory to keep it: the workspace is freed instead, the pool stays consistent
  }
}

Classifier::Classifier(const std::string& model_path, Precision precision) {
  LoadedModel loaded = load_lenet5(model_path);
  std::unique_ptr<const Int8Lenet5> int8;
  if (precision == Precision::Int8)
    int8 = std::make_unique<const Int8Lenet5>(int8_network(loaded, model_path));
  pool_ = std::make_unique<Lease::Pool>(std::move(loaded.model));
  pool_->int8 = std::move(int8);
}

Classifier::Classifier(Lenet5 model) : pool_(std::make_unique<Lease::Pool>(std::move(model))) {}

Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

const Lenet5& Classifier::model() const { return pool_->model; }

Precision Classifier::precision() const { return pool_->int8 ? Precision::Int8 : Precision::Fp32; }

Classifier::Lease Classifier::borrow() const {
  {
    const std::lock_guard lock(pool_->mutex);
    if (!pool_->idle.empty()) {
      std::unique_ptr<DigitClassifier> c = std::move(pool_->idle.back());
      pool_->idle.pop_back();
      return Lease(pool_.get(), std::move(c));
    }
  }
  // Allocated outside the lock: other threads keep borrowing and returning meanwhile.
  if (pool_->int8)
    return Lease(pool_.get(),
                 std::make_unique<DigitClassifier>(int8_classifier(pool_->model, kBatch, *pool_->int8)));
  return Lease(pool_.get(), std::make_unique<DigitClassifier>(pool_->model, kBatch));
}

DigitGuess Classifier::classify(std::span<const std::uint8_t> pixels) const {
  check_size(pixels.size(), true);
  return classify_many(pixels)[0];
}

DigitGuess Classifier::classify(std::span<const float> pixels) const {
  check_size(pixels.size(), true);
  return classify_many(pixels)[0];
}

std::vector<DigitGuess> Classifier::classify_many(std::span<const std::uint8_t> pixels) const {
  check_size(pixels.size(), false);
  std::vector<MnistImage> images(pixels.size() / kImagePixels);
  for (std::size_t i = 0; i < images.size(); ++i)
    std::copy_n(pixels.begin() + std::ptrdiff_t(i * kImagePixels), kImagePixels, images[i].begin());
  const Lease lease = borrow();
  return lease.classifier().classify(images);
}

std::vector<DigitGuess> Classifier::classify_many(std::span<const float> pixels) const {
  check_size(pixels.size(), false);
  check_ink(pixels);
  const Lease lease = borrow();
  return lease.classifier().classify_ink(pixels);
}

}  // namespace lenet

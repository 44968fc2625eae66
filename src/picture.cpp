// classify_picture and read_number on a Classifier: decoding and preprocessing run on the caller's thread,
// the network on a workspace borrowed from the Classifier's pool.
#include "lenet/picture.h"

namespace lenet {

DigitGuess classify_picture(const Classifier& classifier, const std::string& path) {
  const MnistImage input = preprocess_digit(load_grey_image(path));
  return classifier.classify(std::span<const std::uint8_t>(input));
}

Reading read_number(const Classifier& classifier, const std::string& path, const ReadOptions& options) {
  const GreyImage image = load_grey_image(path);
  const Classifier::Lease lease = classifier.borrow();
  return read_number(lease.classifier(), image, options);
}

}  // namespace lenet

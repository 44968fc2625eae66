// Pictures through a shared Classifier (lenet::vision): a photo or scan of one digit classified, and a
// number written in a row of digits read; safe to call from many threads on one Classifier.
#pragma once
#include <string>

#include "lenet/classifier.h"
#include "lenet/export.h"
#include "lenet/image.h"
#include "lenet/segment.h"

namespace lenet {

// PNG, JPEG, BMP or PGM/PPM of one digit, any size, polarity or lighting: decoded, preprocessed the
// MNIST way (preprocess_digit) and classified. Throws ImageError naming the file (unreadable, not a
// picture, too large, no ink).
LENET_API DigitGuess classify_picture(const Classifier& classifier, const std::string& path);

// The digits of a picture of one row of writing, left to right (segment.h). Throws ImageError as above.
LENET_API Reading read_number(const Classifier& classifier, const std::string& path,
                              const ReadOptions& options = {});

}  // namespace lenet

// The exceptions the library throws at its edges, in one JSON-free header so that a consumer can catch
// them without the headers of the code that throws (docs/library.md, "Errors").
#pragma once
#include <stdexcept>

#include "lenet/export.h"

namespace lenet {

// A model file that cannot be read or written, or does not hold what is expected; the message names the
// file and the field, with the expected and the found value.
class LENET_API ModelFileError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

}  // namespace lenet

// libFuzzer entry point of the image target; the work is lenet::fuzz::image in targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lenet::fuzz::image(data, size);
  return 0;
}

// libFuzzer entry point of the idx target; the work is lenet::fuzz::idx in targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lenet::fuzz::idx(data, size);
  return 0;
}

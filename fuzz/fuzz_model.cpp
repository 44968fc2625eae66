// libFuzzer entry point of the model target; the work is lenet::fuzz::model in targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lenet::fuzz::model(data, size);
  return 0;
}

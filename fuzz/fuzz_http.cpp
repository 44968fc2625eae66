// libFuzzer entry point of the http target; the work is lenet::fuzz::http in targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lenet::fuzz::http(data, size);
  return 0;
}

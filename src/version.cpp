// The version of the library linked, compiled from the generated lenet/version.h.
#include "lenet/version.h"

namespace lenet {

const char* version() { return LENET_VERSION_STRING; }

}  // namespace lenet

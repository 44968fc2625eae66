// zlib's crc32(), the one zlib function the model file reader needs, for the WebAssembly build: emscripten
// offers zlib only as a port downloaded from the internet at build time, which an offline build cannot
// fetch. The same polynomial (0xEDB88320, reflected), initial value and final xor as zlib.
#include <zlib.h>

#include <array>
#include <cstdint>

namespace {

std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

}  // namespace

extern "C" uLong crc32(uLong crc, const Bytef* buf, uInt len) {
  static const std::array<std::uint32_t, 256> table = make_table();
  if (!buf) return 0;
  std::uint32_t c = ~std::uint32_t(crc);
  for (uInt i = 0; i < len; ++i) c = table[(c ^ buf[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

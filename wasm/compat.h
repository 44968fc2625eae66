// Forced into every WebAssembly compilation unit (em++ -include): what Debian's emscripten 3.1.6 libc++
// lacks of C++20 and the library uses. std::bit_cast is clang's own builtin, which that libc++ only wraps
// from version 3.1.12 on.
#pragma once
#include <version>
#if !defined(__cpp_lib_bit_cast)
#include <bit>
namespace std {
template <class To, class From>
constexpr To bit_cast(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From), "bit_cast between types of different sizes");
  return __builtin_bit_cast(To, from);
}
}  // namespace std
#endif

// Vector support for the fast kernels, in one binary that runs on any x86-64 (and compiles elsewhere).
// LENET_KERNEL: GCC target_clones for plain loops. simd::dispatch: a kernel written once over Vec<W>
// (GCC vector extensions), compiled for AVX-512 (W = 16), AVX2+FMA (W = 8) and portable code (W = 4),
// the variant picked at run time from the CPU (or LENET_SIMD=avx512|avx2|portable, or set_level()).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LENET_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LENET_KERNEL
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LENET_X86_DISPATCH 1
#include <immintrin.h>  // declares the masked load/store builtins used below
#define LENET_TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))
#define LENET_TARGET_AVX2 __attribute__((target("arch=x86-64-v3")))
#else
#define LENET_X86_DISPATCH 0
#define LENET_TARGET_AVX512
#define LENET_TARGET_AVX2
#endif

// Kernel bodies are always inlined into the dispatch wrappers, which is where their ISA is chosen.
#define LENET_INLINE __attribute__((always_inline))

// Vectors of 32 or 64 bytes passed between inlined helpers: GCC notes an ABI change that cannot matter here.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace lenet::simd {

// The value is the number of floats per vector.
enum class Level { Portable = 4, Avx2 = 8, Avx512 = 16 };

inline std::string_view level_name(Level l) {
  return l == Level::Avx512 ? "avx512" : l == Level::Avx2 ? "avx2" : "portable";
}

// The best level this CPU runs, lowered by the environment variable LENET_SIMD if set.
inline Level best_level() {
  Level best = Level::Portable;
#if LENET_X86_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Level::Avx2;
  if (best == Level::Avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    best = Level::Avx512;
#endif
  if (const char* env = std::getenv("LENET_SIMD")) {
    const std::string_view want(env);
    const Level asked = want == "portable" ? Level::Portable : want == "avx2" ? Level::Avx2 : Level::Avx512;
    if (int(asked) < int(best)) best = asked;
  }
  return best;
}

inline Level& current_level() {
  static Level level = best_level();
  return level;
}
inline Level level() { return current_level(); }
// For tests and benchmarks: use another level (clamped to what the CPU runs). Not thread-safe: call it
// while no kernel runs.
inline void set_level(Level l) {
  const Level best = best_level();
  current_level() = int(l) < int(best) ? l : best;
}

template <int W>
struct Types {
  typedef float F __attribute__((vector_size(4 * W)));
  typedef std::int32_t I __attribute__((vector_size(4 * W)));
};
template <int W>
using Vec = typename Types<W>::F;
template <int W>
using IVec = typename Types<W>::I;

template <int W>
LENET_INLINE inline Vec<W> load(const float* p) {
  Vec<W> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int W>
LENET_INLINE inline void store(float* p, const Vec<W>& v) {
  std::memcpy(p, &v, sizeof v);
}
template <int W>
LENET_INLINE inline Vec<W> splat(float x) {
  return Vec<W>{} + x;
}
template <int W>
LENET_INLINE inline Vec<W> iota() {
  Vec<W> v;
  for (int i = 0; i < W; ++i) v[i] = float(i);
  return v;
}

// The first n lanes (0 <= n <= W) of p, the others zero; lanes at and past n are never read, so p + n
// may be the end of a buffer.
template <int W>
LENET_INLINE inline Vec<W> load_n(const float* p, int n) {
#if LENET_X86_DISPATCH
  if constexpr (W == 16) {
    return __builtin_ia32_loadups512_mask(p, Vec<16>{}, std::uint16_t((1u << n) - 1));
  } else if constexpr (W == 8) {
    IVec<8> lane = {0, 1, 2, 3, 4, 5, 6, 7};
    return __builtin_ia32_maskloadps256(reinterpret_cast<const Vec<8>*>(p), lane < n);
  }
#endif
  Vec<W> v = {};
  for (int i = 0; i < n; ++i) v[i] = p[i];
  return v;
}
// Writes the first n lanes of v; memory at and past p + n is not touched.
template <int W>
LENET_INLINE inline void store_n(float* p, const Vec<W>& v, int n) {
#if LENET_X86_DISPATCH
  if constexpr (W == 16) {
    __builtin_ia32_storeups512_mask(p, v, std::uint16_t((1u << n) - 1));
    return;
  } else if constexpr (W == 8) {
    IVec<8> lane = {0, 1, 2, 3, 4, 5, 6, 7};
    __builtin_ia32_maskstoreps256(reinterpret_cast<Vec<8>*>(p), lane < n, v);
    return;
  }
#endif
  for (int i = 0; i < n; ++i) p[i] = v[i];
}

template <int W>
LENET_INLINE inline Vec<W> max(const Vec<W>& a, const Vec<W>& b) {
  return a > b ? a : b;
}

namespace detail {
template <int W, int Offset, int... I>
LENET_INLINE inline Vec<W / 2> half(const Vec<W>& v, std::integer_sequence<int, I...>) {
  return __builtin_shufflevector(v, v, (I + Offset)...);
}
}  // namespace detail

// Sum of the lanes, as a tree of halves (the same order on every call).
template <int W>
LENET_INLINE inline float hsum(const Vec<W>& v) {
  if constexpr (W == 4) {
    return (v[0] + v[2]) + (v[1] + v[3]);
  } else {
    constexpr auto seq = std::make_integer_sequence<int, W / 2>{};
    return hsum<W / 2>(detail::half<W, 0>(v, seq) + detail::half<W, W / 2>(v, seq));
  }
}

namespace detail {
// One level of hsum_each: x and y each hold W/len targets in groups of len lanes; the result holds the
// targets of x then those of y, in groups of len/2 lanes (lo takes each group's first half, hi its second).
constexpr int pair_lane(int w, int len, int r, bool hi) {
  const int half = len / 2, groups = w / len, g = r / half, o = r % half + (hi ? half : 0);
  return g < groups ? g * len + o : w + (g - groups) * len + o;
}
template <int W, int Len, int... R>
LENET_INLINE inline Vec<W> pair_sum(const Vec<W>& x, const Vec<W>& y, std::integer_sequence<int, R...>) {
  return __builtin_shufflevector(x, y, pair_lane(W, Len, R, false)...) +
         __builtin_shufflevector(x, y, pair_lane(W, Len, R, true)...);
}
template <int W, int Len>
LENET_INLINE inline void hsum_level(Vec<W>* v) {
  if constexpr (Len > 1) {
    // Len vectors of W/Len targets each are combined two by two.
    for (int i = 0; i < Len / 2; ++i)
      v[i] = pair_sum<W, Len>(v[2 * i], v[2 * i + 1], std::make_integer_sequence<int, W>{});
    hsum_level<W, Len / 2>(v);
  }
}
}  // namespace detail

// W sums at once: returns the vector whose lane i is the sum of the lanes of v[i] (v is overwritten).
// About 3 instructions per sum instead of 2·log2(W).
template <int W>
LENET_INLINE inline Vec<W> hsum_each(Vec<W>* v) {
  detail::hsum_level<W, W>(v);
  return v[0];
}

// Runs f.template operator()<W>() compiled for the level in use. f is a generic lambda marked LENET_INLINE,
// e.g. dispatch([&]<int W>() LENET_INLINE { my_kernel<W>(out, in, n); });
template <class F>
LENET_TARGET_AVX512 void run_avx512(const F& f) {
  f.template operator()<16>();
}
template <class F>
LENET_TARGET_AVX2 void run_avx2(const F& f) {
  f.template operator()<8>();
}
template <class F>
void run_portable(const F& f) {
  f.template operator()<4>();
}
template <class F>
void dispatch(const F& f) {
#if LENET_X86_DISPATCH
  switch (level()) {
    case Level::Avx512:
      return run_avx512(f);
    case Level::Avx2:
      return run_avx2(f);
    case Level::Portable:
      break;
  }
#endif
  run_portable(f);
}

}  // namespace lenet::simd

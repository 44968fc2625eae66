// Vector support for the fast kernels, in one binary that runs on any x86-64 (and compiles elsewhere).
// LENET_KERNEL: GCC target_clones for plain loops. simd::dispatch: a kernel written once over Vec<W>
// (GCC vector extensions), compiled for AVX-512 (W = 16), AVX2+FMA (W = 8) and portable code (W = 4),
// the variant picked at run time from the CPU (or LENET_SIMD=avx512|avx2|portable, or set_level()).
#pragma once
#include <algorithm>
#include <cstddef>
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

// std::bit_cast for the vector types, always inlined: std::bit_cast is an ordinary function, and a copy of
// it that is not inlined is compiled for the baseline ISA, which moves a 512-bit vector with SSE
// instructions that need an alignment the argument need not have (seen with other tuning flags: a crash).
template <class To, class From>
LENET_INLINE inline To bit_cast(const From& v) {
  static_assert(sizeof(To) == sizeof(From));
  To t;
  std::memcpy(&t, &v, sizeof t);
  return t;
}

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
  if (n >= W) return load<W>(p);
  Vec<W> v = {};
  for (int i = 0; i < n; ++i) v[i] = p[i];
  return v;
}
// W bytes (grey pixels) from p as floats: a zero-extending load then a conversion (GCC scalarises a
// direct byte-to-float convertvector).
template <int W>
LENET_INLINE inline Vec<W> load_bytes(const std::uint8_t* p) {
#if LENET_X86_DISPATCH
  typedef char Bytes16 __attribute__((vector_size(16)));
  if constexpr (W == 16) {
    Bytes16 b;
    std::memcpy(&b, p, 16);
    return __builtin_convertvector(__builtin_ia32_pmovzxbd512_mask(b, IVec<16>{}, 0xFFFF), Vec<16>);
  } else if constexpr (W == 8) {
    Bytes16 b = {};
    std::memcpy(&b, p, 8);
    return __builtin_convertvector(__builtin_ia32_pmovzxbd256(b), Vec<8>);
  }
#endif
  Vec<W> v;
  for (int i = 0; i < W; ++i) v[i] = float(p[i]);
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
  if (n >= W) return store<W>(p, v);
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

namespace detail {
template <int W, int Odd, int... L>
LENET_INLINE inline Vec<W> pick_alternate(const Vec<W>& a, const Vec<W>& b,
                                          std::integer_sequence<int, L...>) {
  return __builtin_shufflevector(a, b, (2 * L + Odd)...);
}
template <int W, int Half, int... L>
LENET_INLINE inline Vec<W> zip(const Vec<W>& e, const Vec<W>& o, std::integer_sequence<int, L...>) {
  return __builtin_shufflevector(e, o, (L / 2 + Half * W / 2 + (L % 2) * W)...);
}
}  // namespace detail

namespace detail {
template <int W, int S, int... L>
LENET_INLINE inline Vec<W> window(const Vec<W>& a, const Vec<W>& b, std::integer_sequence<int, L...>) {
  return __builtin_shufflevector(a, b, (L + S)...);
}
}  // namespace detail

// Lanes S .. S + W − 1 of the 2W lanes a, b: from two loads on cache-line boundaries, the vector that
// starts S floats further on, without a load across two lines (one valignd at AVX-512).
template <int W, int S>
LENET_INLINE inline Vec<W> window(const Vec<W>& a, const Vec<W>& b) {
  return detail::window<W, S>(a, b, std::make_integer_sequence<int, W>{});
}

// The even-numbered (Odd = 0) or odd-numbered (Odd = 1) lanes of the 2W lanes a, b.
template <int W, int Odd>
LENET_INLINE inline Vec<W> alternate(const Vec<W>& a, const Vec<W>& b) {
  return detail::pick_alternate<W, Odd>(a, b, std::make_integer_sequence<int, W>{});
}
// The inverse: lanes e0 o0 e1 o1 ... as two vectors (Half = 0: the first W of them, 1: the rest).
template <int W, int Half>
LENET_INLINE inline Vec<W> interleave(const Vec<W>& e, const Vec<W>& o) {
  return detail::zip<W, Half>(e, o, std::make_integer_sequence<int, W>{});
}

namespace detail {
// Stage h of transpose: rows i and i + h exchange the second halves of their lane groups of 2h.
constexpr int swap_lane(int w, int h, int lane, bool upper) {
  const int g = lane / (2 * h) * (2 * h), t = lane % (2 * h);
  if (!upper) return t < h ? g + t : w + g + t - h;
  return t < h ? g + h + t : w + g + t;
}
template <int W, int H, int... L>
LENET_INLINE inline void transpose_stage(Vec<W>* r, std::integer_sequence<int, L...>) {
  for (int i = 0; i < W; ++i)
    if ((i / H) % 2 == 0) {
      const Vec<W> a = r[i], b = r[i + H];
      r[i] = __builtin_shufflevector(a, b, swap_lane(W, H, L, false)...);
      r[i + H] = __builtin_shufflevector(a, b, swap_lane(W, H, L, true)...);
    }
  if constexpr (H > 1) transpose_stage<W, H / 2>(r, std::integer_sequence<int, L...>{});
}
}  // namespace detail

// Transposes the W×W block held in r[0..W) (row i in r[i]), in log2(W) stages of W shuffles.
template <int W>
LENET_INLINE inline void transpose(Vec<W>* r) {
  detail::transpose_stage<W, W / 2>(r, std::make_integer_sequence<int, W>{});
}

// dst (cols, rows) = src (rows, cols)ᵀ, with row strides ld_src and ld_dst, through W×W blocks (the last
// block of each direction shifted back to fit; smaller matrices element by element).
template <int W>
LENET_INLINE inline void transpose_matrix(float* dst, int ld_dst, const float* src, int ld_src, int rows,
                                          int cols) {
  if (rows < W || cols < W) {
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) dst[std::size_t(j) * ld_dst + i] = src[std::size_t(i) * ld_src + j];
    return;
  }
  for (int ib = 0; ib < rows; ib += W) {
    const int i0 = ib + W <= rows ? ib : rows - W;
    for (int jb = 0; jb < cols; jb += W) {
      const int j0 = jb + W <= cols ? jb : cols - W;
      Vec<W> r[W];
      for (int i = 0; i < W; ++i) r[i] = load<W>(src + std::size_t(i0 + i) * ld_src + j0);
      transpose<W>(r);
      for (int j = 0; j < W; ++j) store<W>(dst + std::size_t(j0 + j) * ld_dst + i0, r[j]);
    }
  }
}

// out[i] = sum of the lanes of v[i], i < N, W sums at a time by hsum_each. Every index is a constant, so
// the caller's accumulators can stay in registers up to here.
template <int W, int N>
LENET_INLINE inline void hsum_all(const Vec<W> (&v)[N], float* out) {
  for (int g = 0; g < N; g += W) {
    Vec<W> group[W];
    for (int i = 0; i < W; ++i) group[i] = g + i < N ? v[g + i] : Vec<W>{};
    store_n<W>(out + g, hsum_each<W>(group), N - g < W ? N - g : W);
  }
}

// Σ p[0..n) with four vector accumulators (a float loop would be one long dependency chain: the compiler
// may not reorder float additions).
template <int W>
LENET_INLINE inline float sum(const float* p, std::size_t n) {
  Vec<W> acc[4] = {};
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (int j = 0; j < 4; ++j) acc[j] += load<W>(p + i + j * W);
  for (; i < n; i += W) acc[0] += load_n<W>(p + i, int(std::min<std::size_t>(W, n - i)));
  return hsum<W>((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

// Predictive commoning (-O3) carries values loaded in one iteration of a tap loop into the next, which
// turns the broadcasts of the convolution tiles into register shuffling and spills; it is off here.
#define LENET_NO_PCOM __attribute__((optimize("no-predictive-commoning")))

// Runs f.template operator()<V>() compiled for AVX-512, AVX2+FMA or plain x86-64. f is a generic lambda
// marked LENET_INLINE, e.g. dispatch([&]<int W>() LENET_INLINE { my_kernel<W>(out, in, n); });
template <auto V, class F>
LENET_TARGET_AVX512 LENET_NO_PCOM void run_avx512(const F& f) {
  f.template operator()<V>();
}
template <auto V, class F>
LENET_TARGET_AVX2 LENET_NO_PCOM void run_avx2(const F& f) {
  f.template operator()<V>();
}
template <auto V, class F>
LENET_NO_PCOM void run_portable(const F& f) {
  f.template operator()<V>();
}

// Runs the version of f for level l: `top` on Level::Avx512 (run_avx512, or a runner compiled for more
// than AVX-512, like the int8 kernels' VNNI one), run_avx2<Avx2V> on AVX2, run_portable<PortableV> else.
template <auto Avx2V, auto PortableV, class F>
void dispatch_to([[maybe_unused]] Level l, [[maybe_unused]] void (*top)(const F&), const F& f) {
#if LENET_X86_DISPATCH
  switch (l) {
    case Level::Avx512:
      return top(f);
    case Level::Avx2:
      return run_avx2<Avx2V>(f);
    case Level::Portable:
      break;
  }
#endif
  run_portable<PortableV>(f);
}

// f.template operator()<W>() for the level in use, W its vector width in floats.
template <class F>
void dispatch(const F& f) {
  dispatch_to<8, 4>(level(), &run_avx512<16, F>, f);
}

}  // namespace lenet::simd

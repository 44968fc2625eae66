// The int8 kernels: u8 activations × s8 weights in int32 lanes of 16, one vpdpbusd per 4 products on
// AVX-512 VNNI, the same code with widened products elsewhere; then each naive reference.
// Built with -ffp-contract=off (CMakeLists.txt): the requantisation is a multiply then an add at every
// level, so the fast kernels match the naive ones bit for bit.
#include "lenet/int8_kernels.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "lenet/simd.h"

namespace lenet {

namespace {

typedef std::int32_t I16 __attribute__((vector_size(64)));
typedef float F16 __attribute__((vector_size(64)));
typedef std::uint8_t U8x64 __attribute__((vector_size(64)));
typedef std::uint8_t U8x32 __attribute__((vector_size(32)));
typedef std::uint8_t U8x16 __attribute__((vector_size(16)));

// Adding then subtracting 1.5·2^23 rounds a float in [0, 2^22) to the nearest integer, ties to even,
// with the same two IEEE operations in scalar and vector code.
constexpr float kRound = 12582912.0f;

// The ISAs the kernels are compiled for. Vnni512 needs AVX-512 VNNI (vpdpbusd) and VBMI (vpermb).
enum class Isa { Portable, Avx2, Vnni512 };

Isa isa() {
  const simd::Level level = simd::level();
#if LENET_X86_DISPATCH
  if (level == simd::Level::Avx512 && __builtin_cpu_supports("avx512vnni") &&
      __builtin_cpu_supports("avx512vbmi"))
    return Isa::Vnni512;
#endif
  return level == simd::Level::Portable ? Isa::Portable : Isa::Avx2;
}

#if LENET_X86_DISPATCH
#define LENET_TARGET_VNNI __attribute__((target("arch=x86-64-v4,avx512vnni,avx512vbmi")))
#else
#define LENET_TARGET_VNNI
#endif

template <Isa I, class F>
LENET_TARGET_VNNI LENET_NO_PCOM void run_vnni(const F& f) {
  f.template operator()<I>();
}
// f.template operator()<S>() for the ISA in use (simd.h's dispatch, with VNNI at the top).
template <class F>
void dispatch(const F& f) {
  const Isa s = isa();
  const simd::Level l = s == Isa::Vnni512 ? simd::Level::Avx512
                        : s == Isa::Avx2  ? simd::Level::Avx2
                                          : simd::Level::Portable;
  simd::dispatch_to<Isa::Avx2, Isa::Portable>(l, &run_vnni<Isa::Vnni512, F>, f);
}

// acc + Σ over each lane's 4 bytes of a (unsigned) × w (signed).
template <Isa S>
LENET_INLINE inline I16 dpbusd(const I16& acc, const I16& a, const I16& w) {
#if LENET_X86_DISPATCH
  if constexpr (S == Isa::Vnni512) return __builtin_ia32_vpdpbusd_v16si(acc, a, w);
#endif
  I16 r = acc;
  for (int j = 0; j < 4; ++j) r += ((a >> (8 * j)) & 0xFF) * ((w << (24 - 8 * j)) >> 24);
  return r;
}

// The same 32 bits in every lane. On AVX-512 through the broadcast builtin: GCC compiles an initialiser
// list of 16 copies of a loaded value (or `I16{} + v`) to four masked broadcasts per vector.
typedef std::int32_t I4 __attribute__((vector_size(16)));
template <Isa S>
LENET_INLINE inline I16 splat32(std::int32_t v) {
#if LENET_X86_DISPATCH
  if constexpr (S == Isa::Vnni512) return __builtin_ia32_pbroadcastd512(I4{v, 0, 0, 0}, I16{}, 0xFFFF);
#endif
  return I16{v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
}
template <Isa S>
LENET_INLINE inline I16 splat32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return splat32<S>(v);
}
template <class T>
LENET_INLINE inline T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
LENET_INLINE inline void store(void* p, const T& v) {
  std::memcpy(p, &v, sizeof v);
}
LENET_INLINE inline I16 max(const I16& a, const I16& b) { return a > b ? a : b; }

// clamp(round(acc · scale + offset), 0, 255) in each lane, rounding to nearest even. The clamps are
// written as x86's max and min (the first operand unless the comparison holds), so NaN becomes 0 and the
// rounding only ever sees [0, 255], where vcvtps2dq and adding then subtracting kRound agree.
template <Isa S>
LENET_INLINE inline I16 requantize(const I16& acc, const F16& scale, const F16& offset) {
  F16 f = __builtin_convertvector(acc, F16) * scale + offset;
#if LENET_X86_DISPATCH
  if constexpr (S == Isa::Vnni512) {  // vmaxps, vminps, vcvtps2dq (GCC makes compares and blends of ?:)
    f = __builtin_ia32_maxps512_mask(f, F16{}, F16{}, -1, 4);
    f = __builtin_ia32_minps512_mask(f, F16{} + 255.0f, F16{}, -1, 4);
    return __builtin_ia32_cvtps2dq512_mask(f, I16{}, -1, 4);
  }
#endif
  f = f > 0.0f ? f : F16{};
  f = f < 255.0f ? f : F16{} + 255.0f;
  f = (f + kRound) - kRound;
  return __builtin_convertvector(f, I16);
}
inline int requantize(std::int32_t acc, float scale, float offset) {
  float f = float(acc) * scale + offset;
  f = f > 0.0f ? f : 0.0f;
  f = f < 255.0f ? f : 255.0f;
  f = (f + kRound) - kRound;
  return int(f);
}

// Byte j of a weight quad, as the signed weight it holds.
inline int quad_byte(std::int32_t quad, int j) { return std::int8_t(std::uint32_t(quad) >> (8 * j)); }

// ---- C1 + S2 ----------------------------------------------------------------------------------------
// Lanes are 16 output columns x (two vectors per row: x 0..15 and 16..31, of which 28..31 are thrown
// away). A row quad holds the pixels x .. x + 3 of one input row (taps kw 0..3), and a column quad the
// pixels of column x + 4 in four consecutive rows (taps kw 4 of kh 0..3); the last tap (4, 4) is the first
// byte of the row quad x + 4 .. x + 7 of row 4, whose other weights are zero. So the 25 taps take 7 quads
// (28 products) instead of 5 rows × 2 row quads (40), and the quads of the input serve every C1 map.

// Vector xh holds the columns x = 2·i + xh of lanes i = 0..15 (x 28..31 thrown away), so S2's max over
// a column pair is one max of the two vectors. Lane i of quad vector (half, xh) takes row bytes
// x + 4·half + j, j = 0..3.
constexpr int c1_quad_byte(int half, int xh, int k) { return 2 * (k / 4) + xh + 4 * half + k % 4; }
template <int Half, int Xh, int... K>
LENET_INLINE inline I16 c1_quads(const U8x64& row, std::integer_sequence<int, K...>) {
  return simd::bit_cast<I16>(U8x64(__builtin_shufflevector(row, row, c1_quad_byte(Half, Xh, K)...)));
}
// Lane i of column quad vector xh, from the 128 bytes of rows y .. y + 3, takes byte j of row y + j at
// column x + 4 (lanes of columns past 31 are thrown away: any byte).
constexpr int c1_column_byte(int xh, int k) {
  const int col = 2 * (k / 4) + xh + 4;
  return col < 32 ? (k % 4) * 32 + col : 0;
}
template <int Xh, int... K>
LENET_INLINE inline I16 c1_column_quads(const U8x64& rows01, const U8x64& rows23,
                                        std::integer_sequence<int, K...>) {
  return simd::bit_cast<I16>(U8x64(__builtin_shufflevector(rows01, rows23, c1_column_byte(Xh, K)...)));
}

// S2's output row: lane px of maps[c] → byte px·6 + c, for px 0..13; the 128 bytes k = 0..127 of two
// vectors from the 96 bytes (map c at c·16).
constexpr int s2_interleave(int k) { return k < 84 ? (k % 6) * 16 + k / 6 : 0; }
template <int Base, int... K>
LENET_INLINE inline U8x64 s2_row(const U8x64& lo, const U8x64& hi, std::integer_sequence<int, K...>) {
  return __builtin_shufflevector(lo, hi, s2_interleave(Base + K)...);
}
template <int... K>
LENET_INLINE inline U8x32 concat(const U8x16& a, const U8x16& b, std::integer_sequence<int, K...>) {
  return __builtin_shufflevector(a, b, K...);
}
template <int... K>
LENET_INLINE inline U8x64 concat(const U8x32& a, const U8x32& b, std::integer_sequence<int, K...>) {
  return __builtin_shufflevector(a, b, K...);
}

template <Isa S>
LENET_INLINE inline void c1s2_fast(std::uint8_t* s2, const std::uint8_t* image, const Int8Layer& c1, int n) {
  constexpr auto k64 = std::make_integer_sequence<int, 64>{};
  constexpr auto k32 = std::make_integer_sequence<int, 32>{};
  const std::int32_t* w = c1.weight.data();
  // Per map, the column quad's weights: tap kw 4 (byte 0 of the second row quad) of kh 0..3.
  std::int32_t wcol[6];
  for (int c = 0; c < 6; ++c) {
    std::uint32_t v = 0;
    for (int kh = 0; kh < 4; ++kh) v |= (std::uint32_t(w[(c * 5 + kh) * 2 + 1]) & 0xFFu) << (8 * kh);
    wcol[c] = std::int32_t(v);
  }
  for (int i = 0; i < n; ++i) {
    const std::uint8_t* img = image + std::size_t(i) * kInt8ImageBytes;
    std::uint8_t* out = s2 + std::size_t(i) * kInt8S2Bytes;
    alignas(64) I16 q[32][2];  // [input row][xh]: row quads of taps kw 0..3
    for (int r = 0; r < 32; ++r) {
      const U8x64 row = load<U8x64>(img + r * 32);
      q[r][0] = c1_quads<0, 0>(row, k64);
      q[r][1] = c1_quads<0, 1>(row, k64);
    }
    for (int py = 0; py < 14; ++py) {
      // The two C1 rows that S2 pools, 2·py and 2·py + 1, side by side: each weight broadcast feeds four
      // vpdpbusd (2 rows × 2 column vectors), and 24 independent sums hide vpdpbusd's latency.
      I16 acc[2][6][2] = {};
      const auto madd = [&](const I16& a00, const I16& a01, const I16& a10, const I16& a11,
                            const std::int32_t* wq, int stride) LENET_INLINE {
#pragma GCC unroll 6
        for (int c = 0; c < 6; ++c) {
          const I16 wv = splat32<S>(wq[c * stride]);
          acc[0][c][0] = dpbusd<S>(acc[0][c][0], a00, wv);
          acc[0][c][1] = dpbusd<S>(acc[0][c][1], a01, wv);
          acc[1][c][0] = dpbusd<S>(acc[1][c][0], a10, wv);
          acc[1][c][1] = dpbusd<S>(acc[1][c][1], a11, wv);
        }
      };
      const int y = 2 * py;
#pragma GCC unroll 5
      for (int kh = 0; kh < 5; ++kh)
        madd(q[y + kh][0], q[y + kh][1], q[y + 1 + kh][0], q[y + 1 + kh][1], w + kh * 2, 10);
      {  // tap (4, 4): the row quads x + 4 .. x + 7 of row 4
        const U8x64 r0 = load<U8x64>(img + (y + 4) * 32), r1 = load<U8x64>(img + (y + 5) * 32);
        madd(c1_quads<1, 0>(r0, k64), c1_quads<1, 1>(r0, k64), c1_quads<1, 0>(r1, k64),
             c1_quads<1, 1>(r1, k64), w + 4 * 2 + 1, 10);
      }
      {  // taps (0..3, 4): the column quads of rows y .. y + 3 and y + 1 .. y + 4
        const U8x64 r0 = load<U8x64>(img + y * 32), r1 = load<U8x64>(img + (y + 1) * 32);
        const U8x64 r2 = load<U8x64>(img + (y + 2) * 32), r3 = load<U8x64>(img + (y + 3) * 32);
        madd(c1_column_quads<0>(r0, r2, k64), c1_column_quads<1>(r0, r2, k64),
             c1_column_quads<0>(r1, r3, k64), c1_column_quads<1>(r1, r3, k64), wcol, 1);
      }
      // S2 over the row pair and the column pair, then the requantisation (monotone, so it commutes with
      // the max) of 14 columns.
      U8x16 b[6];
#pragma GCC unroll 6
      for (int c = 0; c < 6; ++c) {
        const I16 m = max(max(acc[0][c][0], acc[1][c][0]), max(acc[0][c][1], acc[1][c][1]));
        // s − 0 is s in every lane (0 + s is not, for s = −0), so this is one broadcast from memory.
        b[c] = __builtin_convertvector(requantize<S>(m, c1.scale[c] - F16{}, c1.offset[c] - F16{}), U8x16);
      }
      const U8x64 lo = concat(concat(b[0], b[1], k32), concat(b[2], b[3], k32), k64);
      const U8x64 hi = concat(concat(b[4], b[5], k32), concat(U8x16{}, U8x16{}, k32), k64);
      // Two 64-byte stores: bytes past the row's 84 are overwritten by the next row (or lie in the
      // image's padding after the last).
      store(out + py * 84, s2_row<0>(lo, hi, k64));
      store(out + py * 84 + 64, s2_row<64>(lo, hi, k64));
    }
  }
}

// ---- C3 + S4 ----------------------------------------------------------------------------------------
// Lanes are the 16 C3 maps. For output (y, x) and kernel row kh, the 30 inputs (kw, map) are 30
// consecutive bytes of S2's HWC row y + kh from column x: 8 quads (2 padding bytes × zero weights).

template <Isa S>
LENET_INLINE inline void c3s4_fast(std::uint8_t* s4, const std::uint8_t* s2, const Int8Layer& c3, int n) {
  const F16 scale = load<F16>(c3.scale.data()), offset = load<F16>(c3.offset.data());
  for (int i = 0; i < n; ++i) {
    const std::uint8_t* in = s2 + std::size_t(i) * kInt8S2Bytes;
    std::uint8_t* out = s4 + std::size_t(i) * kInt8S4Bytes;
    for (int py = 0; py < 5; ++py) {
      I16 acc[2][10] = {};  // C3 rows 2·py and 2·py + 1
      for (int kh = 0; kh < 5; ++kh)
        for (int q = 0; q < 8; ++q) {
          const I16 wq = load<I16>(c3.weight.data() + (kh * 8 + q) * 16);
          const std::uint8_t* row = in + (2 * py + kh) * 84 + 4 * q;
#pragma GCC unroll 2
          for (int dy = 0; dy < 2; ++dy)
#pragma GCC unroll 10
            for (int x = 0; x < 10; ++x)
              acc[dy][x] = dpbusd<S>(acc[dy][x], splat32<S>(row + dy * 84 + x * 6), wq);
        }
#pragma GCC unroll 5
      for (int px = 0; px < 5; ++px) {
        const I16 m = max(max(acc[0][2 * px], acc[0][2 * px + 1]), max(acc[1][2 * px], acc[1][2 * px + 1]));
        store(out + (py * 5 + px) * 16, __builtin_convertvector(requantize<S>(m, scale, offset), U8x16));
      }
    }
  }
}

// ---- Full connections -------------------------------------------------------------------------------
// Lanes are 16 outputs; each input quad is broadcast. M images share each loaded weight vector, and the
// weights of a block of up to 4 vectors (C5: 25.6 kB) stay in L1 while every image of the call passes.

template <Isa S, int NB, int M, bool Logits>
LENET_INLINE inline void fc_block(void* out, const std::uint8_t* in, const Int8Layer& fc, int block) {
  I16 acc[M][NB] = {};
  const int quads = fc.in_bytes / 4;
  for (int q = 0; q < quads; ++q) {
    I16 wq[NB];
#pragma GCC unroll 8
    for (int b = 0; b < NB; ++b)
      wq[b] = load<I16>(fc.weight.data() + std::size_t(q) * fc.out_lanes + (block + b) * 16);
#pragma GCC unroll 4
    for (int m = 0; m < M; ++m) {
      const I16 a = splat32<S>(in + std::size_t(m) * fc.in_bytes + 4 * q);
#pragma GCC unroll 8
      for (int b = 0; b < NB; ++b) acc[m][b] = dpbusd<S>(acc[m][b], a, wq[b]);
    }
  }
#pragma GCC unroll 8
  for (int b = 0; b < NB; ++b) {
    const int lane = (block + b) * 16;
    const F16 scale = load<F16>(fc.scale.data() + lane), offset = load<F16>(fc.offset.data() + lane);
#pragma GCC unroll 4
    for (int m = 0; m < M; ++m) {
      if constexpr (Logits) {
        const F16 f = __builtin_convertvector(acc[m][b], F16) * scale + offset;
        float* o = static_cast<float*>(out) + std::size_t(m) * fc.outputs;
        for (int k = 0; k < 16 && lane + k < fc.outputs; ++k) o[lane + k] = f[k];
      } else {
        std::uint8_t* o = static_cast<std::uint8_t*>(out) + std::size_t(m) * fc.out_lanes + lane;
        store(o, __builtin_convertvector(requantize<S>(acc[m][b], scale, offset), U8x16));
      }
    }
  }
}

template <Isa S, int NB, bool Logits>
LENET_INLINE inline void fc_images(void* out, const std::uint8_t* in, const Int8Layer& fc, int n, int block) {
  const std::size_t out_stride = Logits ? sizeof(float) * std::size_t(fc.outputs) : std::size_t(fc.out_lanes);
  int i = 0;
  for (; i + 4 <= n; i += 4)
    fc_block<S, NB, 4, Logits>(static_cast<char*>(out) + i * out_stride, in + std::size_t(i) * fc.in_bytes,
                               fc, block);
  for (; i < n; ++i)
    fc_block<S, NB, 1, Logits>(static_cast<char*>(out) + i * out_stride, in + std::size_t(i) * fc.in_bytes,
                               fc, block);
}

template <Isa S, bool Logits>
LENET_INLINE inline void fc_fast(void* out, const std::uint8_t* in, const Int8Layer& fc, int n) {
  assert(fc.in_bytes % 4 == 0 && fc.out_lanes % 16 == 0);
  // Blocks of up to 4 vectors of outputs (C5: 4 + 4, F6: 4 + 2, OUTPUT: 1); each count is its own
  // instantiation. 4 images × 4 vectors: 16 sums, 4 weight loads and 4 broadcasts per 16 vpdpbusd.
  for (int block = 0; block < fc.out_lanes / 16; block += 4) {
    const int vectors = std::min(4, fc.out_lanes / 16 - block);
    [&]<int... K>(std::integer_sequence<int, K...>) LENET_INLINE {
      ((vectors == K + 1 ? fc_images<S, K + 1, Logits>(out, in, fc, n, block) : void()), ...);
    }
    (std::make_integer_sequence<int, 4>{});
  }
}

}  // namespace

std::string_view int8_kernel_name() {
  switch (isa()) {
    case Isa::Vnni512:
      return "vnni512";
    case Isa::Avx2:
      return "avx2";
    case Isa::Portable:
      break;
  }
  return "portable";
}

void c1s2_int8_forward(std::uint8_t* s2, const std::uint8_t* image, const Int8Layer& c1, int n) {
  dispatch([&]<Isa S>() LENET_INLINE { c1s2_fast<S>(s2, image, c1, n); });
}
void c3s4_int8_forward(std::uint8_t* s4, const std::uint8_t* s2, const Int8Layer& c3, int n) {
  dispatch([&]<Isa S>() LENET_INLINE { c3s4_fast<S>(s4, s2, c3, n); });
}
void fc_int8_forward(std::uint8_t* out, const std::uint8_t* in, const Int8Layer& fc, int n) {
  dispatch([&]<Isa S>() LENET_INLINE { fc_fast<S, false>(out, in, fc, n); });
}
void fc_int8_logits(float* out, const std::uint8_t* in, const Int8Layer& fc, int n) {
  dispatch([&]<Isa S>() LENET_INLINE { fc_fast<S, true>(out, in, fc, n); });
}

double int8_probe(long iterations, std::int32_t* sink) {
  double ops = 0;
  dispatch([&]<Isa S>() LENET_INLINE {
    constexpr int kChains = 12;  // vpdpbusd latency (5) × ports, and some to spare
    I16 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = I16{} + i;
    // Opaque to the compiler, so that the sums are not folded into a multiplication.
    volatile std::int32_t a_bytes = 0x01010101, w_bytes = 0x01FF01FF;
    const I16 a = I16{} + a_bytes, w = I16{} + w_bytes;
    for (long it = 0; it < iterations; ++it)
      for (int i = 0; i < kChains; ++i) acc[i] = dpbusd<S>(acc[i], a, w);
    I16 total = {};
    for (int i = 0; i < kChains; ++i) total += acc[i];
    std::int32_t s = 0;
    for (int k = 0; k < 16; ++k) s += total[k];
    *sink = s;
    ops = double(iterations) * kChains * 64 * 2;
  });
  return ops;
}

namespace {
// The naive convolution + pooling of one image: level (map, y, x) = requantize(sum_at(map, y, x)) over the
// Side × Side output, then 2×2 max pooling into out (Side/2, Side/2, Maps) HWC.
// The naive 5×5 convolution sum at output (y, x) over an input of Side×Side pixels with Channels
// interleaved channels: weight(kh, kw, c) is the signed weight byte of kernel row kh, column kw, channel c.
template <int Channels, int Side, class Weight>
std::int32_t window_sum(const std::uint8_t* in, int y, int x, const Weight& weight) {
  std::int32_t acc = 0;
  for (int kh = 0; kh < 5; ++kh)
    for (int kw = 0; kw < 5; ++kw)
      for (int c = 0; c < Channels; ++c)
        acc += in[((y + kh) * Side + x + kw) * Channels + c] * weight(kh, kw, c);
  return acc;
}

template <int Maps, int Side, class SumAt>
void conv_pool_naive(std::uint8_t* out, const Int8Layer& l, const SumAt& sum_at) {
  int level[Maps][Side][Side];
  for (int m = 0; m < Maps; ++m)
    for (int y = 0; y < Side; ++y)
      for (int x = 0; x < Side; ++x)
        level[m][y][x] = requantize(sum_at(m, y, x), l.scale[std::size_t(m)], l.offset[std::size_t(m)]);
  constexpr int P = Side / 2;
  for (int py = 0; py < P; ++py)
    for (int px = 0; px < P; ++px)
      for (int m = 0; m < Maps; ++m)
        out[(py * P + px) * Maps + m] =
            std::uint8_t(std::max({level[m][2 * py][2 * px], level[m][2 * py][2 * px + 1],
                                   level[m][2 * py + 1][2 * px], level[m][2 * py + 1][2 * px + 1]}));
}
}  // namespace

namespace naive {

void c1s2_int8_forward(std::uint8_t* s2, const std::uint8_t* image, const Int8Layer& c1, int n) {
  for (int i = 0; i < n; ++i) {
    const std::uint8_t* img = image + std::size_t(i) * kInt8ImageBytes;
    conv_pool_naive<6, 28>(s2 + std::size_t(i) * kInt8S2Bytes, c1, [&](int m, int y, int x) {
      return window_sum<1, 32>(img, y, x, [&](int kh, int kw, int) {
        return quad_byte(c1.weight[std::size_t((m * 5 + kh) * 2 + kw / 4)], kw % 4);
      });
    });
  }
}

void c3s4_int8_forward(std::uint8_t* s4, const std::uint8_t* s2, const Int8Layer& c3, int n) {
  for (int i = 0; i < n; ++i) {
    const std::uint8_t* in = s2 + std::size_t(i) * kInt8S2Bytes;
    conv_pool_naive<16, 10>(s4 + std::size_t(i) * kInt8S4Bytes, c3, [&](int o, int y, int x) {
      return window_sum<6, 14>(in, y, x, [&](int kh, int kw, int c) {
        const int b = kw * 6 + c;  // byte of the kernel row's 30
        return quad_byte(c3.weight[std::size_t((kh * 8 + b / 4) * 16 + o)], b % 4);
      });
    });
  }
}

namespace {
std::int32_t fc_sum(const std::uint8_t* in, const Int8Layer& fc, int o) {
  std::int32_t acc = 0;
  for (int k = 0; k < fc.in_bytes; ++k)
    acc +=
        in[k] * quad_byte(fc.weight[std::size_t(k / 4) * std::size_t(fc.out_lanes) + std::size_t(o)], k % 4);
  return acc;
}
}  // namespace

void fc_int8_forward(std::uint8_t* out, const std::uint8_t* in, const Int8Layer& fc, int n) {
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < fc.out_lanes; ++o)
      out[std::size_t(i) * fc.out_lanes + o] =
          std::uint8_t(requantize(fc_sum(in + std::size_t(i) * fc.in_bytes, fc, o), fc.scale[std::size_t(o)],
                                  fc.offset[std::size_t(o)]));
}

void fc_int8_logits(float* out, const std::uint8_t* in, const Int8Layer& fc, int n) {
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < fc.outputs; ++o)
      out[std::size_t(i) * fc.outputs + o] =
          float(fc_sum(in + std::size_t(i) * fc.in_bytes, fc, o)) * fc.scale[std::size_t(o)] +
          fc.offset[std::size_t(o)];
}

}  // namespace naive

}  // namespace lenet

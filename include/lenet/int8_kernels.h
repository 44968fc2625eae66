// The int8 kernels of the quantised modern LeNet-5 (quantize.h): unsigned 8-bit activations times signed
// 8-bit weights summed in int32 (AVX-512 VNNI's vpdpbusd), each beside its naive reference.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "lenet/aligned.h"

namespace lenet {

// Bytes per image of each activation buffer. Activations are u8 levels (real value = level × the layer's
// activation scale); rows are padded so that the fast kernels may load and store whole vectors.
inline constexpr std::size_t kInt8ImageBytes = 32 * 32;  // (32, 32) pixel levels, 0 = background
inline constexpr std::size_t kInt8ImageSlack = 64;       // after the last image: C1 loads 64-byte rows
inline constexpr std::size_t kInt8S2Bytes = 1280;        // (14, 14, 6) HWC = 1176 used
inline constexpr std::size_t kInt8S4Bytes = 5 * 5 * 16;  // (5, 5, 16) HWC
inline constexpr std::size_t kInt8C5Bytes = 128;         // 120 used, the rest 0
inline constexpr std::size_t kInt8F6Bytes = 96;          // 84 used, the rest 0

// One layer's quantised weights, packed in quads of 4 consecutive input bytes as vpdpbusd reads them,
// and per output lane the requantisation: level_out = clamp(round(acc · scale + offset), 0, 255)
// (ReLU and the 8-bit range in one), or for logits acc · scale + offset.
struct Int8Layer {
  // C1: [map 6][kh 5][half 2] quads, bytes kw = 4·half .. 4·half+3 (kw ≥ 5 zero).
  // C3: [kh 5][quad 8][map 16], quad bytes b = 4·quad .. +3 of the 30 bytes (kw, in map) = (b / 6, b % 6)
  //     of one S2 row (b ≥ 30 zero).
  // Full layers: [quad in_bytes/4][out lanes], quad bytes = inputs 4·quad .. +3 (padding inputs zero).
  std::vector<std::int32_t, CacheAligned<std::int32_t>> weight;
  AlignedFloats scale, offset;  // per output lane, padded lanes 0
  int in_bytes = 0;             // full layers: the input stride (multiple of 4)
  int out_lanes = 0;            // full layers: the output stride (multiple of 16); C1 16, C3 16
  int outputs = 0;              // real outputs (C1 6, C3 16, C5 120, F6 84, OUTPUT 10)
};

// Which int8 kernels run here, from simd::level() and the CPU: "vnni512" (AVX-512 VNNI and VBMI),
// "avx2" (the same vectors, products by widening) or "portable".
std::string_view int8_kernel_name();

// image (n, 32, 32) levels -> s2 (n, 14, 14, 6): C1 5×5 convolution, ReLU, requantisation, S2 2×2 max
// pooling. image needs kInt8ImageSlack readable bytes after the last image.
void c1s2_int8_forward(std::uint8_t* s2, const std::uint8_t* image, const Int8Layer& c1, int n);
// s2 (n, 14, 14, 6) -> s4 (n, 5, 5, 16): C3 full 5×5 convolution, ReLU, requantisation, S4 max pooling.
void c3s4_int8_forward(std::uint8_t* s4, const std::uint8_t* s2, const Int8Layer& c3, int n);
// in (n, in_bytes) -> out (n, out_lanes): full connection, ReLU, requantisation (C5 reads S4's HWC bytes).
void fc_int8_forward(std::uint8_t* out, const std::uint8_t* in, const Int8Layer& fc, int n);
// in (n, in_bytes) -> out (n, outputs) floats: full connection without ReLU (the logits).
void fc_int8_logits(float* out, const std::uint8_t* in, const Int8Layer& fc, int n);

// The int8 peak-rate probe: `iterations` rounds of 12 independent 16-lane u8×s8 dot products of 4 (one
// vpdpbusd each on AVX-512 VNNI), nothing else. Returns the operations done (2 per multiply-add).
double int8_probe(long iterations, std::int32_t* sink);

namespace naive {
void c1s2_int8_forward(std::uint8_t* s2, const std::uint8_t* image, const Int8Layer& c1, int n);
void c3s4_int8_forward(std::uint8_t* s4, const std::uint8_t* s2, const Int8Layer& c3, int n);
void fc_int8_forward(std::uint8_t* out, const std::uint8_t* in, const Int8Layer& fc, int n);
void fc_int8_logits(float* out, const std::uint8_t* in, const Int8Layer& fc, int n);
}  // namespace naive

}  // namespace lenet

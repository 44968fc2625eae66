// The vectorised direct convolutions behind conv2d_forward/backward (src/conv2d.cpp dispatches to them):
// register tiles per vector width, one template per layout, and the weight packings they read. Private to
// conv2d.cpp (templates over simd::Vec<W>, inlined into simd::dispatch's per-ISA instantiations).
// Each kernel takes its scratch (packed weights, padded planes, partial sums) from a Scratch, and
// <kernel>_scratch, just above it, lists the pieces it takes: the callers size their Workspace from it.
#pragma once
#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lenet/aligned.h"
#include "lenet/conv2d.h"
#include "lenet/simd.h"
#include "lenet/workspace.h"

namespace lenet::conv_tiles {

// ---- vectorised direct convolutions (simd::Vec<W>, one variant per ISA) ----
// Three ways to lay the vectors: across an output row ("rows": C1, and any shape), across the output
// maps ("maps": C3, whose 16 maps fill a vector, so no lane is wasted on a 10-wide row), and across an
// input row for the input gradient (a correlation of the zero-padded d_out with the flipped kernels).

// Register tiles per vector width W (AVX-512: 32 registers, AVX2 and SSE: 16).
template <int W>
struct ConvTiles {
  // rows forward: OB output maps × NV vectors along the output row
  static constexpr int kRowsOB = W == 16 ? 6 : 2, kRowsNV = W == 16 ? 2 : 4;
  // maps forward: PY × PX output pixels, each NO vectors of maps (W·NO maps per group)
  static constexpr int kMapsNO = 16 / W, kMapsPY = W == 16 ? 5 : 1, kMapsPX = W == 4 ? 2 : 5;
  // rows weight gradient: OB output maps × the 5 taps of one kernel row
  static constexpr int kGradOB = W == 16 ? 3 : W == 8 ? 2 : 1;
  // maps weight gradient: KY kernel rows × 5 taps, each NO vectors of maps (AVX-512 and AVX2 only)
  static constexpr int kMapsGradKY = W == 16 ? 5 : 1;
  // input gradient: CB input maps × RB input rows × NV vectors along the row (rows up to NV·W wide)
  static constexpr int kDinCB = W == 4 ? 3 : 6, kDinRB = W == 16 ? 2 : 1, kDinNV = 16 / W;
  // flattened input gradient: CB input maps × the 5 kernel columns, one vector each
  static constexpr int kFlatCB = W == 16 ? 6 : 2;
};
constexpr int kVecK = 5;  // the maps and weight-gradient kernels are written for LeNet's 5×5 kernels

// Which vectorised kernels apply to a shape at vector width W (the rest takes the im2col + GEMM path).
template <int W>
inline bool maps_layout_fits(const Conv2dShape& s) {
  constexpr int G = ConvTiles<W>::kMapsNO * W;
  return s.out_c % G == 0 && s.out_h() >= ConvTiles<W>::kMapsPY && s.out_w() >= ConvTiles<W>::kMapsPX;
}
template <int W>
inline bool input_grad_fits(const Conv2dShape& s) {
  return s.in_w <= ConvTiles<W>::kDinNV * W && s.in_h >= ConvTiles<W>::kDinRB;
}

// ---- the weight packings the kernels read (from dense weights (out_c, in_c, k, k)) ----

// Dense weights (out_c, in_c, k, k) -> (out_c, k, in_c rounded up to cb, k), zeros past in_c.
inline void pack_flat_input_grad(float* wq, const float* w, const Conv2dShape& s, int cb) {
  const int k = s.k, cpad = (s.in_c + cb - 1) / cb * cb;
  for (int o = 0; o < s.out_c; ++o)
    for (int ky = 0; ky < k; ++ky)
      for (int c = 0; c < cpad; ++c)
        for (int kx = 0; kx < k; ++kx)
          wq[((std::size_t(o) * k + ky) * cpad + c) * k + kx] =
              c < s.in_c ? w[((std::size_t(o) * s.in_c + c) * k + ky) * k + kx] : 0.0f;
}

// Dense weights (out_c, in_c, k, k) rearranged for conv_rows_forward: blocks of OB maps, maps last.
inline void pack_rows_forward(float* wpk, const float* w, const Conv2dShape& s, int ob) {
  const int kk = s.k * s.k, blocks = (s.out_c + ob - 1) / ob;
  for (int blk = 0; blk < blocks; ++blk)
    for (int t = 0; t < s.in_c * kk; ++t)
      for (int j = 0; j < ob; ++j) {
        const int o = blk * ob + j;
        wpk[(std::size_t(blk) * s.in_c * kk + t) * ob + j] =
            o < s.out_c ? w[std::size_t(o) * s.in_c * kk + t] : 0;
      }
}

// Dense weights (out_c, in_c, k, k) -> (out_c, k, k, in_c rounded up to cb, zeros past in_c).
inline void pack_input_grad(float* wpd, const float* w, const Conv2dShape& s, int cb) {
  const int kk = s.k * s.k, cpad = (s.in_c + cb - 1) / cb * cb;
  for (int o = 0; o < s.out_c; ++o)
    for (int t = 0; t < kk; ++t)
      for (int c = 0; c < cpad; ++c)
        wpd[(std::size_t(o) * kk + t) * cpad + c] =
            c < s.in_c ? w[(std::size_t(o) * s.in_c + c) * kk + t] : 0;
}

// The fused ReLU, lane by lane as relu_forward: x > 0 ? x : 0 (a NaN becomes 0 there too).
template <int W>
LENET_INLINE inline simd::Vec<W> relu_of(const simd::Vec<W>& x) {
  return x > 0.0f ? x : simd::Vec<W>{};
}

// Rows that start on a cache line (a multiple of W floats into an aligned buffer) are read as whole
// aligned vectors, and the vectors at the kernel's shifts 1..4 are taken from two of them (simd::window):
// at AVX-512 a load across two lines costs about two loads, and these kernels were limited by them.
template <int W>
inline bool rows_on_cache_lines(const float* buffer, int row_floats) {
  return W == 16 && row_floats % W == 0 &&
         reinterpret_cast<std::uintptr_t>(buffer) % (W * sizeof(float)) == 0;
}

// One kernel tap KX of conv_rows_forward on aligned rows: r holds the row's NV + 1 aligned vectors.
template <int W, int KX, int OB, int NV>
LENET_INLINE inline void rows_forward_tap(simd::Vec<W> (&acc)[OB][NV], const simd::Vec<W> (&r)[NV + 1],
                                          const float* w) {
  for (int v = 0; v < NV; ++v) {
    const simd::Vec<W> iv = KX == 0 ? r[v] : simd::window<W, KX>(r[v], r[v + 1]);
    for (int j = 0; j < OB; ++j) acc[j][v] += w[KX * OB + j] * iv;
  }
}

// Scratch of conv_rows_forward: the weights packed for it (pack_rows_forward).
template <int W>
inline std::array<std::size_t, 1> conv_rows_forward_scratch(const Conv2dShape& s) {
  constexpr int OB = ConvTiles<W>::kRowsOB;
  return {std::size_t(s.out_c + OB - 1) / OB * OB * s.in_c * s.k * s.k};
}

// Forward, vectors along the output row, from dense weights w, packed for each block of OB maps as
// (in_c, k, k, OB) with zeros for maps past out_c.
template <int W>
LENET_INLINE inline void conv_rows_forward(float* out, const float* in, const float* w_dense,
                                           const float* bias, const Conv2dShape& s, int n, bool relu,
                                           Scratch scratch) {
  using V = simd::Vec<W>;
  constexpr int OB = ConvTiles<W>::kRowsOB, NV = ConvTiles<W>::kRowsNV;
  const int oh = s.out_h(), ow = s.out_w(), k = s.k, blocks = (s.out_c + OB - 1) / OB;
  const auto [packed] = conv_rows_forward_scratch<W>(s);
  float* wpk = scratch.take(packed);
  pack_rows_forward(wpk, w_dense, s, OB);
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w, ohw = std::size_t(oh) * ow;
  const bool aligned = k == kVecK && rows_on_cache_lines<W>(in, s.in_w);
  for (int b = 0; b < n; ++b) {
    const float* in_b = in + b * in_size;
    float* out_b = out + b * s.out_c * ohw;
    for (int blk = 0; blk < blocks; ++blk) {
      const float* w_blk = wpk + std::size_t(blk) * s.in_c * k * k * OB;
      const int o0 = blk * OB, maps = std::min(OB, s.out_c - o0);
      for (int y = 0; y < oh; ++y)
        for (int x0 = 0; x0 < ow; x0 += NV * W) {
          int lanes[NV], row_lanes[NV + 1];
          for (int v = 0; v < NV; ++v) lanes[v] = std::clamp(ow - x0 - v * W, 0, W);
          for (int v = 0; v <= NV; ++v) row_lanes[v] = std::clamp(s.in_w - x0 - v * W, 0, W);
          V acc[OB][NV];
          for (int j = 0; j < OB; ++j)
            for (int v = 0; v < NV; ++v) acc[j][v] = simd::splat<W>(j < maps ? bias[o0 + j] : 0.0f);
          const float* w = w_blk;
          for (int c = 0; c < s.in_c; ++c)
            for (int ky = 0; ky < k; ++ky) {
              const float* row = in_b + (std::size_t(c) * s.in_h + y + ky) * s.in_w + x0;
              if (aligned) {  // lanes past the row read as 0, and only reach outputs past the row
                V r[NV + 1];
                for (int v = 0; v <= NV; ++v) r[v] = simd::load_n<W>(row + v * W, row_lanes[v]);
                rows_forward_tap<W, 0>(acc, r, w);
                rows_forward_tap<W, 1>(acc, r, w);
                rows_forward_tap<W, 2>(acc, r, w);
                rows_forward_tap<W, 3>(acc, r, w);
                rows_forward_tap<W, 4>(acc, r, w);
                w += kVecK * OB;
                continue;
              }
              for (int kx = 0; kx < k; ++kx, w += OB) {
                V iv[NV];
                for (int v = 0; v < NV; ++v) iv[v] = simd::load_n<W>(row + kx + v * W, lanes[v]);
                for (int j = 0; j < OB; ++j)
                  for (int v = 0; v < NV; ++v) acc[j][v] += w[j] * iv[v];
              }
            }
          if (relu)
            for (int j = 0; j < OB; ++j)
              for (int v = 0; v < NV; ++v) acc[j][v] = relu_of<W>(acc[j][v]);
          for (int j = 0; j < OB; ++j)  // constant bounds keep acc in registers
            for (int v = 0; v < NV; ++v)
              if (j < maps)
                simd::store_n<W>(out_b + (o0 + j) * ohw + std::size_t(y) * ow + x0 + v * W, acc[j][v],
                                 lanes[v]);
        }
    }
  }
}

// Scratch of conv_maps_forward: the weights transposed to (in_c·k·k, out_c), and one sample's output in
// maps-last order (oh·ow, out_c).
template <int W>
inline std::array<std::size_t, 2> conv_maps_forward_scratch(const Conv2dShape& s) {
  return {std::size_t(s.in_c) * s.k * s.k * s.out_c, std::size_t(s.out_h()) * s.out_w() * s.out_c};
}

// Forward, vectors across the output maps: each tile is PY × PX output pixels (the last tiles of a row or
// column shifted back to fit, recomputing a few pixels), summed into maps-last order in `tmaps`
// (oh·ow, out_c) and then transposed into place. Dense weights, read transposed: wt (in_c, k, k, out_c).
template <int W>
LENET_INLINE inline void conv_maps_forward(float* out, const float* in, const float* w_dense,
                                           const float* bias, const Conv2dShape& s, int n, bool relu,
                                           Scratch scratch) {
  assert(maps_layout_fits<W>(s));
  using V = simd::Vec<W>;
  constexpr int NO = ConvTiles<W>::kMapsNO, PY = ConvTiles<W>::kMapsPY, PX = ConvTiles<W>::kMapsPX;
  constexpr int G = NO * W;  // maps per group
  const int oh = s.out_h(), ow = s.out_w(), k = s.k, oc = s.out_c, ckk = s.in_c * k * k;
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w, ohw = std::size_t(oh) * ow;
  const auto [transposed, maps_last] = conv_maps_forward_scratch<W>(s);
  float* wt = scratch.take(transposed);
  simd::transpose_matrix<W>(wt, oc, w_dense, ckk, oc, ckk);
  float* tmaps = scratch.take(maps_last);
  for (int b = 0; b < n; ++b) {
    const float* in_b = in + b * in_size;
    for (int g0 = 0; g0 < oc; g0 += G) {
      V bv[NO];
      for (int q = 0; q < NO; ++q) bv[q] = simd::load<W>(bias + g0 + q * W);
      for (int yb = 0; yb < oh; yb += PY) {
        const int y0 = std::min(yb, oh - PY);
        for (int xb = 0; xb < ow; xb += PX) {
          const int x0 = std::min(xb, ow - PX);
          V acc[PY][PX][NO];
          for (int py = 0; py < PY; ++py)
            for (int px = 0; px < PX; ++px)
              for (int q = 0; q < NO; ++q) acc[py][px][q] = bv[q];
          const float* w = wt + g0;
          for (int c = 0; c < s.in_c; ++c)
            for (int ky = 0; ky < k; ++ky) {
              const float* row = in_b + (std::size_t(c) * s.in_h + y0 + ky) * s.in_w + x0;
              for (int kx = 0; kx < k; ++kx, w += oc) {
                V wv[NO];
                for (int q = 0; q < NO; ++q) wv[q] = simd::load<W>(w + q * W);
                for (int py = 0; py < PY; ++py)
                  for (int px = 0; px < PX; ++px) {
                    const float a = row[py * s.in_w + px + kx];
                    for (int q = 0; q < NO; ++q) acc[py][px][q] += a * wv[q];
                  }
              }
            }
          if (relu)
            for (int py = 0; py < PY; ++py)
              for (int px = 0; px < PX; ++px)
                for (int q = 0; q < NO; ++q) acc[py][px][q] = relu_of<W>(acc[py][px][q]);
          for (int py = 0; py < PY; ++py)
            for (int px = 0; px < PX; ++px)
              for (int q = 0; q < NO; ++q)
                simd::store<W>(tmaps + (std::size_t(y0 + py) * ow + x0 + px) * oc + g0 + q * W,
                               acc[py][px][q]);
        }
      }
    }
    simd::transpose_matrix<W>(out + b * oc * ohw, int(ohw), tmaps, oc, int(ohw), oc);
  }
}

// One kernel tap KX of conv_rows_weight_grad on aligned rows: the input vector from two aligned ones. Its
// lanes past the output row meet zeros of d_out; they hold inputs of the same row (or zeros past it).
// Every input of a row is under some tap of some output, so a NaN there makes this map's gradient NaN
// as the naive sums would, if perhaps at another tap.
template <int W, int KX, int OB, int K>
LENET_INLINE inline void rows_grad_tap(simd::Vec<W> (&acc)[OB * K], const simd::Vec<W> (&gv)[OB],
                                       const simd::Vec<W>& lo, const simd::Vec<W>& hi) {
  const simd::Vec<W> iv = KX == 0 ? lo : simd::window<W, KX>(lo, hi);
  for (int j = 0; j < OB; ++j) acc[j * K + KX] += gv[j] * iv;
}

// Weight gradient, vectors along the output row: d_w (out_c, in_c, k, k) += Σ_b Σ_y,x d_out · in, for
// blocks of OB output maps and one kernel row at a time. Sample by sample, so that one sample's d_out and
// input stay in L1; the per-tap vectors of partial sums are added into `part` (out_c·in_c·k·k vectors),
// whose lanes are summed once at the end.
template <int W>
inline std::array<std::size_t, 1> conv_rows_weight_grad_scratch(const Conv2dShape& s) {
  return {std::size_t(s.out_c) * s.in_c * s.k * s.k * W};  // part
}

template <int W>
LENET_INLINE inline void conv_rows_weight_grad(float* d_w, const float* d_out, const float* in,
                                               const Conv2dShape& s, int n, Scratch scratch) {
  assert(s.k == kVecK);
  using V = simd::Vec<W>;
  constexpr int OB = ConvTiles<W>::kGradOB, K = kVecK, NV = ConvTiles<W>::kRowsNV;
  const int oh = s.out_h(), ow = s.out_w();
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w, ohw = std::size_t(oh) * ow;
  const std::size_t taps = std::size_t(s.out_c) * s.in_c * K * K;
  const bool aligned = rows_on_cache_lines<W>(in, s.in_w);
  const auto [part_floats] = conv_rows_weight_grad_scratch<W>(s);
  float* part = scratch.take(part_floats);
  std::fill(part, part + taps * W, 0.0f);
  for (int b = 0; b < n; ++b)
    for (int o0 = 0; o0 < s.out_c; o0 += OB) {
      const int maps = std::min(OB, s.out_c - o0);
      const float* g[OB];  // maps past out_c repeat the last one and are not stored
      for (int j = 0; j < OB; ++j)
        g[j] = d_out + (std::size_t(b) * s.out_c + o0 + std::min(j, maps - 1)) * ohw;
      for (int c = 0; c < s.in_c; ++c)
        for (int ky = 0; ky < K; ++ky) {
          V acc[OB * K] = {};  // (map j, tap kx) at j·K + kx
          const float* plane = in + b * in_size + (std::size_t(c) * s.in_h + ky) * s.in_w;
          for (int x0 = 0; x0 < ow; x0 += NV * W) {  // one chunk for rows up to NV·W wide
            int lanes[NV], row_lanes[NV + 1];
            for (int v = 0; v < NV; ++v) lanes[v] = std::clamp(ow - x0 - v * W, 0, W);
            for (int v = 0; v <= NV; ++v) row_lanes[v] = std::clamp(s.in_w - x0 - v * W, 0, W);
            for (int y = 0; y < oh; ++y) {
              const float* row = plane + std::size_t(y) * s.in_w + x0;
              const std::size_t gy = std::size_t(y) * ow + x0;
              V r[NV + 1];  // the aligned row, when it is
              if (aligned)
                for (int v = 0; v <= NV; ++v) r[v] = simd::load_n<W>(row + v * W, row_lanes[v]);
              for (int v = 0; v < NV; ++v) {
                V gv[OB];
                for (int j = 0; j < OB; ++j) gv[j] = simd::load_n<W>(g[j] + gy + v * W, lanes[v]);
                if (aligned) {
                  rows_grad_tap<W, 0, OB, K>(acc, gv, r[v], r[v + 1]);
                  rows_grad_tap<W, 1, OB, K>(acc, gv, r[v], r[v + 1]);
                  rows_grad_tap<W, 2, OB, K>(acc, gv, r[v], r[v + 1]);
                  rows_grad_tap<W, 3, OB, K>(acc, gv, r[v], r[v + 1]);
                  rows_grad_tap<W, 4, OB, K>(acc, gv, r[v], r[v + 1]);
                  continue;
                }
                for (int kx = 0; kx < K; ++kx) {
                  const V iv = simd::load_n<W>(row + v * W + kx, lanes[v]);
                  for (int j = 0; j < OB; ++j) acc[j * K + kx] += gv[j] * iv;
                }
              }
            }
          }
          for (int j = 0; j < OB; ++j)
            for (int kx = 0; kx < K; ++kx)
              if (j < maps) {
                float* p = part + (((std::size_t(o0 + j) * s.in_c + c) * K + ky) * K + kx) * W;
                simd::store<W>(p, simd::load<W>(p) + acc[j * K + kx]);
              }
        }
    }
  for (std::size_t t = 0; t < taps; ++t) d_w[t] += simd::hsum<W>(simd::load<W>(part + t * W));
}

// Scratch of conv_maps_weight_grad: the batch's d_out in maps-last order (n, oh·ow, out_c).
inline std::array<std::size_t, 1> conv_maps_weight_grad_scratch(const Conv2dShape& s, int n) {
  return {std::size_t(n) * s.out_h() * s.out_w() * s.out_c};
}

// Which layouts take the maps weight gradient (AVX-512 and AVX2 only).
template <int W>
inline bool maps_weight_grad_fits(const Conv2dShape& s) {
  return W >= 8 && s.k == kVecK && s.out_c % (ConvTiles<W>::kMapsNO * W) == 0;
}

// Weight gradient, vectors across the output maps, from d_out transposed to maps-last order (gt: per
// sample (oh·ow, out_c)): d_w (out_c, in_c, k, k) += Σ_b Σ_pixels in · d_out, KY kernel rows at a time.
template <int W>
LENET_INLINE inline void conv_maps_weight_grad(float* d_w, const float* d_out, const float* in,
                                               const Conv2dShape& s, int n, Scratch scratch) {
  assert(maps_weight_grad_fits<W>(s));
  using V = simd::Vec<W>;
  constexpr int NO = ConvTiles<W>::kMapsNO, KY = ConvTiles<W>::kMapsGradKY, K = kVecK, G = NO * W;
  const int oh = s.out_h(), ow = s.out_w(), oc = s.out_c;
  const std::size_t in_size = std::size_t(s.in_c) * s.in_h * s.in_w, ohw = std::size_t(oh) * ow;
  const auto [maps_last] = conv_maps_weight_grad_scratch(s, n);
  float* gt = scratch.take(maps_last);
  for (int b = 0; b < n; ++b)
    simd::transpose_matrix<W>(gt + b * ohw * oc, oc, d_out + b * oc * ohw, int(ohw), oc, int(ohw));
  for (int g0 = 0; g0 < oc; g0 += G)
    for (int c = 0; c < s.in_c; ++c)
      for (int ky0 = 0; ky0 < K; ky0 += KY) {
        V acc[KY][K][NO] = {};
        for (int b = 0; b < n; ++b) {
          const float* g_b = gt + b * ohw * oc + g0;
          const float* plane = in + b * in_size + std::size_t(c) * s.in_h * s.in_w;
          for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x) {
              V gv[NO];
              for (int q = 0; q < NO; ++q)
                gv[q] = simd::load<W>(g_b + (std::size_t(y) * ow + x) * oc + q * W);
              const float* at = plane + (y + ky0) * s.in_w + x;
              for (int r = 0; r < KY; ++r)
                for (int kx = 0; kx < K; ++kx) {
                  const float a = at[r * s.in_w + kx];
                  for (int q = 0; q < NO; ++q) acc[r][kx][q] += a * gv[q];
                }
            }
        }
        float sums[KY][K][G];  // the sums leave the registers through whole-vector stores
        for (int r = 0; r < KY; ++r)
          for (int kx = 0; kx < K; ++kx)
            for (int q = 0; q < NO; ++q) simd::store<W>(&sums[r][kx][q * W], acc[r][kx][q]);
        for (int r = 0; r < KY; ++r)
          for (int kx = 0; kx < K; ++kx)
            for (int o = 0; o < G; ++o)
              d_w[((std::size_t(g0 + o) * s.in_c + c) * K + ky0 + r) * K + kx] += sums[r][kx][o];
      }
}

// Input gradient, vectors along the input row: d_in(c, iy, ix) = Σ_o,ky,kx w(o, c, ky, kx) ·
// d_out(o, iy − ky, ix − kx), read from `pad`, each d_out plane with k − 1 zero rows above and below and
// k − 1 zero columns left and right, rows `lp` floats apart. Blocks of RB input rows share their ky range,
// so no zero row is visited except at the edges. Dense weights, packed as wpd (out_c, k, k, in_c rounded
// up to CB) with zeros.
template <int W>
inline std::array<std::size_t, 2> conv_rows_input_grad_scratch(const Conv2dShape& s) {
  constexpr int CB = ConvTiles<W>::kDinCB, NV = ConvTiles<W>::kDinNV;
  const std::size_t cpad = std::size_t(s.in_c + CB - 1) / CB * CB, e = std::size_t(s.k - 1);
  const std::size_t lp = NV * W + e, ph = s.out_h() + 2 * e;
  return {std::size_t(s.out_c) * s.k * s.k * cpad, std::size_t(s.out_c) * ph * lp};  // wpd, pad
}

template <int W>
LENET_INLINE inline void conv_rows_input_grad(float* d_in, const float* d_out, const float* w_dense,
                                              const Conv2dShape& s, int n, Scratch scratch) {
  assert(input_grad_fits<W>(s));
  using V = simd::Vec<W>;
  constexpr int CB = ConvTiles<W>::kDinCB, RB = ConvTiles<W>::kDinRB, NV = ConvTiles<W>::kDinNV;
  const int oh = s.out_h(), ow = s.out_w(), k = s.k, e = k - 1;
  const int lp = NV * W + e, ph = oh + 2 * e, cpad = (s.in_c + CB - 1) / CB * CB;
  const std::size_t in_hw = std::size_t(s.in_h) * s.in_w, ohw = std::size_t(oh) * ow;
  const std::size_t plane = std::size_t(ph) * lp;
  const auto [packed, padded] = conv_rows_input_grad_scratch<W>(s);
  float* wpd = scratch.take(packed);
  pack_input_grad(wpd, w_dense, s, CB);
  float* pad = scratch.take(padded);
  std::fill(pad, pad + s.out_c * plane, 0.0f);
  int lanes[NV];
  for (int v = 0; v < NV; ++v) lanes[v] = std::clamp(s.in_w - v * W, 0, W);
  for (int b = 0; b < n; ++b) {
    for (int o = 0; o < s.out_c; ++o)
      for (int y = 0; y < oh; ++y)
        std::memcpy(pad + o * plane + std::size_t(y + e) * lp + e,
                    d_out + (std::size_t(b) * s.out_c + o) * ohw + std::size_t(y) * ow, ow * sizeof(float));
    float* d_in_b = d_in + b * s.in_c * in_hw;
    for (int c0 = 0; c0 < s.in_c; c0 += CB) {
      const int maps = std::min(CB, s.in_c - c0);
      for (int yb = 0; yb < s.in_h; yb += RB) {
        const int y0 = std::min(yb, s.in_h - RB);
        const int ky_lo = std::max(0, y0 - oh + 1), ky_hi = std::min(e, y0 + RB - 1);
        V acc[CB][RB][NV] = {};
        for (int o = 0; o < s.out_c; ++o)
          for (int ky = ky_lo; ky <= ky_hi; ++ky) {
            const float* prow = pad + o * plane + std::size_t(y0 - ky + e) * lp + e;
            const float* w = wpd + (std::size_t(o) * k + ky) * k * cpad + c0;
            for (int kx = 0; kx < k; ++kx, w += cpad) {
              V gv[RB][NV];
              for (int r = 0; r < RB; ++r)
                for (int v = 0; v < NV; ++v) gv[r][v] = simd::load<W>(prow + r * lp + v * W - kx);
              for (int j = 0; j < CB; ++j)
                for (int r = 0; r < RB; ++r)
                  for (int v = 0; v < NV; ++v) acc[j][r][v] += w[j] * gv[r][v];
            }
          }
        for (int j = 0; j < CB; ++j)  // constant bounds keep acc in registers
          for (int r = 0; r < RB; ++r)
            for (int v = 0; v < NV; ++v)
              if (j < maps)
                simd::store_n<W>(d_in_b + (c0 + j) * in_hw + std::size_t(y0 + r) * s.in_w + v * W,
                                 acc[j][r][v], lanes[v]);
      }
    }
  }
}

// Input gradient for 5×5 kernels, in two steps. (1) For each kernel column kx, the partial sums
// P(c, kx; iy, x) = Σ_o Σ_ky w(o, c, ky, kx) · d_out(o, iy − ky, x) over input rows iy and output columns x,
// with vectors along the flattened (iy, x): in a d_out plane with k − 1 zero rows above and below (`gpad`),
// row iy − ky of consecutive (iy, x) is one contiguous run, so the lanes are not spent on the k − 1 columns
// that a row of the input has and a row of d_out lacks. Each vector visits only the ky its rows need.
// (2) d_in(c, iy, ix) = Σ_kx P(c, kx; iy, ix − kx), five shifted loads masked to 0 ≤ ix − kx < ow.
// Dense weights, packed as wq (out_c, k, in_c rounded up to CB, k) with zeros past in_c; part: in_c·k
// segments of `seg` floats, each the in_h·ow partial sums between margins that the shifted loads read.
template <int W>
inline std::size_t flat_input_grad_segment(const Conv2dShape& s) {
  return std::size_t(s.in_h) * s.out_w() + 3 * W;
}
template <int W>
inline std::array<std::size_t, 3> conv_flat_input_grad_scratch(const Conv2dShape& s) {
  constexpr int CB = ConvTiles<W>::kFlatCB;
  const std::size_t cpad = std::size_t(s.in_c + CB - 1) / CB * CB;
  const std::size_t plane = std::size_t(s.out_h() + 2 * (s.k - 1)) * s.out_w();
  return {std::size_t(s.out_c) * s.k * s.k * cpad, std::size_t(s.out_c) * plane + W,  // wq, gpad
          std::size_t(s.in_c) * s.k * flat_input_grad_segment<W>(s)};                 // part
}

template <int W>
LENET_INLINE inline void conv_flat_input_grad(float* d_in, const float* d_out, const float* w_dense,
                                              const Conv2dShape& s, int n, Scratch scratch) {
  assert(s.k == kVecK);
  using V = simd::Vec<W>;
  constexpr int CB = ConvTiles<W>::kFlatCB, K = kVecK, e = K - 1;
  const int oh = s.out_h(), ow = s.out_w(), flat = s.in_h * ow, cpad = (s.in_c + CB - 1) / CB * CB;
  const std::size_t in_hw = std::size_t(s.in_h) * s.in_w, ohw = std::size_t(oh) * ow;
  const std::size_t plane = std::size_t(oh + 2 * e) * ow, seg = flat_input_grad_segment<W>(s);
  const auto [packed, padded, parts] = conv_flat_input_grad_scratch<W>(s);
  float* wq = scratch.take(packed);
  pack_flat_input_grad(wq, w_dense, s, CB);
  float* gpad = scratch.take(padded);
  float* part = scratch.take(parts);
  // The margins around each segment are read and multiplied by a zero mask, so they must hold zeros, not
  // what another kernel left in the scratch: a NaN there survives 0·x (a diverged run poisoned the next
  // one in the same thread; seen by the trainer's NaN check, test_train and test_checkpoint).
  std::fill(part, part + parts, 0.0f);
  std::fill(gpad, gpad + s.out_c * plane + W, 0.0f);
  for (int b = 0; b < n; ++b) {
    for (int o = 0; o < s.out_c; ++o)
      std::memcpy(gpad + o * plane + std::size_t(e) * ow, d_out + (std::size_t(b) * s.out_c + o) * ohw,
                  ohw * sizeof(float));
    for (int c0 = 0; c0 < s.in_c; c0 += CB) {
      const int maps = std::min(CB, s.in_c - c0);
      for (int f0 = 0; f0 < flat; f0 += W) {
        const int iy_lo = f0 / ow, iy_hi = (std::min(f0 + W, flat) - 1) / ow;
        const int ky_lo = std::max(0, iy_lo - oh + 1), ky_hi = std::min(e, iy_hi);
        V acc[CB * K] = {};  // (map j, kx) at j·K + kx
        for (int o = 0; o < s.out_c; ++o)
          for (int ky = ky_lo; ky <= ky_hi; ++ky) {
            const V gv = simd::load<W>(gpad + o * plane + std::size_t(e - ky) * ow + f0);
            const float* w = wq + ((std::size_t(o) * K + ky) * cpad + c0) * K;
            for (int j = 0; j < CB; ++j)  // nested, so that each loop is short enough to unroll completely
              for (int kx = 0; kx < K; ++kx) acc[j * K + kx] += w[j * K + kx] * gv;
          }
        for (int j = 0; j < CB; ++j)  // constant bounds keep acc in registers
          for (int kx = 0; kx < K; ++kx)
            if (j < maps)
              simd::store<W>(part + (std::size_t(c0 + j) * K + kx) * seg + W + f0, acc[j * K + kx]);
      }
    }
    float* d_in_b = d_in + b * s.in_c * in_hw;
    for (int ix0 = 0; ix0 < s.in_w; ix0 += W) {
      V keep[K];  // 1 where the lane's output column ix − kx exists, else 0
      for (int kx = 0; kx < K; ++kx)
        for (int l = 0; l < W; ++l) keep[kx][l] = ix0 + l - kx >= 0 && ix0 + l - kx < ow ? 1.0f : 0.0f;
      for (int c = 0; c < s.in_c; ++c)
        for (int iy = 0; iy < s.in_h; ++iy) {
          V sum = {};
          for (int kx = 0; kx < K; ++kx) {  // a select, not 0·x: whatever is read outside the row stays out
            const V p = simd::load<W>(part + (std::size_t(c) * K + kx) * seg + W + iy * ow + ix0 - kx);
            sum += keep[kx] > 0.5f ? p : V{};
          }
          simd::store_n<W>(d_in_b + c * in_hw + std::size_t(iy) * s.in_w + ix0, sum,
                           std::min(W, s.in_w - ix0));
        }
    }
  }
}

}  // namespace lenet::conv_tiles

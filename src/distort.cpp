// Random warps for data augmentation: each output pixel is mapped back into the source image (the inverse
// affine map, plus an elastic displacement), where it is read by bilinear interpolation (outside the image
// is background, 0).
#include "lenet/distort.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace lenet {

namespace {

// in read at (sx, sy) by bilinear interpolation, 0 outside, rounded to a grey level.
std::uint8_t sample_bilinear(const std::uint8_t* in, int rows, int cols, float sx, float sy) {
  const float fx = std::floor(sx), fy = std::floor(sy);
  const int x0 = int(fx), y0 = int(fy);
  const float wx = sx - fx, wy = sy - fy;
  auto at = [&](int yy, int xx) -> float {
    return (yy < 0 || yy >= rows || xx < 0 || xx >= cols) ? 0.0f : float(in[yy * cols + xx]);
  };
  const float v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)) +
                  wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1));
  return std::uint8_t(std::clamp(std::lround(v), 0L, 255L));
}

// The inverse of a random affine map about the image centre: source = A⁻¹·(p − c − t) + c.
struct InverseAffine {
  float ia, ib, id, tx, ty, cx, cy;
  float source_x(int x, int y) const { return ia * (float(x) - cx - tx) + ib * (float(y) - cy - ty) + cx; }
  float source_y(int y) const { return id * (float(y) - cy - ty) + cy; }
};

InverseAffine draw_affine(int rows, int cols, const DistortRanges& r, Rng& rng) {
  const float tx = rng.uniform(-r.translate, r.translate), ty = rng.uniform(-r.translate, r.translate);
  const float scale = 1.0f + rng.uniform(-r.scale, r.scale);
  const float squeeze = 1.0f + rng.uniform(-r.squeeze, r.squeeze);
  const float shear = rng.uniform(-r.shear, r.shear);
  // Forward map about the centre c: u = S·(A·(p − c)) + c + t, with A = [[q, shear], [0, 1/q]].
  const float a = scale * squeeze, b = scale * shear * squeeze, d = scale / squeeze;
  // Inverse of [[a, b], [0, d]]: [[1/a, −b/(a·d)], [0, 1/d]].
  return {1.0f / a, -b / (a * d), 1.0f / d, tx, ty, 0.5f * float(cols - 1), 0.5f * float(rows - 1)};
}

}  // namespace

void random_affine(std::uint8_t* out, const std::uint8_t* in, int rows, int cols, const DistortRanges& r,
                   Rng& rng) {
  const InverseAffine m = draw_affine(rows, cols, r, rng);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x)
      out[y * cols + x] = sample_bilinear(in, rows, cols, m.source_x(x, y), m.source_y(y));
}

void elastic_field(float* dx, float* dy, int rows, int cols, float alpha, float sigma, Rng& rng,
                   std::vector<float>& scratch) {
  assert(sigma > 0);
  const int radius = int(std::ceil(3 * sigma));
  const int taps = 2 * radius + 1, prows = rows + 2 * radius, pcols = cols + 2 * radius;
  // scratch: the kernel, the padded noise, and the noise smoothed along rows.
  scratch.resize(std::size_t(taps) + std::size_t(prows) * pcols + std::size_t(prows) * cols);
  float* kernel = scratch.data();
  float* noise = kernel + taps;
  float* rowwise = noise + std::size_t(prows) * pcols;
  double total = 0;
  for (int i = 0; i < taps; ++i) {
    const float t = float(i - radius) / sigma;
    kernel[i] = std::exp(-0.5f * t * t);
    total += kernel[i];
  }
  // Normalised, with α folded in (the field is linear in the kernel; applied once per direction, so √α each).
  const float k_scale = float(std::sqrt(double(alpha)) / total);
  for (int i = 0; i < taps; ++i) kernel[i] *= k_scale;
  for (float* field : {dx, dy}) {
    for (int i = 0; i < prows * pcols; ++i) noise[i] = rng.uniform(-1.0f, 1.0f);
    // Both passes run the tap loop outside the pixel loop, so the pixel loop vectorises.
    for (int y = 0; y < prows; ++y) {  // along rows: (prows, pcols) -> (prows, cols)
      const float* src = noise + std::size_t(y) * pcols;
      float* dst = rowwise + std::size_t(y) * cols;
      std::fill(dst, dst + cols, 0.0f);
      for (int k = 0; k < taps; ++k)
        for (int x = 0; x < cols; ++x) dst[x] += kernel[k] * src[x + k];
    }
    for (int y = 0; y < rows; ++y) {  // along columns: (prows, cols) -> (rows, cols)
      float* dst = field + std::size_t(y) * cols;
      std::fill(dst, dst + cols, 0.0f);
      for (int k = 0; k < taps; ++k) {
        const float* src = rowwise + std::size_t(y + k) * cols;
        for (int x = 0; x < cols; ++x) dst[x] += kernel[k] * src[x];
      }
    }
  }
}

void warp_bilinear(std::uint8_t* out, const std::uint8_t* in, int rows, int cols, const float* dx,
                   const float* dy) {
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const int i = y * cols + x;
      out[i] = sample_bilinear(in, rows, cols, float(x) + dx[i], float(y) + dy[i]);
    }
}

void random_distortion(std::uint8_t* out, const std::uint8_t* in, int rows, int cols, const DistortRanges& r,
                       Rng& rng, DistortScratch& scratch) {
  if (r.elastic_alpha <= 0) {
    random_affine(out, in, rows, cols, r, rng);
    return;
  }
  const InverseAffine m = draw_affine(rows, cols, r, rng);
  const std::size_t size = std::size_t(rows) * cols;
  scratch.dx.resize(size);
  scratch.dy.resize(size);
  const float* dx = scratch.dx.data();
  const float* dy = scratch.dy.data();
  elastic_field(scratch.dx.data(), scratch.dy.data(), rows, cols, r.elastic_alpha, r.elastic_sigma, rng,
                scratch.smoothing);
  // The elastic field displaces the affine map's source point: one resampling for both.
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const int i = y * cols + x;
      out[i] = sample_bilinear(in, rows, cols, m.source_x(x, y) + dx[i], m.source_y(y) + dy[i]);
    }
}

Dataset transform_dataset(const Dataset& in, float shift_x, float shift_y, float degrees, float scale) {
  Dataset out = in;
  const int rows = in.rows, cols = in.cols;
  const std::size_t size = std::size_t(rows) * cols;
  // Inverse map: source = R(−θ)·(p − c − t)/scale + c; y grows downwards, so a counter-clockwise turn on
  // screen is a clockwise one in (x, y).
  const float theta = degrees * 3.14159265358979f / 180.0f;
  const float cs = std::cos(theta) / scale, sn = std::sin(theta) / scale;
  const float cx = 0.5f * float(cols - 1), cy = 0.5f * float(rows - 1);
  std::vector<float> dx(size), dy(size);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const float ux = float(x) - cx - shift_x, uy = float(y) - cy - shift_y;
      const std::size_t i = std::size_t(y) * cols + x;
      dx[i] = cs * ux - sn * uy + cx - float(x);
      dy[i] = sn * ux + cs * uy + cy - float(y);
    }
  for (int i = 0; i < in.count; ++i)
    warp_bilinear(out.images.data() + std::size_t(i) * size, in.image(i), rows, cols, dx.data(), dy.data());
  return out;
}

void distort_dataset(Dataset& out, const Dataset& in, const DistortRanges& ranges, float keep_original,
                     Rng& rng) {
  const std::size_t size = std::size_t(in.rows) * in.cols;
  DistortScratch scratch;
  for (int i = 0; i < in.count; ++i) {
    std::uint8_t* dst = out.images.data() + std::size_t(i) * size;
    if (rng.uniform() < keep_original)
      std::memcpy(dst, in.image(i), size);
    else
      random_distortion(dst, in.image(i), in.rows, in.cols, ranges, rng, scratch);
  }
}

}  // namespace lenet

// Random affine warps for data augmentation: the inverse map takes each output pixel back into the
// source image, where it is read by bilinear interpolation (outside the image is background, 0).
#include "lenet/distort.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lenet {

void random_affine(std::uint8_t* out, const std::uint8_t* in, int rows, int cols, const DistortRanges& r,
                   Rng& rng) {
  const float tx = rng.uniform(-r.translate, r.translate), ty = rng.uniform(-r.translate, r.translate);
  const float scale = 1.0f + rng.uniform(-r.scale, r.scale);
  const float squeeze = 1.0f + rng.uniform(-r.squeeze, r.squeeze);
  const float shear = rng.uniform(-r.shear, r.shear);
  // Forward map about the centre c: u = S·(A·(p − c)) + c + t, with A = [[q, shear], [0, 1/q]].
  const float a = scale * squeeze, b = scale * shear * squeeze, d = scale / squeeze;
  // Inverse of [[a, b], [0, d]]: [[1/a, −b/(a·d)], [0, 1/d]].
  const float ia = 1.0f / a, ib = -b / (a * d), id = 1.0f / d;
  const float cx = 0.5f * float(cols - 1), cy = 0.5f * float(rows - 1);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const float ux = float(x) - cx - tx, uy = float(y) - cy - ty;
      const float sx = ia * ux + ib * uy + cx, sy = id * uy + cy;
      const float fx = std::floor(sx), fy = std::floor(sy);
      const int x0 = int(fx), y0 = int(fy);
      const float wx = sx - fx, wy = sy - fy;
      auto at = [&](int yy, int xx) -> float {
        return (yy < 0 || yy >= rows || xx < 0 || xx >= cols) ? 0.0f : float(in[yy * cols + xx]);
      };
      const float v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)) +
                      wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1));
      out[y * cols + x] = std::uint8_t(std::clamp(std::lround(v), 0L, 255L));
    }
}

void distort_dataset(Dataset& out, const Dataset& in, const DistortRanges& ranges, float keep_original,
                     Rng& rng) {
  const std::size_t size = std::size_t(in.rows) * in.cols;
  for (int i = 0; i < in.count; ++i) {
    std::uint8_t* dst = out.images.data() + std::size_t(i) * size;
    if (rng.uniform() < keep_original)
      std::memcpy(dst, in.image(i), size);
    else
      random_affine(dst, in.image(i), in.rows, in.cols, ranges, rng);
  }
}

}  // namespace lenet

// Random warps for data augmentation: each output pixel is mapped back into the source image (the inverse
// affine map, plus an elastic displacement), where it is read by bilinear interpolation (outside the image
// is background, 0).
#include "lenet/distort.h"

#include <omp.h>

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

namespace {

int elastic_radius(float sigma) { return int(std::ceil(3 * sigma)); }

// The normalised Gaussian of σ truncated at ±⌈3σ⌉, with α folded in: the field is linear in the kernel and
// the kernel is applied once per direction, so each pass carries √α.
void elastic_kernel(std::vector<float>& kernel, float alpha, float sigma) {
  assert(sigma > 0);
  const int radius = elastic_radius(sigma), taps = 2 * radius + 1;
  kernel.resize(std::size_t(taps));
  double total = 0;
  for (int i = 0; i < taps; ++i) {
    const float t = float(i - radius) / sigma;
    kernel[std::size_t(i)] = std::exp(-0.5f * t * t);
    total += kernel[std::size_t(i)];
  }
  const float k_scale = float(std::sqrt(double(alpha)) / total);
  for (float& k : kernel) k *= k_scale;
}

// field (rows×cols) = kernel ∗ (kernel ∗ u) separably, u uniform in [−1, 1] drawn on the grid padded by the
// kernel's radius. `work` is resized as needed (a no-op once sized, so nothing is allocated per image).
void smoothed_noise(float* field, int rows, int cols, const std::vector<float>& kernel, Rng& rng,
                    std::vector<float>& work) {
  const int taps = int(kernel.size()), radius = taps / 2;
  const int prows = rows + 2 * radius, pcols = cols + 2 * radius;
  work.resize(std::size_t(prows) * pcols + std::size_t(prows) * cols);
  float* noise = work.data();
  float* rowwise = noise + std::size_t(prows) * pcols;
  // Two 24-bit uniforms from each 64-bit draw (as Rng::uniform, from bits 40-63 and 16-39): the generator is
  // a third of the field's cost, and this halves it.
  const int count = prows * pcols;
  constexpr float kUnit = 1.0f / 16777216.0f;
  int i = 0;
  for (; i + 1 < count; i += 2) {
    const std::uint64_t r = rng.next_u64();
    noise[i] = 2.0f * float(r >> 40) * kUnit - 1.0f;
    noise[i + 1] = 2.0f * float((r >> 16) & 0xFFFFFFu) * kUnit - 1.0f;
  }
  if (i < count) noise[i] = rng.uniform(-1.0f, 1.0f);
  const float* k = kernel.data();
  // Both passes run the tap loop outside the pixel loop, so the pixel loop vectorises.
  for (int y = 0; y < prows; ++y) {  // along rows: (prows, pcols) -> (prows, cols)
    const float* src = noise + std::size_t(y) * pcols;
    float* dst = rowwise + std::size_t(y) * cols;
    std::fill(dst, dst + cols, 0.0f);
    for (int t = 0; t < taps; ++t)
      for (int x = 0; x < cols; ++x) dst[x] += k[t] * src[x + t];
  }
  for (int y = 0; y < rows; ++y) {  // along columns: (prows, cols) -> (rows, cols)
    float* dst = field + std::size_t(y) * cols;
    std::fill(dst, dst + cols, 0.0f);
    for (int t = 0; t < taps; ++t) {
      const float* src = rowwise + std::size_t(y + t) * cols;
      for (int x = 0; x < cols; ++x) dst[x] += k[t] * src[x];
    }
  }
}

}  // namespace

void elastic_field(float* dx, float* dy, int rows, int cols, float alpha, float sigma, Rng& rng,
                   std::vector<float>& scratch) {
  std::vector<float> kernel;
  elastic_kernel(kernel, alpha, sigma);
  smoothed_noise(dx, rows, cols, kernel, rng, scratch);
  smoothed_noise(dy, rows, cols, kernel, rng, scratch);
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
  if (scratch.kernel.empty() || scratch.kernel_alpha != r.elastic_alpha ||
      scratch.kernel_sigma != r.elastic_sigma) {
    elastic_kernel(scratch.kernel, r.elastic_alpha, r.elastic_sigma);
    scratch.kernel_alpha = r.elastic_alpha;
    scratch.kernel_sigma = r.elastic_sigma;
  }
  smoothed_noise(scratch.dx.data(), rows, cols, scratch.kernel, rng, scratch.smoothing);
  smoothed_noise(scratch.dy.data(), rows, cols, scratch.kernel, rng, scratch.smoothing);
  const float* dx = scratch.dx.data();
  const float* dy = scratch.dy.data();
  // The elastic field displaces the affine map's source point: one resampling for both.
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const int i = y * cols + x;
      out[i] = sample_bilinear(in, rows, cols, m.source_x(x, y) + dx[i], m.source_y(y) + dy[i]);
    }
}

namespace {

// 3×3 cross (the pixel and its 4 neighbours) maximum (grow) or minimum (shrink) of img into out.
void cross_extreme(float* out, const float* img, int rows, int cols, bool grow) {
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const auto at = [&](int yy, int xx) {
        return (yy < 0 || yy >= rows || xx < 0 || xx >= cols) ? 0.0f : img[yy * cols + xx];
      };
      const float n[5] = {at(y, x), at(y - 1, x), at(y + 1, x), at(y, x - 1), at(y, x + 1)};
      out[y * cols + x] = grow ? *std::max_element(n, n + 5) : *std::min_element(n, n + 5);
    }
}

// Separable Gaussian blur of σ (taps to ±⌈2.5σ⌉, zero outside) of img, in place; tmp holds rows·cols.
void gaussian_blur(float* img, float* tmp, int rows, int cols, float sigma) {
  const int radius = int(std::ceil(2.5f * sigma));
  float k[16];
  float total = 0;
  for (int i = -radius; i <= radius; ++i)
    total += k[i + radius] = std::exp(-0.5f * float(i * i) / (sigma * sigma));
  for (int i = 0; i <= 2 * radius; ++i) k[i] /= total;
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      float v = 0;
      for (int i = -radius; i <= radius; ++i)
        if (x + i >= 0 && x + i < cols) v += k[i + radius] * img[y * cols + x + i];
      tmp[y * cols + x] = v;
    }
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      float v = 0;
      for (int i = -radius; i <= radius; ++i)
        if (y + i >= 0 && y + i < rows) v += k[i + radius] * tmp[(y + i) * cols + x];
      img[y * cols + x] = v;
    }
}

// img reduced by area averaging to about factor·(rows×cols) and read back bilinearly at full size, in place.
void low_resolution(float* img, float* small, int rows, int cols, float factor) {
  const int sr = std::max(2, int(std::lround(float(rows) * factor)));
  const int sc = std::max(2, int(std::lround(float(cols) * factor)));
  const float fy = float(rows) / float(sr), fx = float(cols) / float(sc);
  for (int y = 0; y < sr; ++y)
    for (int x = 0; x < sc; ++x) {
      const int y0 = int(float(y) * fy), y1 = std::max(y0 + 1, int(float(y + 1) * fy));
      const int x0 = int(float(x) * fx), x1 = std::max(x0 + 1, int(float(x + 1) * fx));
      float sum = 0;
      for (int yy = y0; yy < y1; ++yy)
        for (int xx = x0; xx < x1; ++xx) sum += img[yy * cols + xx];
      small[y * sc + x] = sum / float((y1 - y0) * (x1 - x0));
    }
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const float sy = std::clamp((float(y) + 0.5f) / fy - 0.5f, 0.0f, float(sr - 1));
      const float sx = std::clamp((float(x) + 0.5f) / fx - 0.5f, 0.0f, float(sc - 1));
      const int y0 = std::min(int(sy), sr - 2), x0 = std::min(int(sx), sc - 2);
      const float wy = sy - float(y0), wx = sx - float(x0);
      const float* s = small + y0 * sc + x0;
      img[y * cols + x] = (1 - wy) * ((1 - wx) * s[0] + wx * s[1]) + wy * ((1 - wx) * s[sc] + wx * s[sc + 1]);
    }
}

}  // namespace

void degrade_like_photo(std::uint8_t* image, int rows, int cols, Rng& rng, std::vector<float>& work) {
  const std::size_t size = std::size_t(rows) * cols;
  work.resize(2 * size);
  float* img = work.data();
  float* tmp = img + size;
  double ink = 0;
  for (std::size_t i = 0; i < size; ++i) ink += img[i] = float(image[i]);
  if (ink <= 0) return;
  bool stretch = false;
  switch (rng.below(5)) {
    case 0:  // a marker: one pixel thicker
      cross_extreme(tmp, img, rows, cols, true);
      std::copy(tmp, tmp + size, img);
      break;
    case 1: {  // a ballpoint: one pixel thinner, unless that leaves less than 40% of the ink
      cross_extreme(tmp, img, rows, cols, false);
      double left = 0;
      for (std::size_t i = 0; i < size; ++i) left += tmp[i];
      if (left >= 0.4 * ink) std::copy(tmp, tmp + size, img);
      break;
    }
    case 2:  // out of focus, or a JPEG's softness
      gaussian_blur(img, tmp, rows, cols, rng.uniform(0.6f, 1.2f));
      stretch = true;
      break;
    case 3:  // a tiny scan: the 20 px digit drawn at 6-11 px
      low_resolution(img, tmp, rows, cols, rng.uniform(0.3f, 0.55f));
      stretch = true;
      break;
    default: {  // a ruled line removed across the ink: a band 1-2 px high between the ink's top and bottom
      int top = rows, bottom = -1;
      for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x)
          if (image[y * cols + x] > 0) top = std::min(top, y), bottom = std::max(bottom, y);
      const int band = 1 + int(rng.below(2));
      const int y0 = top + int(rng.below(std::uint32_t(std::max(1, bottom - top - band + 2))));
      for (int y = y0; y < std::min(rows, y0 + band); ++y)
        std::fill(img + y * cols, img + (y + 1) * cols, 0.0f);
    }
  }
  float peak = 0;
  for (std::size_t i = 0; i < size; ++i) peak = std::max(peak, img[i]);
  const float gain = stretch && peak > 0 ? 255.0f / peak : 1.0f;
  for (std::size_t i = 0; i < size; ++i)
    image[i] = std::uint8_t(std::clamp(std::lround(img[i] * gain), 0L, 255L));
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

namespace {

// Image i's own stream for one call of distort_dataset: splitmix64's finaliser over the call's seed and i,
// so the streams of neighbouring images are unrelated and no image's draws depend on another's.
std::uint64_t image_seed(std::uint64_t call_seed, int i) {
  std::uint64_t z = call_seed + 0x9E3779B97F4A7C15ull * (std::uint64_t(i) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

void distort_dataset(Dataset& out, const Dataset& in, const DistortRanges& ranges, float keep_original,
                     Rng& rng, int threads) {
  const std::size_t size = std::size_t(in.rows) * in.cols;
  if (ranges.elastic_alpha <= 0) {
    // Affine only: about a microsecond per image, so one stream in image order, as every published --distort
    // run (and the shipped model) was drawn.
    DistortScratch scratch;
    for (int i = 0; i < in.count; ++i) {
      std::uint8_t* dst = out.images.data() + std::size_t(i) * size;
      if (rng.uniform() < keep_original)
        std::memcpy(dst, in.image(i), size);
      else
        random_distortion(dst, in.image(i), in.rows, in.cols, ranges, rng, scratch);
      if (ranges.photo > 0 && rng.uniform() < ranges.photo)
        degrade_like_photo(dst, in.rows, in.cols, rng, scratch.photo);
    }
    return;
  }
  // Elastic: tens of microseconds per image, so the images are shared among threads, each image drawing from
  // its own stream (one draw of `rng` per call seeds them all): the result is the same for any thread count.
  const std::uint64_t call_seed = rng.next_u64();
#pragma omp parallel num_threads(std::max(1, threads))
  {
    DistortScratch scratch;  // one per thread, sized by its first image
#pragma omp for schedule(static)
    for (int i = 0; i < in.count; ++i) {
      Rng image_rng(image_seed(call_seed, i));
      std::uint8_t* dst = out.images.data() + std::size_t(i) * size;
      if (image_rng.uniform() < keep_original)
        std::memcpy(dst, in.image(i), size);
      else
        random_distortion(dst, in.image(i), in.rows, in.cols, ranges, image_rng, scratch);
      if (ranges.photo > 0 && image_rng.uniform() < ranges.photo)
        degrade_like_photo(dst, in.rows, in.cols, image_rng, scratch.photo);
    }
  }
}

}  // namespace lenet

// Picture files decoded into grey levels within size limits (a hostile header cannot exhaust memory), and
// saved; the errors name the file and what was wrong. The decoders are Debian's maintained libraries.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/export.h"

namespace lenet {

// An image file that cannot be read, is too large, or holds no ink; the message starts with the file name.
struct LENET_API ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A picture within kMaxImageSide a side but with more pixels than the caller allows (decode_grey_image's
// max_pixels): the server answers it with 413, not 422.
struct LENET_API ImageTooLarge : ImageError {
  ImageTooLarge(const std::string& what, int w, int h) : ImageError(what), width(w), height(h) {}
  int width, height;
};

// Larger pictures are refused before any pixel is allocated (a hostile header cannot exhaust memory).
inline constexpr int kMaxImageSide = 8192;
inline constexpr long long kMaxImagePixels = 40'000'000;
inline constexpr std::size_t kMaxImageFileBytes = std::size_t(256) << 20;

// Grey levels as stored in the file: 0 = black, 255 = white, upright (the EXIF or TIFF orientation applied).
// Colour is reduced to luminance; a transparent background is composited over the paper colour that
// contrasts with the ink.
struct GreyImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // row-major
  std::string source;                // file name, for messages
  int reduction = 1;                 // decoded at 1/reduction of the file's size along each side (min_side)
};

// The formats told apart by their first bytes. Decoded: PNG, JPEG, WebP, TIFF, GIF (first frame), BMP
// (uncompressed), PNM (P1-P6). Recognised only to name them in the error: the rest.
enum class PictureFormat { kUnknown, kPng, kJpeg, kWebp, kTiff, kGif, kPnm, kBmp, kHeif, kAvif, kOther };
LENET_API PictureFormat detect_format(const std::uint8_t* bytes, std::size_t size);

// Throws ImageError naming the file: unreadable, empty, unknown or unsupported format (named), truncated,
// corrupt, larger than the limits above, or larger than max_pixels (ImageTooLarge); the limits apply to the
// file's own size. min_side > 0: a format that can decode reduced for less work (JPEG, by libjpeg-turbo's
// DCT-domain scaling) returns the smallest reduction by 1/2, 1/4 or 1/8 whose longer side is still at least
// min_side (for a caller that reduces the picture to that size anyway, as extract_ink does to
// kMaxWorkingSide); the other formats, and min_side = 0, give the file's size.
LENET_API GreyImage load_grey_image(const std::string& path);
LENET_API GreyImage decode_grey_image(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                                      long long max_pixels = kMaxImagePixels, int min_side = 0);

// Writes 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels; the format follows the extension: .png,
// .jpg/.jpeg (quality 1–100; alpha dropped), .pgm (1 channel) or .ppm (3 channels). Throws ImageError
// naming the file.
void save_image(const std::string& path, const std::uint8_t* pixels, int width, int height, int channels,
                int jpeg_quality = 90);

}  // namespace lenet

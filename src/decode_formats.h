// What the decoders of src/decode*.cpp share (private to the decode module): the pixels as decoded, the
// size check and the error every decoder makes, the EXIF orientation reader, and each format's decoder.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lenet::decoding {

// Decoded pixels before they become a GreyImage: grey, or grey + alpha, as stored (not yet upright).
struct Decoded {
  int width = 0, height = 0, channels = 1;
  std::vector<std::uint8_t> pixels;
  int orientation = 1;  // EXIF/TIFF orientation, 1..8 (1 = upright)
  int reduction = 1;    // decoded at 1/reduction of the stored size along each side (JPEG only)
};

// Luminance of 8-bit sRGB (ITU-R BT.601 weights, in 1/256).
inline std::uint8_t luma(unsigned r, unsigned g, unsigned b) {
  return std::uint8_t((77 * r + 150 * g + 29 * b + 128) >> 8);
}

// Throws ImageError "source: what".
[[noreturn]] void fail(const std::string& source, const std::string& what);
// The size checks every decoder makes as soon as it knows the dimensions, before allocating pixels:
// ImageError over kMaxImageSide a side or kMaxImagePixels, ImageTooLarge over max_pixels.
void check_size(const std::string& source, const char* format, long long w, long long h,
                long long max_pixels);
// The EXIF Orientation tag (0x0112) of an EXIF block, read by libexif: `bytes` is either an APP1 payload
// ("Exif\0\0" then a TIFF header) or a bare TIFF header (PNG eXIf, WebP EXIF). 1 when absent or invalid.
int exif_orientation(const std::uint8_t* bytes, std::size_t size);

// One per format: the pixels as stored, and the orientation tag if the format carries one. Each throws
// ImageError naming the source.
using FormatDecoder = Decoded(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                              long long max_pixels);
FormatDecoder decode_png, decode_jpeg, decode_webp, decode_tiff, decode_gif, decode_pnm, decode_bmp;
// A JPEG decoded reduced by 1/2, 1/4 or 1/8 in libjpeg-turbo's IDCT (the smallest whose longer side is still
// at least min_side; 0: full size, as decode_jpeg). The size limits apply to the stored size, as before.
Decoded decode_jpeg_reduced(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                            long long max_pixels, int min_side);

// Grey (1), grey + alpha (2), RGB (3) or RGBA (4) pixels as a file's bytes; empty if encoding failed.
std::string encode_png(const std::uint8_t* pixels, int width, int height, int channels);
std::string encode_jpeg(const std::uint8_t* pixels, int width, int height, int channels, int quality);

}  // namespace lenet::decoding

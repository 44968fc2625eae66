// Picture files decoded into grey levels within size limits (a hostile header cannot exhaust memory), and
// saved; the errors name the file and what was wrong.
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

// Larger pictures are refused before any pixel is allocated (a hostile header cannot exhaust memory).
inline constexpr int kMaxImageSide = 8192;
inline constexpr long long kMaxImagePixels = 40'000'000;
inline constexpr std::size_t kMaxImageFileBytes = std::size_t(256) << 20;

// Grey levels as stored in the file: 0 = black, 255 = white. Colour is reduced to luminance; a
// transparent background is composited over the paper colour that contrasts with the ink.
struct GreyImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // row-major
  std::string source;                // file name, for messages
};

// PNG, JPEG, BMP, PGM/PPM. Throws ImageError naming the file: unreadable, empty, unknown format, truncated,
// larger than the limits above, or undecodable.
LENET_API GreyImage load_grey_image(const std::string& path);
LENET_API GreyImage decode_grey_image(const std::uint8_t* bytes, std::size_t size, const std::string& source);
// Refuses (ImageError naming the source) files that Debian's stb_image would read out of bounds or with
// undefined behaviour: a JPEG Huffman table of over 256 codes, a PNM header number that overflows an int,
// a 16-bit PPM, a PNG whose first IDAT chunk is empty.
// decode_grey_image calls it; call it before any other stbi_ function on bytes from outside.
void check_untrusted_image(const std::uint8_t* bytes, std::size_t size, const std::string& source);

// Writes 1 (grey), 3 (RGB) or 4 (RGBA) channels; the format follows the extension: .png, .jpg/.jpeg
// (quality 1–100), .bmp, .pgm (1 channel) or .ppm (3 channels). Throws ImageError naming the file.
void save_image(const std::string& path, const std::uint8_t* pixels, int width, int height, int channels,
                int jpeg_quality = 90);

}  // namespace lenet

// Pictures of handwriting turned into what LeNet-5 was trained on: image files decoded (stb) within size
// limits, paper and lighting removed, ink found, and the MNIST normalisation (20 px box, 28×28, centre of
// mass).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lenet {

// An image file that cannot be read, is too large, or holds no ink; the message starts with the file name.
struct ImageError : std::runtime_error {
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
GreyImage load_grey_image(const std::string& path);
GreyImage decode_grey_image(const std::uint8_t* bytes, std::size_t size, const std::string& source);
// Refuses (ImageError naming the source) files that Debian's stb_image would read out of bounds or with
// undefined behaviour: a JPEG Huffman table of over 256 codes, a PNM header number that overflows an int,
// a 16-bit PPM, a PNG whose first IDAT chunk is empty.
// decode_grey_image calls it; call it before any other stbi_ function on bytes from outside.
void check_untrusted_image(const std::uint8_t* bytes, std::size_t size, const std::string& source);

// Writes 1 (grey), 3 (RGB) or 4 (RGBA) channels; the format follows the extension: .png, .jpg/.jpeg
// (quality 1–100), .bmp, .pgm (1 channel) or .ppm (3 channels). Throws ImageError naming the file.
void save_image(const std::string& path, const std::uint8_t* pixels, int width, int height, int channels,
                int jpeg_quality = 90);

// The ink of a picture: 0 = paper, 1 = full ink, whatever the polarity, paper tint or lighting of the
// original. Pictures larger than kMaxWorkingSide are first reduced by area averaging.
struct InkMap {
  int width = 0, height = 0;
  std::vector<float> ink;  // row-major
  float threshold = 0.5f;  // Otsu's threshold between paper and ink, in ink units
  double scale = 1;        // working pixels per source pixel (≤ 1)
  bool dark_ink = true;    // the source had dark ink on light paper
  std::string source;
};
inline constexpr int kMaxWorkingSide = 1024;

// Decides polarity (which tail of grey levels the ink is in), subtracts a robust fit of the paper's
// lighting (a quadratic surface, refitted without outliers), removes the paper's noise floor and scales
// the typical stroke to 1. Throws ImageError naming the source when there is no ink to be found.
InkMap extract_ink(const GreyImage& image);

struct Box {
  int x = 0, y = 0, w = 0, h = 0;
  int right() const { return x + w; }
  int bottom() const { return y + h; }
};
Box unite(const Box& a, const Box& b);  // the smallest box holding both (an empty box, w = 0, is neutral)

// 8-connected ink (above the threshold), each piece grown a few pixels into its faint anti-aliased edge.
struct Component {
  Box box;       // of its pixels above the threshold
  Box ink_box;   // including its grown edge
  int area = 0;  // pixels above the threshold
  bool touches_border = false;
};
struct Components {
  std::vector<std::int32_t> labels;  // per pixel: 0 = paper, k + 1 = list[k]
  std::vector<Component> list;
};
Components find_components(const InkMap& ink);

// The pieces that are writing, not specks of noise or the edge of the paper or table in a photo:
// indices into c.list, from left to right.
std::vector<int> significant_components(const Components& c, const InkMap& ink);

// The MNIST procedure (LeCun et al.; see docs): the ink in `box` of the ink map, only from the
// components listed (others in the box are masked out) and only columns [col_begin, col_end), scaled so
// that its longer side is 20 px with anti-aliasing (area averaging), aspect ratio kept, placed in 28×28
// with its centre of mass at the centre. 0 = background, 255 = ink, as in the idx files.
inline constexpr int kMnistSide = 28;
inline constexpr int kMnistBox = 20;
using MnistImage = std::array<std::uint8_t, kMnistSide * kMnistSide>;
// `crop`, if given, receives the box (in ink-map pixels) of the ink that was used; w = 0 if there was none.
MnistImage normalise_ink(const InkMap& ink, const Components& c, const std::vector<int>& members,
                         int col_begin, int col_end, Box* crop = nullptr);

// A w×h ink image (0..1) → the MNIST normalisation above. Strokes much thinner than MNIST's (a fine pen
// in a large picture) are first thickened so that they survive the reduction to 20 px.
MnistImage normalise_digit(const float* ink, int width, int height);

// The whole way from a picture of one digit to the 28×28 image the network reads.
MnistImage preprocess_digit(const GreyImage& image);

// Resampling by exact area coverage (a box filter): anti-aliased when reducing, blocky when enlarging.
void resample_area(float* out, int out_w, int out_h, const float* in, int in_w, int in_h);

}  // namespace lenet

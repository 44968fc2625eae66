// PNG pictures read and written with libpng: its own limits (sides, chunk sizes), errors by longjmp into
// a state that the caller owns, the eXIf chunk's orientation.
#include <png.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "decode_formats.h"
#include "lenet/decode.h"

namespace lenet::decoding {

namespace {

// libpng reports errors by calling error_fn, which must not return: it longjmps back to png_decode's
// setjmp. Everything that must outlive the jump (the structs, the pixels) is owned by PngState, in the
// caller's frame, and png_decode holds no object with a destructor.
struct PngState {
  const std::uint8_t* bytes = nullptr;
  std::size_t size = 0, at = 0;
  png_structp png = nullptr;
  png_infop info = nullptr;
  char error[256] = {};
  Decoded* out = nullptr;
  long long max_pixels = kMaxImagePixels;
  std::string source;
  ~PngState() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

void png_on_error(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->error, sizeof s->error, "%s", message);
  png_longjmp(png, 1);
}
void png_on_warning(png_structp, png_const_charp) {}  // ancillary trouble (a bad CRC in tEXt ...): ignored

void png_read_bytes(png_structp png, png_bytep into, png_size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > s->size - s->at) png_error(png, "the file ends inside a chunk");
  std::memcpy(into, s->bytes + s->at, n);
  s->at += n;
}

// Returns 0 when decoded, 1 on a libpng error (message in s.error), 2 when the header's size was refused
// (the dimensions are in s.out).
int png_decode(PngState& s) {
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
  if (!s.png) return 1;
  s.info = png_create_info_struct(s.png);
  if (!s.info) return 1;
  if (setjmp(png_jmpbuf(s.png))) return 1;
  png_set_read_fn(s.png, &s, png_read_bytes);
  // libpng's own limits: no side over ours, and no ancillary chunk (text, ICC profile) over 8 MB.
  png_set_user_limits(s.png, kMaxImageSide, kMaxImageSide);
  png_set_chunk_malloc_max(s.png, 8u << 20);
  png_read_info(s.png, s.info);
  s.out->width = int(png_get_image_width(s.png, s.info));
  s.out->height = int(png_get_image_height(s.png, s.info));
  if ((long long)s.out->width * s.out->height > std::min(kMaxImagePixels, s.max_pixels)) return 2;
  const int colour = png_get_color_type(s.png, s.info);
  png_set_expand(s.png);  // palette -> RGB, 1/2/4-bit grey -> 8-bit, tRNS -> alpha
  png_set_strip_16(s.png);
  if (colour & PNG_COLOR_MASK_COLOR) png_set_rgb_to_gray_fixed(s.png, 1, -1, -1);
  const int passes = png_set_interlace_handling(s.png);
  png_read_update_info(s.png, s.info);
  s.out->channels = png_get_channels(s.png, s.info);
  if (s.out->channels != 1 && s.out->channels != 2) png_error(s.png, "unexpected channel count");
  const std::size_t row = std::size_t(s.out->width) * s.out->channels;
  s.out->pixels.resize(row * s.out->height);
  // One row at a time (no array of row pointers, which would need a destructor here); an interlaced
  // picture's passes each add their pixels to the rows.
  for (int pass = 0; pass < passes; ++pass)
    for (int y = 0; y < s.out->height; ++y) {
      png_bytep p = s.out->pixels.data() + row * std::size_t(y);
      png_read_rows(s.png, &p, nullptr, 1);
    }
  png_read_end(s.png, s.info);  // through IEND: a file cut short is an error, and a late eXIf is seen
  png_uint_32 exif_size = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(s.png, s.info, &exif_size, &exif) && exif)
    s.out->orientation = exif_orientation(exif, exif_size);
  return 0;
}

}  // namespace

Decoded decode_png(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                   long long max_pixels) {
  Decoded d;
  PngState s;
  s.bytes = bytes;
  s.size = size;
  s.out = &d;
  s.max_pixels = max_pixels;
  const int status = png_decode(s);
  if (status != 0 && size >= 24 && std::memcmp(bytes + 12, "IHDR", 4) == 0) {
    // A header over the limits is what to report, even when the file is also cut short (libpng stops at
    // the first problem, and calls a side over its user limit "Invalid IHDR data"): the IHDR, always
    // first, says what size was claimed.
    const auto be32 = [&](std::size_t at) {
      return (long long)bytes[at] << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3];
    };
    const long long w = be32(16), h = be32(20);
    if (status == 2 || w > kMaxImageSide || h > kMaxImageSide ||
        w * h > std::min(kMaxImagePixels, max_pixels))
      check_size(source, "PNG", w, h, max_pixels);
  }
  if (status != 0) fail(source, std::string("corrupt or truncated PNG: ") + s.error);
  return d;
}

std::string encode_png(const std::uint8_t* pixels, int width, int height, int channels) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = png_uint_32(width);
  image.height = png_uint_32(height);
  static constexpr png_uint_32 kFormat[5] = {0, PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                             PNG_FORMAT_RGBA};
  image.format = kFormat[channels];
  png_alloc_size_t size = 0;
  if (!png_image_write_get_memory_size(image, size, 0, pixels, 0, nullptr)) return {};
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, pixels, 0, nullptr)) return {};
  out.resize(size);
  return out;
}

}  // namespace lenet::decoding

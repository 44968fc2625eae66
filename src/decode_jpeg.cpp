// JPEG pictures read and written with libjpeg-turbo: a truncated or damaged file kept if most of it arrived,
// progressive scans and memory bounded, errors by longjmp into a state the caller owns, the EXIF orientation.
// clang-format off
#include <cstddef>  // jpeglib.h uses size_t and FILE without including their headers
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>  // the warning codes (JWRN_*)
// clang-format on

#include <algorithm>
#include <csetjmp>
#include <cstdlib>
#include <cstring>

#include "decode_formats.h"
#include "lenet/decode.h"

namespace lenet::decoding {

namespace {

// At most this many scans in a progressive JPEG: each scan revisits every coefficient, so a file of
// thousands of tiny scans is a way to make a small upload cost minutes (libjpeg-turbo's own advice).
constexpr int kMaxJpegScans = 100;
// libjpeg's working memory (the coefficients of a progressive 40 Mpixel picture need about 250 MB).
constexpr long kMaxJpegMemory = 512L << 20;

struct JpegState {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr err{};
  jpeg_progress_mgr progress{};
  std::jmp_buf jump{};
  char error[JMSG_LENGTH_MAX + 64] = {};
  bool created = false;
  Decoded* out = nullptr;
  long long max_pixels = kMaxImagePixels;
  int min_side = 0;  // decode reduced, as long as the longer side stays at least this (0: full size)
  // The first warning that means pixel data is missing or wrong from here on (a file cut short by an
  // upload, a damaged scan): its message, the rows delivered intact before it, and the scan it came in.
  bool damaged = false;
  char damage[JMSG_LENGTH_MAX] = {};
  JDIMENSION intact_rows = 0;
  int damaged_scan = 0;
  ~JpegState() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

JpegState& jpeg_state(j_common_ptr cinfo) { return *static_cast<JpegState*>(cinfo->client_data); }

void jpeg_on_error(j_common_ptr cinfo) {
  JpegState& s = jpeg_state(cinfo);
  (*cinfo->err->format_message)(cinfo, s.error);
  std::longjmp(s.jump, 1);
}

// The warnings after which libjpeg paints what follows grey or garbled. The others (stray bytes between
// markers, an unknown JFIF revision or Adobe transform, a bad ICC profile) leave every pixel as encoded.
bool loses_pixels(int msg_code) {
  switch (msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
      return true;
    default:
      return false;
  }
}

// Warnings (level −1) do not stop libjpeg: the first one that loses pixels is noted with how far the
// picture had come, and jpeg_decode decides whether enough arrived.
void jpeg_on_message(j_common_ptr cinfo, int level) {
  JpegState& s = jpeg_state(cinfo);
  if (level >= 0 || s.damaged || !loses_pixels(cinfo->err->msg_code)) return;
  s.damaged = true;
  (*cinfo->err->format_message)(cinfo, s.damage);
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  s.intact_rows = d->output_scanline;  // rows handed out so far were decoded before the damage
  s.damaged_scan = d->input_scan_number;
}
void jpeg_on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    std::snprintf(jpeg_state(cinfo).error, sizeof jpeg_state(cinfo).error,
                  "more than %d progressive scans (a denial-of-service pattern)", kMaxJpegScans);
    std::longjmp(jpeg_state(cinfo).jump, 1);
  }
}

// The reduction 1/n (n = 1, 2, 4 or 8) at which libjpeg-turbo decodes: the smallest picture whose longer
// side is still at least min_side. Its IDCT then computes only the n-th of each 8x8 block's samples from
// the block's lowest frequencies (DCT-domain scaling), so a 12-Mpixel photo read at 1/4 costs a fraction
// of the IDCT, the colour conversion and the memory of the full picture.
int jpeg_reduction(int width, int height, int min_side) {
  const int longer = std::max(width, height);
  int n = 1;
  // libjpeg rounds a reduced side up: ceil(side / n).
  while (min_side > 0 && n < 8 && (longer + 2 * n - 1) / (2 * n) >= min_side) n *= 2;
  return n;
}

int jpeg_decode(JpegState& s, const std::uint8_t* bytes, std::size_t size) {
  s.cinfo.err = jpeg_std_error(&s.err);
  s.err.error_exit = jpeg_on_error;
  s.err.emit_message = jpeg_on_message;
  s.cinfo.client_data = &s;
  if (setjmp(s.jump)) return 1;
  jpeg_create_decompress(&s.cinfo);
  s.created = true;
  s.cinfo.mem->max_memory_to_use = kMaxJpegMemory;
  s.progress.progress_monitor = jpeg_on_progress;
  s.cinfo.progress = &s.progress;
  jpeg_mem_src(&s.cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_save_markers(&s.cinfo, JPEG_APP0 + 1, 0xFFFF);  // APP1: EXIF
  jpeg_read_header(&s.cinfo, TRUE);
  s.out->width = int(s.cinfo.image_width);
  s.out->height = int(s.cinfo.image_height);
  if (s.out->width > kMaxImageSide || s.out->height > kMaxImageSide ||
      (long long)s.out->width * s.out->height > std::min(kMaxImagePixels, s.max_pixels))
    return 2;
  for (jpeg_saved_marker_ptr m = s.cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      s.out->orientation = exif_orientation(m->data, m->data_length);
      break;
    }
  const bool cmyk = s.cinfo.jpeg_color_space == JCS_CMYK || s.cinfo.jpeg_color_space == JCS_YCCK;
  s.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_GRAYSCALE;
  s.cinfo.scale_num = 1;
  s.cinfo.scale_denom = unsigned(jpeg_reduction(s.out->width, s.out->height, s.min_side));
  jpeg_start_decompress(&s.cinfo);
  s.out->width = int(s.cinfo.output_width);
  s.out->height = int(s.cinfo.output_height);
  const std::size_t components = std::size_t(s.cinfo.output_components);
  const std::size_t row = std::size_t(s.out->width) * components;
  s.out->pixels.resize(row * s.out->height);
  // A progressive file damaged after its first scan still holds the whole picture, only less sharp.
  const bool whole = s.cinfo.progressive_mode && s.damaged && s.damaged_scan > 1;
  while (s.cinfo.output_scanline < s.cinfo.output_height && (whole || !s.damaged)) {
    JSAMPROW p = s.out->pixels.data() + row * s.cinfo.output_scanline;
    jpeg_read_scanlines(&s.cinfo, &p, 1);
  }
  if (s.damaged && !whole) {
    // A picture cut short (an upload that stopped, a file half copied) is kept when at least half of its
    // rows arrived: the rest repeat the last intact row (usually the paper), not libjpeg's grey, which
    // the ink detector would take for a dark band. Less than half is refused.
    if (s.intact_rows * 2 < s.cinfo.output_height) {
      std::snprintf(s.error, sizeof s.error, "%s after %u of %u rows (at least half are needed)", s.damage,
                    unsigned(s.intact_rows), unsigned(s.cinfo.output_height));
      return 1;
    }
    for (std::size_t y = s.intact_rows; y < s.cinfo.output_height; ++y)
      std::memcpy(s.out->pixels.data() + row * y, s.out->pixels.data() + row * (s.intact_rows - 1), row);
    jpeg_abort_decompress(&s.cinfo);
  } else {
    jpeg_finish_decompress(&s.cinfo);
  }
  if (cmyk) {
    // Adobe's CMYK JPEGs store inverted inks; the light left is (1 − C)(1 − K) per channel.
    const bool inverted = s.cinfo.saw_Adobe_marker;
    const std::size_t n = std::size_t(s.out->width) * s.out->height;
    for (std::size_t i = 0; i < n; ++i) {
      unsigned v[4];
      for (int k = 0; k < 4; ++k)
        v[k] = inverted ? s.out->pixels[4 * i + k] : 255u - s.out->pixels[4 * i + k];
      s.out->pixels[i] = luma(v[0] * v[3] / 255, v[1] * v[3] / 255, v[2] * v[3] / 255);
    }
    s.out->pixels.resize(n);
  }
  return 0;
}

struct JpegWriter {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr err{};
  std::jmp_buf jump{};
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  bool created = false;
  ~JpegWriter() {
    if (created) jpeg_destroy_compress(&cinfo);
    std::free(buffer);
  }
};

void jpeg_write_error(j_common_ptr cinfo) {
  std::longjmp(static_cast<JpegWriter*>(cinfo->client_data)->jump, 1);
}

// Grey or RGB rows (alpha already dropped) as a baseline JPEG.
bool jpeg_encode(JpegWriter& s, const std::uint8_t* pixels, int width, int height, int channels,
                 int quality) {
  s.cinfo.err = jpeg_std_error(&s.err);
  s.err.error_exit = jpeg_write_error;
  s.cinfo.client_data = &s;
  if (setjmp(s.jump)) return false;
  jpeg_create_compress(&s.cinfo);
  s.created = true;
  jpeg_mem_dest(&s.cinfo, &s.buffer, &s.size);
  s.cinfo.image_width = JDIMENSION(width);
  s.cinfo.image_height = JDIMENSION(height);
  s.cinfo.input_components = channels;
  s.cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&s.cinfo);
  jpeg_set_quality(&s.cinfo, quality, TRUE);
  jpeg_start_compress(&s.cinfo, TRUE);
  while (s.cinfo.next_scanline < s.cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels + std::size_t(s.cinfo.next_scanline) * width * channels);
    jpeg_write_scanlines(&s.cinfo, &row, 1);
  }
  jpeg_finish_compress(&s.cinfo);
  return true;
}

}  // namespace

Decoded decode_jpeg(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                    long long max_pixels) {
  return decode_jpeg_reduced(bytes, size, source, max_pixels, 0);
}

Decoded decode_jpeg_reduced(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                            long long max_pixels, int min_side) {
  Decoded d;
  JpegState s;
  s.out = &d;
  s.max_pixels = max_pixels;
  s.min_side = min_side;
  const int status = jpeg_decode(s, bytes, size);
  if (status == 2) check_size(source, "JPEG", d.width, d.height, max_pixels);
  if (status != 0) fail(source, std::string("corrupt or truncated JPEG: ") + s.error);
  d.channels = 1;
  d.reduction = int(s.cinfo.scale_denom);
  return d;
}

std::string encode_jpeg(const std::uint8_t* pixels, int width, int height, int channels, int quality) {
  std::vector<std::uint8_t> opaque;
  if (channels == 2 || channels == 4) {  // JPEG has no alpha: the colour channels alone
    const int keep = channels - 1;
    opaque.resize(std::size_t(width) * height * keep);
    for (std::size_t i = 0; i < std::size_t(width) * height; ++i)
      std::memcpy(&opaque[i * keep], pixels + i * channels, std::size_t(keep));
    pixels = opaque.data();
    channels = keep;
  }
  JpegWriter s;
  if (!jpeg_encode(s, pixels, width, height, channels, quality)) return {};
  return std::string(reinterpret_cast<const char*>(s.buffer), s.size);
}

}  // namespace lenet::decoding

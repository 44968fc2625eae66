// Picture files: the format told by its first bytes and handed to its decoder (src/decode_<format>.cpp:
// Debian's maintained libraries, PNM and BMP by hand), the EXIF orientation applied, and saving.
#include "lenet/decode.h"

#include <libexif/exif-data.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>

#include "decode_formats.h"

namespace lenet {

namespace decoding {

void fail(const std::string& source, const std::string& what) { throw ImageError(source + ": " + what); }

// The size checks every decoder makes as soon as it knows the dimensions, before allocating pixels.
void check_size(const std::string& source, const char* format, long long w, long long h,
                long long max_pixels) {
  const std::string dims = std::to_string(w) + "x" + std::to_string(h);
  if (w <= 0 || h <= 0) fail(source, std::string(format) + " picture has no pixels (" + dims + ")");
  if (w > kMaxImageSide || h > kMaxImageSide || w * h > kMaxImagePixels)
    fail(source, std::string("image too large: ") + format + " " + dims + ", limit " +
                     std::to_string(kMaxImageSide) + " px a side and " +
                     std::to_string(kMaxImagePixels / 1000000) + " Mpixel");
  if (w * h > max_pixels)
    throw ImageTooLarge(source + ": image too large: " + format + " " + dims + " pixels, limit " +
                            std::to_string(max_pixels) + " pixels",
                        int(w), int(h));
}

// The EXIF Orientation tag (0x0112) of an EXIF block, read by libexif: `bytes` is either an APP1 payload
// ("Exif\0\0" then a TIFF header) or a bare TIFF header (PNG eXIf, WebP EXIF). 1 when absent or invalid.
int exif_orientation(const std::uint8_t* bytes, std::size_t size) {
  static const char kHeader[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (size == 0 || size > (1u << 20)) return 1;
  std::vector<std::uint8_t> block;
  if (size < 6 || std::memcmp(bytes, kHeader, 6) != 0) block.assign(kHeader, kHeader + 6);
  block.insert(block.end(), bytes, bytes + size);
  std::unique_ptr<ExifData, void (*)(ExifData*)> data(
      exif_data_new_from_data(block.data(), unsigned(block.size())), exif_data_unref);
  if (!data) return 1;
  ExifEntry* entry = exif_data_get_entry(data.get(), EXIF_TAG_ORIENTATION);
  if (!entry || entry->format != EXIF_FORMAT_SHORT || entry->components < 1 || entry->size < 2) return 1;
  const int value = exif_get_short(entry->data, exif_data_get_byte_order(data.get()));
  return value >= 1 && value <= 8 ? value : 1;
}

}  // namespace decoding

namespace {

using namespace decoding;

bool starts_with(const std::uint8_t* bytes, std::size_t size, const char* magic, std::size_t n) {
  return size >= n && std::memcmp(bytes, magic, n) == 0;
}

// Turns stored pixels upright, as the EXIF/TIFF orientation says the stored rows and columns are shown
// (TIFF 6.0, Orientation; EXIF 2.3, 4.6.4): for each shown pixel (x, y), the stored pixel it comes from.
void make_upright(Decoded& d) {
  const int o = d.orientation, w = d.width, h = d.height, c = d.channels;
  if (o <= 1 || o > 8) return;
  const bool swap = o >= 5;
  const int ow = swap ? h : w, oh = swap ? w : h;
  std::vector<std::uint8_t> out(d.pixels.size());
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      int sx = x, sy = y;
      switch (o) {
        case 2:
          sx = w - 1 - x;
          break;  // mirrored left-right
        case 3:
          sx = w - 1 - x, sy = h - 1 - y;
          break;  // upside down
        case 4:
          sy = h - 1 - y;
          break;  // mirrored top-bottom
        case 5:
          sx = y, sy = x;
          break;  // transposed
        case 6:
          sx = y, sy = h - 1 - x;
          break;  // stored turned 90° anticlockwise
        case 7:
          sx = w - 1 - y, sy = h - 1 - x;
          break;  // transversed
        case 8:
          sx = w - 1 - y, sy = x;
          break;  // stored turned 90° clockwise
        default:
          break;
      }
      std::memcpy(&out[(std::size_t(y) * ow + x) * c], &d.pixels[(std::size_t(sy) * w + sx) * c],
                  std::size_t(c));
    }
  d.pixels = std::move(out);
  d.width = ow;
  d.height = oh;
  d.orientation = 1;
}

// Composites grey+alpha over paper: white paper under dark ink, black under light ink, judged from the
// opaque pixels, so a digit drawn on a transparent canvas reads either way.
std::vector<std::uint8_t> composite_over_paper(const std::uint8_t* ga, std::size_t count) {
  double weighted = 0, weight = 0;
  for (std::size_t i = 0; i < count; ++i) {
    weighted += double(ga[2 * i]) * ga[2 * i + 1];
    weight += ga[2 * i + 1];
  }
  const double paper = (weight > 0 && weighted / weight > 127.5) ? 0.0 : 255.0;
  std::vector<std::uint8_t> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    const double a = ga[2 * i + 1] / 255.0;
    out[i] = std::uint8_t(std::lround(a * ga[2 * i] + (1 - a) * paper));
  }
  return out;
}

std::string hex_start(const std::uint8_t* b, std::size_t size) {
  std::string hex, text;
  for (std::size_t k = 0; k < std::min<std::size_t>(size, 8); ++k) {
    char two[4];
    std::snprintf(two, sizeof two, "%02X ", b[k]);
    hex += two;
    text += std::isprint(b[k]) ? char(b[k]) : '.';
  }
  hex.pop_back();
  return hex + " (\"" + text + "\")";
}

// What a picture we do not read is, for the error message; empty if not known.
std::string other_format(const std::uint8_t* b, std::size_t size) {
  const auto is = [&](const char* magic, std::size_t n) { return starts_with(b, size, magic, n); };
  if (is("%PDF", 4)) return "PDF documents";
  if (is("8BPS", 4)) return "Photoshop (PSD) files";
  if (is("P7", 2)) return "PAM (P7) pictures";
  if (is("\0\0\1\0", 4)) return "ICO icons";
  if (is("\xFF\x0A", 2) || is("\0\0\0\x0CJXL ", 8)) return "JPEG XL pictures";
  if (is("\0\0\0\x0CjP  ", 8) || is("\xFF\x4F\xFF\x51", 4)) return "JPEG 2000 pictures";
  if (is("qoif", 4)) return "QOI pictures";
  std::size_t k = 0;
  while (k < size && k < 64 && std::isspace(b[k])) ++k;
  if (starts_with(b + k, size - k, "<?xml", 5) || starts_with(b + k, size - k, "<svg", 4))
    return "SVG drawings (or other XML)";
  return "";
}

}  // namespace

PictureFormat detect_format(const std::uint8_t* b, std::size_t size) {
  const auto is = [&](const char* magic, std::size_t n) { return starts_with(b, size, magic, n); };
  if (is("\x89PNG\r\n\x1a\n", 8)) return PictureFormat::kPng;
  if (is("\xFF\xD8\xFF", 3)) return PictureFormat::kJpeg;
  if (is("GIF87a", 6) || is("GIF89a", 6)) return PictureFormat::kGif;
  if (is("RIFF", 4) && size >= 12 && std::memcmp(b + 8, "WEBP", 4) == 0) return PictureFormat::kWebp;
  if (is("II*\0", 4) || is("MM\0*", 4) || is("II+\0", 4) || is("MM\0+", 4)) return PictureFormat::kTiff;
  if (size >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' &&
      (b[2] == ' ' || (b[2] >= '\t' && b[2] <= '\r') || b[2] == '#'))
    return PictureFormat::kPnm;
  if (is("BM", 2)) return PictureFormat::kBmp;
  if (size >= 12 && std::memcmp(b + 4, "ftyp", 4) == 0) {
    const std::string brand(reinterpret_cast<const char*>(b + 8), 4);
    if (brand == "avif" || brand == "avis") return PictureFormat::kAvif;
    for (const char* heif : {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"})
      if (brand == heif) return PictureFormat::kHeif;
  }
  return other_format(b, size).empty() ? PictureFormat::kUnknown : PictureFormat::kOther;
}

namespace {

// The decoder of a format this program reads; nullptr for the others.
FormatDecoder* decoder_for(PictureFormat format) {
  constexpr std::pair<PictureFormat, FormatDecoder*> kDecoders[] = {
      {PictureFormat::kPng, decode_png},   {PictureFormat::kJpeg, decode_jpeg},
      {PictureFormat::kWebp, decode_webp}, {PictureFormat::kTiff, decode_tiff},
      {PictureFormat::kGif, decode_gif},   {PictureFormat::kPnm, decode_pnm},
      {PictureFormat::kBmp, decode_bmp}};
  for (const auto& [readable, decoder] : kDecoders)
    if (readable == format) return decoder;
  return nullptr;
}

// Why a picture in a format this program does not read is refused, and what to do instead.
[[noreturn]] void refuse(PictureFormat format, const std::uint8_t* bytes, std::size_t size,
                         const std::string& source) {
  switch (format) {
    case PictureFormat::kHeif:
      fail(source,
           "HEIC pictures are not supported; save or share it as JPEG (on an iPhone: Settings > "
           "Camera > Formats > Most Compatible)");
    case PictureFormat::kAvif:
      fail(source, "AVIF pictures are not supported; save it as PNG or JPEG");
    case PictureFormat::kOther:
      fail(source, other_format(bytes, size) + " are not supported; save the picture as PNG or JPEG");
    default:
      fail(source,
           "not a picture this program reads (PNG, JPEG, WebP, TIFF, GIF, BMP, PGM/PPM/PBM): it starts "
           "with bytes " +
               hex_start(bytes, size));
  }
}

}  // namespace

GreyImage decode_grey_image(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                            long long max_pixels, int min_side) {
  if (size == 0) fail(source, "empty file");
  if (size > kMaxImageFileBytes)
    fail(source,
         "file too large: " + std::to_string(size) + " bytes, limit " + std::to_string(kMaxImageFileBytes));
  const PictureFormat format = detect_format(bytes, size);
  FormatDecoder* const decoder = decoder_for(format);
  if (!decoder) refuse(format, bytes, size, source);
  Decoded d = format == PictureFormat::kJpeg && min_side > 0
                  ? decode_jpeg_reduced(bytes, size, source, max_pixels, min_side)
                  : decoder(bytes, size, source, max_pixels);
  make_upright(d);
  GreyImage img;
  img.width = d.width;
  img.height = d.height;
  img.reduction = d.reduction;
  img.source = source;
  const std::size_t count = std::size_t(d.width) * std::size_t(d.height);
  if (d.channels == 2)
    img.pixels = composite_over_paper(d.pixels.data(), count);
  else
    img.pixels = std::move(d.pixels);
  return img;
}

GreyImage load_grey_image(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(path, std::string("cannot open file: ") + std::strerror(errno));
  const std::streamoff end = f.tellg();
  if (end < 0) fail(path, "cannot read file");
  if (std::uint64_t(end) > kMaxImageFileBytes)
    fail(path,
         "file too large: " + std::to_string(end) + " bytes, limit " + std::to_string(kMaxImageFileBytes));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(end));
  f.seekg(0);
  if (!bytes.empty() && !f.read(reinterpret_cast<char*>(bytes.data()), end)) fail(path, "cannot read file");
  return decode_grey_image(bytes.data(), bytes.size(), path);
}

// ---------------------------------------------------------------------------------------------------
// Saving

void save_image(const std::string& path, const std::uint8_t* pixels, int width, int height, int channels,
                int jpeg_quality) {
  if (width <= 0 || height <= 0 || channels < 1 || channels > 4) fail(path, "nothing to save");
  std::string ext =
      path.substr(path.find_last_of('.') == std::string::npos ? path.size() : path.find_last_of('.'));
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  std::string out;
  if (ext == ".png") {
    out = encode_png(pixels, width, height, channels);
  } else if (ext == ".jpg" || ext == ".jpeg") {
    out = encode_jpeg(pixels, width, height, channels, std::clamp(jpeg_quality, 1, 100));
  } else if ((ext == ".pgm" && channels == 1) || (ext == ".ppm" && channels == 3)) {
    out = std::string(channels == 1 ? "P5\n" : "P6\n") + std::to_string(width) + " " +
          std::to_string(height) + "\n255\n";
    out.append(reinterpret_cast<const char*>(pixels), std::size_t(width) * height * channels);
  } else {
    fail(path, "cannot save " + std::to_string(channels) +
                   "-channel image in this format (use .png, .jpg, .pgm for grey or .ppm for RGB)");
  }
  if (out.empty()) fail(path, "cannot encode image");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail(path, std::string("cannot create file: ") + std::strerror(errno));
  f.write(out.data(), std::streamsize(out.size()));
  f.close();
  if (!f) fail(path, "cannot write file");
}

}  // namespace lenet

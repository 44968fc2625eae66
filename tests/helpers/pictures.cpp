// Pictures in every format the decoders read, written with each format's own library (libpng and libjpeg
// through save_image, libwebp and its muxer, libtiff, giflib) or by hand (PNM, EXIF blocks).
#include "helpers/pictures.h"

#include <gif_lib.h>
#include <tiffio.h>
#include <unistd.h>
#include <webp/encode.h>
#include <webp/mux.h>
#include <zlib.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace lenet::test {

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test picture encoder failed: ") + what);
}

// A fresh file name in the system's temp directory (libtiff and giflib write to files).
std::string scratch_path(const std::string& ext) {
  static std::atomic<int> counter{0};
  return (std::filesystem::temp_directory_path() /
          ("lenet-picture-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ext))
      .string();
}

Bytes read_and_remove(const std::string& path) {
  Bytes b;
  {
    std::ifstream f(path, std::ios::binary);
    b.assign(std::istreambuf_iterator<char>(f), {});
  }
  std::filesystem::remove(path);
  return b;
}

}  // namespace

std::string be16(unsigned v) { return {char(v >> 8), char(v)}; }
std::string be32(std::uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
std::string le16(unsigned v) { return {char(v), char(v >> 8)}; }
std::string le32(std::uint32_t v) { return {char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }

Bytes exif_block(int o) {
  return "MM" + be16(42) + be32(8) + be16(1) + be16(0x0112) + be16(3) + be32(1) + be16(unsigned(o)) +
         be16(0) + be32(0);
}

Bytes png_chunk(const std::string& type, const Bytes& data) {
  const Bytes body = type + data;
  return be32(std::uint32_t(data.size())) + body +
         be32(std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

Bytes save_as(const GreyImage& g, const std::string& ext, int quality) {
  const std::string path = scratch_path(ext);
  save_image(path, g.pixels.data(), g.width, g.height, 1, quality);
  return read_and_remove(path);
}

Bytes png_file(const GreyImage& g, int o) {
  Bytes b = save_as(g, ".png", 95);
  if (o != 1) b.insert(b.size() - 12, png_chunk("eXIf", exif_block(o)));  // before IEND
  return b;
}

Bytes jpeg_file(const GreyImage& g, int o) {
  Bytes b = save_as(g, ".jpg", 95);
  if (o != 1) {
    const Bytes app1 = "Exif" + Bytes(2, '\0') + exif_block(o);
    b.insert(2, "\xFF\xE1" + be16(unsigned(app1.size() + 2)) + app1);
  }
  return b;
}

Bytes webp_file(const GreyImage& g, int o) {
  std::vector<std::uint8_t> rgb;
  for (std::uint8_t v : g.pixels) rgb.insert(rgb.end(), {v, v, v});
  std::uint8_t* out = nullptr;
  const std::size_t size = WebPEncodeLosslessRGB(rgb.data(), g.width, g.height, g.width * 3, &out);
  Bytes b(reinterpret_cast<const char*>(out), size);
  WebPFree(out);
  if (o == 1) return b;
  WebPMux* mux = WebPMuxNew();
  const WebPData image{reinterpret_cast<const std::uint8_t*>(b.data()), b.size()};
  const Bytes block = exif_block(o);
  const WebPData exif{reinterpret_cast<const std::uint8_t*>(block.data()), block.size()};
  WebPData assembled{};
  check(WebPMuxSetImage(mux, &image, 1) == WEBP_MUX_OK, "WebPMuxSetImage");
  check(WebPMuxSetChunk(mux, "EXIF", &exif, 1) == WEBP_MUX_OK, "WebPMuxSetChunk");
  check(WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK, "WebPMuxAssemble");
  b.assign(reinterpret_cast<const char*>(assembled.bytes), assembled.size);
  WebPDataClear(&assembled);
  WebPMuxDelete(mux);
  return b;
}

Bytes tiff_file(const GreyImage& g, int o, bool lzw) {
  const std::string path = scratch_path(".tif");
  TIFF* t = TIFFOpen(path.c_str(), "w");
  check(t != nullptr, "TIFFOpen");
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, std::uint32_t(g.width));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, std::uint32_t(g.height));
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_COMPRESSION, lzw ? COMPRESSION_LZW : COMPRESSION_NONE);
  TIFFSetField(t, TIFFTAG_ORIENTATION, std::uint16_t(o));
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
  std::vector<std::uint8_t> row(std::size_t(g.width));
  for (int y = 0; y < g.height; ++y) {
    std::memcpy(row.data(), &g.pixels[std::size_t(y) * g.width], row.size());
    check(TIFFWriteScanline(t, row.data(), std::uint32_t(y), 0) == 1,
          "TIFFWriteScanline(t, row.data(), std::uint32_t(y), 0)");
  }
  TIFFClose(t);
  return read_and_remove(path);
}

// giflib's encoder, a grey palette (index = level), the picture as the first of two frames when asked.
Bytes gif_file(const GreyImage& g, bool interlaced, bool second_frame) {
  const std::string path = scratch_path(".gif");
  int error = 0;
  GifFileType* f = EGifOpenFileName(path.c_str(), false, &error);
  check(f != nullptr, "EGifOpenFileName");
  ColorMapObject* map = GifMakeMapObject(256, nullptr);
  for (int k = 0; k < 256; ++k) map->Colors[k] = GifColorType{GifByteType(k), GifByteType(k), GifByteType(k)};
  EGifSetGifVersion(f, true);
  check(EGifPutScreenDesc(f, g.width, g.height, 8, 0, map) == GIF_OK,
        "EGifPutScreenDesc(f, g.width, g.height, 8, 0, map)");
  for (int frame = 0; frame < (second_frame ? 2 : 1); ++frame) {
    check(EGifPutImageDesc(f, 0, 0, g.width, g.height, interlaced, nullptr) == GIF_OK,
          "EGifPutImageDesc(f, 0, 0, g.width, g.height, interlaced, nullptr)");
    std::vector<GifPixelType> line(std::size_t(g.width));
    static constexpr int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
    for (int pass = 0; pass < (interlaced ? 4 : 1); ++pass)
      for (int y = interlaced ? kStart[pass] : 0; y < g.height; y += interlaced ? kStep[pass] : 1) {
        for (int x = 0; x < g.width; ++x)
          line[std::size_t(x)] = frame == 0 ? g.pixels[std::size_t(y) * g.width + x]
                                            : GifPixelType(255 - g.pixels[std::size_t(y) * g.width + x]);
        check(EGifPutLine(f, line.data(), g.width) == GIF_OK, "EGifPutLine");
      }
  }
  EGifCloseFile(f, &error);
  GifFreeMapObject(map);
  return read_and_remove(path);
}

Bytes pnm_file(const GreyImage& g, char kind) {
  Bytes b = std::string("P") + kind + "\n# a comment\n" + std::to_string(g.width) + " " +
            std::to_string(g.height) + "\n";
  if (kind == '2' || kind == '3') {
    b += "255\n";
    for (std::size_t i = 0; i < g.pixels.size(); ++i)
      for (int c = 0; c < (kind == '3' ? 3 : 1); ++c)
        b += std::to_string(g.pixels[i]) + (i % 16 == 15 ? "\n" : " ");
  } else if (kind == '5') {
    b += "255\n" + Bytes(g.pixels.begin(), g.pixels.end());
  } else if (kind == '6') {
    b += "255\n";
    for (std::uint8_t v : g.pixels) b += Bytes(3, char(v));
  }
  return b;
}

// A BMP as Paint writes one: BITMAPINFOHEADER, bottom-up rows padded to 4 bytes; 24-bit BGR, or 8-bit
// with a grey palette.
Bytes bmp_file(const GreyImage& g, int bits) {
  const std::size_t row = ((std::size_t(g.width) * bits + 31) / 32) * 4, palette = bits == 8 ? 1024 : 0;
  const std::size_t data_at = 54 + palette, size = data_at + row * std::size_t(g.height);
  Bytes b = "BM" + le32(std::uint32_t(size)) + le32(0) + le32(std::uint32_t(data_at)) + le32(40) +
            le32(std::uint32_t(g.width)) + le32(std::uint32_t(g.height)) + le16(1) + le16(unsigned(bits)) +
            le32(0) + le32(std::uint32_t(row * std::size_t(g.height))) + le32(2835) + le32(2835) +
            le32(bits == 8 ? 256 : 0) + le32(0);
  for (std::size_t k = 0; k < palette / 4; ++k) b += Bytes{char(k), char(k), char(k), 0};
  for (int y = g.height - 1; y >= 0; --y) {
    Bytes line;
    for (int x = 0; x < g.width; ++x) {
      const char v = char(g.pixels[std::size_t(y) * g.width + x]);
      line += bits == 8 ? Bytes(1, v) : Bytes(3, v);
    }
    line.resize(row, '\0');
    b += line;
  }
  return b;
}

}  // namespace lenet::test

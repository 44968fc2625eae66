// Picture decoding: every format written by its own library's encoder (libpng, libjpeg, libwebp, libtiff,
// giflib) or by hand (PNM) and read back; the 8 EXIF/TIFF orientations; truncated, corrupt and enormous
// files refused with an error naming the file; unsupported formats named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "helpers/paths.h"
#include "helpers/pictures.h"
#include "lenet/decode.h"
#include "lenet/image.h"

namespace lenet {
namespace {

using namespace test;

using Bytes = std::string;

GreyImage decode(const Bytes& b, const std::string& source = "picture") {
  return decode_grey_image(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), source);
}

// The error decoding gives, or "" if it decoded.
std::string error_of(const Bytes& b, const std::string& source = "picture") {
  try {
    decode(b, source);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

// An asymmetric picture (an "F" of grey levels on a gradient), so that any wrong turn or mirror shows.
GreyImage upright(int w = 48, int h = 32) {
  GreyImage g{w, h, std::vector<std::uint8_t>(std::size_t(w) * h), "upright"};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool stem = x >= w / 6 && x < w / 6 + w / 8, top = y < h / 5,
                 middle = y >= h / 2 && y < h / 2 + h / 6;
      const bool ink = stem || (top && x >= w / 6) || (middle && x >= w / 6 && x < w / 2);
      g.pixels[std::size_t(y) * w + x] = ink ? 20 : std::uint8_t(150 + 100 * x / w);
    }
  return g;
}

// Independent definitions of the camera's turns: rotated a quarter turn clockwise, and mirrored.
GreyImage turn_clockwise(const GreyImage& g) {
  GreyImage r{g.height, g.width, std::vector<std::uint8_t>(g.pixels.size()), g.source};
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x)
      r.pixels[std::size_t(x) * r.width + (g.height - 1 - y)] = g.pixels[std::size_t(y) * g.width + x];
  return r;
}
GreyImage mirror(const GreyImage& g) {
  GreyImage r = g;
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x)
      r.pixels[std::size_t(y) * g.width + x] = g.pixels[std::size_t(y) * g.width + g.width - 1 - x];
  return r;
}
// What a file with orientation tag o stores for the upright picture u (EXIF 2.3 / TIFF 6.0).
GreyImage stored_for(const GreyImage& u, int o) {
  const auto cw = [](const GreyImage& g, int n) {
    GreyImage r = g;
    for (int k = 0; k < n; ++k) r = turn_clockwise(r);
    return r;
  };
  switch (o) {
    case 2:
      return mirror(u);
    case 3:
      return cw(u, 2);
    case 4:
      return mirror(cw(u, 2));
    case 5:
      return mirror(cw(u, 1));  // transposed
    case 6:
      return cw(u, 3);  // shown after a quarter turn clockwise
    case 7:
      return mirror(cw(u, 3));  // transversed
    case 8:
      return cw(u, 1);  // shown after a quarter turn anticlockwise
    default:
      return u;
  }
}

int worst_difference(const GreyImage& a, const GreyImage& b) {
  if (a.width != b.width || a.height != b.height) return 1000;
  int worst = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i)
    worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
  return worst;
}

struct Format {
  const char* name;
  std::function<Bytes(const GreyImage&)> write;
  int tolerance;  // grey levels (JPEG is lossy)
};
const std::vector<Format>& formats() {
  static const std::vector<Format> all = {
      {"PNG", [](const GreyImage& g) { return png_file(g); }, 0},
      {"JPEG", [](const GreyImage& g) { return jpeg_file(g); }, 40},
      {"WebP", [](const GreyImage& g) { return webp_file(g); }, 0},
      {"TIFF", [](const GreyImage& g) { return tiff_file(g); }, 0},
      {"TIFF-LZW", [](const GreyImage& g) { return tiff_file(g, 1, true); }, 0},
      {"GIF", [](const GreyImage& g) { return gif_file(g); }, 0},
      {"GIF-interlaced", [](const GreyImage& g) { return gif_file(g, true); }, 0},
      {"GIF-animated", [](const GreyImage& g) { return gif_file(g, false, true); }, 0},
      {"BMP-24", [](const GreyImage& g) { return bmp_file(g, 24); }, 0},
      {"BMP-8", [](const GreyImage& g) { return bmp_file(g, 8); }, 0},
      {"PGM-P2", [](const GreyImage& g) { return pnm_file(g, '2'); }, 0},
      {"PPM-P3", [](const GreyImage& g) { return pnm_file(g, '3'); }, 0},
      {"PGM-P5", [](const GreyImage& g) { return pnm_file(g, '5'); }, 0},
      {"PPM-P6", [](const GreyImage& g) { return pnm_file(g, '6'); }, 0},
  };
  return all;
}

TEST(Decode, EveryFormatReadsBackThePicture) {
  const GreyImage u = upright();
  for (const Format& f : formats()) {
    const GreyImage back = decode(f.write(u), f.name);
    EXPECT_EQ(back.width, u.width) << f.name;
    EXPECT_EQ(back.height, u.height) << f.name;
    EXPECT_EQ(back.source, f.name);
    EXPECT_LE(worst_difference(back, u), f.tolerance) << f.name;
  }
}

TEST(Decode, BitmapsP1AndP4ReadOneAsBlack) {
  const Bytes p1 = "P1\n4 2\n0101\n1 0 1 0\n", p4 = "P4 4 2\n" + Bytes{char(0x50), char(0xA0)};
  for (const Bytes& b : {p1, p4}) {
    const GreyImage g = decode(b);
    ASSERT_EQ(g.width, 4);
    EXPECT_EQ(g.pixels, (std::vector<std::uint8_t>{255, 0, 255, 0, 0, 255, 0, 255}));
  }
  // 16-bit samples scale to 8 bits (the PPM case stb could not read).
  const GreyImage deep = decode("P6 1 1 65535\n" + Bytes("\xFF\xFF\xFF\xFF\xFF\xFF", 6));
  EXPECT_EQ(deep.pixels[0], 255);
  EXPECT_EQ(decode("P2 2 1 1000\n0 1000\n").pixels, (std::vector<std::uint8_t>{0, 255}));
}

TEST(Decode, AllEightOrientationsComeOutUpright) {
  // Phones store the sensor's rows and say in a tag how to show them; each format that carries the tag
  // must decode to the picture as shown, for every one of the 8 values.
  const GreyImage u = upright();
  const std::map<std::string, std::function<Bytes(const GreyImage&, int)>> writers = {
      {"JPEG", jpeg_file}, {"PNG", png_file}, {"WebP", webp_file}, {"TIFF", [](const GreyImage& g, int o) {
                                                                      return tiff_file(g, o);
                                                                    }}};
  for (const auto& [name, write] : writers)
    for (int o = 1; o <= 8; ++o) {
      const GreyImage stored = stored_for(u, o);
      const GreyImage shown = decode(write(stored, o));
      const int tolerance = name == "JPEG" ? 40 : 0;
      EXPECT_LE(worst_difference(shown, u), tolerance) << name << " orientation " << o;
      if (o > 1) {
        EXPECT_GT(worst_difference(stored, u), 100) << "the test picture must be asymmetric";
      }
    }
}

GreyImage decode_reduced(const Bytes& b, int min_side) {
  return decode_grey_image(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), "reduced",
                           kMaxImagePixels, min_side);
}

// The picture reduced n times by averaging n x n blocks (the last ones partial): what libjpeg's DCT scaling
// approximates.
GreyImage block_mean(const GreyImage& g, int n) {
  const int w = (g.width + n - 1) / n, h = (g.height + n - 1) / n;
  GreyImage r{w, h, std::vector<std::uint8_t>(std::size_t(w) * h), g.source};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int sum = 0, count = 0;
      for (int yy = y * n; yy < std::min(g.height, (y + 1) * n); ++yy)
        for (int xx = x * n; xx < std::min(g.width, (x + 1) * n); ++xx, ++count)
          sum += g.pixels[std::size_t(yy) * g.width + xx];
      r.pixels[std::size_t(y) * w + x] = std::uint8_t((sum + count / 2) / count);
    }
  return r;
}

TEST(Decode, JpegDecodedReducedIsTheSmallestReductionStillAtLeastMinSideAndUpright) {
  // 481x321: the reduced sides round up (libjpeg's ceil(side / n)).
  const GreyImage u = upright(481, 321);
  const std::vector<std::tuple<int, int, int, int>> cases = {
      // min_side, reduction, width, height
      {0, 1, 481, 321},   {481, 1, 481, 321}, {2000, 1, 481, 321}, {240, 2, 241, 161}, {241, 2, 241, 161},
      {242, 1, 481, 321}, {100, 4, 121, 81},  {61, 8, 61, 41},     {1, 8, 61, 41},
  };
  for (int o = 1; o <= 8; ++o) {
    const GreyImage stored = stored_for(u, o);
    const Bytes file = jpeg_file(stored, o);
    const int undo = o == 6 ? 8 : o == 8 ? 6 : o;  // the other turns and mirrors undo themselves
    for (const auto& [min_side, reduction, w, h] : cases) {
      const GreyImage g = decode_reduced(file, min_side);
      EXPECT_EQ(g.reduction, reduction) << "orientation " << o << " min_side " << min_side;
      ASSERT_EQ(g.width, w) << "orientation " << o << " min_side " << min_side;
      ASSERT_EQ(g.height, h) << "orientation " << o << " min_side " << min_side;
      // Upright, and reduced: near the block means of the stored picture (the blocks are the file's),
      // turned upright; the F's edges blur.
      const GreyImage expected = stored_for(block_mean(stored, reduction), undo);
      double total = 0;
      for (std::size_t i = 0; i < g.pixels.size(); ++i) total += std::abs(g.pixels[i] - expected.pixels[i]);
      EXPECT_LT(total / double(g.pixels.size()), 4.0) << "orientation " << o << " min_side " << min_side;
    }
  }
  // The other formats ignore min_side; the size limits apply to the file's size, before any pixel.
  const GreyImage png = decode_reduced(png_file(u), 100);
  EXPECT_EQ(png.width, 481);
  EXPECT_EQ(png.reduction, 1);
  Bytes huge = jpeg_file(upright(16, 16));
  const std::size_t sof = huge.find("\xFF\xC0");
  ASSERT_NE(sof, Bytes::npos);
  huge.replace(sof + 5, 4, be16(9000) + be16(9000));
  try {
    decode_reduced(huge, 1024);
    ADD_FAILURE() << "a 9000x9000 JPEG decoded reduced";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("JPEG 9000x9000"), std::string::npos) << e.what();
  }
}

TEST(Decode, TransparencyBecomesThePaperThatContrastsWithTheInk) {
  std::vector<std::uint8_t> rgba(20 * 10 * 4, 0);
  for (int i = 0; i < 200; ++i) rgba[4 * i + 3] = i % 20 < 10 ? 255 : 0;  // black ink, transparent rest
  const std::string path = test::temp_path("alpha.png");
  save_image(path, rgba.data(), 20, 10, 4);
  const GreyImage a = load_grey_image(path);
  EXPECT_EQ(a.pixels[0], 0);
  EXPECT_EQ(a.pixels[15], 255);
  // Blue ink on yellow paper reads as dark on light.
  std::vector<std::uint8_t> rgb(20 * 10 * 3);
  for (int i = 0; i < 200; ++i) {
    const bool ink = i % 20 < 10;
    rgb[3 * i] = ink ? 20 : 250, rgb[3 * i + 1] = ink ? 30 : 240, rgb[3 * i + 2] = ink ? 140 : 150;
  }
  save_image(path, rgb.data(), 20, 10, 3);
  const GreyImage c = load_grey_image(path);
  EXPECT_LT(c.pixels[0], 60);
  EXPECT_GT(c.pixels[15], 200);
}

TEST(Decode, TruncatedAndCorruptFilesOfEveryFormatAreErrorsNamingIt) {
  const GreyImage u = upright(40, 30);
  std::printf("truncated and corrupt files:\n");
  for (const Format& f : formats()) {
    // An animation cut inside a later frame still holds its whole first frame, which is what is read. A JPEG
    // cut short is kept when most of it arrived (TruncatedJpegKeepsTheRowsThatArrived).
    if (std::string(f.name) == "GIF-animated" || std::string(f.name) == "JPEG") continue;
    const Bytes whole = f.write(u);
    ASSERT_EQ(error_of(whole), "") << f.name;
    std::vector<std::pair<std::string, Bytes>> broken;
    // An ASCII PNM cut inside its last number is still a complete file (as "12" is a prefix of "123").
    const bool ascii = std::string(f.name) == "PGM-P2" || std::string(f.name) == "PPM-P3";
    for (std::size_t keep : {whole.size() / 2, std::size_t(20), whole.size() - (ascii ? 12 : 3)})
      broken.emplace_back("cut to " + std::to_string(keep) + " B", whole.substr(0, keep));
    // Eight bytes of the header overwritten (in a PNM, after its comment, where its sizes are).
    Bytes corrupt = whole;
    const std::size_t from = whole.find("# a comment\n") == 3 ? 15 : 4;
    for (std::size_t k = from; k < from + 8; ++k) corrupt[k] = '\xFF';
    broken.emplace_back("bytes 4-11 overwritten", corrupt);
    for (const auto& [what, bytes] : broken) {
      const std::string e = error_of(bytes, std::string(f.name) + "-file");
      EXPECT_EQ(e.rfind(std::string(f.name) + "-file: ", 0), 0u) << f.name << " " << what << ": " << e;
      std::printf("  %-16s %-24s -> %s\n", f.name, what.c_str(), e.c_str());
    }
  }
}

TEST(Decode, TruncatedJpegKeepsTheRowsThatArrived) {
  // A phone upload that stopped early: the rows that arrived are the picture's, the missing ones repeat the
  // last intact row (paper), never libjpeg's mid-grey, which would read as a band of ink.
  GreyImage u = upright(64, 256);
  for (int y = 0; y < u.height; ++y)  // every row different from the next, so that repeated rows show
    for (int x = 0; x < u.width; ++x)
      u.pixels[std::size_t(y) * u.width + x] += std::uint8_t(y % 2 ? 0 : 60 - x / 4);
  const Bytes whole = jpeg_file(u);
  for (const std::size_t keep : {whole.size() * 9 / 10, whole.size() * 3 / 4, whole.size() - 2}) {
    const GreyImage g = decode(whole.substr(0, keep));
    ASSERT_EQ(g.width, u.width);
    ASSERT_EQ(g.height, u.height);
    // The intact rows: the first rows that differ from the last row are the picture's own.
    int intact = g.height;
    const auto row = [&](const GreyImage& p, int y) {
      return std::vector<std::uint8_t>(p.pixels.begin() + std::ptrdiff_t(y) * p.width,
                                       p.pixels.begin() + std::ptrdiff_t(y + 1) * p.width);
    };
    while (intact > 1 && row(g, intact - 2) == row(g, g.height - 1)) --intact;
    EXPECT_GE(intact * 2, g.height) << "cut to " << keep << " of " << whole.size() << " B";
    for (int y = 0; y < intact; ++y)
      for (int x = 0; x < g.width; ++x)
        ASSERT_LE(std::abs(g.pixels[std::size_t(y) * g.width + x] - u.pixels[std::size_t(y) * u.width + x]),
                  40)
            << "cut to " << keep << " B: row " << y << " of the " << intact << " intact ones";
    for (int y = intact; y < g.height; ++y) ASSERT_EQ(row(g, y), row(g, intact - 1)) << "row " << y;
    if (keep < whole.size() - 2) {
      EXPECT_LT(intact, g.height) << "cut to " << keep << " B: rows are missing";
    }
  }
  // Less than half of the rows, or no row at all: refused, saying how far the picture came.
  for (const std::size_t keep : {whole.size() / 3, std::size_t(700), std::size_t(20)}) {
    const std::string e = error_of(whole.substr(0, keep), "cut.jpg");
    EXPECT_EQ(e.rfind("cut.jpg: ", 0), 0u) << e;
    EXPECT_NE(e.find("JPEG"), std::string::npos) << e;
    std::printf("  JPEG cut to %zu of %zu B -> %s\n", keep, whole.size(), e.c_str());
  }
  EXPECT_NE(error_of(whole.substr(0, whole.size() / 3)).find("of 256 rows"), std::string::npos);
}

TEST(Decode, EnormousHeadersAreRefusedBeforeAnyPixelIsAllocated) {
  // Each declares 60000x60000 (3.6 Gpixel) or more in a few bytes; the error names the size it claimed,
  // which the decoders report before allocating anything.
  const auto ihdr = [](std::uint32_t w, std::uint32_t h) {
    return Bytes("\x89PNG\r\n\x1a\n", 8) +
           png_chunk("IHDR", be32(w) + be32(h) + Bytes("\x08\x00\x00\x00\x00", 5));
  };
  Bytes huge_jpeg = jpeg_file(upright(16, 16));
  const std::size_t sof = huge_jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, Bytes::npos);
  huge_jpeg.replace(sof + 5, 4, be16(60000) + be16(60000));
  Bytes huge_webp = webp_file(upright(16, 16));
  ASSERT_EQ(huge_webp.substr(12, 4), "VP8L");
  // VP8L: a signature byte, then width − 1 and height − 1 in 14 bits each (little-endian bit order).
  const std::uint32_t bits =
      std::uint32_t(std::uint8_t(huge_webp[21])) | std::uint32_t(std::uint8_t(huge_webp[22])) << 8 |
      std::uint32_t(std::uint8_t(huge_webp[23])) << 16 | std::uint32_t(std::uint8_t(huge_webp[24])) << 24;
  const Bytes patched = le32((bits & ~0x0FFFFFFFu) | 0x0FFFFFFFu);
  huge_webp.replace(21, 4, patched);
  // A little-endian TIFF whose IFD says 60000x60000, 8-bit grey, one strip.
  const auto entry = [](unsigned tag, unsigned type, std::uint32_t value) {
    return le16(tag) + le16(type) + le32(1) + (type == 3 ? le16(value) + le16(0) : le32(value));
  };
  const Bytes huge_tiff = "II" + le16(42) + le32(8) + le16(7) + entry(256, 4, 60000) + entry(257, 4, 60000) +
                          entry(258, 3, 8) + entry(259, 3, 1) + entry(262, 3, 1) + entry(273, 4, 0) +
                          entry(279, 4, 100) + le32(0) + Bytes(100, '\0');
  const Bytes huge_gif = "GIF89a" + le16(60000) + le16(60000) + Bytes(3, '\0') + ";";
  const std::vector<std::tuple<const char*, Bytes, const char*>> cases = {
      {"PNG", ihdr(60000, 60000), "PNG 60000x60000"},
      {"PNG wide", ihdr(9000, 10), "PNG 9000x10"},
      {"JPEG", huge_jpeg, "JPEG 60000x60000"},
      {"WebP", huge_webp, "WebP 16384x16384"},
      {"TIFF", huge_tiff, "TIFF 60000x60000"},
      {"GIF", huge_gif, "GIF 60000x60000"},
      {"BMP",
       "BM" + le32(154) + le32(0) + le32(54) + le32(40) + le32(60000) + le32(60000) + le16(1) + le16(24) +
           Bytes(100, '\0'),
       "BMP 60000x60000"},
      {"PGM", "P5\n7000 7000\n255\n" + Bytes(100, '\0'), "PGM 7000x7000"},
      {"PGM 2e9", "P5\n2000000000 2000000000\n255\n", "more than 8 digits"},
  };
  for (const auto& [name, bytes, expected] : cases) {
    const std::string e = error_of(bytes);
    EXPECT_NE(e.find(expected), std::string::npos) << name << ": " << e;
  }
  // The caller's own pixel limit (the server's) is a separate error that says the size.
  const Bytes medium = png_file(upright(100, 100));
  try {
    decode_grey_image(reinterpret_cast<const std::uint8_t*>(medium.data()), medium.size(), "upload", 5000);
    ADD_FAILURE() << "decoded over the limit";
  } catch (const ImageTooLarge& e) {
    EXPECT_EQ(e.width, 100);
    EXPECT_EQ(e.height, 100);
  }
}

TEST(Decode, UnsupportedAndUnknownFormatsAreNamed) {
  const std::vector<std::pair<Bytes, const char*>> cases = {
      {Bytes("\0\0\0\x18"
             "ftypheic",
             12) +
           Bytes(20, '\0'),
       "HEIC pictures are not supported"},
      {Bytes("\0\0\0\x1c"
             "ftypavif",
             12) +
           Bytes(20, '\0'),
       "AVIF pictures are not supported"},
      {"BM" + Bytes(60, '\0'), "corrupt BMP: header of 0 bytes"},
      {"%PDF-1.7\n", "PDF documents are not supported"},
      {"<?xml version=\"1.0\"?><svg/>", "SVG drawings"},
      {"this is not an image\n", "it starts with bytes 74 68 69 73 20 69 73 20 (\"this is \")"},
      {"", "empty file"},
  };
  for (const auto& [bytes, expected] : cases) {
    const std::string e = error_of(bytes);
    EXPECT_NE(e.find(expected), std::string::npos) << e;
  }
  try {
    load_grey_image(test::temp_path("missing.png"));
    ADD_FAILURE();
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open file"), std::string::npos) << e.what();
  }
}

TEST(Decode, SavedFilesRoundTrip) {
  const GreyImage g = upright(40, 30);
  for (const char* ext : {".png", ".pgm", ".jpg"}) {
    const std::string path = test::temp_path(std::string("roundtrip") + ext);
    save_image(path, g.pixels.data(), g.width, g.height, 1, 95);
    const GreyImage back = load_grey_image(path);
    EXPECT_EQ(back.source, path);
    EXPECT_LE(worst_difference(back, g), std::string(ext) == ".jpg" ? 40 : 0) << ext;
  }
  EXPECT_THROW(save_image(test::temp_path("x.bmp"), g.pixels.data(), g.width, g.height, 1), ImageError);
}

}  // namespace
}  // namespace lenet

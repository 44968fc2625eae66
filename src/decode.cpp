// Picture files: decoding (stb, the one place its implementation is compiled) within size limits into grey
// levels, the guards against stb's known bugs, and saving.
#include "lenet/decode.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <unordered_map>

// Only the formats we promise. stb's own dimension guard stays at its default (2^24) so that stbi_info
// reports an oversized header's dimensions and our check below names them.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace lenet {

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw ImageError(source + ": " + what);
}

bool starts_with(const std::uint8_t* bytes, std::size_t size, const char* magic) {
  const std::size_t n = std::strlen(magic);
  return size >= n && std::memcmp(bytes, magic, n) == 0;
}

// stb decodes a truncated PNM or BMP without complaint (missing pixels left unset or zero) and a JPEG
// cut short as far as it goes; these checks make a cut-off file an error, as the user would expect.
void check_complete(const std::uint8_t* b, std::size_t size, const std::string& source) {
  if (size >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) {
    // Binary PGM/PPM: magic, width, height, maxval (comments allowed), one whitespace, then the raster.
    std::size_t i = 2;
    long long fields[3] = {0, 0, 0};
    for (long long& field : fields) {
      for (;;) {
        while (i < size && std::isspace(b[i])) ++i;
        if (i < size && b[i] == '#') {
          while (i < size && b[i] != '\n') ++i;
        } else {
          break;
        }
      }
      if (i >= size || !std::isdigit(b[i])) fail(source, "malformed PNM header");
      while (i < size && std::isdigit(b[i]) && field < (1ll << 40)) field = field * 10 + (b[i++] - '0');
    }
    ++i;  // the single whitespace before the raster
    const long long channels = b[1] == '5' ? 1 : 3, depth = fields[2] > 255 ? 2 : 1;
    if (fields[0] > kMaxImageSide || fields[1] > kMaxImageSide) return;  // refused by the size check
    const long long need = fields[0] * fields[1] * channels * depth;
    if (i > size || (long long)(size - i) < need)
      fail(source, "truncated PNM file: expected " + std::to_string(need) + " bytes of pixels, found " +
                       std::to_string(i > size ? 0 : size - i));
  } else if (starts_with(b, size, "BM") && size >= 6) {
    const std::uint32_t declared = std::uint32_t(b[2]) | std::uint32_t(b[3]) << 8 |
                                   std::uint32_t(b[4]) << 16 | std::uint32_t(b[5]) << 24;
    if (declared > size)
      fail(source, "truncated BMP file: header declares " + std::to_string(declared) + " bytes, found " +
                       std::to_string(size));
  } else if (starts_with(b, size, "\x89PNG\r\n\x1a\n")) {
    // A complete PNG ends with its IEND chunk (stb stops at the end of the image data and would accept
    // a file cut inside it, with the missing rows left blank).
    static const std::uint8_t kIend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    const std::size_t from = size > 4096 ? size - 4096 : 0;
    bool found = false;
    for (std::size_t k = size - std::min<std::size_t>(size, 12); k >= from + 1 && !found; --k)
      found = std::memcmp(b + k, kIend, 12) == 0;
    if (!found) fail(source, "truncated PNG file: no IEND chunk at the end");
  } else if (size >= 2 && b[0] == 0xFF && b[1] == 0xD8) {
    // A complete JPEG ends with the end-of-image marker FF D9 (possibly followed by padding).
    const std::size_t from = size > 4096 ? size - 4096 : 2;
    bool found = false;
    for (std::size_t k = size - 1; k > from && !found; --k) found = b[k - 1] == 0xFF && b[k] == 0xD9;
    if (!found) fail(source, "truncated JPEG file: no end-of-image marker");
  }
}

// Debian's stb_image (2022-09-08) writes past its Huffman table arrays when a JPEG's DHT segment declares
// more than 256 codes (found by fuzz/fuzz_image; stb 2.28 checks this). stb resynchronises on markers inside
// and after scans, so any FF C4 in a file may be taken for a DHT marker: every one is checked, following
// its tables as stb reads them (past the end of the data stb reads zeros). first_bad memoises, for a table
// starting at p, how far along its chain of tables the first oversized one lies, so hostile files full of
// FF C4 are still checked in linear time. A valid JPEG is never refused: its tables hold at most 256 codes.
void check_jpeg_huffman_tables(const std::uint8_t* b, std::size_t size, const std::string& source) {
  if (size < 2 || b[0] != 0xFF) return;  // stb reads a JPEG only from a file that starts with a marker
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  const auto at = [&](std::size_t i) -> unsigned { return i < size ? b[i] : 0u; };
  std::unordered_map<std::size_t, std::uint64_t> memo;
  std::vector<std::pair<std::size_t, std::uint64_t>> path;  // (table start, its length) along a chain
  const auto first_bad = [&](std::size_t p) {
    std::uint64_t result = kNone;
    path.clear();
    while (p < size) {
      if (const auto it = memo.find(p); it != memo.end()) {
        result = it->second;
        break;
      }
      const unsigned q = at(p);
      if ((q >> 4) > 1 || (q & 15) > 3) break;  // stb stops at an invalid table class or id
      unsigned n = 0;
      for (std::size_t k = 1; k <= 16; ++k) n += at(p + k);
      if (n > 256) {
        memo[p] = result = 0;
        break;
      }
      path.emplace_back(p, 17 + n);
      p += 17 + n;
    }
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      if (result != kNone) result += it->second;
      memo[it->first] = result;
    }
    return path.empty() ? result : memo[path.front().first];
  };
  for (std::size_t m = 0; m + 1 < size; ++m) {
    if (b[m] != 0xFF || b[m + 1] != 0xC4) continue;
    const long long length = (long long)(at(m + 2) << 8 | at(m + 3)) - 2;  // of the tables
    if (length > 0 && first_bad(m + 4) < std::uint64_t(length))
      fail(source, "corrupt JPEG: a Huffman table (DHT) declares more than 256 codes");
  }
}

// stb_image 2022-09-08 misreads two kinds of PNM header (both found by fuzz/fuzz_image):
// - it reads the numbers into an int without a bound (signed overflow, undefined behaviour): each of width,
//   height and maxval is read here as stb reads it, and one above 99,999,999 refused; no valid header comes
//   near (sides are at most 8192, maxval at most 65535);
// - a 16-bit PPM (P6, maxval > 255) read as grey goes through its 8-bit colour conversion, and the 16-to-8
//   bit step after it then reads past the converted buffer; such files are refused (16-bit PGM is fine).
void check_pnm_header(const std::uint8_t* b, std::size_t size, const std::string& source) {
  if (size < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return;
  const auto space = [](std::uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  std::size_t i = 2;
  long long value = 0;
  for (int field = 0; field < 3; ++field) {
    for (;;) {
      while (i < size && space(b[i])) ++i;
      if (i >= size || b[i] != '#') break;
      while (i < size && b[i] != '\n' && b[i] != '\r') ++i;
    }
    value = 0;
    for (; i < size && b[i] >= '0' && b[i] <= '9'; ++i) {
      value = value * 10 + (b[i] - '0');
      if (value > 99'999'999) fail(source, "malformed PNM header: a number of more than 8 digits");
    }
  }
  if (b[1] == '6' && value > 255)
    fail(source, "unsupported PPM: 16 bits per channel (maxval " + std::to_string(value) +
                     "); save it with 8 bits, or as PNG");
}

// stb_image 2022-09-08 copies an empty IDAT chunk that comes before any image data into a null buffer
// (memcpy(NULL, p, 0): undefined behaviour, found by fuzz/fuzz_http). Encoders do not write such chunks;
// the chunks are walked as stb walks them (length, type, data, CRC) and such a file refused.
void check_png_chunks(const std::uint8_t* b, std::size_t size, const std::string& source) {
  if (!starts_with(b, size, "\x89PNG\r\n\x1a\n")) return;
  const auto be32 = [&](std::size_t at) {
    return std::uint32_t(b[at]) << 24 | std::uint32_t(b[at + 1]) << 16 | std::uint32_t(b[at + 2]) << 8 |
           std::uint32_t(b[at + 3]);
  };
  for (std::size_t at = 8; at + 8 <= size;) {
    const std::uint32_t length = be32(at);
    if (std::memcmp(b + at + 4, "IDAT", 4) == 0) {
      if (length > 0) return;  // image data begins: later empty chunks are harmless
      fail(source, "unsupported PNG: an empty IDAT chunk before the image data");
    }
    if (length > size) return;  // stb stops here too
    at += 12 + std::size_t(length);
  }
}

// Debian's stb_image also decodes a scan whose component names a Huffman table that no DHT segment
// defined: it reads the table's uninitialised memory and indexes past its arrays (found by fuzz/fuzz_http).
// Every FF C4 in the file counts as a DHT that defines the tables of its chain (as above), and every FF DA
// as a scan that needs, for each of its components, the DC table (unless it is a progressive scan of AC
// coefficients or a DC refinement, which stb decodes without it) and the AC table (unless it is a
// progressive DC scan). A table must have been defined at an earlier place in the file. stb can only use
// tables defined by an FF C4 before the scan, so a file stb decodes correctly is never refused.
void check_jpeg_scan_tables(const std::uint8_t* b, std::size_t size, const std::string& source) {
  if (size < 2 || b[0] != 0xFF) return;
  const auto at = [&](std::size_t i) -> unsigned { return i < size ? b[i] : 0u; };
  bool defined[2][4] = {}, progressive = false;
  for (std::size_t m = 0; m + 1 < size; ++m) {
    if (b[m] != 0xFF) continue;
    if (b[m + 1] == 0xC2) progressive = true;
    if (b[m + 1] == 0xC4) {
      const std::size_t end = m + 2 + (at(m + 2) << 8 | at(m + 3));
      for (std::size_t p = m + 4; p < end && p < size;) {
        const unsigned q = at(p);
        if ((q >> 4) > 1 || (q & 15) > 3) break;  // stb stops at an invalid table class or id
        unsigned n = 0;
        for (std::size_t k = 1; k <= 16; ++k) n += at(p + k);
        defined[q >> 4][q & 15] = true;
        p += 17 + n;
      }
    } else if (b[m + 1] == 0xDA) {
      const unsigned components = at(m + 4);
      const std::size_t tail = m + 5 + 2 * std::size_t(components);  // Ss, Se, Ah·16 + Al
      const unsigned ss = at(tail), se = at(tail + 1), ah = at(tail + 2) >> 4;
      const bool needs_dc = !progressive || (ss == 0 && ah == 0), needs_ac = !progressive || se > 0;
      for (unsigned c = 0; c < components && c < 4; ++c) {
        const unsigned tables = at(m + 6 + 2 * std::size_t(c)), dc = tables >> 4, ac = tables & 15;
        if (dc > 3 || ac > 3) continue;  // stb refuses these itself
        if ((needs_dc && !defined[0][dc]) || (needs_ac && !defined[1][ac]))
          fail(source, "corrupt JPEG: a scan uses a Huffman table that no DHT segment defined");
      }
    }
  }
}

}  // namespace

void check_untrusted_image(const std::uint8_t* bytes, std::size_t size, const std::string& source) {
  check_jpeg_huffman_tables(bytes, size, source);
  check_jpeg_scan_tables(bytes, size, source);
  check_pnm_header(bytes, size, source);
  check_png_chunks(bytes, size, source);
}

namespace {

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

}  // namespace

GreyImage decode_grey_image(const std::uint8_t* bytes, std::size_t size, const std::string& source) {
  if (size == 0) fail(source, "empty file");
  if (size > kMaxImageFileBytes)
    fail(source,
         "file too large: " + std::to_string(size) + " bytes, limit " + std::to_string(kMaxImageFileBytes));
  check_untrusted_image(bytes, size, source);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes, int(size), &w, &h, &comp)) {
    // stb refuses a PNG whose pixels would exceed 2 GB without saying how large it claimed to be.
    if (starts_with(bytes, size, "\x89PNG\r\n\x1a\n") && size >= 24) {
      const auto be32 = [&](std::size_t at) {
        return std::uint32_t(bytes[at]) << 24 | std::uint32_t(bytes[at + 1]) << 16 |
               std::uint32_t(bytes[at + 2]) << 8 | std::uint32_t(bytes[at + 3]);
      };
      const std::uint32_t pw = be32(16), ph = be32(20);
      if (pw > std::uint32_t(kMaxImageSide) || ph > std::uint32_t(kMaxImageSide))
        fail(source, "image too large: " + std::to_string(pw) + "x" + std::to_string(ph) + ", limit " +
                         std::to_string(kMaxImageSide) + " px a side");
    }
    const char* why = stbi_failure_reason();
    fail(source,
         std::string("not a PNG, JPEG, BMP or PGM/PPM image") + (why ? std::string(" (") + why + ")" : ""));
  }
  if (w <= 0 || h <= 0) fail(source, "image has no pixels");
  if (w > kMaxImageSide || h > kMaxImageSide || (long long)w * h > kMaxImagePixels)
    fail(source, "image too large: " + std::to_string(w) + "x" + std::to_string(h) + ", limit " +
                     std::to_string(kMaxImageSide) + " px a side and " +
                     std::to_string(kMaxImagePixels / 1000000) + " Mpixel");
  check_complete(bytes, size, source);
  const int want = (comp == 2 || comp == 4) ? 2 : 1;
  int w2 = 0, h2 = 0, comp2 = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(bytes, int(size), &w2, &h2, &comp2, want), stbi_image_free);
  if (!data) {
    const char* why = stbi_failure_reason();
    fail(source, std::string("cannot decode image") + (why ? std::string(": ") + why : ""));
  }
  if (w2 != w || h2 != h) fail(source, "image size changed while decoding");
  GreyImage img;
  img.width = w;
  img.height = h;
  img.source = source;
  const std::size_t count = std::size_t(w) * std::size_t(h);
  if (want == 2)
    img.pixels = composite_over_paper(data.get(), count);
  else
    img.pixels.assign(data.get(), data.get() + count);
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

void save_image(const std::string& path, const std::uint8_t* pixels, int width, int height, int channels,
                int jpeg_quality) {
  if (width <= 0 || height <= 0 || channels < 1 || channels > 4) fail(path, "nothing to save");
  std::string ext =
      path.substr(path.find_last_of('.') == std::string::npos ? path.size() : path.find_last_of('.'));
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  std::string out;
  auto sink = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), std::size_t(size));
  };
  int ok = 0;
  if (ext == ".png") {
    ok = stbi_write_png_to_func(sink, &out, width, height, channels, pixels, width * channels);
  } else if (ext == ".jpg" || ext == ".jpeg") {
    ok =
        stbi_write_jpg_to_func(sink, &out, width, height, channels, pixels, std::clamp(jpeg_quality, 1, 100));
  } else if (ext == ".bmp") {
    ok = stbi_write_bmp_to_func(sink, &out, width, height, channels, pixels);
  } else if ((ext == ".pgm" && channels == 1) || (ext == ".ppm" && channels == 3)) {
    out = std::string(channels == 1 ? "P5\n" : "P6\n") + std::to_string(width) + " " +
          std::to_string(height) + "\n255\n";
    out.append(reinterpret_cast<const char*>(pixels), std::size_t(width) * height * channels);
    ok = 1;
  } else {
    fail(path, "cannot save " + std::to_string(channels) +
                   "-channel image in this format (use .png, .jpg, .bmp, .pgm for grey or .ppm for RGB)");
  }
  if (!ok) fail(path, "cannot encode image");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail(path, std::string("cannot create file: ") + std::strerror(errno));
  f.write(out.data(), std::streamsize(out.size()));
  f.close();
  if (!f) fail(path, "cannot write file");
}

}  // namespace lenet

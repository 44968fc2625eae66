// Image files (stb, the one place its implementation is compiled) and the preprocessing that turns a
// picture of handwriting into an MNIST-like 28×28 image: ink extraction, components, normalisation.
#include "lenet/image.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
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

// ---------------------------------------------------------------------------------------------------
// Resampling

namespace {

// For each output index, the source indices it covers and the share of each: exact box-filter coverage.
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weight;  // count[i] weights from offset[i]
  std::vector<int> offset;
};

Taps area_taps(int out_n, int in_n) {
  Taps t;
  const double step = double(in_n) / out_n;
  for (int o = 0; o < out_n; ++o) {
    const double lo = o * step, hi = (o + 1) * step;
    const int a = int(std::floor(lo)), b = std::min(in_n, int(std::ceil(hi)));
    t.first.push_back(a);
    t.count.push_back(b - a);
    t.offset.push_back(int(t.weight.size()));
    for (int i = a; i < b; ++i) {
      const double cover = std::min(hi, double(i + 1)) - std::max(lo, double(i));
      t.weight.push_back(float(cover / step));
    }
  }
  return t;
}

}  // namespace

void resample_area(float* out, int out_w, int out_h, const float* in, int in_w, int in_h) {
  const Taps tx = area_taps(out_w, in_w), ty = area_taps(out_h, in_h);
  std::vector<float> rows(std::size_t(out_w) * in_h);  // horizontal pass: in_h rows of out_w
  for (int y = 0; y < in_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      float s = 0;
      for (int k = 0; k < tx.count[x]; ++k) s += tx.weight[tx.offset[x] + k] * in[y * in_w + tx.first[x] + k];
      rows[std::size_t(y) * out_w + x] = s;
    }
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      float s = 0;
      for (int k = 0; k < ty.count[y]; ++k)
        s += ty.weight[ty.offset[y] + k] * rows[std::size_t(ty.first[y] + k) * out_w + x];
      out[std::size_t(y) * out_w + x] = s;
    }
}

// ---------------------------------------------------------------------------------------------------
// Ink extraction

namespace {

// Paper brightness as a quadratic surface over the picture, g ≈ c0 + c1 u + c2 v + c3 u² + c4 uv + c5 v²
// (u, v in [−1, 1]): enough for a linear lighting gradient and a camera's vignetting.
struct Surface {
  std::array<double, 6> c{};
  static std::array<double, 6> terms(double u, double v) { return {1, u, v, u * u, u * v, v * v}; }
  double at(double u, double v) const {
    const auto t = terms(u, v);
    double s = 0;
    for (int k = 0; k < 6; ++k) s += c[k] * t[k];
    return s;
  }
};

// Least squares by the normal equations and Gaussian elimination with partial pivoting; a tiny ridge on
// the non-constant terms keeps a degenerate (one-row, one-column) picture solvable.
Surface fit_surface(const std::vector<float>& u, const std::vector<float>& v, const std::vector<float>& g,
                    const std::vector<char>& use) {
  double a[6][7] = {};
  std::size_t n = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!use[i]) continue;
    ++n;
    const auto t = Surface::terms(u[i], v[i]);
    for (int r = 0; r < 6; ++r) {
      for (int c = 0; c < 6; ++c) a[r][c] += t[r] * t[c];
      a[r][6] += t[r] * g[i];
    }
  }
  Surface s;
  if (n == 0) return s;
  for (int r = 1; r < 6; ++r) a[r][r] += 1e-6 * double(n);
  for (int col = 0; col < 6; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 6; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    std::swap(a[col], a[pivot]);
    if (std::abs(a[col][col]) < 1e-12) continue;
    for (int r = 0; r < 6; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int c = col; c < 7; ++c) a[r][c] -= f * a[col][c];
    }
  }
  for (int k = 0; k < 6; ++k) s.c[k] = std::abs(a[k][k]) < 1e-12 ? 0.0 : a[k][6] / a[k][k];
  return s;
}

float median_of(std::vector<float> values) {
  if (values.empty()) return 0;
  auto mid = values.begin() + std::ptrdiff_t(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

// Otsu's threshold on values in [0, top]: the cut that maximises the between-class variance.
float otsu_threshold(const std::vector<float>& values, float top) {
  constexpr int kBins = 256;
  if (top <= 0) return 0;
  std::array<double, kBins> hist{};
  for (float x : values) hist[std::size_t(std::clamp(int(x / top * (kBins - 1) + 0.5f), 0, kBins - 1))] += 1;
  double total = 0, sum = 0;
  for (int b = 0; b < kBins; ++b) {
    total += hist[b];
    sum += b * hist[b];
  }
  double w0 = 0, sum0 = 0, best = -1;
  int cut = 0;
  for (int b = 0; b < kBins - 1; ++b) {
    w0 += hist[b];
    sum0 += b * hist[b];
    const double w1 = total - w0;
    if (w0 == 0 || w1 == 0) continue;
    const double m0 = sum0 / w0, m1 = (sum - sum0) / w1;
    const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      cut = b;
    }
  }
  return (cut + 0.5f) / (kBins - 1) * top;
}

}  // namespace

InkMap extract_ink(const GreyImage& image) {
  InkMap map;
  map.source = image.source;
  if (image.width <= 0 || image.height <= 0) fail(image.source, "image has no pixels");

  // Work on at most kMaxWorkingSide pixels a side: a digit needs far fewer, and it bounds the time.
  const int longer = std::max(image.width, image.height);
  map.scale = longer > kMaxWorkingSide ? double(kMaxWorkingSide) / longer : 1.0;
  const int w = std::max(1, int(std::lround(image.width * map.scale)));
  const int h = std::max(1, int(std::lround(image.height * map.scale)));
  map.scale = double(w) / image.width;
  std::vector<float> grey(std::size_t(w) * h);
  {
    std::vector<float> full(image.pixels.begin(), image.pixels.end());
    if (w == image.width && h == image.height)
      grey = std::move(full);
    else
      resample_area(grey.data(), w, h, full.data(), image.width, image.height);
  }
  map.width = w;
  map.height = h;

  // The paper's lighting, fitted on up to ~10k sample pixels; each refit leaves out the pixels far from
  // the last fit (ink, either polarity), so the ink — a minority — does not pull the surface.
  const int step = std::max(1, int(std::sqrt(double(w) * h / 10000.0)));
  auto coord = [](int i, int n) { return n > 1 ? 2.0f * i / (n - 1) - 1.0f : 0.0f; };
  std::vector<float> su, sv, sg;
  for (int y = 0; y < h; y += step)
    for (int x = 0; x < w; x += step) {
      su.push_back(coord(x, w));
      sv.push_back(coord(y, h));
      sg.push_back(grey[std::size_t(y) * w + x]);
    }
  // The first estimate is the median (a constant): a least-squares surface through everything could bulge
  // into a digit that fills the picture.
  Surface paper;
  paper.c[0] = median_of(sg);
  std::vector<char> use(sg.size(), 1);
  std::vector<float> resid(sg.size());
  float sigma = 1;
  for (int iter = 0; iter < 6; ++iter) {
    if (iter > 0) paper = fit_surface(su, sv, sg, use);
    for (std::size_t i = 0; i < sg.size(); ++i) resid[i] = std::abs(sg[i] - float(paper.at(su[i], sv[i])));
    // Robust σ of the paper: 1.4826 × median absolute residual (ink is less than half the picture).
    sigma = std::max(1.0f, 1.4826f * median_of(resid));
    for (std::size_t i = 0; i < sg.size(); ++i) use[i] = resid[i] <= 2.5f * sigma;
  }

  // Residual grey level of every pixel, and which tail the ink is in: the side with more mass beyond 3σ.
  std::vector<float> r(grey.size());
  double dark = 0, bright = 0;
  for (int y = 0; y < h; ++y) {
    // Along a row the surface is a quadratic in u: a0 + a1 u + a2 u².
    const double v = coord(y, h);
    const auto& c = paper.c;
    const double a0 = c[0] + c[2] * v + c[5] * v * v, a1 = c[1] + c[4] * v, a2 = c[3];
    for (int x = 0; x < w; ++x) {
      const std::size_t i = std::size_t(y) * w + x;
      const double u = coord(x, w);
      r[i] = grey[i] - float(a0 + (a1 + a2 * u) * u);
      dark += std::max(0.0f, -r[i] - 3 * sigma);
      bright += std::max(0.0f, r[i] - 3 * sigma);
    }
  }
  map.dark_ink = dark >= bright;
  float top = 0;
  for (float& x : r) {
    x = std::max(0.0f, map.dark_ink ? -x : x);
    top = std::max(top, x);
  }

  // Full ink = the median of the pixels above Otsu's threshold (a stroke's core, as in MNIST where most
  // stroke pixels are saturated); the paper's noise floor (3σ) maps to 0.
  const float cut = otsu_threshold(r, top);
  std::vector<float> strong;
  for (float x : r)
    if (x > cut) strong.push_back(x);
  const float level = median_of(strong);
  if (strong.empty() || level < std::max(6 * sigma, 16.0f))
    fail(image.source, "no ink found (a blank or too faint picture: ink contrast " +
                           std::to_string(int(level)) + " grey levels, paper noise " +
                           std::to_string(int(sigma)) + ")");
  const float floor = std::min(3 * sigma, 0.5f * cut);
  const float span = level - floor;
  map.ink.resize(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) map.ink[i] = std::clamp((r[i] - floor) / span, 0.0f, 1.0f);
  map.threshold = std::clamp((cut - floor) / span, 0.05f, 0.95f);
  return map;
}

// ---------------------------------------------------------------------------------------------------
// Components

Box unite(const Box& a, const Box& b) {
  if (a.w <= 0 || a.h <= 0) return b;
  if (b.w <= 0 || b.h <= 0) return a;
  const int x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
  return Box{x0, y0, std::max(a.right(), b.right()) - x0, std::max(a.bottom(), b.bottom()) - y0};
}

Components find_components(const InkMap& m) {
  const int w = m.width, h = m.height;
  Components c;
  c.labels.assign(std::size_t(w) * h, 0);
  std::vector<int> stack;
  struct Extent {
    int x0, y0, x1, y1;
  };
  std::vector<Extent> ext;
  for (int start = 0; start < w * h; ++start) {
    if (c.labels[start] || m.ink[start] <= m.threshold) continue;
    const std::int32_t label = std::int32_t(c.list.size()) + 1;
    Component comp;
    Extent e{w, h, -1, -1};
    c.labels[start] = label;
    stack.push_back(start);
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      const int px = p % w, py = p / w;
      ++comp.area;
      e = {std::min(e.x0, px), std::min(e.y0, py), std::max(e.x1, px), std::max(e.y1, py)};
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int qx = px + dx, qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
          const int q = qy * w + qx;
          if (c.labels[q] || m.ink[q] <= m.threshold) continue;
          c.labels[q] = label;
          stack.push_back(q);
        }
    }
    comp.box = Box{e.x0, e.y0, e.x1 - e.x0 + 1, e.y1 - e.y0 + 1};
    comp.touches_border = e.x0 == 0 || e.y0 == 0 || e.x1 == w - 1 || e.y1 == h - 1;
    c.list.push_back(comp);
    ext.push_back(e);
  }
  if (c.list.empty()) return c;

  // Grow each component into the faint ink around it (anti-aliased edges below the threshold), by a
  // radius proportional to the writing's size: breadth-first, so each edge pixel joins its nearest piece.
  std::vector<int> heights;
  for (const auto& comp : c.list) heights.push_back(comp.box.h);
  std::nth_element(heights.begin(), heights.begin() + std::ptrdiff_t(heights.size() / 2), heights.end());
  const int radius = std::max(1, int(std::lround(0.06 * heights[heights.size() / 2])));
  std::vector<int> frontier, next;
  for (int p = 0; p < w * h; ++p)
    if (c.labels[p]) frontier.push_back(p);
  for (int ring = 0; ring < radius && !frontier.empty(); ++ring) {
    next.clear();
    for (int p : frontier) {
      const int px = p % w, py = p / w;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int qx = px + dx, qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
          const int q = qy * w + qx;
          if (c.labels[q] || m.ink[q] <= 0) continue;
          c.labels[q] = c.labels[p];
          next.push_back(q);
          Extent& e = ext[std::size_t(c.labels[p] - 1)];
          e = {std::min(e.x0, qx), std::min(e.y0, qy), std::max(e.x1, qx), std::max(e.y1, qy)};
        }
    }
    std::swap(frontier, next);
  }
  for (std::size_t k = 0; k < c.list.size(); ++k)
    c.list[k].ink_box = Box{ext[k].x0, ext[k].y0, ext[k].x1 - ext[k].x0 + 1, ext[k].y1 - ext[k].y0 + 1};
  return c;
}

std::vector<int> significant_components(const Components& c, const InkMap& m) {
  std::vector<int> keep;
  if (c.list.empty()) return keep;
  int largest = 0;
  for (const auto& comp : c.list) largest = std::max(largest, comp.area);
  // Specks: far smaller than the main stroke (a detached stroke of a 5 or a 4 is still a sizeable part).
  const int min_area = std::max(3, int(0.02 * largest));
  for (int k = 0; k < int(c.list.size()); ++k)
    if (c.list[std::size_t(k)].area >= min_area) keep.push_back(k);
  // The edge of the paper or table in a photo: touches the border and covers half the picture; dropped
  // only when something else remains.
  const double picture = double(m.width) * m.height;
  std::vector<int> inner;
  for (int k : keep) {
    const Box& b = c.list[std::size_t(k)].box;
    if (!(c.list[std::size_t(k)].touches_border && double(b.w) * b.h >= 0.5 * picture)) inner.push_back(k);
  }
  if (!inner.empty()) keep = inner;
  std::sort(keep.begin(), keep.end(),
            [&](int a, int b) { return c.list[std::size_t(a)].box.x < c.list[std::size_t(b)].box.x; });
  return keep;
}

// ---------------------------------------------------------------------------------------------------
// MNIST normalisation

namespace {

// Stroke width of the ink above half level, as 2·area / perimeter (a stroke of width t and length l has
// area t·l and perimeter ≈ 2l).
double stroke_width(const float* ink, int w, int h) {
  long long area = 0, edges = 0;
  auto on = [&](int x, int y) { return x >= 0 && y >= 0 && x < w && y < h && ink[y * w + x] > 0.5f; };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (!on(x, y)) continue;
      ++area;
      edges += !on(x - 1, y) + !on(x + 1, y) + !on(x, y - 1) + !on(x, y + 1);
    }
  return edges ? 2.0 * double(area) / double(edges) : 0.0;
}

// Grey-level dilation by a (2r+1)² square, separably; the image grows by r on every side.
std::vector<float> dilate(const float* ink, int w, int h, int r, int& out_w, int& out_h) {
  out_w = w + 2 * r;
  out_h = h + 2 * r;
  std::vector<float> padded(std::size_t(out_w) * out_h, 0.0f), tmp(padded.size(), 0.0f);
  for (int y = 0; y < h; ++y) std::copy(ink + y * w, ink + (y + 1) * w, padded.begin() + (y + r) * out_w + r);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      float m = 0;
      for (int k = std::max(0, x - r); k <= std::min(out_w - 1, x + r); ++k)
        m = std::max(m, padded[y * out_w + k]);
      tmp[y * out_w + x] = m;
    }
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      float m = 0;
      for (int k = std::max(0, y - r); k <= std::min(out_h - 1, y + r); ++k)
        m = std::max(m, tmp[k * out_w + x]);
      padded[y * out_w + x] = m;
    }
  return padded;
}

// MNIST strokes are about 1/10 of the digit's longer side (2 of 20 px); thinner than kMinStroke of it,
// a stroke fades to a faint trace in 20 px, so it is thickened to kTargetStroke first.
constexpr double kMinStroke = 0.06;
constexpr double kTargetStroke = 0.09;

}  // namespace

MnistImage normalise_digit(const float* ink_in, int w0, int h0) {
  MnistImage out{};
  if (w0 <= 0 || h0 <= 0) return out;
  const float* ink = ink_in;
  int w = w0, h = h0;
  std::vector<float> thick;
  const double longer = std::max(w, h), width = stroke_width(ink, w, h);
  if (width > 0 && width < kMinStroke * longer && longer >= 40) {
    const int r = int(std::lround((kTargetStroke * longer - width) / 2));
    if (r >= 1) {
      thick = dilate(ink, w, h, r, w, h);
      ink = thick.data();
    }
  }

  // Longer side to 20 px, aspect ratio kept, area averaging.
  const double s = double(kMnistBox) / std::max(w, h);
  const int ow = std::clamp(int(std::lround(w * s)), 1, kMnistBox),
            oh = std::clamp(int(std::lround(h * s)), 1, kMnistBox);
  std::vector<float> small(std::size_t(ow) * oh);
  resample_area(small.data(), ow, oh, ink, w, h);
  float peak = 0;
  for (float v : small) peak = std::max(peak, v);
  if (peak <= 0) return out;

  // Centre of mass to the centre of the 28×28 field (pixel-index coordinates, as MNIST: its digits'
  // mean centre of mass is at (14, 14) to within a tenth of a pixel... see tests), kept inside the field.
  double mass = 0, mx = 0, my = 0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      const double v = small[std::size_t(y) * ow + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  const int ox = std::clamp(int(std::lround(kMnistSide / 2.0 - mx / mass)), 0, kMnistSide - ow);
  const int oy = std::clamp(int(std::lround(kMnistSide / 2.0 - my / mass)), 0, kMnistSide - oh);
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      out[std::size_t(oy + y) * kMnistSide + ox + x] =
          std::uint8_t(std::lround(255.0f * std::min(1.0f, small[std::size_t(y) * ow + x] / peak)));
  return out;
}

MnistImage normalise_ink(const InkMap& m, const Components& c, const std::vector<int>& members, int col_begin,
                         int col_end, Box* crop_box) {
  if (crop_box) *crop_box = Box{};
  Box box;
  for (int k : members) box = unite(box, c.list[std::size_t(k)].ink_box);
  const int x0 = std::max(box.x, col_begin), x1 = std::min(box.right(), col_end);
  if (box.w <= 0 || x1 <= x0) return MnistImage{};
  std::vector<char> member(c.list.size() + 1, 0);
  for (int k : members) member[std::size_t(k) + 1] = 1;
  // The members' ink, cropped to where it actually is within the columns.
  int cx0 = x1, cx1 = x0 - 1, cy0 = box.bottom(), cy1 = box.y - 1;
  for (int y = box.y; y < box.bottom(); ++y)
    for (int x = x0; x < x1; ++x) {
      const std::size_t i = std::size_t(y) * m.width + x;
      if (!member[std::size_t(c.labels[i])] || m.ink[i] <= 0) continue;
      cx0 = std::min(cx0, x), cx1 = std::max(cx1, x), cy0 = std::min(cy0, y), cy1 = std::max(cy1, y);
    }
  if (cx1 < cx0) return MnistImage{};
  const int cw = cx1 - cx0 + 1, ch = cy1 - cy0 + 1;
  if (crop_box) *crop_box = Box{cx0, cy0, cw, ch};
  std::vector<float> crop(std::size_t(cw) * ch, 0.0f);
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x) {
      const std::size_t i = std::size_t(cy0 + y) * m.width + cx0 + x;
      if (member[std::size_t(c.labels[i])]) crop[std::size_t(y) * cw + x] = m.ink[i];
    }
  return normalise_digit(crop.data(), cw, ch);
}

MnistImage preprocess_digit(const GreyImage& image) {
  const InkMap m = extract_ink(image);
  const Components c = find_components(m);
  const std::vector<int> keep = significant_components(c, m);
  if (keep.empty()) fail(image.source, "no ink found");
  return normalise_ink(m, c, keep, 0, m.width);
}

}  // namespace lenet

// The two formats read by hand: PGM/PPM/PBM (P1-P6: a text header and a raster) and uncompressed BMP
// (what Paint and imaging libraries write; no maintained Debian library reads BMP short of a whole toolkit).
#include <algorithm>
#include <cctype>

#include "decode_formats.h"
#include "lenet/decode.h"

namespace lenet::decoding {

// ---------------------------------------------------------------------------------------------------
// PGM/PPM/PBM (P1-P6, by hand: a few lines of text and a raster, no library needed)

Decoded decode_pnm(const std::uint8_t* b, std::size_t size, const std::string& source, long long max_pixels) {
  const char kind = char(b[1]);
  const bool ascii = kind <= '3', bitmap = kind == '1' || kind == '4', colour = kind == '3' || kind == '6';
  const char* name = bitmap ? "PBM" : colour ? "PPM" : "PGM";
  std::size_t i = 2;
  const auto space = [](std::uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  const auto skip = [&] {
    for (;;) {
      while (i < size && space(b[i])) ++i;
      if (i >= size || b[i] != '#') return;
      while (i < size && b[i] != '\n' && b[i] != '\r') ++i;
    }
  };
  // A decimal number of at most 8 digits (no valid header comes near: sides ≤ 8192, maxval ≤ 65535).
  const auto number = [&](const char* what) {
    skip();
    if (i >= size) fail(source, std::string("truncated ") + name + " header: no " + what);
    if (!std::isdigit(b[i]))
      fail(source, std::string("malformed ") + name + " header: " + what + " is not a number");
    long long v = 0;
    for (; i < size && std::isdigit(b[i]); ++i)
      if ((v = v * 10 + (b[i] - '0')) > 99'999'999)
        fail(source, std::string("malformed ") + name + " header: " + what + " has more than 8 digits");
    return v;
  };
  const long long w = number("width"), h = number("height");
  const long long maxval = bitmap ? 1 : number("maxval");
  if (maxval < 1 || maxval > 65535)
    fail(source, std::string("malformed ") + name + " header: maxval " + std::to_string(maxval) +
                     ", expected 1 to 65535");
  check_size(source, name, w, h, max_pixels);
  if (i >= size || !space(b[i]))
    fail(source, std::string("malformed ") + name + " header: no space before the pixels");
  ++i;  // the single whitespace before a binary raster
  const int channels = colour ? 3 : 1;
  const std::size_t samples = std::size_t(w) * std::size_t(h) * std::size_t(channels);
  std::vector<std::uint16_t> v(samples);
  if (ascii) {
    std::size_t k = 0;
    for (; k < samples; ++k) {
      skip();
      if (i >= size) break;
      if (bitmap) {  // P1 digits need no space between them
        if (b[i] != '0' && b[i] != '1')
          fail(source, "malformed PBM: expected 0 or 1, found byte " + std::to_string(b[i]));
        v[k] = std::uint16_t(b[i++] - '0');
      } else {
        const long long x = number("pixel value");
        if (x > maxval)
          fail(source, std::string("malformed ") + name + ": value " + std::to_string(x) + " above maxval " +
                           std::to_string(maxval));
        v[k] = std::uint16_t(x);
      }
    }
    if (k < samples)
      fail(source, std::string("truncated ") + name + " file: expected " + std::to_string(samples) +
                       " values, found " + std::to_string(k));
  } else {
    const std::size_t row =
        bitmap ? std::size_t((w + 7) / 8) : std::size_t(w) * channels * (maxval > 255 ? 2 : 1);
    const std::size_t need = row * std::size_t(h), have = size - std::min(size, i);
    if (have < need)
      fail(source, std::string("truncated ") + name + " file: expected " + std::to_string(need) +
                       " bytes of pixels, found " + std::to_string(have));
    for (std::size_t y = 0; y < std::size_t(h); ++y)
      for (std::size_t x = 0; x < std::size_t(w) * channels; ++x) {
        const std::uint8_t* p = b + i + y * row;
        std::uint16_t s = bitmap         ? std::uint16_t((p[x / 8] >> (7 - x % 8)) & 1)
                          : maxval > 255 ? std::uint16_t(p[2 * x] << 8 | p[2 * x + 1])
                                         : p[x];
        v[y * std::size_t(w) * channels + x] = std::min<std::uint16_t>(s, std::uint16_t(maxval));
      }
  }
  Decoded d;
  d.width = int(w);
  d.height = int(h);
  d.pixels.resize(std::size_t(w) * h);
  const auto level = [&](std::uint16_t s) {
    // PBM: 1 is black.
    return bitmap ? std::uint8_t(s ? 0 : 255) : std::uint8_t((s * 255 + maxval / 2) / maxval);
  };
  for (std::size_t k = 0; k < d.pixels.size(); ++k)
    d.pixels[k] = colour ? luma(level(v[3 * k]), level(v[3 * k + 1]), level(v[3 * k + 2])) : level(v[k]);
  return d;
}

// ---------------------------------------------------------------------------------------------------
// BMP (by hand: uncompressed rasters only, which is what Paint and imaging libraries write; no maintained
// Debian library reads BMP short of a whole imaging toolkit)

Decoded decode_bmp(const std::uint8_t* b, std::size_t size, const std::string& source, long long max_pixels) {
  const auto u16 = [&](std::size_t at) -> std::uint32_t {
    return at + 2 <= size ? b[at] | b[at + 1] << 8 : 0;
  };
  const auto u32 = [&](std::size_t at) -> std::uint32_t {
    return at + 4 <= size ? std::uint32_t(b[at]) | std::uint32_t(b[at + 1]) << 8 |
                                std::uint32_t(b[at + 2]) << 16 | std::uint32_t(b[at + 3]) << 24
                          : 0;
  };
  if (size < 26) fail(source, "truncated BMP: " + std::to_string(size) + " bytes, shorter than its header");
  const std::uint32_t data_at = u32(10), header = u32(14);
  const bool core = header == 12;  // OS/2 BITMAPCOREHEADER: 16-bit sides
  if (!core && header < 40) fail(source, "corrupt BMP: header of " + std::to_string(header) + " bytes");
  if (14 + std::size_t(header) > size) fail(source, "truncated BMP: the file ends inside its header");
  const long long w = core ? u16(18) : std::int32_t(u32(18));
  const long long signed_h = core ? u16(20) : std::int32_t(u32(22));
  const unsigned bits = core ? u16(24) : u16(28);
  const std::uint32_t compression = core ? 0 : u32(30);
  const bool top_down = signed_h < 0;
  const long long h = top_down ? -signed_h : signed_h;
  check_size(source, "BMP", w, h, max_pixels);
  if (compression != 0 && compression != 3)
    fail(source, "unsupported BMP: compression " + std::to_string(compression) +
                     " (RLE or embedded JPEG/PNG); save it as PNG");
  if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32)
    fail(source, "unsupported BMP: " + std::to_string(bits) + " bits per pixel");
  // Channel masks: given after the 40-byte header (or inside a V4/V5 header) for BI_BITFIELDS, else the
  // defaults (5-5-5 for 16 bits, 8-8-8 for 32).
  std::uint32_t masks[4] = {0, 0, 0, 0};
  if (compression == 3) {
    for (int k = 0; k < 3; ++k) masks[k] = u32(54 + 4 * std::size_t(k));
    if (header >= 56) masks[3] = u32(66);
  } else if (bits == 16) {
    masks[0] = 0x7C00, masks[1] = 0x03E0, masks[2] = 0x001F;
  } else if (bits == 32) {
    masks[0] = 0xFF0000, masks[1] = 0xFF00, masks[2] = 0xFF;
  }
  const auto channel = [](std::uint32_t v, std::uint32_t mask) -> unsigned {
    if (!mask) return 0;
    int shift = 0, width = 0;
    while (!((mask >> shift) & 1)) ++shift;
    while (shift + width < 32 && ((mask >> (shift + width)) & 1)) ++width;
    const std::uint32_t x = (v & mask) >> shift, top = width >= 32 ? 0xFFFFFFFFu : (1u << width) - 1;
    return unsigned((std::uint64_t(x) * 255 + top / 2) / top);
  };
  // The palette, for 1, 4 and 8 bits: 4 bytes an entry (3 in the OS/2 header), BGR.
  std::vector<std::uint8_t> palette;
  if (bits <= 8) {
    const std::size_t entry = core ? 3 : 4, at = 14 + std::size_t(header);
    std::size_t count = core ? 0 : u32(46);
    if (count == 0 || count > (1u << bits)) count = std::size_t(1) << bits;
    if (at + count * entry > size) fail(source, "truncated BMP: the file ends inside its palette");
    for (std::size_t k = 0; k < count; ++k)
      palette.push_back(luma(b[at + k * entry + 2], b[at + k * entry + 1], b[at + k * entry]));
  }
  const std::size_t row = ((std::size_t(w) * bits + 31) / 32) * 4;
  const std::size_t need = row * std::size_t(h);
  if (data_at > size)
    fail(source, "corrupt BMP: its pixels start at byte " + std::to_string(data_at) +
                     ", past the end of the " + std::to_string(size) + "-byte file");
  if (size - data_at < need)
    fail(source, "truncated BMP: expected " + std::to_string(need) + " bytes of pixels, found " +
                     std::to_string(size - data_at));
  Decoded d;
  d.width = int(w);
  d.height = int(h);
  const bool alpha = masks[3] != 0;
  d.channels = alpha ? 2 : 1;
  d.pixels.resize(std::size_t(w) * h * d.channels);
  for (long long y = 0; y < h; ++y) {
    const std::uint8_t* p = b + data_at + row * std::size_t(top_down ? y : h - 1 - y);
    for (long long x = 0; x < w; ++x) {
      std::uint8_t* out = &d.pixels[(std::size_t(y) * w + x) * d.channels];
      if (bits <= 8) {
        const unsigned k = (p[x * bits / 8] >> (8 - bits - (x * bits) % 8)) & ((1u << bits) - 1);
        *out = k < palette.size() ? palette[k] : 0;
      } else if (bits == 24) {
        *out = luma(p[3 * x + 2], p[3 * x + 1], p[3 * x]);
      } else {
        const std::uint32_t v = bits == 16 ? std::uint32_t(p[2 * x] | p[2 * x + 1] << 8)
                                           : std::uint32_t(p[4 * x]) | std::uint32_t(p[4 * x + 1]) << 8 |
                                                 std::uint32_t(p[4 * x + 2]) << 16 |
                                                 std::uint32_t(p[4 * x + 3]) << 24;
        *out = luma(channel(v, masks[0]), channel(v, masks[1]), channel(v, masks[2]));
        if (alpha) out[1] = std::uint8_t(channel(v, masks[3]));
      }
    }
  }
  return d;
}

}  // namespace lenet::decoding

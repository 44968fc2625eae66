// GIF pictures read from memory with giflib: the first frame on the logical screen, transparency kept
// for the compositing over paper.
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "decode_formats.h"
#include "lenet/decode.h"

namespace lenet::decoding {

namespace {

struct GifMemory {
  const std::uint8_t* bytes;
  std::size_t size, at;
};

int gif_read(GifFileType* gif, GifByteType* into, int n) {
  auto* m = static_cast<GifMemory*>(gif->UserData);
  const std::size_t k = std::min<std::size_t>(std::size_t(std::max(n, 0)), m->size - m->at);
  std::memcpy(into, m->bytes + m->at, k);
  m->at += k;
  return int(k);
}

}  // namespace

Decoded decode_gif(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                   long long max_pixels) {
  GifMemory m{bytes, size, 0};
  int error = 0;
  const auto close = [](GifFileType* g) { DGifCloseFile(g, nullptr); };
  std::unique_ptr<GifFileType, decltype(close)> gif(DGifOpen(&m, gif_read, &error), close);
  const auto why = [&](int e) {
    const char* text = GifErrorString(e);
    return std::string(text ? text : "unreadable");
  };
  if (!gif) fail(source, "corrupt or truncated GIF: " + why(error));
  // The picture is the first frame drawn on the logical screen; what it does not cover is transparent.
  Decoded d;
  d.width = gif->SWidth;
  d.height = gif->SHeight;
  check_size(source, "GIF", d.width, d.height, max_pixels);
  d.channels = 2;
  d.pixels.assign(std::size_t(d.width) * d.height * 2, 0);
  int transparent = -1;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR)
      fail(source, "corrupt or truncated GIF: " + why(gif->Error));
    if (type == TERMINATE_RECORD_TYPE) fail(source, "GIF holds no picture");
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(gif.get(), &code, &ext) == GIF_ERROR)
        fail(source, "corrupt or truncated GIF: " + why(gif->Error));
      while (ext) {
        if (code == GRAPHICS_EXT_FUNC_CODE && ext[0] >= 4) transparent = (ext[1] & 1) ? ext[4] : -1;
        if (DGifGetExtensionNext(gif.get(), &ext) == GIF_ERROR)
          fail(source, "corrupt or truncated GIF: " + why(gif->Error));
      }
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR)
      fail(source, "corrupt or truncated GIF: " + why(gif->Error));
    const GifImageDesc& frame = gif->Image;
    check_size(source, "GIF frame", frame.Width, frame.Height, kMaxImagePixels);
    const ColorMapObject* colours = frame.ColorMap ? frame.ColorMap : gif->SColorMap;
    if (!colours) fail(source, "corrupt GIF: no colour map");
    std::vector<std::uint8_t> grey(std::size_t(colours->ColorCount));
    for (int k = 0; k < colours->ColorCount; ++k)
      grey[std::size_t(k)] = luma(colours->Colors[k].Red, colours->Colors[k].Green, colours->Colors[k].Blue);
    std::vector<GifPixelType> line(std::size_t(frame.Width));
    // Interlaced rows come in four passes: every 8th from 0, every 8th from 4, every 4th from 2, every 2nd
    // from 1 (GIF89a, appendix E).
    static constexpr int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
    for (int pass = 0; pass < (frame.Interlace ? 4 : 1); ++pass)
      for (int r = frame.Interlace ? kStart[pass] : 0; r < frame.Height;
           r += frame.Interlace ? kStep[pass] : 1) {
        if (DGifGetLine(gif.get(), line.data(), frame.Width) == GIF_ERROR)
          fail(source, "corrupt or truncated GIF: " + why(gif->Error));
        const int y = frame.Top + r;
        if (y >= d.height) continue;
        for (int c = 0; c < frame.Width && frame.Left + c < d.width; ++c) {
          const int k = line[std::size_t(c)];
          if (k == transparent || k >= colours->ColorCount) continue;
          const std::size_t i = (std::size_t(y) * d.width + frame.Left + c) * 2;
          d.pixels[i] = grey[std::size_t(k)];
          d.pixels[i + 1] = 255;
        }
      }
    return d;
  }
}

}  // namespace lenet::decoding

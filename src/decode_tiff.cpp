// TIFF pictures read from memory with libtiff: its per-file error handler (nothing printed), its memory
// limit, and the Orientation tag applied by our code (libtiff's RGBA reader only flips).
#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "decode_formats.h"
#include "lenet/decode.h"

namespace lenet::decoding {

namespace {

struct TiffMemory {
  const std::uint8_t* bytes;
  toff_t size, at;
  std::string error;
};

tmsize_t tiff_read(thandle_t h, void* into, tmsize_t n) {
  auto* m = static_cast<TiffMemory*>(h);
  if (n < 0 || m->at >= m->size) return 0;
  const toff_t k = std::min<toff_t>(toff_t(n), m->size - m->at);
  std::memcpy(into, m->bytes + m->at, std::size_t(k));
  m->at += k;
  return tmsize_t(k);
}
tmsize_t tiff_write(thandle_t, void*, tmsize_t) { return -1; }
toff_t tiff_seek(thandle_t h, toff_t offset, int whence) {
  auto* m = static_cast<TiffMemory*>(h);
  const toff_t base = whence == SEEK_CUR ? m->at : whence == SEEK_END ? m->size : 0;
  m->at = base + offset;  // past the end is allowed; reads there return nothing
  return m->at;
}
int tiff_close(thandle_t) { return 0; }
toff_t tiff_size(thandle_t h) { return static_cast<TiffMemory*>(h)->size; }
int tiff_map(thandle_t, void**, toff_t*) { return 0; }
void tiff_unmap(thandle_t, void*, toff_t) {}

// libtiff would print its errors and warnings; kept instead (the first error says what went wrong).
int tiff_on_error(TIFF*, void* user, const char* module, const char* format, va_list args) {
  auto* m = static_cast<TiffMemory*>(user);
  if (m->error.empty()) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    m->error = std::string(module ? module : "libtiff") + ": " + text;
  }
  return 1;
}
int tiff_on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

}  // namespace

Decoded decode_tiff(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                    long long max_pixels) {
  TiffMemory m{bytes, toff_t(size), 0, {}};
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> options(TIFFOpenOptionsAlloc(),
                                                                       TIFFOpenOptionsFree);
  if (!options) throw std::bad_alloc();
  // No single allocation over what a picture at the limits needs (40 Mpixel of 32-bit RGBA).
  TIFFOpenOptionsSetMaxSingleMemAlloc(options.get(), tmsize_t(kMaxImagePixels) * 4 + (1 << 20));
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), tiff_on_error, &m);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), tiff_on_warning, &m);
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(
      TIFFClientOpenExt(source.c_str(), "rm", &m, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size,
                        tiff_map, tiff_unmap, options.get()),
      TIFFClose);
  const auto why = [&] { return m.error.empty() ? std::string("unreadable") : m.error; };
  if (!tif) fail(source, "corrupt or truncated TIFF: " + why());
  std::uint32_t w = 0, h = 0;
  if (!TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h))
    fail(source, "corrupt TIFF: no image width or length");
  check_size(source, "TIFF", w, h, max_pixels);
  std::uint16_t orientation = ORIENTATION_TOPLEFT;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_ORIENTATION, &orientation);
  // libtiff's RGBA reader would only flip (it treats the four transposed orientations as unrotated): the
  // rows are read as stored, and make_upright turns them as for a JPEG.
  TIFFSetField(tif.get(), TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  std::vector<std::uint32_t> raster(std::size_t(w) * h);
  if (!TIFFReadRGBAImageOriented(tif.get(), w, h, raster.data(), ORIENTATION_TOPLEFT, 1))
    fail(source, "corrupt or truncated TIFF: " + why());
  Decoded d;
  d.width = int(w);
  d.height = int(h);
  d.orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
  bool alpha = false;
  for (std::uint32_t p : raster) alpha = alpha || TIFFGetA(p) != 255;
  d.channels = alpha ? 2 : 1;
  d.pixels.resize(raster.size() * std::size_t(d.channels));
  for (std::size_t i = 0; i < raster.size(); ++i) {
    const std::uint32_t p = raster[i];
    d.pixels[i * d.channels] = luma(TIFFGetR(p), TIFFGetG(p), TIFFGetB(p));
    if (alpha) d.pixels[i * 2 + 1] = std::uint8_t(TIFFGetA(p));
  }
  return d;
}

}  // namespace lenet::decoding

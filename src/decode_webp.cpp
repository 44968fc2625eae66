// WebP pictures read with libwebp, and its demuxer for the first frame of an animation and the EXIF chunk.
#include <webp/decode.h>
#include <webp/demux.h>

#include <memory>

#include "decode_formats.h"
#include "lenet/decode.h"

namespace lenet::decoding {

Decoded decode_webp(const std::uint8_t* bytes, std::size_t size, const std::string& source,
                    long long max_pixels) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(bytes, size, &features) != VP8_STATUS_OK)
    fail(source, "corrupt or truncated WebP: its header cannot be read");
  const WebPData data{bytes, size};
  std::unique_ptr<WebPDemuxer, void (*)(WebPDemuxer*)> demux(WebPDemux(&data), WebPDemuxDelete);
  if (!demux) fail(source, "corrupt or truncated WebP: its chunks cannot be read");
  check_size(source, "WebP", WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_WIDTH),
             WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_HEIGHT), max_pixels);
  // The first frame (the picture itself when not animated), at the frame's own size.
  WebPIterator frame;
  if (!WebPDemuxGetFrame(demux.get(), 1, &frame)) fail(source, "corrupt WebP: no frame");
  std::unique_ptr<WebPIterator, void (*)(WebPIterator*)> frame_owner(&frame, WebPDemuxReleaseIterator);
  Decoded d;
  d.width = frame.width;
  d.height = frame.height;
  check_size(source, "WebP frame", d.width, d.height, max_pixels);
  const std::size_t n = std::size_t(d.width) * d.height;
  std::vector<std::uint8_t> rgba(n * 4);
  if (!WebPDecodeRGBAInto(frame.fragment.bytes, frame.fragment.size, rgba.data(), rgba.size(), d.width * 4))
    fail(source, "corrupt or truncated WebP: the picture data cannot be decoded");
  d.channels = frame.has_alpha ? 2 : 1;
  d.pixels.resize(n * std::size_t(d.channels));
  for (std::size_t i = 0; i < n; ++i) {
    d.pixels[i * d.channels] = luma(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
    if (d.channels == 2) d.pixels[i * 2 + 1] = rgba[4 * i + 3];
  }
  WebPChunkIterator exif;
  if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &exif)) {
    d.orientation = exif_orientation(exif.chunk.bytes, exif.chunk.size);
    WebPDemuxReleaseChunkIterator(&exif);
  }
  return d;
}

}  // namespace lenet::decoding

// Pictures in every format the decoders read, written with each format's own library or by hand, for the
// decoding tests and the fuzzers' seeds. Bytes are a std::string.
#pragma once
#include <cstdint>
#include <string>

#include "lenet/decode.h"

namespace lenet::test {

using Bytes = std::string;

std::string be16(unsigned v);
std::string be32(std::uint32_t v);
std::string le16(unsigned v);
std::string le32(std::uint32_t v);

// A big-endian TIFF header and one IFD entry, Orientation (0x0112) = o: the EXIF block phones write.
Bytes exif_block(int o);
// A PNG chunk: length, type, data, CRC.
Bytes png_chunk(const std::string& type, const Bytes& data);
// The file save_image writes for g (extension .png, .jpg, .pgm ...).
Bytes save_as(const GreyImage& g, const std::string& ext, int quality = 95);

// Each with orientation tag o (1 = none written): PNG eXIf chunk, JPEG APP1, WebP EXIF chunk, TIFF tag.
Bytes png_file(const GreyImage& g, int o = 1);
Bytes jpeg_file(const GreyImage& g, int o = 1);
Bytes webp_file(const GreyImage& g, int o = 1);  // lossless
Bytes tiff_file(const GreyImage& g, int o = 1, bool lzw = false);
// A grey palette (index = level); a second frame (the negative) when asked, which readers must ignore.
Bytes gif_file(const GreyImage& g, bool interlaced = false, bool second_frame = false);
// BMP of 8 (grey palette) or 24 bits per pixel, uncompressed.
Bytes bmp_file(const GreyImage& g, int bits = 24);
// PNM of kind '2', '3' (ASCII) or '5', '6' (binary), with a comment in the header.
Bytes pnm_file(const GreyImage& g, char kind);

}  // namespace lenet::test

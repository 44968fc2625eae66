// What each fuzz target does with one input, shared by the libFuzzer programs (fuzz/fuzz_<name>.cpp) and by
// tests/test_fuzz_corpus.cpp, which replays every committed seed and regression input in every test build.
#pragma once
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lenet/checkpoint.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/model_file.h"

// Each target catches only the error type its reader promises (DataError, ModelFileError, ...): anything
// else escaping, like a crash or a sanitizer report, is a bug the fuzzer reports.
namespace lenet::fuzz {

// The bytes as a data file, raw or gzipped: as idx1 labels and as idx3 images.
inline void idx(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = inflate_if_gzip(std::vector<std::uint8_t>(data, data + size), "fuzz-input");
  } catch (const DataError&) {
    return;
  }
  try {
    parse_idx1_labels(bytes.data(), bytes.size(), "fuzz-input");
  } catch (const DataError&) {
  }
  try {
    parse_idx3_images(bytes.data(), bytes.size(), "fuzz-input");
  } catch (const DataError&) {
  }
}

inline void model_file(const std::uint8_t* data, std::size_t size) {
  ModelFile f;
  try {
    f = parse_model(data, size, "fuzz-input");
  } catch (const ModelFileError&) {
    return;
  }
  try {
    lenet5_from_model_file(f, "fuzz-input");
  } catch (const ModelFileError&) {
  }
  try {
    checkpoint_from_model_file(std::move(f), "fuzz-input");
  } catch (const ModelFileError&) {
  }
}

// The bytes as a model file or checkpoint: once as they are, and once with the CRC-32 made to match, so
// that mutations of the header and tensors get past the checksum and reach the checks behind it.
inline void model(const std::uint8_t* data, std::size_t size) {
  model_file(data, size);
  constexpr std::size_t kTrailer = 12;  // CRC-32, "LENETEND"
  if (size < 16 + kTrailer) return;
  std::vector<std::uint8_t> fixed(data, data + size);
  const std::size_t payload_end = size - kTrailer;
  std::uint32_t crc = std::uint32_t(crc32(crc32(0L, Z_NULL, 0), fixed.data(), uInt(payload_end)));
  for (int i = 0; i < 4; ++i) fixed[payload_end + std::size_t(i)] = std::uint8_t(crc >> (8 * i));
  if (std::memcmp(fixed.data() + payload_end, data + payload_end, 4) != 0) model_file(fixed.data(), size);
}

}  // namespace lenet::fuzz

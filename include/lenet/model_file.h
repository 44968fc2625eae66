// The versioned binary model file: named float32 tensors plus a JSON header (architecture, config).
// Saving is atomic (temp file, fsync, rename); loading refuses anything malformed with a precise error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/errors.h"

namespace lenet {

// File layout, all integers little-endian:
//
//   offset        size   field
//   0             8      magic "LENETMDL"
//   8             4      u32 format version (kModelFormatVersion)
//   12            4      u32 header length H in bytes (H <= kMaxModelHeaderBytes)
//   16            H      header: UTF-8 JSON object
//                          {"arch": string, "config": any JSON value,
//                           "lenet_version": string (optional: absent before lenet 0.2.0),
//                           "tensors": [{"name": string, "shape": [int64 >= 0, ...],
//                                        "offset": u64, "count": u64}, ...]}
//                        offset and count are in floats, relative to the start of the payload;
//                        count == product(shape) (an empty shape is a scalar, count 1).
//   16+H          4*P    payload: P float32 values (IEEE-754 bit patterns, copied bit for bit)
//   16+H+4P       4      u32 CRC-32 (zlib crc32) of bytes [0, 16+H+4P)
//   20+H+4P       8      end magic "LENETEND"
//
// Tensors lie contiguously in header order (offset == sum of the previous counts, so P == sum of counts);
// requiring this keeps a hostile header from making several tensors alias one large payload range.
// Values must be finite. Tensor names are unique.
//
// Loading checks, in order, and throws ModelFileError naming the file and expected vs found:
// unreadable file; too short; magic; version (0 or newer than this build); header length limit;
// truncation (size or end magic); CRC; header JSON and fields; tensor shapes, ranges and values.

struct TensorRecord {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;  // row-major, data.size() == product(shape)
};

struct ModelFile {
  std::string arch;       // e.g. "lenet5" or "lenet5-1998"
  nlohmann::json config;  // architecture config + training metadata (free-form; round-trips as is)
  std::vector<TensorRecord> tensors;
  // The version of lenet that wrote the file, "" for files from before 0.2.0. Set by loading; saving
  // always records the version of the library that saves.
  std::string lenet_version = {};
};

inline constexpr std::uint32_t kModelFormatVersion = 1;
inline constexpr std::uint32_t kMaxModelHeaderBytes = 16u << 20;  // 16 MiB
inline constexpr int kMaxModelHeaderDepth = 64;                   // JSON nesting limit in the header

// ModelFileError is in lenet/errors.h.

// Through write_file_atomically (output_file.h): writes path.tmp-<pid> (locked while written, after removing
// temporaries of processes killed mid-save), fsyncs it, renames it over path and fsyncs the directory.
// On failure the old file at path is untouched, the temp file is removed and ModelFileError is thrown.
// Refuses (before touching the disk) tensors whose data does not match their shape, negative
// dimensions, non-finite values, duplicate names, and JSON that cannot be encoded (invalid UTF-8).
void save_model_file(const std::string& path, const ModelFile& m);

ModelFile load_model_file(const std::string& path);

// The exact bytes save_model_file writes; exposed for tests and fuzzing.
std::vector<std::uint8_t> serialize_model(const ModelFile& m);

// Parses a whole file image; name_for_errors prefixes every error message. Never reads outside
// [data, data+size) and allocates only in proportion to size.
ModelFile parse_model(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors);

}  // namespace lenet

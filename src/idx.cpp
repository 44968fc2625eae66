// IDX readers: whole-file read with optional gzip inflation, idx1/idx3 header and length checks,
// and the MNIST-style directory layout ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]).
#include "lenet/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

#include "lenet/normalise.h"

namespace lenet {
namespace {

constexpr std::uint32_t kMagicLabels = 0x00000801;  // ubyte, 1 dimension
constexpr std::uint32_t kMagicImages = 0x00000803;  // ubyte, 3 dimensions
constexpr std::size_t kIdx1HeaderBytes = 8;         // magic, count
constexpr std::size_t kIdx3HeaderBytes = 16;        // magic, count, rows, cols
// Far above any real dataset; stops a corrupt or hostile .gz from exhausting memory.
constexpr std::uint64_t kMaxInflatedBytes = std::uint64_t(1) << 34;

std::uint32_t read_be32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 |
         std::uint32_t(p[3]);
}

std::uint32_t read_le32(const std::uint8_t* p) {
  return std::uint32_t(p[3]) << 24 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[1]) << 8 |
         std::uint32_t(p[0]);
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// What a magic number says the file is, so that e.g. an images file passed as labels is named as such.
std::string describe_magic(std::uint32_t magic) {
  if (magic == kMagicLabels) return "idx1 ubyte, a labels file";
  if (magic == kMagicImages) return "idx3 ubyte, an images file";
  if ((magic >> 16) != 0) return "not an idx file";
  const unsigned type = (magic >> 8) & 0xff, dims = magic & 0xff;
  const char* name = type == 0x08   ? "ubyte"
                     : type == 0x09 ? "int8"
                     : type == 0x0b ? "int16"
                     : type == 0x0c ? "int32"
                     : type == 0x0d ? "float32"
                     : type == 0x0e ? "float64"
                                    : nullptr;
  if (!name) return "not an idx file: unknown element type " + hex32(type);
  return "idx" + std::to_string(dims) + " " + name;
}

void check_magic(const std::string& path, std::uint32_t found, std::uint32_t expected, const char* what) {
  if (found == expected) return;
  throw DataError("file " + path + ": wrong magic number: expected " + hex32(expected) + " (" + what +
                  "), found " + hex32(found) + " (" + describe_magic(found) + ")");
}

// Header first, then the whole file: too short is "truncated", too long is "trailing bytes".
void check_length(const std::string& path, std::size_t found, std::uint64_t expected,
                  const std::string& layout) {
  if (found < expected)
    throw DataError("file " + path + " is truncated: expected " + std::to_string(expected) +
                    " bytes, found " + std::to_string(found) + " (" + layout + ")");
  if (found > expected)
    throw DataError("file " + path + " has trailing bytes: expected " + std::to_string(expected) +
                    " bytes, found " + std::to_string(found) + " (" + layout + ")");
}

std::vector<std::uint8_t> read_raw(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw DataError("cannot open file " + path + ": " + std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const std::size_t n = std::fread(chunk, 1, sizeof chunk, f.get());
    bytes.insert(bytes.end(), chunk, chunk + n);
    if (n < sizeof chunk) break;
  }
  if (std::ferror(f.get())) throw DataError("cannot read file " + path + ": " + std::strerror(errno));
  return bytes;
}

// The exact size of the idx file whose first `size` bytes are given, from its header: what inflating a .gz
// may produce at most. 0 when the header is not complete yet or not an idx1/idx3 header (then only
// kMaxInflatedBytes bounds it); the parsers report any such file with a precise message.
std::uint64_t idx_size_from_header(const std::uint8_t* p, std::size_t size) {
  if (size < 4) return 0;
  const std::uint32_t magic = read_be32(p);
  if (magic == kMagicLabels && size >= kIdx1HeaderBytes) {
    const std::uint32_t count = read_be32(p + 4);
    return count <= std::uint32_t(kIdxMaxCount) ? kIdx1HeaderBytes + count : kIdx1HeaderBytes;
  }
  if (magic == kMagicImages && size >= kIdx3HeaderBytes) {
    const std::uint32_t count = read_be32(p + 4), rows = read_be32(p + 8), cols = read_be32(p + 12);
    if (count > std::uint32_t(kIdxMaxCount) || rows > std::uint32_t(kIdxMaxSide) ||
        cols > std::uint32_t(kIdxMaxSide))
      return kIdx3HeaderBytes;  // bad dimensions: nothing past the header is worth inflating
    return kIdx3HeaderBytes + std::uint64_t(count) * rows * cols;
  }
  return 0;
}

// Inflates every gzip member in turn (concatenated .gz files are valid gzip). Once the idx header is out,
// the output is held to the size it implies: a small .gz that would inflate to gigabytes (a "gzip bomb")
// is refused after at most that many bytes.
std::vector<std::uint8_t> inflate_gzip(const std::string& path, const std::vector<std::uint8_t>& in) {
  const auto corrupt = [&](const std::string& why) {
    return DataError("file " + path + ": corrupt gzip data: " + why);
  };
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw corrupt("zlib inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, &inflateEnd);

  // The gzip trailer's ISIZE is the inflated size mod 2^32: a first guess for files that are not idx,
  // never trusted, and capped by deflate's best ratio (about 1032:1).
  const std::size_t isize = in.size() >= 4 ? read_le32(&in[in.size() - 4]) : 0;
  const std::size_t ceiling = std::max<std::size_t>(in.size() * 1032, 1 << 16);
  std::uint64_t limit = kMaxInflatedBytes;  // bytes the output may hold
  bool header_seen = false;
  std::vector<std::uint8_t> out(1 << 16);  // enough for the header; sized to the file once it is known

  constexpr std::size_t kMaxChunk = std::numeric_limits<uInt>::max();
  std::size_t in_pos = 0, out_pos = 0;
  const auto see_header = [&] {
    header_seen = true;
    if (const std::uint64_t implied = idx_size_from_header(out.data(), out_pos); implied != 0) {
      limit = implied;
      // One byte more than the header allows, to tell a file that is too long from one that is whole;
      // but never more than this input can inflate to, so a 40-byte .gz whose header claims gigabytes
      // costs nothing (the output grows by doubling if the data really is that large).
      const std::uint64_t want = std::min<std::uint64_t>(limit + 1, ceiling);
      if (out.size() < want) out.resize(std::size_t(want));
    } else {
      out.resize(std::clamp<std::size_t>(isize, out.size(), ceiling));
    }
  };
  for (;;) {
    if (z.avail_in == 0 && in_pos < in.size()) {
      z.next_in = const_cast<Bytef*>(in.data() + in_pos);
      z.avail_in = uInt(std::min(kMaxChunk, in.size() - in_pos));
      in_pos += z.avail_in;
    }
    if (!header_seen && out_pos >= kIdx3HeaderBytes) see_header();
    if (out_pos == out.size()) {
      if (out_pos > limit)
        throw DataError("file " + path + ": inflates to more than the " + std::to_string(limit) +
                        " bytes its idx header implies; refused (a corrupt or hostile .gz)");
      if (out.size() >= kMaxInflatedBytes)
        throw corrupt("inflates to more than " + std::to_string(kMaxInflatedBytes) + " bytes");
      out.resize(std::min<std::uint64_t>({out.size() * 2, kMaxInflatedBytes, limit + 1}));
    }
    z.next_out = out.data() + out_pos;
    z.avail_out = uInt(std::min(kMaxChunk, out.size() - out_pos));
    const uInt before = z.avail_out;
    const int rc = inflate(&z, Z_NO_FLUSH);
    out_pos += before - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0 && in_pos == in.size()) break;
      if (inflateReset(&z) != Z_OK) throw corrupt("zlib inflateReset failed");
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_pos == in.size())
      throw corrupt("stream ends early (truncated .gz)");
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw corrupt(z.msg ? z.msg : "zlib error " + std::to_string(rc));
  }
  if (!header_seen) see_header();  // a file short enough to inflate in one step
  if (out_pos > limit)
    throw DataError("file " + path + ": inflates to more than the " + std::to_string(limit) +
                    " bytes its idx header implies; refused (a corrupt or hostile .gz)");
  out.resize(out_pos);
  return out;
}

const char* split_prefix(Split split) { return split == Split::Train ? "train" : "t10k"; }

// The raw name if present, else name.gz; throws listing both when neither exists.
std::string find_candidate(const std::string& dir, const std::string& name, const std::string& what) {
  namespace fs = std::filesystem;
  const std::string raw = (fs::path(dir) / name).string();
  const std::string gz = raw + ".gz";
  std::error_code ec;
  if (fs::is_regular_file(raw, ec)) return raw;
  if (fs::is_regular_file(gz, ec)) return gz;
  throw DataError("missing " + what + " file in " + dir + ": tried " + raw + " and " + gz +
                  ", found neither");
}

}  // namespace

std::vector<std::uint8_t> inflate_if_gzip(std::vector<std::uint8_t> bytes,
                                          const std::string& name_for_errors) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return inflate_gzip(name_for_errors, bytes);
  return bytes;
}

std::vector<std::uint8_t> read_file_maybe_gzip(const std::string& path) {
  return inflate_if_gzip(read_raw(path), path);
}

std::vector<std::uint8_t> read_idx1_labels(const std::string& path, int num_classes) {
  if (num_classes < 1 || num_classes > 256)
    throw std::invalid_argument("read_idx1_labels: num_classes must be in 1..256, found " +
                                std::to_string(num_classes));
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(path);
  return parse_idx1_labels(bytes.data(), bytes.size(), path, num_classes);
}

std::vector<std::uint8_t> parse_idx1_labels(const std::uint8_t* data, std::size_t size,
                                            const std::string& path, int num_classes) {
  if (num_classes < 1 || num_classes > 256)
    throw std::invalid_argument("parse_idx1_labels: num_classes must be in 1..256, found " +
                                std::to_string(num_classes));
  if (size >= 4) check_magic(path, read_be32(data), kMagicLabels, "idx1 ubyte labels");
  if (size < kIdx1HeaderBytes) check_length(path, size, kIdx1HeaderBytes, "the idx1 header alone is 8 bytes");

  const std::uint32_t count = read_be32(data + 4);
  if (count == 0 || count > std::uint32_t(kIdxMaxCount))
    throw DataError("file " + path + ": bad dimension: expected a label count in 1.." +
                    std::to_string(kIdxMaxCount) + ", found " + std::to_string(count));
  check_length(path, size, kIdx1HeaderBytes + count, "8-byte header + " + std::to_string(count) + " labels");

  std::vector<std::uint8_t> labels(data + kIdx1HeaderBytes, data + size);
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= num_classes)
      throw DataError("file " + path + ": label out of range at index " + std::to_string(i) +
                      ": expected 0.." + std::to_string(num_classes - 1) + ", found " +
                      std::to_string(labels[i]));
  return labels;
}

Dataset read_idx3_images(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(path);
  return parse_idx3_images(bytes.data(), bytes.size(), path);
}

Dataset parse_idx3_images(const std::uint8_t* data, std::size_t size, const std::string& path) {
  if (size >= 4) check_magic(path, read_be32(data), kMagicImages, "idx3 ubyte images");
  if (size < kIdx3HeaderBytes)
    check_length(path, size, kIdx3HeaderBytes, "the idx3 header alone is 16 bytes");

  const std::uint32_t count = read_be32(data + 4);
  const std::uint32_t rows = read_be32(data + 8);
  const std::uint32_t cols = read_be32(data + 12);
  if (count == 0 || count > std::uint32_t(kIdxMaxCount) || rows == 0 || rows > std::uint32_t(kIdxMaxSide) ||
      cols == 0 || cols > std::uint32_t(kIdxMaxSide))
    throw DataError("file " + path + ": bad dimensions: expected count 1.." + std::to_string(kIdxMaxCount) +
                    ", rows and cols 1.." + std::to_string(kIdxMaxSide) + ", found " + std::to_string(count) +
                    " images of " + std::to_string(rows) + "x" + std::to_string(cols));
  // At most 1e8 * 4096 * 4096 < 2^51: no overflow in 64 bits.
  const std::uint64_t payload = std::uint64_t(count) * rows * cols;
  check_length(path, size, kIdx3HeaderBytes + payload,
               "16-byte header + " + std::to_string(count) + " images of " + std::to_string(rows) + "x" +
                   std::to_string(cols));

  Dataset d;
  d.count = int(count);
  d.rows = int(rows);
  d.cols = int(cols);
  d.images.assign(data + kIdx3HeaderBytes, data + size);
  return d;
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  Dataset d = read_idx3_images(images_path);
  d.labels = read_idx1_labels(labels_path);
  if (d.labels.size() != std::size_t(d.count))
    throw DataError("image/label count mismatch: images file " + images_path + " has " +
                    std::to_string(d.count) + " images, labels file " + labels_path + " has " +
                    std::to_string(d.labels.size()) + " labels");
  return d;
}

Dataset load_split(const std::string& dir, Split split) {
  const std::string prefix = split_prefix(split);
  const std::string images = find_candidate(dir, prefix + "-images-idx3-ubyte", prefix + " images");
  const std::string labels = find_candidate(dir, prefix + "-labels-idx1-ubyte", prefix + " labels");
  Dataset d = load_idx_dataset(images, labels);
  // Training, evaluation and benchmarks take each image as the network's 28×28 input (the paper's 32×32 is
  // padding added by the model): any other size would be read as rows of the wrong width, silently.
  if (d.rows != kMnistSide || d.cols != kMnistSide)
    throw DataError(images + ": images of " + std::to_string(d.rows) + "x" + std::to_string(d.cols) +
                    " pixels (rows x columns), expected " + std::to_string(kMnistSide) + "x" +
                    std::to_string(kMnistSide) + ", the size the network takes");
  return d;
}

}  // namespace lenet

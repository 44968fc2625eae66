// The versioned binary model file: little-endian encoder, checking decoder, atomic save.
// The layout and the order of the load-time checks are documented in include/lenet/model_file.h.
#include "lenet/model_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>
#include <unordered_set>

#include "lenet/output_file.h"
#include "lenet/version.h"

namespace lenet {
namespace {

using nlohmann::json;

constexpr std::string_view kMagic = "LENETMDL";
constexpr std::string_view kEndMagic = "LENETEND";
constexpr std::size_t kPrefixBytes = 16;   // magic, version, header length
constexpr std::size_t kTrailerBytes = 12;  // CRC-32, end magic
constexpr std::size_t kMinFileBytes = kPrefixBytes + kTrailerBytes;
constexpr std::uint32_t kExponentMask = 0x7f800000u;  // all ones <=> inf or NaN

// Every error names what it is about: "model file '<path>'" when reading, "model '<arch>'" when writing.
[[noreturn]] void fail(const std::string& context, const std::string& what) {
  throw ModelFileError(context + ": " + what);
}

std::string file_context(const std::string& path) { return "model file '" + path + "'"; }

std::uint32_t read_u32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

void write_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// zlib's crc32 takes a 32-bit length, so feed it in chunks.
std::uint32_t crc32_of(const std::uint8_t* p, std::size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(n, std::size_t{1} << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

std::string quoted_bytes(const std::uint8_t* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "\"";
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      s += static_cast<char>(c);
    } else {
      s += "\\x";
      s += kHex[c >> 4];
      s += kHex[c & 15];
    }
  }
  return s + "\"";
}

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Element count of a shape, or throws (through fail) on a negative dimension or overflow.
std::uint64_t shape_count(const std::vector<std::int64_t>& shape, const std::string& ctx,
                          const std::string& tensor) {
  std::uint64_t count = 1;
  for (const std::int64_t d : shape)
    if (d < 0)
      fail(ctx, "tensor '" + tensor + "': expected dimensions >= 0, found shape " + shape_string(shape));
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  for (const std::int64_t d : shape) {
    const auto u = static_cast<std::uint64_t>(d);
    if (count > std::numeric_limits<std::uint64_t>::max() / u)
      fail(ctx, "tensor '" + tensor + "': shape " + shape_string(shape) + " has more than 2^64 elements");
    count *= u;
  }
  return count;
}

// The header as decoded and validated, tensor data not yet read.
struct TensorEntry {
  std::string name;
  std::vector<std::int64_t> shape;
  std::uint64_t offset = 0;
  std::uint64_t count = 0;
};
struct Header {
  std::string arch;
  json config;
  std::string lenet_version;
  std::vector<TensorEntry> tensors;
  std::uint64_t payload_floats = 0;  // sum of counts
};

struct TooDeep {};

json parse_header_json(const std::uint8_t* p, std::size_t n, const std::string& ctx) {
  // A depth limit keeps a hostile header from building values that recursive code (dump, compare)
  // would later overflow the stack on.
  const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxModelHeaderDepth) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(p, p + n, limit_depth);
  } catch (const TooDeep&) {
    fail(ctx, "header: expected JSON nested at most " + std::to_string(kMaxModelHeaderDepth) +
                  " levels deep, found deeper");
  } catch (const json::exception& e) {
    fail(ctx, std::string("header is not valid JSON: ") + e.what());
  }
}

const json& field(const json& object, const char* key, const std::string& where, const std::string& ctx) {
  const auto it = object.find(key);
  if (it == object.end()) fail(ctx, where + ": missing field \"" + key + "\"");
  return *it;
}

std::string type_mismatch(const std::string& where, const char* key, const char* expected,
                          const json& found) {
  return where + ": field \"" + key + "\": expected " + expected + ", found " + found.type_name() + " " +
         found.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 40);
}

std::uint64_t get_u64(const json& object, const char* key, const std::string& where, const std::string& ctx) {
  const json& v = field(object, key, where, ctx);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  fail(ctx, type_mismatch(where, key, "an integer >= 0", v));
}

Header decode_header(const json& j, const std::string& ctx) {
  if (!j.is_object()) fail(ctx, std::string("header: expected a JSON object, found ") + j.type_name());
  Header h;
  const json& arch = field(j, "arch", "header", ctx);
  if (!arch.is_string()) fail(ctx, type_mismatch("header", "arch", "a string", arch));
  h.arch = arch.get<std::string>();
  h.config = field(j, "config", "header", ctx);
  // Optional: files written before lenet 0.2.0 do not have it.
  if (const auto v = j.find("lenet_version"); v != j.end()) {
    if (!v->is_string()) fail(ctx, type_mismatch("header", "lenet_version", "a string", *v));
    h.lenet_version = v->get<std::string>();
  }
  const json& tensors = field(j, "tensors", "header", ctx);
  if (!tensors.is_array()) fail(ctx, type_mismatch("header", "tensors", "an array", tensors));

  std::unordered_set<std::string> seen;
  h.tensors.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const json& t = tensors[i];
    std::string where = "tensor #" + std::to_string(i);
    if (!t.is_object()) fail(ctx, where + ": expected a JSON object, found " + t.type_name());
    TensorEntry e;
    const json& tname = field(t, "name", where, ctx);
    if (!tname.is_string()) fail(ctx, type_mismatch(where, "name", "a string", tname));
    e.name = tname.get<std::string>();
    where += " '" + e.name + "'";
    if (!seen.insert(e.name).second) fail(ctx, where + ": expected unique tensor names, found a duplicate");
    const json& shape = field(t, "shape", where, ctx);
    if (!shape.is_array()) fail(ctx, type_mismatch(where, "shape", "an array", shape));
    e.shape.reserve(shape.size());
    for (const json& d : shape) {
      const bool fits = d.is_number_integer() &&
                        (!d.is_number_unsigned() ||
                         d.get<std::uint64_t>() <= std::uint64_t{std::numeric_limits<std::int64_t>::max()});
      if (!fits) fail(ctx, type_mismatch(where, "shape", "an array of int64", shape));
      e.shape.push_back(d.get<std::int64_t>());
    }
    e.offset = get_u64(t, "offset", where, ctx);
    e.count = get_u64(t, "count", where, ctx);
    const std::uint64_t expected_count = shape_count(e.shape, ctx, e.name);
    if (e.count != expected_count)
      fail(ctx, where + ": count expected " + std::to_string(expected_count) + " (product of shape " +
                    shape_string(e.shape) + "), found " + std::to_string(e.count));
    if (e.offset != h.payload_floats)
      fail(ctx, where + ": offset expected " + std::to_string(h.payload_floats) +
                    " (tensors are stored contiguously), found " + std::to_string(e.offset));
    if (e.count > std::numeric_limits<std::uint64_t>::max() - h.payload_floats)
      fail(ctx, where + ": offset + count overflows");
    h.payload_floats += e.count;
    h.tensors.push_back(std::move(e));
  }
  return h;
}

// Called when the file does not end where the header says it should: say how long it should be.
[[noreturn]] void fail_truncated(const std::uint8_t* data, std::size_t size, std::size_t header_end,
                                 const std::string& ctx) {
  std::uint64_t expected = header_end + kTrailerBytes;
  bool exact = false;
  if (size >= header_end) {
    try {
      const Header h =
          decode_header(parse_header_json(data + kPrefixBytes, header_end - kPrefixBytes, ctx), ctx);
      if (h.payload_floats <= (std::numeric_limits<std::uint64_t>::max() - expected) / 4) {
        expected += 4 * h.payload_floats;
        exact = true;
      }
    } catch (const ModelFileError&) {
      // An unreadable header only costs the exact figure; the lower bound still holds.
    }
  }
  const std::string found_end =
      size >= kEndMagic.size() ? quoted_bytes(data + size - kEndMagic.size(), kEndMagic.size()) : "nothing";
  if (size < expected)
    fail(ctx, "truncated: expected " + std::string(exact ? "" : "at least ") + std::to_string(expected) +
                  " bytes, found " + std::to_string(size));
  fail(ctx, "damaged end: expected " + std::string(exact ? "" : "at least ") + std::to_string(expected) +
                " bytes ending in \"" + std::string(kEndMagic) + "\", found " + std::to_string(size) +
                " bytes ending in " + found_end);
}

// Reads errno before anything else can change it.
[[noreturn]] void fail_errno(const std::string& context, const char* what) {
  const int err = errno;
  fail(context, std::string(what) + ": " + std::strerror(err));
}

std::vector<std::uint8_t> read_whole_file(const std::string& filename) {
  const std::string ctx = file_context(filename);
  const int fd = ::open(filename.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno(ctx, "cannot open");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(ctx, "cannot stat");
  if (!S_ISREG(st.st_mode)) fail(ctx, "expected a regular file, found another kind of file");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(ctx, "cannot read");
    if (n == 0)
      fail(ctx, "file shrank while reading: expected " + std::to_string(bytes.size()) + " bytes, found " +
                    std::to_string(done));
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

[[noreturn]] void fail_save(const std::string& path, const std::string& what) {
  throw ModelFileError("cannot save model to '" + path + "': " + what);
}

}  // namespace

std::vector<std::uint8_t> serialize_model(const ModelFile& m) {
  const std::string ctx = "model '" + m.arch + "'";
  json tensors = json::array();
  std::unordered_set<std::string> seen;
  std::uint64_t payload_floats = 0;
  for (const TensorRecord& t : m.tensors) {
    const std::uint64_t count = shape_count(t.shape, ctx, t.name);
    if (t.data.size() != count)
      fail(ctx, "tensor '" + t.name + "': data size expected " + std::to_string(count) +
                    " (product of shape " + shape_string(t.shape) + "), found " +
                    std::to_string(t.data.size()));
    if (!seen.insert(t.name).second)
      fail(ctx, "tensor '" + t.name + "': expected unique names, found a duplicate");
    for (std::size_t i = 0; i < t.data.size(); ++i)
      if ((std::bit_cast<std::uint32_t>(t.data[i]) & kExponentMask) == kExponentMask)
        fail(ctx, "tensor '" + t.name + "': expected finite values, found " + std::to_string(t.data[i]) +
                      " at index " + std::to_string(i));
    tensors.push_back({{"name", t.name}, {"shape", t.shape}, {"offset", payload_floats}, {"count", count}});
    payload_floats += count;
  }
  std::string text;
  try {
    text = json{{"arch", m.arch},
                {"config", m.config},
                {"lenet_version", LENET_VERSION_STRING},
                {"tensors", std::move(tensors)}}
               .dump();
  } catch (const json::exception& e) {
    fail(ctx, std::string("header cannot be encoded as JSON: ") + e.what());
  }
  if (text.size() > kMaxModelHeaderBytes)
    fail(ctx, "header: expected at most " + std::to_string(kMaxModelHeaderBytes) + " bytes, found " +
                  std::to_string(text.size()));
  // Refuse here anything the loader would refuse (e.g. config nested too deeply), not after writing.
  decode_header(parse_header_json(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), ctx), ctx);

  const std::size_t header_end = kPrefixBytes + text.size();
  const std::size_t payload_end = header_end + 4 * static_cast<std::size_t>(payload_floats);
  std::vector<std::uint8_t> out(payload_end + kTrailerBytes);
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  write_u32(out.data() + 8, kModelFormatVersion);
  write_u32(out.data() + 12, static_cast<std::uint32_t>(text.size()));
  std::memcpy(out.data() + kPrefixBytes, text.data(), text.size());
  std::uint8_t* p = out.data() + header_end;
  for (const TensorRecord& t : m.tensors)
    for (const float v : t.data) {
      write_u32(p, std::bit_cast<std::uint32_t>(v));
      p += 4;
    }
  write_u32(out.data() + payload_end, crc32_of(out.data(), payload_end));
  std::memcpy(out.data() + payload_end + 4, kEndMagic.data(), kEndMagic.size());
  return out;
}

ModelFile parse_model(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors) {
  const std::string ctx = file_context(name_for_errors);
  if (size < kMinFileBytes)
    fail(ctx, "too short to be a lenet model file: expected at least " + std::to_string(kMinFileBytes) +
                  " bytes, found " + std::to_string(size));
  if (std::memcmp(data, kMagic.data(), kMagic.size()) != 0)
    fail(ctx, "not a lenet model file (magic expected \"" + std::string(kMagic) + "\", found " +
                  quoted_bytes(data, kMagic.size()) + ")");
  const std::uint32_t version = read_u32(data + 8);
  if (version > kModelFormatVersion)
    fail(ctx, "written by a newer lenet: format version " + std::to_string(version) +
                  ", this build reads up to " + std::to_string(kModelFormatVersion));
  if (version == 0)
    fail(ctx, "invalid format version: expected 1 to " + std::to_string(kModelFormatVersion) + ", found 0");
  const std::uint32_t header_bytes = read_u32(data + 12);
  if (header_bytes > kMaxModelHeaderBytes)
    fail(ctx, "header length expected at most " + std::to_string(kMaxModelHeaderBytes) + " bytes, found " +
                  std::to_string(header_bytes));
  const std::size_t header_end = kPrefixBytes + header_bytes;
  if (size < header_end + kTrailerBytes ||
      std::memcmp(data + size - kEndMagic.size(), kEndMagic.data(), kEndMagic.size()) != 0)
    fail_truncated(data, size, header_end, ctx);
  const std::size_t payload_end = size - kTrailerBytes;
  const std::uint32_t stored_crc = read_u32(data + payload_end);
  const std::uint32_t computed_crc = crc32_of(data, payload_end);
  if (stored_crc != computed_crc)
    fail(ctx, "corrupt: checksum expected " + hex32(stored_crc) + " (stored), found " + hex32(computed_crc) +
                  " (computed)");

  Header h = decode_header(parse_header_json(data + kPrefixBytes, header_bytes, ctx), ctx);
  const std::size_t payload_bytes = payload_end - header_end;
  if (payload_bytes % 4 != 0 || payload_bytes / 4 != h.payload_floats)
    fail(ctx, "tensor data expected " + std::to_string(h.payload_floats) + " floats (" +
                  std::to_string(4 * h.payload_floats) + " bytes, from the header), found " +
                  std::to_string(payload_bytes) + " bytes");

  ModelFile m;
  m.arch = std::move(h.arch);
  m.config = std::move(h.config);
  m.lenet_version = std::move(h.lenet_version);
  m.tensors.reserve(h.tensors.size());
  for (TensorEntry& e : h.tensors) {
    TensorRecord t{std::move(e.name), std::move(e.shape), std::vector<float>(e.count)};
    const std::uint8_t* p = data + header_end + 4 * e.offset;
    for (std::size_t i = 0; i < t.data.size(); ++i, p += 4) {
      const std::uint32_t bits = read_u32(p);
      if ((bits & kExponentMask) == kExponentMask)
        fail(ctx, "tensor '" + t.name + "': expected finite values, found " +
                      ((bits & 0x007fffffu) ? "NaN" : "infinity") + " (bits " + hex32(bits) + ") at index " +
                      std::to_string(i));
      t.data[i] = std::bit_cast<float>(bits);
    }
    m.tensors.push_back(std::move(t));
  }
  return m;
}

ModelFile load_model_file(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_whole_file(path);
  return parse_model(bytes.data(), bytes.size(), path);
}

void save_model_file(const std::string& path, const ModelFile& m) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = serialize_model(m);
  } catch (const ModelFileError& e) {
    fail_save(path, e.what());
  }
  // A locked temporary, renamed over path; temporaries of processes killed mid-save are removed first.
  try {
    write_file_atomically(path, bytes.data(), bytes.size());
  } catch (const OutputFileError& e) {
    fail_save(path, e.what());
  }
}

}  // namespace lenet

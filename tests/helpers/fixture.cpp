// Reads fixtures in the format of tools/make_torch_reference.py: magic "LNTF", u32 version, u32 count, then
// records of (u32 name length, name, u32 dtype, u32 ndim, i64 dims, data), all little-endian.
#include "helpers/fixture.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>

namespace lenet::test {

namespace {

static_assert(std::endian::native == std::endian::little, "fixtures are little-endian; add byte swapping");

constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kFloat32 = 0, kUint8 = 1;
constexpr std::uint32_t kMaxNameLength = 256, kMaxDims = 8;

class Cursor {
 public:
  Cursor(const std::string& path, std::vector<char> bytes) : path_(path), bytes_(std::move(bytes)) {}

  void read(void* out, std::size_t n, const std::string& what) {
    if (bytes_.size() - pos_ < n)
      fail(what + ": needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
           ", file has " + std::to_string(bytes_.size() - pos_) + " left");
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
  }
  template <typename T>
  T get(const std::string& what) {
    T v;
    read(&v, sizeof v, what);
    return v;
  }
  bool at_end() const { return pos_ == bytes_.size(); }
  std::size_t left() const { return bytes_.size() - pos_; }
  [[noreturn]] void fail(const std::string& message) const { throw FixtureError(path_ + ": " + message); }

 private:
  std::string path_;
  std::vector<char> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

Fixture read_fixture(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw FixtureError(path + ": cannot open");
  Cursor in(path, std::vector<char>(std::istreambuf_iterator<char>(file), {}));

  char magic[4];
  in.read(magic, 4, "magic");
  if (std::memcmp(magic, "LNTF", 4) != 0) in.fail("magic: expected \"LNTF\"");
  const auto version = in.get<std::uint32_t>("version");
  if (version != kVersion)
    in.fail("version: expected " + std::to_string(kVersion) + ", found " + std::to_string(version));
  const auto records = in.get<std::uint32_t>("record count");

  Fixture out;
  for (std::uint32_t r = 0; r < records; ++r) {
    const std::string where = "record " + std::to_string(r);
    const auto length = in.get<std::uint32_t>(where + " name length");
    if (length == 0 || length > kMaxNameLength)
      in.fail(where + " name length: expected 1.." + std::to_string(kMaxNameLength) + ", found " +
              std::to_string(length));
    std::string name(length, '\0');
    in.read(name.data(), length, where + " name");
    const std::string what = where + " (" + name + ")";
    if (out.count(name)) in.fail(what + ": duplicate name");

    const auto dtype = in.get<std::uint32_t>(what + " dtype");
    if (dtype != kFloat32 && dtype != kUint8)
      in.fail(what + " dtype: expected 0 (float32) or 1 (uint8), found " + std::to_string(dtype));
    const auto ndim = in.get<std::uint32_t>(what + " ndim");
    if (ndim > kMaxDims)
      in.fail(what + " ndim: expected at most " + std::to_string(kMaxDims) + ", found " +
              std::to_string(ndim));

    FixtureArray a;
    a.is_bytes = dtype == kUint8;
    std::size_t count = 1;
    for (std::uint32_t d = 0; d < ndim; ++d) {
      const auto dim = in.get<std::int64_t>(what + " dim " + std::to_string(d));
      if (dim < 0) in.fail(what + " dim " + std::to_string(d) + ": negative (" + std::to_string(dim) + ")");
      a.shape.push_back(dim);
      // Guard the product so a corrupt dimension cannot overflow before the size check below.
      if (dim != 0 && count > in.left() / std::size_t(dim))
        in.fail(what + ": shape needs more data than the file holds");
      count *= std::size_t(dim);
    }
    if (a.is_bytes) {
      a.bytes.resize(count);
      in.read(a.bytes.data(), count, what + " data");
    } else {
      a.data.resize(count);
      in.read(a.data.data(), count * sizeof(float), what + " data");
    }
    out.emplace(std::move(name), std::move(a));
  }
  if (!in.at_end())
    in.fail(std::to_string(in.left()) + " trailing bytes after " + std::to_string(records) + " records");
  return out;
}

const FixtureArray& fixture_floats(const Fixture& f, const std::string& name) {
  const auto it = f.find(name);
  if (it == f.end()) throw FixtureError("fixture has no record \"" + name + "\"");
  if (it->second.is_bytes)
    throw FixtureError("fixture record \"" + name + "\": expected float32, found uint8");
  return it->second;
}

const FixtureArray& fixture_bytes(const Fixture& f, const std::string& name) {
  const auto it = f.find(name);
  if (it == f.end()) throw FixtureError("fixture has no record \"" + name + "\"");
  if (!it->second.is_bytes)
    throw FixtureError("fixture record \"" + name + "\": expected uint8, found float32");
  return it->second;
}

}  // namespace lenet::test

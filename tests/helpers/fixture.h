// Reader for the test fixtures written by tools/make_torch_reference.py: named float32 / uint8 arrays
// with shapes (format described at the top of that script). Throws on any malformed file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lenet::test {

struct FixtureError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FixtureArray {
  std::vector<std::int64_t> shape;  // empty for a scalar
  std::vector<float> data;          // float32 records
  std::vector<std::uint8_t> bytes;  // uint8 records
  bool is_bytes = false;
  std::size_t count() const { return is_bytes ? bytes.size() : data.size(); }
};

using Fixture = std::map<std::string, FixtureArray>;

// Reads the whole file; throws FixtureError naming the file, the record and expected vs found.
Fixture read_fixture(const std::string& path);

// The record `name`; throws FixtureError if it is missing or of the wrong type.
const FixtureArray& fixture_floats(const Fixture& f, const std::string& name);
const FixtureArray& fixture_bytes(const Fixture& f, const std::string& name);

}  // namespace lenet::test

// Tests for the model file: bit-exact round trips, atomic saves, and refusal of damaged or foreign files.
// Damage is exhaustive on a small file: every byte prefix and every single-bit flip must throw, naming it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "helpers/paths.h"
#include "lenet/model_file.h"

namespace {

namespace fs = std::filesystem;
using lenet::ModelFile;
using lenet::ModelFileError;
using lenet::TensorRecord;
using nlohmann::json;
using Bytes = std::vector<std::uint8_t>;

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::uint32_t get_u32(const Bytes& b, std::size_t at) {
  return std::uint32_t{b[at]} | std::uint32_t{b[at + 1]} << 8 | std::uint32_t{b[at + 2]} << 16 |
         std::uint32_t{b[at + 3]} << 24;
}

void put_u32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint32_t zlib_crc(const Bytes& b, std::size_t n) {
  return static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), b.data(), static_cast<uInt>(n)));
}

// Recomputes the trailer CRC so that only the check under test can catch an edit.
void fix_crc(Bytes& b) { put_u32(b, b.size() - 12, zlib_crc(b, b.size() - 12)); }

// A file written from the documented layout alone, independent of serialize_model, for crafting
// files whose checksum is right but whose contents break a later rule.
Bytes assemble(const std::string& header, const std::vector<std::uint32_t>& payload_bits,
               std::uint32_t version = lenet::kModelFormatVersion) {
  Bytes b(16 + header.size() + 4 * payload_bits.size() + 12);
  std::memcpy(b.data(), "LENETMDL", 8);
  put_u32(b, 8, version);
  put_u32(b, 12, static_cast<std::uint32_t>(header.size()));
  std::memcpy(b.data() + 16, header.data(), header.size());
  for (std::size_t i = 0; i < payload_bits.size(); ++i)
    put_u32(b, 16 + header.size() + 4 * i, payload_bits[i]);
  std::memcpy(b.data() + b.size() - 8, "LENETEND", 8);
  fix_crc(b);
  return b;
}

std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }

ModelFile small_model() {
  ModelFile m;
  m.arch = "lenet5";
  m.config = {{"lr", 0.01}};
  m.tensors.push_back({"w", {2, 2}, {1.0f, -0.0f, 0.5f, -2.0f}});
  m.tensors.push_back({"b", {2}, {0.25f, 3.0f}});
  return m;
}

// Runs f and checks that it throws ModelFileError whose message names `name` and contains `fragment`.
template <class F>
::testing::AssertionResult refused(F&& f, const std::string& name, const std::string& fragment = "") {
  try {
    f();
  } catch (const ModelFileError& e) {
    const std::string msg = e.what();
    if (msg.find(name) == std::string::npos)
      return ::testing::AssertionFailure() << "message does not name '" << name << "': " << msg;
    if (msg.find(fragment) == std::string::npos)
      return ::testing::AssertionFailure() << "message lacks '" << fragment << "': " << msg;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something other than ModelFileError: " << e.what();
  }
  return ::testing::AssertionFailure() << "returned instead of throwing";
}

// Parses a copy of exactly these bytes, so that a sanitizer build catches any read past the end.
::testing::AssertionResult parse_refused(const Bytes& b, const std::string& name,
                                         const std::string& fragment = "") {
  return refused(
      [&] {
        const auto copy = std::make_unique<std::uint8_t[]>(b.size());
        if (!b.empty()) std::memcpy(copy.get(), b.data(), b.size());
        lenet::parse_model(copy.get(), b.size(), name);
      },
      name, fragment);
}

void expect_bit_identical(const ModelFile& want, const ModelFile& got) {
  EXPECT_EQ(want.arch, got.arch);
  EXPECT_EQ(want.config, got.config);
  EXPECT_EQ(want.config.dump(), got.config.dump());
  ASSERT_EQ(want.tensors.size(), got.tensors.size());
  for (std::size_t t = 0; t < want.tensors.size(); ++t) {
    const TensorRecord& a = want.tensors[t];
    const TensorRecord& b = got.tensors[t];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.shape, b.shape) << a.name;
    ASSERT_EQ(a.data.size(), b.data.size()) << a.name;
    for (std::size_t i = 0; i < a.data.size(); ++i)
      ASSERT_EQ(bits(a.data[i]), bits(b.data[i])) << a.name << "[" << i << "]";
  }
}

bool temp_file_left_behind(const std::string& path) {
  return fs::exists(path + ".tmp-" + std::to_string(::getpid()));
}

TEST(ModelFile, RoundTripIsBitExactForRandomTensorsAndOddShapes) {
  std::mt19937 rng(1998);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  const std::vector<std::vector<std::int64_t>> shapes = {
      {}, {0}, {1}, {7}, {3, 0, 5}, {6, 1, 5, 5}, {1, 13, 1}, {2, 3, 5, 7}, {16, 6}};
  const std::vector<json> configs = {json(),
                                     json::object(),
                                     {{"c3_table", "lecun1998"},
                                      {"epochs", 20},
                                      {"lr", 0.0005},
                                      {"tiny", 1e-300},
                                      {"seed", std::numeric_limits<std::uint64_t>::max()},
                                      {"history", {0.25, -1.5, nullptr, true}}}};
  for (const json& config : configs) {
    ModelFile m;
    m.arch = "lenet5-1998";
    m.config = config;
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      TensorRecord t{std::string("t").append(std::to_string(s)), shapes[s], {}};  // not "t" + ...: GCC 12
                                                                                  // -Wrestrict false alarm
      std::int64_t count = 1;
      for (const std::int64_t d : t.shape) count *= d;
      while (static_cast<std::int64_t>(t.data.size()) < count) {
        const std::uint32_t b = any_bits(rng);
        if ((b & 0x7f800000u) != 0x7f800000u) t.data.push_back(std::bit_cast<float>(b));  // finite only
      }
      m.tensors.push_back(std::move(t));
    }
    // The values most likely to be lost by a conversion that is not a bit copy.
    m.tensors.push_back(
        {"special",
         {8},
         {-0.0f, 0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
          std::bit_cast<float>(0x007fffffu), std::numeric_limits<float>::min(),
          std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()}});

    const std::string path = lenet::test::temp_path("roundtrip.lenet");
    lenet::save_model_file(path, m);
    const ModelFile back = lenet::load_model_file(path);
    expect_bit_identical(m, back);
    EXPECT_EQ(read_bytes(path), lenet::serialize_model(m));
    EXPECT_EQ(lenet::serialize_model(back), lenet::serialize_model(m));
    EXPECT_FALSE(temp_file_left_behind(path));
  }
}

TEST(ModelFile, EmptyModelRoundTrips) {
  const ModelFile empty;
  const Bytes b = lenet::serialize_model(empty);
  const ModelFile back = lenet::parse_model(b.data(), b.size(), "empty");
  expect_bit_identical(empty, back);
  EXPECT_TRUE(back.config.is_null());
}

TEST(ModelFile, BytesFollowTheDocumentedLayout) {
  const ModelFile m = small_model();
  const Bytes b = lenet::serialize_model(m);
  ASSERT_GE(b.size(), 28u);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 8), "LENETMDL");
  EXPECT_EQ(get_u32(b, 8), lenet::kModelFormatVersion);
  const std::uint32_t header_bytes = get_u32(b, 12);
  const json header = json::parse(b.begin() + 16, b.begin() + 16 + header_bytes);
  EXPECT_EQ(header.at("arch"), "lenet5");
  EXPECT_EQ(header.at("config"), m.config);
  ASSERT_EQ(header.at("tensors").size(), 2u);
  EXPECT_EQ(header["tensors"][0], json({{"name", "w"}, {"shape", {2, 2}}, {"offset", 0}, {"count", 4}}));
  EXPECT_EQ(header["tensors"][1], json({{"name", "b"}, {"shape", {2}}, {"offset", 4}, {"count", 2}}));
  const std::size_t payload = 16 + header_bytes;
  ASSERT_EQ(b.size(), payload + 6 * 4 + 12);
  EXPECT_EQ(get_u32(b, payload + 4 * 1), 0x80000000u);  // -0.0f, little-endian
  EXPECT_EQ(get_u32(b, payload + 4 * 5), bits(3.0f));
  EXPECT_EQ(get_u32(b, b.size() - 12), zlib_crc(b, b.size() - 12));
  EXPECT_EQ(std::string(b.end() - 8, b.end()), "LENETEND");
  // The test-side encoder agrees byte for byte, so the crafted files below are faithful.
  const std::vector<std::uint32_t> payload_bits = {bits(1.0f),  bits(-0.0f), bits(0.5f),
                                                   bits(-2.0f), bits(0.25f), bits(3.0f)};
  EXPECT_EQ(assemble(std::string(b.begin() + 16, b.begin() + 16 + header_bytes), payload_bits), b);
}

TEST(ModelFile, SaveReplacesAnExistingFile) {
  const std::string path = lenet::test::temp_path("replace.lenet");
  ModelFile a = small_model();
  lenet::save_model_file(path, a);
  ModelFile b = small_model();
  b.arch = "lenet5-1998";
  b.tensors[0].data[0] = 42.0f;
  lenet::save_model_file(path, b);
  expect_bit_identical(b, lenet::load_model_file(path));
  EXPECT_FALSE(temp_file_left_behind(path));
}

TEST(ModelFile, SaveIntoMissingDirectoryThrowsAndLeavesOtherFilesAlone) {
  const std::string good = lenet::test::temp_path("good-missing-dir.lenet");
  lenet::save_model_file(good, small_model());
  const Bytes before = read_bytes(good);
  const std::string bad = lenet::test::temp_path("no-such-dir/model.lenet");
  EXPECT_TRUE(refused([&] { lenet::save_model_file(bad, small_model()); }, bad, "cannot create"));
  EXPECT_FALSE(fs::exists(bad));
  EXPECT_FALSE(temp_file_left_behind(bad));
  EXPECT_EQ(read_bytes(good), before);
  expect_bit_identical(small_model(), lenet::load_model_file(good));
}

TEST(ModelFile, SaveIntoDirectoryEvenRootCannotWriteThrows) {
  // /proc refuses new files even to root, unlike a chmod-ed directory.
  if (!fs::is_directory("/proc")) GTEST_SKIP() << "no /proc";
  const std::string bad = "/proc/lenet-test-model.lenet";
  EXPECT_TRUE(refused([&] { lenet::save_model_file(bad, small_model()); }, bad));
  EXPECT_FALSE(fs::exists(bad));
}

TEST(ModelFile, SaveIntoUnwritableDirectoryLeavesTheOldFileUntouched) {
  const std::string dir = lenet::test::temp_path("read-only-dir");
  fs::create_directories(dir);
  const std::string path = dir + "/model.lenet";
  lenet::save_model_file(path, small_model());
  const Bytes before = read_bytes(path);
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  const bool can_still_write = ::access(dir.c_str(), W_OK) == 0;  // true for root
  if (!can_still_write) {
    ModelFile other = small_model();
    other.arch = "other";
    EXPECT_TRUE(refused([&] { lenet::save_model_file(path, other); }, path, "cannot create"));
  }
  ::chmod(dir.c_str(), 0755);
  if (can_still_write) GTEST_SKIP() << "running with permission to write into a 0555 directory (root)";
  EXPECT_EQ(read_bytes(path), before);
  expect_bit_identical(small_model(), lenet::load_model_file(path));
}

TEST(ModelFile, FailedSaveLeavesTheOldFileUntouchedAndNoTempFile) {
  const std::string path = lenet::test::temp_path("keep.lenet");
  lenet::save_model_file(path, small_model());
  const Bytes before = read_bytes(path);

  ModelFile bad = small_model();
  bad.tensors[1].data[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(refused([&] { lenet::save_model_file(path, bad); }, path, "tensor 'b'"));
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_FALSE(temp_file_left_behind(path));

  // A failure after the temp file is written: rename cannot replace a non-empty directory.
  const std::string dir_target = lenet::test::temp_path("dir-target.lenet");
  fs::create_directories(dir_target);
  write_bytes(dir_target + "/inside", {1, 2, 3});
  EXPECT_TRUE(refused([&] { lenet::save_model_file(dir_target, small_model()); }, dir_target, "rename"));
  EXPECT_FALSE(temp_file_left_behind(dir_target));
  EXPECT_EQ(read_bytes(dir_target + "/inside"), Bytes({1, 2, 3}));
  EXPECT_EQ(read_bytes(path), before);
}

TEST(ModelFile, SaveRefusesModelsItCouldNotLoadBack) {
  const std::string path = lenet::test::temp_path("never-written.lenet");
  auto with = [](auto edit) {
    ModelFile m = small_model();
    edit(m);
    return m;
  };
  const std::vector<std::pair<ModelFile, std::string>> cases = {
      {with([](ModelFile& m) { m.tensors[0].data.pop_back(); }), "data size expected 4"},
      {with([](ModelFile& m) {
         m.tensors[0].shape = {-2, -2};
       }),
       "dimensions >= 0"},
      {with([](ModelFile& m) { m.tensors[0].data[2] = INFINITY; }), "tensor 'w'"},
      {with([](ModelFile& m) { m.tensors[1].data[0] = -NAN; }), "tensor 'b'"},
      {with([](ModelFile& m) { m.tensors[1].name = "w"; }), "unique"},
      {with([](ModelFile& m) { m.tensors[1].name = "\xff\xfe"; }), "JSON"},
      {with([](ModelFile& m) {
         json deep = 1;
         for (int i = 0; i < 100; ++i) deep = json::array({deep});
         m.config = deep;
       }),
       "nested"},
  };
  for (const auto& [m, fragment] : cases) {
    EXPECT_TRUE(refused([&] { lenet::save_model_file(path, m); }, path, fragment));
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(temp_file_left_behind(path));
  }
}

TEST(ModelFile, RefusesEveryTruncation) {
  const Bytes full = lenet::serialize_model(small_model());
  const std::string path = lenet::test::temp_path("truncated.lenet");
  for (std::size_t len = 0; len < full.size(); ++len) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    const std::string fragment = len < 28 ? "too short" : "truncated";
    EXPECT_TRUE(parse_refused(prefix, "prefix.lenet", fragment)) << "prefix of " << len << " bytes";
    write_bytes(path, prefix);
    EXPECT_TRUE(refused([&] { lenet::load_model_file(path); }, path, fragment))
        << "prefix of " << len << " bytes";
  }
  // Cut inside the payload, the header tells the exact size expected.
  const Bytes cut(full.begin(), full.end() - 13);
  EXPECT_TRUE(parse_refused(
      cut, "cut.lenet",
      "truncated: expected " + std::to_string(full.size()) + " bytes, found " + std::to_string(cut.size())));
}

TEST(ModelFile, RefusesEverySingleBitFlip) {
  const Bytes good = lenet::serialize_model(small_model());
  const std::size_t n = good.size();
  for (std::size_t at = 0; at < n; ++at) {
    // What catches a flip depends only on where it lands.
    std::string fragment;
    if (at < 8)
      fragment = "not a lenet model file";
    else if (at < 12)
      fragment = "format version";
    else if (at < 16)
      fragment = "";  // header length: truncation or checksum, depending on the bit
    else if (at < n - 8)
      fragment = "corrupt: checksum";
    else
      fragment = "damaged end";
    for (int bit = 0; bit < 8; ++bit) {
      Bytes b = good;
      b[at] ^= static_cast<std::uint8_t>(1u << bit);
      EXPECT_TRUE(parse_refused(b, "flipped.lenet", fragment)) << "byte " << at << " bit " << bit;
    }
  }
}

TEST(ModelFile, RefusesForeignFiles) {
  const Bytes png = {0x89, 'P', 'N', 'G',  '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',
                     'H',  'D', 'R', 0,    0,    0,    1,    0,    0, 0, 1, 8,  6,
                     0,    0,   0,   0x1f, 0x15, 0xc4, 0x89, 0,    0, 0, 0};
  const std::string text = "epoch 1: loss 0.31, accuracy 97.2%\nepoch 2: loss 0.12\n";
  const std::string png_path = lenet::test::temp_path("image.png");
  const std::string text_path = lenet::test::temp_path("log.txt");
  const std::string short_path = lenet::test::temp_path("short.txt");
  write_bytes(png_path, png);
  write_bytes(text_path, Bytes(text.begin(), text.end()));
  write_bytes(short_path, Bytes{'h', 'i', '\n'});
  EXPECT_TRUE(refused(
      [&] { lenet::load_model_file(png_path); }, png_path,
      "not a lenet model file (magic expected \"LENETMDL\", found \"\\x89PNG\\x0d\\x0a\\x1a\\x0a\")"));
  EXPECT_TRUE(refused([&] { lenet::load_model_file(text_path); }, text_path,
                      "not a lenet model file (magic expected \"LENETMDL\", found \"epoch 1:\")"));
  EXPECT_TRUE(refused([&] { lenet::load_model_file(short_path); }, short_path, "found 3"));
}

TEST(ModelFile, RefusesNewerAndZeroVersions) {
  const Bytes good = lenet::serialize_model(small_model());
  Bytes same = good;
  fix_crc(same);
  ASSERT_EQ(same, good);  // fix_crc alone changes nothing, so below only the version differs

  Bytes newer = good;
  put_u32(newer, 8, 2);
  fix_crc(newer);
  const std::string path = lenet::test::temp_path("from-the-future.lenet");
  write_bytes(path, newer);
  EXPECT_TRUE(refused([&] { lenet::load_model_file(path); }, path,
                      "written by a newer lenet: format version 2, this build reads up to 1"));

  put_u32(newer, 8, 0xffffffffu);
  fix_crc(newer);
  EXPECT_TRUE(parse_refused(newer, "max-version.lenet", "format version 4294967295"));

  Bytes zero = good;
  put_u32(zero, 8, 0);
  fix_crc(zero);
  EXPECT_TRUE(parse_refused(zero, "zero-version.lenet", "format version: expected 1 to 1, found 0"));
}

TEST(ModelFile, RefusesZeroLengthMissingAndNonRegularFiles) {
  const std::string empty = lenet::test::temp_path("empty.lenet");
  write_bytes(empty, {});
  EXPECT_TRUE(refused([&] { lenet::load_model_file(empty); }, empty, "expected at least 28 bytes, found 0"));

  const std::string missing = lenet::test::temp_path("does-not-exist.lenet");
  EXPECT_TRUE(refused([&] { lenet::load_model_file(missing); }, missing, "cannot open"));

  const std::string dir = lenet::test::temp_path("a-directory.lenet");
  fs::create_directories(dir);
  EXPECT_TRUE(refused([&] { lenet::load_model_file(dir); }, dir, "regular file"));
}

TEST(ModelFile, RefusesAbsurdHeaderLengths) {
  const Bytes good = lenet::serialize_model(small_model());
  for (const std::uint32_t absurd : {0xffffffffu, lenet::kMaxModelHeaderBytes + 1}) {
    Bytes b = good;
    put_u32(b, 12, absurd);
    fix_crc(b);
    EXPECT_TRUE(parse_refused(
        b, "absurd.lenet", "header length expected at most 16777216 bytes, found " + std::to_string(absurd)));
  }
  // Within the limit but longer than the file.
  Bytes b = good;
  put_u32(b, 12, static_cast<std::uint32_t>(good.size()));
  fix_crc(b);
  EXPECT_TRUE(parse_refused(b, "long-header.lenet", "truncated: expected at least"));
  // Zero: the checksum still holds, the empty header is not JSON.
  put_u32(b, 12, 0);
  fix_crc(b);
  EXPECT_TRUE(parse_refused(b, "no-header.lenet", "header is not valid JSON"));
}

TEST(ModelFile, RefusesBadHeadersAndValuesBehindAValidChecksum) {
  const std::uint32_t one = bits(1.0f);
  auto header = [](const json& tensors) {
    return json{{"arch", "lenet5"}, {"config", json::object()}, {"tensors", tensors}}.dump();
  };
  const json w2 = {{"name", "w"}, {"shape", {2}}, {"offset", 0}, {"count", 2}};
  std::string deep(200, '[');
  deep += std::string(200, ']');
  const std::vector<std::tuple<std::string, std::vector<std::uint32_t>, std::string>> cases = {
      {"{\"arch\": \"lenet5\", ", {}, "header is not valid JSON"},
      {"[1, 2, 3]", {}, "header: expected a JSON object, found array"},
      {R"({"config": {}, "tensors": []})", {}, "missing field \"arch\""},
      {R"({"arch": "lenet5", "tensors": []})", {}, "missing field \"config\""},
      {R"({"arch": "lenet5", "config": {}})", {}, "missing field \"tensors\""},
      {R"({"arch": 5, "config": {}, "tensors": []})", {}, "field \"arch\": expected a string, found number"},
      {R"({"arch": "lenet5", "config": {}, "tensors": {}})", {}, "field \"tensors\": expected an array"},
      {R"({"arch": "lenet5", "config": )" + deep + R"(, "tensors": []})", {}, "nested at most 64"},
      {header(json::array({json{{"shape", {2}}, {"offset", 0}, {"count", 2}}})),
       {one, one},
       "missing field \"name\""},
      {header(json::array({json{{"name", "w"}, {"shape", {2.5}}, {"offset", 0}, {"count", 2}}})),
       {one, one},
       "array of int64"},
      {header(json::array({json{{"name", "w"}, {"shape", {-2}}, {"offset", 0}, {"count", 2}}})),
       {one, one},
       "dimensions >= 0"},
      {header(json::array({json{{"name", "w"}, {"shape", {2}}, {"offset", -1}, {"count", 2}}})),
       {one, one},
       "integer >= 0"},
      {header(json::array({json{{"name", "w"}, {"shape", {2}}, {"offset", 0}, {"count", 3}}})),
       {one, one, one},
       "tensor #0 'w': count expected 2 (product of shape [2]), found 3"},
      {header(json::array(
           {json{{"name", "w"}, {"shape", {1u << 31, 1u << 31, 1u << 31}}, {"offset", 0}, {"count", 0}}})),
       {},
       "more than 2^64"},
      {header(json::array({json{{"name", "w"}, {"shape", {2}}, {"offset", 1}, {"count", 2}}})),
       {one, one, one},
       "tensor #0 'w': offset expected 0 (tensors are stored contiguously), found 1"},
      {header(json::array({w2, json{{"name", "v"}, {"shape", {2}}, {"offset", 0}, {"count", 2}}})),
       {one, one},
       "tensor #1 'v': offset expected 2"},
      {header(json::array({w2, w2})), {one, one, one, one}, "tensor #1 'w': expected unique tensor names"},
      {header(json::array({w2})),
       {one},
       "tensor data expected 2 floats (8 bytes, from the header), found 4 bytes"},
      {header(json::array({w2})),
       {one, one, one},
       "tensor data expected 2 floats (8 bytes, from the header), found 12 bytes"},
      {header(json::array({w2})),
       {one, 0x7fc00000u},
       "tensor 'w': expected finite values, found NaN (bits 0x7fc00000) at index 1"},
      {header(json::array({w2})), {0xff800000u, one}, "tensor 'w': expected finite values, found infinity"},
      {header(json::array({w2})), {one, 0x7f800001u}, "found NaN"},
  };
  for (const auto& [text, payload, fragment] : cases)
    EXPECT_TRUE(parse_refused(assemble(text, payload), "crafted.lenet", fragment)) << text;

  // A payload that is not a whole number of floats.
  Bytes ragged = assemble(header(json::array({w2})), {one, one});
  ragged.insert(ragged.end() - 12, std::uint8_t{0});
  fix_crc(ragged);
  EXPECT_TRUE(parse_refused(ragged, "ragged.lenet", "found 9 bytes"));

  // And the crafted encoder does produce loadable files when nothing is wrong.
  const Bytes fine = assemble(header(json::array({w2})), {one, bits(-0.0f)});
  const ModelFile m = lenet::parse_model(fine.data(), fine.size(), "fine.lenet");
  ASSERT_EQ(m.tensors.size(), 1u);
  EXPECT_EQ(bits(m.tensors[0].data[1]), 0x80000000u);
}

}  // namespace

// Tests for the IDX readers: exact round trips of small raw and gzipped files, one test per kind of
// broken file (message names the file and the problem), and the real MNIST / Fashion-MNIST sets.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <numeric>
#include <string>
#include <vector>

#include "helpers/memory.h"
#include "helpers/paths.h"
#include "lenet/idx.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(std::uint8_t(v >> shift));
}

Bytes idx1_bytes(const Bytes& labels, std::uint32_t magic = 0x00000801) {
  Bytes out;
  put_be32(out, magic);
  put_be32(out, std::uint32_t(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

Bytes idx3_bytes(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const Bytes& pixels) {
  Bytes out;
  put_be32(out, 0x00000803);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

// Deterministic pixels covering the whole 0..255 range, so byte-order mistakes show up.
Bytes test_pixels(std::size_t n) {
  Bytes p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = std::uint8_t((i * 37 + 11) % 256);
  return p;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(f) << path;
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(f) << path;
}

Bytes gzip_bytes(const Bytes& raw) {
  const std::string tmp = lenet::test::temp_path("gzip_scratch.gz");
  gzFile gz = gzopen(tmp.c_str(), "wb9");
  EXPECT_NE(gz, nullptr);
  if (!gz) return {};
  EXPECT_EQ(gzwrite(gz, raw.data(), unsigned(raw.size())), int(raw.size()));
  EXPECT_EQ(gzclose(gz), Z_OK);
  std::ifstream f(tmp, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Runs f, which must throw lenet::DataError whose message contains every one of the given words.
void expect_data_error(const std::function<void()>& f, std::initializer_list<std::string> words) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected a DataError mentioning " << *words.begin();
  } catch (const lenet::DataError& e) {
    const std::string msg = e.what();
    for (const std::string& w : words)
      EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
  }
}

// A fresh empty directory under the per-process temp dir.
std::string fresh_dir(const std::string& name) {
  const std::string dir = lenet::test::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

constexpr std::uint32_t kCount = 3, kRows = 4, kCols = 5;
const Bytes kLabels = {0, 9, 5};

TEST(Idx, RawRoundTripIsExact) {
  const Bytes pixels = test_pixels(kCount * kRows * kCols);
  const std::string img = lenet::test::temp_path("rt-images-idx3-ubyte");
  const std::string lab = lenet::test::temp_path("rt-labels-idx1-ubyte");
  write_bytes(img, idx3_bytes(kCount, kRows, kCols, pixels));
  write_bytes(lab, idx1_bytes(kLabels));

  const lenet::Dataset d = lenet::load_idx_dataset(img, lab);
  EXPECT_EQ(d.count, int(kCount));
  EXPECT_EQ(d.rows, int(kRows));
  EXPECT_EQ(d.cols, int(kCols));
  EXPECT_EQ(d.images, pixels);
  EXPECT_EQ(d.labels, kLabels);
  EXPECT_EQ(d.image(2), d.images.data() + 2 * kRows * kCols);
  EXPECT_EQ(d.image(1)[0], pixels[kRows * kCols]);

  const lenet::Dataset only_images = lenet::read_idx3_images(img);
  EXPECT_EQ(only_images.images, pixels);
  EXPECT_TRUE(only_images.labels.empty());
}

TEST(Idx, GzipRoundTripIsExact) {
  const Bytes pixels = test_pixels(kCount * kRows * kCols);
  const Bytes raw_images = idx3_bytes(kCount, kRows, kCols, pixels);
  const std::string img = lenet::test::temp_path("gz-images-idx3-ubyte.gz");
  const std::string lab = lenet::test::temp_path("gz-labels-idx1-ubyte.gz");
  const Bytes gz_images = gzip_bytes(raw_images);
  ASSERT_GE(gz_images.size(), 2u);
  ASSERT_EQ(gz_images[0], 0x1f);
  ASSERT_EQ(gz_images[1], 0x8b);
  write_bytes(img, gz_images);
  write_bytes(lab, gzip_bytes(idx1_bytes(kLabels)));

  EXPECT_EQ(lenet::read_file_maybe_gzip(img), raw_images);
  const lenet::Dataset d = lenet::load_idx_dataset(img, lab);
  EXPECT_EQ(d.count, int(kCount));
  EXPECT_EQ(d.rows, int(kRows));
  EXPECT_EQ(d.cols, int(kCols));
  EXPECT_EQ(d.images, pixels);
  EXPECT_EQ(d.labels, kLabels);
}

// The in-memory parsers (what the fuzzers call) agree with the file readers, errors included.
TEST(Idx, MemoryParsersMatchTheFileReaders) {
  const Bytes images = idx3_bytes(kCount, kRows, kCols, test_pixels(kCount * kRows * kCols));
  const Bytes labels = idx1_bytes(kLabels);
  const lenet::Dataset d = lenet::parse_idx3_images(images.data(), images.size(), "mem-images");
  EXPECT_EQ(d.count, int(kCount));
  EXPECT_EQ(d.rows, int(kRows));
  EXPECT_EQ(d.images, test_pixels(kCount * kRows * kCols));
  EXPECT_EQ(lenet::parse_idx1_labels(labels.data(), labels.size(), "mem-labels"), kLabels);
  EXPECT_EQ(lenet::inflate_if_gzip(gzip_bytes(images), "mem.gz"), images);
  EXPECT_EQ(lenet::inflate_if_gzip(images, "mem"), images);
  expect_data_error([&] { lenet::parse_idx3_images(images.data(), images.size() - 1, "mem-images"); },
                    {"mem-images", "truncated", "expected 76 bytes, found 75"});
  expect_data_error([&] { lenet::parse_idx1_labels(labels.data(), 3, "mem-labels"); },
                    {"mem-labels", "truncated", "expected 8 bytes, found 3"});
  expect_data_error([&] { lenet::parse_idx1_labels(nullptr, 0, "empty"); }, {"empty", "found 0"});
  expect_data_error([&] { lenet::parse_idx1_labels(labels.data(), labels.size(), "mem-labels", 5); },
                    {"mem-labels", "label out of range at index 1"});
  Bytes gz = gzip_bytes(images);
  gz.resize(gz.size() / 2);
  expect_data_error([&] { lenet::inflate_if_gzip(gz, "half.gz"); }, {"half.gz", "corrupt gzip"});
}

TEST(Idx, RawFileIsReturnedUnchanged) {
  const Bytes raw = {0x00, 0x1f, 0x8b, 0x08, 0xff};  // gzip magic not at the start: not gzip
  const std::string path = lenet::test::temp_path("raw-bytes");
  write_bytes(path, raw);
  EXPECT_EQ(lenet::read_file_maybe_gzip(path), raw);
}

TEST(Idx, ConcatenatedGzipMembersAreAllInflated) {
  const Bytes a = test_pixels(1000), b = idx1_bytes(kLabels);
  Bytes both = gzip_bytes(a);
  const Bytes second = gzip_bytes(b);
  both.insert(both.end(), second.begin(), second.end());
  const std::string path = lenet::test::temp_path("two-members.gz");
  write_bytes(path, both);
  Bytes expected = a;
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(lenet::read_file_maybe_gzip(path), expected);
}

TEST(Idx, LoadSplitTakesRawOrGzipped) {
  const std::string dir = fresh_dir("split");
  const Bytes train_pixels = test_pixels(kCount * 28 * 28);
  const Bytes t10k_pixels = test_pixels(2 * 28 * 28);
  write_bytes(dir + "/train-images-idx3-ubyte", idx3_bytes(kCount, 28, 28, train_pixels));
  write_bytes(dir + "/train-labels-idx1-ubyte.gz", gzip_bytes(idx1_bytes(kLabels)));
  write_bytes(dir + "/t10k-images-idx3-ubyte.gz", gzip_bytes(idx3_bytes(2, 28, 28, t10k_pixels)));
  write_bytes(dir + "/t10k-labels-idx1-ubyte", idx1_bytes({7, 3}));

  const lenet::Dataset train = lenet::load_split(dir, lenet::Split::Train);
  EXPECT_EQ(train.count, int(kCount));
  EXPECT_EQ(train.images, train_pixels);
  EXPECT_EQ(train.labels, kLabels);
  const lenet::Dataset test = lenet::load_split(dir, lenet::Split::Test);
  EXPECT_EQ(test.count, 2);
  EXPECT_EQ(test.images, t10k_pixels);
  EXPECT_EQ(test.labels, (Bytes{7, 3}));
}

TEST(IdxErrors, WrongMagicNamesWhatTheFileIs) {
  const std::string img = lenet::test::temp_path("magic-images-idx3-ubyte");
  const std::string lab = lenet::test::temp_path("magic-labels-idx1-ubyte");
  write_bytes(img, idx3_bytes(kCount, kRows, kCols, test_pixels(kCount * kRows * kCols)));
  write_bytes(lab, idx1_bytes(kLabels));
  expect_data_error([&] { lenet::read_idx1_labels(img); },
                    {img, "magic", "0x00000801", "0x00000803", "images"});
  expect_data_error([&] { lenet::read_idx3_images(lab); },
                    {lab, "magic", "0x00000803", "0x00000801", "labels"});

  const std::string text = lenet::test::temp_path("not-idx.txt");
  write_bytes(text, Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!'});
  expect_data_error([&] { lenet::read_idx3_images(text); }, {text, "magic", "not an idx file"});
}

TEST(IdxErrors, TruncatedHeader) {
  const std::string img = lenet::test::temp_path("short-header-images");
  Bytes header = idx3_bytes(kCount, kRows, kCols, {});
  header.resize(10);
  write_bytes(img, header);
  expect_data_error([&] { lenet::read_idx3_images(img); }, {img, "truncated", "expected 16 bytes, found 10"});

  const std::string lab = lenet::test::temp_path("short-header-labels");
  write_bytes(lab, Bytes{0x00, 0x00, 0x08});
  expect_data_error([&] { lenet::read_idx1_labels(lab); }, {lab, "truncated", "expected 8 bytes, found 3"});

  const std::string empty = lenet::test::temp_path("empty-file");
  write_bytes(empty, {});
  expect_data_error([&] { lenet::read_idx3_images(empty); }, {empty, "truncated", "found 0"});
}

TEST(IdxErrors, TruncatedPayload) {
  const std::size_t full = 16 + kCount * kRows * kCols;
  Bytes bytes = idx3_bytes(kCount, kRows, kCols, test_pixels(kCount * kRows * kCols));
  bytes.pop_back();
  const std::string img = lenet::test::temp_path("short-payload-images");
  write_bytes(img, bytes);
  expect_data_error(
      [&] { lenet::read_idx3_images(img); },
      {img, "truncated", "expected " + std::to_string(full) + " bytes, found " + std::to_string(full - 1)});

  Bytes labels = idx1_bytes(kLabels);
  labels.pop_back();
  const std::string lab = lenet::test::temp_path("short-payload-labels");
  write_bytes(lab, labels);
  expect_data_error([&] { lenet::read_idx1_labels(lab); }, {lab, "truncated", "expected 11 bytes, found 10"});
}

TEST(IdxErrors, TrailingBytes) {
  Bytes bytes = idx3_bytes(kCount, kRows, kCols, test_pixels(kCount * kRows * kCols));
  bytes.push_back(0);
  const std::string img = lenet::test::temp_path("trailing-images");
  write_bytes(img, bytes);
  expect_data_error([&] { lenet::read_idx3_images(img); }, {img, "trailing"});

  Bytes labels = idx1_bytes(kLabels);
  labels.push_back(1);
  const std::string lab = lenet::test::temp_path("trailing-labels");
  write_bytes(lab, labels);
  expect_data_error([&] { lenet::read_idx1_labels(lab); }, {lab, "trailing", "expected 11 bytes, found 12"});
}

TEST(IdxErrors, LabelOutOfRange) {
  const std::string lab = lenet::test::temp_path("range-labels");
  write_bytes(lab, idx1_bytes({1, 2, 10, 3}));
  expect_data_error([&] { lenet::read_idx1_labels(lab); }, {lab, "out of range", "index 2", "found 10"});

  write_bytes(lab, idx1_bytes({0, 4, 5}));
  EXPECT_EQ(lenet::read_idx1_labels(lab, 6), (Bytes{0, 4, 5}));
  expect_data_error([&] { lenet::read_idx1_labels(lab, 5); }, {lab, "out of range", "index 2", "0..4"});
  EXPECT_THROW(lenet::read_idx1_labels(lab, 0), std::invalid_argument);
}

TEST(IdxErrors, CountMismatchNamesBothFiles) {
  const std::string img = lenet::test::temp_path("mismatch-images");
  const std::string lab = lenet::test::temp_path("mismatch-labels");
  write_bytes(img, idx3_bytes(kCount, kRows, kCols, test_pixels(kCount * kRows * kCols)));
  write_bytes(lab, idx1_bytes({1, 2}));
  expect_data_error([&] { lenet::load_idx_dataset(img, lab); },
                    {img, lab, "mismatch", "3 images", "2 labels"});
}

TEST(IdxErrors, ZeroOrHugeDimensions) {
  const std::string path = lenet::test::temp_path("bad-dims-images");
  for (const std::array<std::uint32_t, 3>& dims :
       {std::array<std::uint32_t, 3>{0, 4, 5}, {3, 0, 5}, {3, 4, 0}, {3, 4097, 5}, {100'000'001, 1, 1}}) {
    write_bytes(path, idx3_bytes(dims[0], dims[1], dims[2], {}));
    expect_data_error([&] { lenet::read_idx3_images(path); }, {path, "dimension"});
  }
  const std::string lab = lenet::test::temp_path("zero-labels");
  write_bytes(lab, idx1_bytes({}));
  expect_data_error([&] { lenet::read_idx1_labels(lab); }, {lab, "dimension", "found 0"});
}

TEST(IdxErrors, CorruptGzip) {
  const Bytes gz = gzip_bytes(idx3_bytes(kCount, kRows, kCols, test_pixels(kCount * kRows * kCols)));
  ASSERT_GT(gz.size(), 30u);

  Bytes flipped = gz;
  for (std::size_t i = 12; i < 20; ++i) flipped[i] ^= 0xa5;  // past the 10-byte gzip header
  const std::string bad = lenet::test::temp_path("corrupt-images.gz");
  write_bytes(bad, flipped);
  expect_data_error([&] { lenet::read_idx3_images(bad); }, {bad, "corrupt gzip"});

  Bytes cut(gz.begin(), gz.begin() + std::ptrdiff_t(gz.size() / 2));
  const std::string short_gz = lenet::test::temp_path("truncated-images.gz");
  write_bytes(short_gz, cut);
  expect_data_error([&] { lenet::read_file_maybe_gzip(short_gz); }, {short_gz, "corrupt gzip", "truncated"});

  Bytes crc = gz;
  crc[crc.size() - 8] ^= 0xff;  // first byte of the CRC-32 in the trailer
  const std::string bad_crc = lenet::test::temp_path("bad-crc-images.gz");
  write_bytes(bad_crc, crc);
  expect_data_error([&] { lenet::read_file_maybe_gzip(bad_crc); }, {bad_crc, "corrupt gzip"});
}

// Issue 12: 32×32 or 1×1 images were taken for training and evaluation (1×1 evaluated to 8.9%).
TEST(IdxErrors, SplitImagesMustBeWhatTheNetworkTakes) {
  for (const auto& [rows, cols] :
       std::vector<std::pair<std::uint32_t, std::uint32_t>>{{32, 32}, {1, 1}, {28, 27}}) {
    const std::string dir = fresh_dir("split-" + std::to_string(rows) + "x" + std::to_string(cols));
    write_bytes(dir + "/train-images-idx3-ubyte",
                idx3_bytes(kCount, rows, cols, test_pixels(kCount * rows * cols)));
    write_bytes(dir + "/train-labels-idx1-ubyte", idx1_bytes(kLabels));
    expect_data_error([&] { lenet::load_split(dir, lenet::Split::Train); },
                      {dir + "/train-images-idx3-ubyte", std::to_string(rows) + "x" + std::to_string(cols),
                       "expected 28x28"});
  }
}

TEST(IdxErrors, MissingFile) {
  const std::string nowhere = lenet::test::temp_path("does-not-exist-idx3-ubyte");
  expect_data_error([&] { lenet::read_idx3_images(nowhere); }, {nowhere, "cannot open", "No such file"});
  expect_data_error([&] { lenet::read_idx1_labels(nowhere); }, {nowhere, "cannot open"});

  const std::string dir = fresh_dir("empty-split");
  expect_data_error([&] { lenet::load_split(dir, lenet::Split::Train); },
                    {"missing", dir + "/train-images-idx3-ubyte", dir + "/train-images-idx3-ubyte.gz"});
  // Images present, labels missing: the labels are what the message must name.
  write_bytes(dir + "/t10k-images-idx3-ubyte", idx3_bytes(1, 1, 1, {0}));
  expect_data_error([&] { lenet::load_split(dir, lenet::Split::Test); },
                    {"missing", dir + "/t10k-labels-idx1-ubyte", dir + "/t10k-labels-idx1-ubyte.gz"});
}

// Per-class counts, and the mean pixel over the whole split.
std::array<int, 10> histogram(const lenet::Dataset& d) {
  std::array<int, 10> h{};
  for (std::uint8_t l : d.labels) ++h.at(l);
  return h;
}

double mean_pixel(const lenet::Dataset& d) {
  return double(std::accumulate(d.images.begin(), d.images.end(), std::uint64_t(0))) /
         double(d.images.size());
}

TEST(IdxReal, Mnist) {
  if (!lenet::test::mnist_available())
    GTEST_SKIP() << "MNIST not in " << lenet::test::mnist_dir() << "; run scripts/fetch_mnist.sh";
  const lenet::Dataset train = lenet::load_split(lenet::test::mnist_dir(), lenet::Split::Train);
  const lenet::Dataset test = lenet::load_split(lenet::test::mnist_dir(), lenet::Split::Test);
  EXPECT_EQ(train.count, 60000);
  EXPECT_EQ(test.count, 10000);
  for (const lenet::Dataset* d : {&train, &test}) {
    EXPECT_EQ(d->rows, 28);
    EXPECT_EQ(d->cols, 28);
    EXPECT_EQ(d->images.size(), std::size_t(d->count) * 28 * 28);
    EXPECT_EQ(d->labels.size(), std::size_t(d->count));
    // Mostly background with full-intensity ink: mean about 0.13 * 255 = 33.
    EXPECT_NEAR(mean_pixel(*d), 33.3, 1.5);
    EXPECT_EQ(*std::max_element(d->images.begin(), d->images.end()), 255);
    EXPECT_EQ(*std::min_element(d->images.begin(), d->images.end()), 0);
  }
  // The published class counts of MNIST, and its well-known first labels.
  EXPECT_EQ(histogram(train),
            (std::array<int, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(histogram(test), (std::array<int, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ((Bytes(train.labels.begin(), train.labels.begin() + 5)), (Bytes{5, 0, 4, 1, 9}));
  EXPECT_EQ((Bytes(test.labels.begin(), test.labels.begin() + 5)), (Bytes{7, 2, 1, 0, 4}));
  // Digits are centred in a 20x20 box: the 28x28 border rows are blank in the first image.
  for (int c = 0; c < 28; ++c) EXPECT_EQ(train.image(0)[c], 0) << "column " << c;
}

TEST(IdxReal, FashionMnistFromDebian) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " not installed";
  const lenet::Dataset train = lenet::load_split(dir, lenet::Split::Train);
  const lenet::Dataset test = lenet::load_split(dir, lenet::Split::Test);
  EXPECT_EQ(train.count, 60000);
  EXPECT_EQ(test.count, 10000);
  for (const lenet::Dataset* d : {&train, &test}) {
    EXPECT_EQ(d->rows, 28);
    EXPECT_EQ(d->cols, 28);
    EXPECT_EQ(d->images.size(), std::size_t(d->count) * 28 * 28);
    EXPECT_EQ(*std::max_element(d->images.begin(), d->images.end()), 255);
  }
  // Fashion-MNIST is exactly balanced.
  std::array<int, 10> train_h{}, test_h{};
  train_h.fill(6000);
  test_h.fill(1000);
  EXPECT_EQ(histogram(train), train_h);
  EXPECT_EQ(histogram(test), test_h);
  // Its clothes fill more of the frame than MNIST's strokes.
  EXPECT_GT(mean_pixel(train), 60.0);
}

// A "gzip bomb": the header of MNIST's training images (60000 of 28x28, 47 MB) and then 2 GB of zeros, in
// about 2 MB. Built from one self-contained deflate block of 1 MB of zeros (after a full flush nothing refers
// back past it), repeated; the trailer's CRC is wrong, which no reader gets to.
Bytes gzip_bomb(std::size_t megabytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  const auto deflate_part = [&](Bytes in, int flush) {
    Bytes out(deflateBound(&z, uLong(in.size())) + 64);
    z.next_in = in.data();
    z.avail_in = uInt(in.size());
    z.next_out = out.data();
    z.avail_out = uInt(out.size());
    EXPECT_NE(deflate(&z, flush), Z_STREAM_ERROR);
    out.resize(out.size() - z.avail_out);
    return out;
  };
  Bytes bomb = deflate_part(idx3_bytes(60000, 28, 28, {}), Z_FULL_FLUSH);
  const Bytes block = deflate_part(Bytes(1 << 20, 0), Z_FULL_FLUSH);
  for (std::size_t i = 0; i < megabytes; ++i) bomb.insert(bomb.end(), block.begin(), block.end());
  const Bytes end = deflate_part({}, Z_FINISH);
  bomb.insert(bomb.end(), end.begin(), end.end());
  deflateEnd(&z);
  return bomb;
}

TEST(IdxErrors, GzipBombIsRefusedAtTheSizeItsHeaderImplies) {
  const Bytes bomb = gzip_bomb(2048);
  EXPECT_LT(bomb.size(), std::size_t(4) << 20);
  const std::string path = lenet::test::temp_path("bomb-images-idx3-ubyte.gz");
  write_bytes(path, bomb);
  expect_data_error([&] { lenet::read_idx3_images(path); },
                    {path, "inflates to more than the 47040016 bytes its idx header implies"});
  EXPECT_LT(lenet::test::peak_rss_kb(), 200 * 1024) << "peak RSS, kB";
  // A labels header is held to its size the same way; a whole file inflates as before.
  Bytes long_labels = idx1_bytes(Bytes(100, 3));
  long_labels.resize(long_labels.size() + 5000, 3);
  expect_data_error([&] { lenet::inflate_if_gzip(gzip_bytes(long_labels), "labels.gz"); },
                    {"labels.gz", "more than the 108 bytes"});
  EXPECT_EQ(lenet::inflate_if_gzip(gzip_bytes(idx1_bytes(Bytes(100, 3))), "ok.gz"),
            idx1_bytes(Bytes(100, 3)));
}

// Found by fuzz_idx in CI: a 48-byte .gz whose idx header claims 1134 images of 2051x1132 (2.6 GB) made the
// reader reserve the whole claimed size before inflating a byte of it. The output may only grow as far as
// this input can inflate to.
TEST(IdxErrors, TinyGzipWithAHugeHeaderReservesNothing) {
  Bytes head = idx3_bytes(1134, 2051, 1132, {});
  head.resize(40, 'l');
  const Bytes gz = gzip_bytes(head);
  EXPECT_LT(gz.size(), std::size_t(100));
  expect_data_error([&] { lenet::inflate_if_gzip(Bytes(gz.begin(), gz.end() - 8), "claims.gz"); },
                    {"claims.gz", "truncated"});
  EXPECT_LT(lenet::test::peak_rss_kb(), 200 * 1024) << "peak RSS, kB";
}

}  // namespace

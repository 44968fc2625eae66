// Every committed fuzz input, seeds and crash regressions alike (fuzz/corpus/<target>/ and
// fuzz/regressions/<target>/), run through its target in every build, the sanitizer one included: a crash the
// fuzzer once found stays fixed even where clang and libFuzzer are not at hand.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "../fuzz/targets.h"
#include "helpers/paths.h"

namespace lenet {
namespace {

namespace fs = std::filesystem;

// Runs every file under fuzz/{corpus,regressions}/<name>/; returns how many there were.
int replay(const std::string& name, const std::function<void(const std::uint8_t*, std::size_t)>& target) {
  int files = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = test::source_path(std::string("fuzz/") + kind + "/" + name);
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::ifstream f(e.path(), std::ios::binary);
      const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(f), {}};
      SCOPED_TRACE(e.path().string());
      EXPECT_NO_THROW(target(bytes.data(), bytes.size()));
      ++files;
    }
  }
  return files;
}

TEST(FuzzCorpus, Idx) { EXPECT_GE(replay("idx", fuzz::idx), 5); }
TEST(FuzzCorpus, Model) { EXPECT_GE(replay("model", fuzz::model), 3); }
TEST(FuzzCorpus, Image) { EXPECT_GE(replay("image", fuzz::image), 7); }
TEST(FuzzCorpus, Http) { EXPECT_GE(replay("http", fuzz::http), 7); }
// The fuzzer drives the server's code directly; the same inputs also go through libmicrohttpd and a socket.
TEST(FuzzCorpus, HttpOverSockets) { EXPECT_GE(replay("http", fuzz::http_socket), 7); }

// Crashes the fuzzers found, each refused with a clear error now (under ASan/UBSan, make asan, the replay
// above also shows that nothing is read or written out of bounds any more).
TEST(FuzzCorpus, RegressionsAreRefusedCleanly) {
  const auto refused = [](const std::string& file, const std::string& message) {
    std::ifstream f(test::source_path("fuzz/regressions/image/" + file), std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(f), {}};
    ASSERT_FALSE(bytes.empty()) << file;
    try {
      decode_grey_image(bytes.data(), bytes.size(), "upload");
      ADD_FAILURE() << file << " was decoded";
    } catch (const ImageError& e) {
      EXPECT_EQ(e.what(), "upload: " + message);
    }
  };
  // stb's bugs, kept as inputs: libjpeg and the PNM reader refuse the first two, and a 16-bit PPM is read.
  refused("jpeg-dht-more-than-256-codes", "corrupt or truncated JPEG: Bogus Huffman table definition");
  refused("pnm-header-number-overflows-int", "malformed PGM header: height has more than 8 digits");
  std::ifstream deep(test::source_path("fuzz/regressions/image/ppm-16-bit-read-as-grey"), std::ios::binary);
  const std::vector<std::uint8_t> ppm{std::istreambuf_iterator<char>(deep), {}};
  EXPECT_EQ(decode_grey_image(ppm.data(), ppm.size(), "ppm").width, 24);
  // The server's own regressions are whole requests (the JPEG ones chunked); the PNG in one on its own:
  for (const char* name : {"upload-png-empty-first-idat"}) {
    std::ifstream f(test::source_path(std::string("fuzz/regressions/http/") + name), std::ios::binary);
    const std::string request{std::istreambuf_iterator<char>(f), {}};
    const std::size_t body = request.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos) << name;
    const auto* picture = reinterpret_cast<const std::uint8_t*>(request.data()) + body + 4;
    try {
      const GreyImage g = decode_grey_image(picture, request.size() - body - 4, "upload");
      EXPECT_GT(g.width, 0) << name;
    } catch (const ImageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("upload: corrupt or truncated ", 0), 0u)
          << name << ": " << e.what();
    }
  }
}

// The seeds are what they claim to be: the readers accept them (else the fuzzer starts from nothing).
TEST(FuzzCorpus, SeedsAreValidInputs) {
  const auto read = [](const std::string& relative) {
    std::ifstream f(test::source_path("fuzz/corpus/" + relative), std::ios::binary);
    return std::vector<std::uint8_t>{std::istreambuf_iterator<char>(f), {}};
  };
  const auto labels = inflate_if_gzip(read("idx/labels-idx1.gz"), "labels");
  EXPECT_EQ(parse_idx1_labels(labels.data(), labels.size(), "labels").size(), 10u);
  const auto images = read("idx/images-idx3");
  EXPECT_EQ(parse_idx3_images(images.data(), images.size(), "images").count, 2);
  const auto model = read("model/lenet5-1998");
  EXPECT_EQ(lenet5_from_model_file(parse_model(model.data(), model.size(), "m"), "m").model.arch(),
            Arch::Lenet5_1998);
  const auto checkpoint = read("model/checkpoint-1998-sgd");
  EXPECT_EQ(parse_checkpoint(checkpoint.data(), checkpoint.size(), "c").state.order.size(), 4u);
  for (const char* name : {"digit.png", "digit.jpg", "digit.pgm", "digit.ppm", "digit-rgba.png", "digit.webp",
                           "digit.tif", "digit.gif", "digit.bmp", "digit-p2.pgm", "digit-sideways.jpg"}) {
    const auto picture = read(std::string("image/") + name);
    EXPECT_EQ(decode_grey_image(picture.data(), picture.size(), name).width, 24) << name;
  }
}

}  // namespace
}  // namespace lenet

// Inputs named on the command line: files, stdin ("-"), pipes and FIFOs read as streams, a FIFO without a
// writer refused after the wait instead of hanging, directories and devices refused by name.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "helpers/paths.h"
#include "helpers/shell.h"
#include "lenet/image.h"
#include "lenet/input_file.h"

namespace lenet {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::string& path, std::size_t limit = 1 << 20, int wait_ms = 300) {
  try {
    read_input_file(path, limit, wait_ms);
  } catch (const InputFileError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(InputFile, FilesPipesFifosAndWhatIsRefused) {
  const std::string dir = test::temp_path("inputs");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/a.bin") << "hello";
  EXPECT_EQ(read_input_file(dir + "/a.bin", 100), std::vector<std::uint8_t>({'h', 'e', 'l', 'l', 'o'}));
  EXPECT_NE(error_of(dir + "/a.bin", 3).find("file too large: 5 bytes, limit 3"), std::string::npos);
  EXPECT_NE(error_of(dir).find(dir + ": is a directory"), std::string::npos) << error_of(dir);
  EXPECT_NE(error_of(dir + "/missing").find("cannot open file"), std::string::npos);

  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string no_writer = error_of(fifo);
  EXPECT_NE(no_writer.find("a FIFO that no program wrote to"), std::string::npos) << no_writer;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3)) << "waited, then stopped";

  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ofstream f(fifo, std::ios::binary);
    for (int i = 0; i < 1000; ++i) f << std::string(100, char('a' + i % 26));
  });
  const std::vector<std::uint8_t> streamed = read_input_file(fifo, 1 << 20, 5000);
  writer.join();
  EXPECT_EQ(streamed.size(), 100000u);
  EXPECT_EQ(streamed[99999], 'a' + 999 % 26);

  const std::string device = dir + "/zero";
  if (::mknod(device.c_str(), S_IFCHR | 0644, makedev(1, 5)) == 0) {  // a /dev/zero made here (root only)
    EXPECT_NE(error_of(device).find("is a device"), std::string::npos);
  }
}

// `lenet predict -` and `lenet read` through a pipe and a directory, as a user would type them.
TEST(InputFile, PredictAndReadTakeStdinAndRefuseDirectories) {
  const std::string png = test::temp_path("seven.png");
  GreyImage img{40, 40, std::vector<std::uint8_t>(1600, 255), ""};
  for (int y = 8; y < 32; ++y)
    for (int x = 18; x < 22; ++x) img.pixels[std::size_t(y) * 40 + std::size_t(x)] = 0;  // a stroke: 1
  save_image(png, img.pixels.data(), img.width, img.height, 1);
  const std::string lenet = test::binary_path("lenet") + " ",
                    model = " --model " + test::source_path("models/lenet5.bin");
  const test::ShellRun piped =
      test::run_shell("cat " + png + " | " + lenet + "predict -" + model + " --json 2>&1");
  EXPECT_EQ(piped.status, 0) << piped.out;
  EXPECT_NE(piped.out.find("\"digit\":1"), std::string::npos) << piped.out;
  const test::ShellRun redirected = test::run_shell(lenet + "read" + model + " - < " + png + " 2>&1");
  EXPECT_EQ(redirected.status, 0) << redirected.out;
  const test::ShellRun dir = test::run_shell(lenet + "predict" + model + " " + test::temp_path("") + " 2>&1");
  EXPECT_NE(dir.status, 0);
  EXPECT_NE(dir.out.find("is a directory"), std::string::npos) << dir.out;
}

}  // namespace
}  // namespace lenet

// Paths for tests: source tree, build tree, MNIST directory, per-process scratch files.
// The scratch directory is created once and named by pid so parallel ctest runs do not collide.
#include "helpers/paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace lenet::test {

std::string source_path(const std::string& relative) {
  return std::string(LENET_SOURCE_DIR) + "/" + relative;
}
std::string binary_path(const std::string& relative) {
  return std::string(LENET_BINARY_DIR) + "/" + relative;
}

std::string mnist_dir() {
  if (const char* env = std::getenv("LENET_MNIST_DIR")) return env;
  return source_path("data/mnist");
}

bool mnist_available() {
  namespace fs = std::filesystem;
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                        "t10k-labels-idx1-ubyte"})
    if (!fs::exists(mnist_dir() + "/" + f)) return false;
  return true;
}

bool sanitizer_run() {
  const char* env = std::getenv("LENET_SANITIZER");
  return env && *env && std::string(env) != "0";
}

std::string temp_path(const std::string& name) {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("lenet-test-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return (dir / name).string();
}

}  // namespace lenet::test

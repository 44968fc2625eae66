// Where tests find the source tree, the build tree and the MNIST data.
// MNIST lives in data/mnist/ (fetched by scripts/fetch_mnist.sh); tests that need it skip without it.
#pragma once
#include <string>

namespace lenet::test {

std::string source_path(const std::string& relative);  // LENET_SOURCE_DIR/relative
std::string binary_path(const std::string& relative);  // LENET_BINARY_DIR/relative
std::string mnist_dir();                               // $LENET_MNIST_DIR or data/mnist
bool mnist_available();                                // all four idx files present
std::string temp_path(const std::string& name);        // a fresh path in a per-process temp dir
// True in the sanitizer build's test run (make asan sets LENET_SANITIZER=1): code runs 20-100x slower
// there, so long tests shrink their data while keeping every assertion that does not depend on size.
bool sanitizer_run();

}  // namespace lenet::test

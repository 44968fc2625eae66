// The web demo's page (apps/lenet/web/*), compiled into the program by cmake/embed_files.cmake so that
// `lenet serve` needs nothing beside the binary.
#pragma once
#include <cstddef>
#include <vector>

namespace lenet::app {

struct EmbeddedFile {
  const char* name;  // file name in apps/lenet/web, e.g. "index.html"
  const unsigned char* data;
  std::size_t size;
};

const std::vector<EmbeddedFile>& web_files();

}  // namespace lenet::app

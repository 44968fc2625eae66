// The per-picture loop that predict and read share: every picture answered or its error reported.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "lenet/input_file.h"

namespace lenet::app {

void answer_each_image(const std::vector<std::string>& images, bool json,
                       const std::function<void(std::size_t, const std::string&)>& answer) {
  int failed = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string& file = images[i];
    try {
      answer(i, file);
    } catch (const std::exception& e) {
      ++failed;
      if (json)
        std::printf("%s\n", nlohmann::ordered_json({{"file", file}, {"error", e.what()}}).dump().c_str());
      else
        std::fprintf(stderr, "lenet: error: %s\n", e.what());
    }
    std::fflush(stdout);
  }
  if (failed)
    throw CommandError(std::to_string(failed) + " of " + std::to_string(images.size()) +
                       " images could not be read");
}

GreyImage read_picture(const std::string& file) {
  const std::vector<std::uint8_t> bytes = read_input_file(file, kMaxImageFileBytes);
  return decode_grey_image(bytes.data(), bytes.size(), file == "-" ? "stdin" : file);
}

}  // namespace lenet::app

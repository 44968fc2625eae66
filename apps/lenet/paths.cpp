// Finding the shipped model beside the program (/proc/self/exe gives the program's real location, through
// symlinks, from which the source-tree and installed layouts are tried); numbered output paths.
#include "paths.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "commands.h"

namespace lenet::app {

std::vector<std::string> default_model_candidates() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path();
    for (const fs::path& p :
         {dir / ".." / "models", dir / ".." / "share" / "lenet" / "models", dir / "models"})
      out.push_back((p / kDefaultModelFile).lexically_normal().string());
  }
  return out;
}

std::string resolve_model_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("LENET_MODEL"); env && *env) return env;  // an explicit choice
  const std::vector<std::string> candidates = default_model_candidates();
  std::string tried;
  for (const std::string& c : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(c, ec)) return c;
    tried += (tried.empty() ? "" : ", ") + c;
  }
  throw CommandError("no model given and the shipped model was not found (looked in: " +
                     (tried.empty() ? std::string("nowhere: cannot locate the lenet program") : tried) +
                     "); pass --model FILE or set LENET_MODEL");
}

std::string numbered_path(const std::string& path, std::size_t index, std::size_t count) {
  if (count == 1) return path;
  const std::size_t dot = path.find_last_of('.'), slash = path.find_last_of('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  const std::string stem = has_ext ? path.substr(0, dot) : path, ext = has_ext ? path.substr(dot) : ".png";
  return stem + "-" + std::to_string(index + 1) + ext;
}

}  // namespace lenet::app

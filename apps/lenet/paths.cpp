// Finding the model and the data a command was not told about (one rule for both, see paths.h);
// numbered and free output paths.
#include "paths.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "commands.h"

namespace lenet::app {

namespace {

namespace fs = std::filesystem;

// `relative` in the working directory, then in the places beside the program.
std::vector<std::string> candidates(const fs::path& relative) {
  std::vector<std::string> out{relative.string()};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path();
    for (const fs::path& p : {dir / ".." / relative, dir / ".." / "share" / "lenet" / relative})
      out.push_back(p.lexically_normal().string());
  }
  return out;
}

std::string resolve(const std::string& given, const char* env_name, const std::vector<std::string>& places,
                    bool directory, const std::string& what, const std::string& option) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv(env_name); env && *env) return env;  // an explicit choice
  std::string tried;
  for (const std::string& c : places) {
    std::error_code ec;
    if (directory ? fs::is_directory(c, ec) : fs::is_regular_file(c, ec)) return c;
    tried += (tried.empty() ? "" : ", ") + c;
  }
  throw CommandError("no " + option + " given and " + what + " was not found (looked in: " + tried +
                     "); pass " + option + " or set " + env_name);
}

}  // namespace

std::vector<std::string> default_model_candidates() {
  std::vector<std::string> out = candidates(fs::path("models") / kDefaultModelFile);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path() / "models" / kDefaultModelFile).lexically_normal().string());
  return out;
}

std::string resolve_model_path(const std::string& given) {
  return resolve(given, "LENET_MODEL", default_model_candidates(), false, "the shipped model",
                 "--model FILE");
}

std::string resolve_data_dir(const std::string& given) {
  return resolve(given, "LENET_DATA", candidates(fs::path("data") / "mnist"), true,
                 "MNIST (scripts/fetch_mnist.sh fetches it)", "--data DIR");
}

std::string numbered_path(const std::string& path, std::size_t index, std::size_t count) {
  if (count == 1) return path;
  const std::size_t dot = path.find_last_of('.'), slash = path.find_last_of('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  const std::string stem = has_ext ? path.substr(0, dot) : path, ext = has_ext ? path.substr(dot) : ".png";
  return stem + "-" + std::to_string(index + 1) + ext;
}

std::string free_path(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return path;
  const fs::path p(path);
  for (int n = 2;; ++n) {
    const fs::path candidate =
        p.parent_path() / (p.stem().string() + "-" + std::to_string(n) + p.extension().string());
    if (!fs::exists(fs::symlink_status(candidate, ec))) return candidate.string();
  }
}

}  // namespace lenet::app

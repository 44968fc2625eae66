// Whole-input reads for command-line arguments: regular files, stdin, pipes and FIFOs, with bounds.
#include "lenet/input_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lenet {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& why) {
  throw InputFileError(name + ": " + why);
}

class Fd {
 public:
  explicit Fd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~Fd() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
  bool owned_;
};

}  // namespace

std::vector<std::uint8_t> read_input_file(const std::string& path, std::size_t max_bytes, int wait_ms) {
  const bool is_stdin = path == "-";
  const std::string name = is_stdin ? std::string("stdin") : path;
  struct stat st {};
  if (!is_stdin && ::stat(path.c_str(), &st) != 0)
    fail(name, std::string("cannot open file: ") + std::strerror(errno));
  if (!is_stdin) {
    if (S_ISDIR(st.st_mode)) fail(name, "is a directory: expected a picture file");
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))
      fail(name, "is a device or socket: expected a picture file, a pipe or - for stdin");
  }
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever.
  const Fd fd(is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY),
              !is_stdin);
  if (fd.get() < 0) fail(name, std::string("cannot open file: ") + std::strerror(errno));
  if (::fstat(fd.get(), &st) != 0) fail(name, std::string("cannot read file: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(name, "is a directory: expected a picture file");
  std::vector<std::uint8_t> bytes;
  if (S_ISREG(st.st_mode) && std::uint64_t(st.st_size) > max_bytes)
    fail(name,
         "file too large: " + std::to_string(st.st_size) + " bytes, limit " + std::to_string(max_bytes));
  if (S_ISREG(st.st_mode)) {
    // A regular file is always ready and its size is known: read straight into place (a file that grew
    // since fstat reads on to the limit), with none of the polling a pipe needs. A folder of small
    // pictures is read a file per 4 system calls fewer.
    bytes.resize(std::size_t(st.st_size) + 1);
    std::size_t got = 0;
    for (;;) {
      if (got == bytes.size()) {
        if (bytes.size() > max_bytes)
          fail(name, "more than the limit of " + std::to_string(max_bytes) + " bytes");
        bytes.resize(std::min(max_bytes + 1, 2 * bytes.size()));
      }
      const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        fail(name, std::string("cannot read: ") + std::strerror(errno));
      }
      if (n == 0) break;
      got += std::size_t(n);
    }
    if (got > max_bytes) fail(name, "more than the limit of " + std::to_string(max_bytes) + " bytes");
    bytes.resize(got);
    return bytes;
  }
  // A FIFO opened without a writer reads as empty until one comes: wait for data or the end (POLLHUP).
  bool seen_writer = !S_ISFIFO(st.st_mode) || is_stdin;
  std::uint8_t chunk[65536];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      fail(name, seen_writer
                     ? "no data for " + std::to_string(wait_ms / 1000) + " s; stopped waiting"
                     : "a FIFO that no program wrote to within " + std::to_string(wait_ms / 1000) + " s");
    }
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      fail(name, std::string("cannot read: ") + std::strerror(errno));
    }
    if (n == 0) {
      if (!seen_writer && !(p.revents & POLLHUP)) continue;  // no writer yet: poll again
      break;
    }
    seen_writer = true;
    if (bytes.size() + std::size_t(n) > max_bytes)
      fail(name, "more than the limit of " + std::to_string(max_bytes) + " bytes");
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  return bytes;
}

}  // namespace lenet

// Safe output files: pre-flight checks of a path, flock-based locks that name their holder, atomic
// replacement through a locked temporary, removal of dead processes' temporaries, checked appends.
#include "lenet/output_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

namespace lenet {

namespace {

[[noreturn]] void fail(const std::string& option, const std::string& path, const std::string& why) {
  throw OutputFileError((option.empty() ? std::string() : option + " ") + path + ": " + why);
}

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_dir(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a regular file";
}

// "pid 1234 (lenet train --out m.bin)", from the /proc of the running process.
std::string describe_self() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string cmdline(std::istreambuf_iterator<char>(f), {});
  for (char& c : cmdline)
    if (c == '\0') c = ' ';
  while (!cmdline.empty() && cmdline.back() == ' ') cmdline.pop_back();
  if (cmdline.size() > 200) cmdline = cmdline.substr(0, 200) + "...";
  return "pid " + std::to_string(::getpid()) + (cmdline.empty() ? "" : " (" + cmdline + ")");
}

// 0, or the errno of the write that failed.
int write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    size -= std::size_t(n);
  }
  return 0;
}

}  // namespace

void check_output_path(const std::string& path, const std::string& option) {
  if (path.empty()) fail(option, "''", "empty path: expected a file name");
  if (path.back() == '/') fail(option, path, "names a directory: expected a file name");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {  // follows symlinks: what matters is what would be written
    if (!S_ISREG(st.st_mode))
      fail(option, path,
           std::string("is ") + kind_of(st.st_mode) + ": expected a regular file or a new name");
    if (::access(path.c_str(), W_OK) != 0)
      fail(option, path, "exists and cannot be written: " + errno_text(errno));
  } else if (errno != ENOENT && errno != ENOTDIR) {  // ENOTDIR: the parent is a file, said below
    fail(option, path, "cannot be checked: " + errno_text(errno));
  } else if (struct stat lst{}; ::lstat(path.c_str(), &lst) == 0) {
    fail(option, path, "is a symbolic link to a missing file: expected a regular file or a new name");
  }
  const std::string dir = parent_dir(path);
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) fail(option, path, "there is no directory " + dir);
  if (!S_ISDIR(dst.st_mode)) fail(option, path, dir + " is " + kind_of(dst.st_mode) + ", not a directory");
  // The file is replaced through a temporary beside it, so the directory itself must be writable.
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail(option, path, "directory " + dir + " is not writable: " + errno_text(errno));
}

OutputLock::OutputLock(const std::string& path, const std::string& option) : lock_path_(path + ".lock") {
  // A lock file stays while held; after a release it may be unlinked by its holder between our open and our
  // flock, so a lock is only ours if the file we locked is still the one at lock_path_.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) fail(option, path, "cannot create the lock file " + lock_path_ + ": " + errno_text(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder(512, '\0');
      const ssize_t n = ::pread(fd, holder.data(), holder.size(), 0);
      holder.resize(n > 0 ? std::size_t(n) : 0);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
      ::close(fd);
      if (err == EWOULDBLOCK)
        fail(option, path,
             "in use by another run (" + (holder.empty() ? std::string("holder unknown") : holder) +
                 "); lock file " + lock_path_);
      fail(option, path, "cannot lock " + lock_path_ + ": " + errno_text(err));
    }
    struct stat held {
    }, now{};
    if (::fstat(fd, &held) == 0 && ::stat(lock_path_.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      const std::string me = describe_self() + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != ssize_t(me.size())) {
        const int err = errno;
        ::close(fd);
        fail(option, path, "cannot write the lock file " + lock_path_ + ": " + errno_text(err));
      }
      fd_ = fd;
      return;
    }
    ::close(fd);  // unlinked under us: try the new one
  }
  fail(option, path, "cannot lock " + lock_path_ + ": it keeps being replaced");
}

OutputLock::~OutputLock() { release(); }

OutputLock::OutputLock(OutputLock&& other) noexcept
    : fd_(other.fd_), lock_path_(std::move(other.lock_path_)) {
  other.fd_ = -1;
}

OutputLock& OutputLock::operator=(OutputLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    lock_path_ = std::move(other.lock_path_);
    other.fd_ = -1;
  }
  return *this;
}

void OutputLock::release() {
  if (fd_ < 0) return;
  ::unlink(lock_path_.c_str());  // while still locked, so nobody can lock the name we remove
  ::close(fd_);
  fd_ = -1;
}

int remove_stray_temporaries(const std::string& path) {
  const std::string dir = parent_dir(path), prefix = base_name(path) + ".tmp-";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) continue;
    const std::string full = dir + "/" + std::string(name);
    const int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st {};
    // A writer holds its temporary locked until the rename: one we can lock belongs to nobody alive.
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        ::unlink(full.c_str()) == 0)
      ++removed;
    ::close(fd);
  }
  ::closedir(d);
  return removed;
}

void write_file_atomically(const std::string& path, const void* data, std::size_t size) {
  remove_stray_temporaries(path);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) fail("", path, "cannot create the temporary file " + tmp + ": " + errno_text(errno));
  std::string error;
  int err = ::flock(fd, LOCK_EX) != 0 ? errno : write_all(fd, data, size);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (err != 0) error = "cannot write " + tmp + ": " + errno_text(err);
  if (::close(fd) != 0 && error.empty()) error = "cannot close " + tmp + ": " + errno_text(errno);
  if (error.empty() && std::rename(tmp.c_str(), path.c_str()) != 0)
    error = "cannot rename " + tmp + " over it: " + errno_text(errno);
  if (!error.empty()) {
    ::unlink(tmp.c_str());
    fail("", path, error + " (the file at this path, if any, is unchanged)");
  }
  // Make the rename itself durable. Some file systems cannot fsync a directory (EINVAL); that is not an
  // error anyone can act on.
  const std::string dir = parent_dir(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    fail("", path, "written, but cannot open directory " + dir + " to fsync it: " + errno_text(errno));
  const int rc = ::fsync(dfd);
  err = errno;
  ::close(dfd);
  if (rc != 0 && err != EINVAL)
    fail("", path, "written, but cannot fsync directory " + dir + ": " + errno_text(err));
}

AppendFile::AppendFile(const std::string& path, const std::string& option) : path_(path), option_(option) {
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) fail(option, path, "cannot open for appending: " + errno_text(errno));
}

AppendFile::~AppendFile() {
  if (file_) std::fclose(file_);
}

void AppendFile::write_line(const std::string& line) {
  if (!file_) fail(option_, path_, "not open");
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fputc('\n', file_) == EOF ||
      std::fflush(file_) != 0)
    fail(option_, path_, "cannot write: " + errno_text(errno));
}

void AppendFile::close() {
  if (!file_) return;
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) fail(option_, path_, "cannot write: " + errno_text(errno));
}

}  // namespace lenet

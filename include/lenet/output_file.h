// Files the program writes (a model, a checkpoint, a log): checked before any work starts, locked against a
// second run, replaced atomically, and every write error reported — so nothing is destroyed by accident.
#pragma once
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace lenet {

// A file that must not or cannot be written; the message names the option (e.g. "--out"), the path, and
// what was found against what was expected.
struct OutputFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Refuses what a run must not write to, before it starts: a path whose directory is missing or not
// writable, a directory, a device, a FIFO or a socket (also through a symlink), an existing file that is
// not writable. Root is refused these as well: a model written over /dev/sda is never what was meant.
void check_output_path(const std::string& path, const std::string& option);

// An exclusive advisory lock (flock) for writing `path`, held on "path.lock", which holds the owner's pid
// and command line. A second holder fails at once with OutputFileError naming the first. The lock file is
// removed when the lock is released; a lock left by a killed process is released by the kernel.
class OutputLock {
 public:
  OutputLock() = default;
  OutputLock(const std::string& path, const std::string& option);
  ~OutputLock();
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&& other) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  void release();
  int fd_ = -1;
  std::string lock_path_;
};

// Writes the bytes to "path.tmp-<pid>" (flocked while it is written, so no other process mistakes it for a
// stray), fsyncs it, renames it over path and fsyncs the directory. First removes temporaries of path
// that no live process holds (left by a process killed mid-save). Throws OutputFileError naming path; on
// failure path is untouched and the temporary removed.
void write_file_atomically(const std::string& path, const void* data, std::size_t size);

// The temporaries of path ("path.tmp-*") that no process holds a lock on are removed; returns how many.
int remove_stray_temporaries(const std::string& path);

// A file appended to line by line (a training log); every write is flushed and checked, so a full disk or
// an I/O error throws OutputFileError at the line that failed instead of being lost.
class AppendFile {
 public:
  AppendFile() = default;
  AppendFile(const std::string& path, const std::string& option);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  bool is_open() const { return file_ != nullptr; }
  void write_line(const std::string& line);
  void close();  // throws if the last data cannot be written

 private:
  std::FILE* file_ = nullptr;
  std::string path_, option_;
};

}  // namespace lenet

// Safe output files: paths refused before any work (device nodes, FIFOs, directories, symlinks to them,
// missing directories), locks that name their holder, atomic replacement and removal of dead processes'
// temporaries, and appends that fail loudly on a full disk. Device nodes and FIFOs are made in a temp dir.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "helpers/paths.h"
#include "helpers/shell.h"
#include "lenet/output_file.h"

namespace lenet {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const std::string dir = test::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string contents(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// f must throw OutputFileError whose message contains `part`.
void expect_refused(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "not refused; expected an error mentioning '" << part << "'";
  } catch (const OutputFileError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(OutputFile, PathsThatMustNotBeWrittenAreRefusedFirst) {
  const std::string dir = fresh_dir("refuse");
  const std::string fifo = dir + "/fifo", device = dir + "/null-device", sub = dir + "/sub";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  fs::create_directories(sub);
  fs::create_symlink(fifo, dir + "/link-to-fifo");
  fs::create_symlink(dir + "/nowhere", dir + "/dangling");
  const bool made_device = ::mknod(device.c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0;  // root only
  std::ofstream(dir + "/model.bin") << "old";

  check_output_path(dir + "/model.bin", "--out");  // a regular file: fine
  check_output_path(dir + "/new.bin", "--out");    // absent, in a writable directory: fine
  expect_refused([&] { check_output_path(fifo, "--out"); }, "--out " + fifo + ": is a FIFO");
  expect_refused([&] { check_output_path(dir + "/link-to-fifo", "--out"); }, "is a FIFO");
  expect_refused([&] { check_output_path(sub, "--log"); }, "--log " + sub + ": is a directory");
  expect_refused([&] { check_output_path(sub + "/", "--out"); }, "names a directory");
  expect_refused([&] { check_output_path(dir + "/dangling", "--out"); }, "symbolic link to a missing file");
  expect_refused([&] { check_output_path(dir + "/missing/m.bin", "--checkpoint"); }, "there is no directory");
  expect_refused([&] { check_output_path(dir + "/model.bin/x", "--out"); }, "not a directory");
  if (made_device) {
    expect_refused([&] { check_output_path(device, "--out"); }, "is a character device");
  }
  EXPECT_EQ(contents(dir + "/model.bin"), "old");
}

TEST(OutputFile, ASecondLockFailsAtOnceNamingTheFirst) {
  const std::string path = fresh_dir("lock") + "/ckpt.bin";
  {
    OutputLock first(path, "--checkpoint");
    ASSERT_TRUE(first.held());
    expect_refused([&] { OutputLock second(path, "--checkpoint"); },
                   "in use by another run (pid " + std::to_string(::getpid()));
  }
  EXPECT_FALSE(fs::exists(path + ".lock")) << "removed on release";
  OutputLock again(path, "--checkpoint");  // free again
  EXPECT_TRUE(again.held());
  OutputLock moved = std::move(again);
  EXPECT_TRUE(moved.held());
  EXPECT_FALSE(again.held());  // NOLINT(bugprone-use-after-move): moved-from state is specified
}

TEST(OutputFile, ALockHeldByAnotherProcessIsRespectedAndFreedWhenItDies) {
  const std::string path = fresh_dir("lock-child") + "/model.bin";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    OutputLock held(path, "--out");
    (void)!::write(ready[1], "x", 1);
    ::pause();  // until killed: the kernel releases the lock
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  expect_refused([&] { OutputLock second(path, "--out"); }, "pid " + std::to_string(child));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  OutputLock after(path, "--out");  // the lock file is still there, but nobody holds it
  EXPECT_TRUE(after.held());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(OutputFile, AtomicWritesReplaceAndStrayTemporariesOfTheDeadGo) {
  const std::string dir = fresh_dir("atomic"), path = dir + "/model.bin";
  std::ofstream(path) << "old";
  // A temporary left by a process killed mid-save, and one that a live process is writing (locked).
  std::ofstream(path + ".tmp-999999") << std::string(1000, 'x');
  const int live = ::open((path + ".tmp-1").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(live, 0);
  ASSERT_EQ(::flock(live, LOCK_EX), 0);
  const pid_t child = ::fork();  // the lock must be held by another open file description: a child's
  if (child == 0) {
    const int fd = ::open((path + ".tmp-1").c_str(), O_RDONLY);
    ::_exit(::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 1 : 0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the live temporary is locked";

  write_file_atomically(path, "new", 3);
  EXPECT_EQ(contents(path), "new");
  EXPECT_FALSE(fs::exists(path + ".tmp-999999")) << "a dead process's temporary is removed";
  EXPECT_TRUE(fs::exists(path + ".tmp-1")) << "a locked (live) temporary is kept";
  EXPECT_FALSE(fs::exists(path + ".tmp-" + std::to_string(::getpid())));
  ::close(live);

  expect_refused([&] { write_file_atomically(dir + "/no/such/dir/m.bin", "x", 1); }, "cannot create");
}

// A full disk: a 64 KB tmpfs, mounted in a temp dir (needs root; skipped otherwise).
TEST(OutputFile, AppendsStopAtAFullDisk) {
  const std::string dir = fresh_dir("full-disk");
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (not root?): " << std::strerror(errno);
  const std::string path = dir + "/train-log.jsonl";
  bool refused = false;
  try {
    AppendFile log(path, "--log");
    const std::string line(1000, 'x');
    for (int i = 0; i < 1000; ++i) log.write_line(line);  // 1 MB into 64 KB
  } catch (const OutputFileError& e) {
    refused = true;
    EXPECT_NE(std::string(e.what()).find("--log " + path + ": cannot write: No space left"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(refused) << "1 MB of log lines into a 64 KB file system went through";
  expect_refused([&] { write_file_atomically(dir + "/m.bin", std::string(1 << 20, 'x').data(), 1 << 20); },
                 "No space left");
  EXPECT_FALSE(fs::exists(dir + "/m.bin"));
  EXPECT_EQ(::umount(dir.c_str()), 0);
}

// ---- lenet train, as a careless user or a second shell would run it ----

std::string train_command(const std::string& extra) {
  return test::binary_path("lenet") + " train --epochs 2 --limit 200 --threads 1 --data " +
         test::mnist_dir() + " " + extra + " 2>&1";
}

TEST(TrainOutputs, DevicesFifosAndDirectoriesAreRefusedBeforeTraining) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const std::string dir = fresh_dir("train-refuse");
  const std::string fifo = dir + "/fifo", device = dir + "/device";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::vector<std::pair<std::string, std::string>> cases = {
      {"--out " + fifo, "is a FIFO"},
      {"--out " + dir, "is a directory"},
      {"--log " + fifo, "is a FIFO"},
      {"--checkpoint " + dir + "/missing/c.bin", "there is no directory"},
      {"--out " + dir + "/missing/m.bin", "there is no directory"}};
  const bool made_device = ::mknod(device.c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0;  // root only
  if (made_device) cases.push_back({"--out " + device, "is a character device"});
  for (const auto& [args, why] : cases) {
    const test::ShellRun r = test::run_shell(train_command(args));
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.out.find(why), std::string::npos) << args << ": " << r.out;
    EXPECT_EQ(r.out.find("epoch"), std::string::npos) << "trained before refusing " << args << ": " << r.out;
  }
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO is still a FIFO";
  if (made_device) {
    ASSERT_EQ(::lstat(device.c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node is still a device node";
  }
}

TEST(TrainOutputs, ALogOnAFullDiskFailsTheRun) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const std::string dir = fresh_dir("train-full-disk");
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=16k") != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (not root?): " << std::strerror(errno);
  {
    std::ofstream fill(dir + "/fill", std::ios::binary);  // fill the file system to the last block
    fill << std::string(64 << 10, 'x');
  }
  const std::string model = fresh_dir("train-full-disk-out") + "/m.bin";
  const test::ShellRun r = test::run_shell(train_command("--log " + dir + "/log.jsonl --out " + model));
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("--log " + dir + "/log.jsonl: cannot write: No space left"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(model)) << "a run whose log failed saved a model";
  EXPECT_EQ(::umount(dir.c_str()), 0);
}

TEST(TrainOutputs, ASecondRunOnTheSameCheckpointFailsAtOnce) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const std::string dir = fresh_dir("train-twice"), checkpoint = dir + "/c.bin";
  const std::string first_cmd = test::binary_path("lenet") +
                                " train --epochs 30 --limit 5000 --threads 1 --data " + test::mnist_dir() +
                                " --checkpoint " + checkpoint + " --out " + dir + "/a.bin";
  const pid_t first = ::fork();
  ASSERT_GE(first, 0);
  if (first == 0) {
    ::freopen("/dev/null", "w", stderr);
    ::execl("/bin/sh", "sh", "-c", ("exec " + first_cmd).c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 600 && !fs::exists(checkpoint + ".lock"); ++i) ::usleep(50000);
  ASSERT_TRUE(fs::exists(checkpoint + ".lock")) << "the first run never took its lock";
  const auto t0 = std::chrono::steady_clock::now();
  const test::ShellRun second =
      test::run_shell(train_command("--checkpoint " + checkpoint + " --out " + dir + "/b.bin"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::kill(first, SIGKILL);
  ::waitpid(first, nullptr, 0);
  EXPECT_NE(second.status, 0) << second.out;
  EXPECT_NE(second.out.find("in use by another run (pid " + std::to_string(first)), std::string::npos)
      << second.out;
  EXPECT_LT(seconds, 10.0) << "the second run failed, but not at once";
  EXPECT_FALSE(fs::exists(dir + "/b.bin"));
}

}  // namespace
}  // namespace lenet

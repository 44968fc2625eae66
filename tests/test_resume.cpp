// The real `lenet train` killed with SIGKILL at random moments, several times in a row, and resumed each
// time: the final model file is byte-identical to an uninterrupted run's. Also SIGTERM/SIGINT (checkpoint,
// message, non-zero exit), divergence (nothing saved over --out) and the refusals around --resume.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "helpers/paths.h"
#include "lenet/rng.h"

namespace lenet {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_be32(std::ofstream& f, std::uint32_t v) {
  const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  f.write(b, 4);
}

// An idx data directory of bar "digits" (a position and angle per class, plus noise), so that the test
// needs no download and stays small.
std::string write_dataset(int train_count, int test_count) {
  const std::string dir = test::temp_path("resume-data");
  fs::create_directories(dir);
  Rng rng(17);
  for (const auto& [prefix, count] :
       {std::pair<std::string, int>{"train", train_count}, {"t10k", test_count}}) {
    std::ofstream images(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
    std::ofstream labels(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
    write_be32(images, 0x803);
    write_be32(images, std::uint32_t(count));
    write_be32(images, 28);
    write_be32(images, 28);
    write_be32(labels, 0x801);
    write_be32(labels, std::uint32_t(count));
    for (int i = 0; i < count; ++i) {
      const int label = int(rng.below(10));
      labels.put(char(label));
      std::vector<char> img(784, 0);
      for (int t = 0; t < 16; ++t) {
        const int y = 6 + t, x = 4 + 2 * label + ((label % 3) - 1) * (t - 8) / 4;
        img[std::size_t(y * 28 + x)] = char(255);
        img[std::size_t(y * 28 + x + 1)] = char(200);
      }
      for (char& p : img)
        if (rng.below(20) == 0) p = char(rng.below(128));
      images.write(img.data(), 784);
    }
  }
  return dir;
}

// `lenet` with the given arguments, stdout and stderr into `log`.
pid_t spawn_lenet(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv_s = {test::binary_path("lenet")};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

struct Exit {
  bool exited = false;  // else killed by a signal
  int code = -1;        // exit status, or the signal
};

Exit wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? Exit{true, WEXITSTATUS(status)} : Exit{false, WTERMSIG(status)};
}

struct Result {
  Exit exit;
  std::string output;
};

Result run_lenet(const std::vector<std::string>& args) {
  const std::string log = test::temp_path("lenet-run.log");
  Result r{wait_for(spawn_lenet(args, log)), {}};
  r.output = read_bytes(log);
  return r;
}

struct TrainSetup {
  std::string data;
  std::vector<std::string> args;  // the run, without --out/--checkpoint
  int kills = 0;
};

TrainSetup setup() {
  // Under sanitizers everything is 20-100x slower: fewer images, epochs and kills.
  const bool small = test::sanitizer_run();
  TrainSetup s;
  s.data = write_dataset(small ? 300 : 6000, small ? 100 : 300);
  s.args = {"train",  "--data", s.data, "--epochs", small ? "2" : "3", "--batch", "32", "--threads", "2",
            "--seed", "3",      "--lr", "0.02"};
  s.kills = small ? 3 : 6;
  return s;
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// Whether `pid` has exited, without reaping it (wait_for still collects its status).
bool has_exited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

// Which version of the checkpoint file is on disk: each write is a new file renamed over the old one.
std::pair<ino_t, long long> checkpoint_version(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {0, 0};
  return {st.st_ino, (long long)(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

// Waits until `pid` has replaced the checkpoint `writes` times, or has exited, or 20 s have passed.
void wait_for_checkpoints(pid_t pid, const std::string& ckpt, int writes) {
  auto seen = checkpoint_version(ckpt);
  const auto give_up = Clock::now() + std::chrono::seconds(20);
  while (writes > 0 && !has_exited(pid) && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto now = checkpoint_version(ckpt);
    if (now.first != 0 && now != seen) {
      seen = now;
      --writes;
    }
  }
}

TEST(Resume, KilledAtRandomMomentsAndResumedEachTimeEqualsAnUninterruptedRun) {
  const TrainSetup s = setup();
  const std::string ref = test::temp_path("ref.bin"), out = test::temp_path("killed.bin");
  const std::string ckpt = test::temp_path("killed.ckpt");
  fs::remove(ckpt);
  fs::remove(out);
  const Result reference = run_lenet(with(s.args, {"--out", ref}));
  ASSERT_TRUE(reference.exit.exited && reference.exit.code == 0) << reference.output;

  const char* env_seed = std::getenv("LENET_TEST_SEED");
  const unsigned seed = env_seed ? unsigned(std::strtoul(env_seed, nullptr, 10)) : std::random_device{}();
  std::mt19937 random(seed);
  std::printf("kill moments drawn with LENET_TEST_SEED=%u\n", seed);
  // Checkpoints every 20 ms. Each run is killed after a random number of its own checkpoint writes plus a
  // random part of the interval, so the kill lands mid-epoch, mid-step or mid-write, at a moment drawn from
  // the run's own progress: a clock measured on another run (under other load) could let a run finish
  // before its kill.
  const std::vector<std::string> run =
      with(s.args, {"--out", out, "--checkpoint", ckpt, "--checkpoint-every", "0.02"});
  int resumes = 0, killed = 0;
  for (int leg = 0; leg < s.kills; ++leg) {
    const bool resume = fs::exists(ckpt);
    const std::string log = test::temp_path("leg" + std::to_string(leg) + ".log");
    const auto started = Clock::now();
    const pid_t pid = spawn_lenet(resume ? with(run, {"--resume"}) : run, log);
    const int writes = std::uniform_int_distribution<int>(1, 6)(random);
    const double extra = std::uniform_real_distribution<double>(0.0, 0.03)(random);
    wait_for_checkpoints(pid, ckpt, writes);
    std::this_thread::sleep_for(std::chrono::duration<double>(extra));
    ::kill(pid, SIGKILL);
    const Exit e = wait_for(pid);
    const std::string output = read_bytes(log);
    std::printf("run %d: %s, killed %.3f s after its checkpoint write %d (%.2f s after it started): %s\n",
                leg, resume ? "resumed" : "fresh", extra, writes,
                std::chrono::duration<double>(Clock::now() - started).count(),
                e.exited ? "had already finished" : "killed");
    if (const std::size_t at = output.find("resuming from"); at != std::string::npos)
      std::printf("  %s\n", output.substr(at, output.find('\n', at) - at).c_str());
    resumes += resume;
    killed += !e.exited;
    if (e.exited) {
      ASSERT_EQ(e.code, 0) << output;
      break;
    }
  }
  if (!fs::exists(out)) {  // the last kill came before the end: finish the run
    const Result last = run_lenet(fs::exists(ckpt) ? with(run, {"--resume"}) : run);
    ASSERT_TRUE(last.exit.exited && last.exit.code == 0) << last.output;
    resumes += fs::exists(ckpt);
  }
  EXPECT_GE(killed, 1);
  EXPECT_GE(resumes, 1) << "no run was ever resumed: the kills all came before the first checkpoint";
  const std::string a = read_bytes(ref), b = read_bytes(out);
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the resumed model differs from the uninterrupted one (" << killed << " kills, "
                      << resumes << " resumes)";
}

// SIGTERM and SIGINT: the step finishes, the checkpoint is written, the exit is 128 + signal and the message
// says how to go on; going on gives the uninterrupted model.
TEST(Resume, SigtermAndSigintSaveACheckpointAndSayHowToResume) {
  const TrainSetup s = setup();
  const std::string ref = test::temp_path("ref-term.bin");
  const Result r = run_lenet(with(s.args, {"--out", ref}));
  ASSERT_TRUE(r.exit.exited && r.exit.code == 0) << r.output;
  for (const int sig : {SIGTERM, SIGINT}) {
    const std::string out = test::temp_path("term.bin"), ckpt = test::temp_path("term.ckpt");
    fs::remove(ckpt);
    fs::remove(out);
    const std::vector<std::string> run = with(s.args, {"--out", out, "--checkpoint", ckpt});
    const std::string log = test::temp_path("term.log");
    fs::remove(log);  // else the previous signal's run, still in the file, looks like this one's start line
    const pid_t pid = spawn_lenet(run, log);
    // Once training has begun (the start line is out), the handlers are in place.
    for (int i = 0; i < 2000 && read_bytes(log).find("training lenet5") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid, sig);
    const Exit e = wait_for(pid);
    const std::string output = read_bytes(log);
    if (e.exited && e.code == 0) {  // finished before the signal came: nothing to check
      std::printf("the run finished before signal %d\n", sig);
      continue;
    }
    ASSERT_TRUE(e.exited) << "killed by signal " << e.code << ": " << output;
    EXPECT_EQ(e.code, 128 + sig);  // 143 for SIGTERM, 130 for SIGINT, as if the signal had killed it
    EXPECT_NE(
        output.find(sig == SIGTERM ? "terminated (SIGTERM): training stopped at " : "interrupted (SIGINT): "),
        std::string::npos)
        << output;
    EXPECT_NE(output.find("checkpoint saved to " + ckpt), std::string::npos) << output;
    EXPECT_NE(output.find("run the same command with --resume"), std::string::npos) << output;
    EXPECT_FALSE(fs::exists(out));
    const Result resumed = run_lenet(with(run, {"--resume"}));
    ASSERT_TRUE(resumed.exit.exited && resumed.exit.code == 0) << resumed.output;
    EXPECT_NE(resumed.output.find("resuming from " + ckpt + " at "), std::string::npos) << resumed.output;
    EXPECT_TRUE(read_bytes(ref) == read_bytes(out)) << "signal " << sig;
  }
}

TEST(Resume, DivergenceStopsWithoutTouchingOut) {
  const TrainSetup s = setup();
  const std::string out = test::temp_path("diverged.bin"), ckpt = test::temp_path("diverged.ckpt");
  fs::remove(ckpt);
  { std::ofstream(out) << "an earlier model"; }
  std::vector<std::string> args = s.args;
  args.back() = "1e30";  // --lr
  const Result r = run_lenet(with(args, {"--out", out, "--checkpoint", ckpt}));
  EXPECT_TRUE(r.exit.exited && r.exit.code == 1) << r.output;
  EXPECT_NE(r.output.find("lenet: error: training diverged: at epoch 1, step "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("try a smaller --lr"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing was saved to " + out), std::string::npos) << r.output;
  EXPECT_EQ(read_bytes(out), "an earlier model");
}

TEST(Resume, ResumeIsRefusedWhenItCannotBeExact) {
  const TrainSetup s = setup();
  const std::string ckpt = test::temp_path("refuse.ckpt");
  fs::remove(ckpt);
  Result r = run_lenet(with(s.args, {"--checkpoint", ckpt, "--resume"}));
  EXPECT_EQ(r.exit.code, 1);
  EXPECT_NE(r.output.find("--resume: there is no checkpoint " + ckpt + " to resume from"), std::string::npos)
      << r.output;
  r = run_lenet(with(s.args, {"--resume"}));
  EXPECT_NE(r.output.find("--resume needs --checkpoint FILE"), std::string::npos) << r.output;
  r = run_lenet(with(s.args, {"--checkpoint", "/nonexistent/dir/run.ckpt"}));
  EXPECT_EQ(r.exit.code, 1);
  EXPECT_NE(r.output.find("--checkpoint /nonexistent/dir/run.ckpt: there is no directory /nonexistent/dir"),
            std::string::npos)
      << r.output;

  std::vector<std::string> one_epoch = s.args;
  one_epoch[4] = "1";  // --epochs
  r = run_lenet(with(one_epoch, {"--checkpoint", ckpt}));
  ASSERT_EQ(r.exit.code, 0) << r.output;
  r = run_lenet(with(one_epoch, {"--checkpoint", ckpt}));
  EXPECT_EQ(r.exit.code, 1);
  EXPECT_NE(r.output.find("checkpoint " + ckpt + " already exists: add --resume"), std::string::npos)
      << r.output;

  std::vector<std::string> other_batch = s.args;
  other_batch[6] = "16";  // --batch
  r = run_lenet(with(other_batch, {"--checkpoint", ckpt, "--resume"}));
  EXPECT_EQ(r.exit.code, 1);
  EXPECT_NE(r.output.find("cannot resume from " + ckpt +
                          ": the checkpoint was written by a different run (batch: "
                          "32 in the checkpoint, 16 here)"),
            std::string::npos)
      << r.output;
  r = run_lenet(with(s.args, {"--arch", "lenet5-1998", "--checkpoint", ckpt, "--resume"}));
  EXPECT_NE(r.output.find("it holds a lenet5 model, not --arch lenet5-1998"), std::string::npos) << r.output;
  // More epochs than the checkpoint's run is fine: it goes on.
  r = run_lenet(with(s.args, {"--checkpoint", ckpt, "--resume"}));
  EXPECT_EQ(r.exit.code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming from " + ckpt + " at the end of epoch 1"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lenet

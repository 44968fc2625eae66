// `lenet serve` against hostile and careless clients, on loopback: slow and idle connections, huge heads,
// many ranges, pipelining, bad lengths, escapes out of --web, control characters for the log, SIGTERM while
// clients trickle. Labelled `long` in CTest: the slow-client test takes about 8 s, by design.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "helpers/http_client.h"
#include "helpers/memory.h"
#include "helpers/paths.h"
#include "helpers/server_fixture.h"
#include "lenet/server.h"

namespace lenet {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Each test opens hundreds of sockets (both ends in this process).
void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

using test::connect_loopback;
using test::exchange;
using test::HttpAnswer;
using test::read_answer;
using test::send_all;

// True once the server has closed fd (end of stream or reset), waiting at most `ms`.
bool closed_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  const auto start = Clock::now();
  while (ms_since(start) < ms) {
    if (::poll(&p, 1, 50) > 0) {
      char c;
      const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
    }
  }
  return false;
}

std::string predict_request(bool keep_alive = true) {
  const std::string body = "{\"pixels\":[" + [] {
    std::string s;
    for (int i = 0; i < 784; ++i)
      s += std::string(i ? "," : "") + ((i % 28 == 14 && i / 28 > 4 && i / 28 < 24) ? "255" : "0");
    return s;
  }() + "]}";
  return "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         std::string(keep_alive ? "" : "Connection: close\r\n") +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kHealth = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

class ServerAbuseTest : public test::ServerFixture {
 protected:
  static void SetUpTestSuite() { raise_fd_limit(); }
  void start(ServerOptions o = {}) { start_server(std::move(o)); }
};

// The issue's first finding: 8 tricklers took the old server down. Here 256 trickle a header byte a second,
// 256 send nothing and 8 trickle a body, from 8 other addresses; a normal client is answered at once, and
// every stalled connection is dropped within 10 s.
TEST_F(ServerAbuseTest, SlowAndIdleClientsNeitherStopOthersNorStay) {
  start();
  const int kSlow = 256, kIdle = 256, kSlowBody = 8;
  struct Held {
    int fd;
    Clock::time_point opened;
    double closed_after_ms = -1;
  };
  std::vector<Held> held;
  for (int i = 0; i < kSlow + kIdle + kSlowBody; ++i) {
    const int fd = connect_loopback(port(), 1 + i % 8);
    ASSERT_GE(fd, 0) << "connection " << i << " refused";
    held.push_back({fd, Clock::now()});
  }
  for (int i = kSlow + kIdle; i < kSlow + kIdle + kSlowBody; ++i)  // heads complete, bodies never
    send_all(held[std::size_t(i)].fd,
             "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
             "Content-Length: 100000\r\n\r\n");
  std::atomic<bool> done{false};
  std::thread trickler([&] {
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (std::size_t k = 0; !done; ++k) {
      for (std::size_t i = 0; i < held.size(); ++i) {
        Held& h = held[i];
        if (h.closed_after_ms >= 0) continue;
        char c;
        const ssize_t n = ::recv(h.fd, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          h.closed_after_ms = ms_since(h.opened);
          continue;
        }
        const bool slow = i < std::size_t(kSlow) || i >= std::size_t(kSlow + kIdle);
        if (slow)
          ::send(h.fd, k < head.size() && i < std::size_t(kSlow) ? &head[k] : "a", 1,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      for (int t = 0; t < 10 && !done; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // A normal client while they are all open: fresh connections, /healthz and /api/predict alternately.
  std::vector<double> latencies;
  int bad = 0;
  const auto probe_start = Clock::now();
  while (ms_since(probe_start) < 4000) {
    for (const std::string& request : {kHealth, predict_request()}) {
      const auto t = Clock::now();
      const HttpAnswer a = exchange(port(), request);
      latencies.push_back(ms_since(t));
      bad += a.status != 200;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::sort(latencies.begin(), latencies.end());
  const double p99 = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  std::printf(
      "normal client with %d slow, %d idle and %d slow-body connections open: %zu requests, p50 %.1f ms, "
      "p99 %.1f ms, %d not 200\n",
      kSlow, kIdle, kSlowBody, latencies.size(), latencies[latencies.size() / 2], p99, bad);
  EXPECT_EQ(bad, 0);
  // ASan and UBSan slow the server's every step, not its waiting: a looser bound there.
  EXPECT_LE(p99, test::sanitizer_run() ? 400.0 : 100.0) << latencies.size() << " requests";

  // Wait for the drops: the head is due 5 s after the connection opened, the whole request 8 s after.
  while (ms_since(probe_start) < 11500 &&
         std::any_of(held.begin(), held.end(), [](const Held& h) { return h.closed_after_ms < 0; }))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  done = true;
  trickler.join();
  double longest = 0;
  int still_open = 0;
  for (const Held& h : held) {
    still_open += h.closed_after_ms < 0;
    longest = std::max(longest, h.closed_after_ms);
    ::close(h.fd);
  }
  EXPECT_EQ(still_open, 0);
  // The issue asks for 10 s; the server's 8 s leaves the margin a loaded machine needs.
  EXPECT_LE(longest, 10000.0) << "a stalled connection was held longer than 10 s";
  std::printf("stalled connections dropped after at most %.0f ms (%zu connections)\n", longest, held.size());
  EXPECT_EQ(exchange(port(), kHealth).status, 200);
}

// Nagle's algorithm against delayed ACK cost the old server 40 ms on every request after the first on a
// connection. The median of 40 requests is taken in up to three rounds and the best round kept: a busy
// machine can only make a round slower, while the 40 ms delay would slow every round.
TEST_F(ServerAbuseTest, RequestsOnAKeepAliveConnectionAreAnsweredAtOnce) {
  start();
  const double limit_ms = test::sanitizer_run() ? 30.0 : 5.0;
  double best_health = 1e9, best_predict = 1e9;
  for (int round = 0; round < 3 && (best_health > limit_ms || best_predict > limit_ms); ++round) {
    const int fd = connect_loopback(port());
    ASSERT_GE(fd, 0);
    std::string buffer;
    std::vector<double> health, predict;
    for (int i = 0; i < 41; ++i) {
      for (auto* list : {&health, &predict}) {
        const auto t = Clock::now();
        ASSERT_TRUE(send_all(fd, list == &health ? kHealth : predict_request()));
        const HttpAnswer a = read_answer(fd, buffer);
        ASSERT_EQ(a.status, 200) << a.head;
        if (i > 0) list->push_back(ms_since(t));  // the first may pay for the connection
      }
    }
    ::close(fd);
    for (auto* list : {&health, &predict}) std::sort(list->begin(), list->end());
    best_health = std::min(best_health, health[health.size() / 2]);
    best_predict = std::min(best_predict, predict[predict.size() / 2]);
  }
  std::printf("reused connection, median of the best round: /healthz %.2f ms, /api/predict %.2f ms\n",
              best_health, best_predict);
  EXPECT_LE(best_health, limit_ms) << "/healthz median on a reused connection";
  EXPECT_LE(best_predict, limit_ms) << "/api/predict median on a reused connection";
}

TEST_F(ServerAbuseTest, HostileRequestsGetTheRight4xxAndCostLittleMemory) {
  start();
  // 1,000,000 header lines (about 8 MB), sent while the server may already have answered and closed.
  {
    const int fd = connect_loopback(port());
    std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    std::string block;
    for (int i = 0; i < 10000; ++i) block += "X-A: b\r\n";
    send_all(fd, head);
    for (int i = 0; i < 100 && send_all(fd, block); ++i) {
    }
    send_all(fd, "\r\n");
    std::string buffer;
    const HttpAnswer a = read_answer(fd, buffer);
    // The server answers 431 and closes while the client still sends: the kernel may then reset the
    // connection before the answer is read.
    if (a.status != -1) {
      EXPECT_EQ(a.status, 431) << a.head;
    }
    ::close(fd);
  }
  // More header lines than allowed but within the memory for a head: 431 too.
  {
    std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 150; ++i) request += "X-" + std::to_string(i) + ": y\r\n";
    const HttpAnswer a = exchange(port(), request + "\r\n");
    EXPECT_EQ(a.status, 431) << a.head;
    EXPECT_NE(a.body.find("header lines"), std::string::npos) << a.body;
  }
  // 2,700 ranges: the whole page once, never 2,700 copies of it.
  {
    std::string ranges = "bytes=0-";
    for (int i = 0; i < 2700; ++i) ranges += ",0-";
    const HttpAnswer a =
        exchange(port(), "GET / HTTP/1.1\r\nHost: x\r\nRange: " + ranges.substr(0, 8000) + "\r\n\r\n");
    EXPECT_EQ(a.status, 200) << a.head;
    EXPECT_EQ(a.body, "<p>the page</p>");
  }
  // Pipelined POSTs with bodies well past any read buffer, and a GET behind them: each answered, in order.
  {
    const std::string request = predict_request();
    const std::size_t at = request.find('{');
    const std::string padded_body =
        request.substr(at) + std::string(20000, ' ');  // JSON allows trailing space
    const std::string padded = request.substr(0, request.find("Content-Length:")) +
                               "Content-Length: " + std::to_string(padded_body.size()) + "\r\n\r\n" +
                               padded_body;
    const int fd = connect_loopback(port());
    ASSERT_TRUE(send_all(fd, padded + padded + kHealth + padded));
    std::string buffer;
    for (int i = 0; i < 4; ++i) {
      const HttpAnswer a = read_answer(fd, buffer);
      ASSERT_EQ(a.status, 200) << "answer " << i << ": " << a.head << a.body;
      if (i == 2)
        EXPECT_EQ(a.body, R"({"status":"ok"})");
      else
        EXPECT_EQ(nlohmann::json::parse(a.body)["digit"], 1) << "answer " << i;
    }
    ::close(fd);
  }
  // Content-Length: twice, junk, both with chunked, missing.
  const std::string post = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  struct Case {
    std::string what, request;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"two lengths", post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
           {"two equal lengths", post + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400},
           {"junk length", post + "Content-Length: abc\r\n\r\n{}", 400},
           {"negative length", post + "Content-Length: -1\r\n\r\n{}", 400},
           {"length and chunked",
            post + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400},
       }) {
    const HttpAnswer a = exchange(port(), c.request);
    EXPECT_EQ(a.status, c.status) << c.what << ": " << a.head << a.body;
  }
  {
    const auto t = Clock::now();
    const HttpAnswer a = exchange(port(), post + "\r\n");
    EXPECT_EQ(a.status, 411) << a.head;
    EXPECT_LT(ms_since(t), 1000.0) << "411 at once, not after a timeout";
  }
  std::printf("peak RSS of the test process (server and clients): %ld kB\n", test::peak_rss_kb());
  EXPECT_LT(test::peak_rss_kb(), 100 * 1024) << "peak RSS of the whole test process, kB";
  EXPECT_EQ(exchange(port(), kHealth).status, 200);
  const HttpAnswer after = exchange(port(), predict_request());
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(nlohmann::json::parse(after.body)["digit"], 1);
}

// The refusals libmicrohttpd makes itself, before our code sees the request (docs/serving.md lists them:
// 0.9.75 has no way to give them our JSON): each its status and a closed connection; everything that reaches
// our code is JSON.
TEST_F(ServerAbuseTest, LibmicrohttpdsOwnAnswersAndOursAreTheDocumentedOnes) {
  start();
  const std::string post = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  struct Case {
    std::string what, request;
    int status;  // -1: closed without an answer
    bool ours;   // a JSON {"error", "status"} from our code, else libmicrohttpd's HTML and a close
  };
  for (const Case& c : std::vector<Case>{
           {"head over the pool",
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: " + std::string(40000, 'b') + "\r\n\r\n", 431, false},
           {"target over the pool", "GET /" + std::string(40000, 'A') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414,
            false},
           {"HTTP/2.0", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, false},
           {"header line without colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", 400, false},
           {"junk length", post + "Content-Length: abc\r\n\r\n{}", 400, false},
           {"negative length", post + "Content-Length: -1\r\n\r\n{}", 400, false},
           {"length beyond 64 bits", post + "Content-Length: 99999999999999999999999\r\n\r\n{}", 413, false},
           {"malformed chunk", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, false},
           {"garbage request line", "GARBAGE\r\n\r\n", -1, false},
           {"150 header lines",
            [] {
              std::string r = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
              for (int i = 0; i < 150; ++i) r += "X-" + std::to_string(i) + ": y\r\n";
              return r + "\r\n";
            }(),
            431, true},
           {"two lengths", post + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400, true},
           {"length and chunked",
            post + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400, true},
           {"no length", post + "\r\n", 411, true},
           {"NUL in the target", "GET /index.html%00.png HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
       }) {
    const HttpAnswer a = exchange(port(), c.request);
    EXPECT_EQ(a.status, c.status) << c.what << ": " << a.head;
    if (a.status < 0) continue;
    if (c.ours) {
      EXPECT_NE(a.head.find("Content-Type: application/json"), std::string::npos) << c.what << ": " << a.head;
      EXPECT_EQ(nlohmann::json::parse(a.body, nullptr, false).value("status", 0), c.status)
          << c.what << a.body;
    } else {
      EXPECT_NE(a.head.find("Connection: close"), std::string::npos) << c.what << ": " << a.head;
    }
  }
  EXPECT_EQ(exchange(port(), kHealth).status, 200);
}

TEST_F(ServerAbuseTest, WebDirectoryIsAJailAndTheLogIsEscaped) {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_path("web"), outside = test::temp_path("secret.txt");
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "index.html") << "<p>index</p>";
  std::ofstream(dir / "sub" / "page.js") << "let x = 1;";
  std::ofstream(outside) << "TOP-SECRET";
  fs::create_symlink(outside, dir / "leak.txt");
  fs::create_symlink("/etc", dir / "etc");
  fs::create_symlink("index.html", dir / "alias.html");  // a relative link that stays inside: fine
  ServerOptions o;
  o.web_dir = dir.string();
  start(o);
  const auto get = [&](const std::string& path) {
    return exchange(port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
  };
  EXPECT_EQ(get("/").body, "<p>index</p>");
  EXPECT_EQ(get("/sub/page.js").body, "let x = 1;");
  EXPECT_NE(get("/sub/page.js").head.find("text/javascript"), std::string::npos);
  EXPECT_EQ(get("/alias.html").status, 200);
  for (const std::string path : {"/leak.txt", "/etc/passwd", "/../secret.txt", "/sub/../../secret.txt",
                                 "/%2e%2e/secret.txt", "/sub"}) {
    const HttpAnswer a = get(path);
    EXPECT_EQ(a.status, 404) << path << ": " << a.body;
    EXPECT_EQ(a.body.find("TOP-SECRET"), std::string::npos) << path;
    EXPECT_EQ(a.body.find("root:"), std::string::npos) << path;
  }
  EXPECT_EQ(get("/index.html%00.png").status, 400);
  EXPECT_EQ(get("/index.html%zz").status, 400);

  get("/x%0a127.0.0.1%20GET%20/forged%20200%1b[31m");
  server_->stop();
  std::lock_guard<std::mutex> lock(log_mutex_);
  ASSERT_FALSE(log_.empty());
  const std::string& last = log_.back();
  EXPECT_NE(last.find("/x\\x0a127.0.0.1 GET /forged 200\\x1b[31m"), std::string::npos) << last;
  for (const std::string& line : log_)
    EXPECT_TRUE(std::none_of(line.begin(), line.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
        << line;
}

TEST_F(ServerAbuseTest, ConnectionsPerAddressAreCapped) {
  ServerOptions o;
  o.max_per_ip = 4;
  start(o);
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(connect_loopback(port(), 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int extra = connect_loopback(port(), 3);  // accepted by the kernel, closed by the server
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(closed_within(extra, 2000)) << "a fifth connection from one address";
  ::close(extra);
  EXPECT_EQ(exchange(port(), kHealth).status, 200) << "another address is served";
  for (int fd : fds) ::close(fd);
}

// `lenet serve` itself: SIGTERM while clients trickle, send bodies slowly and idle ends it within 2 s.
TEST(ServeCommand, SigtermWithTricklingClientsExitsWithin2Seconds) {
  raise_fd_limit();
  int err_pipe[2];
  ASSERT_EQ(::pipe(err_pipe), 0);
  const std::string program = test::binary_path("lenet"), model = test::source_path("models/lenet5.bin");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(err_pipe[1], 2);
    ::close(err_pipe[0]);
    ::execl(program.c_str(), program.c_str(), "serve", "--port", "0", "--model", model.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  std::string err;
  int port = 0;
  const auto t0 = Clock::now();
  while (port == 0 && ms_since(t0) < 20000) {
    char buf[512];
    pollfd p{err_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = ::read(err_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    err.append(buf, std::size_t(n));
    if (const std::size_t at = err.find("http://127.0.0.1:"); at != std::string::npos)
      port = std::atoi(err.c_str() + at + 17);
  }
  ASSERT_GT(port, 0) << err;
  std::vector<int> fds;
  for (int i = 0; i < 64; ++i) {
    const int fd = connect_loopback(port, 1 + i % 4);
    ASSERT_GE(fd, 0);
    if (i % 3 == 0) send_all(fd, "GET /healthz HTTP/1.1\r\nHo");
    if (i % 3 == 1) send_all(fd, "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 9999\r\n\r\n{");
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (int i = 0; i < 64; i += 3) send_all(fds[std::size_t(i)], "s");
  const auto killed = Clock::now();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 && ms_since(killed) < 5000)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const double took = ms_since(killed);
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  for (int fd : fds) ::close(fd);
  ::close(err_pipe[0]);
  std::printf("lenet serve exited %.0f ms after SIGTERM with 64 trickling, stalled and idle clients\n", took);
  EXPECT_EQ(done, pid) << "still running 5 s after SIGTERM";
  EXPECT_LE(took, 2000.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
}  // namespace lenet

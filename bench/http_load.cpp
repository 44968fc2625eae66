// Load and abuse test for `lenet serve`, loopback only: N keep-alive clients send requests as fast as they
// are answered, optionally while slow clients trickle one header byte a second and idle ones send nothing.
// Prints requests/s and p50/p99 latency; bounded in seconds and requests. Usage: http_load --help.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "helpers/http_client.h"  // tests/helpers: the server tests' client too

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 8080;
  int clients = 8;
  double seconds = 5;
  long max_requests = 200000;
  std::string endpoint = "predict";  // predict (a 28x28 JSON picture) or healthz
  int slow = 0;                      // connections that send one header byte a second
  int idle = 0;                      // connections that send nothing
  int attacker_addresses = 8;        // slow/idle ones come from 127.0.0.2 .. 127.0.0.(1+this)
};

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "http_load: %s\n", why);
  std::fprintf(
      stderr,
      "usage: http_load --port P [--clients N] [--seconds S] [--max-requests R]\n"
      "                 [--endpoint predict|healthz] [--slow N] [--idle N] [--attacker-addresses K]\n"
      "Loopback (127.0.0.1) only. Prints one line: clients, requests, errors, req/s, p50, p99, max.\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help") usage(nullptr);
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    char* end = nullptr;
    const double x = std::strtod(v, &end);
    if (a == "--endpoint") {
      o.endpoint = v;
      if (o.endpoint != "predict" && o.endpoint != "healthz") usage("--endpoint is predict or healthz");
      continue;
    }
    if (*end != '\0' || x < 0) usage((a + " needs a number >= 0, not '" + v + "'").c_str());
    if (a == "--port")
      o.port = int(x);
    else if (a == "--clients")
      o.clients = int(x);
    else if (a == "--seconds")
      o.seconds = std::min(x, 120.0);
    else if (a == "--max-requests")
      o.max_requests = long(x);
    else if (a == "--slow")
      o.slow = int(x);
    else if (a == "--idle")
      o.idle = int(x);
    else if (a == "--attacker-addresses")
      o.attacker_addresses = std::clamp(int(x), 1, 250);
    else
      usage(("unknown option " + a).c_str());
  }
  if (o.port <= 0 || o.port > 65535) usage("--port is 1..65535");
  if (o.clients < 1) usage("--clients is at least 1");
  return o;
}

std::string request_for(const std::string& endpoint) {
  if (endpoint == "healthz") return "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::string pixels;  // a vertical stroke: a "1"
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      pixels +=
          std::string(pixels.empty() ? "" : ",") + ((x >= 13 && x <= 15 && y >= 4 && y <= 23) ? "255" : "0");
  const std::string body = "{\"pixels\":[" + pixels + "]}";
  return "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
         "application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Totals {
  std::mutex mutex;
  std::vector<double> latencies_ms;
  long errors = 0;
};

// Keeps `count` connections open from attacker addresses, reopening any the server closes; slow ones send
// a never-ending request head one byte a second.
void abuse(const Options& o, int count, bool slow, const std::atomic<bool>& done,
           std::atomic<long>& reopened) {
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::vector<int> fds(std::size_t(count), -1);
  std::vector<std::size_t> sent(std::size_t(count), 0);
  while (!done) {
    for (int i = 0; i < count && !done; ++i) {
      int& fd = fds[std::size_t(i)];
      if (fd >= 0) {
        char c;
        if (::recv(fd, &c, 1, MSG_DONTWAIT) == 0 ||
            (slow &&
             ::send(fd, slow && sent[std::size_t(i)] < head.size() ? &head[sent[std::size_t(i)]] : "a", 1,
                    MSG_NOSIGNAL | MSG_DONTWAIT) < 0)) {
          ::close(fd);
          fd = -1;
          ++reopened;
        } else {
          ++sent[std::size_t(i)];
        }
      }
      if (fd < 0) {
        fd = lenet::test::connect_loopback(o.port, 1 + i % o.attacker_addresses);
        sent[std::size_t(i)] = 0;
      }
    }
    for (int t = 0; t < 10 && !done; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  std::atomic<bool> abuse_done{false};
  std::atomic<long> reopened{0};
  std::vector<std::thread> abusers;
  if (o.slow > 0)
    abusers.emplace_back(abuse, std::cref(o), o.slow, true, std::cref(abuse_done), std::ref(reopened));
  if (o.idle > 0)
    abusers.emplace_back(abuse, std::cref(o), o.idle, false, std::cref(abuse_done), std::ref(reopened));
  if (!abusers.empty()) std::this_thread::sleep_for(std::chrono::seconds(2));  // let them settle in

  const std::string request = request_for(o.endpoint);
  Totals totals;
  std::atomic<long> issued{0};
  const auto stop_at = Clock::now() + std::chrono::duration<double>(o.seconds);
  const auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < o.clients; ++c)
    clients.emplace_back([&] {
      std::vector<double> mine;
      long errors = 0;
      int fd = -1;
      std::string buffer;
      while (Clock::now() < stop_at && issued++ < o.max_requests) {
        if (fd < 0) {
          fd = lenet::test::connect_loopback(o.port);
          buffer.clear();
          if (fd < 0) {
            ++errors;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
          }
        }
        const auto start = Clock::now();
        const bool ok =
            lenet::test::send_all(fd, request) && lenet::test::read_answer(fd, buffer).status == 200;
        if (ok) {
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        } else {
          ++errors;
          ::close(fd);
          fd = -1;
        }
      }
      if (fd >= 0) ::close(fd);
      std::lock_guard<std::mutex> lock(totals.mutex);
      totals.latencies_ms.insert(totals.latencies_ms.end(), mine.begin(), mine.end());
      totals.errors += errors;
    });
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  abuse_done = true;
  for (auto& t : abusers) t.join();

  std::vector<double>& l = totals.latencies_ms;
  std::sort(l.begin(), l.end());
  const auto pct = [&](double p) {
    return l.empty() ? 0.0 : l[std::min(l.size() - 1, std::size_t(p * double(l.size())))];
  };
  std::printf(
      "endpoint=%s clients=%d slow=%d idle=%d requests=%zu errors=%ld seconds=%.1f req/s=%.0f p50=%.2fms "
      "p99=%.2fms max=%.2fms abusive_reconnects=%ld\n",
      o.endpoint.c_str(), o.clients, o.slow, o.idle, l.size(), totals.errors, elapsed,
      double(l.size()) / elapsed, pct(0.50), pct(0.99), l.empty() ? 0.0 : l.back(), reopened.load());
  return l.empty() ? 1 : 0;
}

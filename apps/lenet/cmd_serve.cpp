// `lenet serve`: the web demo (draw a digit, watch LeNet-5 read it) and its JSON API, on one port until
// Ctrl-C; one log line per request on stderr.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "commands.h"
#include "lenet/lenet5_io.h"
#include "lenet/server.h"
#include "paths.h"
#include "precision.h"
#include "web_files.h"

namespace lenet::app {

namespace {

struct ServeOptions {
  std::string model;     // empty: the shipped model, found beside the program
  ServerOptions server;  // the options below are the library's own fields, with its defaults
};

std::vector<StaticFile> page_files() {
  std::vector<StaticFile> files;
  for (const EmbeddedFile& f : web_files()) {
    const std::string body(reinterpret_cast<const char*>(f.data), f.size);
    files.push_back({"/" + std::string(f.name), content_type_for(f.name), body});
    if (std::string(f.name) == "index.html") files.push_back({"/", content_type_for(f.name), body});
  }
  return files;
}

// "2024-05-01 12:00:00.123"
std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const int ms =
      int(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

// Each connection is a file descriptor: the soft limit (often 1024) is raised towards the hard one so that
// --max-connections, not the limit, decides when connections are refused.
void raise_open_file_limit(int connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t want = rlim_t(connections) + 64;
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = std::min(want, limit.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

void run_serve(const ServeOptions& o) {
  const std::string model_path = resolve_model_path(o.model);
  const LoadedModel loaded = load_lenet5(model_path);
  ServerOptions so = o.server;
  raise_open_file_limit(so.max_connections);
  so.files = page_files();
  so.model_name = model_path;
  const std::optional<Int8Lenet5> int8 = int8_network(loaded, model_path, so.precision);
  if (int8) so.make_classifier = [&] { return make_classifier(loaded.model, 32, int8); };
  so.log = [](const std::string& line) {
    std::fprintf(stderr, "%s %s\n", timestamp().c_str(), line.c_str());
  };

  // Ctrl-C and SIGTERM are taken by sigwait below, so they must be blocked before any server thread
  // exists (threads inherit the mask) and the server can be stopped from an ordinary thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  DigitServer server(loaded, so);
  server.start();
  const std::string host = so.host.find(':') != std::string::npos ? "[" + so.host + "]" : so.host;
  std::fprintf(stderr,
               "lenet serve: listening on http://%s:%d/ (model %s, %s, %s, %d threads); Ctrl-C stops\n",
               host.c_str(), server.port(), model_path.c_str(),
               std::string(arch_name(loaded.model.arch())).c_str(), so.precision.c_str(), so.threads);
  if (so.host != "127.0.0.1" && so.host != "localhost" && so.host != "::1")
    std::fprintf(stderr, "lenet serve: note: %s is not loopback; anyone who can reach it can use the demo\n",
                 so.host.c_str());
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "lenet serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
  server.stop();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the web demo (draw a digit, watch LeNet-5 read it) and its JSON API");
  cmd->add_option("--model", o->model, kModelHelp);
  add_precision_option(cmd, o->server.precision);
  cmd->add_option("--host", o->server.host, "Address to listen on (127.0.0.1: this machine only)")
      ->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port (0: any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", o->server.threads, "Requests classified at once (worker threads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-body", o->server.max_body_bytes, "Largest request body in bytes (larger: 413)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 30));
  cmd->add_option("--max-connections", o->server.max_connections, "Open connections in all (more: refused)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--max-per-ip", o->server.max_per_ip,
                  "Open connections from one client address (more: refused)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--web", o->server.web_dir,
                  "Serve the page from this directory instead of the built-in copy");
  cmd->callback([o] { run_serve(*o); });
}

}  // namespace lenet::app

// The web demo's HTTP server on libmicrohttpd: connection policing (head and body deadlines, caps, strict
// lengths), request checking, a bounded pool of workers that run the network, JSON answers, one log line
// each.
#include "lenet/server.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <thread>

#include "lenet/classify.h"
#include "lenet/image.h"
#include "lenet/segment.h"
#include "lenet/server_http.h"

namespace lenet {

using namespace http;  // NOLINT: this file is the server loop over http::Request

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kListenBacklog = 1024;      // the kernel caps it at net.core.somaxconn (4096 by default)
constexpr int kWatchdogPeriodMs = 200;    // how often deadlines are checked
constexpr std::size_t kMaxQueued = 4096;  // pictures waiting for a worker; beyond: 503

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

// Where a connection is in its current request; the watchdog enforces the deadline of each phase.
enum class Phase { Head, Body, Working, Answering };

// One TCP connection (libmicrohttpd's socket context): its socket, phase and the request it carries.
struct Connection {
  int fd = -1;
  std::string address;
  Phase phase = Phase::Head;
  Clock::time_point since = Clock::now();
  bool dropped = false;  // shut down by the watchdog
  std::string raw_uri;   // as sent, before libmicrohttpd unescapes it
  std::unique_ptr<Request> request;
};

MHD_Result scan_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* s = static_cast<HeaderScan*>(cls);
  ++s->count;
  if (strcasecmp(key, "Content-Length") == 0) {
    ++s->content_lengths;
    s->content_length = value ? value : "";
  } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
    s->transfer_encoding = value ? value : "";
  }
  return MHD_YES;
}

}  // namespace

struct DigitServer::Impl {
  Impl(const LoadedModel& loaded, ServerOptions o) : model(loaded.model), options(std::move(o)) {
    info = {{"arch", std::string(arch_name(model.arch()))},
            {"parameters", model.parameter_count()},
            {"input", {1, kInputSide, kInputSide}},
            {"model", options.model_name},
            {"precision", options.precision},
            {"config", loaded.config}};
    if (loaded.config.contains("test_accuracy")) info["test_accuracy"] = loaded.config["test_accuracy"];
    for (const LayerInfo& l : model.layers()) {
      info["layers"].push_back({{"name", l.name},
                                {"description", l.description},
                                {"output", l.output},
                                {"parameters", l.parameters},
                                {"multiply_adds", l.connections}});
      if (l.name == "C1" || l.name == "S2" || l.name == "C3" || l.name == "S4") map_layers.push_back(l);
    }
    info_body =
        info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // name need not be UTF-8
  }

  // ---- the endpoints that run the network (on a worker thread) ----

  void predict(DigitClassifier& classifier, Request& req) {
    const std::string type = media_type(req.content_type);
    PixelRequest r;
    if (type == "application/json") {
      r = parse_pixel_request(req.body);
      r.maps = r.maps || query_flag(req, "maps");
    } else if (is_image_type(type)) {
      r.maps = query_flag(req, "maps");
      r.image = preprocess_digit(decode_upload(req.body, options.max_image_pixels));
    } else {
      throw HttpError(
          415, "unsupported Content-Type '" + type +
                   "': send an image (image/png, image/jpeg, ...) or application/json {\"pixels\": [...]}");
    }
    const DigitGuess g = classifier.classify(r.image);
    nlohmann::json j = guess_json(g);
    j["input"] = image_json(r.image);
    if (r.maps && options.make_classifier) {
      DigitClassifier fp32(model, 1);
      fp32.classify(r.image);
      j["maps"] = feature_maps_json(map_layers, fp32.activations());
    } else if (r.maps) {
      j["maps"] = feature_maps_json(map_layers, classifier.activations());
    }
    req.answer = j.dump();
  }

  void read(DigitClassifier& classifier, Request& req) {
    const std::string type = media_type(req.content_type);
    if (!is_image_type(type))
      throw HttpError(415,
                      "unsupported Content-Type '" + type + "': send an image (image/png, image/jpeg, ...)");
    ReadOptions ro;
    if (req.has_param("reject")) {
      const std::string v = req.param("reject");
      char* end = nullptr;
      ro.reject_below = std::strtof(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(ro.reject_below >= 0 && ro.reject_below <= 1))
        throw HttpError(400, "query parameter reject must be a number in 0..1, not '" + v + "'");
    }
    const GreyImage grey = decode_upload(req.body, options.max_image_pixels);
    const Reading reading = read_number(classifier, grey, ro);
    nlohmann::json digits = nlohmann::json::array();
    for (const ReadDigit& d : reading.digits) {
      nlohmann::json j = guess_json(d.guess);
      j["box"] = {{"x", d.box.x}, {"y", d.box.y}, {"w", d.box.w}, {"h", d.box.h}};
      j["input"] = image_json(d.input);
      digits.push_back(std::move(j));
    }
    req.answer = nlohmann::json{
        {"text", reading.text},
        {"width", grey.width},
        {"height", grey.height},
        {"digits",
         digits}}.dump();
  }

  // Runs one request's endpoint; every failure becomes a JSON error (the one place exceptions map to codes).
  void run(DigitClassifier& classifier, Request& req) {
    const double cpu0 = thread_cpu_ms();
    try {
      req.status = 200;
      if (req.too_large)
        throw HttpError(413, "request body larger than the limit of " +
                                 std::to_string(options.max_body_bytes) + " bytes");
      if (req.path == "/api/predict")
        predict(classifier, req);
      else
        read(classifier, req);
    } catch (const HttpError& e) {
      req.fail(e.status, e.what());
    } catch (const ImageError& e) {
      req.fail(422, e.what());
    } catch (const std::bad_alloc&) {
      req.fail(503, "out of memory");
    } catch (const std::exception& e) {
      req.fail(500, std::string("internal error: ") + e.what());
    } catch (...) {
      req.fail(500, "internal error");
    }
    req.cpu_ms = thread_cpu_ms() - cpu0;
    req.body.clear();
    req.body.shrink_to_fit();
  }

  // ---- workers ----

  struct Job {
    MHD_Connection* connection;
    Request* request;
  };

  void worker_loop() {
    DigitClassifier classifier = options.make_classifier ? options.make_classifier() : DigitClassifier(model);
    for (;;) {
      Job job{};
      {
        std::unique_lock<std::mutex> lock(jobs_mutex);
        jobs_cv.wait(lock, [&] { return stopping_workers || !jobs.empty(); });
        if (stopping_workers) return;  // stop() answers what is left
        job = jobs.front();
        jobs.pop_front();
      }
      run(classifier, *job.request);
      job.request->answered = true;
      MHD_resume_connection(job.connection);
    }
  }

  // ---- the event loop's side: routing and answers that cost nothing ----

  MHD_Result send(MHD_Connection* connection, Connection* conn, Request& req) {
    MHD_Response* response =
        MHD_create_response_from_buffer(req.answer.size(), req.answer.data(), MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    finish(connection, conn, req, response);
    return queue(connection, conn, req, response);
  }

  void finish(MHD_Connection*, Connection*, Request& req, MHD_Response* response) {
    MHD_add_response_header(response, "Content-Type", req.answer_type.c_str());
    for (const auto& [k, v] : req.headers) MHD_add_response_header(response, k.c_str(), v.c_str());
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - req.start).count();
    std::string timing = "app;dur=" + format_ms(ms);
    if (req.cpu_ms >= 0) timing += ", cpu;dur=" + format_ms(req.cpu_ms);
    MHD_add_response_header(response, "Server-Timing", timing.c_str());
  }

  MHD_Result queue(MHD_Connection* connection, Connection* conn, Request& req, MHD_Response* response,
                   std::size_t size = std::size_t(-1)) {
    const MHD_Result ok = MHD_queue_response(connection, unsigned(req.status), response);
    MHD_destroy_response(response);
    if (conn) {
      std::lock_guard<std::mutex> lock(conns_mutex);
      conn->phase = Phase::Answering;
      conn->since = Clock::now();
    }
    if (options.log) {
      // "127.0.0.1 POST /api/predict 200 5120B 3.2ms"
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - req.start).count();
      std::string line = conn ? conn->address : std::string("-");
      for (const std::string& field :
           {log_escape(req.method), log_escape(req.path), std::to_string(req.status)})
        line.append(" ").append(field.empty() ? "-" : field);
      line.append(" ")
          .append(std::to_string(size == std::size_t(-1) ? req.answer.size() : size))
          .append("B ")
          .append(format_ms(ms))
          .append("ms");
      options.log(line);
    }
    return ok;
  }

  // A file of the page: built in, or from --web, opened beneath the directory (no symlink or ".." out).
  MHD_Result serve_file(MHD_Connection* connection, Connection* conn, Request& req) {
    static const std::vector<std::pair<std::string, std::string>> page_headers = {
        {"Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:"},
        {"X-Content-Type-Options", "nosniff"},
        {"Cache-Control", "no-cache"}};
    if (web_dir_fd < 0) {
      for (const StaticFile& f : options.files)
        if (f.path == req.path) {
          req.answer = f.body;
          req.answer_type = f.content_type;
          req.headers = page_headers;
          return send(connection, conn, req);
        }
      req.fail(404, "no such resource: " + req.method + " " + req.path);
      return send(connection, conn, req);
    }
    std::string rel = req.path.substr(1);
    if (rel.empty() || rel.back() == '/') rel += "index.html";
    const int fd = open_beneath(rel);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) ::close(fd);
      req.fail(404, "no such resource: " + req.method + " " + req.path);
      return send(connection, conn, req);
    }
    MHD_Response* response = MHD_create_response_from_fd(std::uint64_t(st.st_size), fd);  // closes fd
    if (!response) {
      ::close(fd);
      return MHD_NO;
    }
    req.answer_type = content_type_for(rel);
    req.headers = page_headers;
    finish(connection, conn, req, response);
    return queue(connection, conn, req, response, std::size_t(st.st_size));
  }

  // openat2 with RESOLVE_BENEATH: the kernel refuses any path (symlinks and ".." included) that leaves the
  // directory, with no window between a check and the open.
  int open_beneath(const std::string& rel) const {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, web_dir_fd, rel.c_str(), &how, sizeof how);
    return fd < 0 ? -1 : int(fd);
  }

  MHD_Result route_cheap(MHD_Connection* connection, Connection* conn, Request& req) {
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (req.path == "/api/predict" || req.path == "/api/read") {
      req.headers.push_back({"Allow", "POST"});
      req.fail(405, req.path + " takes POST");
    } else if (get && req.path == "/healthz") {
      req.answer = R"({"status":"ok"})";
    } else if (get && req.path == "/api/model") {
      req.answer = info_body;
    } else if (get) {
      return serve_file(connection, conn, req);
    } else if (req.method != "POST") {
      req.headers.push_back({"Allow", "GET, HEAD, POST"});
      req.fail(405, "method " + req.method + " not allowed");
    } else {
      req.fail(404, "no such resource: " + req.method + " " + req.path);
    }
    return send(connection, conn, req);
  }

  Connection* connection_of(MHD_Connection* connection) {
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? static_cast<Connection*>(ci->socket_context) : nullptr;
  }

  MHD_Result handle(MHD_Connection* connection, const char* method, const char* upload_data,
                    std::size_t* upload_data_size, void** con_cls) {
    Connection* conn = connection_of(connection);
    auto* req = static_cast<Request*>(*con_cls);
    if (!req) {  // the head has arrived: check it
      auto owned = std::make_unique<Request>();
      req = owned.get();
      *con_cls = req;
      req->method = method;
      req->buffered = &buffered_bytes;
      if (conn) {
        std::lock_guard<std::mutex> lock(conns_mutex);
        conn->phase = Phase::Body;
        conn->since = Clock::now();
        conn->request = std::move(owned);
      } else {
        orphan_requests.push_back(std::move(owned));  // never expected; freed with the server
      }
      try {
        parse_target(*req, conn ? std::string_view(conn->raw_uri) : std::string_view("/"));
        HeaderScan h;
        MHD_get_connection_values(connection, MHD_HEADER_KIND, scan_header, &h);
        check_framing(h, *req, options.max_headers, options.max_body_bytes);
        const char* type = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Type");
        req->content_type = type ? type : "";
      } catch (const HttpError& e) {
        req->fail(e.status, e.what());
        return send(connection, conn, *req);  // libmicrohttpd closes the connection if a body is unread
      }
      // Answered once the request is whole, never from here: an answer queued before libmicrohttpd has
      // read the (possibly empty) body closes the connection, which would end every keep-alive.
      req->wants_body = req->method == "POST" && (req->path == "/api/predict" || req->path == "/api/read");
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      const std::size_t n = *upload_data_size;
      *upload_data_size = 0;
      if (!req->wants_body || req->too_large) return MHD_YES;  // a body nobody reads: dropped
      if (n > options.max_body_bytes - req->body.size()) {
        req->too_large = true;  // chunked: read on and answer 413 at the end
        req->body = std::string();
        return MHD_YES;
      }
      if (buffered_bytes + n > options.max_buffered_bytes) return MHD_NO;  // memory for bodies is out: close
      buffered_bytes += n;
      req->accounted += n;
      req->body.append(upload_data, n);
      return MHD_YES;
    }
    if (!req->wants_body) return route_cheap(connection, conn, *req);
    if (req->answered) return send(connection, conn, *req);
    if (req->queued) return MHD_YES;  // spurious call while suspended
    {
      std::lock_guard<std::mutex> lock(jobs_mutex);
      if (jobs.size() >= kMaxQueued || stopping_workers) {
        req->fail(503, "the server is busy; try again");
        req->headers.push_back({"Retry-After", "1"});
        return send(connection, conn, *req);
      }
      jobs.push_back({connection, req});
      req->queued = true;
    }
    if (conn) {
      std::lock_guard<std::mutex> lock(conns_mutex);
      conn->phase = Phase::Working;
    }
    MHD_suspend_connection(connection);
    jobs_cv.notify_one();
    return MHD_YES;
  }

  // ---- connection bookkeeping and the watchdog ----

  void connection_event(MHD_Connection* connection, void** socket_context,
                        MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      auto* conn = new Connection();
      if (const MHD_ConnectionInfo* ci =
              MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD))
        conn->fd = ci->connect_fd;
      if (const MHD_ConnectionInfo* ci =
              MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS))
        conn->address = address_text(ci->client_addr);
      // Answers go out as soon as they are written: without this a keep-alive client waits ~40 ms for
      // each (Nagle's algorithm against the client's delayed ACK).
      const int yes = 1;
      if (conn->fd >= 0) ::setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      std::lock_guard<std::mutex> lock(conns_mutex);
      conns.insert(conn);
      *socket_context = conn;
    } else {
      auto* conn = static_cast<Connection*>(*socket_context);
      if (!conn) return;
      {
        // Removed before libmicrohttpd closes the socket, so the watchdog never shuts down a reused fd.
        std::lock_guard<std::mutex> lock(conns_mutex);
        conns.erase(conn);
      }
      delete conn;
      *socket_context = nullptr;
    }
  }

  void request_completed(MHD_Connection* connection, void** con_cls) {
    Connection* conn = connection_of(connection);
    if (!conn) return;
    std::lock_guard<std::mutex> lock(conns_mutex);
    if (conn->request.get() == *con_cls) conn->request.reset();
    *con_cls = nullptr;
    conn->phase = Phase::Head;
    conn->since = Clock::now();
  }

  static std::string address_text(const sockaddr* sa) {
    char host[NI_MAXHOST] = "-";
    if (sa)
      ::getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in), host,
                    sizeof host, nullptr, 0, NI_NUMERICHOST);
    return host;
  }

  // libmicrohttpd's own timeout counts idle time only, so a client that sends one byte a second would hold
  // its connection for ever: this thread shuts down any connection whose head or body is overdue.
  void watchdog_loop() {
    std::unique_lock<std::mutex> lock(watchdog_mutex);
    while (
        !watchdog_cv.wait_for(lock, std::chrono::milliseconds(kWatchdogPeriodMs), [&] { return stopping; })) {
      const auto now = Clock::now();
      std::lock_guard<std::mutex> conns_lock(conns_mutex);
      for (Connection* c : conns) {
        const int limit_ms = c->phase == Phase::Head   ? options.head_timeout_ms
                             : c->phase == Phase::Body ? options.body_timeout_ms
                                                       : -1;
        if (limit_ms < 0 || c->dropped || c->fd < 0) continue;
        if (now - c->since > std::chrono::milliseconds(limit_ms)) {
          ::shutdown(c->fd, SHUT_RDWR);  // libmicrohttpd sees the end of the stream and closes it
          c->dropped = true;
        }
      }
    }
  }

  // ---- start and stop ----

  void start() {
    if (!options.web_dir.empty()) {
      web_dir_fd = ::open(options.web_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (web_dir_fd < 0)
        throw ServerError("web directory " + options.web_dir + " cannot be opened: " + std::strerror(errno));
    }
    const int fd = open_listen_socket(options.host, options.port, kListenBacklog, family, bound_port);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    if (family == AF_INET6) flags |= MHD_USE_IPv6;
    daemon =
        MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::on_request, this,                            //
                         MHD_OPTION_LISTEN_SOCKET, fd,                                                   //
                         MHD_OPTION_CONNECTION_LIMIT, unsigned(std::max(1, options.max_connections)),    //
                         MHD_OPTION_PER_IP_CONNECTION_LIMIT, unsigned(std::max(1, options.max_per_ip)),  //
                         MHD_OPTION_CONNECTION_TIMEOUT, unsigned(std::max(1, options.idle_timeout_s)),   //
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, std::size_t(options.header_memory_bytes),   //
                         MHD_OPTION_URI_LOG_CALLBACK, &Impl::on_uri, this,                               //
                         MHD_OPTION_NOTIFY_CONNECTION, &Impl::on_connection, this,                       //
                         MHD_OPTION_NOTIFY_COMPLETED, &Impl::on_completed, this,                         //
                         MHD_OPTION_END);
    if (!daemon) {
      ::close(fd);
      throw ServerError("cannot serve on " + options.host + ":" + std::to_string(bound_port) +
                        ": libmicrohttpd did not start");
    }
    listen_fd = fd;
    for (int i = 0; i < std::max(1, options.threads); ++i) workers.emplace_back([this] { worker_loop(); });
    watchdog = std::thread([this] { watchdog_loop(); });
  }

  void stop() {
    if (!daemon) return;
    MHD_quiesce_daemon(daemon);  // no new connections from here on
    {
      std::lock_guard<std::mutex> lock(jobs_mutex);
      stopping_workers = true;
    }
    jobs_cv.notify_all();
    for (std::thread& t : workers) t.join();  // each finishes the picture it holds
    workers.clear();
    for (const Job& job : jobs) {  // the rest are answered 503, so that no connection stays suspended
      job.request->fail(503, "the server is stopping");
      job.request->answered = true;
      MHD_resume_connection(job.connection);
    }
    jobs.clear();
    {
      std::lock_guard<std::mutex> lock(watchdog_mutex);
      stopping = true;
    }
    watchdog_cv.notify_all();
    watchdog.join();
    MHD_stop_daemon(daemon);  // closes every connection, whatever its client is doing
    daemon = nullptr;
    ::close(listen_fd);
    listen_fd = -1;
    if (web_dir_fd >= 0) ::close(web_dir_fd);
    web_dir_fd = -1;
  }

  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char*, const char* method,
                               const char*, const char* upload_data, std::size_t* upload_data_size,
                               void** con_cls) {
    return static_cast<Impl*>(cls)->handle(connection, method, upload_data, upload_data_size, con_cls);
  }
  static void* on_uri(void* cls, const char* uri, MHD_Connection* connection) {
    Impl* self = static_cast<Impl*>(cls);
    if (Connection* conn = self->connection_of(connection)) conn->raw_uri = uri ? uri : "";
    return nullptr;
  }
  static void on_connection(void* cls, MHD_Connection* connection, void** socket_context,
                            MHD_ConnectionNotificationCode code) {
    static_cast<Impl*>(cls)->connection_event(connection, socket_context, code);
  }
  static void on_completed(void* cls, MHD_Connection* connection, void** con_cls,
                           MHD_RequestTerminationCode) {
    static_cast<Impl*>(cls)->request_completed(connection, con_cls);
  }

  const Lenet5& model;
  ServerOptions options;
  nlohmann::json info;
  std::string info_body;
  std::vector<LayerInfo> map_layers;

  MHD_Daemon* daemon = nullptr;
  int listen_fd = -1;
  int web_dir_fd = -1;
  int family = AF_INET;
  int bound_port = -1;
  std::atomic<std::size_t> buffered_bytes{0};
  std::vector<std::unique_ptr<Request>> orphan_requests;

  std::mutex conns_mutex;
  std::set<Connection*> conns;

  std::mutex jobs_mutex;
  std::condition_variable jobs_cv;
  std::deque<Job> jobs;
  bool stopping_workers = false;
  std::vector<std::thread> workers;

  std::mutex watchdog_mutex;
  std::condition_variable watchdog_cv;
  bool stopping = false;
  std::thread watchdog;
};

DigitServer::DigitServer(const LoadedModel& model, ServerOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(options))) {}

DigitServer::~DigitServer() { stop(); }

void DigitServer::start() {
  if (impl_->daemon) throw ServerError("server already started");
  impl_->start();
}

void DigitServer::stop() { impl_->stop(); }

int DigitServer::port() const { return impl_->bound_port; }

}  // namespace lenet

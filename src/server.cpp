// The web demo's HTTP server on libmicrohttpd: connection policing (head and body deadlines, caps, strict
// lengths), request checking, a bounded pool of workers that run the network, JSON answers, one log line
// each.
#include "lenet/server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "lenet/classify.h"
#include "lenet/server_api.h"
#include "lenet/server_http.h"

namespace lenet {

using namespace http;  // NOLINT: this file is the server loop over http::Request

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kListenBacklog = 1024;      // the kernel caps it at net.core.somaxconn (4096 by default)
constexpr int kWatchdogPeriodMs = 200;    // how often deadlines are checked
constexpr std::size_t kMaxQueued = 4096;  // pictures waiting for a worker; beyond: 503

// Where a connection is in its current request; the watchdog enforces the deadline of each phase.
enum class Phase { Head, Body, Working, Answering };

// One TCP connection (libmicrohttpd's socket context): its socket, phase and the request it carries.
struct Connection {
  int fd = -1;
  std::string address;
  Phase phase = Phase::Head;
  Clock::time_point request_start = Clock::now();  // connection opened, or the previous answer queued
  bool dropped = false;                            // shut down by the watchdog
  std::string raw_uri;                             // as sent, before libmicrohttpd unescapes it
  std::unique_ptr<Request> request;
};

MHD_Result scan_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<HeaderScan*>(cls)->add(key ? key : "", value ? value : "");
  return MHD_YES;
}

}  // namespace

struct DigitServer::Impl {
  Impl(const LoadedModel& loaded, ServerOptions o) : loaded_model(loaded), options(std::move(o)) {}

  // ---- workers ----

  struct Job {
    MHD_Connection* connection;
    Request* request;
  };

  void worker_loop() {
    DigitClassifier classifier =
        options.make_classifier ? options.make_classifier() : DigitClassifier(loaded_model.model);
    for (;;) {
      Job job{};
      {
        std::unique_lock<std::mutex> lock(jobs_mutex);
        jobs_cv.wait(lock, [&] { return stopping_workers || !jobs.empty(); });
        if (stopping_workers) return;  // stop() answers what is left
        job = jobs.front();
        jobs.pop_front();
      }
      api->run(classifier, *job.request);
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

  // A file of --web DIR, opened beneath it by the Api: sent from its descriptor.
  MHD_Result send_file(MHD_Connection* connection, Connection* conn, Request& req) {
    MHD_Response* response = MHD_create_response_from_fd(req.file_size, req.file_fd);
    if (!response) return MHD_NO;  // the Request still owns (and closes) the file
    req.file_fd = -1;              // libmicrohttpd closes it with the response
    finish(connection, conn, req, response);
    return queue(connection, conn, req, response, std::size_t(req.file_size));
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
      if (conn) {
        std::lock_guard<std::mutex> lock(conns_mutex);
        conn->phase = Phase::Body;  // its deadline still counts from the request's start
        conn->request = std::move(owned);
      } else {
        orphan_requests.push_back(std::move(owned));  // never expected; freed with the server
      }
      try {
        HeaderScan h;
        MHD_get_connection_values(connection, MHD_HEADER_KIND, scan_header, &h);
        api->begin(*req, method, conn ? std::string_view(conn->raw_uri) : std::string_view("/"), h);
      } catch (const HttpError& e) {
        req->fail(e.status, e.what());
        return send(connection, conn, *req);  // libmicrohttpd closes the connection if a body is unread
      }
      // Answered once the request is whole, never from here: an answer queued before libmicrohttpd has
      // read the (possibly empty) body closes the connection, which would end every keep-alive.
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      const std::string_view piece(upload_data, *upload_data_size);
      *upload_data_size = 0;
      return api->take_body(*req, piece) ? MHD_YES : MHD_NO;  // NO: memory for bodies is out: close
    }
    if (!req->wants_body) {
      api->route(*req);
      return req->file_fd >= 0 ? send_file(connection, conn, *req) : send(connection, conn, *req);
    }
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
    conn->request_start = Clock::now();
  }

  static std::string address_text(const sockaddr* sa) {
    char host[NI_MAXHOST] = "-";
    if (sa)
      ::getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in), host,
                    sizeof host, nullptr, 0, NI_NUMERICHOST);
    return host;
  }

  // libmicrohttpd's own timeout counts idle time only, so a client that sends one byte a second would hold
  // its connection for ever: this thread shuts down any connection whose head or whole request is overdue.
  // Both deadlines count from the request's start, so that no stalled client stays longer than
  // request_timeout_ms plus one period, however it splits its stalling between head and body.
  void watchdog_loop() {
    std::unique_lock<std::mutex> lock(watchdog_mutex);
    while (
        !watchdog_cv.wait_for(lock, std::chrono::milliseconds(kWatchdogPeriodMs), [&] { return stopping; })) {
      const auto now = Clock::now();
      std::lock_guard<std::mutex> conns_lock(conns_mutex);
      for (Connection* c : conns) {
        const int limit_ms = c->phase == Phase::Head   ? options.head_timeout_ms
                             : c->phase == Phase::Body ? options.request_timeout_ms
                                                       : -1;
        if (limit_ms < 0 || c->dropped || c->fd < 0) continue;
        if (now - c->request_start > std::chrono::milliseconds(limit_ms)) {
          ::shutdown(c->fd, SHUT_RDWR);  // libmicrohttpd sees the end of the stream and closes it
          c->dropped = true;
        }
      }
    }
  }

  // ---- start and stop ----

  void start() {
    api = std::make_unique<Api>(loaded_model, options);
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
    api.reset();
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

  const LoadedModel& loaded_model;
  ServerOptions options;
  std::unique_ptr<Api> api;  // from start() to stop()

  MHD_Daemon* daemon = nullptr;
  int listen_fd = -1;
  int family = AF_INET;
  int bound_port = -1;
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

// Everything lenet serve does with a client's bytes, as plain functions without sockets: a request head
// checked, its body taken, its answer made. DigitServer (server.cpp) drives them from libmicrohttpd;
// respond() drives them from one whole request, for the fuzzer (fuzz/fuzz_http) and the tests.
#pragma once
#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lenet/classify.h"
#include "lenet/lenet5_io.h"
#include "lenet/server_http.h"

namespace lenet::http {

// The endpoints over one model (never written) and the server's limits. begin/take_body/route are called
// from the event loop, run from workers (each with its own classifier); all may run at once.
class Api {
 public:
  // Opens options.web_dir if set: ServerError naming it if it cannot be opened.
  Api(const LoadedModel& model, ServerOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // The head has arrived: the target is decoded and the framing checked (HttpError 400, 411, 413, 431);
  // sets req.wants_body for the requests that run the network.
  void begin(Request& req, std::string_view method, std::string_view raw_target, const HeaderScan& head);
  // The next piece of the body. False when the memory for bodies, over all requests, is spent: the
  // connection should be closed. A body over max_body_bytes is dropped and answered 413 by run().
  bool take_body(Request& req, std::string_view piece);
  // The answer to a request that needs no network (req.wants_body false): /healthz, /api/model, the page,
  // 404 and 405. A file of --web DIR comes as req.file_fd (open, beneath DIR) and req.file_size.
  void route(Request& req) const;
  // /api/predict and /api/read, on the caller's classifier; every failure becomes a JSON error.
  void run(DigitClassifier& classifier, Request& req) const;

  const ServerOptions& options() const { return options_; }
  const Lenet5& model() const { return model_; }

 private:
  void predict(DigitClassifier& classifier, Request& req) const;
  void read(DigitClassifier& classifier, Request& req) const;
  void serve_file(Request& req) const;
  int open_beneath(const std::string& relative) const;

  const Lenet5& model_;
  ServerOptions options_;
  std::string info_body_;  // /api/model
  int web_dir_fd_ = -1;
  std::atomic<std::size_t> buffered_{0};  // body bytes held, over all requests
};

// An answer as the client would receive it; `closed`: the connection would be closed with no answer.
struct Response {
  int status = 0;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool closed = false;
};

// One whole request through begin, take_body (in pieces, as libmicrohttpd hands them over), and route or
// run, as DigitServer answers it once libmicrohttpd has read it off the connection.
Response respond(Api& api, DigitClassifier& classifier, std::string_view method, std::string_view target,
                 const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body);

}  // namespace lenet::http

// HTTP plumbing of lenet serve (server.h) that needs no server loop: its options and limits, one request as
// the handlers see it, target and framing checks, the endpoints' input parsing, the listening socket.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lenet/classify.h"
#include "lenet/image.h"
#include "lenet/server_json.h"

namespace lenet {

// The server could not start (address in use, bad host ...); the message names host and port.
struct ServerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file of the page, served with GET at `path` ("/" for the page itself).
struct StaticFile {
  std::string path;
  std::string content_type;
  std::string body;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                          // 0: any free port; DigitServer::port() says which
  int threads = 8;                          // requests classified at once (the network's worker threads)
  std::size_t max_body_bytes = 10u << 20;   // larger request bodies get 413
  long long max_image_pixels = 16'000'000;  // larger pictures get 413 before they are decoded
  int max_connections = 2048;               // open connections in all; more are refused at accept
  int max_per_ip = 256;                     // open connections from one client address
  int head_timeout_ms = 5000;               // request head complete within this (and keep-alive idle limit)
  int request_timeout_ms = 8000;            // head and body complete within this of the request's start
  int idle_timeout_s = 8;                   // no progress at all (e.g. a client not reading its answer)
  int max_headers = 100;                    // more header lines: 431
  std::size_t header_memory_bytes = 32 << 10;   // head larger than about this: 431 (414 for the URI)
  std::size_t max_buffered_bytes = 256u << 20;  // request bodies held at once, over all connections: 503
  std::vector<StaticFile> files;                // the page
  std::string web_dir;                          // if set, the page is served from this directory instead
  std::string model_name;                       // shown by /api/model, e.g. the model file's path
  std::string precision = "fp32";               // shown by /api/model
  // How each worker builds its classifier over the model (int8: quantize.h's int8_classifier); empty: fp32.
  // Feature maps (?maps) always come from the fp32 network, as the int8 one keeps only its scores.
  std::function<DigitClassifier()> make_classifier;
  std::function<void(const std::string&)> log;  // one line per request, from the server's threads
};

// The Content-Type the server gives a file of the page, from its name's extension.
std::string content_type_for(std::string_view file_name);

}  // namespace lenet

namespace lenet::http {

// A request the server refuses: status (4xx) and a message for the client.
struct HttpError : std::runtime_error {
  HttpError(int code, const std::string& message) : std::runtime_error(message), status(code) {}
  int status;
};

// One HTTP request: what was asked, its body, and the answer once there is one.
struct Request {
  std::string method, path, content_type;
  std::map<std::string, std::string> query;
  std::string body;
  std::size_t accounted = 0;  // body bytes counted against max_buffered_bytes
  std::atomic<std::size_t>* buffered = nullptr;
  bool wants_body = false;  // an API POST whose body is read
  bool too_large = false;   // a chunked body went over the limit: the rest is dropped
  bool queued = false;      // handed to a worker, connection suspended
  bool answered = false;    // a worker filled status/answer
  int status = 200;
  std::string answer, answer_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  int file_fd = -1;  // a file of --web DIR to send (owned: closed with the request unless taken)
  std::uint64_t file_size = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double cpu_ms = -1;

  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request();
  void fail(int code, const std::string& message) {
    status = code;
    answer = error_json(code, message);
    answer_type = "application/json";
  }
  std::string param(const std::string& name) const {
    const auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
  bool has_param(const std::string& name) const { return query.count(name) != 0; }
};

// What the framing checks need from a request's header lines, fed one line at a time.
struct HeaderScan {
  int count = 0;
  int content_lengths = 0;
  std::string content_length;
  std::string transfer_encoding;
  std::string content_type;  // the first one, as libmicrohttpd's lookup gives it
  bool has_content_type = false;

  void add(std::string_view name, std::string_view value);
};

// "Image/PNG; charset=x" -> "image/png"
std::string media_type(std::string type);
bool is_image_type(const std::string& type);
// %XX decoding ('+' as space in a query); a NUL or a broken escape is HttpError 400 naming `what`.
std::string percent_decode(std::string_view s, bool plus_is_space, const char* what);
// Control characters, '\' and non-ASCII bytes as \xHH: no forged log lines, no terminal escapes.
std::string log_escape(std::string_view s);
// The path and the query (names and values decoded) of a request target, into req.
void parse_target(Request& req, std::string_view raw);
// ?name=1|true|0|false (empty: true); anything else is HttpError 400.
bool query_flag(const Request& req, const char* name);
// Header count, Content-Length (one, decimal, within the body limit, not with Transfer-Encoding), 411 for a
// POST without a length: HttpError 431/400/413/411.
void check_framing(const HeaderScan& h, const Request& req, int max_headers, std::size_t max_body_bytes);

struct PixelRequest {
  MnistImage image{};
  bool maps = false;
};
// {"pixels": [784 numbers in 0..255], "maps": bool}; fractional values are rounded; errors are 400.
PixelRequest parse_pixel_request(const std::string& body);
// An uploaded picture, decoded; 400 if empty, 413 over max_pixels, ImageError if it does not decode.
GreyImage decode_upload(const std::string& body, long long max_pixels);

std::string format_ms(double ms);

// A listening socket on host:port (port 0: any), SO_REUSEADDR but not SO_REUSEPORT, with `backlog`; sets
// family and bound_port. Throws ServerError naming host:port.
int open_listen_socket(const std::string& host, int port, int backlog, int& family, int& bound_port);

}  // namespace lenet::http

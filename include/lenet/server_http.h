// HTTP plumbing of lenet serve (server.h) that needs no server loop: one request as the handlers see it,
// target and framing checks, JSON answers and errors, the endpoints' input parsing, the listening socket.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lenet/classify.h"
#include "lenet/image.h"

namespace lenet {

// The server could not start (address in use, bad host ...); the message names host and port.
struct ServerError : std::runtime_error {
  using std::runtime_error::runtime_error;
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

// {"error": message, "status": status}; bytes that are not UTF-8 become U+FFFD.
std::string error_json(int status, const std::string& message);

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
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double cpu_ms = -1;

  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request() {
    if (buffered) *buffered -= accounted;
  }
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

// What the framing checks need from a request's header lines.
struct HeaderScan {
  int count = 0;
  int content_lengths = 0;
  std::string content_length;
  std::string transfer_encoding;
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

nlohmann::json image_json(const MnistImage& image);
nlohmann::json guess_json(const DigitGuess& g);
// C1, S2, C3 and S4 of the sample in slot 0 of the activations, each scaled to 0..255 over its layer.
nlohmann::json feature_maps_json(const std::vector<LayerInfo>& map_layers, const Activations& a);
std::string format_ms(double ms);

// A listening socket on host:port (port 0: any), SO_REUSEADDR but not SO_REUSEPORT, with `backlog`; sets
// family and bound_port. Throws ServerError naming host:port.
int open_listen_socket(const std::string& host, int port, int backlog, int& family, int& bound_port);

}  // namespace lenet::http

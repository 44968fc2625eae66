// HTTP plumbing of lenet serve that needs no server loop: request targets and framing, JSON answers and
// errors, the endpoints' input parsing, the feature maps as JSON, the listening socket.
#include "lenet/server_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "lenet/segment.h"

namespace lenet {

namespace http {

Request::~Request() {
  if (buffered) *buffered -= accounted;
  if (file_fd >= 0) ::close(file_fd);
}

void HeaderScan::add(std::string_view name, std::string_view value) {
  const auto is = [&](std::string_view expected) {
    return name.size() == expected.size() && ::strncasecmp(name.data(), expected.data(), name.size()) == 0;
  };
  ++count;
  if (is("Content-Length")) {
    ++content_lengths;
    content_length = value;
  } else if (is("Transfer-Encoding")) {
    transfer_encoding = value;
  } else if (is("Content-Type") && !has_content_type) {
    content_type = value;
    has_content_type = true;
  }
}

// "Image/PNG; charset=x" -> "image/png"
std::string media_type(std::string t) {
  t = t.substr(0, t.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char ch) { return std::isspace(ch); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return t;
}

bool is_image_type(const std::string& type) {
  return type.rfind("image/", 0) == 0 || type == "application/octet-stream";
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// %XX decoding (and '+' as space in a query); a NUL, encoded or not, would let "/index.html%00.png" name
// another file than it seems to, so it is refused, as is a broken escape.
std::string percent_decode(std::string_view s, bool plus_is_space, const char* what) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      const int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw HttpError(400, std::string("bad %-escape in the ") + what);
      c = char(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') throw HttpError(400, std::string("NUL byte in the ") + what);
    out.push_back(c);
  }
  return out;
}

// Control characters, backslash and non-ASCII bytes as \xHH, so that a path cannot forge log lines or send
// escape sequences to the terminal that shows the log.
std::string log_escape(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

namespace {

constexpr int kMnistPixels = kMnistSide * kMnistSide;

// nlohmann's messages start with "[json.exception.parse_error.101] "; the client needs only the rest.
std::string json_message(const nlohmann::json::exception& e) {
  const std::string what = e.what();
  const std::size_t end = what.find("] ");
  return end == std::string::npos ? what : what.substr(end + 2);
}

}  // namespace

// {"pixels": [784 numbers in 0..255], "maps": bool}; fractional values are rounded.
PixelRequest parse_pixel_request(const std::string& body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw HttpError(400, "malformed JSON: " + json_message(e));
  }
  if (!j.is_object())
    throw HttpError(400, std::string("expected a JSON object {\"pixels\": [...]}, found ") + j.type_name());
  const auto pixels = j.find("pixels");
  if (pixels == j.end())
    throw HttpError(400, "missing field \"pixels\": 784 values 0..255 (28x28, row-major, ink high)");
  if (!pixels->is_array())
    throw HttpError(400, std::string("\"pixels\" must be an array, found ") + pixels->type_name());
  if (pixels->size() != std::size_t(kMnistPixels))
    throw HttpError(400, "\"pixels\": expected " + std::to_string(kMnistPixels) + " values (28x28), found " +
                             std::to_string(pixels->size()));
  PixelRequest r;
  for (int i = 0; i < kMnistPixels; ++i) {
    const nlohmann::json& v = (*pixels)[std::size_t(i)];
    const std::string where = "\"pixels\"[" + std::to_string(i) + "]";
    if (!v.is_number()) throw HttpError(400, where + ": expected a number, found " + v.type_name());
    const double x = v.get<double>();
    if (!std::isfinite(x)) throw HttpError(400, where + " is not a finite number");
    if (x < 0 || x > 255) throw HttpError(400, where + " = " + v.dump() + " is outside 0..255");
    r.image[std::size_t(i)] = std::uint8_t(std::lround(x));
  }
  if (const auto maps = j.find("maps"); maps != j.end()) {
    if (!maps->is_boolean())
      throw HttpError(400, std::string("\"maps\" must be true or false, found ") + maps->type_name());
    r.maps = maps->get<bool>();
  }
  return r;
}

GreyImage decode_upload(const std::string& body, long long max_pixels) {
  if (body.empty())
    throw HttpError(400, "empty body: expected a picture file (PNG, JPEG, WebP, TIFF, GIF, BMP, PGM/PPM)");
  try {
    // The decoders refuse a picture over max_pixels from its header, before allocating its pixels.
    return decode_grey_image(reinterpret_cast<const std::uint8_t*>(body.data()), body.size(),
                             "uploaded image", max_pixels);
  } catch (const ImageTooLarge& e) {
    throw HttpError(413, "picture of " + std::to_string(e.width) + "x" + std::to_string(e.height) +
                             " pixels is larger than this server's limit of " + std::to_string(max_pixels) +
                             " pixels");
  }
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

bool query_flag(const Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.param(name);
  if (v.empty() || v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  throw HttpError(400,
                  std::string("query parameter ") + name + " must be 1, true, 0 or false, not '" + v + "'");
}

// The path (decoded) and the query (each name and value decoded) of a request target.
void parse_target(Request& req, std::string_view raw) {
  const std::size_t q = raw.find('?');
  req.path = percent_decode(raw.substr(0, q), false, "path");
  if (q == std::string_view::npos) return;
  std::string_view query = raw.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      const std::string name = percent_decode(pair.substr(0, eq), true, "query");
      req.query[name] =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true, "query");
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// A request's framing, checked before anything else: anything ambiguous is refused, so that no two
// programs on the path can read a different request out of the same bytes.
void check_framing(const HeaderScan& h, const Request& req, int max_headers, std::size_t max_body_bytes) {
  if (h.count > max_headers)
    throw HttpError(431, std::to_string(h.count) + " header lines; this server takes at most " +
                             std::to_string(max_headers));
  if (h.content_lengths > 1) throw HttpError(400, "more than one Content-Length header");
  if (h.content_lengths == 1) {
    const std::string& v = h.content_length;
    if (v.empty() || v.size() > 18 ||
        !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }))
      throw HttpError(400, "Content-Length must be a decimal number of bytes, not '" + v + "'");
    if (!h.transfer_encoding.empty())
      throw HttpError(400, "both Content-Length and Transfer-Encoding: send one of them");
    if (std::stoull(v) > max_body_bytes)
      throw HttpError(413,
                      "request body larger than the limit of " + std::to_string(max_body_bytes) + " bytes");
  } else if (h.transfer_encoding.empty() && req.method == "POST") {
    throw HttpError(411, "POST needs a Content-Length header (or Transfer-Encoding: chunked)");
  }
}

// The listening socket, made here rather than by libmicrohttpd: one error message naming host:port, no
// SO_REUSEPORT (which would let a second server share a port in use without a word), our backlog.
int open_listen_socket(const std::string& host, int port, int backlog, int& family, int& bound_port) {
  const std::string where = host + ":" + std::to_string(port);
  if (port < 0 || port > 65535) throw ServerError("cannot listen on " + where + ": not a port number");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    throw ServerError("cannot listen on " + where + ": " + gai_strerror(rc));
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, backlog) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
      continue;
    }
    family = a->ai_family;
  }
  ::freeaddrinfo(found);
  if (fd < 0) throw ServerError("cannot listen on " + where + ": " + why);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace http

std::string content_type_for(std::string_view name) {
  const std::size_t dot = name.find_last_of('.');
  const std::string_view ext = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json") return "application/json";
  return "application/octet-stream";
}

}  // namespace lenet

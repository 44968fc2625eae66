// What each fuzz target does with one input, shared by the libFuzzer programs (fuzz/fuzz_<name>.cpp) and by
// tests/test_fuzz_corpus.cpp, which replays every committed seed and regression input in every test build.
#pragma once
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lenet/checkpoint.h"
#include "lenet/classify.h"
#include "lenet/idx.h"
#include "lenet/image.h"
#include "lenet/lenet5_io.h"
#include "lenet/model_file.h"
#include "lenet/segment.h"
#include "lenet/server.h"
#include "lenet/server_api.h"

// Each target catches only the error type its reader promises (DataError, ModelFileError, ...): anything
// else escaping, like a crash or a sanitizer report, is a bug the fuzzer reports.
namespace lenet::fuzz {

// The bytes as a data file, raw or gzipped: as idx1 labels and as idx3 images.
inline void idx(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = inflate_if_gzip(std::vector<std::uint8_t>(data, data + size), "fuzz-input");
  } catch (const DataError&) {
    return;
  }
  try {
    parse_idx1_labels(bytes.data(), bytes.size(), "fuzz-input");
  } catch (const DataError&) {
  }
  try {
    parse_idx3_images(bytes.data(), bytes.size(), "fuzz-input");
  } catch (const DataError&) {
  }
}

inline void model_file(const std::uint8_t* data, std::size_t size) {
  ModelFile f;
  try {
    f = parse_model(data, size, "fuzz-input");
  } catch (const ModelFileError&) {
    return;
  }
  try {
    lenet5_from_model_file(f, "fuzz-input");
  } catch (const ModelFileError&) {
  }
  try {
    checkpoint_from_model_file(std::move(f), "fuzz-input");
  } catch (const ModelFileError&) {
  }
}

// The bytes as a model file or checkpoint: once as they are, and once with the CRC-32 made to match, so
// that mutations of the header and tensors get past the checksum and reach the checks behind it.
inline void model(const std::uint8_t* data, std::size_t size) {
  model_file(data, size);
  constexpr std::size_t kTrailer = 12;  // CRC-32, "LENETEND"
  if (size < 16 + kTrailer) return;
  std::vector<std::uint8_t> fixed(data, data + size);
  const std::size_t payload_end = size - kTrailer;
  std::uint32_t crc = std::uint32_t(crc32(crc32(0L, Z_NULL, 0), fixed.data(), uInt(payload_end)));
  for (int i = 0; i < 4; ++i) fixed[payload_end + std::size_t(i)] = std::uint8_t(crc >> (8 * i));
  if (std::memcmp(fixed.data() + payload_end, data + payload_end, 4) != 0) model_file(fixed.data(), size);
}

// A fixed random LeNet-5: the readers' paths do not depend on the weights being any good.
inline const LoadedModel& random_model() {
  static const LoadedModel loaded = [] {
    LoadedModel l{Lenet5(Arch::Lenet5), nlohmann::json::object()};
    Rng rng(1);
    l.model.init(rng);
    return l;
  }();
  return loaded;
}

// The bytes as a picture sent to `lenet predict`/`read` or the server: decoded, preprocessed as one digit,
// and read as a row of digits (by a fixed random network: the cuts it chooses among still vary).
inline void image(const std::uint8_t* data, std::size_t size) {
  // Pictures are decoded up to the library's limits (40 Mpixel), but preprocessed only up to 1/4 Mpixel
  // here: larger ones take the same paths, more slowly than a fuzzer can afford.
  constexpr long long kMaxFuzzPixels = 1 << 18;
  GreyImage picture;
  try {
    picture = decode_grey_image(data, size, "fuzz-input");
  } catch (const ImageError&) {
    return;
  }
  // And decoded reduced, as lenet predict decodes (JPEG's DCT scaling), to a longer side of 8..263.
  try {
    decode_grey_image(data, size, "fuzz-input", kMaxImagePixels, 8 + data[size - 1]);
  } catch (const ImageError&) {
  }
  if (static_cast<long long>(picture.width) * picture.height > kMaxFuzzPixels) return;
  try {
    preprocess_digit(picture);
  } catch (const ImageError&) {
  }
  static DigitClassifier classifier(random_model().model);
  try {
    read_number(classifier, picture);
  } catch (const ImageError&) {
  }
}

// The server's limits in the fuzzers: pictures of at most 1/4 Mpixel (as above), bodies of at most 1 MB.
inline ServerOptions fuzz_server_options() {
  ServerOptions o;
  o.port = 0;
  o.threads = 4;
  o.max_body_bytes = 1 << 20;
  o.max_image_pixels = 1 << 18;
  o.files = {{"/", "text/html", "<!doctype html><title>lenet</title>"}};
  return o;
}

// One request as libmicrohttpd would hand it over, cut out of raw bytes with the leniency of a fuzz
// harness: the request line "METHOD TARGET ...", header lines "Name: value" up to an empty line (lines
// without a colon skipped), then the body: its Content-Length bytes if it has one valid length, de-chunked
// if chunked (as far as the chunks are well formed), else the rest.
struct RawRequest {
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

inline RawRequest split_request(std::string_view bytes) {
  RawRequest r;
  const auto next_line = [&bytes]() {
    const std::size_t end = bytes.find('\n');
    std::string_view line = bytes.substr(0, end);
    bytes.remove_prefix(end == std::string_view::npos ? bytes.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  const auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  std::string_view line = next_line();
  const std::size_t space = line.find(' ');
  r.method = line.substr(0, space);
  if (space != std::string_view::npos) {
    line.remove_prefix(space + 1);
    r.target = line.substr(0, line.find(' '));
  }
  bool chunked = false;
  int lengths = 0;
  std::size_t length = 0;
  while (!bytes.empty()) {
    line = next_line();
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name(trim(line.substr(0, colon))), value(trim(line.substr(colon + 1)));
    if (strcasecmp(name.c_str(), "Transfer-Encoding") == 0) chunked = value == "chunked";
    if (strcasecmp(name.c_str(), "Content-Length") == 0) {
      ++lengths;
      length =
          value.size() < 10 && !value.empty() && value.find_first_not_of("0123456789") == std::string::npos
              ? std::size_t(std::stoul(value))
              : bytes.size();
    }
    r.headers.emplace_back(name, value);
  }
  if (chunked) {
    while (!bytes.empty()) {
      const std::string_view size_line = next_line();
      char* end = nullptr;
      const std::string hex(size_line.substr(0, size_line.find(';')));
      const unsigned long n = std::strtoul(hex.c_str(), &end, 16);
      if (end == hex.c_str() || n == 0 || n > bytes.size()) break;
      r.body.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
      next_line();  // the CRLF after the chunk
    }
  } else {
    r.body = bytes.substr(0, lengths == 1 ? std::min(length, bytes.size()) : bytes.size());
  }
  return r;
}

// What every answer must be, whatever was asked: a status that HTTP knows, and JSON where it says JSON
// (an error as {"error": text, "status": the same status}). A violation is an exception no target catches.
inline void check_response(const http::Response& r) {
  if (r.closed) return;
  if (r.status < 200 || r.status > 599) throw std::logic_error("status " + std::to_string(r.status));
  if (r.content_type != "application/json") return;
  const nlohmann::json j = nlohmann::json::parse(r.body);  // throws if it is not JSON
  if (r.status >= 400 &&
      !(j.is_object() && j.value("status", 0) == r.status && j.contains("error") && j["error"].is_string()))
    throw std::logic_error("error answer " + std::to_string(r.status) + " is not {error, status}: " + r.body);
}

// The bytes as one request to `lenet serve`, straight into the server's own code (http::respond: target
// decoding, framing checks, routing, JSON, picture decoding, predict and read), without sockets.
inline void http(const std::uint8_t* data, std::size_t size) {
  static http::Api api(random_model(), fuzz_server_options());
  static DigitClassifier classifier(random_model().model);
  const RawRequest r = split_request(std::string_view(reinterpret_cast<const char*>(data), size));
  check_response(http::respond(api, classifier, r.method, r.target, r.headers, r.body));
}

// The bytes as what a client sends `lenet serve` over one connection: requests, several, or garbage,
// through libmicrohttpd. Too slow for a fuzzer (a connection each); tests/test_fuzz_corpus.cpp replays the
// committed http inputs this way too. The server listens on a loopback port for the whole process; the
// client sends everything, closes its side and reads the answers until the server closes.
inline void http_socket(const std::uint8_t* data, std::size_t size) {
  static DigitServer* server = [] {
    auto* s = new DigitServer(random_model(), fuzz_server_options());  // never deleted: serves until exit
    s->start();
    return s;
  }();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  const timeval timeout{10, 0};  // a server that answers nothing in 10 s is hung
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::uint16_t(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    for (std::size_t sent = 0; sent < size;) {
      const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may close early, e.g. after a 413
      sent += std::size_t(n);
    }
    ::shutdown(fd, SHUT_WR);
    char answer[4096];
    while (::recv(fd, answer, sizeof answer, 0) > 0) {
    }
  }
  ::close(fd);
}

}  // namespace lenet::fuzz

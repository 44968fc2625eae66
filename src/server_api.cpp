// lenet serve's endpoints without sockets: head checks, body intake, the cheap routes and the page, the
// network's endpoints, and respond() for one whole request (what the fuzzer drives).
#include "lenet/server_api.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

#include "lenet/segment.h"

namespace lenet::http {

namespace {

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

const std::vector<std::pair<std::string, std::string>>& page_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:"},
      {"X-Content-Type-Options", "nosniff"},
      {"Cache-Control", "no-cache"}};
  return headers;
}

}  // namespace

Api::Api(const LoadedModel& loaded, ServerOptions options)
    : model_(loaded.model), options_(std::move(options)) {
  nlohmann::json info = {{"arch", std::string(arch_name(model_.arch()))},
                         {"parameters", model_.parameter_count()},
                         {"input", {1, kInputSide, kInputSide}},
                         {"model", options_.model_name},
                         {"precision", options_.precision},
                         {"config", loaded.config}};
  if (loaded.config.contains("test_accuracy")) info["test_accuracy"] = loaded.config["test_accuracy"];
  for (const LayerInfo& l : model_.layers())
    info["layers"].push_back({{"name", l.name},
                              {"description", l.description},
                              {"output", l.output},
                              {"parameters", l.parameters},
                              {"multiply_adds", l.connections}});
  info_body_ = info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // name need not be UTF-8
  if (!options_.web_dir.empty()) {
    web_dir_fd_ = ::open(options_.web_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (web_dir_fd_ < 0)
      throw ServerError("web directory " + options_.web_dir + " cannot be opened: " + std::strerror(errno));
  }
}

Api::~Api() {
  if (web_dir_fd_ >= 0) ::close(web_dir_fd_);
}

// ---- the head and the body ----

void Api::begin(Request& req, std::string_view method, std::string_view raw_target, const HeaderScan& head) {
  req.method = method;
  req.buffered = &buffered_;
  parse_target(req, raw_target);
  check_framing(head, req, options_.max_headers, options_.max_body_bytes);
  req.content_type = head.content_type;
  req.wants_body = req.method == "POST" && (req.path == "/api/predict" || req.path == "/api/read");
}

bool Api::take_body(Request& req, std::string_view piece) {
  const std::size_t n = piece.size();
  if (n == 0 || !req.wants_body || req.too_large) return true;  // a body nobody reads: dropped
  if (n > options_.max_body_bytes - req.body.size()) {
    req.too_large = true;  // chunked: read on and answer 413 at the end
    req.body = std::string();
    return true;
  }
  if (buffered_ + n > options_.max_buffered_bytes) return false;
  buffered_ += n;
  req.accounted += n;
  req.body.append(piece);
  return true;
}

// ---- the answers that need no network ----

void Api::route(Request& req) const {
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (req.path == "/api/predict" || req.path == "/api/read") {
    req.headers.push_back({"Allow", "POST"});
    req.fail(405, req.path + " takes POST");
  } else if (get && req.path == "/healthz") {
    req.answer = R"({"status":"ok"})";
  } else if (get && req.path == "/api/model") {
    req.answer = info_body_;
  } else if (get) {
    serve_file(req);
  } else if (req.method != "POST") {
    req.headers.push_back({"Allow", "GET, HEAD, POST"});
    req.fail(405, "method " + req.method + " not allowed");
  } else {
    req.fail(404, "no such resource: " + req.method + " " + req.path);
  }
}

// A file of the page: built in, or from --web, opened beneath the directory (no symlink or ".." out).
void Api::serve_file(Request& req) const {
  if (web_dir_fd_ < 0) {
    for (const StaticFile& f : options_.files)
      if (f.path == req.path) {
        req.answer = f.body;
        req.answer_type = f.content_type;
        req.headers = page_headers();
        return;
      }
    req.fail(404, "no such resource: " + req.method + " " + req.path);
    return;
  }
  std::string rel = req.path.substr(req.path.empty() ? 0 : 1);
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  const int fd = open_beneath(rel);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) ::close(fd);
    req.fail(404, "no such resource: " + req.method + " " + req.path);
    return;
  }
  req.file_fd = fd;
  req.file_size = std::uint64_t(st.st_size);
  req.answer_type = content_type_for(rel);
  req.headers = page_headers();
}

// openat2 with RESOLVE_BENEATH: the kernel refuses any path (symlinks and ".." included) that leaves the
// directory, with no window between a check and the open.
int Api::open_beneath(const std::string& rel) const {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, web_dir_fd_, rel.c_str(), &how, sizeof how);
  return fd < 0 ? -1 : int(fd);
}

// ---- the endpoints that run the network ----

void Api::predict(DigitClassifier& classifier, Request& req) const {
  const std::string type = media_type(req.content_type);
  PixelRequest r;
  if (type == "application/json") {
    r = parse_pixel_request(req.body);
    r.maps = r.maps || query_flag(req, "maps");
  } else if (is_image_type(type)) {
    r.maps = query_flag(req, "maps");
    r.image = preprocess_digit(decode_upload(req.body, options_.max_image_pixels));
  } else {
    throw HttpError(
        415, "unsupported Content-Type '" + type +
                 "': send an image (image/png, image/jpeg, ...) or application/json {\"pixels\": [...]}");
  }
  const DigitGuess g = classifier.classify(r.image);
  nlohmann::json j = guess_json(g);
  j["input"] = image_json(r.image);
  if (r.maps && options_.make_classifier) {
    DigitClassifier fp32(model_, 1);
    fp32.classify(r.image);
    j["maps"] = feature_maps_json(model_, fp32.activations());
  } else if (r.maps) {
    j["maps"] = feature_maps_json(model_, classifier.activations());
  }
  req.answer = j.dump();
}

void Api::read(DigitClassifier& classifier, Request& req) const {
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
  const GreyImage grey = decode_upload(req.body, options_.max_image_pixels);
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

// The one place where exceptions become status codes.
void Api::run(DigitClassifier& classifier, Request& req) const {
  const double cpu0 = thread_cpu_ms();
  try {
    req.status = 200;
    if (req.too_large)
      throw HttpError(
          413, "request body larger than the limit of " + std::to_string(options_.max_body_bytes) + " bytes");
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

// ---- one whole request ----

Response respond(Api& api, DigitClassifier& classifier, std::string_view method, std::string_view target,
                 const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
  // libmicrohttpd hands a body over in pieces of at most its read buffer; so does this.
  constexpr std::size_t kPiece = 16 << 10;
  Request req;
  HeaderScan head;
  for (const auto& [name, value] : headers) head.add(name, value);
  bool refused = false;
  try {
    api.begin(req, method, target, head);
  } catch (const HttpError& e) {
    req.fail(e.status, e.what());
    refused = true;
  }
  if (!refused) {
    for (std::size_t at = 0; at < body.size(); at += kPiece)
      if (!api.take_body(req, body.substr(at, kPiece))) {
        Response closed;
        closed.closed = true;
        return closed;
      }
    if (req.wants_body)
      api.run(classifier, req);
    else
      api.route(req);
  }
  Response r{req.status, req.answer_type, req.headers, req.answer};
  if (req.file_fd >= 0) {
    r.body.resize(req.file_size);
    std::size_t got = 0;
    while (got < r.body.size()) {
      const ssize_t n = ::read(req.file_fd, r.body.data() + got, r.body.size() - got);
      if (n <= 0) break;
      got += std::size_t(n);
    }
    r.body.resize(got);
  }
  return r;
}

}  // namespace lenet::http

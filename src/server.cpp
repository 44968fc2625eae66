// The web demo's HTTP server on cpp-httplib: request checking (sizes, content types, JSON, pixel values),
// a pool of per-thread classifiers over the shared model, JSON answers and errors, one log line per request.
#include "lenet/server.h"

#include <httplib.h>
#include <stb_image.h>  // only stbi_info_from_memory, to refuse huge pictures before decoding; see image.cpp
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>

#include "lenet/classify.h"
#include "lenet/image.h"
#include "lenet/segment.h"

namespace lenet {

namespace {

constexpr int kMnistPixels = kMnistSide * kMnistSide;
// An idle keep-alive connection holds a worker thread (cpp-httplib 0.11), so idle ones are let go soon.
constexpr time_t kKeepAliveSeconds = 2;

// A request the server refuses: status (4xx) and a message for the client.
struct HttpError : std::runtime_error {
  HttpError(int code, const std::string& message) : std::runtime_error(message), status(code) {}
  int status;
};

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  // Messages may quote the request (e.g. its path), which need not be UTF-8: such bytes become U+FFFD
  // instead of an exception that would end the process (found by fuzz/fuzz_http).
  res.set_content(nlohmann::json{{"error", message}, {"status", status}}.dump(
                      -1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

// "Image/PNG; charset=x" -> "image/png"
std::string media_type(const httplib::Request& req) {
  std::string t = req.get_header_value("Content-Type");
  t = t.substr(0, t.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char ch) { return std::isspace(ch); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return t;
}

bool is_image_type(const std::string& type) {
  return type.rfind("image/", 0) == 0 || type == "application/octet-stream";
}

bool query_flag(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  if (v.empty() || v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  throw HttpError(400,
                  std::string("query parameter ") + name + " must be 1, true, 0 or false, not '" + v + "'");
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the client needs only the rest.
std::string json_message(const nlohmann::json::exception& e) {
  const std::string what = e.what();
  const std::size_t end = what.find("] ");
  return end == std::string::npos ? what : what.substr(end + 2);
}

struct PixelRequest {
  MnistImage image{};
  bool maps = false;
};

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
  if (body.empty()) throw HttpError(400, "empty body: expected an image file (PNG, JPEG, BMP, PGM/PPM)");
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(body.data());
  const int size = int(std::min<std::size_t>(body.size(), std::size_t(kMaxImageFileBytes)));
  check_untrusted_image(bytes, body.size(), "uploaded image");  // before stb reads anything
  int w = 0, h = 0, comp = 0;
  // A side over kMaxImageSide makes stb give up on the header altogether; decode_grey_image then refuses
  // the file as unreadable (422).
  if (stbi_info_from_memory(bytes, size, &w, &h, &comp) && (long long)w * h > max_pixels)
    throw HttpError(413, "picture of " + std::to_string(w) + "x" + std::to_string(h) +
                             " pixels is larger than this server's limit of " + std::to_string(max_pixels) +
                             " pixels");
  return decode_grey_image(bytes, body.size(), "uploaded image");
}

nlohmann::json image_json(const MnistImage& image) { return std::vector<int>(image.begin(), image.end()); }

nlohmann::json guess_json(const DigitGuess& g) {
  return {{"digit", g.digit}, {"confidence", g.confidence}, {"probabilities", g.probabilities}};
}

// Classifiers handed out one per request: each owns its activations; all share the read-only model.
class ClassifierPool {
 public:
  explicit ClassifierPool(const Lenet5& model) : model_(&model) {}

  class Lease {
   public:
    Lease(ClassifierPool& pool, std::unique_ptr<DigitClassifier> c) : pool_(&pool), c_(std::move(c)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_->give_back(std::move(c_)); }
    DigitClassifier& operator*() { return *c_; }

   private:
    ClassifierPool* pool_;
    std::unique_ptr<DigitClassifier> c_;
  };

  Lease borrow() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        std::unique_ptr<DigitClassifier> c = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(c));
      }
    }
    return Lease(*this, std::make_unique<DigitClassifier>(*model_));
  }

 private:
  void give_back(std::unique_ptr<DigitClassifier> c) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(c));
  }

  const Lenet5* model_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<DigitClassifier>> free_;
};

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

std::string body_limit_message(std::size_t max_body) {
  return "request body larger than the limit of " + std::to_string(max_body) + " bytes";
}

std::string status_message(int status, const httplib::Request& req, std::size_t max_body) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "no such resource: " + req.method + " " + req.path;
    case 413:
      return body_limit_message(max_body);
    case 414:
      return "request URI too long";
    case 405:
      return "method not allowed";
    default:
      return "HTTP status " + std::to_string(status);
  }
}

}  // namespace

struct DigitServer::Impl {
  Impl(const LoadedModel& loaded, ServerOptions o) : model(loaded.model), options(std::move(o)), pool(model) {
    info = {{"arch", std::string(arch_name(model.arch()))},
            {"parameters", model.parameter_count()},
            {"input", {1, kInputSide, kInputSide}},
            {"model", options.model_name},
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
  }

  // C1, S2, C3 and S4 of the sample in slot 0 of the classifier's last batch.
  nlohmann::json feature_maps(const Activations& a) const {
    nlohmann::json out = nlohmann::json::array();
    for (const LayerInfo& l : map_layers) {
      const AlignedFloats& buf = l.name == "C1" ? a.c1 : l.name == "S2" ? a.s2 : l.name == "C3" ? a.c3 : a.s4;
      const std::size_t count =
          std::size_t(l.output[0]) * std::size_t(l.output[1]) * std::size_t(l.output[2]);
      if (buf.size() < count) throw std::logic_error("activations of " + l.name + " smaller than its output");
      const auto [lo, hi] = std::minmax_element(buf.begin(), buf.begin() + std::ptrdiff_t(count));
      const float range = *hi - *lo;
      std::vector<int> pixels(count);
      for (std::size_t i = 0; i < count; ++i)
        pixels[i] = range > 0 ? int(std::lround(255.0f * (buf[i] - *lo) / range)) : 0;
      out.push_back({{"name", l.name},
                     {"description", l.description},
                     {"maps", l.output[0]},
                     {"height", l.output[1]},
                     {"width", l.output[2]},
                     {"min", *lo},
                     {"max", *hi},
                     {"pixels", pixels}});
    }
    return out;
  }

  // The body, read here rather than by httplib: httplib 0.11 applies its payload limit to Content-Length
  // only, and would buffer a chunked body of any size.
  std::string read_body(const httplib::Request& req, const httplib::ContentReader& reader,
                        httplib::Response& res) const {
    std::string body;
    bool too_large = false;
    const auto receive = [&](const char* data, std::size_t size) {
      if (size > options.max_body_bytes - body.size()) {
        too_large = true;
        return false;
      }
      body.append(data, size);
      return true;
    };
    // Asked for a multipart body as a whole, httplib fails; it is read part by part instead, only to be
    // refused for its content type like any other.
    const bool complete = req.is_multipart_form_data()
                              ? reader([](const httplib::MultipartFormData&) { return true; }, receive)
                              : reader(receive);
    if (too_large || (!complete && res.status == 413)) {
      res.set_header("Connection", "close");  // the rest of the body is never read
      throw HttpError(413, body_limit_message(options.max_body_bytes));
    }
    if (!complete) {
      res.set_header("Connection", "close");
      throw HttpError(400, "could not read the request body");
    }
    return body;
  }

  // Both endpoints read the whole body (within the limit) before judging the request, so that a refused
  // request leaves a keep-alive connection ready for the next one.
  void predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    const std::string body = read_body(req, reader, res);
    const std::string type = media_type(req);
    PixelRequest r;
    if (type == "application/json") {
      r = parse_pixel_request(body);
      r.maps = r.maps || query_flag(req, "maps");
    } else if (is_image_type(type)) {
      r.maps = query_flag(req, "maps");
      r.image = preprocess_digit(decode_upload(body, options.max_image_pixels));
    } else {
      throw HttpError(
          415, "unsupported Content-Type '" + type +
                   "': send an image (image/png, image/jpeg, ...) or application/json {\"pixels\": [...]}");
    }
    auto lease = pool.borrow();
    const DigitGuess g = (*lease).classify(r.image);
    nlohmann::json j = guess_json(g);
    j["input"] = image_json(r.image);
    if (r.maps) j["maps"] = feature_maps((*lease).activations());
    res.set_content(j.dump(), "application/json");
  }

  void read(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    const std::string body = read_body(req, reader, res);
    const std::string type = media_type(req);
    if (!is_image_type(type))
      throw HttpError(415,
                      "unsupported Content-Type '" + type + "': send an image (image/png, image/jpeg, ...)");
    ReadOptions ro;
    if (req.has_param("reject")) {
      const std::string v = req.get_param_value("reject");
      char* end = nullptr;
      ro.reject_below = std::strtof(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(ro.reject_below >= 0 && ro.reject_below <= 1))
        throw HttpError(400, "query parameter reject must be a number in 0..1, not '" + v + "'");
    }
    const GreyImage grey = decode_upload(body, options.max_image_pixels);
    auto lease = pool.borrow();
    const Reading reading = read_number(*lease, grey, ro);
    nlohmann::json digits = nlohmann::json::array();
    for (const ReadDigit& d : reading.digits) {
      nlohmann::json j = guess_json(d.guess);
      j["box"] = {{"x", d.box.x}, {"y", d.box.y}, {"w", d.box.w}, {"h", d.box.h}};
      j["input"] = image_json(d.input);
      digits.push_back(std::move(j));
    }
    res.set_content(
        nlohmann::json{
            {"text", reading.text}, {"width", grey.width}, {"height", grey.height}, {"digits", digits}}
            .dump(),
        "application/json");
  }

  // Every handler's failures become JSON errors; the time spent is reported in Server-Timing (and logged).
  using Endpoint = void (Impl::*)(const httplib::Request&, httplib::Response&, const httplib::ContentReader&);
  httplib::Server::HandlerWithContentReader guarded(Endpoint handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader& reader) {
      const auto t0 = std::chrono::steady_clock::now();
      try {
        (this->*handler)(req, res, reader);
      } catch (const HttpError& e) {
        send_error(res, e.status, e.what());
      } catch (const ImageError& e) {
        send_error(res, 422, e.what());
      } catch (const std::bad_alloc&) {
        send_error(res, 503, "out of memory");
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      } catch (...) {
        send_error(res, 500, "internal error");
      }
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      res.set_header("Server-Timing", "app;dur=" + format_ms(ms));
    };
  }

  void setup() {
    svr.new_task_queue = [n = std::max(1, options.threads)] {
      return new httplib::ThreadPool(std::size_t(n));
    };
    svr.set_payload_max_length(options.max_body_bytes);
    svr.set_keep_alive_timeout(kKeepAliveSeconds);
    // httplib's default also sets SO_REUSEPORT, which lets a second server share a port in use without a
    // word; SO_REUSEADDR alone only allows a quick restart.
    svr.set_socket_options([](socket_t sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });

    svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    svr.Get("/api/model", [body = info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)](
                              const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "application/json");  // the model name need not be UTF-8
    });
    svr.Post("/api/predict", guarded(&Impl::predict));
    svr.Post("/api/read", guarded(&Impl::read));
    for (const char* path : {"/api/predict", "/api/read"})
      svr.Get(path, [](const httplib::Request& req, httplib::Response& res) {
        res.set_header("Allow", "POST");
        send_error(res, 405, req.path + " takes POST");
      });

    // The page: no inline script and nothing from elsewhere, so a strict policy costs nothing.
    const httplib::Headers page_headers = {
        {"Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:"},
        {"X-Content-Type-Options", "nosniff"},
        {"Cache-Control", "no-cache"}};
    if (!options.web_dir.empty()) {
      if (!svr.set_mount_point("/", options.web_dir, page_headers))
        throw ServerError("web directory " + options.web_dir + " does not exist");
    } else {
      for (const StaticFile& f : options.files)
        svr.Get(f.path, [&f, page_headers](const httplib::Request&, httplib::Response& res) {
          for (const auto& [k, v] : page_headers) res.set_header(k, v);
          res.set_content(f.body, f.content_type.c_str());
        });
    }

    // Errors httplib answers itself (404, 413, a malformed request line ...) get a JSON body too.
    svr.set_error_handler(
        httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          send_error(res, res.status, status_message(res.status, req, options.max_body_bytes));
          return httplib::Server::HandlerResponse::Handled;
        }));
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, 500, "internal error");
    });
    if (options.log)
      svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        // "127.0.0.1 POST /api/predict 200 5120B 3.2ms"; appended piece by piece (GCC 12 warns,
        // wrongly, about overlapping copies in the equivalent chain of operator+).
        std::string line = req.remote_addr;
        for (const std::string& field : {req.method, req.path, std::to_string(res.status)}) {
          line.append(" ");
          line.append(field.empty() ? "-" : field);
        }
        line.append(" ").append(std::to_string(res.body.size())).append("B");
        const std::string timing = res.get_header_value("Server-Timing");
        if (const std::size_t at = timing.find("dur="); at != std::string::npos)
          line.append(" ").append(timing, at + 4).append("ms");
        options.log(line);
      });
  }

  const Lenet5& model;
  ServerOptions options;
  ClassifierPool pool;
  nlohmann::json info;
  std::vector<LayerInfo> map_layers;
  httplib::Server svr;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  int bound_port = -1;
};

DigitServer::DigitServer(const LoadedModel& model, ServerOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(options))) {}

DigitServer::~DigitServer() { stop(); }

void DigitServer::start() {
  if (impl_->thread.joinable()) throw ServerError("server already started");
  std::signal(SIGPIPE, SIG_IGN);
  impl_->setup();
  const ServerOptions& o = impl_->options;
  const std::string where = o.host + ":" + std::to_string(o.port);
  if (o.port < 0 || o.port > 65535) throw ServerError("cannot listen on " + where + ": not a port number");
  if (o.port == 0)
    impl_->bound_port = impl_->svr.bind_to_any_port(o.host);
  else
    impl_->bound_port = impl_->svr.bind_to_port(o.host, o.port) ? o.port : -1;
  if (impl_->bound_port <= 0)
    throw ServerError("cannot listen on " + where +
                      ": the port is in use or the host is not an address of this machine");
  impl_->thread = std::thread([this] {
    impl_->svr.listen_after_bind();
    impl_->listen_returned = true;
  });
  // httplib's stop() does nothing until the accept loop runs, so stop() must not come before that.
  while (!impl_->svr.is_running() && !impl_->listen_returned)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void DigitServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->svr.stop();
  impl_->thread.join();
}

int DigitServer::port() const { return impl_->bound_port; }

}  // namespace lenet

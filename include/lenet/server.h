// The web demo's HTTP server: a JSON API over one shared, read-only LeNet-5 (classify a drawn or uploaded
// digit, read a written number, describe the model) and the demo page, served by a pool of threads.
//
// API (every error is a 4xx/5xx with a JSON body {"error": message, "status": code}):
//   GET  /healthz       {"status": "ok"}
//   GET  /api/model     {"arch", "parameters", "layers": [...], "test_accuracy"?, "config", "model"}
//   POST /api/predict   an image file (image/png, image/jpeg, image/bmp, image/x-portable-graymap, ... or
//                       application/octet-stream), put through preprocess_digit; or application/json
//                       {"pixels": [784 values 0..255], "maps": bool}: a 28×28 image, row-major, ink high,
//                       read as it is (like an MNIST idx image). Query ?maps=1 also asks for feature maps.
//                       -> {"digit", "confidence", "probabilities": [10], "input": [784], "maps"?: [...]}
//   POST /api/read      an image file of a row of digits; ?reject=0..1 writes '?' for less confident digits
//                       -> {"text", "width", "height", "digits": [{"digit", "confidence", "probabilities",
//                          "box": {"x", "y", "w", "h"}, "input": [784]}]}
// Feature maps: [{"name": "C1", "maps", "height", "width", "min", "max", "pixels": [maps·h·w values
// 0..255, (x − min) / (max − min) over the whole layer]}] for C1, S2, C3 and S4 of that input.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/lenet5_io.h"

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
  int port = 8080;                              // 0: any free port; DigitServer::port() says which
  int threads = 8;                              // connections served at once (idle keep-alives hold one)
  std::size_t max_body_bytes = 10u << 20;       // larger request bodies get 413
  long long max_image_pixels = 16'000'000;      // larger pictures get 413 before they are decoded
  std::vector<StaticFile> files;                // the page
  std::string web_dir;                          // if set, the page is served from this directory instead
  std::string model_name;                       // shown by /api/model, e.g. the model file's path
  std::function<void(const std::string&)> log;  // called with one line per request, from worker threads
};

// Each request borrows a DigitClassifier (its own activations) from a pool that grows to the number of
// threads; the model is shared and never written. Never lets an exception out of a request: a handler
// that fails answers with a JSON error. Ignores SIGPIPE for the whole process while serving (a client
// that hangs up mid-answer must not kill it; this build of cpp-httplib does not send with MSG_NOSIGNAL).
class DigitServer {
 public:
  DigitServer(const LoadedModel& model, ServerOptions options);
  ~DigitServer();  // stop()
  DigitServer(const DigitServer&) = delete;
  DigitServer& operator=(const DigitServer&) = delete;

  // Binds (throws ServerError naming host:port) and serves on a background thread until stop().
  void start();
  // Stops accepting, finishes the requests in progress and joins the threads. Idempotent.
  void stop();
  int port() const;  // the bound port, after start()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lenet

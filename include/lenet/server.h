// The web demo's HTTP server: a JSON API over one shared, read-only LeNet-5 (classify a drawn or uploaded
// digit, read a written number, describe the model) and the demo page, built to face untrusted clients.
//
// API (every error is a 4xx/5xx with a JSON body {"error": message, "status": code}):
//   GET  /healthz       {"status": "ok"}
//   GET  /api/model     {"arch", "parameters", "layers": [...], "test_accuracy"?, "config", "model"}
//   POST /api/predict   an image file (image/png, image/jpeg, image/webp, image/tiff, image/gif, ... or
//                       application/octet-stream), put through preprocess_digit; or application/json
//                       {"pixels": [784 values 0..255], "maps": bool}: a 28×28 image, row-major, ink high,
//                       read as it is (like an MNIST idx image). Query ?maps=1 also asks for feature maps.
//                       -> {"digit", "confidence", "probabilities": [10], "input": [784], "maps"?: [...]}
//   POST /api/read      an image file of a row of digits; ?reject=0..1 writes '?' for less confident digits
//                       -> {"text", "width", "height", "digits": [{"digit", "confidence", "probabilities",
//                          "box": {"x", "y", "w", "h"}, "input": [784]}]}
// Feature maps: [{"name": "C1", "precision": "fp32", "maps", "height", "width", "min", "max", "pixels":
// [maps·h·w values 0..255, (x − min) / (max − min) over the whole layer]}] for C1, S2, C3 and S4 of that
// input, from the fp32 network even when the answer is the int8 network's.
//
// Protocol limits (docs/serving.md says why each is what it is): a request head must arrive whole within
// head_timeout_ms of the connection opening or of the previous answer (which also ends idle keep-alives);
// the whole request, body included, within request_timeout_ms of the same start; at most max_connections
// open, max_per_ip from one address; at most max_headers header lines and header_memory_bytes for the head
// (431); POST needs one numeric Content-Length or chunked encoding (411/400); no ranges (whole files only).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lenet/classify.h"
#include "lenet/lenet5_io.h"
#include "lenet/server_http.h"  // ServerOptions, ServerError, content_type_for

namespace lenet {

// One event-loop thread (libmicrohttpd, epoll) reads requests and writes answers for every connection;
// requests that run the network are handed to `threads` workers, each with its own DigitClassifier over
// the shared model (never written), and their connection is suspended meanwhile, so that a slow picture
// never holds up /healthz or another client. Never lets an exception out of a request: a handler that fails
// answers with a JSON error.
class DigitServer {
 public:
  DigitServer(const LoadedModel& model, ServerOptions options);
  ~DigitServer();  // stop()
  DigitServer(const DigitServer&) = delete;
  DigitServer& operator=(const DigitServer&) = delete;

  // Binds (throws ServerError naming host:port) and serves on background threads until stop().
  void start();
  // Stops accepting, lets the workers finish the pictures they hold (queued ones get 503), closes every
  // connection whatever its client is doing, and joins the threads. Idempotent.
  void stop();
  int port() const;  // the bound port, after start()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lenet

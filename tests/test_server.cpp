// The web demo's HTTP API against a real server on an ephemeral loopback port: answers equal the library's
// own classifier and reader, malformed and hostile requests get a JSON 4xx, concurrent clients, one log line
// per request, clean start and stop.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "helpers/http_client.h"
#include "helpers/paths.h"
#include "helpers/server_fixture.h"
#include "lenet/classify.h"
#include "lenet/idx.h"
#include "lenet/image.h"
#include "lenet/quantize.h"
#include "lenet/segment.h"
#include "lenet/server.h"
#include "lenet/server_api.h"

namespace lenet {
namespace {

// ---- digits drawn with a round pen, as a person would on the demo's pad ----
using Stroke = std::vector<std::pair<float, float>>;  // points in units of the cell (0..1, y down)

std::vector<Stroke> digit_strokes(char digit) {
  switch (digit) {
    case '0': {
      Stroke s;
      for (int i = 0; i <= 36; ++i) {
        const float t = float(i) / 36 * 6.2832f;
        s.push_back({0.5f + 0.2f * std::sin(t), 0.5f - 0.3f * std::cos(t)});
      }
      return {s};
    }
    case '1':
      return {{{0.53f, 0.17f}, {0.51f, 0.5f}, {0.48f, 0.83f}}};
    case '7':
      return {{{0.28f, 0.21f}, {0.72f, 0.21f}, {0.43f, 0.84f}}};
    default:
      return {};
  }
}

float segment_distance(float px, float py, float ax, float ay, float bx, float by) {
  const float dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  const float t = len2 > 0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.0f, 1.0f) : 0.0f;
  return std::hypot(px - ax - t * dx, py - ay - t * dy);
}

// Dark ink (pen `pen` px wide, anti-aliased) on white paper; the digits of `text` side by side in cells.
GreyImage write_digits(const std::string& text, int cell = 160, float pen = 16) {
  GreyImage img;
  img.width = int(text.size()) * cell + 40;
  img.height = cell + 40;
  img.pixels.assign(std::size_t(img.width) * std::size_t(img.height), 255);
  for (std::size_t k = 0; k < text.size(); ++k)
    for (const Stroke& s : digit_strokes(text[k]))
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        const float ax = 20 + float(k) * cell + s[i].first * cell, ay = 20 + s[i].second * cell;
        const float bx = 20 + float(k) * cell + s[i + 1].first * cell, by = 20 + s[i + 1].second * cell;
        const int x0 = std::max(0, int(std::min(ax, bx) - pen)),
                  x1 = std::min(img.width - 1, int(std::max(ax, bx) + pen));
        const int y0 = std::max(0, int(std::min(ay, by) - pen)),
                  y1 = std::min(img.height - 1, int(std::max(ay, by) + pen));
        for (int y = y0; y <= y1; ++y)
          for (int x = x0; x <= x1; ++x) {
            const float ink =
                std::clamp(pen / 2 + 0.5f - segment_distance(float(x), float(y), ax, ay, bx, by), 0.0f, 1.0f);
            std::uint8_t& p = img.pixels[std::size_t(y) * std::size_t(img.width) + std::size_t(x)];
            p = std::min(p, std::uint8_t(std::lround(255 * (1 - ink))));
          }
      }
  return img;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string png_of(const GreyImage& img, const std::string& name) {
  const std::string path = test::temp_path(name);
  save_image(path, img.pixels.data(), img.width, img.height, 1);
  return read_bytes(path);
}

// A PNG signature and IHDR declaring w×h (with its CRC: libpng checks it), then nothing.
std::string png_header(std::uint32_t w, std::uint32_t h) {
  std::string ihdr = "IHDR";
  for (std::uint32_t v : {w, h})
    for (int shift = 24; shift >= 0; shift -= 8) ihdr += char((v >> shift) & 0xff);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit grey, deflate, no filter, no interlace
  const auto crc = std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), uInt(ihdr.size())));
  std::string s = "\x89PNG\r\n\x1a\n" + std::string("\0\0\0\x0d", 4) + ihdr;
  for (int shift = 24; shift >= 0; shift -= 8) s += char((crc >> shift) & 0xff);
  return s;
}

std::string pixels_json(const MnistImage& image, bool maps = false) {
  nlohmann::json j = {{"pixels", std::vector<int>(image.begin(), image.end())}};
  if (maps) j["maps"] = true;
  return j.dump();
}

// Sends the bytes and closes at once, with a reset, without waiting for an answer.
void hang_up(int port, const std::string& bytes) {
  const int fd = test::connect_loopback(port);
  if (fd < 0) return;
  linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  if (!bytes.empty()) test::send_all(fd, bytes);
  ::close(fd);
}

class ServerTest : public test::ServerFixture {
 protected:
  void SetUp() override { start({}); }

  void start(ServerOptions o) {
    if (o.max_body_bytes == ServerOptions{}.max_body_bytes) o.max_body_bytes = 256 << 10;
    o.model_name = "models/lenet5.bin";
    start_server(std::move(o));
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30);
    return c;
  }

  // POST, then the status and parsed JSON body (null if the body is not JSON).
  std::pair<int, nlohmann::json> post(const std::string& path, const std::string& body,
                                      const std::string& type) {
    auto res = client().Post(path.c_str(), body, type.c_str());
    if (!res) return {-1, nullptr};
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path << " " << res->status;
    return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
  }
};

TEST_F(ServerTest, HealthModelAndPage) {
  auto c = client();
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");

  auto model = c.Get("/api/model");
  ASSERT_TRUE(model);
  const auto m = nlohmann::json::parse(model->body);
  EXPECT_EQ(m["arch"], "lenet5");
  EXPECT_EQ(m["parameters"], 61706);
  EXPECT_EQ(m["layers"].size(), 7u);
  EXPECT_EQ(m["layers"][2]["name"], "C3");
  EXPECT_EQ(m["test_accuracy"], test::shipped_model().config["test_accuracy"]);
  EXPECT_EQ(m["model"], "models/lenet5.bin");

  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, "<p>the page</p>");
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
}

TEST_F(ServerTest, PixelsAreClassifiedExactlyAsTheLibraryDoes) {
  std::vector<MnistImage> images;
  std::vector<int> labels;
  const int n = test::sanitizer_run() ? 4 : 24;
  if (test::mnist_available()) {
    const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
    for (int i = 0; i < n; ++i) {
      MnistImage m;
      std::copy_n(test_set.image(i), m.size(), m.begin());
      images.push_back(m);
      labels.push_back(test_set.labels[std::size_t(i)]);
    }
  } else {
    Rng rng(7);
    for (int i = 0; i < n; ++i) {
      MnistImage m;
      for (auto& p : m) p = std::uint8_t(rng.uniform(0, 1) < 0.8 ? 0 : 255);
      images.push_back(m);
      labels.push_back(-1);
    }
  }
  DigitClassifier local(test::shipped_model().model);
  int correct = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto [status, j] = post("/api/predict", pixels_json(images[i]), "application/json");
    ASSERT_EQ(status, 200) << j.dump();
    const DigitGuess g = local.classify(images[i]);
    EXPECT_EQ(j["digit"], g.digit);
    EXPECT_FLOAT_EQ(j["confidence"].get<float>(), g.confidence);
    ASSERT_EQ(j["probabilities"].size(), 10u);
    for (int k = 0; k < 10; ++k)
      EXPECT_FLOAT_EQ(j["probabilities"][std::size_t(k)].get<float>(), g.probabilities[std::size_t(k)]);
    EXPECT_EQ(j["input"], nlohmann::json(std::vector<int>(images[i].begin(), images[i].end())));
    EXPECT_FALSE(j.contains("maps"));
    correct += j["digit"] == labels[i];
  }
  if (test::mnist_available()) {
    EXPECT_GE(correct, n - 1) << "MNIST test images read correctly";
  }
}

TEST_F(ServerTest, FeatureMapsOnRequest) {
  const MnistImage image = preprocess_digit(write_digits("7"));
  for (const auto& [path, body] :
       {std::pair<std::string, std::string>{"/api/predict", pixels_json(image, true)},
        {"/api/predict?maps=1", pixels_json(image)}}) {
    const auto [status, j] = post(path, body, "application/json");
    ASSERT_EQ(status, 200) << j.dump();
    EXPECT_EQ(j["digit"], 7);
    ASSERT_EQ(j["maps"].size(), 4u);
    const std::vector<std::tuple<std::string, int, int>> want = {
        {"C1", 6, 28}, {"S2", 6, 14}, {"C3", 16, 10}, {"S4", 16, 5}};
    for (std::size_t l = 0; l < want.size(); ++l) {
      const auto& layer = j["maps"][l];
      const auto& [name, maps, side] = want[l];
      EXPECT_EQ(layer["name"], name);
      EXPECT_EQ(layer["maps"], maps);
      EXPECT_EQ(layer["height"], side);
      EXPECT_EQ(layer["width"], side);
      ASSERT_EQ(layer["pixels"].size(), std::size_t(maps * side * side)) << name;
      int lo = 255, hi = 0;
      for (const auto& p : layer["pixels"]) lo = std::min(lo, p.get<int>()), hi = std::max(hi, p.get<int>());
      EXPECT_EQ(lo, 0) << name;  // scaled to the layer's own range
      EXPECT_EQ(hi, 255) << name;
      EXPECT_LE(layer["min"].get<float>(), layer["max"].get<float>());
    }
  }
}

// serve --precision int8: the answer is the int8 network's (the shipped model carries its scales), the
// maps the fp32 network's, and each map layer says so.
TEST_F(ServerTest, Int8ServerAnswersWithInt8AndLabelsItsMapsFp32) {
  const Int8Lenet5 net = int8_network(test::shipped_model(), "models/lenet5.bin");
  ServerOptions o;
  o.precision = "int8";
  o.make_classifier = [&] { return int8_classifier(test::shipped_model().model, 4, net); };
  start(o);
  const MnistImage image = preprocess_digit(write_digits("7"));
  DigitClassifier local = int8_classifier(test::shipped_model().model, 1, net);
  const DigitGuess want = local.classify(image);
  const auto [status, j] = post("/api/predict?maps=1", pixels_json(image), "application/json");
  ASSERT_EQ(status, 200) << j.dump();
  EXPECT_EQ(j["digit"], want.digit);
  EXPECT_FLOAT_EQ(j["confidence"].get<float>(), want.confidence);
  ASSERT_EQ(j["maps"].size(), 4u);
  for (const auto& layer : j["maps"]) EXPECT_EQ(layer["precision"], "fp32") << layer["name"];
  auto model = client().Get("/api/model");
  ASSERT_TRUE(model);
  EXPECT_EQ(nlohmann::json::parse(model->body)["precision"], "int8");
  server_.reset();  // before net goes out of scope: the workers' classifiers point to it
}

TEST_F(ServerTest, ImageFilesArePreprocessedAndClassified) {
  DigitClassifier local(test::shipped_model().model);
  for (const char digit : std::string("017")) {
    const GreyImage img = write_digits(std::string(1, digit));
    const std::string png = png_of(img, std::string("digit-") + digit + ".png");
    for (const char* type : {"image/png", "application/octet-stream", "IMAGE/PNG; name=x"}) {
      const auto [status, j] = post("/api/predict", png, type);
      ASSERT_EQ(status, 200) << type << " " << j.dump();
      EXPECT_EQ(j["digit"], digit - '0') << "drawn " << digit;
      const MnistImage input = preprocess_digit(
          decode_grey_image(reinterpret_cast<const std::uint8_t*>(png.data()), png.size(), "x"));
      EXPECT_EQ(j["input"], nlohmann::json(std::vector<int>(input.begin(), input.end())));
      EXPECT_FLOAT_EQ(j["confidence"].get<float>(), local.classify(input).confidence);
    }
  }
}

TEST_F(ServerTest, NumbersAreReadAsTheLibraryReadsThem) {
  const GreyImage img = write_digits("710");
  const std::string png = png_of(img, "number.png");
  const auto [status, j] = post("/api/read", png, "image/png");
  ASSERT_EQ(status, 200) << j.dump();
  DigitClassifier local(test::shipped_model().model);
  const Reading r = read_number(local, img);
  EXPECT_EQ(j["text"], r.text);
  EXPECT_EQ(j["text"], "710");
  EXPECT_EQ(j["width"], img.width);
  EXPECT_EQ(j["height"], img.height);
  ASSERT_EQ(j["digits"].size(), r.digits.size());
  for (std::size_t i = 0; i < r.digits.size(); ++i) {
    EXPECT_EQ(j["digits"][i]["digit"], r.digits[i].guess.digit);
    EXPECT_EQ(j["digits"][i]["box"]["x"], r.digits[i].box.x);
    EXPECT_EQ(j["digits"][i]["box"]["w"], r.digits[i].box.w);
    EXPECT_EQ(j["digits"][i]["input"].size(), 784u);
  }
  const auto [picky_status, picky] = post("/api/read?reject=0.999999", png, "image/png");
  ASSERT_EQ(picky_status, 200);
  EXPECT_EQ(picky["text"], read_number(local, img, ReadOptions{0.999999f}).text);
}

TEST_F(ServerTest, BadRequestsGetAJsonErrorAndTheServerCarriesOn) {
  std::vector<int> pixels(784, 0);
  const auto with = [&](std::size_t at, const std::string& value) {
    std::string s = nlohmann::json{{"pixels", pixels}}.dump();
    std::string before = "{\"pixels\":[";
    for (std::size_t i = 0; i < at; ++i) before += "0,";
    return before + value + s.substr(before.size() + 1);
  };
  const std::string png = png_of(write_digits("1"), "one.png");
  const std::string blank =
      png_of(GreyImage{64, 64, std::vector<std::uint8_t>(64 * 64, 255), ""}, "blank.png");
  std::string deep(100000, '[');

  struct Case {
    std::string what, path, body, type;
    int status;
    std::string message;  // part of the error
  };
  const std::vector<Case> cases = {
      {"text body", "/api/predict", "hello", "text/plain", 415, "Content-Type 'text/plain'"},
      {"no content type", "/api/predict", "hello", "", 415, "Content-Type"},
      {"multipart", "/api/predict",
       "--x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nhi\r\n--x--\r\n",
       "multipart/form-data; boundary=x", 415, "multipart/form-data"},
      {"truncated JSON", "/api/predict", "{\"pixels\": [1, 2", "application/json", 400, "malformed JSON"},
      {"empty JSON", "/api/predict", "", "application/json", 400, "malformed JSON"},
      {"NaN literal", "/api/predict", with(5, "NaN"), "application/json", 400, "malformed JSON"},
      {"deep nesting", "/api/predict", deep, "application/json", 400, "malformed JSON"},
      {"not an object", "/api/predict", "[1, 2, 3]", "application/json", 400, "expected a JSON object"},
      {"no pixels", "/api/predict", "{\"pixel\": []}", "application/json", 400, "missing field \"pixels\""},
      {"pixels not array", "/api/predict", "{\"pixels\": \"0,0\"}", "application/json", 400,
       "must be an array"},
      {"783 pixels", "/api/predict", nlohmann::json{{"pixels", std::vector<int>(783, 0)}}.dump(),
       "application/json", 400, "found 783"},
      {"785 pixels", "/api/predict", nlohmann::json{{"pixels", std::vector<int>(785, 0)}}.dump(),
       "application/json", 400, "found 785"},
      {"string pixel", "/api/predict", with(3, "\"7\""), "application/json", 400,
       "\"pixels\"[3]: expected a number"},
      {"null pixel", "/api/predict", with(0, "null"), "application/json", 400,
       "\"pixels\"[0]: expected a number"},
      {"negative", "/api/predict", with(10, "-1"), "application/json", 400, "outside 0..255"},
      {"too bright", "/api/predict", with(783, "255.6"), "application/json", 400, "outside 0..255"},
      {"infinite", "/api/predict", with(1, "1e999"), "application/json", 400, "malformed JSON"},
      {"maps not bool", "/api/predict", "{\"pixels\": " + nlohmann::json(pixels).dump() + ", \"maps\": 1}",
       "application/json", 400, "\"maps\" must be"},
      {"bad maps query", "/api/predict?maps=maybe", png, "image/png", 400, "maps"},
      {"empty image", "/api/predict", "", "image/png", 400, "empty body"},
      {"garbage bytes", "/api/predict", "\x01\x02garbage\xff", "image/png", 422, "not a picture"},
      {"truncated PNG", "/api/predict", png.substr(0, png.size() / 2), "image/png", 422, "uploaded image"},
      {"no ink", "/api/predict", blank, "image/png", 422, "uploaded image"},
      {"huge sides", "/api/predict", png_header(100000, 100000), "image/png", 422, "uploaded image"},
      {"huge area", "/api/predict", png_header(5000, 5000), "image/png", 413, "5000x5000"},
      {"body too large", "/api/predict", std::string(300 << 10, 'x'), "image/png", 413,
       "limit of 262144 bytes"},
      {"read JSON", "/api/read", pixels_json(MnistImage{}), "application/json", 415, "Content-Type"},
      {"read reject 2", "/api/read?reject=2", png, "image/png", 400, "reject"},
      {"read reject nan", "/api/read?reject=nan", png, "image/png", 400, "reject"},
      {"read garbage", "/api/read", "GIF89a....", "image/gif", 422, "truncated GIF"},
      {"read huge", "/api/read", png_header(9000, 100), "image/png", 422, "uploaded image"},
      {"read large", "/api/read", png_header(8000, 4000), "image/png", 413, "8000x4000"},
      {"read no ink", "/api/read", blank, "image/png", 422, "uploaded image"},
      {"unknown path", "/api/classify", "{}", "application/json", 404, "no such resource"},
  };
  for (const Case& c : cases) {
    const auto [status, j] = post(c.path, c.body, c.type);
    EXPECT_EQ(status, c.status) << c.what << ": " << j.dump();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << c.what;
    EXPECT_EQ(j["status"], c.status) << c.what;
    EXPECT_NE(j["error"].get<std::string>().find(c.message), std::string::npos)
        << c.what << ": " << j["error"];
  }
  auto c = client();
  auto get_post_only = c.Get("/api/predict");
  ASSERT_TRUE(get_post_only);
  EXPECT_EQ(get_post_only->status, 405);
  EXPECT_EQ(get_post_only->get_header_value("Allow"), "POST");
  auto missing = c.Get("/nothing/here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing->body)["status"], 404);

  // After all that, it still answers properly.
  const auto [status, j] = post("/api/predict", png, "image/png");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(j["digit"], 1);
}

TEST_F(ServerTest, ChunkedBodiesAreHeldToTheLimitToo) {
  std::string big(600 << 10, 'x');
  auto c = client();
  auto res = c.Post(
      "/api/predict",
      [&](std::size_t offset, httplib::DataSink& sink) {
        if (offset < big.size()) {
          const std::size_t n = std::min<std::size_t>(64 << 10, big.size() - offset);
          sink.write(big.data() + offset, n);
        } else {
          sink.done();
        }
        return true;
      },
      "image/png");
  // The server answers 413 without reading it all; the client may also just see the connection go.
  if (res) {
    EXPECT_EQ(res->status, 413);
  }
  auto health = client().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, BrokenConnectionsDoNotHurtTheServer) {
  const int port = server_->port();
  // A request line that cannot be parsed: libmicrohttpd closes the connection without an answer (or
  // answers 400/414); what matters is that nothing else is read from it and the server carries on.
  for (const std::string& bad : {std::string("GARBAGE\r\n\r\n"), std::string(20000, 'A') + "\r\n\r\n"}) {
    const test::HttpAnswer a = test::exchange(port, bad);
    EXPECT_TRUE(a.status == -1 || (a.status >= 400 && a.status < 500)) << a.head;
  }
  EXPECT_EQ(test::exchange(port, "GET /" + std::string(40000, 'A') + " HTTP/1.1\r\nHost: x\r\n\r\n").status,
            414);
  // Clients that hang up: before sending anything, in the middle of a body, and before reading a large
  // answer (which must not kill the server with SIGPIPE).
  hang_up(port, "");
  hang_up(port, "POST /api/predict HTTP/1.1\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\nshort");
  const std::string json = pixels_json(MnistImage{});
  const std::string request =
      "POST /api/predict?maps=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(json.size()) + "\r\n\r\n" + json;
  for (int i = 0; i < 5; ++i) hang_up(port, request);
  auto health = client().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, ConcurrentClientsGetTheirOwnAnswersAndEveryRequestIsLogged) {
  const int threads = test::sanitizer_run() ? 4 : 8, per_thread = test::sanitizer_run() ? 3 : 12;
  std::array<MnistImage, 3> images;
  std::array<int, 3> expected{};
  DigitClassifier local(test::shipped_model().model);
  for (int k = 0; k < 3; ++k) {
    images[std::size_t(k)] = preprocess_digit(write_digits(std::string(1, "017"[k])));
    expected[std::size_t(k)] = local.classify(images[std::size_t(k)]).digit;
  }
  const std::string png = png_of(write_digits("1"), "concurrent.png");
  const std::size_t before = log_lines().size();
  std::atomic<int> wrong{0}, sent{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto c = client();
      for (int i = 0; i < per_thread; ++i) {
        const int kind = (t + i) % 5;
        ++sent;
        if (kind < 3) {
          auto res =
              c.Post("/api/predict", pixels_json(images[std::size_t(kind)], i % 2 == 0), "application/json");
          if (!res || res->status != 200 ||
              nlohmann::json::parse(res->body)["digit"] != expected[std::size_t(kind)])
            ++wrong;
        } else if (kind == 3) {
          auto res = c.Post("/api/predict", png, "image/png");
          if (!res || res->status != 200 || nlohmann::json::parse(res->body)["digit"] != 1) ++wrong;
        } else {
          auto res = c.Post("/api/predict", "{\"pixels\": [1,", "application/json");
          if (!res || res->status != 400) ++wrong;
        }
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(wrong, 0);
  server_->stop();  // every log line is written before stop() returns
  const auto lines = log_lines();
  EXPECT_EQ(lines.size() - before, std::size_t(sent));
  const std::string& last = lines.back();
  EXPECT_NE(last.find("127.0.0.1 POST /api/predict "), std::string::npos) << last;
  EXPECT_TRUE(last.find("ms") != std::string::npos && last.find("B ") != std::string::npos) << last;
}

TEST_F(ServerTest, StartAndStop) {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = server_->port();  // taken
  DigitServer second(test::shipped_model(), o);
  try {
    second.start();
    FAIL() << "a second server started on a port in use";
  } catch (const ServerError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(o.port)), std::string::npos)
        << e.what();
  }
  server_->stop();
  server_->stop();  // idempotent
  EXPECT_FALSE(client().Get("/healthz"));
  ServerOptions ephemeral;
  ephemeral.port = 0;
  for (int i = 0; i < 3; ++i) {  // start, serve, stop again and again
    DigitServer s(test::shipped_model(), ephemeral);
    s.start();
    auto res = httplib::Client("127.0.0.1", s.port()).Get("/healthz");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
}

// The server's own code without sockets (what fuzz/fuzz_http drives): the same answers as over HTTP.
TEST(ServerApi, RespondAnswersAsTheServerDoesWithoutSockets) {
  const LoadedModel& loaded = test::shipped_model();
  ServerOptions o;
  o.max_body_bytes = 4096;
  o.files = {{"/", "text/html; charset=utf-8", "<p>the page</p>"}};
  http::Api api(loaded, o);
  DigitClassifier classifier(loaded.model);
  using Headers = std::vector<std::pair<std::string, std::string>>;
  const auto ask = [&](const std::string& method, const std::string& target, const Headers& headers,
                       const std::string& body = "") {
    return http::respond(api, classifier, method, target, headers, body);
  };
  EXPECT_EQ(ask("GET", "/healthz", {}).body, R"({"status":"ok"})");
  EXPECT_EQ(ask("GET", "/", {}).body, "<p>the page</p>");
  EXPECT_EQ(nlohmann::json::parse(ask("GET", "/api/model", {}).body)["arch"], "lenet5");

  const MnistImage seven = preprocess_digit(write_digits("7"));
  const std::string json = pixels_json(seven);
  const http::Response r = ask("POST", "/api/predict?maps=1",
                               {{"Content-Type", "application/json"}, {"content-length", "x"}}, json);
  EXPECT_EQ(r.status, 400) << "a junk Content-Length, whatever the case of its name";
  const http::Response ok =
      ask("POST", "/api/predict?maps=1",
          {{"Content-Type", "application/json"}, {"Content-Length", std::to_string(json.size())}}, json);
  ASSERT_EQ(ok.status, 200) << ok.body;
  const nlohmann::json j = nlohmann::json::parse(ok.body);
  EXPECT_EQ(j["digit"], DigitClassifier(loaded.model).classify(seven).digit);
  EXPECT_EQ(j["maps"].size(), 4u);

  struct Case {
    std::string method, target;
    Headers headers;
    std::string body;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"POST", "/api/predict", {{"Content-Type", "application/json"}}, "", 411},
           {"GET", "/index.html%00.png", {}, "", 400},
           {"GET", "/api/predict?maps=2", {}, "", 405},
           {"DELETE", "/", {}, "", 405},
           {"POST", "/nowhere", {{"Content-Length", "0"}}, "", 404},
           {"POST",
            "/api/predict?maps=2",
            {{"Content-Type", "image/png"}, {"Content-Length", "1"}},
            "x",
            400},
           {"POST", "/api/read", {{"Content-Type", "text/plain"}, {"Content-Length", "1"}}, "x", 415},
           {"POST", "/api/read", {{"Content-Type", "image/png"}, {"Content-Length", "5000"}}, "", 413},
           // chunked: the length is known only at the end
           {"POST",
            "/api/read",
            {{"Content-Type", "image/png"}, {"Transfer-Encoding", "chunked"}},
            std::string(5000, 'x'),
            413},
           {"POST", "/api/read", {{"Content-Type", "image/png"}, {"Content-Length", "3"}}, "abc", 422},
       }) {
    const http::Response a = ask(c.method, c.target, c.headers, c.body);
    EXPECT_EQ(a.status, c.status) << c.method << " " << c.target << ": " << a.body;
    EXPECT_EQ(nlohmann::json::parse(a.body)["status"], c.status) << a.body;
  }
}

}  // namespace
}  // namespace lenet

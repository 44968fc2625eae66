// Writes the committed seed corpora under DIR/<target>/ (run by hand: build-fuzz/make_seeds fuzz/corpus):
// small valid inputs of every kind each reader accepts, and a few near misses, for the fuzzers to mutate.
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../tests/helpers/pictures.h"
#include "lenet/checkpoint.h"
#include "lenet/image.h"
#include "lenet/lenet5_io.h"
#include "lenet/model_file.h"
#include "lenet/trainer.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

void write(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
}

Bytes read(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(std::uint8_t(v >> shift));
}

Bytes gzip(const Bytes& raw) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&z, uLong(raw.size())) + 32);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = uInt(raw.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A small "digit": a ring, like a 0, in a rows × cols image.
Bytes ring(int rows, int cols) {
  Bytes img(std::size_t(rows) * cols);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const double dx = (x - cols / 2.0) / (cols / 3.0), dy = (y - rows / 2.0) / (rows / 2.5);
      const double r = dx * dx + dy * dy;
      img[std::size_t(y) * cols + x] = r > 0.5 && r < 1.0 ? 255 : 0;
    }
  return img;
}

void idx_seeds(const fs::path& dir) {
  Bytes labels;
  put_be32(labels, 0x801);
  put_be32(labels, 10);
  for (int i = 0; i < 10; ++i) labels.push_back(std::uint8_t(i));
  write(dir / "labels-idx1", labels);
  write(dir / "labels-idx1.gz", gzip(labels));
  Bytes images;
  put_be32(images, 0x803);
  put_be32(images, 2);
  put_be32(images, 7);
  put_be32(images, 6);
  for (int i = 0; i < 2; ++i) {
    const Bytes r = ring(7, 6);
    images.insert(images.end(), r.begin(), r.end());
  }
  write(dir / "images-idx3", images);
  write(dir / "images-idx3.gz", gzip(images));
  Bytes wrong_type = images;  // idx3 of int32: a magic the reader names but refuses
  wrong_type[2] = 0x0c;
  write(dir / "images-idx3-int32", wrong_type);
}

void model_seeds(const fs::path& dir) {
  using lenet::ModelFile;
  ModelFile small;  // a valid file that is not a LeNet-5
  small.arch = "lenet5";
  small.config = {{"recipe", {{"epochs", 1}, {"lr", 0.5}}}, {"note", "seed"}};
  small.tensors = {{"C1.bias", {6}, {0, 1, 2, 3, 4, 5}}, {"scalar", {}, {1.5f}}, {"empty", {0, 3}, {}}};
  write(dir / "small-model", lenet::serialize_model(small));

  // A real LeNet-5 (1998: the smaller of the two), and a checkpoint of it. (Plain SGD keeps the checkpoint
  // small: the optimiser's tensors are checked like the order, which is there.)
  lenet::Lenet5 model(lenet::Arch::Lenet5_1998);
  lenet::Rng rng(1);
  model.init(rng);
  const fs::path tmp = fs::temp_directory_path() / "lenet-make-seeds.bin";
  lenet::save_lenet5(tmp, model, {{"seed", 1}});
  write(dir / "lenet5-1998", read(tmp));

  lenet::Dataset data;
  data.count = 4;
  data.rows = data.cols = 8;
  for (int i = 0; i < 4; ++i) {
    const Bytes r = ring(8, 8);
    data.images.insert(data.images.end(), r.begin(), r.end());
    data.labels.push_back(std::uint8_t(i));
  }
  lenet::TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch = 1;
  cfg.optimizer.kind = lenet::OptimizerKind::Sgd;
  cfg.lr = 0.001f;
  cfg.loss = lenet::LossKind::Map;
  cfg.threads = 1;
  std::atomic<bool> stop{false};
  lenet::TrainCallbacks cb;
  cb.on_batch = [&](const lenet::BatchProgress& p) { stop = p.done == 2; };
  lenet::TrainCheckpointing ck;
  ck.path = tmp;
  ck.stop = &stop;
  fs::remove(tmp);
  try {
    lenet::train(model, data, nullptr, cfg, cb, ck);
  } catch (const lenet::TrainingInterrupted&) {
  }
  write(dir / "checkpoint-1998-sgd", read(tmp));
  fs::remove(tmp);
}

// Dark ink on light paper in every format the decoder reads (written by each format's own library, as the
// tests do), a sideways phone JPEG, a colour picture with transparency, and a row of three digits.
void image_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  constexpr int kSide = 24;
  Bytes grey = ring(kSide, kSide);
  for (std::uint8_t& p : grey) p = std::uint8_t(255 - p);
  for (const char* ext : {"png", "jpg", "pgm"}) {
    const fs::path path = dir / (std::string("digit.") + ext);
    lenet::save_image(path, grey.data(), kSide, kSide, 1, 75);
    std::printf("%s: %ju bytes\n", path.c_str(), std::uintmax_t(fs::file_size(path)));
  }
  const lenet::GreyImage g{kSide, kSide, grey, "seed"};
  const auto put = [&](const char* name, const std::string& bytes) {
    write(dir / name, Bytes(bytes.begin(), bytes.end()));
  };
  put("digit.webp", lenet::test::webp_file(g));
  put("digit.tif", lenet::test::tiff_file(g, 1, true));
  put("digit.gif", lenet::test::gif_file(g, true, true));
  put("digit.bmp", lenet::test::bmp_file(g, 8));
  put("digit-p2.pgm", lenet::test::pnm_file(g, '2'));
  put("digit-sideways.jpg", lenet::test::jpeg_file(g, 6));
  Bytes rgba;  // blue ink on a transparent background
  for (const std::uint8_t p : ring(kSide, kSide)) rgba.insert(rgba.end(), {20, 40, 200, p});
  lenet::save_image(dir / "digit-rgba.png", rgba.data(), kSide, kSide, 4);
  Bytes rgb;
  for (const std::uint8_t p : grey)
    rgb.insert(rgb.end(), {p, std::uint8_t(p * 9 / 10), std::uint8_t(p * 8 / 10)});
  lenet::save_image(dir / "digit.ppm", rgb.data(), kSide, kSide, 3);
  constexpr int kRowWidth = 3 * kSide + 8;
  Bytes row(std::size_t(kRowWidth) * kSide, 255);
  for (int d = 0; d < 3; ++d)
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x)
        row[std::size_t(y) * kRowWidth + 4 + d * kSide + x] = grey[std::size_t(y) * kSide + x];
  lenet::save_image(dir / "number.png", row.data(), kRowWidth, kSide, 1);
}

// Requests a client of `lenet serve` sends, one per file, some pipelined, one chunked, one oversized.
void http_seeds(const fs::path& dir, const fs::path& image_dir) {
  const auto text = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
  const auto post = [&](const std::string& target, const std::string& type, const Bytes& body) {
    Bytes r = text("POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + type +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    r.insert(r.end(), body.begin(), body.end());
    return r;
  };
  write(dir / "get-healthz", text("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  write(dir / "get-model-and-page",
        text("GET /api/model HTTP/1.1\r\nHost: localhost\r\n\r\nGET / HTTP/1.1\r\nHost: localhost\r\n"
             "Connection: close\r\n\r\n"));
  std::string pixels = "{\"pixels\": [";
  const Bytes digit = ring(28, 28);
  for (std::size_t i = 0; i < digit.size(); ++i) pixels += (i ? "," : "") + std::to_string(digit[i]);
  pixels += "], \"maps\": true}";
  write(dir / "predict-json", post("/api/predict", "application/json", text(pixels)));
  write(dir / "predict-png", post("/api/predict?maps=1", "image/png", read(image_dir / "digit.png")));
  write(dir / "read-png", post("/api/read?reject=0.5", "image/png", read(image_dir / "number.png")));
  const Bytes jpeg = read(image_dir / "digit.jpg");
  char size_hex[16];
  std::snprintf(size_hex, sizeof size_hex, "%zx", jpeg.size());
  Bytes chunked =
      text(std::string("POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/jpeg\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n") +
           size_hex + "\r\n");
  chunked.insert(chunked.end(), jpeg.begin(), jpeg.end());
  const Bytes end = text("\r\n0\r\n\r\n");
  chunked.insert(chunked.end(), end.begin(), end.end());
  write(dir / "predict-chunked-jpeg", chunked);
  write(dir / "oversized", text("POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\n"
                                "Content-Length: 99999999999\r\n\r\n\x89PNG"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR (e.g. fuzz/corpus)\n");
    return 2;
  }
  const fs::path dir = argv[1];
  idx_seeds(dir / "idx");
  model_seeds(dir / "model");
  image_seeds(dir / "image");
  http_seeds(dir / "http", dir / "image");
  return 0;
}

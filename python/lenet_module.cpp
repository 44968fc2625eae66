// The `lenet` Python module (pybind11): load a model, predict digits from numpy arrays in batches on all
// cores with the GIL released, preprocess and read pictures, train from numpy arrays. Numbers in, numbers
// out; every computation is the C++ library's.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lenet/classify.h"
#include "lenet/idx.h"
#include "lenet/image.h"
#include "lenet/lenet5_io.h"
#include "lenet/segment.h"
#include "lenet/trainer.h"

namespace py = pybind11;

namespace lenet::python {

namespace {

// Batches fed to the engine: as `lenet bench` measures inference (a whole batch split over the threads).
constexpr int kPredictBatch = 1000;

struct Model {
  Lenet5 net;
  nlohmann::json config;
};

py::object json_to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A numpy array of pictures → a Dataset of uint8 pixels (0 background, 255 ink). Accepted: uint8, or float
// in [0, 1] (rounded to the nearest of 256 levels, as a picture file holds); shape (H, W), (N, H, W) or
// (N, 1, H, W), H and W at most 32 (MNIST: 28).
Dataset to_dataset(const py::array& images, const char* what) {
  const py::buffer_info info = images.request();
  std::vector<py::ssize_t> shape = info.shape;
  if (shape.size() == 4 && shape[1] == 1) shape.erase(shape.begin() + 1);
  if (shape.size() == 2) shape.insert(shape.begin(), 1);
  if (shape.size() != 3)
    throw py::value_error(std::string(what) + ": expected shape (H, W), (N, H, W) or (N, 1, H, W), found " +
                          std::to_string(info.ndim) + " dimensions");
  if (shape[1] < 1 || shape[2] < 1 || shape[1] > kInputSide || shape[2] > kInputSide)
    throw py::value_error(std::string(what) +
                          ": pictures must be at most 32x32 pixels (MNIST: 28x28), found " +
                          std::to_string(shape[1]) + "x" + std::to_string(shape[2]));
  Dataset d;
  d.count = int(shape[0]);
  d.rows = int(shape[1]);
  d.cols = int(shape[2]);
  const std::size_t total = std::size_t(d.count) * d.rows * d.cols;
  d.images.resize(total);
  if (py::isinstance<py::array_t<std::uint8_t>>(images) && images.dtype().is(py::dtype::of<std::uint8_t>())) {
    const auto a = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(images);
    std::copy_n(a.data(), total, d.images.begin());
  } else if (images.dtype().kind() == 'f') {
    const auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(images);
    const float* p = a.data();
    for (std::size_t i = 0; i < total; ++i) {
      if (!(p[i] >= 0.0f && p[i] <= 1.0f))
        throw py::value_error(std::string(what) +
                              ": float pixels must lie in [0, 1] (0 background, 1 ink), found " +
                              std::to_string(p[i]) + " at flat index " + std::to_string(i));
      d.images[i] = std::uint8_t(std::lround(p[i] * 255.0f));
    }
  } else {
    throw py::type_error(std::string(what) + ": expected uint8 (0-255) or float (0-1) pixels, found dtype " +
                         std::string(py::str(images.dtype())));
  }
  return d;
}

std::vector<std::uint8_t> to_labels(const py::array& labels, int count) {
  const auto a = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(labels);
  if (!a || a.ndim() != 1 || a.shape(0) != count)
    throw py::value_error("labels: expected a 1-D integer array of " + std::to_string(count) + " labels");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (a.data()[i] < 0 || a.data()[i] >= kClasses)
      throw py::value_error("labels: expected classes 0-9, found " + std::to_string(a.data()[i]) +
                            " at index " + std::to_string(i));
    out[std::size_t(i)] = std::uint8_t(a.data()[i]);
  }
  return out;
}

// Raw scores (N, 10) of every picture, computed without the GIL.
py::array_t<float> scores_of(const Model& m, const Dataset& d, int threads) {
  py::array_t<float> scores({py::ssize_t(d.count), py::ssize_t(kClasses)});
  float* out = scores.mutable_data();
  {
    py::gil_scoped_release release;
    Engine engine(m.net, threads, kPredictBatch);
    for (int first = 0; first < d.count; first += kPredictBatch)
      engine.forward_scores(m.net, d, first, std::min(kPredictBatch, d.count - first),
                            out + std::size_t(first) * kClasses);
  }
  return scores;
}

py::tuple predict(const Model& m, const py::array& images, int threads) {
  const Dataset d = to_dataset(images, "images");
  py::array_t<float> scores = scores_of(m, d, threads);
  py::array_t<std::int64_t> digits(py::ssize_t(d.count));
  py::array_t<float> probs({py::ssize_t(d.count), py::ssize_t(kClasses)});
  {
    const float* s = scores.data();
    std::int64_t* dg = digits.mutable_data();
    float* p = probs.mutable_data();
    py::gil_scoped_release release;
    for (int i = 0; i < d.count; ++i) {
      dg[i] = m.net.predict_class(s + std::size_t(i) * kClasses);
      m.net.probabilities(p + std::size_t(i) * kClasses, s + std::size_t(i) * kClasses);
    }
  }
  return py::make_tuple(digits, probs);
}

py::array_t<std::uint8_t> picture_array(const MnistImage& img) {
  py::array_t<std::uint8_t> out({py::ssize_t(kMnistSide), py::ssize_t(kMnistSide)});
  std::copy(img.begin(), img.end(), out.mutable_data());
  return out;
}

std::shared_ptr<Model> train_model(const py::array& images, const py::array& labels,
                                   const std::string& arch_text, int epochs, const std::string& batch_text,
                                   const std::string& optimizer_text, float lr, float lr_gamma, int lr_step,
                                   float momentum, float weight_decay, float sdlm_mu,
                                   const std::string& loss_text, float map_j, std::uint64_t seed, int threads,
                                   bool distort, const std::optional<py::array>& test_images,
                                   const std::optional<py::array>& test_labels, const py::object& on_epoch) {
  const auto arch = parse_arch(arch_text);
  if (!arch) throw py::value_error("arch must be lenet5 or lenet5-1998, not '" + arch_text + "'");
  auto model = std::make_shared<Model>(Model{Lenet5(*arch), {}});
  Dataset train_set = to_dataset(images, "images");
  train_set.labels = to_labels(labels, train_set.count);
  std::optional<Dataset> test_set;
  if (test_images.has_value() != test_labels.has_value())
    throw py::value_error("give both test_images and test_labels, or neither");
  if (test_images) {
    test_set = to_dataset(*test_images, "test_images");
    test_set->labels = to_labels(*test_labels, test_set->count);
  }
  // The library's defaults for the architecture and optimiser (as lenet train), with what is given.
  const std::string opt_name =
      optimizer_text != "auto" ? optimizer_text : std::string(optimizer_name(default_optimizer(*arch)));
  const auto opt = parse_optimizer(opt_name);
  if (!opt)
    throw py::value_error("optimizer must be sgd, momentum, adam or sdlm, not '" + optimizer_text + "'");
  TrainConfig cfg = default_train_config(*arch, *opt, epochs);
  cfg.optimizer.sdlm_mu = sdlm_mu;
  cfg.optimizer.momentum = momentum;
  cfg.optimizer.weight_decay = weight_decay;
  cfg.distort = distort;
  if (batch_text == "all")
    cfg.batch = 0;
  else if (batch_text != "auto") {
    try {
      cfg.batch = std::stoi(batch_text);
    } catch (const std::exception&) {
      cfg.batch = -1;
    }
    if (cfg.batch < 1)
      throw py::value_error("batch must be auto, all or a positive number, not '" + batch_text + "'");
  }
  if (lr > 0) scale_learning_rate(cfg, lr);
  cfg.lr_gamma = lr_gamma;
  cfg.lr_step = lr_step;
  if (loss_text != "default") {
    const auto loss = parse_loss(loss_text);
    if (!loss || (*loss == LossKind::CrossEntropy) != (*arch == Arch::Lenet5))
      throw py::value_error("loss '" + loss_text + "' does not fit arch " + arch_text +
                            " (lenet5: xent; lenet5-1998: map or mle)");
    cfg.loss = *loss;
  }
  cfg.map_j = map_j;
  cfg.seed = seed;
  cfg.threads = threads > 0 ? threads : default_threads();
  Rng rng(seed);
  model->net.init(rng);

  TrainCallbacks callbacks;
  if (!on_epoch.is_none())
    callbacks.on_epoch = [&on_epoch](const EpochStats& s) {
      py::gil_scoped_acquire acquire;
      py::dict d;
      d["epoch"] = s.epoch;
      d["lr"] = s.lr;
      d["train_loss"] = s.train_loss;
      d["train_accuracy"] = s.train_accuracy;
      d["test_accuracy"] = s.test_accuracy;
      d["seconds"] = s.seconds;
      on_epoch(d);
    };
  std::vector<EpochStats> history;
  {
    py::gil_scoped_release release;
    history = train(model->net, train_set, test_set ? &*test_set : nullptr, cfg, callbacks);
  }
  model->config = {{"recipe", train_recipe(cfg, cfg.threads, train_set, test_set ? &*test_set : nullptr)},
                   {"trained_by", "python"}};
  if (!history.empty() && history.back().test_accuracy >= 0)
    model->config["test_accuracy"] = history.back().test_accuracy;
  return model;
}

}  // namespace

}  // namespace lenet::python

using namespace lenet;
using namespace lenet::python;

PYBIND11_MODULE(lenet, m) {
  m.doc() =
      "LeNet-5 (LeCun et al. 1998) and its modern variant: the lenet C++ library from Python.\n\n"
      "    import lenet\n"
      "    model = lenet.load('models/lenet5.bin')\n"
      "    digits, probabilities = model.predict(images)   # images: (N, 28, 28) uint8\n";

  py::register_exception<ModelFileError>(m, "ModelFileError", PyExc_ValueError);
  py::register_exception<ImageError>(m, "ImageError", PyExc_ValueError);

  py::class_<Model, std::shared_ptr<Model>>(m, "Model", "A loaded or trained LeNet-5.")
      .def_property_readonly(
          "arch", [](const Model& self) { return std::string(arch_name(self.net.arch())); },
          "'lenet5' (modern) or 'lenet5-1998' (the paper's).")
      .def_property_readonly(
          "config", [](const Model& self) { return json_to_python(self.config); },
          "The training record stored with the model (recipe, accuracies), as a dict.")
      .def_property_readonly(
          "parameters", [](const Model& self) { return self.net.parameter_count(); },
          "Number of trainable parameters.")
      .def(
          "predict", &predict, py::arg("images"), py::arg("threads") = 0,
          "predict(images, threads=0) -> (digits, probabilities)\n\n"
          "images: numpy uint8 (0 background .. 255 ink) or float (0 .. 1) pixels, MNIST-style (white digit\n"
          "on black, centred), shape (H, W), (N, H, W) or (N, 1, H, W) with H, W <= 32; each picture is\n"
          "centred in the network's 32x32 input. Returns digits, int64 (N,), and probabilities, float32\n"
          "(N, 10). Runs on `threads` cores (0: all) with the GIL released.")
      .def(
          "scores",
          [](const Model& self, const py::array& images, int threads) {
            return scores_of(self, to_dataset(images, "images"), threads);
          },
          py::arg("images"), py::arg("threads") = 0,
          "scores(images, threads=0) -> float32 (N, 10): the network's raw outputs, logits (lenet5, the\n"
          "answer is the largest) or RBF penalties (lenet5-1998, the smallest). Images as for predict.")
      .def(
          "save",
          [](const Model& self, const std::string& path) { save_lenet5(path, self.net, self.config); },
          py::arg("path"), "save(path): write the model file (docs/model-format.md), atomically.")
      .def("__repr__", [](const Model& self) {
        return "<lenet.Model " + std::string(arch_name(self.net.arch())) + ", " +
               std::to_string(self.net.parameter_count()) + " parameters>";
      });

  m.def(
      "load",
      [](const std::string& path) {
        LoadedModel l = load_lenet5(path);
        return std::make_shared<Model>(Model{std::move(l.model), std::move(l.config)});
      },
      py::arg("path"),
      "load(path) -> Model: read a model file written by `lenet train` (or Model.save, or\n"
      "tools/import_pytorch.py). Raises lenet.ModelFileError naming the file and what is wrong.");

  m.def(
      "preprocess",
      [](const std::string& path) { return picture_array(preprocess_digit(load_grey_image(path))); },
      py::arg("path"),
      "preprocess(path) -> uint8 (28, 28): the picture file (PNG, JPEG, ...) of one digit as the network\n"
      "reads it: grey, ink found, size-normalised and centred as MNIST, white on black (as `lenet predict\n"
      "--show-input`). Raises lenet.ImageError naming the file.");

  m.def(
      "read_number",
      [](const std::string& path, const std::shared_ptr<Model>& model, float reject_below) {
        const GreyImage image = load_grey_image(path);
        DigitClassifier classifier(model->net, 1);
        ReadOptions options;
        options.reject_below = reject_below;
        Reading r;
        {
          py::gil_scoped_release release;
          r = read_number(classifier, image, options);
        }
        py::list digits;
        for (const ReadDigit& d : r.digits) {
          py::dict e;
          e["digit"] = d.guess.digit;
          e["confidence"] = d.guess.confidence;
          e["box"] = py::make_tuple(d.box.x, d.box.y, d.box.w, d.box.h);
          e["input"] = picture_array(d.input);
          digits.append(e);
        }
        py::dict out;
        out["text"] = r.text;
        out["digits"] = digits;
        return out;
      },
      py::arg("path"), py::arg("model"), py::arg("reject_below") = 0.0f,
      "read_number(path, model, reject_below=0) -> dict: the number written as one row of digits in the\n"
      "picture (as `lenet read`): {'text': '2024', 'digits': [{'digit', 'confidence', 'box': (x, y, w, h),\n"
      "'input': uint8 (28, 28)}, ...]}. A digit less confident than reject_below is written '?'.");

  m.def("train", &train_model, py::arg("images"), py::arg("labels"), py::kw_only(),
        py::arg("arch") = "lenet5", py::arg("epochs") = 0, py::arg("batch") = "auto",
        py::arg("optimizer") = "auto", py::arg("lr") = 0.0f, py::arg("lr_gamma") = 0.5f,
        py::arg("lr_step") = 4, py::arg("momentum") = 0.9f, py::arg("weight_decay") = 0.0f,
        py::arg("sdlm_mu") = 0.5f, py::arg("loss") = "default", py::arg("map_j") = kDefaultMapJ,
        py::arg("seed") = 1, py::arg("threads") = 0, py::arg("distort") = false,
        py::arg("test_images") = py::none(), py::arg("test_labels") = py::none(),
        py::arg("on_epoch") = py::none(),
        "train(images, labels, *, arch='lenet5', epochs=0, batch='auto', optimizer='auto', lr=0, "
        "lr_gamma=0.5,\n"
        "      lr_step=4, momentum=0.9, weight_decay=0, sdlm_mu=0.5, loss='default', map_j=1, seed=1, "
        "threads=0,\n"
        "      distort=False, test_images=None, test_labels=None, on_epoch=None) -> Model\n\n"
        "Trains a freshly initialised network on numpy pictures (as for Model.predict) and labels (0-9),\n"
        "with `lenet train`'s options and defaults (0 / 'auto' / 'default': the architecture's own: 12\n"
        "epochs of momentum at batch 64 for lenet5, the paper's 20 passes of SDLM at batch 1 for\n"
        "lenet5-1998). on_epoch(dict) is called after each epoch with its loss and accuracies. The GIL is\n"
        "released while training.");
}

// Checkpoints as model files: TrainState to and from the config JSON and extra tensors, with every field
// checked on the way in (a checkpoint is read back by train(), which indexes the data set with its orders).
#include "lenet/checkpoint.h"

#include <cmath>
#include <limits>

#include "lenet/lenet5_io.h"

namespace lenet {
namespace {

using nlohmann::json;

constexpr const char* kOrder = "train.order";
constexpr const char* kHessianOrder = "train.hessian_order";
constexpr const char* kOptimizerM = "optimizer.m";
constexpr const char* kOptimizerV = "optimizer.v";
constexpr long long kMaxEpochs = 1 << 20;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw ModelFileError("checkpoint '" + name + "': " + what);
}

std::vector<float> indices_to_floats(const std::vector<int>& v) { return {v.begin(), v.end()}; }

// Typed, range-checked reads of the checkpoint's JSON; each error names the field.
class Fields {
 public:
  Fields(const json& object, std::string name, std::string at)
      : j_(object), name_(std::move(name)), at_(std::move(at)) {
    if (!j_.is_object()) fail(name_, at_ + ": expected a JSON object, found " + std::string(j_.type_name()));
  }
  const json& get(const std::string& key) const {
    const auto it = j_.find(key);
    if (it == j_.end()) fail(name_, "field " + at_ + "." + key + " is missing");
    return *it;
  }
  long long integer(const std::string& key, long long lo, long long hi) const {
    const json& v = get(key);
    if (!v.is_number_integer())
      fail(name_, "field " + at_ + "." + key + ": expected an integer, found " + v.dump());
    // An unsigned value above the signed range is out of range, not wrapped.
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(hi))
      fail(name_, "field " + at_ + "." + key + ": expected " + std::to_string(lo) + ".." +
                      std::to_string(hi) + ", found " + v.dump());
    const long long x = v.get<long long>();
    if (x < lo || x > hi)
      fail(name_, "field " + at_ + "." + key + ": expected " + std::to_string(lo) + ".." +
                      std::to_string(hi) + ", found " + std::to_string(x));
    return x;
  }
  double number(const std::string& key) const {
    const json& v = get(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail(name_, "field " + at_ + "." + key + ": expected a finite number, found " + v.dump());
    return v.get<double>();
  }
  std::array<std::uint64_t, 4> rng_state(const std::string& key) const {
    const json& v = get(key);
    std::array<std::uint64_t, 4> s{};
    if (!v.is_array() || v.size() != 4)
      fail(name_,
           "field " + at_ + "." + key + ": expected an array of 4 unsigned integers, found " + v.dump());
    for (std::size_t i = 0; i < 4; ++i) {
      if (!v[i].is_number_unsigned())
        fail(name_, "field " + at_ + "." + key + ": expected unsigned integers, found " + v[i].dump());
      s[i] = v[i].get<std::uint64_t>();
    }
    if (s == std::array<std::uint64_t, 4>{})
      fail(name_, "field " + at_ + "." + key + ": an all-zero generator state never changes");
    return s;
  }

 private:
  const json& j_;
  std::string name_, at_;
};

// A tensor of shape [n] holding a permutation of 0..n−1.
std::vector<int> read_order(const TensorRecord& t, const std::string& name) {
  if (t.shape.size() != 1 || t.shape[0] < 1 || t.shape[0] > kMaxCheckpointImages)
    fail(name, "tensor " + t.name +
                   ": expected shape [n] with 1 <= n <= " + std::to_string(kMaxCheckpointImages) +
                   ", found " + std::to_string(t.shape.size()) + " dimensions");
  const std::size_t n = t.data.size();
  std::vector<int> order(n);
  std::vector<bool> seen(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = t.data[i];
    // x < n first, so that the conversion below is defined.
    if (!(x >= 0 && x < float(n)) || x != std::floor(x) || seen[std::size_t(x)])
      fail(name, "tensor " + t.name + ": expected a permutation of 0.." + std::to_string(n - 1) + ", found " +
                     std::to_string(x) + " at index " + std::to_string(i));
    order[i] = int(x);
    seen[std::size_t(x)] = true;
  }
  return order;
}

std::vector<float> read_parameter_sized(const TensorRecord& t, std::size_t parameters,
                                        const std::string& name) {
  if (t.shape != std::vector<std::int64_t>{std::int64_t(parameters)})
    fail(name, "tensor " + t.name + ": expected shape [" + std::to_string(parameters) +
                   "] (one value per parameter), found " + std::to_string(t.data.size()) + " values");
  return t.data;
}

}  // namespace

void save_checkpoint(const std::string& path, const Lenet5& model, const TrainState& s) {
  if (s.order.size() > std::size_t(kMaxCheckpointImages))
    throw ModelFileError("cannot save checkpoint to '" + path + "': " + std::to_string(s.order.size()) +
                         " training images, checkpoints hold at most " +
                         std::to_string(kMaxCheckpointImages));
  json history = json::array();
  for (const EpochStats& e : s.history) history.push_back(to_json(e));
  json c = {{"version", kCheckpointVersion},
            {"recipe", s.recipe},
            {"epoch", s.epoch},
            {"position", s.position},
            {"step", s.step},
            {"loss_sum", s.loss_sum},
            {"correct", s.correct},
            {"seconds", s.seconds},
            {"optimizer_steps", s.optimizer_steps},
            {"rng", {{"shuffle", s.shuffle_rng}, {"hessian", s.hessian_rng}, {"distort", s.distort_rng}}},
            {"history", std::move(history)}};
  ModelFile f;
  f.arch = std::string(arch_name(model.arch()));
  f.config = {{"checkpoint", std::move(c)}};
  for (const TensorInfo& t : model.tensors())
    f.tensors.push_back(
        TensorRecord{t.name, t.shape,
                     std::vector<float>(model.params.begin() + std::ptrdiff_t(t.offset),
                                        model.params.begin() + std::ptrdiff_t(t.offset + t.count))});
  const auto n = std::int64_t(s.order.size());
  f.tensors.push_back({kOrder, {n}, indices_to_floats(s.order)});
  if (!s.hessian_order.empty())
    f.tensors.push_back(
        {kHessianOrder, {std::int64_t(s.hessian_order.size())}, indices_to_floats(s.hessian_order)});
  if (!s.optimizer_m.empty())
    f.tensors.push_back({kOptimizerM, {std::int64_t(s.optimizer_m.size())}, s.optimizer_m});
  if (!s.optimizer_v.empty())
    f.tensors.push_back({kOptimizerV, {std::int64_t(s.optimizer_v.size())}, s.optimizer_v});
  save_model_file(path, f);
}

Checkpoint checkpoint_from_model_file(ModelFile file, const std::string& name) {
  if (!file.config.is_object() || !file.config.contains("checkpoint"))
    fail(name, "not a checkpoint but a model file (its config has no \"checkpoint\" entry)");
  const json c = std::move(file.config["checkpoint"]);
  const Fields top(c, name, "checkpoint");
  const long long version = top.integer("version", 0, std::numeric_limits<int>::max());
  if (version > kCheckpointVersion)
    fail(name, "written by a newer lenet: checkpoint version " + std::to_string(version) +
                   ", this build reads up to " + std::to_string(kCheckpointVersion));
  if (version < 1) fail(name, "invalid checkpoint version 0");

  // The model's own tensors go through the model loader's checks; the trainer's are read here.
  std::vector<TensorRecord> model_tensors;
  const TensorRecord* order = nullptr;
  const TensorRecord* hessian_order = nullptr;
  const TensorRecord* m = nullptr;
  const TensorRecord* v = nullptr;
  for (TensorRecord& t : file.tensors) {
    const TensorRecord** slot = t.name == kOrder          ? &order
                                : t.name == kHessianOrder ? &hessian_order
                                : t.name == kOptimizerM   ? &m
                                : t.name == kOptimizerV   ? &v
                                                          : nullptr;
    if (slot)
      *slot = &t;
    else
      model_tensors.push_back(std::move(t));
  }
  ModelFile model_part{file.arch, json::object(), std::move(model_tensors)};
  Checkpoint out{lenet5_from_model_file(std::move(model_part), name).model, {}};
  TrainState& s = out.state;

  if (!order) fail(name, "tensor " + std::string(kOrder) + " is missing");
  s.order = read_order(*order, name);
  const auto n = static_cast<long long>(s.order.size());
  if (hessian_order) {
    s.hessian_order = read_order(*hessian_order, name);
    if (s.hessian_order.size() != s.order.size())
      fail(name, "tensor " + std::string(kHessianOrder) + ": expected " + std::to_string(n) +
                     " values like " + kOrder + ", found " + std::to_string(s.hessian_order.size()));
  }
  if (m) s.optimizer_m = read_parameter_sized(*m, out.model.params.size(), name);
  if (v) s.optimizer_v = read_parameter_sized(*v, out.model.params.size(), name);
  if (v && !m) fail(name, "tensor " + std::string(kOptimizerV) + " without " + kOptimizerM);

  s.recipe = top.get("recipe");
  if (!s.recipe.is_object()) fail(name, "field checkpoint.recipe: expected a JSON object");
  s.epoch = int(top.integer("epoch", 0, kMaxEpochs));
  s.position = top.integer("position", 0, n - 1);
  s.step = top.integer("step", 0, s.position);
  s.correct = top.integer("correct", 0, s.position);
  s.loss_sum = top.number("loss_sum");
  s.seconds = top.number("seconds");
  s.optimizer_steps = top.integer("optimizer_steps", 0, std::numeric_limits<long long>::max());
  const Fields rng(top.get("rng"), name, "checkpoint.rng");
  s.shuffle_rng = rng.rng_state("shuffle");
  s.hessian_rng = rng.rng_state("hessian");
  s.distort_rng = rng.rng_state("distort");

  const json& history = top.get("history");
  if (!history.is_array() || history.size() != std::size_t(s.epoch))
    fail(name, "field checkpoint.history: expected an array of the " + std::to_string(s.epoch) +
                   " epochs completed, found " +
                   (history.is_array() ? std::to_string(history.size()) + " entries"
                                       : std::string(history.type_name())));
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Fields e(history[i], name, "checkpoint.history[" + std::to_string(i) + "]");
    EpochStats st;
    st.epoch = int(e.integer("epoch", static_cast<long long>(i) + 1, static_cast<long long>(i) + 1));
    st.lr = e.number("lr");
    st.train_loss = e.number("train_loss");
    st.train_accuracy = e.number("train_accuracy");
    st.test_accuracy = e.number("test_accuracy");
    st.train_eval_accuracy = e.number("train_eval_accuracy");
    st.test_loss = e.number("test_loss");
    st.seconds = e.number("seconds");
    st.images = e.integer("images", 0, std::numeric_limits<long long>::max());
    s.history.push_back(st);
  }
  return out;
}

Checkpoint parse_checkpoint(const std::uint8_t* data, std::size_t size, const std::string& name) {
  return checkpoint_from_model_file(parse_model(data, size, name), name);
}

Checkpoint load_checkpoint(const std::string& path) {
  return checkpoint_from_model_file(load_model_file(path), path);
}

std::vector<EpochStats> train(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                              const TrainConfig& config, const TrainCallbacks& callbacks,
                              const TrainCheckpointing& checkpointing) {
  TrainCallbacks cb = callbacks;
  if (!checkpointing.path.empty()) {
    cb.on_checkpoint = [&path = checkpointing.path](const Lenet5& m, const TrainState& state) {
      save_checkpoint(path, m, state);
    };
    cb.checkpoint_name = checkpointing.path;
    cb.checkpoint_every = checkpointing.every_seconds;
  }
  cb.stop = checkpointing.stop;
  return train(model, train_set, test_set, config, cb, checkpointing.resume);
}

}  // namespace lenet

// Lenet5 <-> ModelFile: tensors by name, checked against the architecture's own layout,
// so a file of another architecture or an older layout is refused instead of silently misread.
#include "lenet/lenet5_io.h"

#include <sstream>

#include "lenet/model_file.h"

namespace lenet {

namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::ostringstream s;
  s << "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ")";
  return s.str();
}

}  // namespace

void save_lenet5(const std::string& path, const Lenet5& model, const nlohmann::json& config) {
  ModelFile f;
  f.arch = std::string(arch_name(model.arch()));
  f.config = config;
  for (const TensorInfo& t : model.tensors())
    f.tensors.push_back(
        TensorRecord{t.name, t.shape,
                     std::vector<float>(model.params.begin() + std::ptrdiff_t(t.offset),
                                        model.params.begin() + std::ptrdiff_t(t.offset + t.count))});
  save_model_file(path, f);
}

LoadedModel load_lenet5(const std::string& path) {
  return lenet5_from_model_file(load_model_file(path), path);
}

LoadedModel lenet5_from_model_file(ModelFile f, const std::string& path) {
  const auto arch = parse_arch(f.arch);
  if (!arch)
    throw ModelFileError(path + ": unknown architecture '" + f.arch +
                         "' (this build knows lenet5, lenet5-1998)");
  if (f.config.is_object() && f.config.contains("checkpoint"))
    throw ModelFileError(
        path +
        ": a training checkpoint (lenet train --checkpoint), not a model: resume the run with "
        "--resume and --out to get the model");
  LoadedModel out{Lenet5(*arch), f.config};
  Lenet5& m = out.model;
  if (f.tensors.size() != m.tensors().size()) {
    std::ostringstream msg;
    msg << path << ": architecture " << f.arch << " has " << m.tensors().size() << " tensors, the file has "
        << f.tensors.size();
    throw ModelFileError(msg.str());
  }
  for (const TensorRecord& r : f.tensors) {
    const TensorInfo* t = m.find_tensor(r.name);
    if (!t) throw ModelFileError(path + ": tensor '" + r.name + "' does not belong to " + f.arch);
    if (r.shape != t->shape)
      throw ModelFileError(path + ": tensor " + r.name + " has shape " + shape_string(r.shape) + ", " +
                           f.arch + " expects " + shape_string(t->shape));
    std::copy(r.data.begin(), r.data.end(), m.params.begin() + std::ptrdiff_t(t->offset));
  }
  return out;
}

float min_digit_confidence(const nlohmann::json& config, const std::string& path) {
  if (!config.is_object() || !config.contains("not_a_digit")) return 0;
  const nlohmann::json& rule = config["not_a_digit"];
  const nlohmann::json* t =
      rule.is_object() && rule.contains("min_confidence") ? &rule["min_confidence"] : nullptr;
  if (!t || !t->is_number() || !(t->get<double>() > 0 && t->get<double>() < 1))
    throw ModelFileError(
        path + ": config.not_a_digit must be {\"min_confidence\": T} with 0 < T < 1, found " + rule.dump());
  return t->get<float>();
}

}  // namespace lenet

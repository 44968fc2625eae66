// ONNX export: a small protobuf wire-format writer (varints, length-delimited fields, fixed32) and the
// LeNet-5 graph built with it, field numbers from onnx.proto (ModelProto, GraphProto, NodeProto, ...).
//
// Why our own writer and not libprotobuf: the export only ever writes, and a handful of message types at
// that; libprotobuf would need onnx.proto compiled by protoc at build time and a runtime dependency on
// every machine that links the library, for ~100 lines of encoding that onnx.checker verifies in the tests.
#include "lenet/onnx_export.h"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "lenet/activation.h"
#include "lenet/rbf.h"

namespace lenet {

namespace {

static_assert(std::endian::native == std::endian::little,
              "raw_data of an ONNX tensor is little-endian: the floats are copied as they are in memory");

// One protobuf message being written: append fields in any order, nest messages as bytes.
class ProtoWriter {
 public:
  void varint(int field, std::uint64_t value) {
    tag(field, kVarint);
    raw_varint(value);
  }
  void bytes(int field, std::string_view value) {
    tag(field, kLengthDelimited);
    raw_varint(value.size());
    buf_.append(value);
  }
  void message(int field, const ProtoWriter& m) { bytes(field, m.buf_); }
  void float32(int field, float value) {
    tag(field, kFixed32);
    char b[4];
    std::memcpy(b, &value, 4);
    buf_.append(b, 4);
  }
  const std::string& data() const { return buf_; }

 private:
  static constexpr int kVarint = 0, kFixed32 = 5, kLengthDelimited = 2;
  void tag(int field, int wire_type) { raw_varint((std::uint64_t(field) << 3) | std::uint64_t(wire_type)); }
  void raw_varint(std::uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(char((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(char(v));
  }
  std::string buf_;
};

// Field numbers and enum values of onnx.proto (onnx 1.12) that the export uses.
namespace field {
constexpr int kModelIrVersion = 1, kModelProducerName = 2, kModelProducerVersion = 3, kModelVersion = 5,
              kModelDocString = 6, kModelGraph = 7, kModelOpsetImport = 8, kModelMetadataProps = 14;
constexpr int kOpsetDomain = 1, kOpsetVersion = 2;
constexpr int kEntryKey = 1, kEntryValue = 2;
constexpr int kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphDocString = 10, kGraphInput = 11,
              kGraphOutput = 12;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
              kNodeDocString = 6;
constexpr int kAttrName = 1, kAttrF = 2, kAttrI = 3, kAttrInts = 8, kAttrType = 20;
constexpr int kAttrTypeFloat = 1, kAttrTypeInt = 2, kAttrTypeInts = 7;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9;
constexpr int kTensorFloat = 1;  // TensorProto.DataType.FLOAT
constexpr int kValueName = 1, kValueType = 2, kValueDocString = 3;
constexpr int kTypeTensor = 1, kTypeTensorElemType = 1, kTypeTensorShape = 2;
constexpr int kShapeDim = 1, kDimValue = 1, kDimParam = 2;
}  // namespace field

struct Attribute {
  std::string name;
  enum Kind { Int, Ints, Float } kind = Int;
  std::vector<std::int64_t> ints;
  float f = 0;
};

Attribute attr_int(std::string name, std::int64_t v) { return {std::move(name), Attribute::Int, {v}, 0}; }
Attribute attr_ints(std::string name, std::vector<std::int64_t> v) {
  return {std::move(name), Attribute::Ints, std::move(v), 0};
}

// The graph under construction: nodes in execution order, initializers, interface.
class GraphBuilder {
 public:
  void initializer(const std::string& name, const std::vector<std::int64_t>& dims, const float* values) {
    std::size_t count = 1;
    for (auto d : dims) count *= std::size_t(d);
    ProtoWriter t;
    for (auto d : dims) t.varint(field::kTensorDims, std::uint64_t(d));
    t.varint(field::kTensorDataType, field::kTensorFloat);
    t.bytes(field::kTensorName, name);
    t.bytes(field::kTensorRawData,
            std::string_view(reinterpret_cast<const char*>(values), count * sizeof(float)));
    graph_.message(field::kGraphInitializer, t);
  }
  void initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                   const std::vector<float>& v) {
    initializer(name, dims, v.data());
  }

  void node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
            const std::string& name, const std::vector<Attribute>& attributes = {},
            const std::string& doc = {}) {
    ProtoWriter n;
    for (const auto& in : inputs) n.bytes(field::kNodeInput, in);
    n.bytes(field::kNodeOutput, output);
    n.bytes(field::kNodeName, name);
    n.bytes(field::kNodeOpType, op);
    for (const Attribute& a : attributes) {
      ProtoWriter w;
      w.bytes(field::kAttrName, a.name);
      switch (a.kind) {
        case Attribute::Int:
          w.varint(field::kAttrI, std::uint64_t(a.ints[0]));
          w.varint(field::kAttrType, field::kAttrTypeInt);
          break;
        case Attribute::Ints:
          for (auto v : a.ints) w.varint(field::kAttrInts, std::uint64_t(v));
          w.varint(field::kAttrType, field::kAttrTypeInts);
          break;
        case Attribute::Float:
          w.float32(field::kAttrF, a.f);
          w.varint(field::kAttrType, field::kAttrTypeFloat);
          break;
      }
      n.message(field::kNodeAttribute, w);
    }
    if (!doc.empty()) n.bytes(field::kNodeDocString, doc);
    graph_.message(field::kGraphNode, n);
  }

  // A float tensor of shape (batch, dims...) in the graph's interface; the batch size is symbolic, "N".
  void interface(int which, const std::string& name, const std::vector<std::int64_t>& dims,
                 const std::string& doc) {
    ProtoWriter shape;
    ProtoWriter batch;
    batch.bytes(field::kDimParam, "N");
    shape.message(field::kShapeDim, batch);
    for (auto d : dims) {
      ProtoWriter dim;
      dim.varint(field::kDimValue, std::uint64_t(d));
      shape.message(field::kShapeDim, dim);
    }
    ProtoWriter tensor;
    tensor.varint(field::kTypeTensorElemType, field::kTensorFloat);
    tensor.message(field::kTypeTensorShape, shape);
    ProtoWriter type;
    type.message(field::kTypeTensor, tensor);
    ProtoWriter value;
    value.bytes(field::kValueName, name);
    value.message(field::kValueType, type);
    value.bytes(field::kValueDocString, doc);
    graph_.message(which, value);
  }

  ProtoWriter& proto() { return graph_; }

 private:
  ProtoWriter graph_;
};

std::string input_doc() {
  return "float32 (N, 1, 32, 32). A digit picture of at most 28x28 pixels (0 = background, 255 = ink, "
         "MNIST-style: white ink on black, size-normalised and centred by centre of mass) placed in the "
         "centre "
         "of a 32x32 field, each pixel p mapped to -0.1 + 1.275 * p / 255; the margin is background, -0.1 "
         "(LeCun et al. 1998, section II-B: background -0.1, ink 1.175).";
}

// The modern net's graph: ReLU after each convolution and F6, max pooling, logits.
void modern_graph(GraphBuilder& g, const Lenet5& m) {
  const float* p = m.params.data();
  auto conv = [&](const std::string& layer, const std::string& in, const Conv2dShape& s, std::size_t w,
                  std::size_t b) {
    g.initializer(layer + ".weight", {s.out_c, s.in_c, s.k, s.k}, p + w);
    g.initializer(layer + ".bias", {s.out_c}, p + b);
    g.node("Conv", {in, layer + ".weight", layer + ".bias"}, layer + ".conv", layer,
           {attr_ints("kernel_shape", {s.k, s.k})});
    g.node("Relu", {layer + ".conv"}, layer, layer + ".relu");
  };
  auto pool = [&](const std::string& layer, const std::string& in) {
    g.node("MaxPool", {in}, layer, layer, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
  };
  // C1: 1@32x32 -> 6@28x28; S2: -> 6@14x14; C3: -> 16@10x10; S4: -> 16@5x5; C5: -> 120@1x1
  conv("C1", OnnxInterface::kInput, m.c1, m.at.c1_w, m.at.c1_b);
  pool("S2", "C1");
  conv("C3", "S2", m.c3, m.at.c3_w, m.at.c3_b);
  pool("S4", "C3");
  conv("C5", "S4", m.c5, m.at.c5_w, m.at.c5_b);
  g.node("Flatten", {"C5"}, "C5.flat", "C5.flatten", {attr_int("axis", 1)});
  // F6: 120 -> 84; OUTPUT: 84 -> 10 logits. Our linear weights are (out, in): Gemm with transB.
  g.initializer("F6.weight", {Lenet5::kF6, m.c5.out_c}, p + m.at.f6_w);
  g.initializer("F6.bias", {Lenet5::kF6}, p + m.at.f6_b);
  g.node("Gemm", {"C5.flat", "F6.weight", "F6.bias"}, "F6.linear", "F6", {attr_int("transB", 1)});
  g.node("Relu", {"F6.linear"}, "F6", "F6.relu");
  g.initializer("OUTPUT.weight", {kClasses, Lenet5::kF6}, p + m.at.out_w);
  g.initializer("OUTPUT.bias", {kClasses}, p + m.at.out_b);
  g.node("Gemm", {"F6", "OUTPUT.weight", "OUTPUT.bias"}, OnnxInterface::kScores, "OUTPUT",
         {attr_int("transB", 1)});
  g.node("Softmax", {OnnxInterface::kScores}, OnnxInterface::kProbabilities, "softmax",
         {attr_int("axis", 1)});
}

// The 1998 net's graph: scaled tanh, trainable subsampling, Table I C3, Euclidean RBF output.
void paper_graph(GraphBuilder& g, const Lenet5& m) {
  const float* p = m.params.data();
  const float slope = kTanhSlope, amplitude = kTanhAmplitude;
  g.initializer("tanh.slope", {1}, &slope);
  g.initializer("tanh.amplitude", {1}, &amplitude);
  // f(a) = A·tanh(S·a), Appendix A
  auto squash = [&](const std::string& layer, const std::string& in) {
    g.node("Mul", {in, "tanh.slope"}, layer + ".scaled", layer + ".tanh_slope");
    g.node("Tanh", {layer + ".scaled"}, layer + ".tanh", layer + ".tanh");
    g.node("Mul", {layer + ".tanh", "tanh.amplitude"}, layer, layer + ".tanh_amplitude");
  };
  auto conv = [&](const std::string& layer, const std::string& in, const Conv2dShape& s,
                  const std::vector<float>& weight, std::size_t b) {
    g.initializer(layer + ".weight", {s.out_c, s.in_c, s.k, s.k}, weight);
    g.initializer(layer + ".bias", {s.out_c}, p + b);
    g.node("Conv", {in, layer + ".weight", layer + ".bias"}, layer + ".conv", layer,
           {attr_ints("kernel_shape", {s.k, s.k})});
    squash(layer, layer + ".conv");
  };
  // The compact weights of a convolution (per output map, the kernels of the maps it reads) spread out
  // to the dense (out_c, in_c, k, k) layout, with zeros for the pairs the connection table leaves out.
  auto dense = [&](const Conv2dShape& s, std::size_t w) {
    const std::size_t kk = std::size_t(s.k) * s.k;
    std::vector<float> out(std::size_t(s.out_c) * s.in_c * kk, 0.0f);
    for (int o = 0; o < s.out_c; ++o)
      for (int j = 0; j < s.inputs_of(o); ++j)
        std::copy_n(
            p + w + s.weight_offset(o) + std::size_t(j) * kk, kk,
            out.begin() + std::ptrdiff_t((std::size_t(o) * s.in_c + std::size_t(s.input_map(o, j))) * kk));
    return out;
  };
  // Sum of each 2×2 block × the map's coefficient + the map's bias = a depthwise 2×2 convolution, stride 2,
  // whose four taps are all the coefficient.
  auto subsample = [&](const std::string& layer, const std::string& in, const PoolShape& s, std::size_t w,
                       std::size_t b) {
    std::vector<float> taps(std::size_t(s.c) * 4);
    for (int c = 0; c < s.c; ++c) std::fill_n(taps.begin() + 4 * c, 4, p[w + std::size_t(c)]);
    g.initializer(layer + ".kernel", {s.c, 1, 2, 2}, taps);
    g.initializer(layer + ".bias", {s.c}, p + b);
    g.node("Conv", {in, layer + ".kernel", layer + ".bias"}, layer + ".conv", layer,
           {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2}), attr_int("group", s.c)},
           "2x2 sum x trainable coefficient + trainable bias, per map");
    squash(layer, layer + ".conv");
  };
  // C1: 1@32x32 -> 6@28x28
  conv("C1", OnnxInterface::kInput, m.c1, dense(m.c1, m.at.c1_w), m.at.c1_b);
  // S2: 6@28x28 -> 6@14x14
  subsample("S2", "C1", m.s2, m.at.s2_w, m.at.s2_b);
  // C3: 6@14x14 -> 16@10x10, Table I: kernels of unconnected (C3 map, S2 map) pairs are zero
  conv("C3", "S2", m.c3, dense(m.c3, m.at.c3_w), m.at.c3_b);
  // S4: 16@10x10 -> 16@5x5
  subsample("S4", "C3", m.s4, m.at.s4_w, m.at.s4_b);
  // C5: 16@5x5 -> 120@1x1
  conv("C5", "S4", m.c5, dense(m.c5, m.at.c5_w), m.at.c5_b);
  g.node("Flatten", {"C5"}, "C5.flat", "C5.flatten", {attr_int("axis", 1)});
  // F6: 120 -> 84
  g.initializer("F6.weight", {Lenet5::kF6, m.c5.out_c}, p + m.at.f6_w);
  g.initializer("F6.bias", {Lenet5::kF6}, p + m.at.f6_b);
  g.node("Gemm", {"C5.flat", "F6.weight", "F6.bias"}, "F6.linear", "F6", {attr_int("transB", 1)});
  squash("F6", "F6.linear");
  // OUTPUT: y_i = Σ_j (x_j − w_ij)², the prototypes w fixed (Fig. 3). The difference is formed exactly as
  // written (not expanded into Σx² − 2x·w + Σw², which cancels): a Gemm against a 0/1 matrix copies x
  // into ten blocks of 84 (each output sums one x_j·1 and zeros) and its C adds −w; then square, and a
  // MatMul with a block-of-ones matrix sums each block.
  constexpr int kF6 = Lenet5::kF6;
  std::vector<float> copy(std::size_t(kF6) * kClasses * kF6, 0.0f), minus_w(std::size_t(kClasses) * kF6),
      block_sum(std::size_t(kClasses) * kF6 * kClasses, 0.0f);
  const float* w = rbf_digit_prototypes();
  for (int i = 0; i < kClasses; ++i)
    for (int j = 0; j < kF6; ++j) {
      const std::size_t col = std::size_t(i) * kF6 + j;
      copy[col * kF6 + std::size_t(j)] = 1.0f;
      minus_w[col] = -w[col];
      block_sum[col * kClasses + std::size_t(i)] = 1.0f;
    }
  g.initializer("OUTPUT.copy", {kClasses * kF6, kF6}, copy);  // (out, in), as F6
  g.initializer("OUTPUT.minus_prototypes", {kClasses * kF6}, minus_w);
  g.initializer("OUTPUT.block_sum", {kClasses * kF6, kClasses}, block_sum);
  g.node("Gemm", {"F6", "OUTPUT.copy", "OUTPUT.minus_prototypes"}, "OUTPUT.difference", "OUTPUT.difference",
         {attr_int("transB", 1)}, "x_j - w_ij for the 10 classes i, as (N, 10*84)");
  g.node("Mul", {"OUTPUT.difference", "OUTPUT.difference"}, "OUTPUT.squared", "OUTPUT.square");
  g.node("MatMul", {"OUTPUT.squared", "OUTPUT.block_sum"}, OnnxInterface::kScores, "OUTPUT", {},
         "RBF penalties: the squared distance of F6 to each class's prototype");
  // Probabilities: softmax of the negated penalties (lenet's Lenet5::probabilities)
  g.node("Neg", {OnnxInterface::kScores}, "scores.negated", "negate");
  g.node("Softmax", {"scores.negated"}, OnnxInterface::kProbabilities, "softmax", {attr_int("axis", 1)});
}

void metadata(ProtoWriter& model, const std::string& key, const std::string& value) {
  ProtoWriter e;
  e.bytes(field::kEntryKey, key);
  e.bytes(field::kEntryValue, value);
  model.message(field::kModelMetadataProps, e);
}

}  // namespace

std::vector<std::uint8_t> onnx_model_bytes(const Lenet5& m, const nlohmann::json& config) {
  const bool paper = m.arch() == Arch::Lenet5_1998;
  const std::string arch(arch_name(m.arch()));
  GraphBuilder g;
  g.proto().bytes(field::kGraphName, "lenet");
  g.proto().bytes(field::kGraphDocString,
                  paper
                      ? "LeNet-5 as in LeCun et al. 1998: scaled tanh, trainable subsampling, C3 by Table I, "
                        "Euclidean RBF outputs"
                      : "Modern LeNet-5: ReLU, max pooling, full C3, logits");
  g.interface(field::kGraphInput, OnnxInterface::kInput, {1, kInputSide, kInputSide}, input_doc());
  if (paper)
    paper_graph(g, m);
  else
    modern_graph(g, m);
  g.interface(field::kGraphOutput, OnnxInterface::kScores, {kClasses},
              paper ? "float32 (N, 10): RBF penalties, squared distances to each digit's prototype; the "
                      "answer is the smallest"
                    : "float32 (N, 10): logits; the answer is the largest");
  g.interface(
      field::kGraphOutput, OnnxInterface::kProbabilities, {kClasses},
      paper ? "float32 (N, 10): softmax of the negated penalties" : "float32 (N, 10): softmax of the logits");

  ProtoWriter model;
  model.varint(field::kModelIrVersion, kOnnxIrVersion);
  ProtoWriter opset;
  opset.bytes(field::kOpsetDomain, "");
  opset.varint(field::kOpsetVersion, kOnnxOpset);
  model.message(field::kModelOpsetImport, opset);
  model.bytes(field::kModelProducerName, "lenet");
  model.bytes(field::kModelProducerVersion, "1");
  model.varint(field::kModelVersion, 1);
  model.bytes(field::kModelDocString, "LeNet-5 digit classifier exported by `lenet export --format onnx` (" +
                                          arch + "). Input 'input': " + input_doc() +
                                          " Outputs 'scores' and 'probabilities': (N, 10), classes 0-9.");
  model.message(field::kModelGraph, g.proto());
  metadata(model, "lenet.arch", arch);
  metadata(model, "lenet.input", input_doc());
  metadata(model, "lenet.input.picture", "28x28");
  metadata(model, "lenet.input.side", std::to_string(kInputSide));
  metadata(model, "lenet.input.background", "-0.1");
  metadata(model, "lenet.input.ink", "1.175");
  metadata(model, "lenet.output.scores", paper ? "rbf_penalties (argmin)" : "logits (argmax)");
  metadata(model, "lenet.classes", "0,1,2,3,4,5,6,7,8,9");
  metadata(model, "lenet.config", config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  const std::string& bytes = model.data();
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

void save_onnx(const std::string& path, const Lenet5& model, const nlohmann::json& config) {
  const std::vector<std::uint8_t> bytes = onnx_model_bytes(model, config);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto fail = [&](const std::string& what) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw OnnxExportError("cannot write ONNX file '" + path + "': " + what + " (" + reason + ")");
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("cannot create " + tmp);
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 &&
                       ::fsync(::fileno(f)) == 0;
  if (std::fclose(f) != 0 || !written) fail("cannot write " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp + " over it");
}

}  // namespace lenet

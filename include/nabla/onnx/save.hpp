// nabla::onnx::save / to_bytes: writes a graph::Graph as an ONNX model
// (IR version 8, weights as raw_data) that ONNX's checker accepts.
#pragma once

#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <onnx/checker.h>

#include "nabla/core/error.hpp"
#include "nabla/graph/graph.hpp"
#include "nabla/graph/value.hpp"
#include "nabla/io/atomic_file.hpp"
#include "nabla/onnx/proto.hpp"
#include "nabla/version.hpp"

namespace nabla::onnx {
namespace detail {

// The opset a graph without any is written with.
inline constexpr std::int64_t default_opset = 17;

inline void tensor_to_proto(const graph::Value& value, proto::TensorProto& t, const std::string& what) {
  if (!value.defined()) throw ValueError(nabla::detail::message(what, ": the tensor is undefined"));
  t.set_data_type(dtype_to_onnx(value.dtype()));
  for (const std::int64_t d : value.shape()) t.add_dims(d);
  value.visit([&](const auto& tensor) {
    using T = typename std::decay_t<decltype(tensor)>::value_type;
    std::string* raw = t.mutable_raw_data();
    // No elements, nothing to pack (and a zero-size shape's other extents
    // may be huge: [0, 2^40, 2^40] is a valid empty tensor).
    if (tensor.numel() == 0) return;
    const auto packed = tensor.contiguous();
    const auto n = static_cast<std::size_t>(packed.numel());
    raw->resize(n * sizeof(T));
    if constexpr (std::is_same_v<T, bool>) {
      for (std::size_t i = 0; i < n; ++i) (*raw)[i] = packed.data()[i] ? 1 : 0;
    } else {
      char* dst = raw->data();
      for (std::size_t i = 0; i < n; ++i) {
        T v = packed.data()[i];
        to_little_endian(&v, sizeof(T));
        std::memcpy(dst + i * sizeof(T), &v, sizeof(T));
      }
    }
  });
}

inline void value_info_to_proto(const graph::ValueInfo& info, proto::ValueInfoProto& v) {
  v.set_name(info.name);
  if (info.dtype == graph::DType::undefined && !info.has_shape) return;  // untyped (subgraph inputs)
  auto* tensor = v.mutable_type()->mutable_tensor_type();
  if (info.dtype != graph::DType::undefined) tensor->set_elem_type(dtype_to_onnx(info.dtype));
  if (!info.has_shape) return;
  auto* shape = tensor->mutable_shape();
  for (const graph::Dim& d : info.shape) {
    auto* dim = shape->add_dim();
    if (d.known()) {
      dim->set_dim_value(d.extent);
    } else if (!d.symbol.empty()) {
      dim->set_dim_param(d.symbol);
    }
  }
}

inline void graph_to_proto(const graph::Graph& g, proto::GraphProto& out);

inline void attribute_to_proto(const std::string& name, const graph::Attribute& value, proto::AttributeProto& a,
                               const std::string& where) {
  a.set_name(name);
  std::visit([&](const auto& v) {
    using A = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<A, std::int64_t>) {
      a.set_type(proto::AttributeProto::INT);
      a.set_i(v);
    } else if constexpr (std::is_same_v<A, double>) {
      a.set_type(proto::AttributeProto::FLOAT);  // ONNX's attribute floats are single precision
      a.set_f(static_cast<float>(v));
    } else if constexpr (std::is_same_v<A, std::string>) {
      a.set_type(proto::AttributeProto::STRING);
      a.set_s(v);
    } else if constexpr (std::is_same_v<A, std::vector<std::int64_t>>) {
      a.set_type(proto::AttributeProto::INTS);
      for (const auto x : v) a.add_ints(x);
    } else if constexpr (std::is_same_v<A, std::vector<double>>) {
      a.set_type(proto::AttributeProto::FLOATS);
      for (const auto x : v) a.add_floats(static_cast<float>(x));
    } else if constexpr (std::is_same_v<A, std::vector<std::string>>) {
      a.set_type(proto::AttributeProto::STRINGS);
      for (const auto& x : v) a.add_strings(x);
    } else if constexpr (std::is_same_v<A, graph::Value>) {
      a.set_type(proto::AttributeProto::TENSOR);
      tensor_to_proto(v, *a.mutable_t(), "onnx::save: attribute '" + name + "' of " + where);
    } else {
      static_assert(std::is_same_v<A, std::shared_ptr<const graph::Graph>>);
      if (!v) throw ValueError(nabla::detail::message("onnx::save: attribute '", name, "' of ", where, " is a null graph"));
      a.set_type(proto::AttributeProto::GRAPH);
      graph_to_proto(*v, *a.mutable_g());
    }
  }, value);
}

inline void graph_to_proto(const graph::Graph& g, proto::GraphProto& out) {
  out.set_name(g.name.empty() ? "nabla" : g.name);  // the checker wants a name
  for (const auto& [name, value] : g.initializers) {
    auto* t = out.add_initializer();
    t->set_name(name);
    tensor_to_proto(value, *t, "onnx::save: initializer '" + name + "'");
  }
  for (const auto& in : g.inputs) value_info_to_proto(in, *out.add_input());
  for (const auto& o : g.outputs) value_info_to_proto(o, *out.add_output());
  for (const graph::Node& n : g.nodes) {
    auto* node = out.add_node();
    node->set_op_type(n.op_type);
    if (!n.domain.empty()) node->set_domain(n.domain);
    if (!n.name.empty()) node->set_name(n.name);
    for (const auto& i : n.inputs) node->add_input(i);
    for (const auto& o : n.outputs) node->add_output(o);
    for (const auto& [key, value] : n.attributes) attribute_to_proto(key, value, *node->add_attribute(), n.describe());
  }
}

inline proto::ModelProto model_to_proto(const graph::Graph& g) {
  proto::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("nabla");
  model.set_producer_version(NABLA_VERSION_STRING);
  if (g.opsets.empty()) {
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(default_opset);
  }
  for (const auto& [domain, version] : g.opsets) {
    auto* opset = model.add_opset_import();
    opset->set_domain(domain);
    opset->set_version(version);
  }
  graph_to_proto(g, *model.mutable_graph());
  return model;
}

// Graph passes' fused ops (domain "nabla", graph/passes.hpp) have no ONNX
// form: refuse them, in subgraphs too, before building anything.
inline void refuse_nabla_ops(const graph::Graph& g, const std::string& op) {
  for (const graph::Node& n : g.nodes) {
    if (n.domain == "nabla") {
      throw ValueError(nabla::detail::message(op, ": ", n.describe(), " is one of nabla's fused ops: optimized graphs are "
                                              "not exportable; save the graph before optimize"));
    }
    for (const auto& [key, attr] : n.attributes) {
      if (const auto* sub = std::get_if<std::shared_ptr<const graph::Graph>>(&attr); sub && *sub) refuse_nabla_ops(**sub, op);
    }
  }
}

// The checked, serialized model; `op` starts the error messages.
inline std::string serialize_checked(const graph::Graph& g, const std::string& op) {
  refuse_nabla_ops(g, op);
  const proto::ModelProto model = model_to_proto(g);
  try {
    proto::checker::check_model(model);
  } catch (const std::exception& e) {
    throw ValueError(nabla::detail::message(op, ": the graph does not make a valid ONNX model: ", e.what()));
  }
  const std::size_t size = model.ByteSizeLong();
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw ValueError(nabla::detail::message(op, ": the model would be ", size,
                                            " bytes, more than protobuf's 2 GB limit"));
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw ValueError(nabla::detail::message(op, ": protobuf could not serialize the model"));
  return bytes;
}

}  // namespace detail

// The graph as the bytes of an ONNX model file (after ONNX's checker passed it).
inline std::string to_bytes(const graph::Graph& g) { return detail::serialize_checked(g, "onnx::to_bytes"); }

// Writes the graph to `path` as an ONNX model, atomically: a failure leaves
// any old file at `path` untouched.
inline void save(const graph::Graph& g, const std::string& path) {
  const std::string bytes = detail::serialize_checked(g, "onnx::save: " + path);
  io::write_file_atomically(path, bytes, "onnx::save");
}

}  // namespace nabla::onnx

// nabla::onnx::load: reads an ONNX model (ModelProto, through ONNX's own
// generated classes and checker) into a graph::Graph.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <onnx/checker.h>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/graph/graph.hpp"
#include "nabla/graph/value.hpp"
#include "nabla/onnx/proto.hpp"

namespace nabla::onnx {
namespace detail {

using nabla::detail::message;

// Where a model came from: error messages start with `prefix`
// ("onnx::load: model.onnx"); external data is found under `base_dir`.
struct LoadContext {
  std::string prefix;
  std::filesystem::path base_dir;

  template <class E = ValueError, class... Parts>
  [[noreturn]] void fail(Parts&&... parts) const {
    throw E(message(prefix, ": ", std::forward<Parts>(parts)...));
  }
};

// "default" is ONNX's own domain, spelled "" or "ai.onnx".
inline std::string normalize_domain(const std::string& domain) { return domain == "ai.onnx" ? std::string() : domain; }

inline std::string quote_dims(const proto::TensorProto& t) {
  std::string s = "[";
  for (int i = 0; i < t.dims_size(); ++i) s += (i ? ", " : "") + std::to_string(t.dims(i));
  return s + "]";
}

// The bytes of a tensor stored outside the model (data_location EXTERNAL):
// `location` relative to the model's folder, optional `offset` and `length`.
inline std::string read_external_data(const proto::TensorProto& t, const LoadContext& ctx, const std::string& what,
                                      std::uint64_t needed) {
  std::string location;
  std::uint64_t offset = 0;
  bool has_length = false;
  std::uint64_t length = 0;
  for (const auto& entry : t.external_data()) {
    const std::string& value = entry.value();
    if (entry.key() == "location") {
      location = value;
    } else if (entry.key() == "offset" || entry.key() == "length") {
      std::uint64_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size()) {
        ctx.fail(what, ": external data ", entry.key(), " '", value, "' is not a byte count");
      }
      if (entry.key() == "offset") {
        offset = n;
      } else {
        has_length = true;
        length = n;
      }
    }
  }
  if (location.empty()) ctx.fail(what, ": external data without a location");
  if (has_length && length != needed) {
    ctx.fail(what, ": external data length ", length, " does not match its shape ", quote_dims(t), " (", needed,
             " bytes)");
  }
  const std::string file = (ctx.base_dir / location).string();
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) ctx.fail<IOError>(what, ": cannot read external data file ", file, ": ", ec.message());
  if (offset > size || size - offset < needed) {
    ctx.fail<IOError>(what, ": external data file ", file, " is too short: needs ", needed, " bytes at offset ",
                      offset, ", the file has ", size, " bytes");
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(needed), '\0');
  if (in) in.seekg(static_cast<std::streamoff>(offset));
  if (in && needed > 0) in.read(bytes.data(), static_cast<std::streamsize>(needed));
  if (!in) ctx.fail<IOError>(what, ": cannot read ", needed, " bytes at offset ", offset, " of external data file ", file);
  return bytes;
}

// A tensor of element type T from little-endian bytes of `width` bytes per
// element (2 for FLOAT16, widened to float).
template <class T>
Tensor<T> tensor_from_raw(Shape shape, const char* bytes, bool half) {
  Tensor<T> out = Tensor<T>::empty(std::move(shape));
  T* dst = out.data();
  const auto n = static_cast<std::size_t>(out.numel());
  if constexpr (std::is_same_v<T, bool>) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = bytes[i] != 0;  // any other byte would be UB as a bool
  } else if constexpr (std::is_same_v<T, float>) {
    if (half) {
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h = 0;
        std::memcpy(&h, bytes + 2 * i, 2);
        to_little_endian(&h, 2);
        dst[i] = half_to_float(h);
      }
      return out;
    }
  }
  if constexpr (!std::is_same_v<T, bool>) {
    if (n > 0) std::memcpy(dst, bytes, n * sizeof(T));
    for (std::size_t i = 0; i < n && sizeof(T) > 1; ++i) to_little_endian(dst + i, sizeof(T));
  }
  return out;
}

// A tensor from ONNX's typed fields (float_data, int32_data, ...); integers
// that do not fit T are an error, not a silent wrap.
template <class T, class Field>
Tensor<T> tensor_from_field(Shape shape, const Field& field, bool half, const LoadContext& ctx,
                            const std::string& what) {
  Tensor<T> out = Tensor<T>::empty(std::move(shape));
  T* dst = out.data();
  for (int i = 0; i < field.size(); ++i) {
    const auto v = field.Get(i);
    if constexpr (std::is_same_v<T, float>) {
      dst[i] = half ? half_to_float(static_cast<std::uint16_t>(v)) : static_cast<float>(v);
    } else if constexpr (std::is_same_v<T, bool>) {
      dst[i] = v != 0;
    } else if constexpr (std::is_integral_v<T> && sizeof(T) < sizeof(v)) {
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
        ctx.fail(what, ": value ", v, " at index ", i, " does not fit its element type");
      }
      dst[i] = static_cast<T>(v);
    } else {
      dst[i] = static_cast<T>(v);
    }
  }
  return out;
}

template <class T>
graph::Value tensor_values(const proto::TensorProto& t, Shape shape, std::int64_t numel, bool half,
                           const LoadContext& ctx, const std::string& what) {
  const std::size_t width = half ? 2 : sizeof(T);
  const auto needed = static_cast<std::uint64_t>(numel) * width;  // numel was checked against a real size below
  auto check_raw = [&](std::size_t size) {
    if (size % width != 0 || size / width != static_cast<std::uint64_t>(numel)) {
      ctx.fail(what, ": shape ", quote_dims(t), " needs ", numel, " elements of ", width, " bytes but it holds ",
               size, " bytes");
    }
  };
  if (t.data_location() == proto::TensorProto::EXTERNAL) {
    // Sizes are checked before anything is read or allocated: a lying
    // shape cannot make the loader allocate more than the file holds.
    if (numel > std::numeric_limits<std::int64_t>::max() / 8) {
      ctx.fail(what, ": shape ", quote_dims(t), " has too many elements");
    }
    const std::string bytes = read_external_data(t, ctx, what, needed);
    return tensor_from_raw<T>(std::move(shape), bytes.data(), half);
  }
  if (t.has_raw_data()) {
    check_raw(t.raw_data().size());
    return tensor_from_raw<T>(std::move(shape), t.raw_data().data(), half);
  }
  auto check_count = [&](int count, const char* field) {
    if (static_cast<std::int64_t>(count) != numel) {
      ctx.fail(what, ": shape ", quote_dims(t), " needs ", numel, " elements but ", field, " holds ", count);
    }
  };
  if constexpr (std::is_same_v<T, float>) {
    if (!half) {
      check_count(t.float_data_size(), "float_data");
      return tensor_from_field<T>(std::move(shape), t.float_data(), false, ctx, what);
    }
  }
  if constexpr (std::is_same_v<T, double>) {
    check_count(t.double_data_size(), "double_data");
    return tensor_from_field<T>(std::move(shape), t.double_data(), false, ctx, what);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    check_count(t.int64_data_size(), "int64_data");
    return tensor_from_field<T>(std::move(shape), t.int64_data(), false, ctx, what);
  } else {
    // INT32, INT8, UINT8, BOOL and FLOAT16 (as bits) live in int32_data.
    check_count(t.int32_data_size(), "int32_data");
    return tensor_from_field<T>(std::move(shape), t.int32_data(), half, ctx, what);
  }
}

// A TensorProto (an initializer or a tensor attribute) as a graph::Value.
inline graph::Value tensor_from_proto(const proto::TensorProto& t, const LoadContext& ctx, const std::string& what) {
  if (t.has_segment()) ctx.fail(what, ": segmented tensors are not supported");
  Shape shape;
  for (const std::int64_t d : t.dims()) {
    if (d < 0) ctx.fail(what, ": negative dimension in shape ", quote_dims(t));
    shape.push_back(d);
  }
  std::int64_t numel = 0;
  if (!shape.checked_numel(numel)) ctx.fail(what, ": the element count of shape ", quote_dims(t), " overflows");
  const bool half = t.data_type() == proto::TensorProto::FLOAT16;
  switch (half ? graph::DType::float32 : dtype_from_onnx(t.data_type())) {
    case graph::DType::float32: return tensor_values<float>(t, std::move(shape), numel, half, ctx, what);
    case graph::DType::float64: return tensor_values<double>(t, std::move(shape), numel, half, ctx, what);
    case graph::DType::int64: return tensor_values<std::int64_t>(t, std::move(shape), numel, half, ctx, what);
    case graph::DType::int32: return tensor_values<std::int32_t>(t, std::move(shape), numel, half, ctx, what);
    case graph::DType::int8: return tensor_values<std::int8_t>(t, std::move(shape), numel, half, ctx, what);
    case graph::DType::uint8: return tensor_values<std::uint8_t>(t, std::move(shape), numel, half, ctx, what);
    case graph::DType::boolean: return tensor_values<bool>(t, std::move(shape), numel, half, ctx, what);
    case graph::DType::undefined: break;
  }
  ctx.fail(what, ": element type ", onnx_dtype_name(t.data_type()),
           " is not supported (nabla reads FLOAT, DOUBLE, INT64, INT32, INT8, UINT8, BOOL and FLOAT16)");
}

inline graph::ValueInfo value_info_from_proto(const proto::ValueInfoProto& v, const LoadContext& ctx,
                                              const std::string& what) {
  graph::ValueInfo info;
  info.name = v.name();
  info.dtype = graph::DType::undefined;
  info.has_shape = false;
  if (!v.has_type()) return info;  // allowed in subgraphs: inferred from the outer graph
  if (v.type().value_case() != proto::TypeProto::kTensorType) {
    ctx.fail(what, " '", v.name(), "' is not a tensor (sequence, map, optional and sparse values are not supported)");
  }
  const auto& tensor = v.type().tensor_type();
  if (tensor.elem_type() != proto::TensorProto::UNDEFINED) {
    info.dtype = dtype_from_onnx(tensor.elem_type());
    if (info.dtype == graph::DType::undefined) {
      ctx.fail(what, " '", v.name(), "' has element type ", onnx_dtype_name(tensor.elem_type()),
               ", which nabla does not support");
    }
  }
  if (!tensor.has_shape()) return info;
  info.has_shape = true;
  for (const auto& d : tensor.shape().dim()) {
    graph::Dim dim;
    if (d.value_case() == proto::TensorShapeProto_Dimension::kDimValue) {
      if (d.dim_value() < 0) ctx.fail(what, " '", v.name(), "' has a negative dimension ", d.dim_value());
      dim.extent = d.dim_value();
    } else if (d.value_case() == proto::TensorShapeProto_Dimension::kDimParam) {
      dim.symbol = d.dim_param();
    }
    info.shape.push_back(std::move(dim));
  }
  return info;
}

inline graph::Graph graph_from_proto(proto::GraphProto& g, const LoadContext& ctx);

inline graph::Attribute attribute_from_proto(proto::AttributeProto& a, const LoadContext& ctx,
                                             const std::string& where) {
  const std::string what = "attribute '" + a.name() + "' of " + where;
  switch (a.type()) {
    case proto::AttributeProto::FLOAT: return static_cast<double>(a.f());
    case proto::AttributeProto::INT: return a.i();
    case proto::AttributeProto::STRING: return a.s();
    case proto::AttributeProto::TENSOR: return tensor_from_proto(a.t(), ctx, what);
    case proto::AttributeProto::GRAPH:
      return std::make_shared<const graph::Graph>(graph_from_proto(*a.mutable_g(), ctx));
    case proto::AttributeProto::FLOATS: return std::vector<double>(a.floats().begin(), a.floats().end());
    case proto::AttributeProto::INTS: return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    case proto::AttributeProto::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    default: break;
  }
  const std::string kind = proto::AttributeProto_AttributeType_IsValid(a.type())
                               ? proto::AttributeProto_AttributeType_Name(a.type())
                               : "unknown kind " + std::to_string(a.type());
  ctx.fail(what, ": attributes of kind ", kind, " are not supported");
}

inline graph::Node node_from_proto(proto::NodeProto& n, const LoadContext& ctx) {
  graph::Node node;
  node.op_type = n.op_type();
  node.domain = normalize_domain(n.domain());
  node.name = n.name();
  node.inputs.assign(n.input().begin(), n.input().end());
  node.outputs.assign(n.output().begin(), n.output().end());
  for (auto& a : *n.mutable_attribute()) {
    if (!node.attributes.emplace(a.name(), attribute_from_proto(a, ctx, node.describe())).second) {
      ctx.fail(node.describe(), ": attribute '", a.name(), "' is given twice");
    }
  }
  return node;
}

// Consumes `g`'s weights: each initializer's bytes are dropped once copied,
// so a large model is not held twice.
inline graph::Graph graph_from_proto(proto::GraphProto& g, const LoadContext& ctx) {
  graph::Graph out;
  out.name = g.name();
  if (g.sparse_initializer_size() > 0) ctx.fail("graph '", g.name(), "': sparse initializers are not supported");
  for (auto& t : *g.mutable_initializer()) {
    const std::string what = "initializer '" + t.name() + "'";
    if (t.name().empty()) ctx.fail("graph '", g.name(), "': an initializer has no name");
    graph::Value value = tensor_from_proto(t, ctx, what);
    if (!out.initializers.emplace(t.name(), std::move(value)).second) ctx.fail(what, " is defined twice");
    t.clear_raw_data();
  }
  // Exporters before IR version 4 list every initializer as an input too;
  // those are weights, not values the caller feeds.
  for (const auto& v : g.input()) {
    if (!out.initializers.count(v.name())) out.inputs.push_back(value_info_from_proto(v, ctx, "input"));
  }
  for (const auto& v : g.output()) out.outputs.push_back(value_info_from_proto(v, ctx, "output"));
  out.nodes.reserve(static_cast<std::size_t>(g.node_size()));
  for (auto& n : *g.mutable_node()) out.nodes.push_back(node_from_proto(n, ctx));
  return out;
}

// Checks that every external data file exists (an IOError naming it) and
// makes each location absolute: ONNX's checker looks the files up relative
// to the working directory when it is given a ModelProto.
inline void resolve_external_data(proto::GraphProto& g, const LoadContext& ctx) {
  auto resolve = [&](proto::TensorProto& t, const std::string& what) {
    if (t.data_location() != proto::TensorProto::EXTERNAL) return;
    for (auto& entry : *t.mutable_external_data()) {
      if (entry.key() != "location") continue;
      const std::filesystem::path file = ctx.base_dir / entry.value();
      std::error_code ec;
      if (!std::filesystem::is_regular_file(file, ec)) {
        ctx.fail<IOError>(what, ": external data file ", file.string(), " is missing");
      }
      entry.set_value(std::filesystem::absolute(file, ec).string());
    }
  };
  for (auto& t : *g.mutable_initializer()) resolve(t, "initializer '" + t.name() + "'");
  for (auto& n : *g.mutable_node()) {
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_t()) resolve(*a.mutable_t(), "attribute '" + a.name() + "' of node '" + n.name() + "'");
      for (auto& t : *a.mutable_tensors()) resolve(t, "attribute '" + a.name() + "' of node '" + n.name() + "'");
      if (a.has_g()) resolve_external_data(*a.mutable_g(), ctx);
      for (auto& sub : *a.mutable_graphs()) resolve_external_data(sub, ctx);
    }
  }
}

inline graph::Graph graph_from_model(proto::ModelProto& model, const LoadContext& ctx) {
  resolve_external_data(*model.mutable_graph(), ctx);
  try {
    proto::checker::check_model(model);
  } catch (const std::exception& e) {
    ctx.fail<IOError>("the model fails ONNX's checker: ", e.what());
  }
  if (model.functions_size() > 0) ctx.fail("model-local functions are not supported");
  graph::Graph g = graph_from_proto(*model.mutable_graph(), ctx);
  for (const auto& opset : model.opset_import()) g.opsets[normalize_domain(opset.domain())] = opset.version();
  try {
    g.validate();
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
  return g;
}

inline proto::ModelProto parse_model(std::string_view bytes, const LoadContext& ctx) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    ctx.fail<IOError>("the model is ", bytes.size(),
                      " bytes, more than protobuf's 2 GB limit (keep the weights in external data)");
  }
  proto::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    ctx.fail<IOError>("not an ONNX model: failed to parse ", bytes.size(), " bytes as an ONNX ModelProto");
  }
  return model;
}

}  // namespace detail

// Reads the ONNX model at `path`. External data is read from files relative
// to the model's folder. Every error (missing or malformed file, a model
// ONNX's checker rejects, an unsupported element type, ...) is a nabla::Error
// whose message starts with "onnx::load: <path>: ".
inline graph::Graph load(const std::string& path) {
  const detail::LoadContext ctx{"onnx::load: " + path, std::filesystem::path(path).parent_path()};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    ctx.fail<IOError>(std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes;
  if (in) {
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size <= static_cast<std::uintmax_t>(std::numeric_limits<int>::max())) {
      bytes.resize(static_cast<std::size_t>(size));
      in.read(bytes.data(), static_cast<std::streamsize>(size));
    } else if (!ec) {
      ctx.fail<IOError>("the model is ", size,
                        " bytes, more than protobuf's 2 GB limit (keep the weights in external data)");
    }
  }
  if (!in || ec) ctx.fail<IOError>("cannot read the file");
  detail::proto::ModelProto model = detail::parse_model(bytes, ctx);
  std::string().swap(bytes);  // the message holds its own copy
  return detail::graph_from_model(model, ctx);
}

// Reads an ONNX model from memory; external data is looked up under
// `base_dir` (the working directory when empty).
inline graph::Graph load_from_bytes(std::string_view bytes, const std::string& base_dir = "") {
  const detail::LoadContext ctx{"onnx::load_from_bytes", std::filesystem::path(base_dir)};
  detail::proto::ModelProto model = detail::parse_model(bytes, ctx);
  return detail::graph_from_model(model, ctx);
}

}  // namespace nabla::onnx

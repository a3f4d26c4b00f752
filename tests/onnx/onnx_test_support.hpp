// Helpers for the ONNX tests: fixture paths, a scratch folder, and a deep
// comparison of two graph::Graphs that names the first difference.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <unistd.h>

#include "nabla/graph/graph.hpp"

#ifndef NABLA_TEST_FIXTURE_DIR
#error "NABLA_TEST_FIXTURE_DIR must name tests/fixtures"
#endif

namespace nabla::testing::onnx_support {

inline std::string fixture_dir() { return std::string(NABLA_TEST_FIXTURE_DIR) + "/onnx"; }
inline std::string fixture(const std::string& name) { return fixture_dir() + "/" + name; }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A fresh folder under the system's temp folder, removed at scope exit.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag)
      : path_(std::filesystem::temp_directory_path() / ("nabla_onnx_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string graph_diff(const graph::Graph& a, const graph::Graph& b, const std::string& at = "graph");

// "" when equal (same dtype, shape and elements), else what differs.
inline std::string value_diff(const graph::Value& a, const graph::Value& b, const std::string& at) {
  if (a.defined() != b.defined()) return at + ": one value is undefined";
  if (!a.defined()) return "";
  if (a.dtype() != b.dtype()) return at + ": dtype " + graph::dtype_name(a.dtype()) + " vs " + graph::dtype_name(b.dtype());
  if (!(a.shape() == b.shape())) return at + ": shape " + to_string(a.shape()) + " vs " + to_string(b.shape());
  return a.visit([&](const auto& ta) -> std::string {
    using T = typename std::decay_t<decltype(ta)>::value_type;
    const auto va = ta.to_vector();
    const auto vb = b.as<T>().to_vector();
    for (std::size_t i = 0; i < va.size(); ++i) {
      if (!(va[i] == vb[i])) return at + ": element " + std::to_string(i) + " differs";
    }
    return "";
  });
}

inline std::string attribute_diff(const graph::Attribute& a, const graph::Attribute& b, const std::string& at) {
  if (a.index() != b.index()) return at + ": attribute kinds differ";
  return std::visit([&](const auto& va) -> std::string {
    using A = std::decay_t<decltype(va)>;
    const A& vb = std::get<A>(b);
    if constexpr (std::is_same_v<A, graph::Value>) {
      return value_diff(va, vb, at);
    } else if constexpr (std::is_same_v<A, std::shared_ptr<const graph::Graph>>) {
      if (!va || !vb) return va == vb ? "" : at + ": one subgraph is null";
      return graph_diff(*va, *vb, at);
    } else {
      return va == vb ? "" : at + ": attribute values differ";
    }
  }, a);
}

inline std::string value_info_diff(const graph::ValueInfo& a, const graph::ValueInfo& b, const std::string& at) {
  if (a.name != b.name) return at + ": name '" + a.name + "' vs '" + b.name + "'";
  if (a.dtype != b.dtype) return at + " '" + a.name + "': dtype differs";
  if (a.has_shape != b.has_shape) return at + " '" + a.name + "': has_shape differs";
  if (a.shape != b.shape) return at + " '" + a.name + "': shape " + graph::to_string(a.shape) + " vs " + graph::to_string(b.shape);
  return "";
}

inline std::string graph_diff(const graph::Graph& a, const graph::Graph& b, const std::string& at) {
  if (a.name != b.name) return at + ": name '" + a.name + "' vs '" + b.name + "'";
  if (a.opsets != b.opsets) return at + ": opsets differ";
  if (a.inputs.size() != b.inputs.size()) return at + ": input counts differ";
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    if (auto d = value_info_diff(a.inputs[i], b.inputs[i], at + " input"); !d.empty()) return d;
  }
  if (a.outputs.size() != b.outputs.size()) return at + ": output counts differ";
  for (std::size_t i = 0; i < a.outputs.size(); ++i) {
    if (auto d = value_info_diff(a.outputs[i], b.outputs[i], at + " output"); !d.empty()) return d;
  }
  if (a.initializers.size() != b.initializers.size()) return at + ": initializer counts differ";
  for (const auto& [name, value] : a.initializers) {
    const auto it = b.initializers.find(name);
    if (it == b.initializers.end()) return at + ": initializer '" + name + "' is missing";
    if (auto d = value_diff(value, it->second, at + " initializer '" + name + "'"); !d.empty()) return d;
  }
  if (a.nodes.size() != b.nodes.size()) return at + ": node counts differ";
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    const graph::Node& x = a.nodes[i];
    const graph::Node& y = b.nodes[i];
    const std::string where = at + " node " + std::to_string(i);
    if (x.op_type != y.op_type || x.domain != y.domain || x.name != y.name) return where + ": op, domain or name differ";
    if (x.inputs != y.inputs || x.outputs != y.outputs) return where + ": inputs or outputs differ";
    if (x.attributes.size() != y.attributes.size()) return where + ": attribute counts differ";
    for (const auto& [key, value] : x.attributes) {
      const auto it = y.attributes.find(key);
      if (it == y.attributes.end()) return where + ": attribute '" + key + "' is missing";
      if (auto d = attribute_diff(value, it->second, where + " attribute '" + key + "'"); !d.empty()) return d;
    }
  }
  return "";
}

}  // namespace nabla::testing::onnx_support

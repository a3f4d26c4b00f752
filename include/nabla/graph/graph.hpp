// graph::Graph, the runtime's IR: nodes in topological order, each an op
// type (ONNX's names: "Conv", "Gemm", ...) with attributes and named input
// and output values, plus initializers (weights) and the graph's typed
// inputs and outputs. It knows nothing of ONNX's file format (onnx/ does).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/graph/value.hpp"

namespace nabla::graph {

class Graph;

// One dimension of a declared shape: a fixed extent, or a symbol ("batch")
// or unknown (extent -1) that is fixed only when the graph runs.
struct Dim {
  std::int64_t extent = -1;
  std::string symbol;
  bool known() const noexcept { return extent >= 0; }
  bool operator==(const Dim&) const = default;
};

// A graph input or output: name, element type and (possibly partial) shape.
struct ValueInfo {
  std::string name;
  DType dtype = DType::float32;
  std::vector<Dim> shape;
  bool has_shape = true;  // false: rank unknown
};

inline std::string to_string(const std::vector<Dim>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += dims[i].known() ? std::to_string(dims[i].extent) : (dims[i].symbol.empty() ? "?" : dims[i].symbol);
  }
  return s + "]";
}

// A node attribute: ONNX's attribute kinds (a subgraph for If/Loop).
using Attribute = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>,
                               std::vector<std::string>, Value, std::shared_ptr<const Graph>>;

struct Node {
  std::string op_type;              // "Conv", "Relu", ... (ONNX's names)
  std::string domain;               // "" for ONNX's default domain
  std::string name;                 // for messages; may be empty
  std::vector<std::string> inputs;  // value names; "" is an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attributes;

  bool has(const std::string& key) const { return attributes.count(key) != 0; }
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const { return get_or(key, fallback); }
  std::int64_t attr_int(const std::string& key) const { return get<std::int64_t>(key); }
  double attr_float(const std::string& key, double fallback) const { return get_or(key, fallback); }
  std::string attr_string(const std::string& key, std::string fallback) const { return get_or(key, fallback); }
  std::vector<std::int64_t> attr_ints(const std::string& key, std::vector<std::int64_t> fallback = {}) const {
    return get_or(key, std::move(fallback));
  }
  std::vector<double> attr_floats(const std::string& key, std::vector<double> fallback = {}) const {
    return get_or(key, std::move(fallback));
  }
  const Value& attr_tensor(const std::string& key) const { return get<Value>(key); }

  // The subgraph attributes (If's then_branch and else_branch), by name.
  std::vector<std::pair<std::string, std::shared_ptr<const Graph>>> subgraphs() const {
    std::vector<std::pair<std::string, std::shared_ptr<const Graph>>> out;
    for (const auto& [key, attr] : attributes) {
      if (const auto* sub = std::get_if<std::shared_ptr<const Graph>>(&attr); sub && *sub) out.emplace_back(key, *sub);
    }
    return out;
  }
  // The enclosing-scope names this node's subgraphs read, sorted; a Session
  // appends them to the node's inputs so lifetimes and kernels see them.
  std::vector<std::string> captured_names() const;

  // "Conv node 'conv1'" (or "Conv node #3" when unnamed), for errors.
  std::string describe() const { return op_type + " node '" + (name.empty() ? outputs.empty() ? "?" : outputs[0] : name) + "'"; }

  template <class A>
  const A& get(const std::string& key) const {
    const auto it = attributes.find(key);
    if (it == attributes.end()) {
      throw ValueError(nabla::detail::message(describe(), ": missing required attribute '", key, "'"));
    }
    if (const A* a = std::get_if<A>(&it->second)) return *a;
    throw ValueError(nabla::detail::message(describe(), ": attribute '", key, "' has the wrong kind"));
  }

 private:
  template <class A>
  A get_or(const std::string& key, A fallback) const {
    const auto it = attributes.find(key);
    if (it == attributes.end()) return fallback;
    if (const A* a = std::get_if<A>(&it->second)) return *a;
    // ONNX stores floats as float; an int given where a float is read is allowed.
    if constexpr (std::is_same_v<A, double>) {
      if (const auto* i = std::get_if<std::int64_t>(&it->second)) return static_cast<double>(*i);
    }
    throw ValueError(nabla::detail::message(describe(), ": attribute '", key, "' has the wrong kind"));
  }
};

class Graph {
 public:
  std::string name;
  std::vector<Node> nodes;                      // topological order
  std::map<std::string, Value> initializers;    // weights and constants by name
  std::vector<ValueInfo> inputs;                // fed by the caller, in order (initializers excluded)
  std::vector<ValueInfo> outputs;               // returned, in order
  std::map<std::string, std::int64_t> opsets;   // domain -> version ("" is ONNX's default domain)

  std::int64_t opset(const std::string& domain = "") const {
    const auto it = opsets.find(domain);
    return it == opsets.end() ? 0 : it->second;
  }

  // Throws unless every node's inputs are produced before it (by the graph's
  // inputs, an initializer or an earlier node), no value is produced twice,
  // and every output is produced. A subgraph (If's branches) may also read
  // the names its enclosing graphs define before its node: `outer`.
  void validate(const std::set<std::string>& outer = {}) const {
    std::set<std::string> defined = outer;
    for (const auto& in : inputs) {
      if (!defined.insert(in.name).second) throw ValueError(nabla::detail::message("graph: input '", in.name, "' is declared twice"));
    }
    for (const auto& [key, value] : initializers) defined.insert(key);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      for (const auto& in : n.inputs) {
        if (!in.empty() && !defined.count(in)) {
          throw ValueError(nabla::detail::message("graph: ", n.describe(), " (node ", i, ") reads '", in,
                                           "', which no earlier node, input or initializer defines"));
        }
      }
      for (const auto& [key, sub] : n.subgraphs()) {
        try {
          sub->validate(defined);
        } catch (const ValueError& e) {
          throw ValueError(nabla::detail::message("graph: ", n.describe(), " (node ", i, "), subgraph '", key,
                                                  "': ", e.what()));
        }
      }
      for (const auto& out : n.outputs) {
        if (!out.empty() && !defined.insert(out).second) {
          throw ValueError(nabla::detail::message("graph: ", n.describe(), " (node ", i, ") writes '", out,
                                           "', which is already defined"));
        }
      }
    }
    for (const auto& out : outputs) {
      if (!defined.count(out.name)) throw ValueError(nabla::detail::message("graph: output '", out.name, "' is never computed"));
    }
  }

  // The names this graph reads without defining them (a subgraph's reads
  // of its enclosing graphs' values), nested subgraphs included, sorted.
  std::vector<std::string> captured_names() const {
    std::set<std::string> defined, captured;
    for (const auto& in : inputs) defined.insert(in.name);
    for (const auto& [key, value] : initializers) defined.insert(key);
    auto read = [&](const std::string& name) {
      if (!name.empty() && !defined.count(name)) captured.insert(name);
    };
    for (const Node& n : nodes) {
      for (const auto& in : n.inputs) read(in);
      for (const auto& name : n.captured_names()) read(name);
      for (const auto& out : n.outputs) {
        if (!out.empty()) defined.insert(out);
      }
    }
    for (const auto& out : outputs) read(out.name);
    return {captured.begin(), captured.end()};
  }

  // How many nodes of each op type (for nabla-run's summary).
  std::map<std::string, std::int64_t> op_counts() const {
    std::map<std::string, std::int64_t> counts;
    for (const auto& n : nodes) ++counts[n.op_type];
    return counts;
  }
  // The number of elements in the initializers.
  std::int64_t parameter_count() const {
    std::int64_t n = 0;
    for (const auto& [key, value] : initializers) n += value.numel();
    return n;
  }
};

inline std::vector<std::string> Node::captured_names() const {
  std::set<std::string> names;
  for (const auto& [key, sub] : subgraphs()) {
    for (auto& name : sub->captured_names()) names.insert(std::move(name));
  }
  return {names.begin(), names.end()};
}

}  // namespace nabla::graph

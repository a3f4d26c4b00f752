// The runtime's op interface: an OpKernel is built once per node when a
// Session is made (attributes parsed, constant inputs looked at, weights
// prepacked) and then run many times, from many threads: run() is const.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/graph/graph.hpp"
#include "nabla/graph/value.hpp"

namespace nabla::graph {

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  // Reads the node's inputs (an omitted optional input is an undefined
  // Value) and writes every output.
  virtual void run(const std::vector<Value>& inputs, std::vector<Value>& outputs) const = 0;
};

// A built subgraph (an If branch): runs with its inputs in order and returns
// its outputs. Made by the Session that builds the node, so control-flow
// kernels need not know the executor.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  virtual std::vector<Value> run(const std::vector<Value>& inputs) const = 0;
};

// What a kernel's builder may look at besides its node.
struct KernelContext {
  const Graph& graph;
  std::int64_t opset;  // of the node's domain
  // The value of input k when it is an initializer (a constant), else null.
  std::function<const Value*(std::size_t k)> constant;
  // Builds `subgraph` to run with the graph's opsets; empty outside a Session.
  std::function<std::shared_ptr<const SubgraphRunner>(Graph subgraph)> build_subgraph = {};
};

using KernelBuilder = std::unique_ptr<OpKernel> (*)(const Node&, const KernelContext&);

namespace detail {

template <class F>
class FunctionKernel final : public OpKernel {
 public:
  explicit FunctionKernel(F f) : f_(std::move(f)) {}
  void run(const std::vector<Value>& inputs, std::vector<Value>& outputs) const override { f_(inputs, outputs); }

 private:
  F f_;
};

// A kernel from a callable f(inputs, outputs).
template <class F>
std::unique_ptr<OpKernel> kernel(F f) {
  return std::make_unique<FunctionKernel<F>>(std::move(f));
}

// Calls f(tensor) with x as a floating tensor (float or double), naming
// the node when x is of another type.
template <class F>
decltype(auto) visit_floating(const Value& x, const std::string& what, F&& f) {
  if (x.is<float>()) return f(x.as<float>());
  if (x.is<double>()) return f(x.as<double>());
  throw ValueError(nabla::detail::message(what, ": expected a float32 or float64 tensor, got ", dtype_name(x.dtype()),
                                   x.defined() ? " of shape " + to_string(x.shape()) : ""));
}

// Calls f(tensor) for any numeric (non-bool) dtype; f is not instantiated
// for bool.
template <class F>
decltype(auto) visit_numeric(const Value& x, const std::string& what, F&& f) {
  switch (x.dtype()) {
    case DType::float32: return f(x.as<float>());
    case DType::float64: return f(x.as<double>());
    case DType::int64: return f(x.as<std::int64_t>());
    case DType::int32: return f(x.as<std::int32_t>());
    case DType::int8: return f(x.as<std::int8_t>());
    case DType::uint8: return f(x.as<std::uint8_t>());
    default: break;
  }
  throw ValueError(nabla::detail::message(what, ": expected a numeric tensor, got ", dtype_name(x.dtype()),
                                          x.defined() ? " of shape " + to_string(x.shape()) : ""));
}

// The values of a 1-D (or 0-d) int64/int32 tensor, e.g. a shape input.
inline std::vector<std::int64_t> int_list(const Value& v, const std::string& what) {
  if (v.is<std::int64_t>()) return v.as<std::int64_t>().to_vector();
  if (v.is<std::int32_t>()) {
    const auto i = v.as<std::int32_t>().to_vector();
    return std::vector<std::int64_t>(i.begin(), i.end());
  }
  throw ValueError(nabla::detail::message(what, ": expected an int64 tensor, got ", dtype_name(v.dtype())));
}

inline void require_inputs(const Node& node, std::size_t at_least, std::size_t at_most) {
  std::size_t given = 0;
  for (std::size_t i = 0; i < node.inputs.size(); ++i) {
    if (!node.inputs[i].empty()) given = i + 1;
  }
  if (given < at_least || node.inputs.size() > at_most) {
    const std::string expected =
        at_least == at_most ? std::to_string(at_least) : nabla::detail::message(at_least, " to ", at_most);
    throw ValueError(nabla::detail::message(node.describe(), ": expected ", expected, " inputs, got ", node.inputs.size()));
  }
}

}  // namespace detail
}  // namespace nabla::graph

// Every runtime op kernel against PyTorch/NumPy references
// (tests/fixtures/graph_ops.json): each case is one ONNX node, built into a
// one-node Graph and run by a Session.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "support/fixture.hpp"
#include "nabla/graph.hpp"

using nabla::Shape;
using nabla::Tensor;
namespace graph = nabla::graph;

namespace {

graph::DType graph_dtype(const std::string& name) {
  if (name == "float32") return graph::DType::float32;
  if (name == "float64") return graph::DType::float64;
  if (name == "int64") return graph::DType::int64;
  if (name == "int32") return graph::DType::int32;
  if (name == "uint8") return graph::DType::uint8;
  if (name == "bool") return graph::DType::boolean;
  throw std::runtime_error("graph_ops fixture: unknown dtype " + name);
}

graph::Value graph_value(const nabla::testing::FixtureCase& c, const std::string& key, const std::string& dtype) {
  switch (graph_dtype(dtype)) {
    case graph::DType::float32: return c.tensor<float>(key);
    case graph::DType::float64: return c.tensor<double>(key);
    case graph::DType::int64: return c.tensor<std::int64_t>(key);
    case graph::DType::int32: return c.tensor<std::int32_t>(key);
    case graph::DType::uint8: return c.tensor<std::uint8_t>(key);
    case graph::DType::boolean: return c.tensor<bool>(key);
    default: break;
  }
  throw std::runtime_error("graph_ops fixture: bad dtype");
}

graph::Attribute graph_attribute(const nlohmann::json& a) {
  if (a.contains("i")) return a.at("i").get<std::int64_t>();
  if (a.contains("f")) return a.at("f").get<double>();
  if (a.contains("s")) return a.at("s").get<std::string>();
  if (a.contains("ints")) return a.at("ints").get<std::vector<std::int64_t>>();
  if (a.contains("floats")) return a.at("floats").get<std::vector<double>>();
  const nabla::testing::FixtureCase holder("attribute", a);
  return graph_value(holder, "t", a.at("t").at("dtype").get<std::string>());
}

// The case as a graph: inputs in0.. (omitted ones left out), outputs out0..
graph::Graph graph_of_case(const nabla::testing::FixtureCase& c, std::vector<graph::Value>& inputs) {
  graph::Graph g;
  g.name = c.name();
  g.opsets[""] = c.integer("opset");
  graph::Node node;
  node.op_type = c.text("op");
  node.name = c.name();
  const auto in_dtypes = c.json().at("in_dtypes").get<std::vector<std::string>>();
  for (std::size_t i = 0; i < in_dtypes.size(); ++i) {
    if (in_dtypes[i].empty()) {
      node.inputs.push_back("");
      continue;
    }
    const std::string key = "in" + std::to_string(i);
    inputs.push_back(graph_value(c, key, in_dtypes[i]));
    graph::ValueInfo info{key, graph_dtype(in_dtypes[i]), {}, false};
    g.inputs.push_back(info);
    node.inputs.push_back(key);
  }
  const auto out_dtypes = c.json().at("out_dtypes").get<std::vector<std::string>>();
  for (std::size_t i = 0; i < out_dtypes.size(); ++i) {
    const std::string key = "out" + std::to_string(i);
    node.outputs.push_back(key);
    g.outputs.push_back(graph::ValueInfo{key, graph_dtype(out_dtypes[i]), {}, false});
  }
  for (const auto& [name, a] : c.json().at("attrs").items()) node.attributes[name] = graph_attribute(a);
  g.nodes.push_back(node);
  return g;
}

void graph_check_case(const std::string& name) {
  INFO("case " << name);
  const auto c = nabla::testing::fixture("graph_ops").get(name);
  std::vector<graph::Value> inputs;
  const graph::Graph g = graph_of_case(c, inputs);
  const graph::Session<float> session(g);
  const std::vector<graph::Value> out = session.run_values(inputs);
  const auto out_dtypes = c.json().at("out_dtypes").get<std::vector<std::string>>();
  REQUIRE(out.size() == out_dtypes.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::string key = "out" + std::to_string(i);
    INFO("output " << i << " (" << out_dtypes[i] << ")");
    CHECK(graph::dtype_name(out[i].dtype()) == std::string(out_dtypes[i] == "bool" ? "bool" : out_dtypes[i]));
    out[i].visit([&](const auto& t) {
      using T = typename std::decay_t<decltype(t)>::value_type;
      const double tol = std::is_same_v<T, float> ? 2e-6 : std::is_same_v<T, double> ? 1e-12 : 0.0;
      nabla::testing::require_close(t, c.tensor<double>(key), tol, tol);
      return 0;
    });
  }
}

}  // namespace

TEST_CASE("runtime kernels match PyTorch and NumPy, one node at a time", "[graph]") {
  int checked = 0;
  for (const auto& name : nabla::testing::fixture("graph_ops").names()) {
    graph_check_case(name);
    ++checked;
  }
  CHECK(checked > 90);
  // Every op in the runtime's table has at least one case.
  std::set<std::string> covered;
  for (const auto& name : nabla::testing::fixture("graph_ops").names()) {
    covered.insert(nabla::testing::fixture("graph_ops").get(name).text("op"));
  }
  for (const auto& [op, support] : graph::op_table()) {
    if (op == "If") continue;  // subgraphs do not fit a one-node case: tests/graph/control_test.cpp
    INFO("op " << op);
    CHECK(covered.count(op) == 1);
  }
}

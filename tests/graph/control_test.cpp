// If: branches that read the enclosing graph's inputs, initializers and
// earlier values; nested If; a branch per run chosen by the condition; the
// errors a malformed If gives; and unsupported ops inside a branch are found
// at load. ONNX exports of detectors run these through the model zoo.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "graph/node_builder.hpp"
#include "nabla/graph.hpp"

namespace {

namespace graph = nabla::graph;
using nabla::Shape;
using nabla::Tensor;

using nabla::testing::make_node;

graph::ValueInfo control_output(const std::string& name) { return graph::ValueInfo{name, graph::DType::float32, {}, false}; }

// y = If(sum(x) > 0) then { x * w + h } else { Neg(h) }, where h = Relu(x)
// comes from the enclosing graph before the If, w is its initializer.
graph::Graph control_if_graph() {
  auto then_branch = std::make_shared<graph::Graph>();
  then_branch->name = "then";
  then_branch->nodes.push_back(make_node("Mul", {"x", "w"}, {"xw"}));
  then_branch->nodes.push_back(make_node("Add", {"xw", "h"}, {"t_out"}));
  then_branch->outputs.push_back(control_output("t_out"));
  auto else_branch = std::make_shared<graph::Graph>();
  else_branch->name = "else";
  else_branch->nodes.push_back(make_node("Neg", {"h"}, {"e_out"}));
  else_branch->outputs.push_back(control_output("e_out"));

  graph::Graph g;
  g.name = "if_graph";
  g.opsets[""] = 17;
  g.inputs.push_back(graph::ValueInfo{"x", graph::DType::float32, {graph::Dim{3, ""}}, true});
  g.initializers["w"] = Tensor<float>(Shape{3}, std::vector<float>{2, 3, 4});
  g.initializers["zero"] = Tensor<float>(Shape{}, std::vector<float>{0});
  g.nodes.push_back(make_node("Relu", {"x"}, {"h"}));
  g.nodes.push_back(make_node("ReduceSum", {"x"}, {"s"}, {{"keepdims", std::int64_t{0}}}));
  g.nodes.push_back(make_node("Greater", {"s", "zero"}, {"cond"}));
  g.nodes.push_back(make_node("If", {"cond"}, {"y"},
                                 {{"then_branch", std::shared_ptr<const graph::Graph>(then_branch)},
                                  {"else_branch", std::shared_ptr<const graph::Graph>(else_branch)}}));
  g.outputs.push_back(control_output("y"));
  return g;
}

std::vector<float> control_run(const graph::Session<float>& s, std::vector<float> x) {
  return s.run({Tensor<float>(Shape{3}, x)})[0].to_vector();
}

}  // namespace

TEST_CASE("If runs the branch its condition picks, with the enclosing graph's values", "[graph][control]") {
  const graph::Graph g = control_if_graph();
  CHECK(g.nodes[3].captured_names() == std::vector<std::string>{"h", "w", "x"});
  const graph::Session<float> s(g);
  // sum > 0: x * w + relu(x)
  CHECK(control_run(s, {1, -2, 3}) == std::vector<float>{3, -6, 15});
  // sum <= 0: -relu(x)
  CHECK(control_run(s, {1, -5, 3}) == std::vector<float>{-1, -0.0f, -3});
  // The caller's graph is not changed by the Session's lowering.
  CHECK(g.nodes[3].inputs.size() == 1);
  // Many threads at once on one Session, each taking both branches.
  std::vector<std::thread> pool;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&s, &ok, t] {
      bool good = true;
      for (int i = 0; i < 50; ++i) {
        good = good && control_run(s, {1, -2, 3}) == std::vector<float>{3, -6, 15};
        good = good && control_run(s, {1, -5, 3}) == std::vector<float>{-1, -0.0f, -3};
      }
      ok[static_cast<std::size_t>(t)] = good ? 1 : 0;
    });
  }
  for (auto& th : pool) th.join();
  CHECK(ok == std::vector<int>{1, 1, 1, 1});
}

TEST_CASE("nested If reads values two scopes out", "[graph][control]") {
  // y = If(c1) then { If(c2) then { x + 1 } else { x - 1 } } else { x * 0 }
  auto inner_then = std::make_shared<graph::Graph>();
  inner_then->nodes.push_back(make_node("Add", {"x", "one"}, {"a"}));
  inner_then->outputs.push_back(control_output("a"));
  auto inner_else = std::make_shared<graph::Graph>();
  inner_else->nodes.push_back(make_node("Sub", {"x", "one"}, {"b"}));
  inner_else->outputs.push_back(control_output("b"));
  auto outer_then = std::make_shared<graph::Graph>();
  outer_then->nodes.push_back(make_node("If", {"c2"}, {"inner"},
                                           {{"then_branch", std::shared_ptr<const graph::Graph>(inner_then)},
                                            {"else_branch", std::shared_ptr<const graph::Graph>(inner_else)}}));
  outer_then->outputs.push_back(control_output("inner"));
  auto outer_else = std::make_shared<graph::Graph>();
  outer_else->initializers["nought"] = Tensor<float>(Shape{}, std::vector<float>{0});
  outer_else->nodes.push_back(make_node("Mul", {"x", "nought"}, {"z"}));
  outer_else->outputs.push_back(control_output("z"));

  graph::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(graph::ValueInfo{"x", graph::DType::float32, {graph::Dim{2, ""}}, true});
  g.inputs.push_back(graph::ValueInfo{"c1", graph::DType::boolean, {}, true});
  g.inputs.push_back(graph::ValueInfo{"c2", graph::DType::boolean, {}, true});
  g.initializers["one"] = Tensor<float>(Shape{}, std::vector<float>{1});
  g.nodes.push_back(make_node("If", {"c1"}, {"y"},
                                 {{"then_branch", std::shared_ptr<const graph::Graph>(outer_then)},
                                  {"else_branch", std::shared_ptr<const graph::Graph>(outer_else)}}));
  g.outputs.push_back(control_output("y"));
  CHECK(g.nodes[0].captured_names() == std::vector<std::string>{"c2", "one", "x"});
  const graph::Session<float> s(g);
  const Tensor<float> x(Shape{2}, std::vector<float>{5, 7});
  auto run = [&](bool c1, bool c2) {
    const std::vector<graph::Value> out =
        s.run_values({x, Tensor<bool>(Shape{}, std::vector<bool>{c1}), Tensor<bool>(Shape{}, std::vector<bool>{c2})});
    return out[0].as<float>().to_vector();
  };
  CHECK(run(true, true) == std::vector<float>{6, 8});
  CHECK(run(true, false) == std::vector<float>{4, 6});
  CHECK(run(false, true) == std::vector<float>{0, 0});
}

TEST_CASE("malformed If graphs are rejected at Session construction or run", "[graph][control]") {
  // A branch reading a name no scope defines.
  graph::Graph g = control_if_graph();
  {
    auto bad = std::make_shared<graph::Graph>(*g.nodes[3].get<std::shared_ptr<const graph::Graph>>("else_branch"));
    bad->nodes[0].inputs = {"nowhere"};
    g.nodes[3].attributes["else_branch"] = std::shared_ptr<const graph::Graph>(bad);
  }
  CHECK_THROWS_WITH(graph::Session<float>(g), Catch::Contains("reads 'nowhere', which no earlier node, input or initializer defines"));

  // An unsupported op inside a branch is reported by check_supported, with its opset.
  g = control_if_graph();
  {
    auto bad = std::make_shared<graph::Graph>(*g.nodes[3].get<std::shared_ptr<const graph::Graph>>("then_branch"));
    bad->nodes[0].op_type = "FancyMul";
    g.nodes[3].attributes["then_branch"] = std::shared_ptr<const graph::Graph>(bad);
  }
  CHECK_THROWS_WITH(graph::check_supported(g), "graph 'if_graph': 1 unsupported op type: FancyMul (opset 17)");

  // Branches returning a different number of values than the node has outputs.
  g = control_if_graph();
  g.nodes[3].outputs = {"y", "y2"};
  const graph::Session<float> two(g);
  CHECK_THROWS_WITH(control_run(two, {1, 1, 1}),
                    "Session::run: If node 'y': the then branch returns 1 values, the node has 2 outputs");

  // A condition that is not one element.
  g = control_if_graph();
  g.nodes[3].inputs = {"x"};
  const graph::Session<float> wide(g);
  CHECK_THROWS_WITH(control_run(wide, {1, 1, 1}),
                    "Session::run: If node 'y': the condition must hold one element, got shape [3]");

  // If built outside a Session has nothing to build its branches with.
  g = control_if_graph();
  const graph::KernelContext ctx{g, 17, [](std::size_t) -> const graph::Value* { return nullptr; }};
  CHECK_THROWS_WITH(graph::ops::make_If(g.nodes[3], ctx), "If node 'y': If runs only inside a graph::Session");
}

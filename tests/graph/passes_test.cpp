// graph::optimize and its passes on small hand-built graphs: what each pass
// leaves (the node list) and that a Session of the optimized graph computes
// what one of the original does: bit for bit for identity, dead-node and
// constant removal and for fusion; within 1e-6 relative where
// BatchNormalization or a bias was folded into the weights.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/node_builder.hpp"
#include "nabla/graph.hpp"
#include "nabla/graph/passes.hpp"

namespace {

namespace graph = nabla::graph;
using nabla::Shape;
using nabla::Tensor;

using nabla::testing::make_node;

// A float value; extent -1 is the symbolic "batch".
graph::ValueInfo passes_info(const std::string& name, const std::vector<std::int64_t>& dims) {
  graph::ValueInfo v{name, graph::DType::float32, {}, true};
  for (const std::int64_t d : dims) v.shape.push_back(d < 0 ? graph::Dim{-1, "batch"} : graph::Dim{d, ""});
  return v;
}
graph::ValueInfo passes_output(const std::string& name) { return graph::ValueInfo{name, graph::DType::float32, {}, false}; }

graph::Graph passes_graph(std::int64_t opset) {
  graph::Graph g;
  g.name = "passes";
  g.opsets[""] = opset;
  return g;
}

Tensor<float> passes_random(const Shape& shape, std::uint64_t seed) {
  nabla::Generator gen(seed);
  return nabla::randn<float>(shape, gen);
}
Tensor<float> passes_positive(const Shape& shape, std::uint64_t seed) {
  return nabla::add(nabla::abs(passes_random(shape, seed)), 0.5f);
}
Tensor<std::int64_t> passes_ints(std::vector<std::int64_t> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return Tensor<std::int64_t>(Shape{n}, std::move(v));
}

std::vector<std::string> passes_ops(const graph::Graph& g) {
  std::vector<std::string> ops;
  for (const auto& n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

std::vector<Tensor<float>> passes_run(const graph::Graph& g, const std::vector<Tensor<float>>& inputs, int threads = 1) {
  return graph::Session<float>(g, graph::SessionOptions().threads(threads)).run(inputs);
}

// The same bits in every output, and NaN where it has NaN (whose payload
// may depend on the order of a product's operands: x * sigmoid(x) as fused
// versus Mul(Sigmoid(x), x)).
void passes_require_identical(const graph::Graph& original, const graph::Graph& optimized,
                              const std::vector<Tensor<float>>& inputs) {
  const auto want = passes_run(original, inputs);
  for (const int threads : {1, 2}) {
    const auto got = passes_run(optimized, inputs, threads);
    REQUIRE(got.size() == want.size());
    for (std::size_t k = 0; k < want.size(); ++k) {
      INFO("output " << k << ", " << threads << " threads");
      REQUIRE(got[k].shape() == want[k].shape());
      const std::vector<float> a = got[k].to_vector(), b = want[k].to_vector();
      std::size_t differ = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        const bool both_nan = std::isnan(a[i]) && std::isnan(b[i]);
        if (!both_nan && std::memcmp(&a[i], &b[i], sizeof(float)) != 0) ++differ;
      }
      CHECK(differ == 0);
    }
  }
}

// max |got - want| <= tolerance * max |want|, per output.
void passes_require_close(const graph::Graph& original, const graph::Graph& optimized,
                          const std::vector<Tensor<float>>& inputs, double tolerance) {
  const auto want = passes_run(original, inputs);
  const auto got = passes_run(optimized, inputs);
  REQUIRE(got.size() == want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    REQUIRE(got[k].shape() == want[k].shape());
    const std::vector<float> a = got[k].to_vector(), b = want[k].to_vector();
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::abs(static_cast<double>(b[i])));
      diff = std::max(diff, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    }
    INFO("output " << k << ": max |diff| " << diff << ", max |ref| " << scale);
    CHECK(diff <= tolerance * scale);
  }
}

// x [2, 8, 33, 33] -> Conv (17 filters 3x3, pad 1, bias) -> conv: 37026
// outputs, more than one parallel chunk, SIMD and tile tails. z is a second
// input of the conv output's shape (a residual).
graph::Graph passes_conv_graph(std::int64_t opset) {
  graph::Graph g = passes_graph(opset);
  g.inputs = {passes_info("x", {2, 8, 33, 33}), passes_info("z", {2, 17, 33, 33})};
  g.initializers["W"] = passes_random(Shape{17, 8, 3, 3}, 1);
  g.initializers["B"] = passes_random(Shape{17}, 2);
  g.nodes.push_back(make_node("Conv", {"x", "W", "B"}, {"conv"},
                                {{"kernel_shape", std::vector<std::int64_t>{3, 3}}, {"pads", std::vector<std::int64_t>{1, 1, 1, 1}}}));
  return g;
}
std::vector<Tensor<float>> passes_conv_inputs() {
  Tensor<float> x = passes_random(Shape{2, 8, 33, 33}, 3);
  x.data()[5] = std::numeric_limits<float>::quiet_NaN();  // NaN goes through every activation as the unfused ops do
  return {x, passes_random(Shape{2, 17, 33, 33}, 4)};
}

}  // namespace

TEST_CASE("remove_identities rewires readers; graph outputs keep their names", "[graph][passes]") {
  graph::Graph g = passes_graph(13);
  g.inputs = {passes_info("x", {2, 3})};
  g.initializers["ratio"] = Tensor<float>::scalar(0.3f);
  g.nodes = {make_node("Relu", {"x"}, {"a"}),
             make_node("Identity", {"a"}, {"b"}),
             make_node("Sigmoid", {"b"}, {"c"}),
             make_node("Identity", {"c"}, {"y"}),          // a graph output: Sigmoid writes y instead
             make_node("Identity", {"x"}, {"x_copy"}),     // a graph output of a graph input: kept
             make_node("Dropout", {"a", "ratio"}, {"d"}),  // no training_mode: inference
             make_node("Tanh", {"d"}, {"e"})};
  g.outputs = {passes_output("y"), passes_output("x_copy"), passes_output("e")};
  graph::Graph opt = g;
  CHECK(graph::remove_identities(opt) == 3);
  CHECK(passes_ops(opt) == std::vector<std::string>{"Relu", "Sigmoid", "Identity", "Tanh"});
  CHECK(opt.nodes[1].inputs == std::vector<std::string>{"a"});
  CHECK(opt.nodes[1].outputs == std::vector<std::string>{"y"});
  CHECK(opt.nodes[3].inputs == std::vector<std::string>{"a"});
  opt.validate();
  passes_require_identical(g, opt, {passes_random(Shape{2, 3}, 7)});
}

TEST_CASE("remove_identities: Dropout in training mode or with its mask read stays", "[graph][passes]") {
  graph::Graph g = passes_graph(13);
  g.inputs = {passes_info("x", {2, 3})};
  g.initializers["zero"] = Tensor<float>::scalar(0.0f);
  g.initializers["yes"] = Tensor<bool>::scalar(true);
  g.initializers["no"] = Tensor<bool>::scalar(false);
  g.nodes = {make_node("Dropout", {"x", "zero", "yes"}, {"d1"}),          // training_mode = true (ratio 0 runs)
             make_node("Dropout", {"d1", "zero", "no"}, {"d2", "mask"}),  // mask is a graph output
             make_node("Dropout", {"d2", "zero", "no"}, {"d3"}),          // constant false: removed
             make_node("Relu", {"d3"}, {"y"})};
  g.outputs = {passes_output("y"), graph::ValueInfo{"mask", graph::DType::boolean, {}, false}};
  graph::Graph opt = g;
  CHECK(graph::remove_identities(opt) == 1);
  CHECK(passes_ops(opt) == std::vector<std::string>{"Dropout", "Dropout", "Relu"});
  CHECK(opt.nodes[2].inputs == std::vector<std::string>{"d2"});

  // Before opset 12 Dropout has no training_mode; an unread mask does not keep it.
  graph::Graph old = passes_graph(11);
  old.inputs = {passes_info("x", {2, 3})};
  old.nodes = {make_node("Dropout", {"x"}, {"d", "unused_mask"}, {{"ratio", 0.5}}), make_node("Relu", {"d"}, {"y"})};
  old.outputs = {passes_output("y")};
  graph::Graph old_opt = old;
  CHECK(graph::remove_identities(old_opt) == 1);
  CHECK(passes_ops(old_opt) == std::vector<std::string>{"Relu"});
  passes_require_identical(old, old_opt, {passes_random(Shape{2, 3}, 8)});
}

TEST_CASE("remove_dead_nodes drops unneeded nodes and initializers; subgraph reads stay live", "[graph][passes]") {
  graph::Graph g = passes_graph(17);
  g.inputs = {passes_info("x", {3}), passes_info("unused_default", {3})};
  g.initializers["k"] = passes_random(Shape{3}, 1);
  g.initializers["w_unused"] = passes_random(Shape{3}, 2);
  g.initializers["unused_default"] = passes_random(Shape{3}, 3);  // an initializer listed as an input
  g.nodes = {make_node("Relu", {"x"}, {"a"}),
             make_node("Tanh", {"x"}, {"t"}),
             make_node("Mul", {"t", "w_unused"}, {"u"}),  // nothing reads u
             make_node("Add", {"a", "k"}, {"y"})};
  g.outputs = {passes_output("y")};
  graph::Graph opt = g;
  std::int64_t initializers = 0;
  CHECK(graph::remove_dead_nodes(opt, &initializers) == 2);
  CHECK(initializers == 2);
  CHECK(passes_ops(opt) == std::vector<std::string>{"Relu", "Add"});
  CHECK(opt.initializers.size() == 1);
  CHECK(opt.inputs.size() == 1);
  passes_require_identical(g, opt, {passes_random(Shape{3}, 9)});

  // h is read only inside the If's branch: it stays, and so does its producer.
  auto branch = std::make_shared<graph::Graph>();
  branch->nodes.push_back(make_node("Neg", {"h"}, {"b_out"}));
  branch->outputs.push_back(passes_output("b_out"));
  graph::Graph with_if = passes_graph(17);
  with_if.inputs = {passes_info("x", {3}), graph::ValueInfo{"cond", graph::DType::boolean, {}, true}};
  with_if.nodes = {make_node("Relu", {"x"}, {"h"}),
                   make_node("Sigmoid", {"x"}, {"dead"}),
                   make_node("If", {"cond"}, {"y"},
                               {{"then_branch", std::shared_ptr<const graph::Graph>(branch)},
                                {"else_branch", std::shared_ptr<const graph::Graph>(branch)}})};
  with_if.outputs = {passes_output("y")};
  CHECK(graph::remove_dead_nodes(with_if) == 1);
  CHECK(passes_ops(with_if) == std::vector<std::string>{"Relu", "If"});
  // An Identity whose output a subgraph reads is not removed either.
  graph::Graph captured = with_if;
  captured.nodes.insert(captured.nodes.begin() + 1, make_node("Identity", {"h"}, {"h2"}));
  auto branch2 = std::make_shared<graph::Graph>(*branch);
  branch2->nodes[0].inputs = {"h2"};
  captured.nodes[2].attributes["then_branch"] = std::shared_ptr<const graph::Graph>(branch2);
  CHECK(graph::remove_identities(captured) == 0);
  CHECK(graph::remove_dead_nodes(captured) == 0);
}

TEST_CASE("fold_constants: Constant nodes, constant subexpressions, Shape of a static shape", "[graph][passes]") {
  // torch's flatten: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])).
  auto make = [](std::int64_t batch) {
    graph::Graph g = passes_graph(13);
    g.inputs = {passes_info("x", {batch, 3, 4, 4})};
    g.nodes = {make_node("Shape", {"x"}, {"s"}),
               make_node("Constant", {}, {"i0"}, {{"value", graph::Value(Tensor<std::int64_t>::scalar(0))}}),
               make_node("Gather", {"s", "i0"}, {"b"}, {{"axis", std::int64_t{0}}}),
               make_node("Constant", {}, {"ax"}, {{"value_ints", std::vector<std::int64_t>{0}}}),
               make_node("Unsqueeze", {"b", "ax"}, {"b1"}),
               make_node("Constant", {}, {"m1"}, {{"value", graph::Value(passes_ints({-1}))}}),
               make_node("Concat", {"b1", "m1"}, {"shp"}, {{"axis", std::int64_t{0}}}),
               make_node("Reshape", {"x", "shp"}, {"flat"}),
               make_node("Shape", {"x"}, {"tail"}, {{"start", std::int64_t{1}}}),  // [3, 4, 4] even with a batch
               make_node("Size", {"flat"}, {"count"}),
               make_node("Relu", {"flat"}, {"y"})};
    g.outputs = {passes_output("y"), graph::ValueInfo{"tail", graph::DType::int64, {}, false},
                 graph::ValueInfo{"count", graph::DType::int64, {}, false}};
    return g;
  };
  const graph::Graph fixed = make(2);
  graph::Graph opt = fixed;
  CHECK(graph::fold_constants(opt) == 9);
  CHECK(passes_ops(opt) == std::vector<std::string>{"Reshape", "Relu"});
  CHECK(opt.initializers.at("shp").as<std::int64_t>().to_vector() == std::vector<std::int64_t>{2, -1});
  CHECK(opt.initializers.at("tail").as<std::int64_t>().to_vector() == std::vector<std::int64_t>{3, 4, 4});
  CHECK(opt.initializers.at("count").as<std::int64_t>().item() == 96);
  passes_require_identical(fixed, opt, {passes_random(Shape{2, 3, 4, 4}, 1)});

  // A symbolic batch: the Shape of x and what depends on it stay.
  const graph::Graph dynamic = make(-1);
  graph::Graph dyn_opt = dynamic;
  CHECK(graph::fold_constants(dyn_opt) == 4);  // three Constants and Shape(start = 1)
  CHECK(passes_ops(dyn_opt) == std::vector<std::string>{"Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "Size", "Relu"});
  for (const std::int64_t batch : {2, 3}) {
    const auto x = passes_random(Shape{batch, 3, 4, 4}, 2);
    const auto a = graph::Session<float>(dynamic).run_values({x});
    const auto b = graph::Session<float>(dyn_opt).run_values({x});
    CHECK(a[0].as<float>().to_vector() == b[0].as<float>().to_vector());
    CHECK(b[1].as<std::int64_t>().to_vector() == std::vector<std::int64_t>{3, 4, 4});
    CHECK(b[2].as<std::int64_t>().item() == batch * 48);
  }
}

TEST_CASE("fold_constants keeps outputs over 64 MiB, failing nodes and unsupported opsets", "[graph][passes]") {
  graph::Graph g = passes_graph(13);
  g.inputs = {passes_info("x", {1})};
  g.initializers["one"] = Tensor<float>(Shape{1}, std::vector<float>{1});
  g.initializers["big"] = passes_ints({4097, 4096});  // 64 MiB + 16 KiB of floats
  g.initializers["small"] = passes_ints({2, 3});
  g.initializers["bad"] = passes_ints({5, 7});
  g.nodes = {make_node("Expand", {"one", "big"}, {"huge"}),
             make_node("Expand", {"one", "small"}, {"fine"}),
             make_node("Reshape", {"one", "bad"}, {"broken"}),            // 1 element into 35: Session's error
             make_node("HardSwish", {"one"}, {"too_new"})};               // opset 14+: Session refuses it
  g.outputs = {passes_output("huge"), passes_output("fine"), passes_output("broken"), passes_output("too_new")};
  CHECK(graph::fold_constants(g) == 1);
  CHECK(passes_ops(g) == std::vector<std::string>{"Expand", "Reshape", "HardSwish"});
  CHECK(g.initializers.at("fine").shape() == Shape{2, 3});
}

TEST_CASE("infer_shapes through the common ops, with a symbolic batch", "[graph][passes]") {
  graph::Graph g = passes_graph(13);
  g.inputs = {passes_info("x", {-1, 3, 9, 9})};
  g.initializers["W"] = passes_random(Shape{8, 3, 3, 3}, 1);
  g.initializers["Wg"] = passes_random(Shape{4, 8}, 2);
  g.initializers["M"] = passes_random(Shape{200, 6}, 3);
  g.initializers["bias"] = passes_random(Shape{8, 1, 1}, 4);
  g.initializers["flat"] = passes_ints({0, -1});
  using ints = std::vector<std::int64_t>;
  g.nodes = {make_node("Conv", {"x", "W"}, {"c"}, {{"strides", ints{2, 2}}, {"pads", ints{1, 1, 1, 1}}}),
             make_node("MaxPool", {"c"}, {"p"}, {{"kernel_shape", ints{2, 2}}, {"strides", ints{2, 2}}, {"ceil_mode", std::int64_t{1}}}),
             make_node("GlobalAveragePool", {"p"}, {"gap"}),
             make_node("Flatten", {"gap"}, {"f"}),
             make_node("Gemm", {"f", "Wg"}, {"o"}, {{"transB", std::int64_t{1}}}),
             make_node("Reshape", {"c", "flat"}, {"r"}),
             make_node("Transpose", {"c"}, {"t"}, {{"perm", ints{0, 2, 3, 1}}}),
             make_node("Concat", {"c", "c"}, {"cc"}, {{"axis", std::int64_t{1}}}),
             make_node("MatMul", {"r", "M"}, {"mm"}),
             make_node("Softmax", {"mm"}, {"sm"}),
             make_node("Add", {"c", "bias"}, {"ab"}),
             make_node("Shape", {"x"}, {"s"}),
             make_node("Equal", {"ab", "c"}, {"eq"}),
             make_node("NonZero", {"x"}, {"nz"}),  // not known: stops there
             make_node("Relu", {"nz"}, {"after"})};
  const auto shapes = graph::infer_shapes(g);
  auto dims = [&](const std::string& name) { return graph::to_string(shapes.at(name).shape); };
  CHECK(dims("c") == "[batch, 8, 5, 5]");
  CHECK(dims("p") == "[batch, 8, 3, 3]");
  CHECK(dims("gap") == "[batch, 8, 1, 1]");
  CHECK(dims("f") == "[batch, 8]");
  CHECK(dims("o") == "[batch, 4]");
  CHECK(dims("r") == "[batch, 200]");
  CHECK(dims("t") == "[batch, 5, 5, 8]");
  CHECK(dims("cc") == "[batch, 16, 5, 5]");
  CHECK(dims("mm") == "[batch, 6]");
  CHECK(dims("sm") == "[batch, 6]");
  CHECK(dims("ab") == "[batch, 8, 5, 5]");
  CHECK(dims("s") == "[4]");
  CHECK(shapes.at("s").dtype == graph::DType::int64);
  CHECK(shapes.at("eq").dtype == graph::DType::boolean);
  CHECK(shapes.count("nz") == 0);
  CHECK(shapes.count("after") == 0);
}

TEST_CASE("fold_conv_bn folds inference BatchNormalization into the Conv before it", "[graph][passes]") {
  for (const bool with_bias : {true, false}) {
    INFO("conv bias " << with_bias);
    graph::Graph g = passes_graph(13);
    g.inputs = {passes_info("x", {2, 4, 9, 9})};
    g.initializers["W"] = passes_random(Shape{6, 2, 3, 3}, 1);  // groups = 2
    if (with_bias) g.initializers["B"] = passes_random(Shape{6}, 2);
    g.initializers["scale"] = passes_random(Shape{6}, 3);
    g.initializers["beta"] = passes_random(Shape{6}, 4);
    g.initializers["mean"] = passes_random(Shape{6}, 5);
    g.initializers["var"] = passes_positive(Shape{6}, 6);
    g.nodes = {make_node("Conv", {"x", "W", with_bias ? "B" : ""}, {"c"}, {{"group", std::int64_t{2}}}),
               make_node("BatchNormalization", {"c", "scale", "beta", "mean", "var"}, {"y"}, {{"epsilon", 1e-3}})};
    g.outputs = {passes_output("y")};
    graph::Graph opt = g;
    CHECK(graph::fold_conv_bn(opt) == 1);
    REQUIRE(passes_ops(opt) == std::vector<std::string>{"Conv"});
    CHECK(opt.nodes[0].outputs == std::vector<std::string>{"y"});
    CHECK(opt.nodes[0].inputs.size() == 3);
    passes_require_close(g, opt, {passes_random(Shape{2, 4, 9, 9}, 7)}, 1e-6);
    // The old weights are unused now.
    std::int64_t dropped = 0;
    graph::remove_dead_nodes(opt, &dropped);
    CHECK(dropped == (with_bias ? 6 : 5));
  }
  // A Conv output read twice, or a non-constant mean, stays unfolded.
  graph::Graph g = passes_graph(13);
  g.inputs = {passes_info("x", {1, 2, 5, 5}), passes_info("mean_in", {2})};
  g.initializers["W"] = passes_random(Shape{2, 2, 1, 1}, 1);
  g.initializers["s"] = passes_positive(Shape{2}, 2);
  g.nodes = {make_node("Conv", {"x", "W"}, {"c"}),
             make_node("BatchNormalization", {"c", "s", "s", "s", "s"}, {"y"}),
             make_node("Relu", {"c"}, {"y2"}),
             make_node("Conv", {"x", "W"}, {"c2"}),
             make_node("BatchNormalization", {"c2", "s", "s", "mean_in", "s"}, {"y3"})};
  g.outputs = {passes_output("y"), passes_output("y2"), passes_output("y3")};
  CHECK(graph::fold_conv_bn(g) == 0);
}

TEST_CASE("fold_linear_bias: MatMul or Gemm + Add(constant) becomes a Gemm with C", "[graph][passes]") {
  graph::Graph g = passes_graph(13);
  g.inputs = {passes_info("x", {4, 6}), passes_info("x3", {2, 4, 6})};
  g.initializers["W"] = passes_random(Shape{6, 5}, 1);
  g.initializers["W2"] = passes_random(Shape{6, 5}, 2);
  g.initializers["W4"] = passes_random(Shape{6, 5}, 8);
  g.initializers["Wg"] = passes_random(Shape{5, 6}, 3);
  g.initializers["b"] = passes_random(Shape{5}, 4);
  g.initializers["b45"] = passes_random(Shape{4, 5}, 5);
  g.nodes = {make_node("MatMul", {"x", "W"}, {"m1"}),
             make_node("Add", {"m1", "b"}, {"y1"}),  // -> Gemm(x, W^T, b), transB = 1
             make_node("MatMul", {"x", "W2"}, {"m2"}),
             make_node("Add", {"b45", "m2"}, {"y2"}),  // a full [4, 5] bias: Gemm(x, W2, b45)
             make_node("Gemm", {"x", "Wg"}, {"m3"}, {{"transB", std::int64_t{1}}, {"alpha", 0.5}}),
             make_node("Add", {"m3", "b"}, {"y3"}),
             make_node("MatMul", {"x3", "W4"}, {"m4"}),  // 3-D: no Gemm
             make_node("Add", {"m4", "b"}, {"y4"})};
  g.outputs = {passes_output("y1"), passes_output("y2"), passes_output("y3"), passes_output("y4")};
  graph::Graph opt = g;
  CHECK(graph::fold_linear_bias(opt) == 3);
  REQUIRE(passes_ops(opt) == std::vector<std::string>{"Gemm", "Gemm", "Gemm", "MatMul", "Add"});
  CHECK(opt.nodes[0].attr_int("transB", 0) == 1);
  CHECK(opt.nodes[1].attr_int("transB", 0) == 0);
  CHECK(opt.nodes[1].inputs == std::vector<std::string>{"x", "W2", "b45"});
  CHECK(opt.nodes[2].inputs == std::vector<std::string>{"x", "Wg", "b"});
  passes_require_close(g, opt, {passes_random(Shape{4, 6}, 6), passes_random(Shape{2, 4, 6}, 7)}, 1e-6);
}

TEST_CASE("fuse_epilogues: Conv + activation is bit-identical for every activation", "[graph][passes]") {
  struct Tail {
    const char* activation;
    std::int64_t opset;
    std::vector<graph::Node> nodes;  // reading "conv" or "sum", writing "y"
    std::vector<double> params;
  };
  const std::vector<Tail> tails = {
      {"Relu", 14, {make_node("Relu", {"sum"}, {"y"})}, {}},
      {"Clip", 14, {make_node("Clip", {"sum", "lo", "hi"}, {"y"})}, {0.0, 6.0}},
      {"Clip", 14, {make_node("Clip", {"sum", "", "hi"}, {"y"})}, {-INFINITY, 6.0}},
      {"Clip", 10, {make_node("Clip", {"sum"}, {"y"}, {{"min", -1.0}, {"max", 0.5}})}, {-1.0, 0.5}},
      {"LeakyRelu", 14, {make_node("LeakyRelu", {"sum"}, {"y"}, {{"alpha", 0.1}})}, {0.1}},
      {"Sigmoid", 14, {make_node("Sigmoid", {"sum"}, {"y"})}, {}},
      {"HardSigmoid", 14, {make_node("HardSigmoid", {"sum"}, {"y"}, {{"alpha", 0.3}, {"beta", 0.4}})}, {0.3, 0.4}},
      {"HardSwish", 14, {make_node("HardSwish", {"sum"}, {"y"})}, {}},
      {"Tanh", 14, {make_node("Tanh", {"sum"}, {"y"})}, {}},
      {"SiLU", 14, {make_node("Sigmoid", {"sum"}, {"s"}), make_node("Mul", {"sum", "s"}, {"y"})}, {}},
      {"SiLU", 14, {make_node("Sigmoid", {"sum"}, {"s"}), make_node("Mul", {"s", "sum"}, {"y"})}, {}},
  };
  for (const Tail& tail : tails) {
    for (const int residual : {0, 1, 2}) {  // none, Add(conv, z), Add(z, conv)
      INFO(tail.activation << " (opset " << tail.opset << "), residual " << residual);
      graph::Graph g = passes_conv_graph(tail.opset);
      g.initializers["lo"] = Tensor<float>::scalar(0.0f);
      g.initializers["hi"] = Tensor<float>::scalar(6.0f);
      if (residual == 0) {
        g.nodes.push_back(make_node("Identity", {"conv"}, {"sum"}));
      } else {
        g.nodes.push_back(make_node("Add", residual == 1 ? std::vector<std::string>{"conv", "z"} : std::vector<std::string>{"z", "conv"}, {"sum"}));
      }
      for (const auto& n : tail.nodes) g.nodes.push_back(n);
      g.outputs = {passes_output("y")};
      graph::remove_identities(g);
      graph::Graph opt = g;
      std::map<std::string, std::int64_t> patterns;
      CHECK(graph::fuse_epilogues(opt, &patterns) == 1);
      CHECK(patterns == std::map<std::string, std::int64_t>{{std::string("Conv") + (residual ? "+Add+" : "+") + tail.activation, 1}});
      REQUIRE(passes_ops(opt) == std::vector<std::string>{"FusedConv"});
      const graph::Node& f = opt.nodes[0];
      CHECK(f.domain == "nabla");
      CHECK(f.outputs == std::vector<std::string>{"y"});
      CHECK(f.inputs == (residual ? std::vector<std::string>{"x", "W", "B", "z"} : std::vector<std::string>{"x", "W", "B"}));
      CHECK(f.attr_string("activation", "") == tail.activation);
      CHECK(f.attr_floats("activation_params") == tail.params);
      CHECK(f.attr_ints("pads") == std::vector<std::int64_t>{1, 1, 1, 1});
      CHECK(opt.opset("nabla") == 1);
      passes_require_identical(g, opt, passes_conv_inputs());
    }
  }
}

TEST_CASE("fuse_epilogues: Conv + Add alone, a 1-D Conv, Gemm + activation", "[graph][passes]") {
  graph::Graph g = passes_conv_graph(14);
  g.nodes.push_back(make_node("Add", {"z", "conv"}, {"y"}));
  g.outputs = {passes_output("y")};
  graph::Graph opt = g;
  CHECK(graph::fuse_epilogues(opt) == 1);
  REQUIRE(passes_ops(opt) == std::vector<std::string>{"FusedConv"});
  CHECK_FALSE(opt.nodes[0].has("activation"));
  passes_require_identical(g, opt, passes_conv_inputs());

  graph::Graph conv1d = passes_graph(14);
  conv1d.inputs = {passes_info("x", {2, 4, 50})};
  conv1d.initializers["W"] = passes_random(Shape{6, 4, 3}, 1);
  conv1d.nodes = {make_node("Conv", {"x", "W"}, {"c"}, {{"strides", std::vector<std::int64_t>{2}}}),
                  make_node("Tanh", {"c"}, {"y"})};
  conv1d.outputs = {passes_output("y")};
  graph::Graph conv1d_opt = conv1d;
  CHECK(graph::fuse_epilogues(conv1d_opt) == 1);
  CHECK(conv1d_opt.nodes[0].inputs == std::vector<std::string>{"x", "W"});
  passes_require_identical(conv1d, conv1d_opt, {passes_random(Shape{2, 4, 50}, 2)});

  graph::Graph mlp = passes_graph(13);
  mlp.inputs = {passes_info("x", {5, 7}), passes_info("r", {5, 3})};
  mlp.initializers["W1"] = passes_random(Shape{9, 7}, 1);
  mlp.initializers["b1"] = passes_random(Shape{9}, 2);
  mlp.initializers["W2"] = passes_random(Shape{9, 3}, 3);
  mlp.nodes = {make_node("Gemm", {"x", "W1", "b1"}, {"h"}, {{"transB", std::int64_t{1}}}),
               make_node("Relu", {"h"}, {"a"}),
               make_node("Gemm", {"a", "W2"}, {"o"}),
               make_node("Add", {"o", "r"}, {"o2"}),
               make_node("LeakyRelu", {"o2"}, {"y"})};
  mlp.outputs = {passes_output("y")};
  graph::Graph mlp_opt = mlp;
  std::map<std::string, std::int64_t> patterns;
  CHECK(graph::fuse_epilogues(mlp_opt, &patterns) == 2);
  CHECK(patterns == std::map<std::string, std::int64_t>{{"Gemm+Relu", 1}, {"Gemm+Add+LeakyRelu", 1}});
  REQUIRE(passes_ops(mlp_opt) == std::vector<std::string>{"FusedGemm", "FusedGemm"});
  CHECK(mlp_opt.nodes[1].inputs == std::vector<std::string>{"a", "W2", "", "r"});
  passes_require_identical(mlp, mlp_opt, {passes_random(Shape{5, 7}, 4), passes_random(Shape{5, 3}, 5)});
}

TEST_CASE("fuse_epilogues leaves values with two readers, graph outputs and constant Adds", "[graph][passes]") {
  // The conv output read by Relu and Sigmoid: no fusion.
  graph::Graph two = passes_conv_graph(14);
  two.nodes.push_back(make_node("Relu", {"conv"}, {"y"}));
  two.nodes.push_back(make_node("Sigmoid", {"conv"}, {"y2"}));
  two.outputs = {passes_output("y"), passes_output("y2")};
  CHECK(graph::fuse_epilogues(two) == 0);

  // The conv output is itself a graph output: nothing fused after it.
  graph::Graph out = passes_conv_graph(14);
  out.nodes.push_back(make_node("Relu", {"conv"}, {"y"}));
  out.outputs = {passes_output("conv"), passes_output("y")};
  CHECK(graph::fuse_epilogues(out) == 0);

  // The Add's output is a graph output: Conv+Add fuse, the Relu stays.
  graph::Graph mid = passes_conv_graph(14);
  mid.nodes.push_back(make_node("Add", {"conv", "z"}, {"sum"}));
  mid.nodes.push_back(make_node("Relu", {"sum"}, {"y"}));
  mid.outputs = {passes_output("y"), passes_output("sum")};
  graph::Graph mid_opt = mid;
  CHECK(graph::fuse_epilogues(mid_opt) == 1);
  CHECK(passes_ops(mid_opt) == std::vector<std::string>{"FusedConv", "Relu"});
  CHECK(mid_opt.nodes[0].outputs == std::vector<std::string>{"sum"});
  passes_require_identical(mid, mid_opt, passes_conv_inputs());

  // The Sigmoid of SiLU read twice: only Conv + nothing (no fusion at all).
  graph::Graph silu = passes_conv_graph(14);
  silu.nodes.push_back(make_node("Sigmoid", {"conv"}, {"s"}));
  silu.nodes.push_back(make_node("Mul", {"conv", "s"}, {"y"}));
  silu.outputs = {passes_output("y"), passes_output("s")};
  CHECK(graph::fuse_epilogues(silu) == 0);

  // Add of a constant is a bias, not a residual; a residual of another shape is not one either.
  graph::Graph bias = passes_conv_graph(14);
  bias.initializers["c"] = passes_random(Shape{17, 1, 1}, 9);
  bias.inputs.push_back(passes_info("small", {17, 1, 1}));
  bias.nodes.push_back(make_node("Add", {"conv", "c"}, {"y"}));
  bias.nodes.push_back(make_node("Conv", {"x", "W"}, {"conv2"}, {{"pads", std::vector<std::int64_t>{1, 1, 1, 1}}}));
  bias.nodes.push_back(make_node("Add", {"conv2", "small"}, {"y2"}));
  bias.outputs = {passes_output("y"), passes_output("y2")};
  CHECK(graph::fuse_epilogues(bias) == 0);

  // Clip with a bound computed at run time stays unfused.
  graph::Graph clip = passes_conv_graph(14);
  clip.inputs.push_back(graph::ValueInfo{"hi", graph::DType::float32, {}, true});
  clip.nodes.push_back(make_node("Clip", {"conv", "", "hi"}, {"y"}));
  clip.outputs = {passes_output("y")};
  CHECK(graph::fuse_epilogues(clip) == 0);
}

TEST_CASE("FusedConv: a residual that broadcasts, and malformed fused nodes", "[graph][passes]") {
  // Hand-built: Z of shape [1, 17, 1, 1] broadcasts as Add would.
  graph::Graph unfused = passes_conv_graph(14);
  unfused.inputs[1] = passes_info("z", {1, 17, 1, 1});
  unfused.nodes.push_back(make_node("Add", {"conv", "z"}, {"sum"}));
  unfused.nodes.push_back(make_node("Relu", {"sum"}, {"y"}));
  unfused.outputs = {passes_output("y")};
  graph::Graph fused = unfused;
  fused.opsets["nabla"] = 1;
  graph::Node node = make_node("FusedConv", {"x", "W", "B", "z"}, {"y"}, unfused.nodes[0].attributes);
  node.domain = "nabla";
  node.attributes["activation"] = std::string("Relu");
  fused.nodes = {node};
  passes_require_identical(unfused, fused, {passes_conv_inputs()[0], passes_random(Shape{1, 17, 1, 1}, 5)});

  graph::Graph bad = fused;
  bad.nodes[0].attributes["activation"] = std::string("Gelu");
  CHECK_THROWS_WITH(graph::Session<float>(bad), Catch::Contains("unknown activation 'Gelu'"));
  bad.nodes[0].attributes["activation"] = std::string("LeakyRelu");
  CHECK_THROWS_WITH(graph::Session<float>(bad), Catch::Contains("activation 'LeakyRelu' takes 1 activation_params, got 0"));
  bad.nodes[0].op_type = "FusedPool";
  CHECK_THROWS_WITH(graph::check_supported(bad), Catch::Contains("nabla.FusedPool (opset 1)"));
  bad.nodes[0].op_type = "FusedConv";
  bad.nodes[0].domain = "";
  CHECK_THROWS_WITH(graph::check_supported(bad), Catch::Contains("FusedConv (opset 14)"));
}

TEST_CASE("optimize runs the passes to a fixed point and counts what each did", "[graph][passes]") {
  // x -> Conv -> BN -> Identity -> Add(x) -> Relu -> Flatten -> MatMul -> Add(b) -> Relu -> y,
  // plus a Constant for the Add's bias and a dead branch.
  graph::Graph g = passes_graph(13);
  g.inputs = {passes_info("x", {-1, 4, 6, 6})};
  g.initializers["W"] = passes_random(Shape{4, 4, 3, 3}, 1);
  g.initializers["scale"] = passes_random(Shape{4}, 2);
  g.initializers["beta"] = passes_random(Shape{4}, 3);
  g.initializers["mean"] = passes_random(Shape{4}, 4);
  g.initializers["var"] = passes_positive(Shape{4}, 5);
  g.initializers["Wm"] = passes_random(Shape{144, 10}, 6);
  g.initializers["unused"] = passes_random(Shape{3}, 7);
  g.nodes = {make_node("Conv", {"x", "W"}, {"c"}, {{"pads", std::vector<std::int64_t>{1, 1, 1, 1}}}),
             make_node("BatchNormalization", {"c", "scale", "beta", "mean", "var"}, {"bn"}),
             make_node("Identity", {"bn"}, {"bn_id"}),
             make_node("Add", {"bn_id", "x"}, {"res"}),
             make_node("Relu", {"res"}, {"act"}),
             make_node("Flatten", {"act"}, {"flat"}),
             make_node("MatMul", {"flat", "Wm"}, {"mm"}),
             make_node("Constant", {}, {"b"}, {{"value", graph::Value(passes_random(Shape{10}, 8))}}),
             make_node("Add", {"mm", "b"}, {"logits"}),
             make_node("Relu", {"logits"}, {"y"}),
             make_node("Tanh", {"x"}, {"dead"})};
  g.outputs = {passes_output("y")};
  graph::OptimizeReport report;
  const graph::Graph opt = graph::optimize(g, &report);
  CHECK(passes_ops(opt) == std::vector<std::string>{"FusedConv", "Flatten", "FusedGemm"});
  CHECK(report.identities_removed == 1);
  CHECK(report.constants_folded == 1);
  CHECK(report.dead_nodes_removed == 1);
  CHECK(report.conv_bn_folded == 1);
  CHECK(report.bias_folded == 1);
  CHECK(report.fused == std::map<std::string, std::int64_t>{{"Conv+Add+Relu", 1}, {"Gemm+Relu", 1}});
  CHECK(report.fused_total() == 2);
  CHECK(report.initializers_removed == 8);  // unused, W, BN's four, Wm (transposed), b (as a row)
  CHECK(report.rounds >= 2);
  CHECK(opt.initializers.size() == 4);
  for (const std::int64_t batch : {1, 3}) passes_require_close(g, opt, {passes_random(Shape{batch, 4, 6, 6}, 9)}, 1e-6);
  // Optimizing again changes nothing.
  graph::OptimizeReport again;
  const graph::Graph twice = graph::optimize(opt, &again);
  CHECK(again.rounds == 1);
  CHECK(passes_ops(twice) == passes_ops(opt));
}

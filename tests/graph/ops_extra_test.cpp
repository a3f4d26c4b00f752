// Bad inputs to the runtime's kernels (the zoo's, graph/ops_extra.hpp, and the
// core ones) and Dropout's training mode: each a nabla::Error naming the
// node; values are in tests/graph/ops_test.cpp's fixture cases.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nabla/graph.hpp"

namespace {

// One node "n" of `op` reading inputs x0, x1, ... and writing y.
nabla::graph::Graph extra_one_node(const std::string& op, const std::vector<nabla::graph::Value>& inputs,
                                   std::map<std::string, nabla::graph::Attribute> attrs = {}, std::int64_t opset = 16) {
  nabla::graph::Graph g;
  g.name = op;
  g.opsets[""] = opset;
  nabla::graph::Node node;
  node.op_type = op;
  node.name = "n";
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string key = "x" + std::to_string(i);
    g.inputs.push_back(nabla::graph::ValueInfo{key, inputs[i].dtype(), {}, false});
    node.inputs.push_back(key);
  }
  node.outputs = {"y"};
  node.attributes = std::move(attrs);
  g.outputs.push_back(nabla::graph::ValueInfo{"y", inputs.empty() ? nabla::graph::DType::float32 : inputs[0].dtype(), {}, false});
  g.nodes.push_back(node);
  return g;
}

std::vector<nabla::graph::Value> extra_run(const std::string& op, const std::vector<nabla::graph::Value>& inputs,
                                           std::map<std::string, nabla::graph::Attribute> attrs = {}) {
  const nabla::graph::Session<float> s(extra_one_node(op, inputs, std::move(attrs)));
  return s.run_values(inputs);
}

}  // namespace

TEST_CASE("zoo kernels reject bad inputs with errors naming the node", "[graph][ops]") {
  using nabla::Shape;
  using nabla::Tensor;
  const Tensor<std::int64_t> a(Shape{3}, std::vector<std::int64_t>{4, 5, 6});
  const Tensor<std::int64_t> zero(Shape{3}, std::vector<std::int64_t>{1, 0, 2});
  CHECK_THROWS_WITH(extra_run("Mod", {a, zero}), "Session::run: Mod node 'n': integer modulo by zero");
  CHECK_THROWS_WITH(extra_run("Mod", {a, Tensor<float>(Shape{3})}),
                    Catch::StartsWith("Session::run: Mod node 'n': inputs have different types (int64 and float32)"));

  const Tensor<float> data(Shape{4, 3});
  const Tensor<std::int64_t> rows(Shape{2, 1}, std::vector<std::int64_t>{0, 2});
  CHECK_THROWS_WITH(extra_run("ScatterND", {data, rows, Tensor<float>(Shape{2, 4})}),
                    "Session::run: ScatterND node 'n': data [4, 3], indices [2, 1] and updates [2, 4] do not fit");
  const Tensor<std::int64_t> far(Shape{1, 1}, std::vector<std::int64_t>{4});
  CHECK_THROWS_WITH(extra_run("ScatterND", {data, far, Tensor<float>(Shape{1, 3})}),
                    "Session::run: ScatterND node 'n': index 4 is out of range for axis 0 of shape [4, 3]");
  CHECK_THROWS_WITH(extra_run("ScatterND", {data, rows, Tensor<float>(Shape{2, 3})}, {{"reduction", std::string("max")}}),
                    Catch::StartsWith("Session: ScatterND node 'n': unsupported reduction 'max'"));
  // A zero-size update leaves the data as it is.
  CHECK(extra_run("ScatterND", {data, Tensor<std::int64_t>(Shape{0, 1}), Tensor<float>(Shape{0, 3})})[0].shape() == Shape{4, 3});

  CHECK_THROWS_WITH(extra_run("Einsum", {data}), "Session: Einsum node 'n': no equation attribute");
  CHECK_THROWS_WITH(extra_run("Einsum", {a}, {{"equation", std::string("i->i")}}),
                    Catch::StartsWith("Session::run: Einsum node 'n': expected a float32 or float64 tensor, got int64"));

  const Tensor<bool> on(Shape{}, std::vector<bool>{true});
  CHECK_THROWS_WITH(extra_run("Dropout", {data, Tensor<float>(Shape{}, std::vector<float>{0.5f}), on}),
                    "Session::run: Dropout node 'n': training_mode=true with ratio 0.5 is not supported (inference only)");
}

TEST_CASE("core kernels reject bad inputs with errors naming the node", "[graph][ops]") {
  using nabla::Shape;
  using nabla::Tensor;
  using I64 = std::int64_t;
  const Tensor<float> m34(Shape{3, 4}), v3(Shape{3});
  auto ints = [](std::vector<I64> v) {
    const auto n = static_cast<I64>(v.size());
    return Tensor<I64>(Shape{n}, std::move(v));
  };
  CHECK_THROWS_WITH(extra_run("Relu", {v3, v3}), "Session: Relu node 'n': expected 1 inputs, got 2");
  CHECK_THROWS_WITH(extra_run("Gemm", {v3, m34}),
                    "Session::run: Gemm node 'n': A and B must be 2-D, got [3] and [3, 4]");
  CHECK_THROWS_WITH(extra_run("Add", {ints({1, 2, 3}), v3}),
                    "Session::run: Add node 'n': inputs have different types (int64 and float32)");
  CHECK_THROWS_WITH(extra_run("Conv", {m34, Tensor<float>(Shape{2, 3, 3, 3})}),
                    "Session::run: Conv node 'n': input must be [N, C, H, W] or [N, C, L], got [3, 4]");
  CHECK_THROWS_WITH(extra_run("Cast", {v3}, {{"to", I64{8}}}),
                    "Session: Cast node 'n': element type 8 (ONNX TensorProto code) is not supported");
  CHECK_THROWS_WITH(extra_run("Reshape", {v3, ints({0, 0})}),
                    "Session::run: Reshape node 'n': shape entry 1 is 0 (copy) but the input [3] has only 1 axes");
  CHECK_THROWS_WITH(extra_run("Slice", {m34, ints({0}), ints({2}), ints({1}), ints({0})}),
                    "Session::run: Slice node 'n': slice step 0");
  CHECK_THROWS_WITH(extra_run("Squeeze", {m34, ints({1})}),
                    "Session::run: Squeeze node 'n': axis 1 of shape [3, 4] is not 1");
  CHECK_THROWS_WITH(extra_run("Gather", {m34, ints({3})}),
                    "Session::run: Gather node 'n': index 3 is out of range for axis 0 of shape [3, 4]");
  CHECK_THROWS_WITH(extra_run("Pad", {m34, ints({1, 1})}),
                    "Session::run: Pad node 'n': 2 pads for 2 axes of shape [3, 4]");
  CHECK_THROWS_WITH(extra_run("Range", {Tensor<float>::scalar(0), Tensor<float>::scalar(1), Tensor<float>::scalar(0)}),
                    "Session::run: Range node 'n': delta is 0");
  CHECK_THROWS_WITH(extra_run("BatchNormalization", {Tensor<float>(Shape{1, 2, 2}), v3, v3, v3, v3}),
                    "Session::run: BatchNormalization node 'n': per-channel inputs must have 2 elements, got shape [3]");
}

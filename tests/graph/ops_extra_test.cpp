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
    // Appended, not "x" + to_string(i): GCC 12 at -O3 reports a false
    // -Wrestrict on that operator+ once inlined (GCC bug 105329).
    std::string key = "x";
    key += std::to_string(i);
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

TEST_CASE("detector kernels reject bad inputs with errors naming the node", "[graph][ops]") {
  using nabla::Shape;
  using nabla::Tensor;
  using I64 = std::int64_t;
  auto detect_ints = [](std::vector<I64> v) {
    const auto n = static_cast<I64>(v.size());
    return Tensor<I64>(Shape{n}, std::move(v));
  };
  const Tensor<float> m34(Shape{3, 4});
  CHECK_THROWS_WITH(extra_run("TopK", {m34, detect_ints({5})}),
                    "Session::run: TopK node 'n': K = 5 is out of range for axis 1 of shape [3, 4]");
  CHECK_THROWS_AS(extra_run("TopK", {m34, detect_ints({1, 2})}), nabla::ShapeError);
  CHECK_THROWS_AS(extra_run("TopK", {m34, detect_ints({1})}, {{"axis", I64{2}}}), nabla::IndexError);

  const Tensor<float> boxes(Shape{1, 3, 4}), scores(Shape{1, 1, 3});
  CHECK_THROWS_WITH(extra_run("NonMaxSuppression", {Tensor<float>(Shape{1, 3, 3}), scores}),
                    "Session::run: NonMaxSuppression node 'n': boxes must be [B, N, 4] and scores [B, C, N], got [1, 3, 3] and [1, 1, 3]");
  CHECK_THROWS_AS(extra_run("NonMaxSuppression", {boxes, Tensor<float>(Shape{1, 1, 4})}), nabla::ShapeError);
  CHECK_THROWS_WITH(extra_run("NonMaxSuppression", {boxes, scores, detect_ints({5}), Tensor<float>(Shape{1}, std::vector<float>{1.5f})}),
                    "Session::run: NonMaxSuppression node 'n': iou_threshold must be in [0, 1], got 1.5");
  CHECK_THROWS_WITH(extra_run("NonMaxSuppression", {boxes, scores}, {{"center_point_box", I64{2}}}),
                    "Session: NonMaxSuppression node 'n': center_point_box must be 0 or 1, got 2");

  const Tensor<float> fmap(Shape{2, 1, 4, 4}), rois(Shape{2, 4});
  CHECK_THROWS_AS(extra_run("RoiAlign", {fmap, rois, detect_ints({0, 2})}), nabla::IndexError);
  CHECK_THROWS_WITH(extra_run("RoiAlign", {fmap, rois, detect_ints({0, 2})}),
                    "Session::run: RoiAlign node 'n': batch index 2 is out of range for X of shape [2, 1, 4, 4]");
  CHECK_THROWS_WITH(extra_run("RoiAlign", {fmap, Tensor<float>(Shape{2, 5}), detect_ints({0, 1})}),
                    "Session::run: RoiAlign node 'n': X must be [N, C, H, W], rois [R, 4] and batch_indices [R], got [2, 1, 4, 4], [2, 5] and [2]");
  CHECK_THROWS_WITH(extra_run("RoiAlign", {fmap, rois, detect_ints({0, 1})}, {{"mode", std::string("sum")}}),
                    "Session: RoiAlign node 'n': unsupported mode 'sum' (avg, max)");

  const Tensor<float> image(Shape{1, 1, 2, 2}), none(Shape{0});
  const Tensor<float> doubled(Shape{4}, std::vector<float>{1, 1, 2, 2});
  CHECK_THROWS_WITH(extra_run("Resize", {image, none, doubled, detect_ints({1, 1, 4, 4})}),
                    "Session::run: Resize node 'n': exactly one of scales and sizes must be given (got 4 scales and 4 sizes)");
  CHECK_THROWS_WITH(extra_run("Resize", {image, none, Tensor<float>(Shape{2}, std::vector<float>{2, 2})}),
                    "Session::run: Resize node 'n': 2 scales for 4 axes of X of shape [1, 1, 2, 2]");
  CHECK_THROWS_WITH(extra_run("Resize", {Tensor<I64>(Shape{1, 1, 2, 2}), none, doubled}, {{"mode", std::string("linear")}}),
                    "Session::run: Resize node 'n': linear resizing needs a float32 or float64 tensor, got int64");
  CHECK_THROWS_WITH(extra_run("Resize", {image, none, doubled}, {{"mode", std::string("area")}}),
                    "Session: Resize node 'n': unsupported mode 'area' (nearest, linear, cubic)");
  CHECK_THROWS_WITH(extra_run("Resize", {image, none, doubled}, {{"antialias", I64{1}}}),
                    "Session: Resize node 'n': antialias=1 is not supported");
  // Nearest resizing moves any dtype: int64 doubles to 4x4.
  CHECK(extra_run("Resize", {Tensor<I64>(Shape{1, 1, 2, 2}), none, doubled})[0].shape() == Shape{1, 1, 4, 4});

  const Tensor<float> data24(Shape{2, 4});
  const Tensor<I64> far(Shape{1, 2}, std::vector<I64>{1, 4});
  CHECK_THROWS_AS(extra_run("GatherND", {data24, far}), nabla::IndexError);
  CHECK_THROWS_WITH(extra_run("GatherND", {data24, far}),
                    "Session::run: GatherND node 'n': index 4 is out of range for axis 1 of shape [2, 4]");
  CHECK_THROWS_WITH(extra_run("GatherND", {data24, Tensor<I64>(Shape{3, 1})}, {{"batch_dims", I64{1}}}),
                    "Session::run: GatherND node 'n': data [2, 4] and indices [3, 1] do not fit batch_dims 1");
  CHECK_THROWS_AS(extra_run("GatherND", {data24, Tensor<I64>(Shape{1, 3})}), nabla::ShapeError);

  const Tensor<I64> rows(Shape{1, 2}, std::vector<I64>{1, -3});
  CHECK_THROWS_AS(extra_run("ScatterElements", {data24, rows, Tensor<float>(Shape{1, 2})}), nabla::IndexError);
  CHECK_THROWS_WITH(extra_run("ScatterElements", {data24, rows, Tensor<float>(Shape{1, 2})}),
                    "Session::run: ScatterElements node 'n': index -3 is out of range for axis 0 of shape [2, 4]");
  CHECK_THROWS_WITH(extra_run("ScatterElements", {data24, detect_ints({0, 1}), Tensor<float>(Shape{2})}),
                    "Session::run: ScatterElements node 'n': data [2, 4], indices [2] and updates [2] do not fit axis 0");
  CHECK_THROWS_AS(extra_run("ScatterElements", {data24, Tensor<I64>(Shape{1, 5}), Tensor<float>(Shape{1, 5})}), nabla::ShapeError);
  CHECK_THROWS_WITH(extra_run("ScatterElements", {data24, Tensor<I64>(Shape{1, 2}), Tensor<float>(Shape{1, 2})},
                              {{"reduction", std::string("mean")}}),
                    "Session: ScatterElements node 'n': unsupported reduction 'mean' (none, add, mul, max, min)");

  CHECK_THROWS_AS(extra_run("ReduceProd", {data24}, {{"axes", std::vector<I64>{2}}}), nabla::IndexError);
  CHECK_THROWS_WITH(extra_run("ReduceProd", {data24}, {{"axes", std::vector<I64>{2}}}),
                    Catch::StartsWith("Session::run: ReduceProd node 'n': "));
}

// nabla::onnx::save / to_bytes: load -> save -> load gives the same Graph,
// the file is what ONNX expects (IR 8, raw_data, opsets), invalid graphs are
// refused before anything is written.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nabla/onnx.hpp"
#include "onnx_test_support.hpp"

namespace {

using nabla::graph::Dim;
using nabla::graph::DType;
using nabla::testing::onnx_support::fixture;
using nabla::testing::onnx_support::fixture_dir;
using nabla::testing::onnx_support::graph_diff;
using nabla::testing::onnx_support::read_file;
using nabla::testing::onnx_support::ScratchDir;
using nabla::testing::onnx_support::write_file;

// A small graph built by hand: Y = Relu(X @ W), with an int64 shape constant.
nabla::graph::Graph onnx_save_relu_graph() {
  nabla::graph::Graph g;
  g.name = "hand_made";
  g.inputs.push_back({"X", DType::float32, {Dim{-1, "batch"}, Dim{2, ""}}, true});
  g.outputs.push_back({"Y", DType::float32, {Dim{-1, "batch"}, Dim{3, ""}}, true});
  g.initializers["W"] = nabla::Tensor<float>({{1, 2, 3}, {4, 5, 6}});
  g.initializers["mask"] = nabla::Tensor<bool>(nabla::Shape{2}, std::vector<bool>{true, false});
  nabla::graph::Node matmul;
  matmul.op_type = "MatMul";
  matmul.name = "mm";
  matmul.inputs = {"X", "W"};
  matmul.outputs = {"XW"};
  nabla::graph::Node relu;
  relu.op_type = "Relu";
  relu.inputs = {"XW"};
  relu.outputs = {"Y"};
  g.nodes = {matmul, relu};
  return g;
}

}  // namespace

TEST_CASE("onnx::save round trips every fixture model", "[onnx]") {
  ScratchDir dir("roundtrip");
  for (const char* name : {"attributes.onnx", "initializers.onnx", "external.onnx", "if.onnx", "torch_mlp.onnx"}) {
    INFO(name);
    const auto g = nabla::onnx::load(fixture(name));
    const std::string bytes = nabla::onnx::to_bytes(g);
    CHECK(graph_diff(g, nabla::onnx::load_from_bytes(bytes)) == "");
    const std::string path = dir.file(name);
    nabla::onnx::save(g, path);
    CHECK(read_file(path) == bytes);
    const auto again = nabla::onnx::load(path);
    CHECK(graph_diff(g, again) == "");
    // Saving what was loaded back gives the same bytes (a fixed point).
    CHECK(nabla::onnx::to_bytes(again) == bytes);
  }
}

TEST_CASE("onnx::save writes IR version 8, raw_data weights and the graph's opsets", "[onnx]") {
  const auto g = nabla::onnx::load(fixture("initializers.onnx"));
  ONNX_NAMESPACE::ModelProto model;
  const std::string bytes = nabla::onnx::to_bytes(g);
  REQUIRE(model.ParseFromString(bytes));
  CHECK(model.ir_version() == 8);
  CHECK(model.producer_name() == "nabla");
  CHECK(model.producer_version() == NABLA_VERSION_STRING);
  REQUIRE(model.opset_import_size() == 1);
  CHECK(model.opset_import(0).domain().empty());
  CHECK(model.opset_import(0).version() == 17);
  CHECK(model.graph().initializer_size() == 18);
  for (const auto& t : model.graph().initializer()) {
    INFO(t.name());
    CHECK(t.has_raw_data());
    CHECK(t.float_data_size() + t.int32_data_size() + t.int64_data_size() + t.double_data_size() == 0);
  }
  // Initializers are not repeated as graph inputs.
  REQUIRE(model.graph().input_size() == 1);
  CHECK(model.graph().input(0).name() == "X");
}

TEST_CASE("onnx::save writes a graph built by hand", "[onnx]") {
  ScratchDir dir("hand");
  const auto g = onnx_save_relu_graph();  // no opsets: written as opset 17
  const std::string path = dir.file("relu.onnx");
  nabla::onnx::save(g, path);
  const auto back = nabla::onnx::load(path);
  CHECK(back.opsets == std::map<std::string, std::int64_t>{{"", 17}});
  auto expected = g;
  expected.opsets = {{"", 17}};
  CHECK(graph_diff(expected, back) == "");
  CHECK(back.initializers.at("mask").as<bool>().to_vector() == std::vector<bool>{true, false});
  // A transposed (non-contiguous) weight is written in its logical order.
  auto transposed = g;
  transposed.initializers["W"] = nabla::Tensor<float>({{1, 4}, {2, 5}, {3, 6}}).transpose(0, 1);
  REQUIRE_FALSE(transposed.initializers["W"].as<float>().is_contiguous());
  CHECK(graph_diff(expected, nabla::onnx::load_from_bytes(nabla::onnx::to_bytes(transposed))) == "");
}

TEST_CASE("onnx::save writes a zero-size tensor whose other extents are huge", "[onnx]") {
  // Found by fuzz_onnx: packing [0, 2^40, 2^40] must not multiply the extents.
  auto g = onnx_save_relu_graph();
  // (Tensor::empty: Tensor(Shape)'s fill_ trips the same overflow in core's is_contiguous.)
  g.initializers["nothing"] = nabla::Tensor<float>::empty(nabla::Shape{0, std::int64_t{1} << 40, std::int64_t{1} << 40});
  const auto back = nabla::onnx::load_from_bytes(nabla::onnx::to_bytes(g));
  CHECK(back.initializers.at("nothing").shape() == nabla::Shape{0, std::int64_t{1} << 40, std::int64_t{1} << 40});
  CHECK(back.initializers.at("nothing").numel() == 0);
}

TEST_CASE("onnx::save refuses graphs ONNX's checker rejects and leaves the old file", "[onnx]") {
  ScratchDir dir("invalid");
  const std::string path = dir.file("model.onnx");
  write_file(path, "old contents");
  auto g = onnx_save_relu_graph();
  g.nodes[1].op_type = "NoSuchOp";
  CHECK_THROWS_AS(nabla::onnx::save(g, path), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::onnx::save(g, path),
                    Catch::StartsWith("onnx::save: " + path + ": the graph does not make a valid ONNX model: ") &&
                        Catch::Contains("NoSuchOp"));
  CHECK_THROWS_WITH(nabla::onnx::to_bytes(g), Catch::StartsWith("onnx::to_bytes: the graph does not make a valid ONNX model"));
  CHECK(read_file(path) == "old contents");

  auto undefined = onnx_save_relu_graph();
  undefined.initializers["W"] = nabla::graph::Value();
  CHECK_THROWS_WITH(nabla::onnx::to_bytes(undefined), "onnx::save: initializer 'W': the tensor is undefined");

  auto dangling = onnx_save_relu_graph();
  dangling.nodes[0].inputs[1] = "nowhere";
  CHECK_THROWS_AS(nabla::onnx::save(dangling, path), nabla::ValueError);
  CHECK(read_file(path) == "old contents");

  // A folder that does not exist: the atomic writer's IOError names the file.
  const std::string nowhere = dir.file("no/such/folder/model.onnx");
  CHECK_THROWS_AS(nabla::onnx::save(onnx_save_relu_graph(), nowhere), nabla::IOError);
  CHECK_THROWS_WITH(nabla::onnx::save(onnx_save_relu_graph(), nowhere), Catch::Contains(nowhere));
  CHECK_FALSE(std::filesystem::exists(nowhere));
}

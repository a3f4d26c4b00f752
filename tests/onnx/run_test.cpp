// Models exported by torch.onnx.export run in graph::Session and agree with
// PyTorch's float64 output within 1e-5 of its scale, with the same top-1
// (tests/fixtures/onnx_runtime.json, scripts/fixtures/onnx_runtime.py).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "support/fixture.hpp"
#include "nabla/graph.hpp"
#include "nabla/onnx.hpp"

using nabla::Tensor;
namespace graph = nabla::graph;

namespace {

std::string run_model_path(const std::string& file) { return std::string(NABLA_TEST_FIXTURE_DIR) + "/onnx/" + file; }

// max |out - ref| / max |ref|, and whether each row's argmax agrees.
void run_require_agrees(const Tensor<float>& out, const Tensor<double>& ref) {
  REQUIRE(out.shape() == ref.shape());
  const std::vector<float> o = out.to_vector();
  const std::vector<double> r = ref.to_vector();
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    scale = std::max(scale, std::abs(r[i]));
    diff = std::max(diff, std::abs(static_cast<double>(o[i]) - r[i]));
  }
  INFO("max |diff| " << diff << ", max |ref| " << scale);
  CHECK(diff <= 1e-5 * scale);
  const std::int64_t cols = ref.shape()[ref.ndim() - 1];
  for (std::size_t row = 0; row * cols < r.size(); ++row) {
    const auto ob = o.begin() + static_cast<std::ptrdiff_t>(row * cols);
    const auto rb = r.begin() + static_cast<std::ptrdiff_t>(row * cols);
    CHECK(std::max_element(ob, ob + cols) - ob == std::max_element(rb, rb + cols) - rb);
  }
}

}  // namespace

TEST_CASE("torch.onnx exports at opsets 11, 13, 17, folded or not, run as in PyTorch", "[onnx][run]") {
  int models = 0;
  for (const auto& name : nabla::testing::fixture("onnx_runtime").names()) {
    const auto c = nabla::testing::fixture("onnx_runtime").get(name);
    if (!c.has("file")) continue;
    INFO("model " << name);
    const graph::Graph g = nabla::onnx::load(run_model_path(c.text("file")));
    const graph::Session<float> session(g, graph::SessionOptions().threads(2));
    REQUIRE(session.input_names() == std::vector<std::string>{"x"});
    REQUIRE(session.output_names() == std::vector<std::string>{"y"});
    run_require_agrees(session.run({c.tensor<float>("x")})[0], c.tensor<double>("y"));
    if (c.integer("dynamic") == 1) {  // a batch of 3 through the symbolic batch axis
      const std::string family = name.substr(0, name.find("_op"));
      const auto b3 = nabla::testing::fixture("onnx_runtime").get(family + "_batch3");
      run_require_agrees(session.run({b3.tensor<float>("x")})[0], b3.tensor<double>("y"));
    } else {
      // A static batch axis: another batch size is refused, naming the input.
      const auto b3 = nabla::testing::fixture("onnx_runtime").get(name.substr(0, name.find("_op")) + "_batch3");
      CHECK_THROWS_WITH(session.run({b3.tensor<float>("x")}),
                        Catch::StartsWith("Session::run: input 'x' must have shape [2, "));
    }
    ++models;
  }
  CHECK(models >= 16);
}

TEST_CASE("the exported MLP runs; results do not depend on the thread count or on concurrent runs", "[onnx][run]") {
  const auto c = nabla::testing::fixture("onnx_torch").get("mlp");
  const graph::Graph g = nabla::onnx::load(run_model_path("torch_mlp.onnx"));
  const graph::Session<float> one(g), two(g, graph::SessionOptions().threads(2));
  const Tensor<float> x = c.tensor<float>("input");
  const Tensor<float> y1 = one.run({x})[0];
  nabla::testing::require_close(y1, c.tensor<float>("output"), 1e-5, 1e-6);
  CHECK(two.run({x})[0].to_vector() == y1.to_vector());
  // Named inputs and outputs.
  const auto named = one.run(std::map<std::string, Tensor<float>>{{"input", x}});
  CHECK(named.at("output").to_vector() == y1.to_vector());
  CHECK_THROWS_WITH(one.run(std::map<std::string, Tensor<float>>{{"images", x}}),
                    Catch::StartsWith("Session::run: the graph has no input named 'images' (inputs: 'input')"));
  CHECK_THROWS_WITH(one.run(std::vector<Tensor<float>>{}),
                    Catch::StartsWith("Session::run: the graph takes 1 inputs ('input'), got 0"));
  CHECK_THROWS_WITH(one.run({Tensor<float>(nabla::Shape{2, 5})}),
                    Catch::StartsWith("Session::run: input 'input' must have shape [batch, 4], got [2, 5]"));
  CHECK_THROWS_WITH(one.run_values({graph::Value(Tensor<double>(nabla::Shape{2, 4}))}),
                    Catch::StartsWith("Session::run: input 'input' must be float32 of shape [batch, 4], got float64"));
  // One Session, four threads at once: every result is bit-identical.
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) results[t] = two.run({x})[0].to_vector();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) CHECK(r == y1.to_vector());
}

TEST_CASE("unsupported ops are all listed when the session is built", "[onnx][run]") {
  graph::Graph g = nabla::onnx::load(run_model_path("torch_mlp.onnx"));
  g.nodes[0].op_type = "FancyOp";
  g.nodes[1].op_type = "Loop";
  g.nodes.push_back(g.nodes[1]);
  g.nodes.back().outputs = {"unused"};
  CHECK_THROWS_WITH(graph::Session<float>(g),
                    Catch::Contains("2 unsupported op types: FancyOp (opset 13), Loop (opset 13)"));
}

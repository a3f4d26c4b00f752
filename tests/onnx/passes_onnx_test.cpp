// graph::optimize on the torch.onnx exports of tests/fixtures/onnx: the
// optimized graph computes what the loaded one does (bit for bit unless
// BatchNormalization was folded into the weights), Conv+BN folding and
// epilogue fusion happen where the models have them, and onnx::save refuses
// an optimized graph with fused ops.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_test_support.hpp"
#include "support/fixture.hpp"
#include "nabla/graph.hpp"
#include "nabla/graph/passes.hpp"
#include "nabla/onnx.hpp"

using nabla::Tensor;
namespace graph = nabla::graph;

namespace {

graph::Graph passes_onnx_load(const std::string& file) {
  return nabla::onnx::load(nabla::testing::onnx_support::fixture(file));
}

// max |got - want| / max |want|.
double passes_onnx_relative_diff(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<float> a = got.to_vector(), b = want.to_vector();
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return scale == 0 ? diff : diff / scale;
}

std::int64_t passes_onnx_count(const graph::Graph& g, const std::string& op) {
  const auto counts = g.op_counts();
  const auto it = counts.find(op);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("optimize keeps the outputs of every exported model", "[onnx][passes]") {
  int models = 0;
  for (const auto& name : nabla::testing::fixture("onnx_runtime").names()) {
    const auto c = nabla::testing::fixture("onnx_runtime").get(name);
    if (!c.has("file")) continue;
    INFO("model " << name);
    const graph::Graph g = passes_onnx_load(c.text("file"));
    graph::OptimizeReport report;
    const graph::Graph opt = graph::optimize(g, &report);
    CHECK(opt.nodes.size() < g.nodes.size());
    const graph::Session<float> before(g), after(opt, graph::SessionOptions().threads(2));
    std::vector<Tensor<float>> inputs{c.tensor<float>("x")};
    if (c.integer("dynamic") == 1) {
      inputs.push_back(nabla::testing::fixture("onnx_runtime").get(name.substr(0, name.find("_op")) + "_batch3").tensor<float>("x"));
    }
    for (const auto& x : inputs) {
      const Tensor<float> want = before.run({x})[0], got = after.run({x})[0];
      if (report.conv_bn_folded == 0 && report.bias_folded == 0) {
        CHECK(got.to_vector() == want.to_vector());
      } else {
        CHECK(passes_onnx_relative_diff(got, want) <= 1e-6);
      }
    }
    // Still PyTorch's answer.
    CHECK(passes_onnx_relative_diff(after.run({c.tensor<float>("x")})[0], c.tensor<double>("y").to<float>()) <= 1e-5);
    ++models;
  }
  CHECK(models >= 16);
}

TEST_CASE("optimize folds tiny_resnet's BatchNormalizations and fuses its Conv epilogues", "[onnx][passes]") {
  for (const char* opset : {"11", "13", "17"}) {
    for (const bool folded : {false, true}) {
      const std::string file = std::string("tiny_resnet_op") + opset + (folded ? "_fold" : "_nofold") + ".onnx";
      INFO(file);
      const graph::Graph g = passes_onnx_load(file);
      graph::OptimizeReport report;
      const graph::Graph opt = graph::optimize(g, &report);
      // 6 Conv (+ 6 BN unfolded), 5 Relu, MaxPool, 2 Add, GlobalAveragePool, Flatten, Gemm.
      CHECK(g.nodes.size() == (folded ? 17u : 23u));
      CHECK(report.conv_bn_folded == (folded ? 0 : 6));
      CHECK(report.fused == std::map<std::string, std::int64_t>{{"Conv+Relu", 3}, {"Conv+Add+Relu", 2}});
      // Five fused convs; the downsample Conv (read by an Add already taken) stays plain.
      CHECK(opt.nodes.size() == 10u);
      CHECK(passes_onnx_count(opt, "FusedConv") == 5);
      CHECK(passes_onnx_count(opt, "Conv") == 1);
      CHECK(passes_onnx_count(opt, "BatchNormalization") == 0);
      CHECK(passes_onnx_count(opt, "Relu") == 0);
      CHECK(passes_onnx_count(opt, "Add") == 0);
    }
  }
}

TEST_CASE("optimize on mobile_block, tiny_vit and the MLP: ReLU6, HardSwish, Shape folding, FusedGemm", "[onnx][passes]") {
  for (const char* opset : {"11", "13", "17"}) {
    const std::string file = std::string("mobile_block_op") + opset + "_nofold.onnx";
    INFO(file);
    graph::OptimizeReport report;
    const graph::Graph opt = graph::optimize(passes_onnx_load(file), &report);
    CHECK(report.conv_bn_folded == 3);
    CHECK(report.constants_folded == 3);  // Clip's bounds (opset 11+) and Pad's pads
    CHECK(report.fused.at("Conv+Clip") == 1);
    CHECK(report.fused.at("Conv+Relu") == 1);
    CHECK(report.fused.at("Conv+HardSigmoid") == 1);
    CHECK(report.fused.count("Conv+HardSwish") == (std::string(opset) == "17" ? 1u : 0u));
    CHECK(passes_onnx_count(opt, "BatchNormalization") == 0);
    CHECK(passes_onnx_count(opt, "Constant") == 0);
  }
  // A static batch folds every Shape; a symbolic one keeps them.
  const graph::Graph vit = graph::optimize(passes_onnx_load("tiny_vit_op17_nofold.onnx"));
  CHECK(passes_onnx_count(vit, "Shape") == 0);
  CHECK(passes_onnx_count(vit, "Constant") == 0);
  CHECK(passes_onnx_count(vit, "Identity") == 0);
  const graph::Graph dynamic_vit = graph::optimize(passes_onnx_load("tiny_vit_op13_fold.onnx"));
  CHECK(passes_onnx_count(dynamic_vit, "Shape") == 6);

  const graph::Graph mlp = passes_onnx_load("torch_mlp.onnx");
  graph::OptimizeReport report;
  const graph::Graph mlp_opt = graph::optimize(mlp, &report);
  CHECK(report.fused == std::map<std::string, std::int64_t>{{"Gemm+Relu", 1}});
  CHECK(passes_onnx_count(mlp_opt, "FusedGemm") == 1);
  const auto c = nabla::testing::fixture("onnx_torch").get("mlp");
  const Tensor<float> x = c.tensor<float>("input");
  CHECK(graph::Session<float>(mlp_opt).run({x})[0].to_vector() == graph::Session<float>(mlp).run({x})[0].to_vector());
}

TEST_CASE("onnx::save refuses an optimized graph with fused ops; one without them still exports", "[onnx][passes]") {
  const graph::Graph g = passes_onnx_load("tiny_resnet_op13_nofold.onnx");
  const graph::Graph opt = graph::optimize(g);
  CHECK_THROWS_AS(nabla::onnx::to_bytes(opt), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::onnx::to_bytes(opt),
                    Catch::StartsWith("onnx::to_bytes: FusedConv node") &&
                        Catch::Contains("optimized graphs are not exportable; save the graph before optimize"));
  const nabla::testing::onnx_support::ScratchDir dir("passes");
  CHECK_THROWS_WITH(nabla::onnx::save(opt, dir.file("opt.onnx")), Catch::Contains("save the graph before optimize"));
  CHECK_NOTHROW(nabla::onnx::save(g, dir.file("plain.onnx")));

  // Folding alone leaves ONNX: it saves, loads back and runs the same, up to
  // rounding (a folded Transpose is a strided view, which the loaded copy is
  // not, and MatMul sums a contiguous weight in another order).
  const graph::Graph vit = graph::optimize(passes_onnx_load("tiny_vit_op17_nofold.onnx"));
  REQUIRE(passes_onnx_count(vit, "FusedConv") + passes_onnx_count(vit, "FusedGemm") == 0);
  const graph::Graph back = nabla::onnx::load_from_bytes(nabla::onnx::to_bytes(vit));
  CHECK(nabla::testing::onnx_support::graph_diff(vit, back).empty());
  const Tensor<float> x = nabla::testing::fixture("onnx_runtime").get("tiny_vit_op17_nofold").tensor<float>("x");
  CHECK(passes_onnx_relative_diff(graph::Session<float>(back).run({x})[0], graph::Session<float>(vit).run({x})[0]) <= 1e-6);
}

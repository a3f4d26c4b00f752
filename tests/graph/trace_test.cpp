// graph::trace: the MNIST MLP and CNN and a residual model with BatchNorm,
// Dropout (eval), pooling and scalar arithmetic are traced into Graphs that
// graph::Session runs with the module's own outputs, at the example's batch
// size and at another; the tape and the modules' modes are left as found.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nabla/autograd.hpp"
#include "nabla/core.hpp"
#include "nabla/graph.hpp"
#include "nabla/nn.hpp"
#include "graph/trace_models.hpp"

namespace {

namespace nn = nabla::nn;
using nabla::Shape;
using nabla::Tensor;
using nabla::Var;
using nabla::testing::trace_models::TraceResidualNet;
using nabla::testing::trace_models::trace_cnn;
using nabla::testing::trace_models::trace_mlp;

double trace_relative_diff(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(a.shape() == b.shape());
  return nabla::testing::trace_models::relative_diff(a, b);
}

// The module's own eval-mode output, without recording.
Tensor<float> trace_reference(nn::Module<float>& m, const Tensor<float>& x) {
  const bool was_training = m.is_training();
  m.eval();
  nabla::NoGradGuard no_grad;
  Tensor<float> y = m(Var<float>(x, false)).value();
  m.train(was_training);
  return y;
}

// Traces `m` on a batch of `batch` and checks the Graph against the module
// at that batch size and at `other_batch`.
nabla::graph::Graph trace_check(nn::Module<float>& m, Shape sample, std::int64_t batch, std::int64_t other_batch) {
  nabla::Generator gen(7);
  Shape example_shape = sample;
  example_shape.insert(0, batch);
  const Tensor<float> example = nabla::randn<float>(example_shape, gen);
  nabla::graph::Graph g = nabla::graph::trace(m, example);
  nabla::graph::Session<float> session(g);
  REQUIRE(session.input_names() == std::vector<std::string>{"input"});
  REQUIRE(session.output_names() == std::vector<std::string>{"output"});
  for (const std::int64_t n : {batch, other_batch}) {
    Shape shape = sample;
    shape.insert(0, n);
    const Tensor<float> x = n == batch ? example : nabla::randn<float>(shape, gen);
    const std::vector<Tensor<float>> out = session.run({x});
    REQUIRE(out.size() == 1);
    const Tensor<float> ref = trace_reference(m, x);
    INFO("batch " << n);
    CHECK(trace_relative_diff(out[0], ref) <= 1e-5);
  }
  return g;
}

// A module using an op trace cannot express (a cumulative sum).
class TraceCumsumNet : public nn::Module<float> {
 public:
  Var<float> forward(const Var<float>& x) override { return nabla::cumsum(x, 1); }
};

}  // namespace

TEST_CASE("trace: the MNIST MLP runs as Gemm and Relu nodes with state_dict initializers", "[graph][trace]") {
  nabla::Generator gen(1);
  auto model = trace_mlp(gen);
  model->train();
  const nabla::graph::Graph g = trace_check(*model, Shape{784}, 4, 9);
  const auto counts = g.op_counts();
  CHECK(counts.at("Gemm") == 3);
  CHECK(counts.at("Relu") == 2);
  CHECK(g.nodes.size() == 5);
  for (const auto& [name, p] : model->named_parameters()) {
    INFO(name);
    REQUIRE(g.initializers.count(name) == 1);
    CHECK(trace_relative_diff(g.initializers.at(name).as<float>(), p.value()) == 0.0);
  }
  CHECK(g.initializers.size() == 6);
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].name == "input");
  CHECK(g.inputs[0].shape[0].symbol == "batch");
  CHECK(g.inputs[0].shape[1].extent == 784);
  REQUIRE(g.outputs.size() == 1);
  CHECK(g.outputs[0].name == "output");
  CHECK(g.outputs[0].shape[0].symbol == "batch");
  CHECK(g.outputs[0].shape[1].extent == 10);
  CHECK(g.opset() == 17);
  CHECK(model->is_training());  // restored
}

TEST_CASE("trace: the initializers are copies, not the module's storage", "[graph][trace]") {
  nabla::Generator gen(2);
  auto model = trace_mlp(gen);
  const nabla::graph::Graph g = nabla::graph::trace(*model, nabla::randn<float>(Shape{2, 784}, gen));
  const Tensor<float> before = g.initializers.at("0.bias").as<float>().clone();
  model->named_parameters()[1].second.value().fill_(3.0f);
  CHECK(trace_relative_diff(g.initializers.at("0.bias").as<float>(), before) == 0.0);
}

TEST_CASE("trace: the MNIST CNN runs as Conv, MaxPool, Flatten and Gemm nodes", "[graph][trace]") {
  nabla::Generator gen(3);
  auto model = trace_cnn(gen);
  const nabla::graph::Graph g = trace_check(*model, Shape{1, 28, 28}, 2, 3);
  const auto counts = g.op_counts();
  CHECK(counts.at("Conv") == 2);
  CHECK(counts.at("MaxPool") == 2);
  CHECK(counts.at("Flatten") == 1);
  CHECK(counts.at("Gemm") == 2);
  CHECK(counts.at("Relu") == 3);
  for (const auto& node : g.nodes) {
    if (node.op_type == "MaxPool") {
      CHECK(node.attr_ints("kernel_shape") == std::vector<std::int64_t>{2, 2});
      CHECK(node.attr_ints("strides") == std::vector<std::int64_t>{2, 2});
    }
    if (node.op_type == "Conv") CHECK(node.attr_ints("pads") == std::vector<std::int64_t>{2, 2, 2, 2});
  }
}

TEST_CASE("trace: BatchNorm (running statistics), Dropout in eval and a residual add", "[graph][trace]") {
  nabla::Generator gen(4);
  TraceResidualNet model(gen);
  {  // move the running statistics away from 0 and 1
    nabla::NoGradGuard no_grad;
    model.train();
    for (int i = 0; i < 3; ++i) model(Var<float>(nabla::randn<float>(Shape{6, 3, 8, 8}, gen, 0.5f, 2.0f), false));
  }
  model.train();
  const nabla::graph::Graph g = trace_check(model, Shape{3, 8, 8}, 2, 5);
  CHECK(model.is_training());
  for (const auto& child : model.children()) CHECK(child->is_training());
  const auto counts = g.op_counts();
  CHECK(counts.count("Dropout") == 0);
  CHECK(counts.at("BatchNormalization") == 1);
  CHECK(counts.at("Add") == 3);  // the residual, + 1.25 and sigmoid + tanh
  CHECK(counts.at("MaxPool") == 1);
  CHECK(counts.at("AveragePool") == 1);
  CHECK(counts.at("GlobalAveragePool") == 1);
  CHECK(counts.at("LogSoftmax") == 1);
  for (const char* name : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "conv1.weight", "fc.bias"}) {
    INFO(name);
    CHECK(g.initializers.count(name) == 1);
  }
  for (const auto& node : g.nodes) {
    if (node.op_type == "MaxPool") {  // recovered from the tape: kernel 3, stride 2, padding 1
      CHECK(node.attr_ints("kernel_shape") == std::vector<std::int64_t>{3, 3});
      CHECK(node.attr_ints("strides") == std::vector<std::int64_t>{2, 2});
      CHECK(node.attr_ints("pads") == std::vector<std::int64_t>{1, 1, 1, 1});
    }
    if (node.op_type == "AveragePool") CHECK(node.attr_int("count_include_pad") == 1);
    if (node.op_type == "BatchNormalization") CHECK(node.attr_float("epsilon", 0.0) == Approx(1e-5));
  }
}

TEST_CASE("trace: the tape is left as it was", "[graph][trace]") {
  nabla::Generator gen(5);
  auto model = trace_mlp(gen);
  auto& tape = nabla::Tape<float>::current();
  tape.clear();
  SECTION("an empty tape stays empty") {
    nabla::graph::trace(*model, nabla::randn<float>(Shape{2, 784}, gen));
    CHECK(tape.size() == 0);
    CHECK(tape.live_entries() == 0);
  }
  SECTION("a user's recording survives and still differentiates") {
    const Var<float> a(nabla::randn<float>(Shape{3}, gen), true);
    const Var<float> b = nabla::sum(a * a);
    const std::size_t before = tape.size();
    REQUIRE(before > 0);
    nabla::graph::trace(*model, nabla::randn<float>(Shape{2, 784}, gen));
    CHECK(tape.size() == before);
    b.backward();
    CHECK(trace_relative_diff(a.grad(), nabla::mul(a.value(), 2.0f)) <= 1e-6);
  }
  SECTION("under NoGradGuard") {
    nabla::NoGradGuard no_grad;
    nabla::graph::Session<float> s(nabla::graph::trace(*model, nabla::randn<float>(Shape{2, 784}, gen)));
    CHECK(tape.size() == 0);
    CHECK_FALSE(nabla::GradMode::is_enabled());
  }
}

TEST_CASE("trace: an op without an ONNX form is named in the error", "[graph][trace]") {
  TraceCumsumNet model;
  auto& tape = nabla::Tape<float>::current();
  tape.clear();
  CHECK_THROWS_WITH(nabla::graph::trace(model, nabla::ones<float>(Shape{2, 3})),
                    Catch::StartsWith("trace: op cumsum (OpKind::cumsum) with input shapes [2, 3]"));
  CHECK(tape.size() == 0);
  model.train();
  CHECK(model.is_training());
}

// A steady-state Session::run makes no heap allocation: the run's value
// slots come from the Session's pool and tensors from the caching allocator.
// Every form of operator new is counted while a flag is set (as the training
// step's test does), for the traced MNIST MLP and CNN and the residual
// BatchNorm net, at 1 and 2 threads.
#include <catch2/catch.hpp>

#include "support/alloc_counter.hpp"

#include <memory>
#include <vector>

#include "graph/trace_models.hpp"
#include "nabla/graph.hpp"

namespace {

long graph_alloc_steady_state(nabla::nn::Module<float>& model, nabla::Shape input_shape, int threads) {
  nabla::Generator gen(5);
  model.eval();
  const nabla::graph::Graph g = nabla::graph::trace(model, nabla::randn<float>(input_shape, gen));
  const nabla::graph::Session<float> session(g, nabla::graph::SessionOptions().threads(threads));
  const std::vector<nabla::graph::Value> inputs{nabla::randn<float>(input_shape, gen)};
  std::vector<nabla::graph::Value> outputs;
  for (int i = 0; i < 3; ++i) session.run_values(inputs, outputs);  // fills the pools
  const std::vector<float> first = outputs[0].as<float>().to_vector();
  nabla::testing::allocations = 0;
  nabla::testing::counting = true;
  for (int i = 0; i < 3; ++i) session.run_values(inputs, outputs);
  nabla::testing::counting = false;
  CHECK(outputs[0].as<float>().to_vector() == first);  // the same results, reused buffers or not
  return nabla::testing::allocations.load();
}

}  // namespace

TEST_CASE("a steady-state Session::run makes no heap allocations", "[graph][alloc]") {
  namespace tm = nabla::testing::trace_models;
  for (const int threads : {1, 2}) {
    INFO("threads " << threads);
    nabla::Generator gen(4);
    CHECK(graph_alloc_steady_state(*tm::trace_mlp(gen), nabla::Shape{8, 784}, threads) == 0);
    CHECK(graph_alloc_steady_state(*tm::trace_cnn(gen), nabla::Shape{4, 1, 28, 28}, threads) == 0);
    tm::TraceResidualNet residual(gen);
    CHECK(graph_alloc_steady_state(residual, nabla::Shape{2, 3, 12, 12}, threads) == 0);
  }
}

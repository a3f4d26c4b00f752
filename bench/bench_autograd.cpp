// Autograd overhead and a small training step: a chain of elementwise ops on
// tiny tensors (per-op cost of recording and the backward sweep), and the
// MLP 784-256-128-10 step written with the ops. Peer: bench/peers/autograd_torch.py.
#include <benchmark/benchmark.h>

#include "nabla/autograd.hpp"
#include "nabla/kernels/parallel.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

constexpr int chain_length = 10000;

// Forward and backward of y = ((x * 1.0001 + 0.5) * ...) over a chain of ops.
void BM_TapeChainForwardBackward(benchmark::State& state) {
  const auto n = state.range(0);
  Var<float> x(nabla::full<float>(Shape{n}, 0.5f));
  for (auto _ : state) {
    Var<float> y = x;
    for (int i = 0; i < chain_length / 2; ++i) y = nabla::tanh(y * 1.0001f);
    nabla::sum(y).backward();
    x.zero_grad();
  }
  state.counters["us_per_op"] = benchmark::Counter(static_cast<double>(chain_length + 1) * 1e-6,
                                                   benchmark::Counter::kIsIterationInvariantRate |
                                                       benchmark::Counter::kInvert);
}
BENCHMARK(BM_TapeChainForwardBackward)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond);

// The same chain with grad mode off: the cost of the ops alone.
void BM_TapeChainNoGrad(benchmark::State& state) {
  const auto n = state.range(0);
  Var<float> x(nabla::full<float>(Shape{n}, 0.5f));
  nabla::NoGradGuard guard;
  for (auto _ : state) {
    Var<float> y = x;
    for (int i = 0; i < chain_length / 2; ++i) y = nabla::tanh(y * 1.0001f);
    benchmark::DoNotOptimize(y.value().data());
  }
  state.counters["us_per_op"] = benchmark::Counter(static_cast<double>(chain_length) * 1e-6,
                                                   benchmark::Counter::kIsIterationInvariantRate |
                                                       benchmark::Counter::kInvert);
}
BENCHMARK(BM_TapeChainNoGrad)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond);

// MLP 784-256-128-10, batch 64: forward, cross-entropy, backward, SGD update.
void BM_MlpTrainStep(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(0)));
  nabla::Generator gen(3);
  auto param = [&](std::int64_t out, std::int64_t in) {
    return Var<float>(nabla::rand<float>(Shape{out, in}, gen, -0.05f, 0.05f));
  };
  Var<float> w1 = param(256, 784), w2 = param(128, 256), w3 = param(10, 128);
  Var<float> b1(nabla::zeros<float>(Shape{256})), b2(nabla::zeros<float>(Shape{128})), b3(nabla::zeros<float>(Shape{10}));
  const Var<float> x(nabla::rand<float>(Shape{64, 784}, gen), false);
  const Tensor<std::int64_t> labels = nabla::randint<std::int64_t>(0, 10, Shape{64}, gen);
  for (auto _ : state) {
    const Var<float> h1 = nabla::relu(nabla::linear(x, w1, b1));
    const Var<float> h2 = nabla::relu(nabla::linear(h1, w2, b2));
    const Var<float> loss = nabla::cross_entropy(nabla::linear(h2, w3, b3), labels);
    loss.backward();
    nabla::NoGradGuard guard;
    for (Var<float>* p : {&w1, &b1, &w2, &b2, &w3, &b3}) {
      nabla::add_(p->value(), p->grad(), -0.01f);
      p->zero_grad();
    }
    benchmark::DoNotOptimize(loss.item());
  }
  state.SetItemsProcessed(state.iterations() * 64);
  nabla::set_num_threads(1);
}
BENCHMARK(BM_MlpTrainStep)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

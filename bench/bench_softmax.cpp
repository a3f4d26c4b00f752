// softmax, log_softmax and cross_entropy on [rows, cols] logits along axis 1:
// forward (tensor ops; cross_entropy under NoGradGuard) and forward+backward
// through the tape (the way a model uses them), next to plain-loop forwards.
// Peer: bench/peers/torch_softmax.py. Args: rows, cols, threads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "bench_threads.hpp"
#include "nabla/autograd.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/nn.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

struct Logits {
  Tensor<float> x, dy;
  Tensor<std::int64_t> labels;
  std::int64_t rows, cols;
  explicit Logits(const benchmark::State& state) : rows(state.range(0)), cols(state.range(1)) {
    nabla::Generator gen(21);
    x = nabla::randn<float>(Shape{rows, cols}, gen, 0.0f, 3.0f);
    dy = nabla::randn<float>(Shape{rows, cols}, gen);
    labels = nabla::randint<std::int64_t>(0, cols, Shape{rows}, gen);
  }
};

void finish(benchmark::State& state, const Logits& in) {
  state.SetItemsProcessed(state.iterations() * in.rows * in.cols);
  state.counters["threads"] = nabla::get_num_threads();
  nabla::set_num_threads(1);
}

void BM_softmax_fwd(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(2)));
  const Logits in(state);
  for (auto _ : state) {
    Tensor<float> y = nabla::softmax(in.x, 1);
    benchmark::DoNotOptimize(y.data());
  }
  finish(state, in);
}

void BM_log_softmax_fwd(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(2)));
  const Logits in(state);
  for (auto _ : state) {
    Tensor<float> y = nabla::log_softmax(in.x, 1);
    benchmark::DoNotOptimize(y.data());
  }
  finish(state, in);
}

void BM_cross_entropy_fwd(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(2)));
  const Logits in(state);
  const Var<float> x(in.x, false);
  nabla::NoGradGuard no_grad;
  for (auto _ : state) {
    const Var<float> loss = nabla::cross_entropy(x, in.labels);
    benchmark::DoNotOptimize(loss.value().data());
  }
  finish(state, in);
}

// Forward and backward with dy as the output gradient; x's gradient is
// dropped after each step so it never accumulates.
template <Var<float> (*Op)(const Var<float>&, std::int64_t)>
void fwd_bwd(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(2)));
  const Logits in(state);
  const Var<float> x(in.x, true);
  for (auto _ : state) {
    const Var<float> y = Op(x, 1);
    y.backward(in.dy);
    benchmark::DoNotOptimize(x.grad().data());
    x.zero_grad();
  }
  finish(state, in);
}

Var<float> softmax_var(const Var<float>& x, std::int64_t axis) { return nabla::softmax(x, axis); }
Var<float> log_softmax_var(const Var<float>& x, std::int64_t axis) { return nabla::log_softmax(x, axis); }

void BM_softmax_fwd_bwd(benchmark::State& state) { fwd_bwd<softmax_var>(state); }
void BM_log_softmax_fwd_bwd(benchmark::State& state) { fwd_bwd<log_softmax_var>(state); }

void BM_cross_entropy_fwd_bwd(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(2)));
  const Logits in(state);
  const Var<float> x(in.x, true);
  for (auto _ : state) {
    const Var<float> loss = nabla::cross_entropy(x, in.labels);
    loss.backward();
    benchmark::DoNotOptimize(x.grad().data());
    x.zero_grad();
  }
  finish(state, in);
}

// ---- plain loops (one thread, preallocated output): the baseline ----------
void BM_softmax_fwd_loop(benchmark::State& state) {
  const Logits in(state);
  std::vector<float> out(static_cast<std::size_t>(in.rows * in.cols));
  const float* x = in.x.data();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < in.rows; ++i) {
      const float* xi = x + i * in.cols;
      float* yi = out.data() + i * in.cols;
      const float m = *std::max_element(xi, xi + in.cols);
      float s = 0.0f;
      for (std::int64_t j = 0; j < in.cols; ++j) s += (yi[j] = std::exp(xi[j] - m));
      const float inv = 1.0f / s;
      for (std::int64_t j = 0; j < in.cols; ++j) yi[j] *= inv;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  finish(state, in);
}

void BM_cross_entropy_fwd_loop(benchmark::State& state) {
  const Logits in(state);
  const float* x = in.x.data();
  const std::int64_t* labels = in.labels.data();
  for (auto _ : state) {
    double total = 0.0;  // mean over rows of logsumexp(x_i) - x_i[label_i]
    for (std::int64_t i = 0; i < in.rows; ++i) {
      const float* xi = x + i * in.cols;
      const float m = *std::max_element(xi, xi + in.cols);
      float s = 0.0f;
      for (std::int64_t j = 0; j < in.cols; ++j) s += std::exp(xi[j] - m);
      total += static_cast<double>(std::log(s) + m - xi[labels[i]]);
    }
    float loss = static_cast<float>(total / static_cast<double>(in.rows));
    benchmark::DoNotOptimize(loss);
  }
  finish(state, in);
}

}  // namespace

int main(int argc, char** argv) {
  using Fn = void (*)(benchmark::State&);
  const std::pair<std::int64_t, std::int64_t> sizes[] = {{64, 10}, {256, 1000}};
  const std::pair<const char*, Fn> ops[] = {{"BM_softmax_fwd", BM_softmax_fwd},
                                            {"BM_softmax_fwd_bwd", BM_softmax_fwd_bwd},
                                            {"BM_log_softmax_fwd", BM_log_softmax_fwd},
                                            {"BM_log_softmax_fwd_bwd", BM_log_softmax_fwd_bwd},
                                            {"BM_cross_entropy_fwd", BM_cross_entropy_fwd},
                                            {"BM_cross_entropy_fwd_bwd", BM_cross_entropy_fwd_bwd}};
  const std::pair<const char*, Fn> loops[] = {{"BM_softmax_fwd_loop", BM_softmax_fwd_loop},
                                              {"BM_cross_entropy_fwd_loop", BM_cross_entropy_fwd_loop}};
  for (const auto& [name, fn] : ops) {
    for (const int t : nabla::bench::bench_threads()) {
      for (const auto& [rows, cols] : sizes) {
        benchmark::RegisterBenchmark(name, fn)
            ->Args({rows, cols, t})
            ->ArgNames({"rows", "cols", "threads"})
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  for (const auto& [name, fn] : loops) {
    for (const auto& [rows, cols] : sizes) {
      benchmark::RegisterBenchmark(name, fn)
          ->Args({rows, cols, 1})
          ->ArgNames({"rows", "cols", "threads"})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

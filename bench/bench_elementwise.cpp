// Elementwise throughput: nabla vs a plain scalar loop vs Eigen array ops on
// the same buffers (nabla's figure includes allocating its output tensor).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

// <Eigen/Core> through nabla, which silences GCC 12's AVX-512 false positives in it.
#include "nabla/core/eigen_interop.hpp"

#include "nabla/core/creation.hpp"
#include "nabla/core/random.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/elementwise.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;

struct Inputs {
  Tensor<float> a, b, c;
  explicit Inputs(std::int64_t n) {
    nabla::Generator gen(42);
    a = nabla::rand<float>(Shape{n}, gen, -2.0f, 2.0f);
    b = nabla::rand<float>(Shape{n}, gen, 0.5f, 2.0f);
    c = nabla::zeros<float>(Shape{n});
  }
};

void set_counters(benchmark::State& state, std::int64_t n, int streams) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * streams * static_cast<std::int64_t>(sizeof(float)));
}

using EArray = Eigen::Map<Eigen::ArrayXf>;

// ---- add ------------------------------------------------------------------
void BM_add_nabla(benchmark::State& state) {
  const Inputs in(state.range(0));
  for (auto _ : state) {
    Tensor<float> c = nabla::add(in.a, in.b);
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(state, state.range(0), 3);
}
void BM_add_loop(benchmark::State& state) {
  const Inputs in(state.range(0));
  const float* a = in.a.data();
  const float* b = in.b.data();
  float* c = in.c.data();
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3);
}
void BM_add_eigen(benchmark::State& state) {
  const Inputs in(state.range(0));
  const EArray a(in.a.data(), state.range(0)), b(in.b.data(), state.range(0));
  EArray c(in.c.data(), state.range(0));
  for (auto _ : state) {
    c = a + b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 3);
}
// In place: a += b (no output allocation at all).
void BM_add_inplace_nabla(benchmark::State& state) {
  const Inputs in(state.range(0));
  for (auto _ : state) {
    nabla::add_(in.c, in.b);
    benchmark::DoNotOptimize(in.c.data());
  }
  set_counters(state, state.range(0), 3);
}

// ---- mul ------------------------------------------------------------------
void BM_mul_nabla(benchmark::State& state) {
  const Inputs in(state.range(0));
  for (auto _ : state) {
    Tensor<float> c = nabla::mul(in.a, in.b);
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(state, state.range(0), 3);
}
void BM_mul_loop(benchmark::State& state) {
  const Inputs in(state.range(0));
  const float* a = in.a.data();
  const float* b = in.b.data();
  float* c = in.c.data();
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) c[i] = a[i] * b[i];
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3);
}
void BM_mul_eigen(benchmark::State& state) {
  const Inputs in(state.range(0));
  const EArray a(in.a.data(), state.range(0)), b(in.b.data(), state.range(0));
  EArray c(in.c.data(), state.range(0));
  for (auto _ : state) {
    c = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 3);
}

// ---- exp ------------------------------------------------------------------
void BM_exp_nabla(benchmark::State& state) {
  const Inputs in(state.range(0));
  for (auto _ : state) {
    Tensor<float> c = nabla::exp(in.a);
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(state, state.range(0), 2);
}
void BM_exp_loop(benchmark::State& state) {
  const Inputs in(state.range(0));
  const float* a = in.a.data();
  float* c = in.c.data();
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) c[i] = std::exp(a[i]);
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 2);
}
void BM_exp_eigen(benchmark::State& state) {
  const Inputs in(state.range(0));
  const EArray a(in.a.data(), state.range(0));
  EArray c(in.c.data(), state.range(0));
  for (auto _ : state) {
    c = a.exp();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 2);
}

// ---- bias add: [N, C] + [C] (row broadcast) ----------------------------------
void BM_bias_add_nabla(benchmark::State& state) {
  const std::int64_t rows = state.range(0), cols = 256;
  nabla::Generator gen(1);
  const Tensor<float> x = nabla::randn<float>(Shape{rows, cols}, gen);
  const Tensor<float> bias = nabla::randn<float>(Shape{cols}, gen);
  for (auto _ : state) {
    Tensor<float> y = nabla::add(x, bias);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, rows * cols, 2);
}
void BM_bias_add_eigen(benchmark::State& state) {
  const std::int64_t rows = state.range(0), cols = 256;
  nabla::Generator gen(1);
  const Tensor<float> x = nabla::randn<float>(Shape{rows, cols}, gen);
  const Tensor<float> bias = nabla::randn<float>(Shape{cols}, gen);
  const Tensor<float> y = nabla::zeros<float>(Shape{rows, cols});
  using RowMajor = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const RowMajor> xm(x.data(), rows, cols);
  Eigen::Map<RowMajor> ym(y.data(), rows, cols);
  const Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>> bm(bias.data(), 1, cols);
  for (auto _ : state) {
    ym = xm.rowwise() + bm;
    benchmark::DoNotOptimize(ym.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, rows * cols, 2);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {1 << 10, 1 << 16, 1 << 20, 1 << 24}) b->Arg(n);
}

BENCHMARK(BM_add_nabla)->Apply(sizes);
BENCHMARK(BM_add_loop)->Apply(sizes);
BENCHMARK(BM_add_eigen)->Apply(sizes);
BENCHMARK(BM_add_inplace_nabla)->Apply(sizes);
BENCHMARK(BM_mul_nabla)->Apply(sizes);
BENCHMARK(BM_mul_loop)->Apply(sizes);
BENCHMARK(BM_mul_eigen)->Apply(sizes);
BENCHMARK(BM_exp_nabla)->Apply(sizes);
BENCHMARK(BM_exp_loop)->Apply(sizes);
BENCHMARK(BM_exp_eigen)->Apply(sizes);
BENCHMARK(BM_bias_add_nabla)->Arg(64)->Arg(4096);
BENCHMARK(BM_bias_add_eigen)->Arg(64)->Arg(4096);

}  // namespace

int main(int argc, char** argv) {
  nabla::set_num_threads(1);  // compare single-threaded; NABLA_BENCH_THREADS could change this
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

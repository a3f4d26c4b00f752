// matmul fp32: nabla::matmul / matmul_into vs raw Eigen `C.noalias() = A * B`
// on the same buffers, in GFLOP/s. Args: M, K, N, threads.
#include <benchmark/benchmark.h>

// <Eigen/Core> through nabla, which silences GCC 12's AVX-512 false positives in it.
#include "nabla/core/eigen_interop.hpp"

#include "nabla/core/creation.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/linalg.hpp"

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Operands {
  nabla::Tensor<float> a, b, c;
  Operands(std::int64_t m, std::int64_t k, std::int64_t n) {
    nabla::Generator gen(1);
    a = nabla::randn<float>(nabla::Shape{m, k}, gen);
    b = nabla::randn<float>(nabla::Shape{k, n}, gen);
    c = nabla::Tensor<float>(nabla::Shape{m, n});
  }
};

void set_flops(benchmark::State& state, std::int64_t m, std::int64_t k, std::int64_t n) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * k * n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = nabla::get_num_threads();
}

void BM_nabla_matmul(benchmark::State& state) {
  const auto m = state.range(0), k = state.range(1), n = state.range(2);
  nabla::set_num_threads(static_cast<int>(state.range(3)));
  Operands op(m, k, n);
  for (auto _ : state) {
    auto c = nabla::matmul(op.a, op.b);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, m, k, n);
}

void BM_nabla_matmul_into(benchmark::State& state) {
  const auto m = state.range(0), k = state.range(1), n = state.range(2);
  nabla::set_num_threads(static_cast<int>(state.range(3)));
  Operands op(m, k, n);
  for (auto _ : state) {
    nabla::matmul_into(op.c, op.a, op.b);
    benchmark::DoNotOptimize(op.c.data());
  }
  set_flops(state, m, k, n);
}

void BM_eigen_raw(benchmark::State& state) {
  const auto m = state.range(0), k = state.range(1), n = state.range(2);
  nabla::set_num_threads(static_cast<int>(state.range(3)));
  Operands op(m, k, n);
  Eigen::Map<const RowMajor> a(op.a.data(), m, k);
  Eigen::Map<const RowMajor> b(op.b.data(), k, n);
  Eigen::Map<RowMajor> c(op.c.data(), m, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(op.c.data());
  }
  set_flops(state, m, k, n);
}

void shapes(benchmark::internal::Benchmark* b) {
  const std::vector<std::vector<std::int64_t>> mkn = {{64, 64, 64},       {128, 128, 128}, {256, 256, 256},
                                                      {512, 512, 512},    {1024, 1024, 1024},
                                                      {64, 784, 256},     {64, 256, 10}};
  std::vector<std::int64_t> threads = {1};
#if NABLA_HAS_OPENMP
  threads.push_back(2);
#endif
  for (std::int64_t t : threads) {
    for (const auto& s : mkn) b->Args({s[0], s[1], s[2], t});
  }
  // Wall time: with 2 threads the benchmark thread's CPU time would overstate the rate.
  b->ArgNames({"M", "K", "N", "threads"})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_eigen_raw)->Apply(shapes);
BENCHMARK(BM_nabla_matmul_into)->Apply(shapes);
BENCHMARK(BM_nabla_matmul)->Apply(shapes);

BENCHMARK_MAIN();

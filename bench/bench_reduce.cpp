// Reduction throughput: nabla vs a plain scalar loop vs Eigen on the same
// buffers (sum of a vector, sums along each axis of a matrix, max).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

// <Eigen/Core> through nabla, which silences GCC 12's AVX-512 false positives in it.
#include "nabla/core/eigen_interop.hpp"

#include "nabla/core/creation.hpp"
#include "nabla/core/random.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/reduce.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;

Tensor<float> input(std::int64_t n) {
  nabla::Generator gen(7);
  return nabla::rand<float>(Shape{n}, gen, -1.0f, 1.0f);
}

void set_counters(benchmark::State& state, std::int64_t n) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * static_cast<std::int64_t>(sizeof(float)));
}

using EArray = Eigen::Map<const Eigen::ArrayXf>;
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// ---- sum of a vector -----------------------------------------------------------
void BM_sum_nabla(benchmark::State& state) {
  const Tensor<float> x = input(state.range(0));
  for (auto _ : state) {
    Tensor<float> s = nabla::sum(x);
    benchmark::DoNotOptimize(s.data());
  }
  set_counters(state, state.range(0));
}
void BM_sum_loop(benchmark::State& state) {
  const Tensor<float> x = input(state.range(0));
  const float* p = x.data();
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    float s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += p[i];
    benchmark::DoNotOptimize(s);
  }
  set_counters(state, n);
}
void BM_sum_eigen(benchmark::State& state) {
  const Tensor<float> x = input(state.range(0));
  const EArray a(x.data(), state.range(0));
  for (auto _ : state) {
    float s = a.sum();
    benchmark::DoNotOptimize(s);
  }
  set_counters(state, state.range(0));
}

// ---- max of a vector -------------------------------------------------------------
void BM_max_nabla(benchmark::State& state) {
  const Tensor<float> x = input(state.range(0));
  for (auto _ : state) {
    Tensor<float> s = nabla::max(x);
    benchmark::DoNotOptimize(s.data());
  }
  set_counters(state, state.range(0));
}
void BM_max_eigen(benchmark::State& state) {
  const Tensor<float> x = input(state.range(0));
  const EArray a(x.data(), state.range(0));
  for (auto _ : state) {
    float s = a.maxCoeff();
    benchmark::DoNotOptimize(s);
  }
  set_counters(state, state.range(0));
}

// ---- [1024, 1024] along each axis ------------------------------------------------
constexpr std::int64_t side = 1024;

void BM_sum_axis0_nabla(benchmark::State& state) {
  const Tensor<float> x = input(side * side).reshape(Shape{side, side});
  for (auto _ : state) {
    Tensor<float> s = nabla::sum(x, 0);
    benchmark::DoNotOptimize(s.data());
  }
  set_counters(state, side * side);
}
void BM_sum_axis0_eigen(benchmark::State& state) {
  const Tensor<float> x = input(side * side);
  const Eigen::Map<const RowMajor> m(x.data(), side, side);
  Eigen::RowVectorXf out(side);
  for (auto _ : state) {
    out.noalias() = m.colwise().sum();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, side * side);
}
void BM_sum_axis0_loop(benchmark::State& state) {
  const Tensor<float> x = input(side * side);
  std::vector<float> out(side);
  const float* p = x.data();
  for (auto _ : state) {
    std::fill(out.begin(), out.end(), 0.0f);
    for (std::int64_t i = 0; i < side; ++i)
      for (std::int64_t j = 0; j < side; ++j) out[static_cast<std::size_t>(j)] += p[i * side + j];
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, side * side);
}
void BM_sum_axis1_nabla(benchmark::State& state) {
  const Tensor<float> x = input(side * side).reshape(Shape{side, side});
  for (auto _ : state) {
    Tensor<float> s = nabla::sum(x, 1);
    benchmark::DoNotOptimize(s.data());
  }
  set_counters(state, side * side);
}
void BM_sum_axis1_eigen(benchmark::State& state) {
  const Tensor<float> x = input(side * side);
  const Eigen::Map<const RowMajor> m(x.data(), side, side);
  Eigen::VectorXf out(side);
  for (auto _ : state) {
    out.noalias() = m.rowwise().sum();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, side * side);
}
void BM_sum_axis1_loop(benchmark::State& state) {
  const Tensor<float> x = input(side * side);
  std::vector<float> out(side);
  const float* p = x.data();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < side; ++i) {
      float s = 0;
      for (std::int64_t j = 0; j < side; ++j) s += p[i * side + j];
      out[static_cast<std::size_t>(i)] = s;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, side * side);
}
// sum_to [N, C] -> [C], the backward of a bias add.
void BM_sum_to_bias_nabla(benchmark::State& state) {
  const Tensor<float> x = input(4096 * 256).reshape(Shape{4096, 256});
  for (auto _ : state) {
    Tensor<float> s = nabla::sum_to(x, Shape{256});
    benchmark::DoNotOptimize(s.data());
  }
  set_counters(state, 4096 * 256);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {1 << 10, 1 << 16, 1 << 20, 1 << 24}) b->Arg(n);
}

BENCHMARK(BM_sum_nabla)->Apply(sizes);
BENCHMARK(BM_sum_loop)->Apply(sizes);
BENCHMARK(BM_sum_eigen)->Apply(sizes);
BENCHMARK(BM_max_nabla)->Apply(sizes);
BENCHMARK(BM_max_eigen)->Apply(sizes);
BENCHMARK(BM_sum_axis0_nabla);
BENCHMARK(BM_sum_axis0_eigen);
BENCHMARK(BM_sum_axis0_loop);
BENCHMARK(BM_sum_axis1_nabla);
BENCHMARK(BM_sum_axis1_eigen);
BENCHMARK(BM_sum_axis1_loop);
BENCHMARK(BM_sum_to_bias_nabla);

}  // namespace

int main(int argc, char** argv) {
  nabla::set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// Peer: fp32 GEMM through OpenBLAS's cblas_sgemm (row-major C = A B into a
// preallocated C) on the shapes of bench/bench_matmul.cpp, in GFLOP/s.
// Args: M, K, N, threads (NABLA_BENCH_THREADS; set with openblas_set_num_threads).
// OpenBLAS picks its kernel at load time; OPENBLAS_CORETYPE overrides it, and
// the kernel in use is recorded in the context as openblas_corename.
#include <benchmark/benchmark.h>

#include <cblas.h>

#include <cstdint>
#include <random>
#include <vector>

#include "../bench_threads.hpp"

namespace {

std::vector<float> random_matrix(std::int64_t rows, std::int64_t cols, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> out(static_cast<std::size_t>(rows * cols));
  for (float& v : out) v = dist(gen);
  return out;
}

void BM_openblas_sgemm(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  openblas_set_num_threads(static_cast<int>(state.range(3)));
  const std::vector<float> a = random_matrix(m, k, 1), b = random_matrix(k, n, 2);
  std::vector<float> c(static_cast<std::size_t>(m * n));
  const auto mi = static_cast<blasint>(m), ki = static_cast<blasint>(k), ni = static_cast<blasint>(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mi, ni, ki, 1.0f, a.data(), ki, b.data(), ni, 0.0f,
                c.data(), ni);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * k * n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = openblas_get_num_threads();
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t shapes[][3] = {{64, 64, 64},   {128, 128, 128}, {256, 256, 256}, {512, 512, 512},
                                    {1024, 1024, 1024}, {64, 784, 256}, {64, 256, 10}};
  for (const int t : nabla::bench::bench_threads()) {
    for (const auto& s : shapes) {
      benchmark::RegisterBenchmark("BM_openblas_sgemm", BM_openblas_sgemm)
          ->Args({s[0], s[1], s[2], t})
          ->ArgNames({"M", "K", "N", "threads"})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("openblas_corename", openblas_get_corename());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// conv2d fp32 on the CNN's layer shapes: forward and forward+backward in
// GFLOP/s (2*N*K*C*k*k*Ho*Wo per forward, twice that for the backward), next
// to one raw Eigen GEMM of the same arithmetic ([K, C*k*k] x [C*k*k, N*Ho*Wo]).
// Args: shape index, threads.
#include <benchmark/benchmark.h>

// <Eigen/Core> through nabla, which silences GCC 12's AVX-512 false positives in it.
#include "nabla/core/eigen_interop.hpp"

#include <cstdlib>
#include <sstream>

#include "nabla/core/creation.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/nn.hpp"

namespace {

struct ConvShape {
  std::int64_t n, c, h, w, k, kernel, pad;
};
// (N, C, H, W, K, k, pad) of the LeNet-like CNN's layers and a wider one.
const ConvShape shapes_list[] = {{64, 1, 28, 28, 32, 5, 2}, {64, 32, 14, 14, 64, 5, 2}, {32, 64, 56, 56, 64, 3, 1}};

struct ConvData {
  ConvShape s;
  nabla::Tensor<float> x, w, b, dy;
  std::int64_t ho, wo;
  explicit ConvData(const ConvShape& shape) : s(shape) {
    nabla::Generator gen(3);
    x = nabla::randn<float>(nabla::Shape{s.n, s.c, s.h, s.w}, gen);
    w = nabla::randn<float>(nabla::Shape{s.k, s.c, s.kernel, s.kernel}, gen, 0.0f, 0.1f);
    b = nabla::randn<float>(nabla::Shape{s.k}, gen);
    ho = s.h + 2 * s.pad - s.kernel + 1;
    wo = s.w + 2 * s.pad - s.kernel + 1;
    dy = nabla::randn<float>(nabla::Shape{s.n, s.k, ho, wo}, gen);
  }
  double forward_flops() const { return 2.0 * static_cast<double>(s.n * s.k * s.c * s.kernel * s.kernel * ho * wo); }
  nabla::Conv2dParams params() const { return nabla::Conv2dParams{1, 1, s.pad, s.pad, 1, 1, 1}; }
};

void label(benchmark::State& state, const ConvData& d, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = nabla::get_num_threads();
  std::ostringstream text;  // (g++ 12 -O3 flags string operator+ chains with a false -Wrestrict)
  text << "N" << d.s.n << " C" << d.s.c << " " << d.s.h << "x" << d.s.w << " K" << d.s.k << " k" << d.s.kernel
       << " p" << d.s.pad;
  state.SetLabel(text.str());
}

void BM_conv2d_forward(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(1)));
  const ConvData d(shapes_list[state.range(0)]);
  (void)nabla::conv2d(d.x, d.w, d.b, d.params());  // untimed: first-touch of the pool's buffers
  for (auto _ : state) {
    auto y = nabla::conv2d(d.x, d.w, d.b, d.params());
    benchmark::DoNotOptimize(y.data());
  }
  label(state, d, d.forward_flops());
}

void BM_conv2d_forward_backward(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(1)));
  const ConvData d(shapes_list[state.range(0)]);
  (void)nabla::conv2d_backward(d.dy, d.x, d.w, d.params(), true, true, true);  // untimed warm-up, as above
  for (auto _ : state) {
    auto y = nabla::conv2d(d.x, d.w, d.b, d.params());
    auto g = nabla::conv2d_backward(d.dy, d.x, d.w, d.params(), true, true, true);
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(g.grad_input.data());
  }
  label(state, d, 3 * d.forward_flops());
}

// The GEMM the forward lowers to, on preallocated buffers: how close the
// im2col path gets to Eigen's own throughput at the same arithmetic.
void BM_eigen_equivalent_gemm(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(1)));
  const ConvData d(shapes_list[state.range(0)]);
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const std::int64_t depth = d.s.c * d.s.kernel * d.s.kernel;
  const std::int64_t cols = d.s.n * d.ho * d.wo;
  nabla::Generator gen(5);
  const auto col = nabla::randn<float>(nabla::Shape{depth, cols}, gen);
  const nabla::Tensor<float> out(nabla::Shape{d.s.k, cols});
  Eigen::Map<const RowMajor> a(d.w.data(), d.s.k, depth);
  Eigen::Map<const RowMajor> b(col.data(), depth, cols);
  Eigen::Map<RowMajor> c(out.data(), d.s.k, cols);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(out.data());
  }
  label(state, d, d.forward_flops());
}

void args(benchmark::internal::Benchmark* b) {
  std::vector<std::int64_t> threads = {1};
#if NABLA_HAS_OPENMP
  threads.push_back(2);
#endif
  for (std::int64_t t : threads) {
    for (std::int64_t s = 0; s < 3; ++s) b->Args({s, t});
  }
  // Wall time: with 2 threads the benchmark thread's CPU time would overstate the rate.
  // At least 0.5 s each: one call lasts tens of milliseconds, and a quick
  // harness run would otherwise time two or three of them. CI's smoke run
  // (NABLA_BENCH_SMOKE set) only checks that each benchmark runs.
  b->ArgNames({"shape", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
  if (std::getenv("NABLA_BENCH_SMOKE") == nullptr) b->MinTime(0.5);
}

}  // namespace

BENCHMARK(BM_eigen_equivalent_gemm)->Apply(args);
BENCHMARK(BM_conv2d_forward)->Apply(args);
BENCHMARK(BM_conv2d_forward_backward)->Apply(args);

BENCHMARK_MAIN();

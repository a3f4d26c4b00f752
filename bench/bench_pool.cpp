// max_pool2d (2x2, stride 2) on the CNN's pooling shapes: forward, and
// forward (with argmax) + backward, next to a plain-loop forward.
// Peer: bench/peers/torch_conv.py. Args: shape index, threads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <sstream>
#include <vector>

#include "bench_threads.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/nn.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;

struct PoolShape {
  std::int64_t n, c, h, w;
};
// The inputs of the CNN's two pooling layers at batch 64.
const PoolShape pool_shapes[] = {{64, 32, 28, 28}, {64, 64, 14, 14}};
constexpr std::int64_t kernel = 2;

struct PoolData {
  PoolShape s;
  Tensor<float> x, dy;
  explicit PoolData(const PoolShape& shape) : s(shape) {
    nabla::Generator gen(9);
    x = nabla::randn<float>(Shape{s.n, s.c, s.h, s.w}, gen);
    dy = nabla::randn<float>(Shape{s.n, s.c, s.h / kernel, s.w / kernel}, gen);
  }
};

void finish(benchmark::State& state, const PoolData& d) {
  state.SetItemsProcessed(state.iterations() * d.x.numel());
  state.counters["threads"] = nabla::get_num_threads();
  std::ostringstream text;
  text << "N" << d.s.n << " C" << d.s.c << " " << d.s.h << "x" << d.s.w << " k" << kernel;
  state.SetLabel(text.str());
  nabla::set_num_threads(1);
}

void BM_max_pool2d_fwd(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(1)));
  const PoolData d(pool_shapes[state.range(0)]);
  for (auto _ : state) {
    Tensor<float> y = nabla::max_pool2d(d.x, kernel);
    benchmark::DoNotOptimize(y.data());
  }
  finish(state, d);
}

void BM_max_pool2d_fwd_bwd(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(1)));
  const PoolData d(pool_shapes[state.range(0)]);
  for (auto _ : state) {
    const auto r = nabla::max_pool2d_with_indices(d.x, kernel);
    Tensor<float> dx = nabla::max_pool2d_backward(d.dy, r.indices, d.x.shape());
    benchmark::DoNotOptimize(r.values.data());
    benchmark::DoNotOptimize(dx.data());
  }
  finish(state, d);
}

// One thread, preallocated output, no argmax.
void BM_max_pool2d_fwd_loop(benchmark::State& state) {
  const PoolData d(pool_shapes[state.range(0)]);
  const std::int64_t ho = d.s.h / kernel, wo = d.s.w / kernel, planes = d.s.n * d.s.c;
  std::vector<float> out(static_cast<std::size_t>(planes * ho * wo));
  for (auto _ : state) {
    for (std::int64_t p = 0; p < planes; ++p) {
      const float* in = d.x.data() + p * d.s.h * d.s.w;
      float* o = out.data() + p * ho * wo;
      for (std::int64_t i = 0; i < ho; ++i) {
        const float* r0 = in + (i * kernel) * d.s.w;
        const float* r1 = r0 + d.s.w;
        for (std::int64_t j = 0; j < wo; ++j) {
          o[i * wo + j] = std::max(std::max(r0[2 * j], r0[2 * j + 1]), std::max(r1[2 * j], r1[2 * j + 1]));
        }
      }
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  finish(state, d);
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t shape_count = static_cast<std::int64_t>(std::size(pool_shapes));
  for (const int t : nabla::bench::bench_threads()) {
    for (std::int64_t s = 0; s < shape_count; ++s) {
      benchmark::RegisterBenchmark("BM_max_pool2d_fwd", BM_max_pool2d_fwd)
          ->Args({s, t})
          ->ArgNames({"shape", "threads"})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark("BM_max_pool2d_fwd_bwd", BM_max_pool2d_fwd_bwd)
          ->Args({s, t})
          ->ArgNames({"shape", "threads"})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (std::int64_t s = 0; s < shape_count; ++s) {
    benchmark::RegisterBenchmark("BM_max_pool2d_fwd_loop", BM_max_pool2d_fwd_loop)
        ->Args({s, 1})
        ->ArgNames({"shape", "threads"})
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

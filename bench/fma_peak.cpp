// FMA-throughput probe: many independent fused multiply-add chains on the
// default xsimd batch (the SIMD width this build targets), on 1..T threads at
// once. The result is the peak every GFLOP/s figure of the harness is read
// against. Prints one JSON line per thread count: GFLOP/s by wall time (the
// peak, comparable with wall-clock benchmark times) and by each thread's CPU
// time (what the cores do while they run: on a busy machine the wall figure
// drops, this one much less).
//
//   nabla_fma_peak [--threads 1,2] [--seconds 0.2]
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nabla/kernels/simd.hpp"  // xsimd, inside nabla's warning guards

namespace {

using Batch = xsimd::batch<float>;
using Clock = std::chrono::steady_clock;

// `Chains` independent accumulators hide the FMA latency (4-5 cycles on
// current cores, 2 ports); too many spill registers, so several are tried.
template <int Chains>
float fma_chains(std::int64_t iterations) {
  std::array<Batch, Chains> acc;
  for (int c = 0; c < Chains; ++c) acc[static_cast<std::size_t>(c)] = Batch(1.0f + 0.001f * static_cast<float>(c));
  // acc = acc * a + b converges to b / (1 - a) = 1: no overflow, no denormals.
  const Batch a(0.99999f), b(0.00001f);
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 32
    for (int c = 0; c < Chains; ++c) acc[static_cast<std::size_t>(c)] = xsimd::fma(acc[static_cast<std::size_t>(c)], a, b);
  }
  Batch total = acc[0];
  for (int c = 1; c < Chains; ++c) total += acc[static_cast<std::size_t>(c)];
  return xsimd::hadd(total);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0.0;  // from the start signal until every thread is done
  double cpu = 0.0;   // the slowest thread's own CPU time (what the core does when it runs)
};

// `threads` threads each running `iterations` of the loop.
template <int Chains>
Timing timed_run(int threads, std::int64_t iterations) {
  std::atomic<bool> go{false};
  std::atomic<int> ready{0};
  std::vector<float> sink(static_cast<std::size_t>(threads));
  std::vector<double> cpu(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const double start = thread_cpu_seconds();
      sink[static_cast<std::size_t>(t)] = fma_chains<Chains>(iterations);
      cpu[static_cast<std::size_t>(t)] = thread_cpu_seconds() - start;
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  Timing timing;
  timing.wall = std::chrono::duration<double>(Clock::now() - start).count();
  timing.cpu = *std::max_element(cpu.begin(), cpu.end());
  volatile float keep = 0.0f;
  for (const float s : sink) keep = keep + s;
  (void)keep;
  return timing;
}

struct Measure {
  int chains = 0;
  double gflops = 0.0;      // all threads together, by wall time
  double gflops_cpu = 0.0;  // all threads together, by each thread's CPU time
  double seconds = 0.0;
};

// Best of three timed runs, each sized to last about `target` seconds (a
// busy machine only makes a calibration run longer, so it errs short).
template <int Chains>
Measure measure(int threads, double target) {
  std::int64_t iterations = 1 << 14;
  for (;;) {
    const double seconds = timed_run<Chains>(threads, iterations).wall;
    if (seconds >= target / 2) break;
    const double grow = std::clamp(target / std::max(seconds, 1e-6), 2.0, 10.0);
    iterations = static_cast<std::int64_t>(static_cast<double>(iterations) * grow);
  }
  const double flops = 2.0 * static_cast<double>(Batch::size) * Chains * static_cast<double>(iterations) * threads;
  Measure best{Chains, 0.0, 0.0, 0.0};
  for (int rep = 0; rep < 3; ++rep) {
    const Timing timing = timed_run<Chains>(threads, iterations);
    best.gflops = std::max(best.gflops, flops / timing.wall * 1e-9);
    if (best.seconds == 0.0 || timing.wall < best.seconds) best.seconds = timing.wall;
    best.gflops_cpu = std::max(best.gflops_cpu, flops / timing.cpu * 1e-9);
  }
  return best;
}

std::vector<int> parse_threads(const char* text) {
  std::vector<int> out;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, ',')) {
    const int t = std::atoi(item.c_str());
    if (t > 0) out.push_back(t);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads = {1};
  double target = 0.2;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = parse_threads(argv[++i]);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      target = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--threads 1,2] [--seconds 0.2]\n", argv[0]);
      return 2;
    }
  }
  if (threads.empty() || !(target > 0.0)) {
    std::fprintf(stderr, "nabla_fma_peak: need positive thread counts and seconds\n");
    return 2;
  }
  for (const int t : threads) {
    Measure best = measure<8>(t, target);
    for (const Measure& m : {measure<10>(t, target), measure<12>(t, target)}) {
      if (m.gflops > best.gflops) best = m;
    }
    std::printf(
        "{\"probe\": \"fma_peak\", \"arch\": \"%s\", \"lanes\": %d, \"chains\": %d, \"threads\": %d, "
        "\"gflops\": %.3f, \"gflops_per_thread\": %.3f, \"gflops_cpu_time\": %.3f, \"seconds\": %.4f}\n",
        xsimd::default_arch::name(), static_cast<int>(Batch::size), best.chains, t, best.gflops, best.gflops / t,
        best.gflops_cpu, best.seconds);
  }
  return 0;
}

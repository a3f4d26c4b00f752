// Thread control and parallel loops: OpenMP when the build has it, serial
// otherwise. Work is split into fixed chunks so results never depend on the
// thread count.
#pragma once

#include <algorithm>
#include <cstdint>

#include "nabla/config.hpp"

#if NABLA_HAS_OPENMP
#include <omp.h>
#endif

namespace nabla {

// Threads that nabla's kernels may use (set per calling thread, as OpenMP does).
inline void set_num_threads(int n) {
#if NABLA_HAS_OPENMP
  omp_set_num_threads(std::max(1, n));
#else
  (void)n;
#endif
}

inline int get_num_threads() {
#if NABLA_HAS_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace kernels {

// Calls body(lo, hi) on disjoint chunks covering [begin, end). Chunks hold
// at least `grain` items; the split does not depend on the thread count, so
// a body that reduces within its chunk stays bit-identical across counts.
template <class Body>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, Body&& body) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
#if NABLA_HAS_OPENMP
  if (n > grain && get_num_threads() > 1 && !omp_in_parallel()) {
    const std::int64_t chunks = (n + grain - 1) / grain;
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t lo = begin + c * grain;
      body(lo, std::min(end, lo + grain));
    }
    return;
  }
#endif
  for (std::int64_t lo = begin; lo < end; lo += grain) body(lo, std::min(end, lo + grain));
}

}  // namespace kernels
}  // namespace nabla

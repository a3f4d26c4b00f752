// The thread counts a benchmark registers: NABLA_BENCH_THREADS="1,2,4" (set by
// scripts/bench.py), else 1 and 2 when nabla has OpenMP, else 1.
#pragma once

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "nabla/config.hpp"

namespace nabla::bench {

inline std::vector<int> bench_threads() {
  std::vector<int> out;
  if (const char* env = std::getenv("NABLA_BENCH_THREADS")) {
    std::stringstream list(env);
    std::string item;
    while (std::getline(list, item, ',')) {
      const int t = std::atoi(item.c_str());
      if (t > 0) out.push_back(t);
    }
  }
  if (out.empty()) {
    out.push_back(1);
#if NABLA_HAS_OPENMP
    out.push_back(2);
#endif
  }
  return out;
}

}  // namespace nabla::bench

// Tests for kernels::parallel_for and the thread-count controls: every index
// is visited exactly once, in chunks of the grain size, at any thread count.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "nabla/kernels/parallel.hpp"

namespace core_parallel_test {

struct Coverage {
  std::vector<std::pair<std::int64_t, std::int64_t>> chunks;  // sorted by start
  std::vector<int> hits;                                       // per index in [begin, end)
  int calls = 0;
};

// Runs parallel_for and records which chunks it made and how often each index was visited.
inline Coverage run(std::int64_t begin, std::int64_t end, std::int64_t grain) {
  Coverage c;
  const std::int64_t n = std::max<std::int64_t>(end - begin, 0);
  std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
  std::mutex mutex;
  nabla::kernels::parallel_for(begin, end, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      if (i >= begin && i < end) hits[static_cast<std::size_t>(i - begin)].fetch_add(1);
    }
    std::lock_guard<std::mutex> lock(mutex);
    c.chunks.emplace_back(lo, hi);
    ++c.calls;
  });
  std::sort(c.chunks.begin(), c.chunks.end());
  for (auto& h : hits) c.hits.push_back(h.load());
  return c;
}

// The fixed split parallel_for promises: [begin, begin + grain), ... up to end.
inline std::vector<std::pair<std::int64_t, std::int64_t>> expected_chunks(std::int64_t begin, std::int64_t end,
                                                                          std::int64_t grain) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (std::int64_t lo = begin; lo < end; lo += grain) out.emplace_back(lo, std::min(end, lo + grain));
  return out;
}

}  // namespace core_parallel_test

using core_parallel_test::expected_chunks;
using core_parallel_test::run;

TEST_CASE("parallel_for: covers begin to end exactly once in grain-sized chunks", "[core][parallel]") {
  for (auto [begin, end, grain] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
           {0, 100, 10}, {0, 101, 10}, {5, 1005, 7}, {-50, 50, 16}, {0, 100000, 1000}, {3, 4, 1}, {0, 9, 1}}) {
    INFO("begin " << begin << " end " << end << " grain " << grain);
    const auto c = run(begin, end, grain);
    CHECK(c.hits == std::vector<int>(static_cast<std::size_t>(end - begin), 1));
    CHECK(c.chunks == expected_chunks(begin, end, grain));
  }
}

TEST_CASE("parallel_for: empty and reversed ranges never call the body", "[core][parallel]") {
  CHECK(run(0, 0, 10).calls == 0);
  CHECK(run(7, 7, 1).calls == 0);
  CHECK(run(10, 3, 1).calls == 0);
}

TEST_CASE("parallel_for: a grain larger than the range gives one chunk, grain <= 0 means 1", "[core][parallel]") {
  const auto c = run(2, 12, 1000);
  CHECK(c.calls == 1);
  CHECK(c.chunks == std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 12}});
  const auto same = run(0, 64, 64);
  CHECK(same.chunks == std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 64}});
  const auto zero = run(0, 5, 0);
  CHECK(zero.chunks == expected_chunks(0, 5, 1));
  const auto negative = run(0, 3, -4);
  CHECK(negative.chunks == expected_chunks(0, 3, 1));
}

TEST_CASE("parallel_for: the split and per-chunk results do not depend on the thread count", "[core][parallel]") {
  const int saved = nabla::get_num_threads();
  CHECK(saved >= 1);
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> splits;
  std::vector<std::vector<double>> sums;
  for (int threads : {1, 2, 4}) {
    nabla::set_num_threads(threads);
#if NABLA_HAS_OPENMP
    CHECK(nabla::get_num_threads() == threads);
#else
    CHECK(nabla::get_num_threads() == 1);
#endif
    const auto c = run(0, 10007, 100);
    CHECK(c.hits == std::vector<int>(10007, 1));
    splits.push_back(c.chunks);

    // A reduction within each chunk, written to the chunk's own slot.
    std::vector<double> partial(101, 0.0);
    nabla::kernels::parallel_for(0, 10007, 100, [&](std::int64_t lo, std::int64_t hi) {
      double s = 0.0;
      for (std::int64_t i = lo; i < hi; ++i) s += 1.0 / static_cast<double>(i + 1);
      partial[static_cast<std::size_t>(lo / 100)] = s;
    });
    sums.push_back(partial);
  }
  CHECK(splits[0] == splits[1]);
  CHECK(splits[0] == splits[2]);
  CHECK(sums[0] == sums[1]);  // bit-identical
  CHECK(sums[0] == sums[2]);
  nabla::set_num_threads(0);  // clamped to at least one thread
  CHECK(nabla::get_num_threads() >= 1);
  nabla::set_num_threads(saved);
}

TEST_CASE("parallel_for: nested calls run their inner loop serially and still cover everything",
          "[core][parallel]") {
  const int saved = nabla::get_num_threads();
  nabla::set_num_threads(2);
  std::vector<std::atomic<int>> hits(40 * 30);
  nabla::kernels::parallel_for(0, 40, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      nabla::kernels::parallel_for(0, 30, 4, [&](std::int64_t a, std::int64_t b) {
        for (std::int64_t k = a; k < b; ++k) hits[static_cast<std::size_t>(r * 30 + k)].fetch_add(1);
      });
    }
  });
  bool all_once = true;
  for (auto& h : hits) all_once = all_once && h.load() == 1;
  CHECK(all_once);
  nabla::set_num_threads(saved);
}

// Tests for Storage and the caching allocator: alignment, size classes, reuse,
// accounting, shared ownership, versions and thread safety.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "nabla/core/storage.hpp"
#include "nabla/core/tensor.hpp"

using nabla::CachingAllocator;
using nabla::Storage;

TEST_CASE("CachingAllocator: blocks and storage data are 64-byte aligned for every size", "[core][storage]") {
  auto& alloc = CachingAllocator::instance();
  for (std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65},
                            std::size_t{4097}, std::size_t{1} << 20}) {
    INFO("bytes = " << bytes);
    void* p = alloc.allocate(bytes);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    alloc.deallocate(p, bytes);

    const Storage s(bytes);
    CHECK(s.nbytes() == bytes);
    CHECK(reinterpret_cast<std::uintptr_t>(s.data()) % 64 == 0);
  }
  // Tensors of every element type start on a 64-byte boundary too.
  for (std::int64_t n : {0, 1, 3, 17, 1000}) {
    CHECK(reinterpret_cast<std::uintptr_t>(nabla::Tensor<float>::empty(nabla::Shape{n}).data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(nabla::Tensor<double>::empty(nabla::Shape{n}).data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(nabla::Tensor<std::int64_t>::empty(nabla::Shape{n}).data()) % 64 == 0);
  }
}

TEST_CASE("CachingAllocator: size classes cover the request, grow monotonically, waste at most 25%",
          "[core][storage]") {
  CHECK(CachingAllocator::rounded_size(0) == 64);
  CHECK(CachingAllocator::rounded_size(1) == 64);
  CHECK(CachingAllocator::rounded_size(64) == 64);
  CHECK(CachingAllocator::rounded_size(65) == 80);
  CHECK(CachingAllocator::rounded_size(128) == 128);
  CHECK(CachingAllocator::rounded_size(129) == 160);
  CHECK(CachingAllocator::rounded_size(4096) == 4096);
  CHECK(CachingAllocator::rounded_size(4097) == 5120);
  CHECK(CachingAllocator::rounded_size(std::size_t{1} << 20) == std::size_t{1} << 20);

  std::size_t previous = 0;
  for (std::size_t bytes = 0; bytes <= 70000; ++bytes) {
    const std::size_t r = CachingAllocator::rounded_size(bytes);
    if (r < bytes || r < previous || r % 16 != 0 || (bytes > 64 && 4 * r > 5 * bytes)) {
      FAIL("rounded_size(" << bytes << ") = " << r << " after " << previous);
    }
    previous = r;
  }
  // Large sizes (up to 1 TiB) keep the same bound.
  for (std::size_t bytes = std::size_t{1} << 17; bytes < (std::size_t{1} << 40); bytes = bytes * 3 / 2 + 7) {
    const std::size_t r = CachingAllocator::rounded_size(bytes);
    CHECK(r >= bytes);
    CHECK(4 * r <= 5 * bytes);
  }
}

TEST_CASE("CachingAllocator: a freed block is reused for the next request of its class", "[core][storage]") {
  auto& alloc = CachingAllocator::instance();
  constexpr std::size_t bytes = 12345;
  void* first = alloc.allocate(bytes);
  alloc.deallocate(first, bytes);
  const auto before = alloc.stats();
  CHECK(before.cached_blocks >= 1);
  void* second = alloc.allocate(bytes - 7);  // same size class
  const auto after = alloc.stats();
  CHECK(second == first);
  CHECK(after.hits == before.hits + 1);
  CHECK(after.misses == before.misses);
  CHECK(after.cached_bytes == before.cached_bytes - CachingAllocator::rounded_size(bytes));
  alloc.deallocate(second, bytes - 7);

  // A tensor allocate/free/allocate cycle reuses the same buffer.
  const float* data = nullptr;
  {
    const auto t = nabla::Tensor<float>::empty(nabla::Shape{300, 7});
    data = t.data();
  }
  const auto hits = alloc.stats().hits;
  const auto t2 = nabla::Tensor<float>::empty(nabla::Shape{7, 300});
  CHECK(t2.data() == data);
  CHECK(alloc.stats().hits == hits + 1);
}

TEST_CASE("CachingAllocator: release() empties the cache", "[core][storage]") {
  auto& alloc = CachingAllocator::instance();
  for (std::size_t bytes : {100, 1000, 10000}) alloc.deallocate(alloc.allocate(bytes), bytes);
  CHECK(alloc.stats().cached_bytes > 0);
  nabla::release_cached_memory();
  const auto s = nabla::allocator_stats();
  CHECK(s.cached_bytes == 0);
  CHECK(s.cached_blocks == 0);
  // The next request goes to the system.
  const auto misses = s.misses;
  void* p = alloc.allocate(1000);
  CHECK(alloc.stats().misses == misses + 1);
  alloc.deallocate(p, 1000);
}

TEST_CASE("CachingAllocator: with a cache limit of 0 freed blocks go back to the system", "[core][storage]") {
  auto& alloc = CachingAllocator::instance();
  alloc.release();
  alloc.set_cache_limit(0);
  void* p = alloc.allocate(5000);
  alloc.deallocate(p, 5000);
  auto s = alloc.stats();
  CHECK(s.cached_bytes == 0);
  CHECK(s.cached_blocks == 0);
  const auto misses = s.misses;
  p = alloc.allocate(5000);
  CHECK(alloc.stats().misses == misses + 1);
  alloc.deallocate(p, 5000);

  // A limit only keeps what fits under it.
  alloc.set_cache_limit(CachingAllocator::rounded_size(5000));
  void* a = alloc.allocate(5000);
  void* b = alloc.allocate(5000);
  alloc.deallocate(a, 5000);
  alloc.deallocate(b, 5000);
  s = alloc.stats();
  CHECK(s.cached_blocks == 1);
  CHECK(s.cached_bytes == CachingAllocator::rounded_size(5000));

  alloc.set_cache_limit(std::size_t{4} << 30);  // the default
  alloc.release();
}

TEST_CASE("CachingAllocator: live bytes and blocks track what is handed out", "[core][storage]") {
  auto& alloc = CachingAllocator::instance();
  const auto start = alloc.stats();
  void* a = alloc.allocate(1000);
  void* b = alloc.allocate(70);
  auto s = alloc.stats();
  CHECK(s.live_blocks == start.live_blocks + 2);
  CHECK(s.live_bytes == start.live_bytes + CachingAllocator::rounded_size(1000) + CachingAllocator::rounded_size(70));
  alloc.deallocate(a, 1000);
  s = alloc.stats();
  CHECK(s.live_blocks == start.live_blocks + 1);
  CHECK(s.live_bytes == start.live_bytes + CachingAllocator::rounded_size(70));
  alloc.deallocate(b, 70);
  alloc.deallocate(nullptr, 70);  // a no-op
  s = alloc.stats();
  CHECK(s.live_blocks == start.live_blocks);
  CHECK(s.live_bytes == start.live_bytes);

  // A storage holds one block (header and data together) while it lives.
  {
    const Storage st(256);
    CHECK(alloc.stats().live_blocks == start.live_blocks + 1);
    CHECK(alloc.stats().live_bytes == start.live_bytes + CachingAllocator::rounded_size(256 + 64));
  }
  CHECK(alloc.stats().live_blocks == start.live_blocks);
}

TEST_CASE("Storage: copies share the block, the last handle frees it", "[core][storage]") {
  auto& alloc = CachingAllocator::instance();
  const auto live = alloc.stats().live_blocks;
  Storage empty;
  CHECK_FALSE(empty.defined());
  CHECK(empty.data() == nullptr);
  CHECK(empty.nbytes() == 0);
  CHECK(empty.use_count() == 0);
  CHECK(empty.version() == 0);
  empty.bump_version();  // harmless on an undefined storage

  Storage a(128);
  CHECK(a.defined());
  CHECK(a.use_count() == 1);
  {
    Storage b = a;
    CHECK(b.same_as(a));
    CHECK(b.data() == a.data());
    CHECK(a.use_count() == 2);
    Storage c;
    c = b;
    CHECK(a.use_count() == 3);
    Storage d = std::move(c);
    CHECK_FALSE(c.defined());  // NOLINT(bugprone-use-after-move)
    CHECK(a.use_count() == 3);
    c = std::move(d);
    CHECK(a.use_count() == 3);
    CHECK(alloc.stats().live_blocks == live + 1);
  }
  CHECK(a.use_count() == 1);
  Storage& self = a;
  a = self;  // self-assignment keeps the block alive
  CHECK(a.use_count() == 1);
  CHECK(a.defined());
  CHECK_FALSE(a.same_as(Storage(128)));

  a.reset();
  CHECK_FALSE(a.defined());
  CHECK(alloc.stats().live_blocks == live);
}

TEST_CASE("Storage: the version counter is shared by every handle", "[core][storage]") {
  Storage a(16);
  CHECK(a.version() == 0);
  const Storage b = a;
  a.bump_version();
  CHECK(a.version() == 1);
  CHECK(b.version() == 1);
  b.bump_version();
  b.bump_version();
  CHECK(a.version() == 3);
  // A reused block starts over at version 0.
  a.reset();
  Storage c(16);
  CHECK(c.version() == 0);
}

TEST_CASE("CachingAllocator: 4 threads allocating and freeing mixed sizes keep the accounting exact",
          "[core][storage]") {
  auto& alloc = CachingAllocator::instance();
  const auto start = alloc.stats();
  constexpr int iterations = 10000;
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&alloc, &failures, t] {
      std::vector<std::pair<unsigned char*, std::size_t>> held;
      for (int i = 0; i < iterations; ++i) {
        const std::size_t bytes = 1 + static_cast<std::size_t>((i * 7919 + t * 104729) % 9000);
        auto* p = static_cast<unsigned char*>(alloc.allocate(bytes));
        if (reinterpret_cast<std::uintptr_t>(p) % 64 != 0) ++failures[static_cast<std::size_t>(t)];
        // Stamp the block so that two threads handed the same block would show.
        p[0] = static_cast<unsigned char>(t);
        p[bytes - 1] = static_cast<unsigned char>(t);
        held.emplace_back(p, bytes);
        if (held.size() > 8 || i % 3 == 0) {
          for (auto [q, n] : held) {
            if (q[0] != t || q[n - 1] != t) ++failures[static_cast<std::size_t>(t)];
            alloc.deallocate(q, n);
          }
          held.clear();
        }
        // Tensors go through the same allocator from every thread.
        if (i % 100 == 0) {
          const nabla::Tensor<float> x(nabla::Shape{static_cast<std::int64_t>(bytes % 50)});
          const nabla::Tensor<float> y = x;
          (void)y;
        }
      }
      for (auto [q, n] : held) alloc.deallocate(q, n);
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == std::vector<int>(4, 0));
  const auto end = alloc.stats();
  CHECK(end.live_blocks == start.live_blocks);
  CHECK(end.live_bytes == start.live_bytes);
  CHECK(end.hits + end.misses >= start.hits + start.misses + 4 * iterations);
}

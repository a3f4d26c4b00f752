// DataLoader: batch counts, each sample once per epoch, seeded orders,
// normalisation, flat batches, and prefetch giving identical batches.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "nabla/core/storage.hpp"
#include "nabla/data/loader.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::ValueError;
using nabla::data::Batch;
using nabla::data::DataLoader;
using nabla::data::ImageDataset;
using nabla::data::LoaderOptions;

namespace {

// n images of 2x3 pixels; pixel k of sample i is (i + 10 k) % 256, label i.
ImageDataset numbered(std::int64_t n) {
  Tensor<std::uint8_t> images = Tensor<std::uint8_t>::empty(Shape{n, 2, 3});
  Tensor<std::int64_t> labels = Tensor<std::int64_t>::empty(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t k = 0; k < 6; ++k) images.data()[i * 6 + k] = static_cast<std::uint8_t>((i + 10 * k) % 256);
    labels.data()[i] = i;
  }
  return ImageDataset(images, labels);
}

template <class T>
std::vector<Batch<T>> collect(DataLoader<T>& loader, std::int64_t epoch) {
  std::vector<Batch<T>> out;
  for (const auto& b : loader.epoch(epoch)) out.push_back(b);
  return out;
}

template <class T>
std::vector<std::int64_t> label_order(const std::vector<Batch<T>>& batches) {
  std::vector<std::int64_t> out;
  for (const auto& b : batches) {
    for (std::int64_t l : b.labels.to_vector()) out.push_back(l);
  }
  return out;
}

}  // namespace

TEST_CASE("DataLoader counts batches with and without drop_last", "[data][loader]") {
  const ImageDataset ds = numbered(10);
  DataLoader<float> keep(ds, {.batch_size = 4});
  CHECK(keep.num_batches() == 3);
  std::vector<std::int64_t> sizes;
  for (const auto& b : keep.epoch(0)) sizes.push_back(b.size());
  CHECK(sizes == std::vector<std::int64_t>{4, 4, 2});

  DataLoader<float> drop(ds, {.batch_size = 4, .drop_last = true});
  CHECK(drop.num_batches() == 2);
  CHECK(collect(drop, 0).size() == 2);

  DataLoader<float> exact(ds, {.batch_size = 5, .drop_last = true});
  CHECK(exact.num_batches() == 2);
  DataLoader<float> big(ds, {.batch_size = 64, .drop_last = true});
  CHECK(big.num_batches() == 0);
  CHECK(collect(big, 0).empty());
  DataLoader<float> none(numbered(0), {.batch_size = 3});
  CHECK(none.num_batches() == 0);
  CHECK(collect(none, 0).empty());
}

TEST_CASE("DataLoader visits every sample exactly once per epoch, images matching labels", "[data][loader]") {
  const ImageDataset ds = numbered(103);
  for (bool prefetch : {false, true}) {
    DataLoader<double> loader(ds, {.batch_size = 8, .seed = 42, .prefetch = prefetch});
    for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
      const auto batches = collect(loader, epoch);
      REQUIRE(batches.size() == 13);
      std::vector<std::int64_t> seen;
      for (std::size_t b = 0; b < batches.size(); ++b) {
        const auto& batch = batches[b];
        CHECK(batch.index == static_cast<std::int64_t>(b));
        CHECK(batch.images.shape() == Shape{batch.size(), 1, 2, 3});
        for (std::int64_t i = 0; i < batch.size(); ++i) {
          const std::int64_t sample = batch.labels(i);
          seen.push_back(sample);
          for (std::int64_t k = 0; k < 6; ++k) {
            CHECK(batch.images(i, 0, k / 3, k % 3) == static_cast<double>((sample + 10 * k) % 256) / 255.0);
          }
        }
      }
      std::sort(seen.begin(), seen.end());
      std::vector<std::int64_t> all(103);
      for (std::int64_t i = 0; i < 103; ++i) all[static_cast<std::size_t>(i)] = i;
      CHECK(seen == all);
    }
  }
}

TEST_CASE("DataLoader orders depend only on seed and epoch", "[data][loader]") {
  const ImageDataset ds = numbered(50);
  DataLoader<float> a(ds, {.batch_size = 7, .seed = 1});
  DataLoader<float> b(ds, {.batch_size = 7, .seed = 1});
  DataLoader<float> c(ds, {.batch_size = 7, .seed = 2});
  const auto a0 = label_order(collect(a, 0));
  const auto a1 = label_order(collect(a, 1));
  CHECK(label_order(collect(b, 1)) == a1);  // any epoch, in any order of calls
  CHECK(label_order(collect(b, 0)) == a0);
  CHECK(label_order(collect(a, 0)) == a0);  // repeatable
  CHECK(a0 != a1);
  CHECK(label_order(collect(c, 0)) != a0);
  std::vector<std::int64_t> identity(50);
  for (std::int64_t i = 0; i < 50; ++i) identity[static_cast<std::size_t>(i)] = i;
  CHECK(a0 != identity);
  DataLoader<float> plain(ds, {.batch_size = 7, .shuffle = false});
  CHECK(label_order(collect(plain, 0)) == identity);
  CHECK(label_order(collect(plain, 5)) == identity);
  CHECK(a.order().size() == 50);
}

TEMPLATE_TEST_CASE("DataLoader normalises as ToTensor + Normalize do", "[data][loader]", float, double) {
  Tensor<std::uint8_t> images(Shape{1, 1, 4}, {0, 1, 128, 255});
  const ImageDataset ds(images, Tensor<std::int64_t>(Shape{1}, {3}));
  DataLoader<TestType> raw(ds, {.batch_size = 1});
  const auto r = collect(raw, 0).at(0);
  CHECK(r.images.to_vector() ==
        std::vector<TestType>{TestType(0), TestType(1) / TestType(255), TestType(128) / TestType(255), TestType(1)});
  CHECK(r.labels.to_vector() == std::vector<std::int64_t>{3});

  DataLoader<TestType> norm(ds, {.batch_size = 1, .mean = 0.1307, .stddev = 0.3081});
  const auto n = collect(norm, 0).at(0).images.to_vector();
  const double expected[] = {-0.4242129179, -0.4114846848, 1.2050009228, 2.8214865303};
  const double tol = std::is_same_v<TestType, float> ? 1e-6 : 1e-8;
  for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(static_cast<double>(n[i]) - expected[i]) < tol);
  // Bit for bit the float steps of torchvision: (x / 255 - mean) / std.
  const TestType x = TestType(128) / TestType(255);
  CHECK(n[2] == (x - TestType(0.1307)) / TestType(0.3081));
}

TEST_CASE("DataLoader flattens images for MLPs", "[data][loader]") {
  DataLoader<float> loader(numbered(5), {.batch_size = 2, .shuffle = false, .flatten = true});
  const auto batches = collect(loader, 0);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0].images.shape() == Shape{2, 6});
  CHECK(batches[2].images.shape() == Shape{1, 6});
  CHECK(batches[1].images(1, 5) == static_cast<float>(53) / 255.0f);
}

TEST_CASE("DataLoader with prefetch gives the same batches as without", "[data][loader][prefetch]") {
  const ImageDataset ds = numbered(77);
  for (bool drop_last : {false, true}) {
    for (std::int64_t depth : {1, 2, 4, 7, 20}) {  // 20: more than the epoch's 7-8 batches
    INFO("drop_last " << drop_last << ", prefetch_depth " << depth);
    DataLoader<float> sync(ds, {.batch_size = 10, .seed = 9, .drop_last = drop_last, .mean = 0.5, .stddev = 0.25});
    DataLoader<float> async(ds, {.batch_size = 10, .seed = 9, .drop_last = drop_last, .mean = 0.5, .stddev = 0.25,
                                 .prefetch = true, .prefetch_depth = depth});
    for (std::int64_t epoch : {0, 1, 2, 1}) {
      const auto s = collect(sync, epoch);
      const auto a = collect(async, epoch);
      REQUIRE(s.size() == a.size());
      for (std::size_t b = 0; b < s.size(); ++b) {
        CHECK(s[b].images.to_vector() == a[b].images.to_vector());
        CHECK(s[b].labels.to_vector() == a[b].labels.to_vector());
      }
    }
    }
  }
}

TEST_CASE("DataLoader's next() API matches the range API, and epochs can restart", "[data][loader][prefetch]") {
  const ImageDataset ds = numbered(30);
  for (bool prefetch : {false, true}) {
    DataLoader<float> loader(ds, {.batch_size = 4, .seed = 3, .prefetch = prefetch});
    const auto expected = label_order(collect(loader, 2));
    loader.begin_epoch(2);
    std::vector<std::int64_t> got;
    while (auto b = loader.next()) {
      for (std::int64_t l : b->labels.to_vector()) got.push_back(l);
    }
    CHECK(got == expected);
    CHECK_FALSE(loader.next().has_value());  // stays at the end
    // Abandon an epoch half way and start another.
    loader.begin_epoch(0);
    (void)loader.next();
    (void)loader.next();
    CHECK(label_order(collect(loader, 2)) == expected);
    // Destroyed half way through an epoch with a batch in flight: joins cleanly.
    loader.begin_epoch(1);
    (void)loader.next();
  }
}

TEST_CASE("a slow consumer gets every batch in order while the worker sleeps on a full queue",
          "[data][loader][prefetch]") {
  const ImageDataset ds = numbered(45);
  DataLoader<float> sync(ds, {.batch_size = 2, .seed = 5});
  const auto expected = label_order(collect(sync, 3));
  for (std::int64_t depth : {1, 3, 8}) {
    INFO("prefetch_depth " << depth);
    DataLoader<float> loader(ds, {.batch_size = 2, .seed = 5, .prefetch = true, .prefetch_depth = depth});
    loader.begin_epoch(3);
    std::vector<std::int64_t> got;
    std::int64_t taken = 0;
    while (auto b = loader.next()) {
      // Long enough for the worker to fill the queue and go to sleep; at
      // depth 3 and 8 it naps, timed from this pace. After 10 batches the
      // consumer stops waiting, so the last nap runs long and next() has
      // to wake the worker.
      if (++taken <= 10) std::this_thread::sleep_for(std::chrono::microseconds(taken % 3 == 0 ? 1500 : 300));
      for (std::int64_t l : b->labels.to_vector()) got.push_back(l);
    }
    CHECK(got == expected);
    // A restart while the worker sleeps on a full queue.
    loader.begin_epoch(4);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK(label_order(collect(loader, 3)) == expected);
  }
}

TEST_CASE("the prefetch thread naps until about half the queue should be left", "[data][loader][prefetch]") {
  using nabla::data::detail::prefetch_nap;
  using ns = std::chrono::nanoseconds;
  const ns pace(1000000);
  CHECK(prefetch_nap(pace, 8, 8) == 4 * pace);  // wake with 4 left
  CHECK(prefetch_nap(pace, 31, 31) == 16 * pace);
  CHECK(prefetch_nap(pace, 6, 8) == 2 * pace);
  CHECK(prefetch_nap(pace, 4, 8) == ns(0));
  CHECK(prefetch_nap(pace, 3, 3) == pace);  // at least 2 left
  // Nothing to time a nap from, or too few queued: wait to be woken.
  CHECK(prefetch_nap(ns(0), 8, 8) == ns(0));
  CHECK(prefetch_nap(pace, 2, 2) == ns(0));
  CHECK(prefetch_nap(pace, 1, 1) == ns(0));
}

TEST_CASE("a batch stays valid after the loader moves on", "[data][loader]") {
  DataLoader<float> loader(numbered(6), {.batch_size = 2, .shuffle = false, .prefetch = true});
  loader.begin_epoch(0);
  const auto first = loader.next();
  const auto second = loader.next();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->labels.to_vector() == std::vector<std::int64_t>{0, 1});
  CHECK(second->labels.to_vector() == std::vector<std::int64_t>{2, 3});
  CHECK_FALSE(first->images.storage().same_as(second->images.storage()));
}

TEST_CASE("an error in the prefetch thread is rethrown by next()", "[data][loader][prefetch][errors]") {
  for (bool prefetch : {false, true}) {
    DataLoader<float> loader(numbered(20), {.batch_size = 4, .prefetch = prefetch});
    nabla::data::detail::LoaderTestAccess::fail_at_batch(loader, 2);
    loader.begin_epoch(0);
    CHECK(loader.next());
    CHECK(loader.next());
    CHECK_THROWS_AS(loader.next(), nabla::IOError);
    if (prefetch) {
      CHECK_FALSE(loader.next().has_value());  // the epoch ended with the error
    }
    nabla::data::detail::LoaderTestAccess::fail_at_batch(loader, -1);
    CHECK(collect(loader, 1).size() == 5);  // the next epoch works
  }
}

TEST_CASE("steady-state epochs draw their batches from the allocator's cache", "[data][loader]") {
  const ImageDataset ds = numbered(100);
  for (bool prefetch : {false, true}) {
    INFO("prefetch " << prefetch);
    DataLoader<float> loader(ds, {.batch_size = 16, .seed = 4, .prefetch = prefetch});
    for (const auto& b : loader.epoch(0)) (void)b;
    const auto before = nabla::allocator_stats();
    std::int64_t batches = 0;
    for (std::int64_t epoch = 1; epoch <= 4; ++epoch) {
      for (const auto& b : loader.epoch(epoch)) batches += b.size() > 0;
    }
    const auto after = nabla::allocator_stats();
    CHECK(batches == 28);
    // Without prefetch every block is reused. With it, how many batches are
    // alive at once depends on timing (the one held, the one handed over, up
    // to prefetch_depth queued or being built), so a later epoch may add a
    // few blocks, never one per batch.
    const auto depth = static_cast<std::uint64_t>(nabla::data::LoaderOptions{}.prefetch_depth);
    CHECK(after.misses - before.misses <= (prefetch ? 2 * (depth + 2) : 0u));
    CHECK(after.hits + after.misses - before.hits - before.misses == 2 * 28);
  }
}

TEST_CASE("DataLoader refuses bad options and misuse", "[data][loader][errors]") {
  const ImageDataset ds = numbered(4);
  CHECK_THROWS_AS(DataLoader<float>(ds, {.batch_size = 0}), ValueError);
  CHECK_THROWS_WITH(DataLoader<float>(ds, {.batch_size = 0}), "DataLoader: batch_size must be at least 1, got 0");
  CHECK_THROWS_WITH(DataLoader<float>(ds, {.stddev = 0.0}),
                    "DataLoader: normalisation needs a finite mean and a positive stddev, got mean 0 and stddev 0");
  CHECK_THROWS_WITH(DataLoader<float>(ds, {.mean = std::nan("")}), Catch::Contains("finite mean"));
  CHECK_THROWS_WITH(DataLoader<float>(ds, {.prefetch = true, .prefetch_depth = 0}),
                    "DataLoader: prefetch_depth must be at least 1, got 0");
  DataLoader<float> loader(ds, {.batch_size = 2});
  CHECK_THROWS_WITH(loader.next(), "DataLoader::next: no epoch has begun; call begin_epoch(e) or use epoch(e)");
  CHECK_THROWS_WITH(loader.begin_epoch(-1), "DataLoader::begin_epoch: epoch must be non-negative, got -1");
}

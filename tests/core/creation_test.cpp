// Tests for the factories (zeros, ones, full, arange, linspace, eye, rand,
// randn, randint, *_like) and for Generator and the default generators.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "nabla/core/creation.hpp"
#include "nabla/core/random.hpp"

using nabla::Generator;
using nabla::Shape;
using nabla::Tensor;

namespace core_creation_test {

struct Moments {
  double mean = 0.0;
  double stddev = 0.0;
};

template <class T>
Moments moments(const Tensor<T>& t) {
  double sum = 0.0;
  double sq = 0.0;
  for (T v : t.to_vector()) {
    sum += static_cast<double>(v);
    sq += static_cast<double>(v) * static_cast<double>(v);
  }
  const double n = static_cast<double>(t.numel());
  const double mean = sum / n;
  return {mean, std::sqrt(sq / n - mean * mean)};
}

}  // namespace core_creation_test

TEST_CASE("Creation: zeros, ones, full and empty", "[core][creation]") {
  const auto z = nabla::zeros<double>(Shape{2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.to_vector() == std::vector<double>(6, 0.0));
  const auto o = nabla::ones(Shape{4});  // float by default
  STATIC_REQUIRE(std::is_same_v<decltype(o), const Tensor<float>>);
  CHECK(o.to_vector() == std::vector<float>(4, 1.0f));
  const auto f = nabla::full(Shape{2, 2}, 2.5f);
  STATIC_REQUIRE(std::is_same_v<decltype(f), const Tensor<float>>);
  CHECK(f.to_vector() == std::vector<float>(4, 2.5f));
  const auto fi = nabla::full<std::int64_t>(Shape{3}, -7);
  CHECK(fi.to_vector() == std::vector<std::int64_t>{-7, -7, -7});
  const auto e = nabla::empty<double>(Shape{3, 0});
  CHECK(e.shape() == Shape{3, 0});
  CHECK(nabla::zeros(Shape{}).item() == 0.0f);
  CHECK(nabla::ones<float>(Shape{2, 0}).numel() == 0);
  CHECK_THROWS_AS(nabla::zeros(Shape{-2}), nabla::ValueError);
}

TEST_CASE("Creation: arange with integer, fractional and negative steps", "[core][creation]") {
  CHECK(nabla::arange<float>(5).to_vector() == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(nabla::arange<float>(2, 5).to_vector() == std::vector<float>{2, 3, 4});
  CHECK(nabla::arange<float>(0, 1, 0.25f).to_vector() == std::vector<float>{0, 0.25f, 0.5f, 0.75f});
  CHECK(nabla::arange<float>(5, 0, -1.5f).to_vector() == std::vector<float>{5, 3.5f, 2, 0.5f});
  CHECK(nabla::arange<std::int64_t>(2, 11, 3).to_vector() == std::vector<std::int64_t>{2, 5, 8});
  CHECK(nabla::arange<std::int64_t>(10, 0, -3).to_vector() == std::vector<std::int64_t>{10, 7, 4, 1});
  CHECK(nabla::arange<std::int64_t>(-3, 0).to_vector() == std::vector<std::int64_t>{-3, -2, -1});

  // Like numpy/torch: 0, 0.1, ..., 0.9 (ten values, 1.0 excluded).
  const auto tenths = nabla::arange<double>(0.0, 1.0, 0.1);
  REQUIRE(tenths.numel() == 10);
  for (std::int64_t i = 0; i < 10; ++i) CHECK(tenths(i) == Approx(0.1 * static_cast<double>(i)).margin(1e-15));
  CHECK(nabla::arange<float>(0.0f, 1.0f, 0.1f).numel() == 10);

  // Empty ranges.
  CHECK(nabla::arange<float>(5, 0).numel() == 0);
  CHECK(nabla::arange<float>(3, 3).numel() == 0);
  CHECK(nabla::arange<float>(0, 5, -1).numel() == 0);
  CHECK(nabla::arange<float>(0).shape() == Shape{0});

  CHECK_THROWS_AS(nabla::arange<float>(0, 5, 0), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::arange<double>(0, 5, 0), "arange: step must not be zero");
  CHECK_THROWS_WITH(nabla::arange<std::int64_t>(0, 5, 0), "arange: step must not be zero");
}

TEST_CASE("Creation: linspace includes both ends", "[core][creation]") {
  CHECK(nabla::linspace<float>(0, 1, 5).to_vector() == std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1});
  CHECK(nabla::linspace<double>(1, -1, 3).to_vector() == std::vector<double>{1, 0, -1});
  CHECK(nabla::linspace<double>(2, 7, 1).to_vector() == std::vector<double>{2});
  CHECK(nabla::linspace<double>(2, 7, 0).numel() == 0);
  const auto l = nabla::linspace<double>(-1.0, 2.0, 7);
  REQUIRE(l.numel() == 7);
  for (std::int64_t i = 0; i < 7; ++i) CHECK(l(i) == Approx(-1.0 + 0.5 * static_cast<double>(i)));
  CHECK(l(6) == 2.0);
  CHECK_THROWS_AS(nabla::linspace<float>(0, 1, -1), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::linspace<float>(0, 1, -1), "linspace: steps must be non-negative, got -1");
}

TEST_CASE("Creation: eye is the identity", "[core][creation]") {
  CHECK(nabla::eye<double>(3).to_vector() == std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(nabla::eye(1).to_vector() == std::vector<float>{1});
  CHECK(nabla::eye(0).shape() == Shape{0, 0});
  CHECK(nabla::eye<std::int64_t>(2).to_vector() == std::vector<std::int64_t>{1, 0, 0, 1});
  CHECK_THROWS_AS(nabla::eye(-1), nabla::ValueError);
}

TEMPLATE_TEST_CASE("Creation: rand is uniform from low up to (not including) high and reproducible", "[core][creation]", float, double) {
  Generator gen(1234);
  const auto u = nabla::rand<TestType>(Shape{200, 500}, gen);
  const auto v = u.to_vector();
  CHECK(*std::min_element(v.begin(), v.end()) >= TestType{0});
  CHECK(*std::max_element(v.begin(), v.end()) < TestType{1});
  const auto m = core_creation_test::moments(u);
  CHECK(m.mean == Approx(0.5).margin(0.01));
  CHECK(m.stddev == Approx(std::sqrt(1.0 / 12.0)).margin(0.01));

  const auto r = nabla::rand<TestType>(Shape{10000}, gen, TestType{-2}, TestType{3});
  const auto rv = r.to_vector();
  CHECK(*std::min_element(rv.begin(), rv.end()) >= TestType{-2});
  CHECK(*std::max_element(rv.begin(), rv.end()) < TestType{3});
  CHECK(*std::min_element(rv.begin(), rv.end()) < TestType{-1.9});
  CHECK(*std::max_element(rv.begin(), rv.end()) > TestType{2.9});

  Generator a(42);
  Generator b(42);
  Generator c(43);
  const auto ra = nabla::rand<TestType>(Shape{64}, a);
  CHECK(ra.to_vector() == nabla::rand<TestType>(Shape{64}, b).to_vector());
  CHECK(ra.to_vector() != nabla::rand<TestType>(Shape{64}, c).to_vector());
  // The generator advances: the next draw differs.
  CHECK(nabla::rand<TestType>(Shape{64}, a).to_vector() != ra.to_vector());

  // Through the default generator.
  nabla::manual_seed(7);
  const auto d1 = nabla::rand<TestType>(Shape{16});
  nabla::manual_seed(7);
  CHECK(nabla::rand<TestType>(Shape{16}).to_vector() == d1.to_vector());
}

TEST_CASE("Creation: rand<float> never returns the upper bound", "[core][creation]") {
  // With this seed the first double drawn is 1 - 2.45e-8, which rounds to 1.0f.
  Generator gen(39061301);
  CHECK(static_cast<float>(Generator(39061301).uniform()) == 1.0f);
  const float x = nabla::rand<float>(Shape{1}, gen).item();
  CHECK(x < 1.0f);
  CHECK(x > 0.999f);
}

TEMPLATE_TEST_CASE("Creation: randn has mean 0 and standard deviation 1", "[core][creation]", float, double) {
  Generator gen(2024);
  const auto n = nabla::randn<TestType>(Shape{100000}, gen);
  const auto m = core_creation_test::moments(n);
  CHECK(m.mean == Approx(0.0).margin(0.02));
  CHECK(m.stddev == Approx(1.0).margin(0.02));
  for (TestType v : n.to_vector()) {
    if (!std::isfinite(static_cast<double>(v))) FAIL("randn produced " << v);
  }

  const auto s = nabla::randn<TestType>(Shape{100000}, gen, TestType{5}, TestType{2});
  const auto ms = core_creation_test::moments(s);
  CHECK(ms.mean == Approx(5.0).margin(0.04));
  CHECK(ms.stddev == Approx(2.0).margin(0.04));

  Generator a(9);
  Generator b(9);
  CHECK(nabla::randn<TestType>(Shape{33}, a).to_vector() == nabla::randn<TestType>(Shape{33}, b).to_vector());
  nabla::manual_seed(11);
  const auto d1 = nabla::randn<TestType>(Shape{5});
  nabla::manual_seed(11);
  CHECK(nabla::randn<TestType>(Shape{5}).to_vector() == d1.to_vector());
}

TEST_CASE("Creation: randint draws every value from low to high - 1 and rejects empty ranges", "[core][creation]") {
  Generator gen(5);
  const auto r = nabla::randint<std::int64_t>(0, 10, Shape{2000}, gen);
  CHECK(r.shape() == Shape{2000});
  const auto v = r.to_vector();
  const std::set<std::int64_t> seen(v.begin(), v.end());
  CHECK(seen.size() == 10);
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == 9);

  const auto neg = nabla::randint<std::int64_t>(-5, -2, Shape{500}, gen).to_vector();
  const std::set<std::int64_t> seen_neg(neg.begin(), neg.end());
  CHECK(seen_neg == std::set<std::int64_t>{-5, -4, -3});
  CHECK(nabla::randint<std::int64_t>(3, 4, Shape{8}, gen).to_vector() == std::vector<std::int64_t>(8, 3));
  const auto f = nabla::randint<float>(0, 4, Shape{100}, gen).to_vector();
  for (float x : f) CHECK((x == 0.0f || x == 1.0f || x == 2.0f || x == 3.0f));

  Generator a(77);
  Generator b(77);
  CHECK(nabla::randint<std::int64_t>(0, 1000, Shape{20}, a).to_vector() ==
        nabla::randint<std::int64_t>(0, 1000, Shape{20}, b).to_vector());

  CHECK_THROWS_AS(nabla::randint<std::int64_t>(3, 3, Shape{2}, gen), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::randint<std::int64_t>(3, 3, Shape{2}, gen), "randint: empty range [3, 3)");
  CHECK_THROWS_WITH(nabla::randint<std::int64_t>(5, 1, Shape{2}, gen), "randint: empty range [5, 1)");
}

TEST_CASE("Creation: *_like factories copy the shape, not the layout or values", "[core][creation]") {
  const Tensor<double> base(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const auto like = base.t();  // [3, 2], strided
  const auto z = nabla::zeros_like(like);
  CHECK(z.shape() == Shape{3, 2});
  CHECK(z.is_contiguous());
  CHECK(z.to_vector() == std::vector<double>(6, 0.0));
  CHECK(nabla::ones_like(like).to_vector() == std::vector<double>(6, 1.0));
  const auto f = nabla::full_like(base, 2.5);
  CHECK(f.shape() == Shape{2, 3});
  CHECK(f.to_vector() == std::vector<double>(6, 2.5));
  const auto e = nabla::empty_like(like);
  CHECK(e.shape() == Shape{3, 2});
  CHECK_FALSE(e.storage().same_as(base.storage()));
  CHECK(base.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("Generator: manual_seed restarts the sequence, including the normal spare", "[core][creation]") {
  Generator g(123);
  CHECK(g.initial_seed() == 123);
  std::vector<std::uint64_t> first;
  for (int i = 0; i < 8; ++i) first.push_back(g.next_u64());
  g.manual_seed(123);
  for (int i = 0; i < 8; ++i) CHECK(g.next_u64() == first[static_cast<std::size_t>(i)]);
  g.manual_seed(124);
  CHECK(g.initial_seed() == 124);
  CHECK(g.next_u64() != first[0]);

  // One normal() leaves a spare; reseeding must drop it.
  g.manual_seed(3);
  (void)g.normal();
  g.manual_seed(3);
  Generator fresh(3);
  CHECK(g.normal() == fresh.normal());
  CHECK(g.normal() == fresh.normal());

  // Default-constructed generators agree with each other.
  Generator d1;
  Generator d2;
  CHECK(d1.next_u64() == d2.next_u64());
}

TEST_CASE("Generator: below(n) stays below n and uniform() below 1", "[core][creation]") {
  Generator g(99);
  for (int i = 0; i < 1000; ++i) CHECK(g.below(1) == 0);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto b = g.below(7);
    REQUIRE(b < 7);
    ++counts[b];
  }
  for (int c : counts) CHECK(c == Approx(10000).margin(500));
  const std::uint64_t big = std::uint64_t{1} << 40;
  std::uint64_t max_seen = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto b = g.below(big);
    REQUIRE(b < big);
    max_seen = std::max(max_seen, b);
  }
  CHECK(max_seen > big / 2);

  double lo = 1.0;
  double hi = 0.0;
  double sum = 0.0;
  for (int i = 0; i < 100000; ++i) {
    const double u = g.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  CHECK(lo < 1e-3);
  CHECK(hi > 1.0 - 1e-3);
  CHECK(sum / 100000.0 == Approx(0.5).margin(0.01));
  for (int i = 0; i < 1000; ++i) {
    const double u = g.uniform(-3.0, -1.0);
    REQUIRE(u >= -3.0);
    REQUIRE(u < -1.0);
  }
  const double n = g.normal(10.0, 0.0);
  CHECK(n == 10.0);
}

TEST_CASE("Generator: each thread has its own default generator", "[core][creation]") {
  nabla::manual_seed(9);
  Generator reference(9);
  CHECK(nabla::default_generator().initial_seed() == 9);
  CHECK(nabla::default_generator().next_u64() == reference.next_u64());

  std::uint64_t other_first = 0;
  std::uint64_t other_seeded = 0;
  const Generator* other_address = nullptr;
  std::thread worker([&] {
    // A new thread starts from the default seed, not from this thread's state.
    other_first = nabla::default_generator().next_u64();
    nabla::manual_seed(1);  // must not disturb the main thread's generator
    other_seeded = nabla::default_generator().next_u64();
    other_address = &nabla::default_generator();
  });
  worker.join();
  CHECK(other_first == Generator().next_u64());
  CHECK(other_seeded == Generator(1).next_u64());
  CHECK(other_address != &nabla::default_generator());

  // The main thread's sequence carries on undisturbed.
  CHECK(nabla::default_generator().next_u64() == reference.next_u64());
  CHECK(nabla::default_generator().initial_seed() == 9);
}

// Tests for ops/sort.hpp (sort, argsort, topk, unique, repeat, tile, norm,
// one_hot, randperm, meshgrid) and for the factories and arg-reductions it
// sits beside (linspace, eye, argmax, argmin), against tests/fixtures/sort.json.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "../support/fixture.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/core/random.hpp"
#include "nabla/ops/reduce.hpp"
#include "nabla/ops/sort.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::testing::require_close;

namespace {

const nabla::testing::FixtureCase sort_case(const std::string& name) {
  return nabla::testing::fixture("sort").get(name);
}

// p of a norm case: a number, or "inf" / "-inf".
double sort_norm_p(const nabla::testing::FixtureCase& c) {
  const auto& p = c.json().at("p");
  if (p.is_number()) return p.get<double>();
  return p.get<std::string>() == "inf" ? std::numeric_limits<double>::infinity()
                                       : -std::numeric_limits<double>::infinity();
}

template <class T>
void sort_check_sort_cases(const std::string& dtype) {
  int checked = 0;
  for (const char* axis : {"-1", "0"}) {
    for (const char* desc : {"0", "1"}) {
      const std::string name = "f_sort_" + dtype + "_axis" + axis + "_desc" + desc;
      INFO("case " << name);
      const auto c = sort_case(name);
      const auto r = nabla::sort(c.tensor<T>("x"), c.integer("axis"), c.integer("descending") == 1);
      require_close(r.values, c.tensor<double>("values"), 0.0, 0.0);
      require_close(r.indices, c.tensor<std::int64_t>("indices"), 0.0, 0.0);
      CHECK(nabla::argsort(c.tensor<T>("x"), c.integer("axis"), c.integer("descending") == 1).to_vector() ==
            r.indices.to_vector());
      ++checked;
    }
  }
  CHECK(checked == 4);
}

template <class T>
void sort_check_topk_cases(const std::string& dtype) {
  int checked = 0;
  for (const auto& name : nabla::testing::fixture("sort").names()) {
    if (name.rfind("f_topk_" + dtype + "_", 0) != 0) continue;
    INFO("case " << name);
    const auto c = sort_case(name);
    const auto r = nabla::topk(c.tensor<T>("x"), c.integer("k"), c.integer("axis"), c.integer("largest") == 1);
    require_close(r.values, c.tensor<double>("values"), 0.0, 0.0);
    require_close(r.indices, c.tensor<std::int64_t>("indices"), 0.0, 0.0);
    ++checked;
  }
  CHECK(checked == 5);
}

template <class T>
void sort_check_unique_case(const std::string& dtype) {
  const auto c = sort_case("f_unique_" + dtype);
  const Tensor<T> x = c.tensor<T>("x");
  const auto u = nabla::unique(x);
  require_close(u.values, c.tensor<double>("values"), 0.0, 0.0);
  require_close(u.inverse, c.tensor<std::int64_t>("inverse"), 0.0, 0.0);
  require_close(u.counts, c.tensor<std::int64_t>("counts"), 0.0, 0.0);
  // Unsorted: the same values in order of first appearance.
  const auto v = nabla::unique(x, false);
  const std::vector<T> flat = x.to_vector();
  std::vector<T> first_seen;
  for (T value : flat) {
    if (std::find(first_seen.begin(), first_seen.end(), value) == first_seen.end()) first_seen.push_back(value);
  }
  CHECK(v.values.to_vector() == first_seen);
  for (std::size_t i = 0; i < flat.size(); ++i) {
    CHECK(v.values.data()[v.inverse.data()[i]] == flat[i]);
  }
  CHECK(v.inverse.shape() == x.shape());
  std::int64_t total = 0;
  for (std::int64_t n : v.counts.to_vector()) total += n;
  CHECK(total == x.numel());
}

template <class T>
void sort_check_norm_cases(const std::string& dtype) {
  int checked = 0;
  for (const auto& name : nabla::testing::fixture("sort").names()) {
    if (name.rfind("f_norm_" + dtype + "_", 0) != 0) continue;
    INFO("case " << name);
    const auto c = sort_case(name);
    const Tensor<T> x = c.tensor<T>("x");
    Tensor<T> got;
    if (name.find("_fro_all") != std::string::npos) {
      got = nabla::norm(x, "fro");
    } else if (name.find("_fro_axes01") != std::string::npos) {
      got = nabla::norm(x, "fro", Shape{0, 1});
    } else if (name.find("_all") != std::string::npos) {
      got = nabla::norm(x, sort_norm_p(c));
    } else if (name.find("_axes02_keep") != std::string::npos) {
      got = nabla::norm(x, sort_norm_p(c), Shape{0, 2}, true);
    } else {
      got = nabla::norm(x, sort_norm_p(c), -1);
    }
    require_close(got, c.tensor<double>("out"), std::is_same_v<T, float> ? 1e-5 : 1e-12, 1e-7);
    ++checked;
  }
  CHECK(checked == 23);
}

template <class T>
void sort_check_linspace(const std::string& dtype) {
  int checked = 0;
  for (const auto& name : nabla::testing::fixture("sort").names()) {
    if (name.rfind("f_linspace_" + dtype + "_", 0) != 0) continue;
    INFO("case " << name);
    const auto c = sort_case(name);
    const Tensor<T> got = nabla::linspace<T>(static_cast<T>(c.integer("start")), static_cast<T>(c.integer("end")),
                                             c.integer("steps"));
    // torch's vectorised float path may round the inner points differently
    // by an ulp; the ends are exact.
    require_close(got, c.tensor<double>("out"), std::is_same_v<T, float> ? 2e-7 : 1e-15, 0.0);
    if (got.numel() > 0) {
      CHECK(got.data()[0] == static_cast<T>(c.integer("start")));
      if (got.numel() > 1) CHECK(got.data()[got.numel() - 1] == static_cast<T>(c.integer("end")));
    }
    ++checked;
  }
  CHECK(checked == 7);
}

}  // namespace

TEST_CASE("sort: floats against PyTorch (NaN last, -0.0, ties stable)", "[ops][sort]") {
  sort_check_sort_cases<float>("float32");
  sort_check_sort_cases<double>("float64");
}

TEST_CASE("sort: integer dtypes against PyTorch, ties in input order", "[ops][sort]") {
  sort_check_sort_cases<std::int64_t>("int64");
  sort_check_sort_cases<std::uint8_t>("uint8");
  sort_check_sort_cases<std::int32_t>("int32");
  for (const char* dtype : {"int64", "uint8", "int32"}) {
    INFO("dtype " << dtype);
    const auto c = sort_case(std::string("f_argsort_") + dtype);
    const Tensor<std::int64_t> got = dtype == std::string("uint8")
                                         ? nabla::argsort(c.tensor<std::uint8_t>("x"), 0, true)
                                         : nabla::argsort(c.tensor<std::int64_t>("x"), 0, true);
    require_close(got, c.tensor<std::int64_t>("indices"), 0.0, 0.0);
  }
  const auto c3 = sort_case("f_argsort_3d_axis1");
  require_close(nabla::argsort(c3.tensor<double>("x"), 1), c3.tensor<std::int64_t>("indices"), 0.0, 0.0);
}

TEST_CASE("sort: non-contiguous views, 0-d and zero-size tensors, errors", "[ops][sort]") {
  for (const char* dtype : {"float32", "float64"}) {
    const auto c = sort_case(std::string("f_sort_") + dtype + "_view");
    const Tensor<double> x = c.tensor<double>("x");
    const auto r = nabla::sort(x.t(), 1);
    REQUIRE_FALSE(x.t().is_contiguous());
    require_close(r.values, c.tensor<double>("values"), 0.0, 0.0);
    require_close(r.indices, c.tensor<std::int64_t>("indices"), 0.0, 0.0);
  }
  // A slice with a step.
  const Tensor<float> s = nabla::tensor<float>({5, 1, 4, 2, 3, 0}).slice(0, 0, 6, 2);  // 5, 4, 3
  CHECK(nabla::sort(s).values.to_vector() == std::vector<float>{3, 4, 5});
  CHECK(nabla::sort(s).indices.to_vector() == std::vector<std::int64_t>{2, 1, 0});
  // 0-d: itself at index 0, along axis 0 or -1.
  const auto r0 = nabla::sort(Tensor<double>::scalar(2.5), 0);
  CHECK(r0.values.ndim() == 0);
  CHECK(r0.values.item() == 2.5);
  CHECK(r0.indices.item() == 0);
  // Zero-size: shapes kept.
  const auto e = nabla::sort(Tensor<float>(Shape{3, 0}), 1);
  CHECK(e.values.shape() == Shape{3, 0});
  CHECK(e.indices.shape() == Shape{3, 0});
  CHECK(nabla::sort(Tensor<float>(Shape{0, 4}), 1).values.shape() == Shape{0, 4});
  CHECK_THROWS_AS(nabla::sort(Tensor<float>(Shape{2, 3}), 2), nabla::IndexError);
  CHECK_THROWS_WITH(nabla::sort(Tensor<float>(Shape{2, 3}), -3), Catch::StartsWith("sort: axis -3 is out of range"));
  CHECK_THROWS_WITH(nabla::argsort(Tensor<float>(Shape{2, 3}), 5), Catch::StartsWith("sort: axis 5"));
}

TEST_CASE("topk: every dtype against PyTorch", "[ops][sort]") {
  sort_check_topk_cases<float>("float32");
  sort_check_topk_cases<double>("float64");
  sort_check_topk_cases<std::int64_t>("int64");
  sort_check_topk_cases<std::uint8_t>("uint8");
  sort_check_topk_cases<std::int32_t>("int32");
  const auto c = sort_case("f_topk_nan");  // NaN is the largest; ties go to the lower index
  const auto r = nabla::topk(c.tensor<double>("x"), 2);
  require_close(r.values, c.tensor<double>("values"), 0.0, 0.0);
  require_close(r.indices, c.tensor<std::int64_t>("indices"), 0.0, 0.0);
}

TEST_CASE("topk: views, k = 0, zero-size, 0-d and errors naming the shape", "[ops][sort]") {
  const Tensor<double> x({{1, 5, 2}, {7, 0, 3}});
  const auto v = nabla::topk(x.t(), 1, 1);  // rows of x.t(): [1, 7], [5, 0], [2, 3]
  CHECK(v.values.to_vector() == std::vector<double>{7, 5, 3});
  CHECK(v.indices.to_vector() == std::vector<std::int64_t>{1, 0, 1});
  // Ties: the lower index first, like a stable sort (PyTorch leaves their
  // order unspecified; its values agree).
  const auto tie = nabla::topk(nabla::tensor<double>({2, 2, 0.5, 2}), 3);
  CHECK(tie.values.to_vector() == std::vector<double>{2, 2, 2});
  CHECK(tie.indices.to_vector() == std::vector<std::int64_t>{0, 1, 3});
  CHECK(nabla::topk(nabla::tensor<double>({2, 2, 0.5, 2}), 2, -1, false).indices.to_vector() ==
        std::vector<std::int64_t>{2, 0});
  CHECK(nabla::topk(x, 0).values.shape() == Shape{2, 0});
  CHECK(nabla::topk(Tensor<float>(Shape{0, 3}), 2).values.shape() == Shape{0, 2});
  CHECK(nabla::topk(Tensor<float>(Shape{2, 0}), 0).indices.shape() == Shape{2, 0});
  CHECK(nabla::topk(Tensor<double>::scalar(4.0), 1).values.item() == 4.0);
  CHECK_THROWS_AS(nabla::topk(x, 4), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::topk(x, 4), Catch::StartsWith("topk: k = 4 is out of range for axis -1 of shape [2, 3]"));
  CHECK_THROWS_WITH(nabla::topk(x, 3, 0), Catch::StartsWith("topk: k = 3 is out of range for axis 0 of shape [2, 3]"));
  CHECK_THROWS_WITH(nabla::topk(x, -1), Catch::StartsWith("topk: k = -1"));
  CHECK_THROWS_WITH(nabla::topk(x, 1, 2), Catch::StartsWith("topk: axis 2 is out of range"));
}

TEST_CASE("unique: every dtype against PyTorch, sorted and in first-appearance order", "[ops][sort]") {
  sort_check_unique_case<std::int64_t>("int64");
  sort_check_unique_case<std::uint8_t>("uint8");
  sort_check_unique_case<std::int32_t>("int32");
  sort_check_unique_case<float>("float32");
  sort_check_unique_case<double>("float64");
}

TEST_CASE("unique: views, zero-size, 0-d and NaN", "[ops][sort]") {
  const Tensor<std::int64_t> x({{3, 1}, {1, 2}, {3, 3}});
  const auto u = nabla::unique(x.t());  // elements 3, 1, 3, 1, 2, 3
  CHECK(u.values.to_vector() == std::vector<std::int64_t>{1, 2, 3});
  CHECK(u.counts.to_vector() == std::vector<std::int64_t>{2, 1, 3});
  CHECK(u.inverse.shape() == Shape{2, 3});
  CHECK(u.inverse.to_vector() == std::vector<std::int64_t>{2, 0, 2, 0, 1, 2});
  const auto e = nabla::unique(Tensor<float>(Shape{2, 0}));
  CHECK(e.values.shape() == Shape{0});
  CHECK(e.counts.shape() == Shape{0});
  CHECK(e.inverse.shape() == Shape{2, 0});
  const auto s = nabla::unique(Tensor<double>::scalar(7.0));
  CHECK(s.values.to_vector() == std::vector<double>{7.0});
  CHECK(s.inverse.ndim() == 0);
  CHECK(s.inverse.item() == 0);
  // NaN equals nothing: each is its own value, after the numbers.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto n = nabla::unique(nabla::tensor<double>({2.0, nan, 1.0, nan, 2.0}));
  REQUIRE(n.values.numel() == 4);
  CHECK(n.values.data()[0] == 1.0);
  CHECK(n.values.data()[1] == 2.0);
  CHECK(std::isnan(n.values.data()[2]));
  CHECK(std::isnan(n.values.data()[3]));
  CHECK(n.inverse.to_vector() == std::vector<std::int64_t>{1, 2, 0, 3, 1});
  CHECK(n.counts.to_vector() == std::vector<std::int64_t>{1, 2, 1, 1});
}

TEST_CASE("repeat and tile against PyTorch", "[ops][sort]") {
  int checked = 0;
  for (const auto& name : nabla::testing::fixture("sort").names()) {
    const bool is_repeat = name.rfind("f_repeat_", 0) == 0;
    if (!is_repeat && name.rfind("f_tile_", 0) != 0) continue;
    INFO("case " << name);
    const auto c = sort_case(name);
    const Shape repeats(c.integers("repeats"));
    if (name == "f_repeat_int64") {
      require_close(nabla::repeat(c.tensor<std::int64_t>("x"), repeats), c.tensor<std::int64_t>("out"), 0.0, 0.0);
    } else if (is_repeat) {
      require_close(nabla::repeat(c.tensor<double>("x"), repeats), c.tensor<double>("out"), 0.0, 0.0);
      require_close(nabla::repeat(c.tensor<float>("x"), repeats), c.tensor<float>("out"), 0.0, 0.0);
    } else {
      require_close(nabla::tile(c.tensor<double>("x"), repeats), c.tensor<double>("out"), 0.0, 0.0);
    }
    ++checked;
  }
  CHECK(checked == 10);
}

TEST_CASE("repeat and tile: views, copies, uint8/int32, zero-size and errors", "[ops][sort]") {
  const Tensor<std::uint8_t> x({{1, 2}, {3, 4}});
  const Tensor<std::uint8_t> r = nabla::repeat(x.t(), Shape{1, 2});  // x.t() = [[1, 3], [2, 4]]
  CHECK(r.shape() == Shape{2, 4});
  CHECK(r.to_vector() == std::vector<std::uint8_t>{1, 3, 1, 3, 2, 4, 2, 4});
  const Tensor<std::int32_t> i32 = nabla::tile(nabla::tensor<std::int32_t>({7, 8}), Shape{2, 2});
  CHECK(i32.shape() == Shape{2, 4});
  CHECK(i32.to_vector() == std::vector<std::int32_t>{7, 8, 7, 8, 7, 8, 7, 8});
  // All-ones repeats still copy, as PyTorch: writing the result leaves x alone.
  const Tensor<float> f({{1, 2}, {3, 4}});
  const Tensor<float> same = nabla::repeat(f, Shape{1, 1});
  same.fill_(0.0f);
  CHECK(f.at({0, 0}) == 1.0f);
  CHECK(nabla::repeat(Tensor<float>(Shape{0, 3}), Shape{2, 2}).shape() == Shape{0, 6});
  CHECK(nabla::repeat(f, Shape{0, 2}).shape() == Shape{0, 4});
  CHECK(nabla::tile(Tensor<float>::scalar(3.0f), Shape{2}).to_vector() == std::vector<float>{3, 3});
  CHECK(nabla::tile(f, Shape{}).to_vector() == f.to_vector());
  CHECK_THROWS_AS(nabla::repeat(f, Shape{2}), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::repeat(f, Shape{2}), Catch::StartsWith("repeat: 1 repeats [2] given for a tensor of shape [2, 2]"));
  CHECK_THROWS_WITH(nabla::repeat(f, Shape{2, -1}), Catch::StartsWith("repeat: negative repeat in [2, -1]"));
  CHECK_THROWS_WITH(nabla::tile(f, Shape{-1}), Catch::StartsWith("tile: negative repeat in [1, -1]"));
}

TEST_CASE("norm: p = 1, 2, inf, -inf, 0, 3, 0.5 and fro against PyTorch", "[ops][sort]") {
  sort_check_norm_cases<float>("float32");
  sort_check_norm_cases<double>("float64");
}

TEST_CASE("norm: views, zero-size, integer refusal and bad arguments", "[ops][sort]") {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor<double> x({{3, 0}, {-4, 1}});
  CHECK(nabla::norm(x.t(), 2.0, Shape{1}).to_vector() == std::vector<double>{5.0, 1.0});
  CHECK(nabla::norm(x.t(), inf, 0).to_vector() == std::vector<double>{3.0, 4.0});
  CHECK(nabla::norm(x).item() == Approx(std::sqrt(26.0)));
  CHECK(nabla::norm(Tensor<float>(Shape{0, 3})).item() == 0.0f);
  CHECK(nabla::norm(Tensor<float>(Shape{0, 3}), 1.0, 0).shape() == Shape{3});
  CHECK_THROWS_WITH(nabla::norm(Tensor<float>(Shape{0, 3}), inf),
                    Catch::StartsWith("norm: cannot take the inf-norm of an empty tensor of shape [0, 3]"));
  CHECK_THROWS_WITH(nabla::norm(Tensor<float>(Shape{0, 3}), -inf, 0), Catch::StartsWith("norm: cannot take the -inf-norm"));
  CHECK_THROWS_AS(nabla::norm(Tensor<std::int64_t>(Shape{2, 3})), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::norm(Tensor<std::int64_t>(Shape{2, 3})),
                    Catch::StartsWith("norm: needs a floating-point tensor, got 64-bit integers of shape [2, 3]"));
  CHECK_THROWS_WITH(nabla::norm(Tensor<std::uint8_t>(Shape{4}), 1.0, 0), Catch::StartsWith("norm: needs a floating-point"));
  CHECK_THROWS_WITH(nabla::norm(Tensor<std::int32_t>(Shape{4}), "fro"), Catch::StartsWith("norm: needs a floating-point"));
  CHECK_THROWS_WITH(nabla::norm(x, "nuc"), Catch::StartsWith("norm: unknown norm \"nuc\""));
  CHECK_THROWS_WITH(nabla::norm(x, 2.0, 2), Catch::StartsWith("norm: axis 2 is out of range"));
  CHECK_THROWS_WITH(nabla::norm(x, 2.0, Shape{0, 0}), Catch::StartsWith("norm: axis 0 appears twice"));
}

TEST_CASE("one_hot against PyTorch, and its errors", "[ops][sort]") {
  for (const char* name : {"f_one_hot_infer", "f_one_hot_6"}) {
    INFO("case " << name);
    const auto c = sort_case(name);
    const Tensor<std::int64_t> labels = c.tensor<std::int64_t>("x");
    const Tensor<std::int64_t> got = std::string(name) == "f_one_hot_6" ? nabla::one_hot(labels, 6) : nabla::one_hot(labels);
    require_close(got, c.tensor<std::int64_t>("out"), 0.0, 0.0);
    require_close(nabla::one_hot(labels.t(), std::string(name) == "f_one_hot_6" ? 6 : got.shape()[2]),
                  c.tensor<std::int64_t>("out").permute(Shape{1, 0, 2}), 0.0, 0.0);
  }
  CHECK(nabla::one_hot(Tensor<std::int64_t>(Shape{0}), 3).shape() == Shape{0, 3});
  CHECK(nabla::one_hot(Tensor<std::int64_t>::scalar(2)).to_vector() == std::vector<std::int64_t>{0, 0, 1});
  CHECK_THROWS_WITH(nabla::one_hot(Tensor<std::int64_t>(Shape{0})), Catch::StartsWith("one_hot: cannot infer num_classes"));
  CHECK_THROWS_AS(nabla::one_hot(nabla::tensor<std::int64_t>({0, -1})), nabla::IndexError);
  CHECK_THROWS_WITH(nabla::one_hot(nabla::tensor<std::int64_t>({0, -1})),
                    Catch::StartsWith("one_hot: label -1 at element 1 of labels of shape [2]"));
  CHECK_THROWS_WITH(nabla::one_hot(nabla::tensor<std::int64_t>({0, 3}), 3),
                    Catch::StartsWith("one_hot: label 3 at element 1 of labels of shape [2] is out of range for num_classes = 3"));
  CHECK_THROWS_WITH(nabla::one_hot(nabla::tensor<std::int64_t>({0}), -2), Catch::StartsWith("one_hot: num_classes"));
}

TEST_CASE("randperm: a permutation, reproducible for a seed", "[ops][sort]") {
  nabla::Generator a(42), b(42), c(43);
  const Tensor<std::int64_t> p = nabla::randperm(50, a);
  REQUIRE(p.shape() == Shape{50});
  const std::vector<std::int64_t> v = p.to_vector();
  CHECK(std::set<std::int64_t>(v.begin(), v.end()).size() == 50);
  CHECK(*std::min_element(v.begin(), v.end()) == 0);
  CHECK(*std::max_element(v.begin(), v.end()) == 49);
  CHECK(nabla::randperm(50, b).to_vector() == v);
  CHECK(nabla::randperm(50, c).to_vector() != v);
  CHECK(nabla::randperm(50, a).to_vector() != v);  // the generator moved on
  std::vector<std::int64_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(v != identity);
  nabla::manual_seed(7);
  const auto d1 = nabla::randperm(10).to_vector();
  nabla::manual_seed(7);
  CHECK(nabla::randperm(10).to_vector() == d1);
  CHECK(nabla::randperm(0, a).shape() == Shape{0});
  CHECK(nabla::randperm(1, a).to_vector() == std::vector<std::int64_t>{0});
  CHECK_THROWS_WITH(nabla::randperm(-1, a), Catch::StartsWith("randperm: n must be non-negative, got -1"));
}

TEST_CASE("meshgrid: ij and xy against PyTorch, views, errors", "[ops][sort]") {
  for (const char* indexing : {"ij", "xy"}) {
    INFO("indexing " << indexing);
    const auto c = sort_case(std::string("f_meshgrid_") + indexing);
    const std::vector<Tensor<double>> in = {c.tensor<double>("a"), c.tensor<double>("b"), c.tensor<double>("c")};
    const auto out = indexing == std::string("ij") ? nabla::meshgrid(in) : nabla::meshgrid(in, indexing);
    REQUIRE(out.size() == 3);
    for (int i = 0; i < 3; ++i) require_close(out[i], c.tensor<double>("out" + std::to_string(i)), 0.0, 0.0);
  }
  const Tensor<float> a = nabla::tensor<float>({1, 2, 3, 4}).slice(0, 0, 4, 2);  // 1, 3: a strided view
  const auto g = nabla::meshgrid<float>({a, Tensor<float>::scalar(5.0f)});
  CHECK(g[0].shape() == Shape{2, 1});
  CHECK(g[0].to_vector() == std::vector<float>{1, 3});
  CHECK(g[1].to_vector() == std::vector<float>{5, 5});
  const auto one = nabla::meshgrid<float>({a}, "xy");  // xy swaps only with two or more
  CHECK(one[0].shape() == Shape{2});
  CHECK(nabla::meshgrid<float>({a, Tensor<float>(Shape{0})})[0].shape() == Shape{2, 0});
  CHECK_THROWS_WITH(nabla::meshgrid<float>({a}, "ji"), Catch::StartsWith("meshgrid: indexing must be \"ij\" or \"xy\""));
  CHECK_THROWS_WITH(nabla::meshgrid<float>({}), Catch::StartsWith("meshgrid: needs at least one tensor"));
  CHECK_THROWS_WITH(nabla::meshgrid<float>({a, Tensor<float>(Shape{2, 2})}),
                    Catch::StartsWith("meshgrid: expects 0-d or 1-D tensors, got shape [2, 2] for tensor 1"));
}

TEST_CASE("linspace and eye match PyTorch", "[ops][sort][creation]") {
  sort_check_linspace<float>("float32");
  sort_check_linspace<double>("float64");
  sort_check_linspace<std::int64_t>("int64");
  for (const auto& [n, m] : std::vector<std::pair<int, int>>{{3, 3}, {2, 4}, {4, 2}, {0, 3}}) {
    const auto c = sort_case("f_eye_" + std::to_string(n) + "_" + std::to_string(m));
    require_close(nabla::eye<float>(n, m), c.tensor<double>("out"), 0.0, 0.0);
  }
  require_close(nabla::eye<double>(3), sort_case("f_eye_3_3").tensor<double>("out"), 0.0, 0.0);
  CHECK(nabla::eye<std::int64_t>(2, 3).to_vector() == std::vector<std::int64_t>{1, 0, 0, 0, 1, 0});
  CHECK_THROWS_WITH(nabla::eye<float>(-1), Catch::StartsWith("eye: sizes must be non-negative, got -1 x -1"));
  CHECK_THROWS_WITH(nabla::eye<float>(2, -3), Catch::StartsWith("eye: sizes must be non-negative, got 2 x -3"));
  CHECK_THROWS_WITH(nabla::linspace<float>(0, 1, -1), Catch::StartsWith("linspace: steps must be non-negative"));
}

TEST_CASE("argmax and argmin along every axis and over all elements match PyTorch", "[ops][sort][reduce]") {
  int checked = 0;
  for (const char* op : {"argmax", "argmin"}) {
    const bool is_max = op == std::string("argmax");
    const auto all = sort_case(std::string("f_") + op + "_all");
    const Tensor<double> x = all.tensor<double>("x");
    require_close(is_max ? nabla::argmax(x) : nabla::argmin(x), all.tensor<std::int64_t>("out"), 0.0, 0.0);
    require_close(is_max ? nabla::argmax(x.to<float>()) : nabla::argmin(x.to<float>()), all.tensor<std::int64_t>("out"),
                  0.0, 0.0);
    for (int axis : {0, 1, 2, -1, -2, -3}) {
      for (int keep : {0, 1}) {
        const std::string name = std::string("f_") + op + "_axis" + std::to_string(axis) + "_keep" + std::to_string(keep);
        INFO("case " << name);
        const auto c = sort_case(name);
        const Tensor<std::int64_t> got = is_max ? nabla::argmax(x, axis, keep == 1) : nabla::argmin(x, axis, keep == 1);
        require_close(got, c.tensor<std::int64_t>("out"), 0.0, 0.0);
        ++checked;
      }
    }
    const Tensor<double> view = x.transpose(0, 2);
    require_close(is_max ? nabla::argmax(view, 1) : nabla::argmin(view, 1),
                  sort_case(std::string("f_") + op + "_view").tensor<std::int64_t>("out"), 0.0, 0.0);
    require_close(is_max ? nabla::argmax(view) : nabla::argmin(view),
                  sort_case(std::string("f_") + op + "_view_all").tensor<std::int64_t>("out"), 0.0, 0.0);
    const auto n = sort_case(std::string("f_") + op + "_nan");  // NaN wins, as PyTorch
    const Tensor<double> xn = n.tensor<double>("x");
    require_close(is_max ? nabla::argmax(xn, 1) : nabla::argmin(xn, 1), n.tensor<std::int64_t>("out"), 0.0, 0.0);
    require_close(is_max ? nabla::argmax(xn) : nabla::argmin(xn), n.tensor<std::int64_t>("all"), 0.0, 0.0);
  }
  CHECK(checked == 24);
  const auto ci = sort_case("f_argmax_int64");
  require_close(nabla::argmax(ci.tensor<std::int64_t>("x"), 0), ci.tensor<std::int64_t>("out"), 0.0, 0.0);
  require_close(nabla::argmax(ci.tensor<std::uint8_t>("x")), ci.tensor<std::int64_t>("all"), 0.0, 0.0);
  require_close(nabla::argmax(ci.tensor<std::int32_t>("x"), -2), ci.tensor<std::int64_t>("out"), 0.0, 0.0);
}

TEST_CASE("argmax and argmin: 0-d, zero-size and errors", "[ops][sort][reduce]") {
  const Tensor<float> s = Tensor<float>::scalar(3.0f);
  CHECK(nabla::argmax(s).item() == 0);
  CHECK(nabla::argmax(s, 0).item() == 0);
  CHECK(nabla::argmin(s, -1, true).ndim() == 0);
  CHECK_THROWS_AS(nabla::argmax(s, 1), nabla::IndexError);
  CHECK(nabla::argmax(Tensor<float>(Shape{0, 3}), 1).shape() == Shape{0});
  CHECK_THROWS_WITH(nabla::argmax(Tensor<float>(Shape{0, 3})), Catch::StartsWith("argmax: cannot reduce an empty tensor of shape [0, 3]"));
  CHECK_THROWS_WITH(nabla::argmin(Tensor<float>(Shape{2, 0}), 1), Catch::StartsWith("argmin: cannot reduce over axis 1 of extent 0 (shape [2, 0])"));
  CHECK_THROWS_WITH(nabla::argmax(Tensor<float>(Shape{2, 3}), 2), Catch::StartsWith("argmax: axis 2 is out of range"));
}

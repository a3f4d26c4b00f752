// Comparisons, logic and masks (ops/compare.hpp) against PyTorch fixtures
// (tests/fixtures/mask.json): every dtype, broadcasting, NaN, views and
// zero-size tensors; bool tensors print and promote as in PyTorch.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixture.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/core/print.hpp"
#include "nabla/ops/compare.hpp"
#include "nabla/ops/reduce.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::testing::require_close;

namespace {

const nabla::testing::FixtureCase compare_case(const std::string& name) { return nabla::testing::fixture("mask").get(name); }

// Bool results are stored as 0/1: exact equality, shape included.
void compare_require_mask(const Tensor<bool>& got, const nabla::testing::FixtureCase& c, const std::string& key) {
  INFO("entry " << key << " of " << c.name());
  require_close(got, c.tensor<std::int64_t>(key), 0.0, 0.0);
}

template <class T>
void compare_check_dtype(const std::string& dname) {
  for (const char* op : {"eq", "ne", "lt", "le", "gt", "ge"}) {
    const auto c = compare_case(std::string("cmp_") + op + "_" + dname);
    const Tensor<T> a = c.tensor<T>("a"), b = c.tensor<T>("b");
    const std::string name = op;
    Tensor<bool> got;
    if (name == "eq") got = a == b;
    if (name == "ne") got = a != b;
    if (name == "lt") got = a < b;
    if (name == "le") got = a <= b;
    if (name == "gt") got = a > b;
    if (name == "ge") got = a >= b;
    compare_require_mask(got, c, "out");
    // The named functions, on a transposed view of a (b broadcast along rows).
    const Tensor<T> at = a.t().contiguous().t();
    Tensor<bool> named;
    if (name == "eq") named = nabla::eq(at, b);
    if (name == "ne") named = nabla::ne(at, b);
    if (name == "lt") named = nabla::lt(at, b);
    if (name == "le") named = nabla::le(at, b);
    if (name == "gt") named = nabla::gt(at, b);
    if (name == "ge") named = nabla::ge(at, b);
    compare_require_mask(named, c, "out");
  }
  const auto s = compare_case("cmp_scalar_" + dname);
  const Tensor<T> a = s.tensor<T>("a");
  compare_require_mask(a < 1.5, s, "lt");  // an integer tensor against a float scalar compares as float
  compare_require_mask(a >= 1, s, "ge");
  compare_require_mask(2 == a, s, "eq");
  const auto l = compare_case("logic_" + dname);
  const Tensor<T> la = l.tensor<T>("a"), lb = l.tensor<T>("b");
  compare_require_mask(nabla::logical_and(la, lb), l, "and");
  compare_require_mask(nabla::logical_or(la, lb), l, "or");
  compare_require_mask(nabla::logical_xor(la, lb), l, "xor");
  compare_require_mask(nabla::logical_not(la), l, "not");
  compare_require_mask(nabla::isnan(la), l, "isnan");
  compare_require_mask(nabla::isinf(la), l, "isinf");
  compare_require_mask(nabla::isfinite(la), l, "isfinite");
  compare_require_mask(nabla::any(la), l, "any");
  compare_require_mask(la.all(), l, "all");
  compare_require_mask(nabla::any(la, 0), l, "any0");
  compare_require_mask(nabla::all(la, 1, true), l, "all1k");
  require_close(nabla::nonzero(la), l.tensor<std::int64_t>("nonzero"), 0.0, 0.0);
  CHECK(nabla::count_nonzero(la).item() == l.tensor<std::int64_t>("count").item());
}

}  // namespace

TEST_CASE("comparisons and logic give bool tensors as PyTorch, for every dtype", "[compare]") {
  compare_check_dtype<float>("float32");
  compare_check_dtype<double>("float64");
  compare_check_dtype<std::int64_t>("int64");
  compare_check_dtype<std::uint8_t>("uint8");
}

TEST_CASE("comparisons of mixed dtypes promote first", "[compare]") {
  const Tensor<std::int64_t> i = nabla::tensor<std::int64_t>({1, 2, 3});
  const Tensor<double> d = nabla::tensor<double>({1.0, 2.5, 2.9999});
  CHECK((i == d).to_vector() == std::vector<bool>{true, false, false});
  CHECK((i > d).to_vector() == std::vector<bool>{false, false, true});
  // int64 values beyond float's 24 bits still compare exactly with a double scalar.
  const Tensor<std::int64_t> big = nabla::tensor<std::int64_t>({(std::int64_t{1} << 40) + 1});
  CHECK((big > static_cast<double>(std::int64_t{1} << 40)).item());
  CHECK_THROWS_WITH(nabla::tensor<float>({1, 2, 3}) < nabla::tensor<float>({1, 2}),
                    Catch::Contains("lt") && Catch::Contains("[3]") && Catch::Contains("[2]"));
}

TEST_CASE("bool tensors: operators, sums in int64, conversion, printing", "[compare]") {
  const Tensor<bool> a = nabla::tensor<bool>({true, false, true, false});
  const Tensor<bool> b = nabla::tensor<bool>({true, true, false, false});
  CHECK((a & b).to_vector() == std::vector<bool>{true, false, false, false});
  CHECK((a | b).to_vector() == std::vector<bool>{true, true, true, false});
  CHECK((a ^ b).to_vector() == std::vector<bool>{false, true, true, false});
  CHECK((~a).to_vector() == std::vector<bool>{false, true, false, true});
  const auto count = nabla::sum(nabla::full<bool>(Shape{300}, true));  // int64, as torch.sum of bool
  STATIC_REQUIRE(std::is_same_v<decltype(count), const Tensor<std::int64_t>>);
  CHECK(count.item() == 300);
  CHECK(a.to<float>().to_vector() == std::vector<float>{1, 0, 1, 0});
  CHECK(nabla::tensor<float>({0.0f, -0.5f, NAN}).to<bool>().to_vector() == std::vector<bool>{false, true, true});
  // torch: tensor([ True, False,  True, False]); empty: tensor([], dtype=torch.bool)
  CHECK(nabla::to_string(a) == "tensor([ True, False,  True, False])");
  CHECK(nabla::to_string(Tensor<bool>(Shape{0})) == "tensor([], dtype=torch.bool)");
  CHECK(nabla::to_string(Tensor<bool>::scalar(true)) == "tensor(True)");
  // bool is the lowest promotion category: bool with int8 is int8, with float is float.
  STATIC_REQUIRE(std::is_same_v<nabla::promote_t<bool, std::int8_t>, std::int8_t>);
  STATIC_REQUIRE(std::is_same_v<nabla::promote_t<std::uint8_t, bool>, std::uint8_t>);
  STATIC_REQUIRE(std::is_same_v<nabla::promote_t<bool, float>, float>);
  STATIC_REQUIRE(std::is_same_v<nabla::promote_t<bool, bool>, bool>);
}

TEST_CASE("isclose, allclose and equal as torch", "[compare]") {
  const auto c = compare_case("isclose");
  const Tensor<double> a = c.tensor<double>("a"), b = c.tensor<double>("b");
  compare_require_mask(nabla::isclose(a, b), c, "default");
  compare_require_mask(nabla::isclose(a, b, 1e-3, 0.0), c, "loose");
  compare_require_mask(nabla::isclose(a, b, 1e-5, 1e-8, true), c, "nan");
  compare_require_mask(nabla::isclose(a, b, 0.0, 1e-8), c, "atol");
  CHECK_FALSE(nabla::allclose(a, b));
  CHECK(nabla::allclose(a.slice(0, 0, 2), b.slice(0, 0, 2)));
  CHECK(nabla::allclose(nabla::tensor<float>({1.0f, 2.0f}), nabla::tensor<double>({1.0, 2.0000001})));
  CHECK(nabla::equal(a.slice(0, 0, 1), b.slice(0, 0, 1)));
  CHECK_FALSE(nabla::equal(a, a));  // NaN is unequal to itself, as in torch.equal
  CHECK_FALSE(nabla::equal(nabla::tensor<float>({1, 2}), nabla::tensor<float>({1, 2, 3})));  // shapes differ
  CHECK(nabla::equal(Tensor<float>(Shape{0, 3}), Tensor<float>(Shape{0, 3})));
  CHECK_THROWS_WITH(nabla::isclose(a, b, -1.0), Catch::StartsWith("isclose: rtol and atol must be non-negative"));
}

TEST_CASE("where, masked_fill, masked_select, nonzero with broadcasting and views", "[compare]") {
  const auto c = compare_case("masks");
  const Tensor<double> a = c.tensor<double>("a");
  const Tensor<bool> m = c.tensor<bool>("mask");
  require_close(nabla::where(a > 0.0, a, -1.0), c.tensor<double>("where"), 0, 0);
  require_close(nabla::masked_fill(a, m, 7.5), c.tensor<double>("fill"), 0, 0);
  require_close(nabla::masked_select(a, m), c.tensor<double>("select"), 0, 0);
  require_close(nabla::masked_select(a.slice(1, 0, 1), a > 0.0), c.tensor<double>("select_col"), 0, 0);
  // In place on a strided view writes through to the base.
  Tensor<double> base = a.clone();
  const std::uint64_t before = base.version();
  nabla::masked_fill_(base.t(), (base > 0.0).t(), 0.0);
  CHECK(base.version() > before);
  CHECK(nabla::all(base <= 0.0).item());
  // Zero-size: nothing selected, nothing filled.
  const Tensor<float> empty(Shape{0, 4});
  CHECK(nabla::masked_select(empty, Tensor<bool>(Shape{4})).shape() == Shape({0}));
  CHECK(nabla::nonzero(empty).shape() == Shape({0, 2}));
  CHECK(nabla::any(empty).item() == false);
  CHECK(nabla::all(empty).item() == true);
  CHECK(nabla::any(empty, 1).shape() == Shape({0}));
  CHECK(nabla::all(Tensor<float>(Shape{2, 0}), 1).to_vector() == std::vector<bool>{true, true});
  CHECK(nabla::where(Tensor<bool>(Shape{4}), empty, 1.0f).shape() == Shape({0, 4}));
  CHECK_THROWS_WITH(nabla::masked_fill(a, Tensor<bool>(Shape{3}), 1.0),
                    Catch::StartsWith("masked_fill: shapes [3] and [3, 4] cannot be broadcast"));
  CHECK_THROWS_WITH(nabla::masked_fill(a, Tensor<bool>(Shape{2, 3, 4}), 1.0),
                    Catch::StartsWith("masked_fill: mask of shape [2, 3, 4] does not broadcast to the tensor's shape [3, 4]"));
  CHECK_THROWS_WITH(nabla::masked_select(a, Tensor<bool>(Shape{5})), Catch::StartsWith("masked_select"));
  CHECK_THROWS_WITH(nabla::where(Tensor<bool>(Shape{2}), a, a), Catch::StartsWith("where"));
  CHECK_THROWS_AS(nabla::any(a, 2), nabla::IndexError);
}

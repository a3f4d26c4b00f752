// Tests for ops/elementwise.hpp: unary math, broadcasting binary ops,
// comparisons, where, operators and in-place updates.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "../support/fixture.hpp"
#include "../support/tensors.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/core/random.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/compare.hpp"
#include "nabla/ops/elementwise.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::testing::require_close;
using nabla::testing::seq;
using nabla::testing::strided_copy;

namespace {

// The values of a 2-D x through a transposed view.
template <class T>
Tensor<T> transposed_copy(const Tensor<T>& x) {
  return x.t().contiguous().t();
}

// A tensor from double literals, rounded to T.
template <class T>
Tensor<T> make(Shape shape, std::initializer_list<double> values) {
  std::vector<T> v;
  for (double x : values) v.push_back(static_cast<T>(x));
  return Tensor<T>(std::move(shape), std::move(v));
}

template <class T>
bool bitwise_equal(const Tensor<T>& a, const Tensor<T>& b) {
  if (!(a.shape() == b.shape())) return false;
  const auto va = a.to_vector();
  const auto vb = b.to_vector();
  for (std::size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(static_cast<double>(va[i])) && std::isnan(static_cast<double>(vb[i]))) continue;
    if (va[i] != vb[i]) return false;
  }
  return true;
}

template <class T>
using UnaryFn = std::function<Tensor<T>(const Tensor<T>&)>;

template <class T>
std::map<std::string, UnaryFn<T>> unary_table() {
  return {
      {"neg", [](const Tensor<T>& x) { return nabla::neg(x); }},
      {"exp", [](const Tensor<T>& x) { return nabla::exp(x); }},
      {"log", [](const Tensor<T>& x) { return nabla::log(x); }},
      {"log1p", [](const Tensor<T>& x) { return nabla::log1p(x); }},
      {"expm1", [](const Tensor<T>& x) { return nabla::expm1(x); }},
      {"sqrt", [](const Tensor<T>& x) { return nabla::sqrt(x); }},
      {"rsqrt", [](const Tensor<T>& x) { return nabla::rsqrt(x); }},
      {"abs", [](const Tensor<T>& x) { return nabla::abs(x); }},
      {"sign", [](const Tensor<T>& x) { return nabla::sign(x); }},
      {"square", [](const Tensor<T>& x) { return nabla::square(x); }},
      {"reciprocal", [](const Tensor<T>& x) { return nabla::reciprocal(x); }},
      {"sin", [](const Tensor<T>& x) { return nabla::sin(x); }},
      {"cos", [](const Tensor<T>& x) { return nabla::cos(x); }},
      {"tanh", [](const Tensor<T>& x) { return nabla::tanh(x); }},
      {"sigmoid", [](const Tensor<T>& x) { return nabla::sigmoid(x); }},
      {"relu", [](const Tensor<T>& x) { return nabla::relu(x); }},
      {"silu", [](const Tensor<T>& x) { return nabla::silu(x); }},
      {"softplus", [](const Tensor<T>& x) { return nabla::softplus(x); }},
      {"gelu", [](const Tensor<T>& x) { return nabla::gelu(x); }},
      {"gelu_tanh", [](const Tensor<T>& x) { return nabla::gelu(x, true); }},
      {"elu", [](const Tensor<T>& x) { return nabla::elu(x); }},
      {"floor", [](const Tensor<T>& x) { return nabla::floor(x); }},
      {"ceil", [](const Tensor<T>& x) { return nabla::ceil(x); }},
      {"round", [](const Tensor<T>& x) { return nabla::round(x); }},
  };
}

template <class T>
using BinaryFn = std::function<Tensor<T>(const Tensor<T>&, const Tensor<T>&)>;

template <class T>
std::map<std::string, BinaryFn<T>> binary_table() {
  return {
      {"add", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::add(a, b); }},
      {"sub", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::sub(a, b); }},
      {"mul", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::mul(a, b); }},
      {"div", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::div(a, b); }},
      {"pow", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::pow(a, b); }},
      {"maximum", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::maximum(a, b); }},
      {"minimum", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::minimum(a, b); }},
      {"atan2", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::atan2(a, b); }},
      {"eq", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::eq(a, b).template to<T>(); }},
      {"ne", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::ne(a, b).template to<T>(); }},
      {"lt", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::lt(a, b).template to<T>(); }},
      {"le", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::le(a, b).template to<T>(); }},
      {"gt", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::gt(a, b).template to<T>(); }},
      {"ge", [](const Tensor<T>& a, const Tensor<T>& b) { return nabla::ge(a, b).template to<T>(); }},
  };
}

constexpr double float_rtol = 2e-5;
constexpr double float_atol = 2e-6;

}  // namespace

// ---------------------------------------------------------------------------
TEMPLATE_TEST_CASE("unary ops give hand-checked values", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{5}, {-2, -0.5, 0, 0.5, 2});
  require_close(nabla::neg(x), make<T>(Shape{5}, {2, 0.5, 0, -0.5, -2}));
  require_close(nabla::abs(x), make<T>(Shape{5}, {2, 0.5, 0, 0.5, 2}));
  require_close(nabla::sign(x), make<T>(Shape{5}, {-1, -1, 0, 1, 1}));
  require_close(nabla::square(x), make<T>(Shape{5}, {4, 0.25, 0, 0.25, 4}));
  require_close(nabla::relu(x), make<T>(Shape{5}, {0, 0, 0, 0.5, 2}));
  require_close(nabla::leaky_relu(x), make<T>(Shape{5}, {-0.02, -0.005, 0, 0.5, 2}));
  require_close(nabla::leaky_relu(x, 0.5), make<T>(Shape{5}, {-1, -0.25, 0, 0.5, 2}));
  require_close(nabla::floor(x), make<T>(Shape{5}, {-2, -1, 0, 0, 2}));
  require_close(nabla::ceil(x), make<T>(Shape{5}, {-2, -0, 0, 1, 2}));
  require_close(nabla::clamp(x, -1, 1), make<T>(Shape{5}, {-1, -0.5, 0, 0.5, 1}));
  require_close(nabla::sigmoid(x), make<T>(Shape{5}, {0.11920292202211755, 0.3775406687981454, 0.5,
                                                         0.6224593312018546, 0.8807970779778823}));
  require_close(nabla::exp(x), make<T>(Shape{5}, {std::exp(-2.0), std::exp(-0.5), 1, std::exp(0.5), std::exp(2.0)}));
  require_close(nabla::silu(x), make<T>(Shape{5}, {-0.2384058440442351, -0.1887703343990727, 0,
                                                      0.3112296656009273, 1.7615941559557646}));
  require_close(nabla::elu(x), make<T>(Shape{5}, {std::expm1(-2.0), std::expm1(-0.5), 0, 0.5, 2}));
  const Tensor<T> p(Shape{3}, {0.25, 1, 4});
  require_close(nabla::sqrt(p), make<T>(Shape{3}, {0.5, 1, 2}));
  require_close(nabla::rsqrt(p), make<T>(Shape{3}, {2, 1, 0.5}));
  require_close(nabla::reciprocal(p), make<T>(Shape{3}, {4, 1, 0.25}));
  require_close(nabla::log(p), make<T>(Shape{3}, {std::log(0.25), 0, std::log(4.0)}));
}

TEMPLATE_TEST_CASE("unary ops match PyTorch fixtures", "[elementwise]", float, double) {
  using T = TestType;
  const auto& fx = nabla::testing::fixture("elementwise");
  const auto table = unary_table<T>();
  const double rtol = std::is_same_v<T, double> ? 1e-12 : float_rtol;
  const double atol = std::is_same_v<T, double> ? 1e-13 : float_atol;
  int checked = 0;
  for (const std::string& name : fx.names()) {
    if (name.rfind("unary_", 0) != 0) continue;
    const auto c = fx.get(name);
    std::string op = name.substr(6);
    if (op.size() > 8 && op.substr(op.size() - 8) == "_extreme") op = op.substr(0, op.size() - 8);
    INFO("case " << name);
    const Tensor<T> x = c.tensor<T>("x");
    Tensor<T> y;
    if (op == "leaky_relu") {
      y = nabla::leaky_relu(x, static_cast<T>(c.real("slope")));
    } else if (op == "elu" && c.has("alpha")) {
      y = nabla::elu(x, static_cast<T>(c.real("alpha")));
    } else if (op == "clamp") {
      y = nabla::clamp(x, static_cast<T>(c.real("lo")), static_cast<T>(c.real("hi")));
    } else {
      REQUIRE(table.count(op) == 1);
      y = table.at(op)(x);
    }
    // Fixture inputs are float64; float inputs are rounded, so compare float
    // results against PyTorch run on the same rounded inputs only loosely.
    require_close(y, c.tensor<T>("y"), rtol, atol);
    ++checked;
  }
  CHECK(checked >= 30);
}

TEMPLATE_TEST_CASE("unary ops on strided views equal the contiguous result bit for bit", "[elementwise]", float,
                   double) {
  using T = TestType;
  nabla::Generator gen(7);
  const Tensor<T> x = nabla::rand<T>(Shape{7, 13}, gen, T(0.1), T(3));
  const Tensor<T> xt = transposed_copy(x);
  const Tensor<T> xs = strided_copy(x);
  REQUIRE_FALSE(xt.is_contiguous());
  REQUIRE_FALSE(xs.is_contiguous());
  for (const auto& [name, fn] : unary_table<T>()) {
    INFO("op " << name);
    const Tensor<T> ref = fn(x);
    const Tensor<T> a = fn(xt);
    const Tensor<T> b = fn(xs);
    CHECK(a.is_contiguous());
    CHECK(b.is_contiguous());
    CHECK(bitwise_equal(a, ref));
    CHECK(bitwise_equal(b, ref));
  }
  // A column slice and a row slice with a step.
  const Tensor<T> col = x.slice(1, 3, 4);
  require_close(nabla::exp(col), nabla::exp(col.contiguous()), 0, 0);
  const Tensor<T> rows = x.slice(0, 1, 7, 3);
  require_close(nabla::tanh(rows), nabla::tanh(rows.contiguous()), 0, 0);
}

TEMPLATE_TEST_CASE("SIMD tails: every length from 0 to 40 and odd large lengths", "[elementwise]", float, double) {
  using T = TestType;
  std::vector<std::int64_t> lengths;
  for (std::int64_t n = 0; n <= 40; ++n) lengths.push_back(n);
  for (std::int64_t n : {1001, 1023, 1025, 4099}) lengths.push_back(n);
  for (std::int64_t n : lengths) {
    INFO("length " << n);
    const Tensor<T> x = seq<T>(Shape{n}, -3.0, 13.0 / 4099.0);
    const Tensor<T> y = seq<T>(Shape{n}, 0.5, 0.25);
    const auto xv = x.to_vector();
    const auto yv = y.to_vector();
    const auto e = nabla::exp(x).to_vector();
    const auto s = nabla::add(x, y).to_vector();
    const auto m = nabla::mul(x, T(3)).to_vector();
    const auto d = nabla::div(T(1), y).to_vector();
    const auto r = nabla::relu(x).to_vector();
    REQUIRE(e.size() == static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < xv.size(); ++i) {
      CHECK(e[i] == Approx(std::exp(xv[i])).epsilon(1e-6));
      CHECK(s[i] == xv[i] + yv[i]);
      CHECK(m[i] == xv[i] * T(3));
      CHECK(d[i] == T(1) / yv[i]);
      CHECK(r[i] == (xv[i] < 0 ? T(0) : xv[i]));
    }
  }
}

TEMPLATE_TEST_CASE("sigmoid, softplus, silu, tanh and gelu stay finite at +-1e4", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{4}, {T(-1e4), T(-100), T(100), T(1e4)});
  const auto sg = nabla::sigmoid(x).to_vector();
  CHECK(sg[0] == 0);
  CHECK(sg[3] == 1);
  const auto sp = nabla::softplus(x).to_vector();
  CHECK(sp[0] == 0);
  CHECK(sp[3] == T(1e4));
  CHECK(sp[2] == T(100));
  const auto si = nabla::silu(x).to_vector();
  CHECK(si[0] == 0);
  CHECK(si[3] == T(1e4));
  const auto th = nabla::tanh(x).to_vector();
  CHECK(th[0] == -1);
  CHECK(th[3] == 1);
  const auto ge = nabla::gelu(x).to_vector();
  CHECK(ge[0] == 0);
  CHECK(ge[3] == T(1e4));
  const auto el = nabla::elu(x).to_vector();
  CHECK(el[0] == -1);
  for (const auto& v : {sg, sp, si, th, ge, el}) {
    for (T e : v) CHECK(std::isfinite(e));
  }
}

TEMPLATE_TEST_CASE("NaN propagates through relu, clamp, maximum, minimum", "[elementwise]", float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const Tensor<T> x(Shape{3}, {nan, -1, 2});
  CHECK(std::isnan(nabla::relu(x).to_vector()[0]));
  CHECK(std::isnan(nabla::clamp(x, 0, 1).to_vector()[0]));
  CHECK(nabla::sign(x).to_vector()[0] == 0);  // as torch.sign
  const Tensor<T> y(Shape{3}, {1, nan, 0});
  const auto mx = nabla::maximum(x, y).to_vector();
  const auto mn = nabla::minimum(x, y).to_vector();
  CHECK(std::isnan(mx[0]));
  CHECK(std::isnan(mx[1]));
  CHECK(mx[2] == 2);
  CHECK(std::isnan(mn[0]));
  CHECK(std::isnan(mn[1]));
  CHECK(mn[2] == 0);
}

TEMPLATE_TEST_CASE("round sends halves to even", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{8}, {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6});
  require_close(nabla::round(x), make<T>(Shape{8}, {-2, -2, -0, 0, 2, 2, 2, -3}), 0, 0);
}

TEMPLATE_TEST_CASE("gelu exact and tanh forms", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{3}, {-1, 0, 1});
  // 0.5 * x * (1 + erf(x / sqrt(2)))
  const double g1 = 0.5 * (1 + std::erf(1 / std::sqrt(2.0)));
  require_close(nabla::gelu(x), make<T>(Shape{3}, {-(1 - g1), 0, g1}), 1e-6, 1e-7);
  const double t1 = 0.5 * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (1 + 0.044715)));
  require_close(nabla::gelu(x, true), make<T>(Shape{3}, {-(1 - t1), 0, t1}), 1e-6, 1e-7);
}

TEST_CASE("clamp rejects a lower bound above the upper bound", "[elementwise]") {
  const Tensor<float> x(Shape{2}, {1, 2});
  CHECK_THROWS_AS(nabla::clamp(x, 2.0f, 1.0f), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::clamp(x, 2.0f, 1.0f), Catch::Contains("clamp") && Catch::Contains("above"));
}

// ---------------------------------------------------------------------------
TEMPLATE_TEST_CASE("binary ops match PyTorch under every broadcast pattern", "[elementwise]", float, double) {
  using T = TestType;
  const auto& fx = nabla::testing::fixture("elementwise");
  const auto table = binary_table<T>();
  const double rtol = std::is_same_v<T, double> ? 1e-12 : float_rtol;
  const double atol = std::is_same_v<T, double> ? 1e-13 : float_atol;
  int checked = 0;
  for (const std::string& name : fx.names()) {
    if (name.rfind("binary_", 0) != 0 && name.rfind("compare_", 0) != 0) continue;
    const auto c = fx.get(name);
    const std::string rest = name.substr(name.find('_') + 1);
    const std::string op = rest.substr(0, rest.find('_'));
    INFO("case " << name);
    REQUIRE(table.count(op) == 1);
    const Tensor<T> a = c.tensor<T>("a");
    const Tensor<T> b = c.tensor<T>("b");
    const Tensor<T> y = table.at(op)(a, b);
    require_close(y, c.tensor<T>("y"), rtol, atol);
    // The same through strided views of both inputs.
    require_close(table.at(op)(strided_copy(a), strided_copy(b)), y, 0, 0);
    ++checked;
  }
  CHECK(checked >= 60);
}

TEMPLATE_TEST_CASE("broadcast patterns give hand-checked values", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> m(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  SECTION("0-d scalar tensor") {
    require_close(nabla::add(m, Tensor<T>::scalar(10)), make<T>(Shape{2, 3}, {11, 12, 13, 14, 15, 16}));
    require_close(nabla::sub(Tensor<T>::scalar(10), m), make<T>(Shape{2, 3}, {9, 8, 7, 6, 5, 4}));
  }
  SECTION("one-element tensor of higher rank extends the shape") {
    const Tensor<T> one(Shape{1, 1, 1}, {2});
    const Tensor<T> y = nabla::mul(m, one);
    CHECK(y.shape() == Shape{1, 2, 3});
    require_close(y.reshape(Shape{2, 3}), make<T>(Shape{2, 3}, {2, 4, 6, 8, 10, 12}));
  }
  SECTION("row: [2, 3] op [3]") {
    require_close(nabla::add(m, make<T>(Shape{3}, {10, 20, 30})),
                  make<T>(Shape{2, 3}, {11, 22, 33, 14, 25, 36}));
    require_close(nabla::div(make<T>(Shape{3}, {12, 10, 6}), m), make<T>(Shape{2, 3}, {12, 5, 2, 3, 2, 1}));
  }
  SECTION("column: [2, 3] op [2, 1]") {
    require_close(nabla::sub(m, make<T>(Shape{2, 1}, {1, 4})), make<T>(Shape{2, 3}, {0, 1, 2, 0, 1, 2}));
    require_close(nabla::mul(make<T>(Shape{2, 1}, {2, 3}), m), make<T>(Shape{2, 3}, {2, 4, 6, 12, 15, 18}));
  }
  SECTION("outer: [3, 1] op [1, 4]") {
    const Tensor<T> y = nabla::mul(make<T>(Shape{3, 1}, {1, 2, 3}), make<T>(Shape{1, 4}, {1, 10, 100, 1000}));
    require_close(y, make<T>(Shape{3, 4}, {1, 10, 100, 1000, 2, 20, 200, 2000, 3, 30, 300, 3000}));
  }
  SECTION("rank extension: [2, 3, 4] + [4]") {
    const Tensor<T> a = seq<T>(Shape{2, 3, 4});
    const Tensor<T> y = nabla::add(a, make<T>(Shape{4}, {100, 200, 300, 400}));
    CHECK(y.shape() == Shape{2, 3, 4});
    CHECK(y(1, 2, 3) == T(23 + 400));
    CHECK(y(0, 1, 0) == T(4 + 100));
  }
  SECTION("mixed: [2, 1, 4] + [3, 1] -> [2, 3, 4]") {
    const Tensor<T> a = seq<T>(Shape{2, 1, 4});
    const Tensor<T> b(Shape{3, 1}, {100, 200, 300});
    const Tensor<T> y = nabla::add(a, b);
    CHECK(y.shape() == Shape{2, 3, 4});
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 3; ++j)
        for (std::int64_t k = 0; k < 4; ++k) CHECK(y(i, j, k) == a(i, 0, k) + b(j, 0));
  }
  SECTION("zero-size dimensions") {
    const Tensor<T> e = nabla::add(Tensor<T>(Shape{0, 3}), make<T>(Shape{3}, {1, 2, 3}));
    CHECK(e.shape() == Shape{0, 3});
    const Tensor<T> f = nabla::mul(Tensor<T>(Shape{2, 0}), make<T>(Shape{2, 1}, {1, 2}));
    CHECK(f.shape() == Shape{2, 0});
    const Tensor<T> g = nabla::add(Tensor<T>(Shape{0}), Tensor<T>::scalar(1));
    CHECK(g.shape() == Shape{0});
    CHECK(nabla::exp(Tensor<T>(Shape{0, 4})).shape() == Shape{0, 4});
    CHECK(nabla::add(Tensor<T>(Shape{0, 3}), T(1)).numel() == 0);
  }
}

TEST_CASE("broadcast errors name the op and both shapes", "[elementwise]") {
  const Tensor<float> a(Shape{2, 3});
  const Tensor<float> b(Shape{4});
  CHECK_THROWS_AS(nabla::add(a, b), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::add(a, b), Catch::Contains("add: shapes [2, 3] and [4] cannot be broadcast"));
  CHECK_THROWS_WITH(nabla::mul(a, b), Catch::StartsWith("mul: shapes [2, 3] and [4]"));
  CHECK_THROWS_WITH(nabla::pow(a, b), Catch::StartsWith("pow:"));
  CHECK_THROWS_WITH(nabla::lt(a, b), Catch::StartsWith("lt:"));
  CHECK_THROWS_WITH(a - b, Catch::StartsWith("sub:"));
  CHECK_THROWS_WITH(nabla::where(Tensor<float>(Shape{2, 1}), a, b), Catch::StartsWith("where:"));
  CHECK_THROWS_AS(nabla::add(Tensor<float>(Shape{0, 3}), Tensor<float>(Shape{2, 3})), nabla::ShapeError);
}

TEMPLATE_TEST_CASE("scalars on either side of every binary op", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{2, 2}, {1, 2, 4, 8});
  require_close(nabla::add(x, 1), make<T>(Shape{2, 2}, {2, 3, 5, 9}));
  require_close(nabla::add(1, x), make<T>(Shape{2, 2}, {2, 3, 5, 9}));
  require_close(nabla::sub(x, 1), make<T>(Shape{2, 2}, {0, 1, 3, 7}));
  require_close(nabla::sub(1, x), make<T>(Shape{2, 2}, {0, -1, -3, -7}));
  require_close(nabla::mul(x, 0.5), make<T>(Shape{2, 2}, {0.5, 1, 2, 4}));
  require_close(nabla::div(x, 2), make<T>(Shape{2, 2}, {0.5, 1, 2, 4}));
  require_close(nabla::div(8, x), make<T>(Shape{2, 2}, {8, 4, 2, 1}));
  require_close(nabla::pow(2, x), make<T>(Shape{2, 2}, {2, 4, 16, 256}), 1e-6);
  require_close(nabla::maximum(x, 3), make<T>(Shape{2, 2}, {3, 3, 4, 8}));
  require_close(nabla::minimum(3, x), make<T>(Shape{2, 2}, {1, 2, 3, 3}));
  require_close(nabla::gt(x, 2), make<T>(Shape{2, 2}, {0, 0, 1, 1}));
  require_close(nabla::le(2, x), make<T>(Shape{2, 2}, {0, 1, 1, 1}));
  require_close(nabla::eq(x, 4), make<T>(Shape{2, 2}, {0, 0, 1, 0}));
  require_close(nabla::ne(4, x), make<T>(Shape{2, 2}, {1, 1, 0, 1}));
  // A strided tensor with a scalar.
  require_close(nabla::sub(10, x.t()), make<T>(Shape{2, 2}, {9, 6, 8, 2}));
  require_close(nabla::mul(x.t(), 2), make<T>(Shape{2, 2}, {2, 8, 4, 16}));
}

TEMPLATE_TEST_CASE("pow with a scalar exponent: shortcuts agree with std::pow", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{4}, {0.25, 1, 2.5, 9});
  const auto xv = x.to_vector();
  for (double e : {0.0, 1.0, 2.0, 3.0, 0.5, -0.5, -1.0, -2.0, 1.7}) {
    INFO("exponent " << e);
    const auto y = nabla::pow(x, static_cast<T>(e)).to_vector();
    for (std::size_t i = 0; i < xv.size(); ++i) CHECK(y[i] == Approx(std::pow(xv[i], e)).epsilon(1e-6));
  }
  // Negative base with integer exponents.
  const auto n = nabla::pow(make<T>(Shape{2}, {-2, -3}), T(3)).to_vector();
  CHECK(n[0] == Approx(-8));
  CHECK(n[1] == Approx(-27));
  // pow(x, 1) is a copy, not an alias.
  const Tensor<T> one = nabla::pow(x, T(1));
  CHECK_FALSE(one.storage().same_as(x.storage()));
}

TEMPLATE_TEST_CASE("operators + - * / and unary minus", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> a(Shape{2, 2}, {1, 2, 3, 4});
  const Tensor<T> b(Shape{2}, {10, 20});
  require_close(a + b, make<T>(Shape{2, 2}, {11, 22, 13, 24}));
  require_close(a - b, make<T>(Shape{2, 2}, {-9, -18, -7, -16}));
  require_close(a * b, make<T>(Shape{2, 2}, {10, 40, 30, 80}));
  require_close(b / a, make<T>(Shape{2, 2}, {10, 10, T(10) / 3, 5}));
  require_close(-a, make<T>(Shape{2, 2}, {-1, -2, -3, -4}));
  require_close(a * 2 + 1, make<T>(Shape{2, 2}, {3, 5, 7, 9}));
  require_close(1 - a / 2, make<T>(Shape{2, 2}, {0.5, 0, -0.5, -1}));
  require_close(T(2) * a - a * T(2), Tensor<T>(Shape{2, 2}));
  require_close(12 / a, make<T>(Shape{2, 2}, {12, 6, 4, 3}));
  require_close(a + T(0.5), make<T>(Shape{2, 2}, {1.5, 2.5, 3.5, 4.5}));
}

TEMPLATE_TEST_CASE("binary ops on transposed, sliced and expanded inputs equal the contiguous result",
                   "[elementwise]", float, double) {
  using T = TestType;
  nabla::Generator gen(11);
  const Tensor<T> a = nabla::randn<T>(Shape{9, 17}, gen);
  const Tensor<T> b = nabla::randn<T>(Shape{9, 17}, gen);
  const Tensor<T> row = nabla::randn<T>(Shape{17}, gen);
  const Tensor<T> ref = nabla::mul(a, b);
  CHECK(bitwise_equal(nabla::mul(transposed_copy(a), b), ref));
  CHECK(bitwise_equal(nabla::mul(a, transposed_copy(b)), ref));
  CHECK(bitwise_equal(nabla::mul(transposed_copy(a), strided_copy(b)), ref));
  // Expanded (stride 0) views behave as the materialised broadcast.
  const Tensor<T> expanded = row.expand(Shape{9, 17});
  CHECK(bitwise_equal(nabla::add(a, expanded), nabla::add(a, row)));
  CHECK(bitwise_equal(nabla::add(a, expanded), nabla::add(a, expanded.contiguous())));
  // A transposed result of a broadcast: [17, 9] + [17, 1].
  const Tensor<T> col = row.reshape(Shape{17, 1});
  CHECK(bitwise_equal(nabla::sub(a.t(), col), nabla::sub(a.t().contiguous(), col)));
  // Sliced with a step on both axes.
  const Tensor<T> s = a.slice(0, 1, 9, 2).slice(1, 0, 17, 3);
  CHECK(bitwise_equal(nabla::div(s, T(3)), nabla::div(s.contiguous(), T(3))));
  CHECK(bitwise_equal(nabla::maximum(s, s.t().t()), nabla::maximum(s.contiguous(), s.contiguous())));
}

TEMPLATE_TEST_CASE("large inputs split across threads give the single-chunk values", "[elementwise]", float,
                   double) {
  using T = TestType;
  nabla::Generator gen(3);
  const std::int64_t n = 100003;
  const Tensor<T> x = nabla::randn<T>(Shape{n}, gen);
  const Tensor<T> y = nabla::randn<T>(Shape{n}, gen);
  const Tensor<T> e = nabla::exp(x);
  const Tensor<T> s = nabla::add(x, y);
  const Tensor<T> r = nabla::add(x.reshape(Shape{n, 1}), make<T>(Shape{1}, {T(0.5)}));
  const auto xv = x.to_vector();
  const auto yv = y.to_vector();
  const auto ev = e.to_vector();
  const auto sv = s.to_vector();
  const auto rv = r.to_vector();
  for (std::int64_t i = 0; i < n; i += 997) {
    const auto k = static_cast<std::size_t>(i);
    CHECK(ev[k] == nabla::kernels::apply1(nabla::kernels::ExpOp{}, xv[k]));
    CHECK(sv[k] == xv[k] + yv[k]);
    CHECK(rv[k] == xv[k] + T(0.5));
  }
  const int threads = nabla::get_num_threads();
  nabla::set_num_threads(1);
  const Tensor<T> e1 = nabla::exp(x);
  nabla::set_num_threads(threads);
  CHECK(bitwise_equal(e1, e));
}

TEMPLATE_TEST_CASE("comparisons return 0/1 masks in the element type", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> a(Shape{2, 3}, {1, 2, 3, 3, 2, 1});
  const Tensor<T> b(Shape{3}, {2, 2, 2});
  require_close(nabla::eq(a, b), make<T>(Shape{2, 3}, {0, 1, 0, 0, 1, 0}));
  require_close(nabla::ne(a, b), make<T>(Shape{2, 3}, {1, 0, 1, 1, 0, 1}));
  require_close(nabla::lt(a, b), make<T>(Shape{2, 3}, {1, 0, 0, 0, 0, 1}));
  require_close(nabla::le(a, b), make<T>(Shape{2, 3}, {1, 1, 0, 0, 1, 1}));
  require_close(nabla::gt(a, b), make<T>(Shape{2, 3}, {0, 0, 1, 1, 0, 0}));
  require_close(nabla::ge(a, b), make<T>(Shape{2, 3}, {0, 1, 1, 1, 1, 0}));
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const Tensor<T> n(Shape{1}, {nan});
  CHECK(nabla::eq(n, n).item() == 0);
  CHECK(nabla::ne(n, n).item() == 1);
}

TEMPLATE_TEST_CASE("where selects with broadcasting of mask, a and b", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> mask(Shape{2, 1}, {1, 0});
  const Tensor<T> a(Shape{3}, {1, 2, 3});
  const Tensor<T> b(Shape{2, 3}, {-1, -2, -3, -4, -5, -6});
  require_close(nabla::where(mask, a, b), make<T>(Shape{2, 3}, {1, 2, 3, -4, -5, -6}));
  require_close(nabla::where(nabla::gt(b, -3), b, 0), make<T>(Shape{2, 3}, {-1, -2, 0, 0, 0, 0}));
  require_close(nabla::where(nabla::gt(b, -3), 7, b), make<T>(Shape{2, 3}, {7, 7, -3, -4, -5, -6}));
  // Any nonzero mask value (including negative and NaN) takes a.
  const Tensor<T> odd(Shape{3}, {-2, 0, std::numeric_limits<T>::quiet_NaN()});
  require_close(nabla::where(odd, a, Tensor<T>::scalar(9)), make<T>(Shape{3}, {1, 9, 3}));
  const auto c = nabla::testing::fixture("elementwise").get("where_broadcast");
  const Tensor<T> y = nabla::where(c.tensor<T>("mask"), c.tensor<T>("a"), c.tensor<T>("b"));
  require_close(y, c.tensor<T>("y"), 0, 0);
  // Same shapes, contiguous and strided.
  const Tensor<T> m2(Shape{2, 3}, {1, 0, 1, 0, 1, 0});
  const Tensor<T> full_a = nabla::add(b, T(10));
  require_close(nabla::where(m2, full_a, b), make<T>(Shape{2, 3}, {9, -2, 7, -4, 5, -6}));
  require_close(nabla::where(strided_copy(m2), strided_copy(full_a), transposed_copy(b)),
                nabla::where(m2, full_a, b), 0, 0);
}

// ---------------------------------------------------------------------------
TEMPLATE_TEST_CASE("in-place add_, sub_, mul_, div_ broadcast the source and bump the version", "[elementwise]",
                   float, double) {
  using T = TestType;
  const Tensor<T> d(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor<T> row(Shape{3}, {1, 2, 3});
  auto v = d.version();
  const Tensor<T>& r = nabla::add_(d, row);
  CHECK(&r == &d);
  CHECK(d.version() > v);
  require_close(d, make<T>(Shape{2, 3}, {2, 4, 6, 5, 7, 9}));
  v = d.version();
  nabla::add_(d, row, T(-2));
  CHECK(d.version() > v);
  require_close(d, make<T>(Shape{2, 3}, {0, 0, 0, 3, 3, 3}));
  nabla::sub_(d, make<T>(Shape{2, 1}, {1, 2}));
  require_close(d, make<T>(Shape{2, 3}, {-1, -1, -1, 1, 1, 1}));
  nabla::mul_(d, make<T>(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
  require_close(d, make<T>(Shape{2, 3}, {-1, -2, -3, 4, 5, 6}));
  nabla::div_(d, Tensor<T>::scalar(2));
  require_close(d, make<T>(Shape{2, 3}, {-0.5, -1, -1.5, 2, 2.5, 3}));
  v = d.version();
  nabla::mul_(d, T(2));
  CHECK(d.version() > v);
  v = d.version();
  nabla::add_(d, T(1));
  CHECK(d.version() > v);
  require_close(d, make<T>(Shape{2, 3}, {0, -1, -2, 5, 6, 7}));
  // Into a non-contiguous destination: only the viewed elements change.
  const Tensor<T> base = seq<T>(Shape{3, 4});
  const Tensor<T> view = base.t();  // [4, 3]
  nabla::add_(view, make<T>(Shape{3}, {100, 200, 300}));
  require_close(base, nabla::add(seq<T>(Shape{3, 4}), make<T>(Shape{3, 1}, {100, 200, 300})));
  const Tensor<T> cols = seq<T>(Shape{2, 4}).slice(1, 0, 4, 2);
  nabla::mul_(cols, T(10));
  require_close(cols, make<T>(Shape{2, 2}, {0, 20, 40, 60}));
  nabla::add_(cols, T(1));
  require_close(cols, make<T>(Shape{2, 2}, {1, 21, 41, 61}));
  // Self-update: x += x.
  const Tensor<T> s(Shape{3}, {1, 2, 3});
  nabla::add_(s, s);
  require_close(s, make<T>(Shape{3}, {2, 4, 6}));
}

TEST_CASE("in-place ops reject sources that do not broadcast to the destination", "[elementwise]") {
  const Tensor<float> d(Shape{2, 3});
  CHECK_THROWS_AS(nabla::add_(d, Tensor<float>(Shape{4})), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::add_(d, Tensor<float>(Shape{4})), Catch::StartsWith("add_: shapes [2, 3] and [4]"));
  // Broadcastable together, but the result would be larger than dst.
  CHECK_THROWS_WITH(nabla::mul_(d, Tensor<float>(Shape{4, 2, 3})),
                    Catch::Contains("mul_: source shape [4, 2, 3] cannot be broadcast to destination shape [2, 3]"));
  CHECK_THROWS_WITH(nabla::sub_(Tensor<float>(Shape{3}), Tensor<float>(Shape{2, 3})), Catch::StartsWith("sub_:"));
  CHECK_THROWS_WITH(nabla::div_(d, Tensor<float>(Shape{3, 1})), Catch::StartsWith("div_:"));
  CHECK_THROWS_WITH(nabla::addcmul_(d, Tensor<float>(Shape{2, 3}), Tensor<float>(Shape{5})),
                    Catch::StartsWith("addcmul_:"));
  CHECK_THROWS_WITH(nabla::addcdiv_(d, Tensor<float>(Shape{3, 2, 3}), Tensor<float>(Shape{3})),
                    Catch::Contains("addcdiv_: shapes [3, 2, 3] and [3] cannot be broadcast to destination"));
  CHECK_THROWS_WITH(nabla::lerp_(d, Tensor<float>(Shape{2}), 0.5f), Catch::StartsWith("lerp_:"));
  // Nothing was written and no version bumped by a failed call.
  CHECK(d.to_vector() == std::vector<float>(6, 0.0f));
}

TEMPLATE_TEST_CASE("addcmul_, addcdiv_, lerp_, add_ with alpha match PyTorch", "[elementwise]", float, double) {
  using T = TestType;
  const auto& fx = nabla::testing::fixture("elementwise");
  const double rtol = std::is_same_v<T, double> ? 1e-12 : float_rtol;
  const double atol = std::is_same_v<T, double> ? 1e-13 : float_atol;
  {
    const auto c = fx.get("inplace_addcmul");
    const Tensor<T> d = c.tensor<T>("d");
    const auto v = d.version();
    nabla::addcmul_(d, c.tensor<T>("a"), c.tensor<T>("b"), static_cast<T>(c.real("value")));
    CHECK(d.version() > v);
    require_close(d, c.tensor<T>("y"), rtol, atol);
  }
  {
    const auto c = fx.get("inplace_addcdiv");
    const Tensor<T> d = c.tensor<T>("d");
    nabla::addcdiv_(d, c.tensor<T>("a"), c.tensor<T>("b"), static_cast<T>(c.real("value")));
    require_close(d, c.tensor<T>("y"), rtol, atol);
    // Strided destination and inputs.
    const Tensor<T> ds = strided_copy(c.tensor<T>("d"));
    nabla::addcdiv_(ds, transposed_copy(c.tensor<T>("a")), c.tensor<T>("b"), static_cast<T>(c.real("value")));
    require_close(ds, c.tensor<T>("y"), rtol, atol);
  }
  for (const char* name : {"inplace_lerp", "inplace_lerp_high"}) {
    const auto c = fx.get(name);
    const Tensor<T> d = c.tensor<T>("d");
    nabla::lerp_(d, c.tensor<T>("a"), static_cast<T>(c.real("weight")));
    require_close(d, c.tensor<T>("y"), rtol, atol);
  }
  {
    const auto c = fx.get("inplace_add_alpha");
    const Tensor<T> d = c.tensor<T>("d");
    nabla::add_(d, c.tensor<T>("b"), static_cast<T>(c.real("alpha")));
    require_close(d, c.tensor<T>("y"), rtol, atol);
  }
  // Hand-checked: lerp is exact at both ends.
  const Tensor<T> s(Shape{2}, {1, 3});
  nabla::lerp_(s, make<T>(Shape{2}, {5, 7}), T(1));
  require_close(s, make<T>(Shape{2}, {5, 7}), 0, 0);
  nabla::addcmul_(s, make<T>(Shape{2}, {2, 3}), Tensor<T>::scalar(4), T(0.5));
  require_close(s, make<T>(Shape{2}, {9, 13}), 0, 0);
}

TEST_CASE("integer tensors use the scalar path", "[elementwise]") {
  using I = std::int64_t;
  const Tensor<I> a(Shape{2, 3}, {1, -2, 3, -4, 5, -6});
  const Tensor<I> b(Shape{3}, {10, 20, 30});
  CHECK((a + b).to_vector() == std::vector<I>{11, 18, 33, 6, 25, 24});
  CHECK((a * 2).to_vector() == std::vector<I>{2, -4, 6, -8, 10, -12});
  CHECK(nabla::sub(I{1}, a).to_vector() == std::vector<I>{0, 3, -2, 5, -4, 7});
  CHECK(nabla::maximum(a, I{0}).to_vector() == std::vector<I>{1, 0, 3, 0, 5, 0});
  CHECK(nabla::abs(a).to_vector() == std::vector<I>{1, 2, 3, 4, 5, 6});
  CHECK(nabla::relu(a).to_vector() == std::vector<I>{1, 0, 3, 0, 5, 0});
  CHECK(nabla::gt(a, I{0}).to_vector() == std::vector<bool>{true, false, true, false, true, false});
  CHECK(nabla::where(nabla::gt(a, I{0}), a, b).to_vector() == std::vector<I>{1, 20, 3, 10, 5, 30});
  CHECK((-a.t()).to_vector() == std::vector<I>{-1, 4, 2, -5, -3, 6});
  const Tensor<std::int32_t> c(Shape{3}, {7, 8, 9});
  // `/` is true division, as in PyTorch; floor_divide keeps integers.
  CHECK((c - nabla::floor_divide(c, 2)).to_vector() == std::vector<std::int32_t>{4, 4, 5});
  CHECK((c / 2).to_vector() == std::vector<float>{3.5f, 4.0f, 4.5f});
}

TEMPLATE_TEST_CASE("0-d tensors and outputs that do not alias inputs", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> s = Tensor<T>::scalar(T(0.25));
  const Tensor<T> y = nabla::sqrt(s);
  CHECK(y.ndim() == 0);
  CHECK(y.item() == T(0.5));
  CHECK((s + s).item() == T(0.5));
  CHECK(nabla::add(s, make<T>(Shape{2}, {1, 2})).shape() == Shape{2});
  const Tensor<T> x(Shape{3}, {1, 2, 3});
  const Tensor<T> z = nabla::neg(x);
  CHECK_FALSE(z.storage().same_as(x.storage()));
  CHECK(x.to_vector() == std::vector<T>{1, 2, 3});
  const Tensor<T> w = x + T(0);
  CHECK_FALSE(w.storage().same_as(x.storage()));
}

TEMPLATE_TEST_CASE("atan2 quadrants", "[elementwise]", float, double) {
  using T = TestType;
  const Tensor<T> yv(Shape{4}, {1, 1, -1, -1});
  const Tensor<T> xv(Shape{4}, {1, -1, -1, 1});
  require_close(nabla::atan2(yv, xv),
                make<T>(Shape{4}, {std::numbers::pi / 4, 3 * std::numbers::pi / 4, -3 * std::numbers::pi / 4, -std::numbers::pi / 4}), 1e-6, 1e-7);
}

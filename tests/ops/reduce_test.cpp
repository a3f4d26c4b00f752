// Tests for ops/reduce.hpp: sums, means, extremes, variance, logsumexp,
// arg-reductions and sum_to, over every layout.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../support/fixture.hpp"
#include "../support/tensors.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/core/random.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/reduce.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::testing::require_close;
using nabla::testing::seq;
using nabla::testing::strided_copy;

namespace {

// The values of x stored in reversed axis order (a transposed layout).
template <class T>
Tensor<T> reversed_layout(const Tensor<T>& x) {
  Shape rev;
  for (std::size_t d = x.ndim(); d-- > 0;) rev.push_back(static_cast<std::int64_t>(d));
  return x.permute(rev).contiguous().permute(rev);
}

Shape axes_of(const nabla::testing::FixtureCase& c) { return Shape(c.integers("axes")); }
bool keepdim_of(const nabla::testing::FixtureCase& c) { return c.json().at("keepdim").get<bool>(); }

template <class T>
double rtol_for() {
  return std::is_same_v<T, double> ? 1e-12 : 2e-5;
}
template <class T>
double atol_for() {
  return std::is_same_v<T, double> ? 1e-12 : 2e-5;
}

}  // namespace

// ---------------------------------------------------------------------------
TEMPLATE_TEST_CASE("sum over all, one axis, several axes, keepdim", "[reduce]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor<T> all = nabla::sum(x);
  CHECK(all.ndim() == 0);
  CHECK(all.item() == 21);
  require_close(nabla::sum(x, 0), Tensor<T>(Shape{3}, {5, 7, 9}), 0, 0);
  require_close(nabla::sum(x, 1), Tensor<T>(Shape{2}, {6, 15}), 0, 0);
  require_close(nabla::sum(x, -1, true), Tensor<T>(Shape{2, 1}, {6, 15}), 0, 0);
  require_close(nabla::sum(x, 0, true), Tensor<T>(Shape{1, 3}, {5, 7, 9}), 0, 0);
  require_close(nabla::sum(x, Shape{0, 1}), Tensor<T>::scalar(21), 0, 0);
  require_close(nabla::sum(x, Shape{1, 0}, true), Tensor<T>(Shape{1, 1}, {21}), 0, 0);
  // An empty axis list reduces nothing (NumPy's axis=()).
  require_close(nabla::sum(x, Shape{}), x, 0, 0);
  // Axes of extent 1.
  require_close(nabla::sum(Tensor<T>(Shape{1, 3, 1}, {1, 2, 3}), Shape{0, 2}), Tensor<T>(Shape{3}, {1, 2, 3}), 0, 0);
  CHECK(nabla::sum(Tensor<T>::scalar(5)).item() == 5);
}

TEMPLATE_TEST_CASE("sum, mean, max, min, logsumexp match PyTorch over every axis set", "[reduce]", float, double) {
  using T = TestType;
  const auto& fx = nabla::testing::fixture("reduce");
  int checked = 0;
  for (const std::string& name : fx.names()) {
    const std::string op = name.substr(0, name.find('_'));
    if (op != "sum" && op != "mean" && op != "max" && op != "min" && op != "logsumexp") continue;
    if (!fx.get(name).has("axes")) continue;
    const auto c = fx.get(name);
    INFO("case " << name);
    const Tensor<T> x = c.tensor<T>("x");
    const Shape axes = axes_of(c);
    const bool keep = keepdim_of(c);
    Tensor<T> y;
    if (op == "sum") y = nabla::sum(x, axes, keep);
    if (op == "mean") y = nabla::mean(x, axes, keep);
    if (op == "max") y = nabla::max(x, axes, keep);
    if (op == "min") y = nabla::min(x, axes, keep);
    if (op == "logsumexp") y = nabla::logsumexp(x, axes, keep);
    require_close(y, c.tensor<T>("y"), rtol_for<T>(), atol_for<T>());
    ++checked;
  }
  CHECK(checked == 80);
}

TEMPLATE_TEST_CASE("reductions of transposed, permuted, sliced and expanded inputs equal the contiguous result",
                   "[reduce]", float, double) {
  using T = TestType;
  nabla::Generator gen(5);
  const Tensor<T> x = nabla::randn<T>(Shape{6, 7, 9}, gen);
  const std::vector<Shape> axis_sets = {Shape{0}, Shape{1}, Shape{2}, Shape{0, 1}, Shape{0, 2},
                                        Shape{1, 2}, Shape{0, 1, 2}, Shape{-1, 0}};
  const std::vector<Tensor<T>> layouts = {reversed_layout(x), strided_copy(x),
                                          x.permute(Shape{2, 0, 1}).contiguous().permute(Shape{1, 2, 0}),
                                          x.permute(Shape{1, 0, 2}).contiguous().permute(Shape{1, 0, 2})};
  for (const Shape& axes : axis_sets) {
    for (bool keep : {false, true}) {
      INFO("axes " << nabla::to_string(axes) << " keepdim " << keep);
      const Tensor<T> s = nabla::sum(x, axes, keep);
      const Tensor<T> mx = nabla::max(x, axes, keep);
      const Tensor<T> v = nabla::var(x, axes, 1, keep);
      for (const Tensor<T>& view : layouts) {
        REQUIRE_FALSE(view.is_contiguous());
        require_close(nabla::sum(view, axes, keep), s, 1e-5, 1e-5);
        require_close(nabla::max(view, axes, keep), mx, 0, 0);
        require_close(nabla::var(view, axes, 1, keep), v, 1e-5, 1e-5);
      }
    }
  }
  // Sliced rows and columns of a matrix, and a broadcast (stride 0) view.
  const Tensor<T> m = nabla::randn<T>(Shape{10, 12}, gen);
  const Tensor<T> sl = m.slice(0, 1, 10, 2).slice(1, 2, 11);
  for (std::int64_t axis : {0, 1}) {
    require_close(nabla::sum(sl, axis), nabla::sum(sl.contiguous(), axis), 1e-6, 1e-6);
    require_close(nabla::min(sl, axis), nabla::min(sl.contiguous(), axis), 0, 0);
    require_close(nabla::sum(m.t(), axis), nabla::sum(m.t().contiguous(), axis), 1e-6, 1e-6);
    CHECK(nabla::argmax(m.t(), axis).to_vector() == nabla::argmax(m.t().contiguous(), axis).to_vector());
  }
  const Tensor<T> row = nabla::randn<T>(Shape{1, 12}, gen);
  const Tensor<T> ex = row.expand(Shape{5, 12});
  require_close(nabla::sum(ex, 0), nabla::mul(row.reshape(Shape{12}), T(5)), 1e-6, 1e-6);
  require_close(nabla::sum(ex, 1), nabla::sum(ex.contiguous(), 1), 1e-6, 1e-6);
}

TEMPLATE_TEST_CASE("prod over all elements and along an axis", "[reduce]", float, double) {
  using T = TestType;
  const Tensor<T> x(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(nabla::prod(x).item() == 720);
  require_close(nabla::prod(x, 0), Tensor<T>(Shape{3}, {4, 10, 18}), 0, 0);
  require_close(nabla::prod(x, 1, true), Tensor<T>(Shape{2, 1}, {6, 120}), 0, 0);
  const auto& fx = nabla::testing::fixture("reduce");
  const auto c = fx.get("prod_all");
  require_close(nabla::prod(c.tensor<T>("x")), c.tensor<T>("y"), 1e-5, 1e-7);
  const auto d = fx.get("prod_a1");
  require_close(nabla::prod(d.tensor<T>("x"), d.integer("axis")), d.tensor<T>("y"), 1e-5, 1e-7);
  CHECK(nabla::prod(Tensor<T>(Shape{0})).item() == 1);
}

TEMPLATE_TEST_CASE("var and stddev with corrections 0, 1, 2 match PyTorch", "[reduce]", float, double) {
  using T = TestType;
  const auto& fx = nabla::testing::fixture("reduce");
  int checked = 0;
  for (const std::string& name : fx.names()) {
    const bool is_var = name.rfind("var_", 0) == 0;
    const bool is_std = name.rfind("std_", 0) == 0;
    if (!is_var && !is_std) continue;
    const auto c = fx.get(name);
    INFO("case " << name);
    const Tensor<T> x = c.tensor<T>("x");
    const std::int64_t corr = c.integer("correction");
    const Tensor<T> y = is_var ? nabla::var(x, axes_of(c), corr) : nabla::stddev(x, axes_of(c), corr);
    require_close(y, c.tensor<T>("y"), rtol_for<T>() * 10, atol_for<T>());
    ++checked;
  }
  CHECK(checked == 24);
  // Hand-checked.
  const Tensor<T> x(Shape{2, 2}, {1, 2, 3, 4});
  CHECK(nabla::var(x).item() == Approx(5.0 / 3.0));
  require_close(nabla::var(x, 0, 0), Tensor<T>(Shape{2}, {1, 1}), 1e-7, 0);
  require_close(nabla::stddev(x, 1, 1, true), nabla::full<T>(Shape{2, 1}, static_cast<T>(std::sqrt(0.5))), 1e-6, 0);
  CHECK(nabla::stddev(x).item() == Approx(std::sqrt(5.0 / 3.0)));
  // n <= correction: the divisor clamps to 0, giving NaN (0/0) or inf, as PyTorch.
  CHECK(std::isnan(nabla::var(Tensor<T>(Shape{1}, {3}), 0, 2).item()));
  CHECK(std::isinf(nabla::var(Tensor<T>(Shape{2}, {3, 4}), 0, 2).item()));
}

TEMPLATE_TEST_CASE("argmax and argmin pick the first of ties, as PyTorch", "[reduce]", float, double) {
  using T = TestType;
  const auto& fx = nabla::testing::fixture("reduce");
  const auto c = fx.get("arg_ties");
  const Tensor<T> x = c.tensor<T>("x");
  auto ints = [&](const char* key) { return c.tensor<std::int64_t>(key).to_vector(); };
  CHECK(nabla::argmax(x, 0).to_vector() == ints("argmax0"));
  CHECK(nabla::argmax(x, 1).to_vector() == ints("argmax1"));
  CHECK(nabla::argmin(x, 0).to_vector() == ints("argmin0"));
  CHECK(nabla::argmin(x, -1).to_vector() == ints("argmin1"));
  CHECK(nabla::argmax(x).item() == c.tensor<std::int64_t>("argmax_all").item());
  CHECK(nabla::argmin(x).item() == c.tensor<std::int64_t>("argmin_all").item());
  CHECK(nabla::argmax(x).ndim() == 0);
  const Tensor<std::int64_t> k = nabla::argmax(x, 1, true);
  CHECK(k.shape() == Shape{3, 1});
  CHECK(k.to_vector() == ints("argmax1"));
  // Strided views give the same indices.
  CHECK(nabla::argmax(strided_copy(x), 0).to_vector() == ints("argmax0"));
  CHECK(nabla::argmin(x.t().contiguous().t(), 1).to_vector() == ints("argmin1"));
  const auto r = fx.get("arg_random");
  const Tensor<T> rx = r.tensor<T>("x");
  CHECK(nabla::argmax(rx, 1).to_vector() == r.tensor<std::int64_t>("argmax1").to_vector());
  CHECK(nabla::argmin(rx, 2).to_vector() == r.tensor<std::int64_t>("argmin2").to_vector());
  CHECK(nabla::argmax(rx, 0).to_vector() == r.tensor<std::int64_t>("argmax0").to_vector());
  CHECK(nabla::argmax(reversed_layout(rx), 1).to_vector() == r.tensor<std::int64_t>("argmax1").to_vector());
}

TEMPLATE_TEST_CASE("max_with_indices and min_with_indices", "[reduce]", float, double) {
  using T = TestType;
  const auto c = nabla::testing::fixture("reduce").get("arg_ties");
  const Tensor<T> x = c.tensor<T>("x");
  const auto mx = nabla::max_with_indices(x, 1);
  require_close(mx.values, c.tensor<T>("max1"), 0, 0);
  CHECK(mx.indices.to_vector() == c.tensor<std::int64_t>("max1_idx").to_vector());
  const auto mn = nabla::min_with_indices(x, 0);
  require_close(mn.values, c.tensor<T>("min0"), 0, 0);
  CHECK(mn.indices.to_vector() == c.tensor<std::int64_t>("min0_idx").to_vector());
  const auto kd = nabla::max_with_indices(x, 0, true);
  CHECK(kd.values.shape() == Shape{1, 4});
  CHECK(kd.indices.shape() == Shape{1, 4});
  require_close(kd.values, nabla::max(x, 0, true), 0, 0);
  // Values agree with max(x, axis) on a random 3-D tensor, every axis.
  nabla::Generator gen(9);
  const Tensor<T> r = nabla::randn<T>(Shape{4, 5, 6}, gen);
  for (std::int64_t axis = 0; axis < 3; ++axis) {
    const auto vi = nabla::max_with_indices(r, axis);
    require_close(vi.values, nabla::max(r, axis), 0, 0);
    CHECK(vi.indices.to_vector() == nabla::argmax(r, axis).to_vector());
  }
}

TEMPLATE_TEST_CASE("NaN wins max, min, argmax and argmin", "[reduce]", float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> v(37, T(1));
  v[20] = nan;
  v[30] = nan;
  v[5] = T(9);
  const Tensor<T> x(Shape{37}, v);
  CHECK(std::isnan(nabla::max(x).item()));
  CHECK(std::isnan(nabla::min(x).item()));
  CHECK(nabla::argmax(x).item() == 20);
  CHECK(nabla::argmin(x).item() == 20);
  const Tensor<T> m = x.reshape(Shape{37, 1});
  CHECK(nabla::argmax(m, 0).item() == 20);
  CHECK(std::isnan(nabla::max(m, 0).item()));
  const Tensor<T> cols(Shape{3, 2}, {1, 2, nan, 0, 5, nan});
  const auto r = nabla::max_with_indices(cols, 0);
  CHECK(std::isnan(r.values.to_vector()[0]));
  CHECK(std::isnan(r.values.to_vector()[1]));
  CHECK(r.indices.to_vector() == std::vector<std::int64_t>{1, 2});
}

TEMPLATE_TEST_CASE("logsumexp is stable for huge and -inf inputs", "[reduce]", float, double) {
  using T = TestType;
  const auto c = nabla::testing::fixture("reduce").get("logsumexp_big");
  const Tensor<T> y = nabla::logsumexp(c.tensor<T>("x"), 1);
  require_close(y, c.tensor<T>("y"), 1e-6, 1e-6);
  for (T v : y.to_vector()) CHECK(std::isfinite(v));
  const T inf = std::numeric_limits<T>::infinity();
  const Tensor<T> z(Shape{2, 2}, {-inf, -inf, -inf, 0});
  const auto lz = nabla::logsumexp(z, 1).to_vector();
  CHECK(lz[0] == -inf);
  CHECK(lz[1] == 0);
  CHECK(nabla::logsumexp(Tensor<T>(Shape{3}, {1e4, 1e4, 1e4})).item() == Approx(1e4 + std::log(3.0)));
  CHECK(nabla::logsumexp(Tensor<T>(Shape{1}, {inf})).item() == inf);
  CHECK(nabla::logsumexp(Tensor<T>(Shape{0, 3}), 0).to_vector() == std::vector<T>(3, -inf));
}

TEST_CASE("pairwise float sum: 10M of 0.1 is within 1e-3 of 1e6", "[reduce]") {
  const std::int64_t n = 10'000'000;
  const Tensor<float> x = nabla::full<float>(Shape{n}, 0.1f);
  const double s = nabla::sum(x).item();
  CHECK(std::abs(s - 1e6) / 1e6 < 1e-3);
  // Through the strided layouts: reduce [n/10, 10] down the long axis.
  const Tensor<float> m = x.reshape(Shape{n / 10, 10});
  for (float v : nabla::sum(m, 0).to_vector()) CHECK(std::abs(v - 1e5) / 1e5 < 1e-3);
  const double mean = nabla::mean(x).item();
  CHECK(std::abs(mean - 0.1) < 1e-4);
  // A naive float loop is far off, which is why this matters.
  float naive = 0;
  for (std::int64_t i = 0; i < n; ++i) naive += 0.1f;
  CHECK(std::abs(naive - 1e6) / 1e6 > 1e-2);
}

TEMPLATE_TEST_CASE("SIMD tails: sum, max, argmax over lengths 1..40 and odd large lengths", "[reduce]", float,
                   double) {
  using T = TestType;
  std::vector<std::int64_t> lengths;
  for (std::int64_t n = 1; n <= 40; ++n) lengths.push_back(n);
  for (std::int64_t n : {1001, 1025, 4097, 70001, 140003}) lengths.push_back(n);
  for (std::int64_t n : lengths) {
    INFO("length " << n);
    // Small integers: every partial sum is exact in float up to 2^24.
    std::vector<T> v(static_cast<std::size_t>(n));
    double expect = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      v[static_cast<std::size_t>(i)] = static_cast<T>((i * 7) % 11);
      expect += static_cast<double>((i * 7) % 11);
    }
    v[static_cast<std::size_t>(n - 1)] = T(50);  // the max sits in the tail
    expect += 50 - static_cast<double>(((n - 1) * 7) % 11);
    const Tensor<T> x(Shape{n}, v);
    CHECK(nabla::sum(x).item() == static_cast<T>(expect));
    CHECK(nabla::max(x).item() == 50);
    CHECK(nabla::argmax(x).item() == n - 1);
    CHECK(nabla::min(x).item() == (n == 1 ? T(50) : T(0)));
    CHECK(nabla::argmin(x).item() == 0);
    // Columns: the same values as [n, 3].
    const Tensor<T> cols = x.reshape(Shape{n, 1}).expand(Shape{n, 3}).contiguous();
    require_close(nabla::sum(cols, 0), Tensor<T>(Shape{3}, std::vector<T>(3, static_cast<T>(expect))), 0, 0);
    CHECK(nabla::argmax(cols, 0).to_vector() == std::vector<std::int64_t>(3, n - 1));
  }
  CHECK(nabla::sum(Tensor<T>(Shape{0})).item() == 0);
}

TEMPLATE_TEST_CASE("empty tensors: sum 0, mean NaN, max throws naming the op", "[reduce]", float, double) {
  using T = TestType;
  const Tensor<T> e(Shape{0, 3});
  CHECK(nabla::sum(e).item() == 0);
  require_close(nabla::sum(e, 0), Tensor<T>(Shape{3}), 0, 0);
  CHECK(nabla::sum(e, 1).shape() == Shape{0});
  CHECK(std::isnan(nabla::mean(e).item()));
  CHECK(std::isnan(nabla::mean(e, 0).to_vector()[1]));
  CHECK_THROWS_AS(nabla::max(e), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::max(e), Catch::StartsWith("max: cannot reduce an empty tensor of shape [0, 3]"));
  CHECK_THROWS_WITH(nabla::min(e, 0), Catch::StartsWith("min: cannot reduce an empty tensor"));
  // Reducing a non-empty axis of an empty tensor is fine: the result is empty.
  CHECK(nabla::max(e, 1).shape() == Shape{0});
  CHECK_THROWS_WITH(nabla::argmax(e), Catch::StartsWith("argmax: cannot reduce an empty tensor"));
  CHECK_THROWS_WITH(nabla::argmin(e, 0), Catch::StartsWith("argmin: cannot reduce over axis 0 of extent 0"));
  CHECK_THROWS_WITH(nabla::max_with_indices(e, 0), Catch::StartsWith("max:"));
  CHECK(nabla::argmax(e, 1).shape() == Shape{0});
  CHECK_THROWS_WITH(nabla::mean(Tensor<std::int64_t>(Shape{0})), Catch::StartsWith("mean:"));
}

TEST_CASE("reduction errors name the op and the axes", "[reduce]") {
  const Tensor<float> x(Shape{2, 3});
  CHECK_THROWS_AS(nabla::sum(x, 2), nabla::IndexError);
  CHECK_THROWS_WITH(nabla::sum(x, 2), Catch::StartsWith("sum: axis 2 is out of range for a tensor of rank 2"));
  CHECK_THROWS_WITH(nabla::mean(x, -3), Catch::StartsWith("mean: axis -3"));
  CHECK_THROWS_AS(nabla::sum(x, Shape{1, -1}), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::sum(x, Shape{1, -1}), Catch::StartsWith("sum: axis -1 appears twice in [1, -1]"));
  CHECK_THROWS_WITH(nabla::max(x, Shape{0, 0}), Catch::StartsWith("max: axis 0 appears twice"));
  CHECK_THROWS_WITH(nabla::var(x, Shape{0, 5}), Catch::StartsWith("var: axis 5"));
  CHECK_THROWS_WITH(nabla::var(x, 0, -1), Catch::StartsWith("var: correction must be >= 0"));
  CHECK_THROWS_WITH(nabla::stddev(x, 4), Catch::StartsWith("stddev: axis 4"));
  CHECK_THROWS_WITH(nabla::logsumexp(x, 3), Catch::StartsWith("logsumexp: axis 3"));
  CHECK_THROWS_WITH(nabla::argmax(x, 2), Catch::StartsWith("argmax: axis 2"));
  CHECK_THROWS_WITH(nabla::prod(x, Shape{1, 1}), Catch::StartsWith("prod: axis 1 appears twice"));
  CHECK_THROWS_AS(nabla::sum_to(x, Shape{4}), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::sum_to(x, Shape{4}), Catch::StartsWith("sum_to: shape [2, 3] cannot be summed to [4]"));
  CHECK_THROWS_WITH(nabla::sum_to(x, Shape{1, 2, 3}), Catch::StartsWith("sum_to:"));
  CHECK_THROWS_WITH(nabla::sum_to(x, Shape{2, 2}), Catch::StartsWith("sum_to:"));
}

TEMPLATE_TEST_CASE("sum_to undoes broadcasting and returns the input when shapes match", "[reduce]", float,
                   double) {
  using T = TestType;
  const auto c = nabla::testing::fixture("reduce").get("sum_to");
  const Tensor<T> x = c.tensor<T>("x");
  require_close(nabla::sum_to(x, Shape{4}), c.tensor<T>("to_4"), rtol_for<T>(), atol_for<T>());
  require_close(nabla::sum_to(x, Shape{3, 1}), c.tensor<T>("to_3_1"), rtol_for<T>(), atol_for<T>());
  require_close(nabla::sum_to(x, Shape{1, 3, 1}), c.tensor<T>("to_1_3_1"), rtol_for<T>(), atol_for<T>());
  require_close(nabla::sum_to(x, Shape{2, 1, 4}), c.tensor<T>("to_2_1_4"), rtol_for<T>(), atol_for<T>());
  CHECK(nabla::sum_to(x, Shape{}).item() == Approx(nabla::sum(x).item()));
  // Same shape: the very same tensor, no copy.
  CHECK(nabla::sum_to(x, x.shape()).is_same(x));
  // The fast shapes: [N, C] -> [C] and [N, C] -> [N, 1].
  const Tensor<T> m(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  require_close(nabla::sum_to(m, Shape{2}), Tensor<T>(Shape{2}, {9, 12}), 0, 0);
  require_close(nabla::sum_to(m, Shape{3, 1}), Tensor<T>(Shape{3, 1}, {3, 7, 11}), 0, 0);
  require_close(nabla::sum_to(m, Shape{1, 1}), Tensor<T>(Shape{1, 1}, {21}), 0, 0);
  require_close(nabla::sum_to(m.t(), Shape{2, 1}), Tensor<T>(Shape{2, 1}, {9, 12}), 0, 0);
  // Broadcast result with a 0-size dimension.
  require_close(nabla::sum_to(Tensor<T>(Shape{0, 2}), Shape{2}), Tensor<T>(Shape{2}), 0, 0);
}

TEMPLATE_TEST_CASE("reductions give identical bits for 1 and 2 threads", "[reduce]", float, double) {
  using T = TestType;
  nabla::Generator gen(21);
  const Tensor<T> x = nabla::randn<T>(Shape{300000}, gen);
  const Tensor<T> m = x.reshape(Shape{600, 500});
  const int threads = nabla::get_num_threads();
  auto run = [&] {
    return std::vector<Tensor<T>>{nabla::sum(x), nabla::sum(m, 0), nabla::sum(m, 1), nabla::max(m, 0),
                                  nabla::mean(m.t(), 0), nabla::var(m, 1), nabla::logsumexp(m, 0)};
  };
  nabla::set_num_threads(1);
  const auto one = run();
  nabla::set_num_threads(2);
  const auto two = run();
  nabla::set_num_threads(threads);
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(one[i].to_vector() == two[i].to_vector());
  }
}

TEMPLATE_TEST_CASE("large reductions agree with a double-precision reference", "[reduce]", float, double) {
  using T = TestType;
  nabla::Generator gen(33);
  const Tensor<T> m = nabla::rand<T>(Shape{513, 1031}, gen, T(-1), T(1));
  const auto v = m.to_vector();
  std::vector<double> rows(513, 0.0), cols(1031, 0.0);
  double total = 0;
  for (std::size_t i = 0; i < 513; ++i) {
    for (std::size_t j = 0; j < 1031; ++j) {
      const double e = static_cast<double>(v[i * 1031 + j]);
      rows[i] += e;
      cols[j] += e;
      total += e;
    }
  }
  const auto r = nabla::sum(m, 1).to_vector();
  const auto c = nabla::sum(m, 0).to_vector();
  const auto ct = nabla::sum(m.t(), 1).to_vector();
  for (std::size_t i = 0; i < 513; ++i) CHECK(r[i] == Approx(rows[i]).margin(1e-4));
  for (std::size_t j = 0; j < 1031; ++j) {
    CHECK(c[j] == Approx(cols[j]).margin(1e-4));
    CHECK(ct[j] == c[j]);
  }
  CHECK(nabla::sum(m).item() == Approx(total).margin(1e-3));
  CHECK(nabla::mean(m, Shape{0, 1}).item() == Approx(total / (513.0 * 1031.0)).margin(1e-6));
}

TEMPLATE_TEST_CASE("mean over axes lists with negative axes", "[reduce]", float, double) {
  using T = TestType;
  const Tensor<T> x = seq<T>(Shape{2, 3, 4});
  require_close(nabla::mean(x, Shape{-1, 0}), Tensor<T>(Shape{3}, {7.5, 11.5, 15.5}), 1e-6, 0);
  require_close(nabla::mean(x, 1, true), nabla::div(nabla::sum(x, 1, true), T(3)), 1e-6, 0);
  CHECK(nabla::mean(x).item() == Approx(11.5));
  CHECK(nabla::mean(x, Shape{0, 1, 2}, true).shape() == Shape{1, 1, 1});
  require_close(nabla::max(x, Shape{0, 2}), Tensor<T>(Shape{3}, {15, 19, 23}), 0, 0);
  require_close(nabla::min(x, Shape{-3, -2}, true), Tensor<T>(Shape{1, 1, 4}, {0, 1, 2, 3}), 0, 0);
}

TEST_CASE("integer reductions", "[reduce]") {
  using I = std::int64_t;
  const Tensor<I> x(Shape{2, 3}, {1, -2, 3, 4, 5, -6});
  CHECK(nabla::sum(x).item() == 5);
  CHECK(nabla::sum(x, 0).to_vector() == std::vector<I>{5, 3, -3});
  CHECK(nabla::prod(x, 1).to_vector() == std::vector<I>{-6, -120});
  CHECK(nabla::max(x).item() == 5);
  CHECK(nabla::min(x, 1).to_vector() == std::vector<I>{-2, -6});
  CHECK(nabla::argmax(x, 1).to_vector() == std::vector<I>{2, 1});
  CHECK(nabla::argmin(x).item() == 5);
  CHECK(nabla::sum_to(x, Shape{3}).to_vector() == std::vector<I>{5, 3, -3});
}

TEST_CASE("integer sum and prod accumulate in int64, as PyTorch", "[reduce][dtype]") {
  // Before: sum(full<uint8_t>({300}, 1)) wrapped to 44.
  const auto bytes = nabla::full<std::uint8_t>(Shape{300}, 1);
  const Tensor<std::int64_t> total = nabla::sum(bytes);
  CHECK(total.item() == 300);
  const auto rows = nabla::full<std::uint8_t>(Shape{2, 200}, 255);
  CHECK(nabla::sum(rows, 1).to_vector() == std::vector<std::int64_t>{51000, 51000});
  CHECK(nabla::sum(rows, Shape{0}, true).shape() == Shape({1, 200}));
  const auto small = nabla::full<std::int8_t>(Shape{20}, -100);
  CHECK(nabla::sum(small).item() == -2000);
  const auto i32 = nabla::full<std::int32_t>(Shape{3}, 2'000'000'000);
  CHECK(nabla::sum(i32).item() == 6'000'000'000LL);
  // prod: 3^30 does not fit in int32, fits in int64.
  const auto threes = nabla::full<std::int32_t>(Shape{30}, 3);
  CHECK(nabla::prod(threes).item() == 205891132094649LL);
  CHECK(nabla::prod(nabla::full<std::uint8_t>(Shape{2, 4}, 16), 1).to_vector() ==
        std::vector<std::int64_t>{65536, 65536});
  // Floating tensors keep their type.
  static_assert(std::is_same_v<decltype(nabla::sum(Tensor<float>(Shape{2}))), Tensor<float>>);
  static_assert(std::is_same_v<decltype(nabla::prod(Tensor<double>(Shape{2}))), Tensor<double>>);
}

TEST_CASE("mean, var and std of integer tensors are errors, never a truncated result", "[reduce][dtype]") {
  const Tensor<std::int64_t> x(Shape{3}, {1, 2, 4});
  CHECK_THROWS_AS(nabla::mean(x), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::mean(x), Catch::StartsWith("mean: needs a floating-point tensor") &&
                                        Catch::Contains("64-bit integers of shape [3]") &&
                                        Catch::Contains("to<double>()"));
  CHECK_THROWS_WITH(nabla::mean(x, 0), Catch::StartsWith("mean:"));
  CHECK_THROWS_WITH(nabla::var(x), Catch::StartsWith("var:"));
  CHECK_THROWS_WITH(nabla::stddev(Tensor<std::uint8_t>(Shape{2})), Catch::StartsWith("std"));
  // The documented way: convert first.
  CHECK(nabla::mean(x.to<double>()).item() == Approx(7.0 / 3.0));
}

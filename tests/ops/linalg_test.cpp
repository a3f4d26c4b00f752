// Tests for ops/linalg.hpp: matmul in every rank combination, transposed and
// sliced operands, matmul_into, linear, dot/outer, against PyTorch fixtures.
#include <catch2/catch.hpp>

#include <vector>

#include "../support/fixture.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/ops/linalg.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::testing::fixture;
using nabla::testing::require_close;

TEST_CASE("matmul: hand-checked 2x2 and 2x3 products", "[linalg]") {
  const Tensor<float> a(Shape{2, 2}, {1, 2, 3, 4});
  const Tensor<float> b(Shape{2, 2}, {5, 6, 7, 8});
  CHECK(nabla::matmul(a, b).to_vector() == std::vector<float>{19, 22, 43, 50});
  const Tensor<double> c(Shape{2, 3}, {1, 0, 2, 0, 1, 0});
  const Tensor<double> d(Shape{3, 1}, {1, 2, 3});
  const auto cd = nabla::matmul(c, d);
  CHECK(cd.shape() == Shape{2, 1});
  CHECK(cd.to_vector() == std::vector<double>{7, 2});
}

TEMPLATE_TEST_CASE("matmul: every rank combination matches PyTorch", "[linalg]", float, double) {
  const double rtol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
  const double atol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
  for (const char* name : {"mm", "mv", "vm", "dot", "bmm", "batch_by_matrix", "matrix_by_batch", "batch_by_vector",
                           "vector_by_batch", "broadcast_batch", "wide"}) {
    INFO("case " << name);
    const auto c = fixture("linalg").get(name);
    const auto out = nabla::matmul(c.tensor<TestType>("a"), c.tensor<TestType>("b"));
    require_close(out, c.tensor<double>("out"), rtol, atol);
  }
}

TEST_CASE("matmul: 1-D by 1-D is a 0-d dot product", "[linalg]") {
  const Tensor<double> a(Shape{3}, {1, 2, 3});
  const Tensor<double> b(Shape{3}, {4, 5, 6});
  const auto r = nabla::matmul(a, b);
  CHECK(r.ndim() == 0);
  CHECK(r.item() == 32.0);
  CHECK(nabla::dot(a, b).item() == 32.0);
}

TEMPLATE_TEST_CASE("matmul: transposed operands are read in place and match contiguous", "[linalg]", float, double) {
  nabla::Generator gen(7);
  const auto a = nabla::randn<TestType>(Shape{9, 6}, gen);
  const auto b = nabla::randn<TestType>(Shape{11, 9}, gen);
  // (a^T)(b^T) with both transposes as views [6, 9] x [9, 11].
  const auto expect = nabla::matmul(a.t().contiguous(), b.t().contiguous());
  require_close(nabla::matmul(a.t(), b.t()), expect, 1e-5, 1e-5);
  require_close(nabla::matmul(a.t().contiguous(), b.t()), expect, 1e-5, 1e-5);
  require_close(nabla::matmul(a.t(), b.t().contiguous()), expect, 1e-5, 1e-5);
  // Batched transposed views: [2, 5, 4] from a [2, 4, 5] buffer.
  const auto x = nabla::randn<TestType>(Shape{2, 4, 5}, gen);
  const auto y = nabla::randn<TestType>(Shape{2, 4, 3}, gen);
  require_close(nabla::matmul(x.transpose(1, 2), y), nabla::matmul(x.transpose(1, 2).contiguous(), y), 1e-5, 1e-5);
}

TEMPLATE_TEST_CASE("matmul: sliced, strided and expanded operands match contiguous", "[linalg]", float, double) {
  nabla::Generator gen(11);
  const auto big = nabla::randn<TestType>(Shape{10, 12}, gen);
  const auto rows = big.slice(0, 1, 7);           // row slice: ld = 12
  const auto cols = big.slice(1, 2, 9);           // column slice: rows still contiguous, ld = 12
  const auto stepped = big.slice(1, 0, 12, 2);    // every other column: packed first
  const auto rhs = nabla::randn<TestType>(Shape{12, 4}, gen);
  const auto rhs7 = nabla::randn<TestType>(Shape{7, 3}, gen);
  const auto rhs6 = nabla::randn<TestType>(Shape{6, 5}, gen);
  require_close(nabla::matmul(rows, rhs), nabla::matmul(rows.contiguous(), rhs), 1e-5, 1e-5);
  require_close(nabla::matmul(cols, rhs7), nabla::matmul(cols.contiguous(), rhs7), 1e-5, 1e-5);
  require_close(nabla::matmul(stepped, rhs6), nabla::matmul(stepped.contiguous(), rhs6), 1e-5, 1e-5);
  // A stepped vector and an expanded (stride-0) batch.
  const auto v = big.select(1, 3);  // column 3: stride 12
  require_close(nabla::matmul(big.t(), v), nabla::matmul(big.t().contiguous(), v.contiguous()), 1e-5, 1e-5);
  const auto m = nabla::randn<TestType>(Shape{1, 3, 4}, gen);
  const auto e = m.expand(Shape{5, 3, 4});
  const auto w = nabla::randn<TestType>(Shape{5, 4, 2}, gen);
  require_close(nabla::matmul(e, w), nabla::matmul(e.contiguous(), w), 1e-5, 1e-5);
}

TEST_CASE("matmul: empty extents give empty or zero results", "[linalg]") {
  const Tensor<float> a(Shape{3, 0});
  const Tensor<float> b(Shape{0, 2});
  const auto r = nabla::matmul(a, b);
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.to_vector() == std::vector<float>(6, 0.0f));
  CHECK(nabla::matmul(Tensor<float>(Shape{0, 4}), Tensor<float>(Shape{4, 2})).shape() == Shape{0, 2});
}

TEST_CASE("matmul: shape errors name the op and the shapes", "[linalg]") {
  const Tensor<float> a(Shape{64, 784});
  const Tensor<float> b(Shape{256, 10});
  CHECK_THROWS_AS(nabla::matmul(a, b), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::matmul(a, b), "matmul: shapes [64, 784] and [256, 10] do not align (784 != 256)");
  CHECK_THROWS_WITH(nabla::matmul(Tensor<float>(Shape{3}), Tensor<float>(Shape{4})),
                    "matmul: shapes [3] and [4] do not align (3 != 4)");
  CHECK_THROWS_WITH(nabla::matmul(Tensor<float>(Shape{2, 3, 4}), Tensor<float>(Shape{5, 4, 2})),
                    Catch::Contains("batch dimensions") && Catch::Contains("[2, 3, 4]") &&
                        Catch::Contains("[5, 4, 2]"));
  CHECK_THROWS_WITH(nabla::matmul(Tensor<float>::scalar(1.0f), Tensor<float>(Shape{4})),
                    Catch::Contains("matmul: both operands need at least one dimension"));
}

TEMPLATE_TEST_CASE("matmul_into: overwrite, accumulate and scale", "[linalg]", float, double) {
  const Tensor<TestType> a(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor<TestType> b(Shape{3, 2}, {1, 0, 0, 1, 1, 1});
  const Tensor<TestType> out(Shape{2, 2}, {100, 100, 100, 100});
  nabla::matmul_into(out, a, b);  // beta = 0: the old values are ignored
  CHECK(out.to_vector() == std::vector<TestType>{4, 5, 10, 11});
  const auto v0 = out.version();
  nabla::matmul_into(out, a, b, TestType(1), TestType(1));
  CHECK(out.to_vector() == std::vector<TestType>{8, 10, 20, 22});
  CHECK(out.version() != v0);
  nabla::matmul_into(out, a, b, TestType(2), TestType(0.5));
  CHECK(out.to_vector() == std::vector<TestType>{12, 15, 30, 33});
  // Transposed operand accumulating, as autograd does for dW = x^T dy.
  const Tensor<TestType> g(Shape{3, 3}, std::vector<TestType>(9, TestType(1)));
  nabla::matmul_into(g, a.t(), a, TestType(1), TestType(1));
  // 1 + (a^T a): columns of a are (1,4), (2,5), (3,6).
  CHECK(g.to_vector() == std::vector<TestType>{18, 23, 28, 23, 30, 37, 28, 37, 46});
}

TEST_CASE("matmul_into: rejects a wrong or non-contiguous output", "[linalg]") {
  const Tensor<float> a(Shape{2, 3});
  const Tensor<float> b(Shape{3, 4});
  CHECK_THROWS_WITH(nabla::matmul_into(Tensor<float>(Shape{2, 5}), a, b),
                    "matmul_into: output shape [2, 5] does not match [2, 4], the product of [2, 3] and [3, 4]");
  CHECK_THROWS_WITH(nabla::matmul_into(Tensor<float>(Shape{4, 2}).t(), a, b), Catch::Contains("is not contiguous"));
  CHECK_THROWS_WITH(nabla::matmul_into(Tensor<float>(Shape{2, 4}), a, Tensor<float>(Shape{2, 4})),
                    "matmul_into: shapes [2, 3] and [2, 4] do not align (3 != 2)");
}

TEMPLATE_TEST_CASE("linear: x @ w^T + b matches PyTorch, with and without bias", "[linalg]", float, double) {
  const auto c = fixture("linalg").get("linear");
  require_close(nabla::linear(c.tensor<TestType>("x"), c.tensor<TestType>("w"), c.tensor<TestType>("b")),
                c.tensor<double>("out"), 1e-5, 1e-5);
  const auto c3 = fixture("linalg").get("linear_3d_nobias");
  require_close(nabla::linear(c3.tensor<TestType>("x"), c3.tensor<TestType>("w")), c3.tensor<double>("out"), 1e-5,
                1e-5);
  // A weight stored transposed ([in, out] buffer viewed as [out, in]).
  const auto w = c.tensor<TestType>("w");
  require_close(nabla::linear(c.tensor<TestType>("x"), w.t().contiguous().t(), c.tensor<TestType>("b")),
                c.tensor<double>("out"), 1e-5, 1e-5);
}

TEST_CASE("linear: shape errors", "[linalg]") {
  const Tensor<float> x(Shape{64, 784});
  CHECK_THROWS_WITH(nabla::linear(x, Tensor<float>(Shape{256, 100})),
                    "linear: input [64, 784] has 784 features but weight [256, 100] expects 100");
  CHECK_THROWS_WITH(nabla::linear(x, Tensor<float>(Shape{256, 784}), Tensor<float>(Shape{10})),
                    "linear: bias [10] does not match weight [256, 784] (expects [256])");
  CHECK_THROWS_WITH(nabla::linear(x, Tensor<float>(Shape{784})), Catch::Contains("linear: weight must be 2-D"));
}

TEMPLATE_TEST_CASE("dot and outer", "[linalg]", float, double) {
  const auto c = fixture("linalg").get("outer");
  require_close(nabla::outer(c.tensor<TestType>("a"), c.tensor<TestType>("b")), c.tensor<double>("out"), 1e-6,
                1e-6);
  CHECK_THROWS_WITH(nabla::dot(Tensor<TestType>(Shape{3}), Tensor<TestType>(Shape{4})),
                    "dot: expected two 1-D tensors of equal length, got shapes [3] and [4]");
  CHECK_THROWS_AS(nabla::outer(Tensor<TestType>(Shape{3, 1}), Tensor<TestType>(Shape{4})), nabla::ShapeError);
}

TEST_CASE("matmul: large product agrees with a naive loop in double", "[linalg]") {
  nabla::Generator gen(3);
  const auto a = nabla::randn<double>(Shape{70, 130}, gen);
  const auto b = nabla::randn<double>(Shape{130, 90}, gen);
  const auto c = nabla::matmul(a, b);
  double worst = 0;
  for (std::int64_t i = 0; i < 70; ++i) {
    for (std::int64_t j = 0; j < 90; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < 130; ++k) s += a(i, k) * b(k, j);
      worst = std::max(worst, std::abs(s - c(i, j)));
    }
  }
  CHECK(worst < 1e-10);
}

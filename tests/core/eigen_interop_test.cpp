// Tests for the Eigen interop: zero-copy matrix maps over tensors and
// tensors copied from Eigen matrices and expressions.
#include <catch2/catch.hpp>

#include <vector>

// Brings <Eigen/Core> (inside nabla's warning guards: a test file that
// included Eigen first would meet GCC 12's AVX-512 false positives itself).
#include "nabla/core/eigen_interop.hpp"

using nabla::Shape;
using nabla::Tensor;

TEMPLATE_TEST_CASE("Eigen: as_matrix maps a contiguous 2-D tensor without copying", "[core][eigen]", float, double) {
  const Tensor<TestType> t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  auto m = nabla::as_matrix(t);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 3);
  CHECK(m.data() == t.data());
  CHECK(m(0, 0) == 1);
  CHECK(m(0, 2) == 3);
  CHECK(m(1, 0) == 4);
  CHECK(m(1, 2) == 6);
  m(1, 1) = 50;
  CHECK(t(1, 1) == 50);
  m.row(0) *= TestType{2};
  CHECK(t.to_vector() == std::vector<TestType>{2, 4, 6, 4, 50, 6});

  // Products on maps read the tensor's values.
  const Tensor<TestType> w(Shape{3, 2}, {1, 0, 0, 1, 1, 1});
  const nabla::RowMajorMatrix<TestType> p = nabla::as_matrix(t) * nabla::as_matrix(w);
  CHECK(p(0, 0) == 2 + 6);
  CHECK(p(0, 1) == 4 + 6);
  CHECK(p(1, 0) == 4 + 6);
  CHECK(p(1, 1) == 50 + 6);
}

TEST_CASE("Eigen: as_matrix of a column slice uses the row stride", "[core][eigen]") {
  const Tensor<double> t(Shape{3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const auto cols = t.slice(1, 1, 3);  // rows of 2 with a row stride of 4
  auto m = nabla::as_matrix(cols);
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 2);
  CHECK(m.outerStride() == 4);
  CHECK(m(0, 0) == 1.0);
  CHECK(m(1, 1) == 6.0);
  CHECK(m(2, 0) == 9.0);
  m(2, 1) = -10.0;
  CHECK(t(2, 2) == -10.0);
  CHECK(m.sum() == 1 + 2 + 5 + 6 + 9 - 10);

  // Row slices (including every other row) map too.
  const auto rows = t.slice(0, 0, 3, 2);
  auto r = nabla::as_matrix(rows);
  CHECK(r.outerStride() == 8);
  CHECK(r(1, 3) == 11.0);
  // A single row or column: the stride of the unit axis does not matter.
  CHECK(nabla::as_matrix(t.select(1, 2).unsqueeze(1)).sum() == 2 + 6 - 10);
  CHECK(nabla::as_matrix(t.slice(0, 1, 2))(0, 3) == 7.0);
}

TEST_CASE("Eigen: as_matrix rejects transposed and non-2-D tensors", "[core][eigen]") {
  const Tensor<float> t(Shape{2, 3});
  CHECK_THROWS_AS(nabla::as_matrix(t.t()), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::as_matrix(t.t()),
                    "as_matrix: the rows of a tensor of shape [3, 2] with strides [1, 3] are not contiguous; "
                    "call contiguous() first");
  CHECK_THROWS_WITH(nabla::as_matrix(t.slice(1, 0, 3, 2)), Catch::Contains("call contiguous() first"));
  CHECK_THROWS_AS(nabla::as_matrix(Tensor<float>(Shape{2, 3, 4})), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::as_matrix(Tensor<float>(Shape{2, 3, 4})),
                    "as_matrix: expected a 2-D tensor, got shape [2, 3, 4]");
  CHECK_THROWS_WITH(nabla::as_matrix(Tensor<float>(Shape{6})), "as_matrix: expected a 2-D tensor, got shape [6]");
  // The contiguous copy of a transpose maps fine.
  CHECK(nabla::as_matrix(t.t().contiguous()).rows() == 3);
}

TEST_CASE("Eigen: from_eigen copies matrices and expressions in row-major order", "[core][eigen]") {
  Eigen::MatrixXd col_major(2, 3);  // column-major storage
  col_major << 1, 2, 3, 4, 5, 6;
  const auto t = nabla::from_eigen(col_major);
  STATIC_REQUIRE(std::is_same_v<decltype(t), const Tensor<double>>);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
  col_major(0, 0) = 100;  // a copy: the tensor keeps its values
  CHECK(t(0, 0) == 1.0);

  const auto tt = nabla::from_eigen(col_major.transpose() * 2.0);
  CHECK(tt.shape() == Shape{3, 2});
  CHECK(tt.to_vector() == std::vector<double>{200, 8, 4, 10, 6, 12});

  nabla::RowMajorMatrix<float> rm(2, 2);
  rm << 1.5f, -2.0f, 3.0f, 4.0f;
  const auto tf = nabla::from_eigen(rm);
  CHECK(tf.to_vector() == std::vector<float>{1.5f, -2.0f, 3.0f, 4.0f});

  const auto v = nabla::from_eigen(Eigen::VectorXf::LinSpaced(3, 0.0f, 2.0f));
  CHECK(v.shape() == Shape{3, 1});
  CHECK(v.to_vector() == std::vector<float>{0, 1, 2});

  // Round trip through a map.
  const auto back = nabla::from_eigen(nabla::as_matrix(t) * nabla::as_matrix(tt));
  CHECK(back.shape() == Shape{2, 2});
  CHECK(back.to_vector() == std::vector<double>{1 * 200 + 2 * 4 + 3 * 6, 1 * 8 + 2 * 10 + 3 * 12,
                                                4 * 200 + 5 * 4 + 6 * 6, 4 * 8 + 5 * 10 + 6 * 12});
  CHECK(nabla::from_eigen(Eigen::MatrixXd(0, 3)).shape() == Shape{0, 3});
}

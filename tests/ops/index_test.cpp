// Tensor-level indexing and rearranging ops (ops/index.hpp) and the running
// reductions: integer dtypes, views, zero-size tensors and errors. Values and
// gradients in double against PyTorch are in tests/autograd (fixtures).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "nabla/core/creation.hpp"
#include "nabla/ops/elementwise.hpp"
#include "nabla/ops/index.hpp"
#include "nabla/ops/reduce.hpp"
#include "nabla/ops/shape.hpp"

using nabla::Shape;
using nabla::Tensor;
using I64 = std::int64_t;

TEST_CASE("gather and scatter_add on integers and views, as torch.gather/scatter_add", "[index]") {
  const Tensor<I64> x({{1, 2, 3}, {4, 5, 6}});
  const Tensor<I64> idx({{2, 0}, {1, 1}});
  // torch.gather(x, 1, idx) = [[3, 1], [5, 5]]
  CHECK(nabla::gather(x, 1, idx).to_vector() == std::vector<I64>{3, 1, 5, 5});
  // On a transposed view: x.t() is [[1, 4], [2, 5], [3, 6]]; gather rows along axis 0.
  const Tensor<I64> rows({{2, 0}});
  CHECK(nabla::gather(x.t(), 0, rows).to_vector() == std::vector<I64>{3, 4});
  // torch.zeros(2, 3).scatter_add(1, [[0, 0], [2, 1]], [[1, 2], [3, 4]]) = [[3, 0, 0], [0, 4, 3]]
  const auto s = nabla::scatter_add(Tensor<float>(Shape{2, 3}), 1, Tensor<I64>({{0, 0}, {2, 1}}),
                                    Tensor<float>({{1, 2}, {3, 4}}));
  CHECK(s.to_vector() == std::vector<float>{3, 0, 0, 0, 4, 3});
  CHECK(nabla::gather(Tensor<float>(Shape{2, 3}), 1, Tensor<I64>(Shape{2, 0})).shape() == Shape({2, 0}));
  CHECK_THROWS_WITH(nabla::gather(x, 1, Tensor<I64>({{3}})),
                    Catch::StartsWith("gather: index 3 is out of range for axis 1 of shape [2, 3]"));
  CHECK_THROWS_WITH(nabla::gather(x, 1, Tensor<I64>(Shape{2})), Catch::StartsWith("gather: index of shape [2]"));
  CHECK_THROWS_AS(nabla::gather(x, 2, idx), nabla::IndexError);
  CHECK_THROWS_WITH(nabla::scatter_add(x, 0, idx, Tensor<I64>(Shape{2, 3})), Catch::StartsWith("scatter_add: src"));
}

TEST_CASE("index_select and index_add, repeated indices accumulate", "[index]") {
  const Tensor<std::uint8_t> x({{1, 2}, {3, 4}, {5, 6}});
  CHECK(nabla::index_select(x, 0, Tensor<I64>(Shape{3}, {2, 2, 0})).to_vector() ==
        std::vector<std::uint8_t>{5, 6, 5, 6, 1, 2});
  CHECK(nabla::index_select(x, 1, Tensor<I64>(Shape{1}, {1})).shape() == Shape({3, 1}));
  CHECK(nabla::index_select(x, 0, Tensor<I64>(Shape{0})).shape() == Shape({0, 2}));
  CHECK_THROWS_WITH(nabla::index_select(x, 0, Tensor<I64>(Shape{1, 1})),
                    Catch::StartsWith("index_select: index must be 1-D, got shape [1, 1]"));
  const auto added = nabla::index_add(Tensor<double>(Shape{3, 2}), 0, Tensor<I64>(Shape{3}, {1, 1, 2}),
                                      Tensor<double>({{1, 2}, {10, 20}, {100, 200}}));
  CHECK(added.to_vector() == std::vector<double>{0, 0, 11, 22, 100, 200});
  // PyTorch rejects negative indices here, and so does nabla.
  CHECK_THROWS_WITH(nabla::index_select(x, 0, Tensor<I64>(Shape{1}, {-1})),
                    Catch::StartsWith("index_select: index -1 is out of range for axis 0 of extent 3"));
  CHECK_THROWS_WITH(nabla::index_add(Tensor<double>(Shape{3, 2}), 0, Tensor<I64>(Shape{1}, {0}),
                                     Tensor<double>(Shape{2, 2})),
                    Catch::StartsWith("index_add: src of shape [2, 2] must be [1, 2]"));
}

TEST_CASE("flip, roll, tril, triu, diag on integers, views and empty tensors", "[index]") {
  const Tensor<I64> x({{1, 2, 3}, {4, 5, 6}});
  CHECK(nabla::flip(x, Shape{1}).to_vector() == std::vector<I64>{3, 2, 1, 6, 5, 4});
  CHECK(nabla::flip(x, Shape{0, 1}).to_vector() == std::vector<I64>{6, 5, 4, 3, 2, 1});
  CHECK(nabla::flip(x.t(), Shape{0}).to_vector() == std::vector<I64>{3, 6, 2, 5, 1, 4});
  CHECK(nabla::flip(Tensor<float>(Shape{0, 2}), Shape{0}).shape() == Shape({0, 2}));
  CHECK_THROWS_WITH(nabla::flip(x, Shape{1, -1}), Catch::StartsWith("flip: axis 1 given twice"));
  CHECK(nabla::roll(x, 1, 1).to_vector() == std::vector<I64>{3, 1, 2, 6, 4, 5});
  CHECK(nabla::roll(x, -4, 1).to_vector() == std::vector<I64>{2, 3, 1, 5, 6, 4});
  CHECK(nabla::roll(x, 2).to_vector() == std::vector<I64>{5, 6, 1, 2, 3, 4});
  CHECK(nabla::tril(x).to_vector() == std::vector<I64>{1, 0, 0, 4, 5, 0});
  CHECK(nabla::triu(x, 1).to_vector() == std::vector<I64>{0, 2, 3, 0, 0, 6});
  CHECK(nabla::tril(x.t(), -1).to_vector() == std::vector<I64>{0, 0, 2, 0, 3, 6});
  CHECK_THROWS_WITH(nabla::tril(Tensor<float>(Shape{3})), Catch::StartsWith("tril: expected at least 2 dimensions"));
  CHECK(nabla::diag(Tensor<I64>(Shape{2}, {7, 8}), -1).to_vector() == std::vector<I64>{0, 0, 0, 7, 0, 0, 0, 8, 0});
  CHECK(nabla::diag(x).to_vector() == std::vector<I64>{1, 5});
  CHECK(nabla::diag(x, 1).to_vector() == std::vector<I64>{2, 6});
  CHECK(nabla::diag(x, 3).numel() == 0);
  CHECK_THROWS_WITH(nabla::diag(Tensor<float>(Shape{2, 2, 2})), Catch::StartsWith("diag: expected a 1-D or 2-D"));
}

TEST_CASE("cumsum, cumprod and trace: integers accumulate in int64", "[index][reduce]") {
  const auto bytes = nabla::full<std::uint8_t>(Shape{2, 300}, 1);
  const Tensor<I64> c = nabla::cumsum(bytes, 1);
  CHECK(c.at({1, 299}) == 300);
  CHECK(nabla::cumsum(Tensor<I64>({{1, 2}, {3, 4}}), 0).to_vector() == std::vector<I64>{1, 2, 4, 6});
  CHECK(nabla::cumsum(Tensor<double>({{1, 2}, {3, 4}}).t(), 1).to_vector() == std::vector<double>{1, 4, 2, 6});
  CHECK(nabla::cumprod(nabla::full<std::int32_t>(Shape{25}, 3), 0).at({24}) == 847288609443LL);
  CHECK(nabla::cumprod(Tensor<float>(Shape{0, 3}), 1).shape() == Shape({0, 3}));
  CHECK(nabla::trace(Tensor<std::uint8_t>({{200, 1}, {1, 200}})).item() == 400);
  CHECK(nabla::trace(Tensor<double>({{1, 2, 3}, {4, 5, 6}})).item() == 6.0);
  CHECK_THROWS_WITH(nabla::cumsum(bytes, 2), Catch::Contains("cumsum"));
  CHECK_THROWS_WITH(nabla::trace(Tensor<float>(Shape{3})), Catch::StartsWith("trace: expected a 2-D tensor"));
}

TEST_CASE("clamp_min and clamp_max keep NaN and integer types", "[index][elementwise]") {
  const Tensor<I64> x(Shape{4}, {-5, 0, 3, 9});
  CHECK(nabla::clamp_min(x, I64{1}).to_vector() == std::vector<I64>{1, 1, 3, 9});
  CHECK(nabla::clamp_max(x, I64{2}).to_vector() == std::vector<I64>{-5, 0, 2, 2});
  const auto y = nabla::clamp_min(Tensor<float>(Shape{2}, {std::numeric_limits<float>::quiet_NaN(), -1.0f}), 0.0f);
  CHECK(std::isnan(y.to_vector()[0]));
  CHECK(y.to_vector()[1] == 0.0f);
}

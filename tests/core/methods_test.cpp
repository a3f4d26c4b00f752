// Tensor methods that forward to the free functions (t.sum(), t.exp(), ...),
// t.dim(), t[i], and compound assignment in place (+= -= *= /=).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "nabla/nabla.hpp"

using nabla::Shape;
using nabla::Tensor;

TEST_CASE("methods give what the free functions give", "[methods]") {
  const Tensor<double> x({{1, -2, 3}, {-4, 5, -6}});
  CHECK(x.sum().item() == -3);
  CHECK(x.sum(1).to_vector() == nabla::sum(x, 1).to_vector());
  CHECK(x.sum(0, true).shape() == Shape({1, 3}));
  CHECK(x.mean().item() == -0.5);
  CHECK(x.abs().max().item() == 6);
  CHECK(x.min().item() == -6);
  CHECK(x.argmax().item() == 4);
  CHECK(x.argmin(1).to_vector() == std::vector<std::int64_t>{1, 2});
  CHECK(x.prod().item() == -720);
  CHECK(x.exp().to_vector() == nabla::exp(x).to_vector());
  CHECK(x.relu().sum().item() == 9);
  CHECK(x.pow(2.0).sum().item() == 91);
  CHECK(x.clamp(-1.0, 1.0).to_vector() == std::vector<double>{1, -1, 1, -1, 1, -1});
  CHECK(x.matmul(x.t()).shape() == Shape({2, 2}));
  CHECK(x.softmax(1).sum(1).to_vector()[0] == Approx(1.0));
  CHECK((x > 0.0).any().item());
  CHECK_FALSE((x > 0.0).all().item());
  CHECK(x.dim() == 2);
  CHECK(Tensor<float>::scalar(1.0f).dim() == 0);
  // Integer sums widen to int64 through the method too.
  const auto s = nabla::full<std::uint8_t>(Shape{300}, 1).sum();
  STATIC_REQUIRE(std::is_same_v<decltype(s), const Tensor<std::int64_t>>);
  CHECK(s.item() == 300);
}

TEST_CASE("t[i] is a view of the sub-tensor; negative i counts from the end", "[methods]") {
  const Tensor<int> x = nabla::arange<int>(6).reshape({2, 3});
  CHECK(x[0].to_vector() == std::vector<int>{0, 1, 2});
  CHECK(x[-1][-1].item() == 5);
  x[1].fill_(7);
  CHECK(x.to_vector() == std::vector<int>{0, 1, 2, 7, 7, 7});
  CHECK(x.t()[2].to_vector() == std::vector<int>{2, 7});
  CHECK_THROWS_AS(x[2], nabla::IndexError);
  CHECK_THROWS_AS(x[0][0][0], nabla::IndexError);
}

TEST_CASE("compound assignment works in place, broadcasts and bumps the version", "[methods]") {
  const Tensor<float> x({{1, 2}, {3, 4}});
  const Tensor<float> alias = x;  // handles share storage: both see the update
  const std::uint64_t v0 = x.version();
  x += 1.0f;
  CHECK(x.version() > v0);
  x *= Tensor<float>(Shape{2}, {2, 10});   // broadcast along rows
  x -= nabla::tensor<double>({1.0, 1.0});  // another type converts first
  x /= 2;
  CHECK(alias.to_vector() == std::vector<float>{1.5f, 14.5f, 3.5f, 24.5f});
  // Into a strided view: only the viewed elements change.
  const Tensor<float> column = x.select(1, 0);
  column += 100.0f;
  CHECK(x.to_vector() == std::vector<float>{101.5f, 14.5f, 103.5f, 24.5f});
  // Integers: += -= *= in place; an int into a uint8 tensor wraps as in PyTorch.
  const Tensor<std::int64_t> i = nabla::tensor<std::int64_t>({1, 2, 3});
  i *= 3;
  i -= nabla::tensor<std::int64_t>({1, 1, 1});
  CHECK(i.to_vector() == std::vector<std::int64_t>{2, 5, 8});
  const Tensor<std::uint8_t> u = nabla::full<std::uint8_t>(Shape{2}, 250);
  u += 10;
  CHECK(u.to_vector() == std::vector<std::uint8_t>{4, 4});
  CHECK_THROWS_WITH(x += Tensor<float>(Shape{3}),
                    Catch::StartsWith("add_: shapes [2, 2] and [3] cannot be broadcast") ||
                        Catch::StartsWith("add_: source shape [3] cannot be broadcast"));
  CHECK_THROWS_WITH(x += Tensor<float>(Shape{2, 2, 2}), Catch::StartsWith("add_: source shape [2, 2, 2] cannot be broadcast"));
}

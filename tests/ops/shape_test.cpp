// Tests for ops/shape.hpp: view functions, contiguous packing, concat, stack,
// pad, split and chunk, with their error messages.
#include <catch2/catch.hpp>

#include <vector>

#include "nabla/core/creation.hpp"
#include "nabla/ops/shape.hpp"

using nabla::Shape;
using nabla::Tensor;

namespace shape_test {
template <class T>
Tensor<T> iota(Shape shape) {
  std::vector<T> v(static_cast<std::size_t>(shape.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(i);
  return Tensor<T>(std::move(shape), std::move(v));
}
}  // namespace shape_test
using shape_test::iota;

TEST_CASE("shape: view functions mirror the Tensor methods", "[shape]") {
  const auto x = iota<float>(Shape{2, 3, 4});
  CHECK(nabla::reshape(x, Shape{6, -1}).shape() == Shape{6, 4});
  CHECK(nabla::flatten(x).shape() == Shape{24});
  CHECK(nabla::flatten(x, 1).shape() == Shape{2, 12});
  CHECK(nabla::flatten(x, 0, 1).shape() == Shape{6, 4});
  CHECK(nabla::flatten(x, -2, -1).shape() == Shape{2, 12});
  CHECK(nabla::transpose(x, 0, 2).shape() == Shape{4, 3, 2});
  CHECK(nabla::transpose(x, 0, 2)(3, 1, 1) == x(1, 1, 3));
  CHECK(nabla::permute(x, Shape{2, 0, 1}).shape() == Shape{4, 2, 3});
  CHECK(nabla::slice(x, 2, 1, 4, 2).to_vector() ==
        std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(nabla::select(x, 1, 2).to_vector() == std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(nabla::unsqueeze(x, 1).shape() == Shape{2, 1, 3, 4});
  CHECK(nabla::squeeze(nabla::unsqueeze(x, -1), -1).shape() == Shape{2, 3, 4});
  CHECK(nabla::squeeze(iota<float>(Shape{1, 3, 1, 2})).shape() == Shape{3, 2});
  CHECK(nabla::expand(iota<float>(Shape{3, 1}), Shape{2, 3, 4}).shape() == Shape{2, 3, 4});
  const auto m = iota<double>(Shape{2, 3});
  CHECK(nabla::transpose(m).to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK_THROWS_WITH(nabla::transpose(x), Catch::Contains("transpose: expected a 2-D tensor"));
  CHECK_THROWS_WITH(nabla::flatten(x, 2, 1), Catch::Contains("flatten: start axis 2 comes after end axis 1"));
  CHECK_THROWS_AS(nabla::flatten(x, 3), nabla::IndexError);
}

TEMPLATE_TEST_CASE("shape: contiguous packs transposed, sliced and expanded views", "[shape]", float, double) {
  nabla::Generator gen(5);
  const auto a = nabla::randn<TestType>(Shape{37, 45}, gen);
  const auto t = nabla::contiguous(a.t());
  CHECK(t.is_contiguous());
  CHECK(t.to_vector() == a.t().to_vector());
  const auto b = nabla::randn<TestType>(Shape{3, 33, 40}, gen);
  CHECK(nabla::contiguous(b.transpose(1, 2)).to_vector() == b.transpose(1, 2).to_vector());
  CHECK(nabla::contiguous(b.slice(2, 3, 30)).to_vector() == b.slice(2, 3, 30).to_vector());
  CHECK(nabla::contiguous(b.permute(Shape{2, 0, 1})).to_vector() == b.permute(Shape{2, 0, 1}).to_vector());
  CHECK(nabla::contiguous(b.slice(2, 0, 40, 3)).to_vector() == b.slice(2, 0, 40, 3).to_vector());
  const auto e = nabla::randn<TestType>(Shape{4, 1}, gen).expand(Shape{4, 5});
  CHECK(nabla::contiguous(e).to_vector() == e.to_vector());
  CHECK(nabla::contiguous(a).is_same(a));  // already contiguous: no copy
}

TEMPLATE_TEST_CASE("concat: values along every axis, with non-contiguous inputs", "[shape]", float, double) {
  const Tensor<TestType> a(Shape{2, 2}, {1, 2, 3, 4});
  const Tensor<TestType> b(Shape{1, 2}, {5, 6});
  const Tensor<TestType> c(Shape{2, 1}, {7, 8});
  CHECK(nabla::concat<TestType>({a, b}, 0).to_vector() == std::vector<TestType>{1, 2, 3, 4, 5, 6});
  const auto r = nabla::concat<TestType>({a, c, a.t()}, 1);
  CHECK(r.shape() == Shape{2, 5});
  CHECK(r.to_vector() == std::vector<TestType>{1, 2, 7, 1, 3, 3, 4, 8, 2, 4});
  CHECK(nabla::concat<TestType>({a, c}, -1).shape() == Shape{2, 3});
  const auto x = iota<TestType>(Shape{2, 3, 4});
  const auto parts = nabla::split(x, {1, 2}, 1);
  CHECK(nabla::concat(parts, 1).to_vector() == x.to_vector());
  CHECK(nabla::concat<TestType>({x, Tensor<TestType>(Shape{2, 3, 0})}, 2).to_vector() == x.to_vector());
}

TEST_CASE("concat: errors name the offending tensor and the shapes", "[shape]") {
  const Tensor<float> a(Shape{2, 3});
  const Tensor<float> b(Shape{2, 4});
  CHECK_THROWS_AS(nabla::concat<float>({a, a, b}, 0), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::concat<float>({a, a, b}, 0),
                    "concat: tensor 2 has shape [2, 4] but tensor 0 has shape [2, 3]; they must match except "
                    "along axis 0");
  CHECK_THROWS_WITH(nabla::concat<float>({a, Tensor<float>(Shape{6})}, 0), Catch::Contains("tensor 1 has shape [6]"));
  CHECK_THROWS_WITH(nabla::concat<float>({}, 0), "concat: expected at least one tensor, got none");
  CHECK_THROWS_AS(nabla::concat<float>({a}, 2), nabla::IndexError);
}

TEMPLATE_TEST_CASE("stack: new axis at front, middle and end", "[shape]", float, double) {
  const Tensor<TestType> a(Shape{2, 2}, {1, 2, 3, 4});
  const Tensor<TestType> b(Shape{2, 2}, {5, 6, 7, 8});
  const auto s0 = nabla::stack<TestType>({a, b}, 0);
  CHECK(s0.shape() == Shape{2, 2, 2});
  CHECK(s0.to_vector() == std::vector<TestType>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(nabla::stack<TestType>({a, b}, 1).to_vector() == std::vector<TestType>{1, 2, 5, 6, 3, 4, 7, 8});
  const auto s2 = nabla::stack<TestType>({a, b.t()}, -1);
  CHECK(s2.shape() == Shape{2, 2, 2});
  CHECK(s2.to_vector() == std::vector<TestType>{1, 5, 2, 7, 3, 6, 4, 8});
  CHECK_THROWS_WITH(nabla::stack<TestType>({a, b, Tensor<TestType>(Shape{2, 3})}, 0),
                    "stack: tensor 2 has shape [2, 3] but tensor 0 has shape [2, 2]; all must match");
  CHECK_THROWS_AS(nabla::stack<TestType>({a, b}, 3), nabla::IndexError);
}

TEMPLATE_TEST_CASE("pad: constant padding of trailing axes as F.pad", "[shape]", float, double) {
  const Tensor<TestType> a(Shape{2, 2}, {1, 2, 3, 4});
  const auto p = nabla::pad(a, {1, 0});
  CHECK(p.shape() == Shape{2, 3});
  CHECK(p.to_vector() == std::vector<TestType>{0, 1, 2, 0, 3, 4});
  const auto q = nabla::pad(a, {0, 1, 1, 0}, TestType(-1));
  CHECK(q.shape() == Shape{3, 3});
  CHECK(q.to_vector() == std::vector<TestType>{-1, -1, -1, 1, 2, -1, 3, 4, -1});
  // Negative amounts crop, padding a transposed view.
  const auto r = nabla::pad(a.t(), {-1, 2});
  CHECK(r.shape() == Shape{2, 3});
  CHECK(r.to_vector() == std::vector<TestType>{3, 0, 0, 4, 0, 0});
  // NCHW image padding.
  const auto img = iota<TestType>(Shape{1, 1, 2, 2});
  const auto pi = nabla::pad(img, {1, 1, 1, 1});
  CHECK(pi.shape() == Shape{1, 1, 4, 4});
  CHECK(pi.to_vector() == std::vector<TestType>{0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 3, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH(nabla::pad(a, {1}), Catch::Contains("pad: expected an even number of pad amounts"));
  CHECK_THROWS_WITH(nabla::pad(a, {1, 1, 1, 1, 1, 1}), Catch::Contains("for shape [2, 2]"));
  CHECK_THROWS_WITH(nabla::pad(a, {-2, -1}), Catch::Contains("leaves a negative extent"));
}

TEST_CASE("split and chunk: views with the right pieces", "[shape]") {
  const auto x = iota<float>(Shape{5, 2});
  const auto parts = nabla::split(x, {2, 3}, 0);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].to_vector() == std::vector<float>{0, 1, 2, 3});
  CHECK(parts[1].to_vector() == std::vector<float>{4, 5, 6, 7, 8, 9});
  CHECK(parts[1].data() == x.data() + 4);  // a view, not a copy
  const auto even = nabla::split(x, 2, 0);
  REQUIRE(even.size() == 3);
  CHECK(even[2].shape() == Shape{1, 2});
  const auto ch = nabla::chunk(x, 3, 0);
  REQUIRE(ch.size() == 3);
  CHECK(ch[0].shape() == Shape{2, 2});
  CHECK(ch[2].shape() == Shape{1, 2});
  const auto cols = nabla::chunk(x, 2, 1);
  REQUIRE(cols.size() == 2);
  CHECK(cols[1].to_vector() == std::vector<float>{1, 3, 5, 7, 9});
  CHECK(nabla::chunk(iota<float>(Shape{6}), 4).size() == 3);  // torch.chunk: pieces of 2
  CHECK_THROWS_WITH(nabla::split(x, {2, 2}, 0),
                    "split: piece sizes add up to 4 but axis 0 of shape [5, 2] has 5");
  CHECK_THROWS_AS(nabla::split(x, std::int64_t{0}, 0), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::chunk(x, 0, 0), "chunk: number of chunks must be positive, got 0");
}

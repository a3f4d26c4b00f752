// Tests for Shape: inline/heap storage, editing, strides, axes and broadcasting.
#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <sstream>
#include <utility>
#include <vector>

#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"

using nabla::Shape;

TEST_CASE("Shape: built from braced lists, spans and vectors", "[core][shape]") {
  const Shape s{2, 3, 4};
  REQUIRE(s.size() == 3);
  CHECK(s.rank() == 3);
  CHECK_FALSE(s.empty());
  CHECK(s[0] == 2);
  CHECK(s[1] == 3);
  CHECK(s[2] == 4);
  CHECK(s.back() == 4);
  CHECK(s.to_vector() == std::vector<std::int64_t>{2, 3, 4});

  const std::vector<std::int64_t> v{5, 6};
  CHECK(Shape(v) == Shape{5, 6});
  CHECK(Shape(std::span<const std::int64_t>(v)) == Shape{5, 6});

  const Shape scalar{};
  CHECK(scalar.empty());
  CHECK(scalar.rank() == 0);
  CHECK(scalar.numel() == 1);  // a 0-d tensor holds one element

  const Shape f = Shape::filled(4, 7);
  CHECK(f == Shape{7, 7, 7, 7});
}

TEST_CASE("Shape: ranks above the inline capacity move to the heap and keep their values", "[core][shape]") {
  STATIC_REQUIRE(Shape::inline_capacity == 6);
  Shape s{1, 2, 3, 4, 5, 6};
  s.push_back(7);  // grows past the inline buffer
  s.push_back(8);
  s.push_back(9);
  CHECK(s == Shape{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(s.numel() == 362880);

  const Shape big{9, 8, 7, 6, 5, 4, 3, 2, 1};
  CHECK(big.size() == 9);
  CHECK(big[8] == 1);
  CHECK(nabla::to_string(big) == "[9, 8, 7, 6, 5, 4, 3, 2, 1]");

  // Editing a heap shape back under the inline capacity keeps it correct.
  Shape shrink = big;
  for (int i = 0; i < 5; ++i) shrink.erase(0);
  CHECK(shrink == Shape{4, 3, 2, 1});
  shrink.insert(0, 10);
  CHECK(shrink == Shape{10, 4, 3, 2, 1});
}

TEST_CASE("Shape: copies are independent, moves leave a usable empty shape", "[core][shape]") {
  SECTION("inline") {
    Shape a{2, 3};
    Shape b = a;
    b[0] = 9;
    CHECK(a == Shape{2, 3});
    CHECK(b == Shape{9, 3});

    Shape c = std::move(a);
    CHECK(c == Shape{2, 3});
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    a.push_back(4);
    CHECK(a == Shape{4});
    a = c;
    CHECK(a == Shape{2, 3});
  }
  SECTION("heap") {
    Shape a{1, 2, 3, 4, 5, 6, 7, 8};
    Shape b = a;
    b[7] = 80;
    CHECK(a[7] == 8);
    CHECK(b[7] == 80);

    Shape c = std::move(a);
    CHECK(c == Shape{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move)
    for (std::int64_t i = 0; i < 10; ++i) a.push_back(i);  // regrows after losing its heap buffer
    CHECK(a.size() == 10);
    CHECK(a[9] == 9);
    a = Shape{3, 3};
    CHECK(a == Shape{3, 3});
  }
  SECTION("assignment between inline and heap shapes") {
    Shape small{1, 2};
    Shape large{1, 2, 3, 4, 5, 6, 7, 8, 9};
    Shape x = large;
    x = small;
    CHECK(x == small);
    x = large;
    CHECK(x == large);
    x = std::move(small);
    CHECK(x == Shape{1, 2});
    Shape y = small;  // NOLINT(bugprone-use-after-move)
    y = std::move(large);
    CHECK(y.size() == 9);
    Shape& self = y;
    y = self;  // self-assignment keeps the value
    CHECK(y.size() == 9);
    CHECK(y[8] == 9);
  }
}

TEST_CASE("Shape: push_back, insert, erase and resize", "[core][shape]") {
  Shape s;
  s.push_back(3);
  s.push_back(5);
  CHECK(s == Shape{3, 5});
  s.insert(0, 1);
  CHECK(s == Shape{1, 3, 5});
  s.insert(3, 7);  // at the end
  CHECK(s == Shape{1, 3, 5, 7});
  s.insert(2, 4);
  CHECK(s == Shape{1, 3, 4, 5, 7});
  s.erase(0);
  CHECK(s == Shape{3, 4, 5, 7});
  s.erase(3);
  CHECK(s == Shape{3, 4, 5});
  s.erase(1);
  CHECK(s == Shape{3, 5});
  s.resize(4, 1);
  CHECK(s == Shape{3, 5, 1, 1});
  s.resize(1);
  CHECK(s == Shape{3});
  // Inserting across the inline boundary.
  Shape t{0, 1, 2, 3, 4, 5};
  t.insert(3, 99);
  CHECK(t == Shape{0, 1, 2, 99, 3, 4, 5});
}

TEST_CASE("Shape: numel, equality and to_string", "[core][shape]") {
  CHECK(Shape{2, 3}.numel() == 6);
  CHECK(Shape{2, 0, 3}.numel() == 0);
  CHECK(Shape{0}.numel() == 0);
  CHECK(Shape{7}.numel() == 7);

  CHECK(Shape{2, 3} == Shape{2, 3});
  CHECK_FALSE(Shape{2, 3} == Shape{3, 2});
  CHECK_FALSE(Shape{2, 3} == Shape{2, 3, 1});
  CHECK_FALSE(Shape{} == Shape{1});

  CHECK(nabla::to_string(Shape{2, 3}) == "[2, 3]");
  CHECK(nabla::to_string(Shape{}) == "[]");
  CHECK(nabla::to_string(Shape{-1}) == "[-1]");
  std::ostringstream out;
  out << Shape{64, 784};
  CHECK(out.str() == "[64, 784]");
}

TEST_CASE("Shape: contiguous_strides are row-major and survive zero extents", "[core][shape]") {
  CHECK(nabla::contiguous_strides(Shape{2, 3, 4}) == Shape{12, 4, 1});
  CHECK(nabla::contiguous_strides(Shape{5}) == Shape{1});
  CHECK(nabla::contiguous_strides(Shape{}) == Shape{});
  CHECK(nabla::contiguous_strides(Shape{3, 1, 2}) == Shape{2, 2, 1});
  CHECK(nabla::contiguous_strides(Shape{2, 0, 3}) == Shape{3, 3, 1});
  CHECK(nabla::contiguous_strides(Shape{2, 1, 2, 1, 2, 1, 2, 1}) == Shape{8, 8, 4, 4, 2, 2, 1, 1});
}

TEST_CASE("Shape: normalize_axis maps negative axes and names the op when out of range", "[core][shape]") {
  CHECK(nabla::normalize_axis(0, 2, "sum") == 0);
  CHECK(nabla::normalize_axis(1, 2, "sum") == 1);
  CHECK(nabla::normalize_axis(-1, 2, "sum") == 1);
  CHECK(nabla::normalize_axis(-2, 2, "sum") == 0);
  CHECK_THROWS_AS(nabla::normalize_axis(2, 2, "sum"), nabla::IndexError);
  CHECK_THROWS_WITH(nabla::normalize_axis(5, 2, "sum"), "sum: axis 5 is out of range for a tensor of rank 2");
  CHECK_THROWS_WITH(nabla::normalize_axis(-3, 2, "softmax"),
                    "softmax: axis -3 is out of range for a tensor of rank 2");
  CHECK_THROWS_WITH(nabla::normalize_axis(0, 0, "mean"), "mean: axis 0 is out of range for a tensor of rank 0");
}

TEST_CASE("Shape: broadcast_shapes follows NumPy rules", "[core][shape]") {
  using nabla::broadcast_shapes;
  CHECK(broadcast_shapes(Shape{2, 3}, Shape{2, 3}, "add") == Shape{2, 3});
  CHECK(broadcast_shapes(Shape{2, 3}, Shape{3}, "add") == Shape{2, 3});
  CHECK(broadcast_shapes(Shape{3}, Shape{2, 3}, "add") == Shape{2, 3});
  CHECK(broadcast_shapes(Shape{2, 1}, Shape{1, 3}, "add") == Shape{2, 3});
  CHECK(broadcast_shapes(Shape{4, 1, 5}, Shape{3, 1}, "add") == Shape{4, 3, 5});
  CHECK(broadcast_shapes(Shape{}, Shape{2, 3}, "add") == Shape{2, 3});
  CHECK(broadcast_shapes(Shape{2, 3}, Shape{}, "add") == Shape{2, 3});
  CHECK(broadcast_shapes(Shape{}, Shape{}, "add") == Shape{});
  CHECK(broadcast_shapes(Shape{1}, Shape{0}, "add") == Shape{0});
  CHECK(broadcast_shapes(Shape{2, 0}, Shape{1, 1}, "add") == Shape{2, 0});
  CHECK(broadcast_shapes(Shape{1, 1, 1, 1, 1, 1, 1, 2}, Shape{3, 1}, "add") == Shape{1, 1, 1, 1, 1, 1, 3, 2});

  CHECK_THROWS_AS(broadcast_shapes(Shape{2, 3}, Shape{4}, "add"), nabla::ShapeError);
  CHECK_THROWS_WITH(broadcast_shapes(Shape{2, 3}, Shape{4}, "mul"),
                    "mul: shapes [2, 3] and [4] cannot be broadcast (dimension 1: 3 vs 4)");
  CHECK_THROWS_WITH(broadcast_shapes(Shape{2, 3}, Shape{3, 3}, "sub"),
                    Catch::Contains("sub") && Catch::Contains("[2, 3] and [3, 3]"));
  CHECK_THROWS_AS(broadcast_shapes(Shape{0}, Shape{2}, "add"), nabla::ShapeError);
}

TEST_CASE("Shape: rank-9 tensors work end to end", "[core][shape][tensor]") {
  const Shape shape{2, 1, 2, 1, 2, 1, 2, 1, 2};
  std::vector<double> values(32);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
  const nabla::Tensor<double> t(shape, values);
  REQUIRE(t.ndim() == 9);
  CHECK(t.shape() == shape);
  CHECK(t.strides() == Shape{16, 16, 8, 8, 4, 4, 2, 2, 1});
  CHECK(t.is_contiguous());
  CHECK(t(1, 0, 1, 0, 1, 0, 1, 0, 1) == 31.0);
  CHECK(t(1, 0, 0, 0, 1, 0, 0, 0, 1) == 16.0 + 4.0 + 1.0);
  CHECK(t.at({-1, 0, 0, 0, 0, 0, 0, 0, -1}) == 17.0);

  // Reverse the axes: element [i0..i8] of p is t[i8..i0].
  const auto p = t.permute(Shape{8, 7, 6, 5, 4, 3, 2, 1, 0});
  CHECK_FALSE(p.is_contiguous());
  CHECK(p(1, 0, 0, 0, 0, 0, 0, 0, 0) == t(0, 0, 0, 0, 0, 0, 0, 0, 1));
  CHECK(p(0, 0, 1, 0, 0, 0, 0, 0, 0) == t(0, 0, 0, 0, 0, 0, 1, 0, 0));

  const auto c = p.contiguous();
  CHECK(c.is_contiguous());
  CHECK_FALSE(c.storage().same_as(t.storage()));
  // Reversing the bits of the flat index (5 binary digits) reverses the axes.
  const std::vector<double> packed = c.to_vector();
  REQUIRE(packed.size() == 32);
  for (int i = 0; i < 32; ++i) {
    int reversed = 0;
    for (int bit = 0; bit < 5; ++bit) reversed |= ((i >> bit) & 1) << (4 - bit);
    CHECK(packed[static_cast<std::size_t>(i)] == static_cast<double>(reversed));
  }
  CHECK(p.to_vector() == packed);
  CHECK(c.reshape(Shape{32}).to_vector() == packed);
}

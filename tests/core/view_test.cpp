// Tests for views: reshape/view/flatten, transpose/permute, slice/select,
// unsqueeze/squeeze, expand, and chains of them reading and writing the base.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "nabla/core/tensor.hpp"

using nabla::Shape;
using nabla::Tensor;

namespace core_view_test {

// 0, 1, 2, ... in row-major order.
template <class T = float>
Tensor<T> iota(const Shape& shape) {
  auto t = Tensor<T>::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(i);
  return t;
}

}  // namespace core_view_test

using core_view_test::iota;

TEST_CASE("View: reshape of a contiguous tensor is a view sharing storage", "[core][view]") {
  const auto a = iota(Shape{2, 3, 4});
  const auto r = a.reshape(Shape{4, 6});
  CHECK(r.shape() == Shape{4, 6});
  CHECK(r.strides() == Shape{6, 1});
  CHECK(r.is_contiguous());
  CHECK(r.storage().same_as(a.storage()));
  CHECK(r(1, 2) == 8.0f);
  r(3, 5) = -1.0f;
  CHECK(a(1, 2, 3) == -1.0f);

  CHECK(a.reshape(Shape{-1}).shape() == Shape{24});
  CHECK(a.reshape(Shape{2, -1}).shape() == Shape{2, 12});
  CHECK(a.reshape(Shape{-1, 3, 2}).shape() == Shape{4, 3, 2});
  CHECK(a.reshape(Shape{1, 24, 1}).shape() == Shape{1, 24, 1});
  CHECK(a.reshape(Shape{2, 3, 4}).is_same(a));
  // A 0-d tensor and a one-element tensor reshape into each other.
  const auto s = Tensor<float>::scalar(3.0f);
  CHECK(s.reshape(Shape{1, 1}).shape() == Shape{1, 1});
  CHECK(s.reshape(Shape{1, 1}).reshape(Shape{}).item() == 3.0f);
  // A row slice keeps its offset through the view.
  const auto row = a.reshape(Shape{6, 4}).slice(0, 2, 4);
  CHECK(row.reshape(Shape{8}).to_vector() == std::vector<float>{8, 9, 10, 11, 12, 13, 14, 15});
  CHECK(row.reshape(Shape{8}).storage().same_as(a.storage()));
}

TEST_CASE("View: reshape of a non-contiguous tensor copies", "[core][view]") {
  const auto a = iota(Shape{2, 3});
  const auto r = a.t().reshape(Shape{6});
  CHECK_FALSE(r.storage().same_as(a.storage()));
  CHECK(r.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
  r.fill_(9.0f);
  CHECK(a.to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});  // the copy is independent

  const auto every_other = iota(Shape{8}).slice(0, 0, 8, 2);
  CHECK(every_other.reshape(Shape{2, 2}).to_vector() == std::vector<float>{0, 2, 4, 6});
}

TEST_CASE("View: reshape errors name the shapes", "[core][view]") {
  const auto a = iota(Shape{2, 3});
  CHECK_THROWS_AS(a.reshape(Shape{-1, -1}), nabla::ShapeError);
  CHECK_THROWS_WITH(a.reshape(Shape{-1, -1}), "reshape: only one extent may be -1 in [-1, -1]");
  CHECK_THROWS_AS(a.reshape(Shape{4}), nabla::ShapeError);
  CHECK_THROWS_WITH(a.reshape(Shape{4}), "reshape: cannot reshape a tensor of shape [2, 3] (6 elements) to [4] (4 elements)");
  CHECK_THROWS_WITH(a.reshape(Shape{4, -1}), "reshape: cannot reshape a tensor of shape [2, 3] (6 elements) to [4, -1]");
  CHECK_THROWS_WITH(a.reshape(Shape{0, -1}), Catch::Contains("cannot reshape a tensor of shape [2, 3]"));
  CHECK_THROWS_WITH(a.reshape(Shape{-2, -3}), "reshape: negative extent in [-2, -3]");
  CHECK_THROWS_WITH(a.view(Shape{7}), "view: cannot reshape a tensor of shape [2, 3] (6 elements) to [7] (7 elements)");
}

TEST_CASE("View: view() shares storage and refuses non-contiguous tensors", "[core][view]") {
  const auto a = iota(Shape{2, 3});
  const auto v = a.view(Shape{3, -1});
  CHECK(v.shape() == Shape{3, 2});
  CHECK(v.storage().same_as(a.storage()));
  CHECK(v(2, 1) == 5.0f);

  CHECK_THROWS_AS(a.t().view(Shape{6}), nabla::ShapeError);
  CHECK_THROWS_WITH(a.t().view(Shape{6}), Catch::Contains("reshape()"));
  CHECK_THROWS_WITH(a.t().view(Shape{-1}),
                    "view: a tensor of shape [3, 2] with non-contiguous strides [1, 3] cannot be viewed as [6]; "
                    "call reshape()");
}

TEST_CASE("View: flatten gives the row-major elements in one dimension", "[core][view]") {
  const auto a = iota(Shape{2, 2, 2});
  const auto f = a.flatten();
  CHECK(f.shape() == Shape{8});
  CHECK(f.storage().same_as(a.storage()));
  const auto ft = a.transpose(0, 2).flatten();
  CHECK(ft.shape() == Shape{8});
  CHECK(ft.to_vector() == std::vector<float>{0, 4, 2, 6, 1, 5, 3, 7});
  CHECK(Tensor<float>::scalar(1.0f).flatten().shape() == Shape{1});
}

TEST_CASE("View: transpose and t() swap shapes and strides", "[core][view]") {
  const auto a = iota(Shape{2, 3, 4});
  const auto t = a.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.strides() == Shape{1, 4, 12});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.storage().same_as(a.storage()));
  CHECK(t(3, 1, 1) == a(1, 1, 3));
  CHECK(a.transpose(-1, 0).is_same(t));
  CHECK(a.transpose(1, 1).is_same(a));
  CHECK(t.transpose(0, 2).is_contiguous());
  CHECK_THROWS_WITH(a.transpose(0, 3), "transpose: axis 3 is out of range for a tensor of rank 3");

  const auto m = iota(Shape{2, 3});
  const auto mt = m.t();
  CHECK(mt.shape() == Shape{3, 2});
  CHECK(mt.strides() == Shape{1, 3});
  CHECK(mt(2, 1) == 5.0f);
  CHECK(mt.t().is_same(m));
  CHECK_THROWS_AS(a.t(), nabla::ShapeError);
  CHECK_THROWS_WITH(a.t(), "transpose: expected a 2-D tensor, got shape [2, 3, 4]");
  CHECK_THROWS_WITH(iota(Shape{3}).t(), "transpose: expected a 2-D tensor, got shape [3]");
}

TEST_CASE("View: permute reorders axes and rejects bad axis lists", "[core][view]") {
  const auto a = iota(Shape{2, 3, 4});
  const auto p = a.permute(Shape{2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK_FALSE(p.is_contiguous());
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 4; ++k) CHECK(p(k, i, j) == a(i, j, k));
  CHECK(a.permute(Shape{-3, -2, -1}).is_same(a));
  CHECK(a.permute(Shape{0, 1, 2}).is_contiguous());
  // Composing with the inverse permutation gives the original layout back.
  CHECK(p.permute(Shape{1, 2, 0}).is_same(a));

  CHECK_THROWS_AS(a.permute(Shape{0, 1}), nabla::ShapeError);
  CHECK_THROWS_WITH(a.permute(Shape{0, 1}), "permute: 2 axes given for a tensor of shape [2, 3, 4]");
  CHECK_THROWS_AS(a.permute(Shape{1, 1, 0}), nabla::ValueError);
  CHECK_THROWS_WITH(a.permute(Shape{1, 1, 0}), "permute: axis 1 appears twice in [1, 1, 0]");
  CHECK_THROWS_WITH(a.permute(Shape{0, -1, 2}), "permute: axis 2 appears twice in [0, -1, 2]");
  CHECK_THROWS_WITH(a.permute(Shape{0, 1, 3}), "permute: axis 3 is out of range for a tensor of rank 3");
}

TEST_CASE("View: slice follows Python slicing (negative, clamped, stepped, empty)", "[core][view]") {
  const auto a = iota(Shape{10});
  CHECK(a.slice(0, 2, 5).to_vector() == std::vector<float>{2, 3, 4});
  CHECK(a.slice(0, -3, 10).to_vector() == std::vector<float>{7, 8, 9});
  CHECK(a.slice(0, 1, -7).to_vector() == std::vector<float>{1, 2});
  CHECK(a.slice(0, -100, 3).to_vector() == std::vector<float>{0, 1, 2});
  CHECK(a.slice(0, 8, 100).to_vector() == std::vector<float>{8, 9});
  CHECK(a.slice(0, 0, 10, 2).to_vector() == std::vector<float>{0, 2, 4, 6, 8});
  CHECK(a.slice(0, 1, 10, 3).to_vector() == std::vector<float>{1, 4, 7});
  CHECK(a.slice(0, 1, 8, 3).to_vector() == std::vector<float>{1, 4, 7});
  CHECK(a.slice(0, 1, 7, 3).to_vector() == std::vector<float>{1, 4});
  CHECK(a.slice(0, 0, 10, 20).to_vector() == std::vector<float>{0});

  const auto stepped = a.slice(0, 1, 10, 3);
  CHECK(stepped.strides() == Shape{3});
  CHECK(stepped.offset() == 1);
  CHECK_FALSE(stepped.is_contiguous());
  CHECK(a.slice(0, 2, 5).is_contiguous());

  for (auto empty : {a.slice(0, 5, 5), a.slice(0, 7, 3), a.slice(0, 10, 12), a.slice(0, -1, -5, 2)}) {
    CHECK(empty.shape() == Shape{0});
    CHECK(empty.to_vector().empty());
  }

  const auto m = iota(Shape{3, 4});
  const auto cols = m.slice(-1, 1, 3);
  CHECK(cols.shape() == Shape{3, 2});
  CHECK(cols.strides() == Shape{4, 1});
  CHECK_FALSE(cols.is_contiguous());
  CHECK(cols.to_vector() == std::vector<float>{1, 2, 5, 6, 9, 10});
  CHECK(m.slice(0, 1, 3).is_contiguous());

  CHECK_THROWS_AS(a.slice(0, 0, 5, 0), nabla::ValueError);
  CHECK_THROWS_WITH(a.slice(0, 0, 5, 0), "slice: step must be positive, got 0");
  CHECK_THROWS_WITH(a.slice(0, 0, 5, -1), "slice: step must be positive, got -1");
  CHECK_THROWS_WITH(m.slice(2, 0, 1), "slice: axis 2 is out of range for a tensor of rank 2");
}

TEST_CASE("View: select removes an axis and checks the index", "[core][view]") {
  const auto m = iota(Shape{3, 4});
  CHECK(m.select(0, 1).to_vector() == std::vector<float>{4, 5, 6, 7});
  CHECK(m.select(0, -1).to_vector() == std::vector<float>{8, 9, 10, 11});
  const auto col = m.select(1, -2);
  CHECK(col.shape() == Shape{3});
  CHECK(col.strides() == Shape{4});
  CHECK_FALSE(col.is_contiguous());
  CHECK(col.to_vector() == std::vector<float>{2, 6, 10});
  const auto s = m.select(0, 2).select(0, 3);
  CHECK(s.ndim() == 0);
  CHECK(s.item() == 11.0f);
  CHECK(s.is_contiguous());
  CHECK(m.select(0, 1).is_contiguous());

  CHECK_THROWS_AS(m.select(0, 3), nabla::IndexError);
  CHECK_THROWS_WITH(m.select(0, 3), "select: index 3 is out of range for axis 0 of shape [3, 4]");
  CHECK_THROWS_WITH(m.select(-1, -5), "select: index -5 is out of range for axis 1 of shape [3, 4]");
  CHECK_THROWS_WITH(m.select(2, 0), "select: axis 2 is out of range for a tensor of rank 2");
}

TEST_CASE("View: unsqueeze and squeeze add and remove unit axes", "[core][view]") {
  const auto m = iota(Shape{2, 3});
  CHECK(m.unsqueeze(0).shape() == Shape{1, 2, 3});
  CHECK(m.unsqueeze(1).shape() == Shape{2, 1, 3});
  CHECK(m.unsqueeze(2).shape() == Shape{2, 3, 1});
  CHECK(m.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(m.unsqueeze(-3).shape() == Shape{1, 2, 3});
  CHECK(m.unsqueeze(0).is_contiguous());
  CHECK(m.unsqueeze(1).is_contiguous());
  CHECK(m.unsqueeze(2).is_contiguous());
  CHECK(m.unsqueeze(1).storage().same_as(m.storage()));
  CHECK(m.unsqueeze(1)(1, 0, 2) == 5.0f);
  CHECK(m.t().unsqueeze(1)(2, 0, 1) == 5.0f);
  CHECK(Tensor<float>::scalar(2.0f).unsqueeze(0).shape() == Shape{1});
  CHECK_THROWS_WITH(m.unsqueeze(3), "unsqueeze: axis 3 is out of range for a tensor of rank 3");
  CHECK_THROWS_WITH(m.unsqueeze(-4), "unsqueeze: axis -4 is out of range for a tensor of rank 3");

  const auto u = iota(Shape{1, 3, 1});
  CHECK(u.squeeze(0).shape() == Shape{3, 1});
  CHECK(u.squeeze(-1).shape() == Shape{1, 3});
  CHECK(u.squeeze(0).squeeze(1).to_vector() == std::vector<float>{0, 1, 2});
  CHECK(u.squeeze(2).is_contiguous());
  CHECK(m.unsqueeze(1).squeeze(1).is_same(m));
  CHECK_THROWS_AS(u.squeeze(1), nabla::ShapeError);
  CHECK_THROWS_WITH(u.squeeze(1), "squeeze: axis 1 of shape [1, 3, 1] is not 1");
  CHECK_THROWS_WITH(m.squeeze(-1), "squeeze: axis 1 of shape [2, 3] is not 1");
}

TEST_CASE("View: expand broadcasts with stride 0 and rejects impossible targets", "[core][view]") {
  const auto row = iota(Shape{1, 3});
  const auto e = row.expand(Shape{2, 3});
  CHECK(e.shape() == Shape{2, 3});
  CHECK(e.strides() == Shape{0, 1});
  CHECK_FALSE(e.is_contiguous());
  CHECK(e.storage().same_as(row.storage()));
  CHECK(e.to_vector() == std::vector<float>{0, 1, 2, 0, 1, 2});

  const auto col = iota(Shape{3});
  const auto lead = col.expand(Shape{2, 2, 3});  // new leading axes
  CHECK(lead.strides() == Shape{0, 0, 1});
  CHECK(lead.to_vector() == std::vector<float>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
  CHECK(iota(Shape{3, 1}).expand(Shape{3, 2}).to_vector() == std::vector<float>{0, 0, 1, 1, 2, 2});
  CHECK(Tensor<float>::scalar(7.0f).expand(Shape{2, 2}).to_vector() == std::vector<float>(4, 7.0f));
  CHECK(row.expand(Shape{1, 3}).is_contiguous());
  CHECK(row.expand(Shape{0, 3}).numel() == 0);
  // The expanded tensor reads through to the base.
  row(0, 1) = 10.0f;
  CHECK(e(1, 1) == 10.0f);
  CHECK(e.contiguous().to_vector() == std::vector<float>{0, 10, 2, 0, 10, 2});

  const auto m = iota(Shape{2, 3});
  CHECK_THROWS_AS(m.expand(Shape{2, 4}), nabla::ShapeError);
  CHECK_THROWS_WITH(m.expand(Shape{2, 4}), "expand: cannot expand shape [2, 3] to [2, 4]");
  CHECK_THROWS_WITH(m.expand(Shape{3}), "expand: cannot expand shape [2, 3] to [3]");
  CHECK_THROWS_WITH(m.expand(Shape{4, 3}), "expand: cannot expand shape [2, 3] to [4, 3]");
  CHECK_THROWS_AS(row.expand(Shape{-1, 3}), nabla::ShapeError);
  CHECK_THROWS_AS(col.expand(Shape{-2, 3}), nabla::ShapeError);
}

TEST_CASE("View: is_contiguous for unit axes and odd strides", "[core][view]") {
  const auto a = iota(Shape{4, 1, 3});
  CHECK(a.is_contiguous());
  // Moving a unit axis keeps the layout contiguous: its stride never matters.
  CHECK(a.transpose(0, 1).is_contiguous());
  CHECK(a.transpose(1, 2).is_contiguous());
  CHECK(a.unsqueeze(3).transpose(0, 3).transpose(0, 3).is_contiguous());
  CHECK_FALSE(a.transpose(0, 2).is_contiguous());
  CHECK(a.select(1, 0).is_contiguous());
  CHECK(a.slice(0, 1, 2).is_contiguous());
  CHECK(a.slice(0, 1, 2).transpose(0, 1).is_contiguous());  // [1, 1, 3] in any stride order
  CHECK_FALSE(a.slice(2, 0, 3, 2).is_contiguous());
  CHECK(a.slice(2, 0, 1).slice(0, 0, 1).is_contiguous());
}

TEST_CASE("View: chained views read the right elements and writes land in the base", "[core][view]") {
  // base[k, j, i] = 12k + 4j + i
  const auto base = iota<double>(Shape{24}).reshape(Shape{2, 3, 4});
  // v[a, b, k] = base[k, b + 1, 2a + 1]
  const auto v = base.transpose(0, 2).slice(0, 1, 4, 2).slice(1, -2, 3);
  CHECK(v.shape() == Shape{2, 2, 2});
  CHECK(v.storage().same_as(base.storage()));
  CHECK(v.to_vector() == std::vector<double>{5, 17, 9, 21, 7, 19, 11, 23});
  CHECK(v(1, 0, 1) == 19.0);
  CHECK(v.contiguous().to_vector() == v.to_vector());
  CHECK(v.reshape(Shape{-1}).to_vector() == v.to_vector());

  v.fill_(-1.0);
  std::vector<double> expected(24);
  for (int i = 0; i < 24; ++i) expected[static_cast<std::size_t>(i)] = i;
  for (int i : {5, 17, 9, 21, 7, 19, 11, 23}) expected[static_cast<std::size_t>(i)] = -1.0;
  CHECK(base.to_vector() == expected);

  // Select of a permute of an unsqueeze, writing one element.
  const auto w = base.unsqueeze(0).permute(Shape{3, 2, 0, 1}).select(0, 3);  // w[j, 0, k] = base[k, j, 3]
  CHECK(w.shape() == Shape{3, 1, 2});
  CHECK(w.squeeze(1).to_vector() == std::vector<double>{3, 15, -1, -1, -1, -1});
  w(2, 0, 0) = 100.0;
  CHECK(base(0, 2, 3) == 100.0);
  w.copy_(Tensor<double>(Shape{3, 1, 2}, {0, 1, 2, 3, 4, 5}));
  CHECK(base(1, 1, 3) == 3.0);
  CHECK(base(1, 2, 3) == 5.0);
}

// Tests for Tensor<T>: construction, element access, sharing, copies,
// conversions and in-place writes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "nabla/core/creation.hpp"
#include "nabla/core/tensor.hpp"

using nabla::Shape;
using nabla::Tensor;

TEMPLATE_TEST_CASE("Tensor: constructed from a shape and row-major values", "[core][tensor]", float, double,
                   std::int64_t) {
  const Tensor<TestType> t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.defined());
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.strides() == Shape{3, 1});
  CHECK(t.numel() == 6);
  CHECK(t.ndim() == 2);
  CHECK(t.size(0) == 2);
  CHECK(t.size(-1) == 3);
  CHECK(t.offset() == 0);
  CHECK(t.is_contiguous());
  CHECK(t.to_vector() == std::vector<TestType>{1, 2, 3, 4, 5, 6});
  CHECK(t(0, 0) == 1);
  CHECK(t(0, 2) == 3);
  CHECK(t(1, 0) == 4);
  CHECK(t(1, 2) == 6);
  CHECK(t.data()[4] == 5);
  CHECK(t.version() == 0);

  CHECK_THROWS_WITH(t.size(2), "size: axis 2 is out of range for a tensor of rank 2");
  CHECK_THROWS_AS((Tensor<TestType>(Shape{2, 3}, {1, 2, 3, 4, 5})), nabla::ShapeError);
  CHECK_THROWS_WITH((Tensor<TestType>(Shape{2, 3}, {1, 2, 3, 4, 5})),
                    "Tensor: shape [2, 3] needs 6 values but 5 were given");
  CHECK_THROWS_WITH((Tensor<TestType>(Shape{}, {})), "Tensor: shape [] needs 1 values but 0 were given");
  const Tensor<TestType> none(Shape{0, 4}, {});
  CHECK(none.numel() == 0);
  CHECK(none.to_vector().empty());
}

TEST_CASE("Tensor: Tensor(shape) is zero-filled and empty() rejects negative extents", "[core][tensor]") {
  // Dirty the allocator's cache first so zeros must really be written.
  {
    const auto dirty = Tensor<float>::empty(Shape{4, 5});
    dirty.fill_(7.0f);
  }
  const Tensor<float> z(Shape{4, 5});
  CHECK(z.shape() == Shape{4, 5});
  CHECK(z.to_vector() == std::vector<float>(20, 0.0f));
  const Tensor<double> zd(Shape{3});
  CHECK(zd.to_vector() == std::vector<double>{0, 0, 0});

  const auto e = Tensor<double>::empty(Shape{2, 0, 3});
  CHECK(e.defined());
  CHECK(e.numel() == 0);
  CHECK(e.shape() == Shape{2, 0, 3});
  CHECK(e.to_vector().empty());
  CHECK(e.clone().numel() == 0);

  CHECK_THROWS_AS(Tensor<float>::empty(Shape{2, -1}), nabla::ValueError);
  CHECK_THROWS_WITH(Tensor<float>::empty(Shape{2, -3}), "Tensor: negative extent in shape [2, -3]");
  CHECK_THROWS_AS(Tensor<float>(Shape{-1}), nabla::ValueError);
}

TEST_CASE("Tensor: scalar() is 0-d and item() reads one-element tensors", "[core][tensor]") {
  const auto s = Tensor<double>::scalar(2.5);
  CHECK(s.ndim() == 0);
  CHECK(s.shape() == Shape{});
  CHECK(s.numel() == 1);
  CHECK(s.item() == 2.5);
  CHECK(s() == 2.5);
  CHECK(s.at({}) == 2.5);
  CHECK(s.is_contiguous());
  CHECK(s.to_vector() == std::vector<double>{2.5});

  CHECK(Tensor<float>(Shape{1, 1}, {4.0f}).item() == 4.0f);
  CHECK(Tensor<std::int64_t>(Shape{1}, {-9}).item() == -9);

  const Tensor<float> m(Shape{2, 3});
  CHECK_THROWS_AS(m.item(), nabla::ShapeError);
  CHECK_THROWS_WITH(m.item(), "item: expected a tensor with one element, got shape [2, 3]");
  CHECK_THROWS_WITH(Tensor<float>(Shape{0}).item(), "item: expected a tensor with one element, got shape [0]");
}

TEST_CASE("Tensor: at() and operator() take negative indices and reject bad ones", "[core][tensor]") {
  const Tensor<int> t(Shape{2, 3}, {0, 1, 2, 10, 11, 12});
  CHECK(t(-1, -1) == 12);
  CHECK(t(-2, 1) == 1);
  CHECK(t(1, -3) == 10);
  CHECK(t.at({1, 1}) == 11);
  CHECK(t.at({-1, 0}) == 10);
  CHECK(t.at(std::vector<std::int64_t>{0, -1}) == 2);
  CHECK(t(std::size_t{1}, 2u) == 12);  // any integral index type

  t(0, 1) = 100;  // element references write through
  t.at({-1, -1}) += 5;
  CHECK(t.to_vector() == std::vector<int>{0, 100, 2, 10, 11, 17});

  CHECK_THROWS_AS(t(2, 0), nabla::IndexError);
  CHECK_THROWS_WITH(t(2, 0), "at: index 2 is out of range for axis 0 of shape [2, 3]");
  CHECK_THROWS_WITH(t(0, -4), "at: index -4 is out of range for axis 1 of shape [2, 3]");
  CHECK_THROWS_WITH(t.at({0, 3}), "at: index 3 is out of range for axis 1 of shape [2, 3]");
  CHECK_THROWS_AS(t(0), nabla::IndexError);
  CHECK_THROWS_WITH(t(0), "at: 1 indices given for a tensor of shape [2, 3]");
  CHECK_THROWS_WITH(t.at({0, 0, 0}), "at: 3 indices given for a tensor of shape [2, 3]");
}

TEST_CASE("Tensor: data() and to_vector() follow the view", "[core][tensor]") {
  const Tensor<float> t(Shape{3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const auto row = t.select(0, 1);
  CHECK(row.data() == t.data() + 4);
  CHECK(row.data()[0] == 4.0f);
  CHECK(row.to_vector() == std::vector<float>{4, 5, 6, 7});

  const auto col = t.select(1, 2);
  CHECK(col.data() == t.data() + 2);
  CHECK(col.strides() == Shape{4});
  CHECK(col.to_vector() == std::vector<float>{2, 6, 10});

  const auto tt = t.t();
  CHECK(tt.data() == t.data());
  CHECK(tt.to_vector() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});

  const auto block = t.slice(0, 1, 3).slice(1, 1, 4, 2);
  CHECK(block.data() == t.data() + 5);
  CHECK(block.to_vector() == std::vector<float>{5, 7, 9, 11});
}

TEST_CASE("Tensor: copies share storage, clone() does not", "[core][tensor]") {
  const Tensor<double> a(Shape{2, 2}, {1, 2, 3, 4});
  const Tensor<double> b = a;  // NOLINT(performance-unnecessary-copy-initialization): sharing is the point
  CHECK(b.storage().same_as(a.storage()));
  CHECK(a.storage().use_count() == 2);
  CHECK(b.is_same(a));
  b(0, 1) = 20.0;
  CHECK(a(0, 1) == 20.0);

  Tensor<double> c;
  c = a;
  c.data()[3] = 40.0;
  CHECK(a(1, 1) == 40.0);

  const auto d = a.clone();
  CHECK_FALSE(d.storage().same_as(a.storage()));
  CHECK_FALSE(d.is_same(a));
  CHECK(d.to_vector() == a.to_vector());
  d(0, 0) = -1.0;
  CHECK(a(0, 0) == 1.0);
  a(1, 0) = -3.0;
  CHECK(d(1, 0) == 3.0);

  // clone() of a strided view packs it.
  const auto ct = a.t().clone();
  CHECK(ct.is_contiguous());
  CHECK(ct.strides() == Shape{2, 1});
  CHECK(ct.to_vector() == std::vector<double>{1, -3, 20, 40});
}

TEST_CASE("Tensor: contiguous() keeps contiguous tensors and packs strided ones", "[core][tensor]") {
  const Tensor<float> a(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const auto same = a.contiguous();
  CHECK(same.is_same(a));
  CHECK(same.storage().same_as(a.storage()));

  // A row slice with an offset is still contiguous: no copy.
  const auto row = a.slice(0, 1, 2);
  CHECK(row.is_contiguous());
  CHECK(row.contiguous().storage().same_as(a.storage()));
  CHECK(row.contiguous().data() == a.data() + 3);

  const auto t = a.t();
  CHECK_FALSE(t.is_contiguous());
  const auto packed = t.contiguous();
  CHECK(packed.is_contiguous());
  CHECK_FALSE(packed.storage().same_as(a.storage()));
  CHECK(packed.shape() == Shape{3, 2});
  CHECK(packed.to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});

  const auto every_other = a.slice(1, 0, 3, 2);
  CHECK_FALSE(every_other.is_contiguous());
  CHECK(every_other.contiguous().to_vector() == std::vector<float>{1, 3, 4, 6});
}

TEST_CASE("Tensor: to<U>() converts element types, also from views", "[core][tensor]") {
  const Tensor<double> d(Shape{2, 2}, {0.1, -1.5, 2.75, 1e20});
  const auto f = d.to<float>();
  CHECK(f.shape() == Shape{2, 2});
  CHECK(f.to_vector() == std::vector<float>{0.1f, -1.5f, 2.75f, 1e20f});

  const Tensor<float> g(Shape{4}, {1.9f, -1.9f, 2.5f, -0.5f});
  const auto i = g.to<std::int64_t>();
  CHECK(i.to_vector() == std::vector<std::int64_t>{1, -1, 2, 0});  // truncates toward zero

  const Tensor<std::int64_t> n(Shape{3}, {-2, 0, 7});
  CHECK(n.to<double>().to_vector() == std::vector<double>{-2.0, 0.0, 7.0});

  // A conversion of a transposed view comes out row-major and contiguous.
  const Tensor<double> m(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const auto mt = m.t().to<float>();
  CHECK(mt.is_contiguous());
  CHECK(mt.shape() == Shape{3, 2});
  CHECK(mt.to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
  // Same type: still a new tensor.
  const auto same = m.to<double>();
  CHECK_FALSE(same.storage().same_as(m.storage()));
  CHECK(same.to_vector() == m.to_vector());
  CHECK(Tensor<double>::scalar(3.5).to<float>().item() == 3.5f);
}

TEST_CASE("Tensor: copy_ copies between layouts and checks shapes", "[core][tensor]") {
  const Tensor<float> src(Shape{2, 3}, {1, 2, 3, 4, 5, 6});

  SECTION("contiguous into contiguous") {
    const Tensor<float> dst(Shape{2, 3});
    dst.copy_(src);
    CHECK(dst.to_vector() == src.to_vector());
    CHECK_FALSE(dst.storage().same_as(src.storage()));
  }
  SECTION("transposed source") {
    const Tensor<float> dst(Shape{3, 2});
    dst.copy_(src.t());
    CHECK(dst.to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
  }
  SECTION("into a transposed destination") {
    const Tensor<float> base(Shape{3, 2});
    base.t().copy_(src);
    CHECK(base.to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
  }
  SECTION("broadcast source into a column slice") {
    const Tensor<float> base(Shape{3, 4});
    const Tensor<float> row(Shape{1, 2}, {8, 9});
    base.slice(1, 1, 3).copy_(row.expand(Shape{3, 2}));
    CHECK(base.to_vector() == std::vector<float>{0, 8, 9, 0, 0, 8, 9, 0, 0, 8, 9, 0});
  }
  SECTION("shape mismatch") {
    const Tensor<float> dst(Shape{3, 2});
    const auto version = dst.version();
    CHECK_THROWS_AS(dst.copy_(src), nabla::ShapeError);
    CHECK_THROWS_WITH(dst.copy_(src), "copy_: source shape [2, 3] does not match destination shape [3, 2]");
    CHECK(dst.version() == version);  // a failed copy writes nothing
    CHECK(dst.to_vector() == std::vector<float>(6, 0.0f));
  }
  SECTION("self copy is a no-op") {
    src.copy_(src);
    CHECK(src.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  }
}

TEST_CASE("Tensor: fill_ and zero_ on a strided view touch only the view", "[core][tensor]") {
  const Tensor<double> base(Shape{3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  base.slice(1, 0, 4, 2).fill_(-1.0);  // columns 0 and 2
  CHECK(base.to_vector() == std::vector<double>{-1, 1, -1, 3, -1, 5, -1, 7, -1, 9, -1, 11});
  base.select(0, 1).zero_();
  CHECK(base.to_vector() == std::vector<double>{-1, 1, -1, 3, 0, 0, 0, 0, -1, 9, -1, 11});
  base.t().slice(0, 3, 4).fill_(2.0);  // column 3, through a transposed view
  CHECK(base.to_vector() == std::vector<double>{-1, 1, -1, 2, 0, 0, 0, 2, -1, 9, -1, 2});
  base.fill_(5.0);
  CHECK(base.to_vector() == std::vector<double>(12, 5.0));
  CHECK(&base.fill_(1.0) == &base);  // returns itself for chaining
}

TEST_CASE("Tensor: in-place writers bump the shared version counter", "[core][tensor]") {
  const Tensor<float> a(Shape{2, 2});
  const auto start = a.version();
  const auto view = a.t();
  a.fill_(1.0f);
  CHECK(a.version() == start + 1);
  CHECK(view.version() == start + 1);  // views share the counter
  view.copy_(Tensor<float>(Shape{2, 2}, {1, 2, 3, 4}));
  CHECK(a.version() == start + 2);
  a.zero_();
  CHECK(a.version() == start + 3);
  a.bump_version();
  CHECK(view.version() == start + 4);
  // Reading does not bump, nor does a clone share the counter.
  (void)a.to_vector();
  const auto c = a.clone();
  c.fill_(3.0f);
  CHECK(a.version() == start + 4);
}

TEST_CASE("Tensor: a default-constructed tensor is undefined", "[core][tensor]") {
  const Tensor<float> u;
  CHECK_FALSE(u.defined());
  CHECK(u.data() == nullptr);
  CHECK(u.ndim() == 0);
  CHECK(u.numel() == 0);
  CHECK(u.version() == 0);
  CHECK(u.to_vector().empty());
  CHECK_THROWS_AS(u.item(), nabla::ShapeError);
  const Tensor<float> copy = u;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK_FALSE(copy.defined());
  Tensor<float> assigned(Shape{2});
  assigned = u;
  CHECK_FALSE(assigned.defined());
}

TEST_CASE("Tensor: zero-size tensors are contiguous and view freely", "[core][tensor]") {
  const Tensor<float> e(Shape{2, 0, 3});
  CHECK(e.is_contiguous());
  CHECK(e.contiguous().storage().same_as(e.storage()));
  CHECK(e.view(Shape{0, 5}).shape() == Shape{0, 5});
  CHECK(e.reshape(Shape{3, -1, 2}).shape() == Shape{3, 0, 2});
  CHECK(e.transpose(0, 1).numel() == 0);
  CHECK(e.transpose(0, 2).clone().shape() == Shape{3, 0, 2});
  const auto version = e.version();
  e.fill_(1.0f);  // writes nothing, but still counts as a write
  CHECK(e.version() == version + 1);
}

TEST_CASE("Tensor: allocation failures and size overflows are nabla errors naming the shape and the bytes",
          "[core][tensor]") {
  // 2^50 floats: 4 PiB, more than any process can address.
  const Shape huge{1 << 25, 1 << 25};
  CHECK_THROWS_AS(nabla::zeros<float>(huge), nabla::OutOfMemoryError);
  CHECK_THROWS_WITH(nabla::zeros<float>(huge),
                    Catch::Contains("4503599627370496 bytes (4.0 PiB)") &&
                        Catch::Contains("shape [33554432, 33554432]") && Catch::StartsWith("Tensor: cannot allocate"));
  CHECK_THROWS_AS(Tensor<double>::empty(huge), nabla::Error);  // catchable as nabla's base
  // The element count itself overflows int64.
  const Shape overflowing{std::int64_t{1} << 40, std::int64_t{1} << 40};
  CHECK_THROWS_AS(nabla::ones<double>(overflowing), nabla::OutOfMemoryError);
  CHECK_THROWS_WITH(nabla::ones<double>(overflowing),
                    Catch::Contains("shape [1099511627776, 1099511627776]") && Catch::Contains("9.671e+24 bytes") &&
                        Catch::Contains("overflows"));
  CHECK_THROWS_AS(nabla::Storage(nabla::Storage::max_bytes + 1), nabla::OutOfMemoryError);
  // After the failures, allocation works as before.
  CHECK(nabla::zeros<float>(Shape{3}).numel() == 3);
}

TEST_CASE("Tensor: nested braces build the tensor they spell, any rank; ragged lists throw", "[core][tensor]") {
  // Before, {{1, 2}, {3, 4}} was read as (shape {1, 2}, values {3, 4}).
  const Tensor<float> m({{1, 2}, {3, 4}});
  CHECK(m.shape() == Shape({2, 2}));
  CHECK(m.to_vector() == std::vector<float>{1, 2, 3, 4});
  const Tensor<std::int64_t> wide = {{1, 2, 3}, {4, 5, 6}};
  CHECK(wide.shape() == Shape({2, 3}));
  CHECK(wide.at({1, 0}) == 4);
  const Tensor<double> cube({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}, {{9, 10}, {11, 12}}});
  CHECK(cube.shape() == Shape({3, 2, 2}));
  CHECK(cube.at({2, 1, 0}) == 11);
  const Tensor<float> deep({{{{{{{{0.5f, 1.5f}}}}}}}});
  CHECK(deep.shape() == Shape({1, 1, 1, 1, 1, 1, 1, 2}));
  CHECK(deep.to_vector() == std::vector<float>{0.5f, 1.5f});
  // Lists of one element at every level, or empty ones, fit several ranks
  // (a compile error, never a guess): from_nested<Rank> names the rank.
  const auto single = Tensor<float>::from_nested<3>({{{7}}});
  CHECK(single.shape() == Shape({1, 1, 1}));
  const auto empty_rows = Tensor<float>::from_nested<2>({{}, {}});
  CHECK(empty_rows.shape() == Shape({2, 0}));
  CHECK_THROWS_AS(Tensor<float>({{1, 2}, {3}}), nabla::ShapeError);
  CHECK_THROWS_WITH(Tensor<float>({{1, 2}, {3}}),
                    Catch::Contains("ragged") && Catch::Contains("has 1 elements") && Catch::Contains("has 2"));
  CHECK_THROWS_AS(Tensor<float>({{{1, 2}, {3, 4}}, {{5, 6}}}), nabla::ShapeError);
  // The two-argument form still takes a shape and row-major values.
  const Tensor<float> shaped({2, 2}, {1, 2, 3, 4});
  CHECK(shaped.to_vector() == m.to_vector());
  // And a shape alone is still a zero tensor of that shape.
  CHECK(Tensor<float>({2, 3}).shape() == Shape({2, 3}));
  // nabla::tensor is torch.tensor, rank 1 included.
  CHECK(nabla::tensor({1, 2, 3}).shape() == Shape({3}));
  CHECK(nabla::tensor<double>({{1, 2}, {3, 4}}).at({1, 1}) == 4.0);
  CHECK(Tensor<std::int64_t>::from_nested<1>({}).shape() == Shape({0}));
}

// Tests for ops/einsum.hpp and bmm / broadcasting matmul in ops/linalg.hpp:
// forward values against PyTorch (tests/fixtures/einsum.json) in float,
// double, int64 and int32, strided views, zero-size axes and every error.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "../support/fixture.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/ops/einsum.hpp"
#include "nabla/ops/linalg.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::testing::fixture;
using nabla::testing::require_close;

namespace {

// The same values as t, held every other element of a wider buffer (a slice
// view with stride 2 on the last axis).
template <class T>
Tensor<T> einsum_strided_copy(const Tensor<T>& t) {
  if (t.ndim() == 0) return t;
  Shape wide = t.shape();
  wide[wide.size() - 1] *= 2;
  const Tensor<T> buffer(wide);
  const Tensor<T> view = buffer.slice(-1, 0, wide[wide.size() - 1], 2);
  view.copy_(t);
  return view;
}

// The same values as t, stored with its last two axes swapped (a transposed view).
template <class T>
Tensor<T> einsum_transposed_copy(const Tensor<T>& t) {
  if (t.ndim() < 2) return einsum_strided_copy(t);
  return t.transpose(-1, -2).contiguous().transpose(-1, -2);
}

template <class T>
std::vector<Tensor<T>> einsum_inputs(const nabla::testing::FixtureCase& c) {
  std::vector<Tensor<T>> xs;
  for (int i = 0; c.has("in" + std::to_string(i)); ++i) xs.push_back(c.template tensor<T>("in" + std::to_string(i)));
  return xs;
}

template <class T>
Tensor<T> einsum_apply(const nabla::testing::FixtureCase& c, const std::vector<Tensor<T>>& xs) {
  if (c.has("eq")) return nabla::einsum(c.text("eq"), xs);
  if (c.text("op") == "bmm") return nabla::bmm(xs[0], xs[1]);
  return nabla::matmul(xs[0], xs[1]);
}

// Forward values of every case of this dtype family, with contiguous,
// strided and transposed operands.
template <class T>
void einsum_check_all(bool integer_cases, double tol) {
  int count = 0;
  for (const auto& name : fixture("einsum").names()) {
    if ((name.rfind("int_", 0) == 0) != integer_cases) continue;
    INFO("case " << name);
    const auto c = fixture("einsum").get(name);
    const std::vector<Tensor<T>> xs = einsum_inputs<T>(c);
    const Tensor<double> expected = c.tensor<double>("out");
    require_close(einsum_apply(c, xs), expected, tol, tol);
    std::vector<Tensor<T>> strided, transposed;
    for (const auto& x : xs) {
      strided.push_back(einsum_strided_copy(x));
      transposed.push_back(einsum_transposed_copy(x));
    }
    require_close(einsum_apply(c, strided), expected, tol, tol);
    require_close(einsum_apply(c, transposed), expected, tol, tol);
    ++count;
  }
  CHECK(count >= 7);
}

}  // namespace

TEST_CASE("einsum: every equation kind matches PyTorch in double", "[einsum]") {
  einsum_check_all<double>(false, 1e-12);
}

TEST_CASE("einsum: every equation kind matches PyTorch in float", "[einsum]") {
  einsum_check_all<float>(false, 1e-5);
}

TEST_CASE("einsum: integer operands match PyTorch exactly (int64, int32)", "[einsum]") {
  einsum_check_all<std::int64_t>(true, 0.0);
  einsum_check_all<std::int32_t>(true, 0.0);
}

TEST_CASE("einsum: hand-checked trace, diagonal, transpose and matmul", "[einsum]") {
  const Tensor<double> a({{1, 2}, {3, 4}});
  const Tensor<double> b({{5, 6}, {7, 8}});
  CHECK(nabla::einsum("ii", a).item() == 5.0);
  CHECK(nabla::einsum("ii->", a).ndim() == 0);
  CHECK(nabla::einsum("ii->i", a).to_vector() == std::vector<double>{1, 4});
  CHECK(nabla::einsum("ij->ji", a).to_vector() == std::vector<double>{1, 3, 2, 4});
  CHECK(nabla::einsum("ij,jk->ik", a, b).to_vector() == std::vector<double>{19, 22, 43, 50});
  CHECK(nabla::einsum("ij,jk", a, b).to_vector() == std::vector<double>{19, 22, 43, 50});
  CHECK(nabla::einsum("ij,jk->ki", a, b).to_vector() == std::vector<double>{19, 43, 22, 50});
  // Implicit output lists upper case before lower case (ASCII order), as torch.
  const Tensor<double> r(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(nabla::einsum("aB", r).shape() == Shape{3, 2});
  CHECK(nabla::einsum("Ba", r).shape() == Shape{2, 3});
}

TEST_CASE("einsum: the result never aliases an operand", "[einsum]") {
  const Tensor<float> a({{1, 2}, {3, 4}});
  for (const char* eq : {"ij->ij", "ij", "ij->ji", "...->..."}) {
    INFO(eq);
    const Tensor<float> y = nabla::einsum(eq, a);
    CHECK_FALSE(y.storage().same_as(a.storage()));
    CHECK(y.is_contiguous());
  }
}

TEST_CASE("einsum: batched contraction equals matmul bit for bit", "[einsum]") {
  nabla::Generator gen(11);
  const auto a = nabla::randn<float>(Shape{4, 33, 17}, gen);
  const auto b = nabla::randn<float>(Shape{4, 17, 29}, gen);
  CHECK(nabla::einsum("bij,bjk->bik", a, b).to_vector() == nabla::matmul(a, b).to_vector());
  CHECK(nabla::einsum("bij,bjk->bik", a, b).to_vector() == nabla::bmm(a, b).to_vector());
  // A transposed second operand goes to GEMM as a transposed view, no copy needed.
  const auto bt = b.transpose(1, 2).contiguous();
  CHECK(nabla::einsum("bij,bkj->bik", a, bt).to_vector() == nabla::matmul(a, bt.transpose(1, 2)).to_vector());
}

TEST_CASE("einsum: broadcast (stride 0) and diagonal-of-transpose operands", "[einsum]") {
  const Tensor<double> v(Shape{4}, {1, 2, 3, 4});
  const Tensor<double> m(Shape{4, 2}, {1, 0, 0, 1, 1, 1, 2, 0});
  const Tensor<double> rows = v.expand(Shape{3, 4});  // every row is v
  const auto y = nabla::einsum("ij,jk->ik", rows, m);
  CHECK(y.to_vector() == std::vector<double>{12, 5, 12, 5, 12, 5});
  CHECK(nabla::einsum("ij->", rows).item() == 30.0);
  const Tensor<double> sq(Shape{3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(nabla::einsum("ii->i", sq.t()).to_vector() == std::vector<double>{1, 5, 9});
  CHECK(nabla::einsum("ij,ji->", sq, sq.t()).item() == 285.0);  // sum of squares
  CHECK(nabla::einsum("ij,ij->", sq.slice(1, 0, 3, 2), sq.slice(1, 0, 3, 2)).item() == 1 + 9 + 16 + 36 + 49 + 81);
}

TEST_CASE("einsum: zero-size axes give empty or zero results", "[einsum]") {
  const Tensor<double> e(Shape{3, 0});
  const Tensor<double> f(Shape{0, 4});
  const auto y = nabla::einsum("ij,jk->ik", e, f);
  CHECK(y.shape() == Shape{3, 4});
  CHECK(y.to_vector() == std::vector<double>(12, 0.0));
  CHECK(nabla::einsum("ij->j", e).shape() == Shape{0});
  CHECK(nabla::einsum("ij->", e).item() == 0.0);
  CHECK(nabla::einsum("ii->i", Tensor<double>(Shape{0, 0})).shape() == Shape{0});
}

TEST_CASE("einsum: errors name the equation, operands, indices and extents", "[einsum]") {
  using Catch::StartsWith;
  const Tensor<float> a(Shape{2, 3});
  const Tensor<float> b(Shape{4, 5});
  const Tensor<float> v(Shape{3});
  CHECK_THROWS_AS(nabla::einsum("ij,jk->ik", a), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::einsum("ij,jk->ik", a), "einsum: equation \"ij,jk->ik\" names 2 operands but 1 were given");
  CHECK_THROWS_WITH(nabla::einsum("ij", a, v), "einsum: equation \"ij\" names 1 operand but 2 were given");
  CHECK_THROWS_AS(nabla::einsum("ijk", a), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::einsum("ijk", a),
                    "einsum: operand 0 has shape [2, 3] (2 dimensions) but its subscripts name 3");
  CHECK_THROWS_WITH(nabla::einsum("i", a), StartsWith("einsum: operand 0 has shape [2, 3]"));
  CHECK_THROWS_WITH(nabla::einsum("ijk...", a), StartsWith("einsum: operand 0 has shape [2, 3] (2 dimensions) but"));
  CHECK_THROWS_AS(nabla::einsum("ij,jk->ik", a, b), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::einsum("ij,jk->ik", a, b),
                    "einsum: index j has extent 3 in operand 0 (shape [2, 3]) but 4 in operand 1 (shape [4, 5])");
  CHECK_THROWS_WITH(nabla::einsum("...i,...i", Tensor<float>(Shape{2, 3}), Tensor<float>(Shape{4, 3})),
                    StartsWith("einsum: index ... (axis 0) has extent 2 in operand 0"));
  CHECK_THROWS_WITH(nabla::einsum("ii", a),
                    "einsum: index i is repeated in operand 0 of shape [2, 3] with different extents (2 != 3)");
  CHECK_THROWS_AS(nabla::einsum("ij->k", a), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::einsum("ij->k", a),
                    "einsum: output index k of equation \"ij->k\" does not appear in any input");
  CHECK_THROWS_WITH(nabla::einsum("ij->ii", a),
                    "einsum: output index i appears more than once in equation \"ij->ii\"");
  CHECK_THROWS_AS(nabla::einsum("i1", a), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::einsum("i1", a), StartsWith("einsum: invalid character '1' at position 1"));
  CHECK_THROWS_WITH(nabla::einsum("ij->i-", a), StartsWith("einsum: invalid character '-' at position 5"));
  CHECK_THROWS_WITH(nabla::einsum("ij>i", a), StartsWith("einsum: invalid character '>'"));
  CHECK_THROWS_WITH(nabla::einsum("ij->i->j", a), StartsWith("einsum: invalid character '-'"));
  CHECK_THROWS_WITH(nabla::einsum("i..j", a), StartsWith("einsum: invalid ellipsis"));
  CHECK_THROWS_WITH(nabla::einsum("...i...", a), StartsWith("einsum: invalid ellipsis"));
  CHECK_THROWS_WITH(nabla::einsum("", std::vector<Tensor<float>>{}),
                    "einsum: equation \"\" names 1 operand but 0 were given");
}

TEST_CASE("bmm: strictly 3-D with equal batch sizes", "[einsum][linalg]") {
  using Catch::StartsWith;
  const Tensor<float> a(Shape{2, 3, 4});
  CHECK(nabla::bmm(a, Tensor<float>(Shape{2, 4, 5})).shape() == Shape{2, 3, 5});
  CHECK_THROWS_AS(nabla::bmm(a, Tensor<float>(Shape{4, 5})), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::bmm(a, Tensor<float>(Shape{4, 5})),
                    "bmm: expected two 3-D tensors, got shapes [2, 3, 4] and [4, 5]");
  CHECK_THROWS_WITH(nabla::bmm(Tensor<float>(Shape{1, 2, 3, 4}), a), StartsWith("bmm: expected two 3-D tensors"));
  CHECK_THROWS_WITH(nabla::bmm(a, Tensor<float>(Shape{1, 4, 5})),
                    "bmm: shapes [2, 3, 4] and [1, 4, 5] have different batch sizes (2 != 1)");
  CHECK_THROWS_WITH(nabla::bmm(a, Tensor<float>(Shape{2, 5, 6})),
                    "bmm: shapes [2, 3, 4] and [2, 5, 6] do not align (4 != 5)");
}

TEST_CASE("matmul: broadcast batch axes that are mismatched are rejected", "[einsum][linalg]") {
  CHECK_THROWS_WITH(nabla::matmul(Tensor<float>(Shape{2, 3, 4}), Tensor<float>(Shape{3, 4, 5})),
                    Catch::StartsWith("matmul: batch dimensions of shapes [2, 3, 4] and [3, 4, 5] cannot be"));
}

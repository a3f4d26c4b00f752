// Differentiable sort, topk, repeat, tile, norm and prod against PyTorch:
// forward values and gradients of sum(out * w) from tests/fixtures/sort.json
// (the g_* cases), gradcheck in double, and the op kinds on the tape.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

namespace {

using SortV = Var<double>;
using SortBuilder = std::function<SortV(const SortV&)>;

const double sort_inf = std::numeric_limits<double>::infinity();

// Each g_* fixture case and the nabla expression that should reproduce it.
const std::map<std::string, SortBuilder>& sort_builders() {
  static const std::map<std::string, SortBuilder> table = {
      {"g_sort_last", [](const SortV& x) { return nabla::sort(x).values; }},
      {"g_sort_axis0_desc", [](const SortV& x) { return nabla::sort(x, 0, true).values; }},
      {"g_sort_3d_axis1", [](const SortV& x) { return nabla::sort(x, 1).values; }},
      {"g_sort_ties_stable", [](const SortV& x) { return nabla::sort(x, -1, false, true).values; }},
      {"g_topk_largest", [](const SortV& x) { return nabla::topk(x, 3).values; }},
      {"g_topk_smallest_axis0", [](const SortV& x) { return nabla::topk(x, 2, 0, false).values; }},
      {"g_repeat", [](const SortV& x) { return nabla::repeat(x, Shape{2, 3}); }},
      {"g_repeat_more", [](const SortV& x) { return nabla::repeat(x, Shape{2, 1, 2}); }},
      {"g_tile", [](const SortV& x) { return nabla::tile(x, Shape{2}); }},
      {"g_tile_more", [](const SortV& x) { return nabla::tile(x, Shape{3, 1, 2}); }},
      {"g_norm_p1", [](const SortV& x) { return nabla::norm(x, 1.0); }},
      {"g_norm_p2", [](const SortV& x) { return nabla::norm(x); }},
      {"g_norm_pinf", [](const SortV& x) { return nabla::norm(x, sort_inf); }},
      {"g_norm_pneginf", [](const SortV& x) { return nabla::norm(x, -sort_inf); }},
      {"g_norm_p3", [](const SortV& x) { return nabla::norm(x, 3.0); }},
      {"g_norm_fro", [](const SortV& x) { return nabla::norm(x, "fro"); }},
      {"g_norm_fro_axes01", [](const SortV& x) { return nabla::norm(x, "fro", Shape{0, 1}); }},
      {"g_norm_p2_axis1_keep", [](const SortV& x) { return nabla::norm(x, 2.0, 1, true); }},
      {"g_norm_p1_axes02", [](const SortV& x) { return nabla::norm(x, 1.0, Shape{0, 2}); }},
      {"g_norm_pinf_axis0", [](const SortV& x) { return nabla::norm(x, sort_inf, 0); }},
      {"g_norm_p2_zero", [](const SortV& x) { return nabla::norm(x, 2.0); }},
      {"g_norm_p2_zero_row", [](const SortV& x) { return nabla::norm(x, 2.0, 1); }},
      {"g_norm_pinf_ties", [](const SortV& x) { return nabla::norm(x, sort_inf); }},
      {"g_norm_pinf_axis1_ties", [](const SortV& x) { return nabla::norm(x, sort_inf, Shape{1}); }},
      {"g_prod_all", [](const SortV& x) { return nabla::prod(x); }},
      {"g_prod_axis1", [](const SortV& x) { return nabla::prod(x, 1); }},
      {"g_prod_axis0_keep", [](const SortV& x) { return nabla::prod(x, 0, true); }},
      {"g_prod_all_one_zero", [](const SortV& x) { return nabla::prod(x); }},
      {"g_prod_axis1_one_zero", [](const SortV& x) { return nabla::prod(x, 1); }},
      {"g_prod_all_two_zeros", [](const SortV& x) { return nabla::prod(x); }},
      {"g_prod_axis1_two_zeros", [](const SortV& x) { return nabla::prod(x, -1); }},
      {"g_prod_axis0_two_zeros", [](const SortV& x) { return nabla::prod(x, 0); }},
  };
  return table;
}

// Forward and gradient against PyTorch; then gradcheck unless the case sits
// on a kink (zero norms, ties), where finite differences are one-sided.
void sort_check_case(const std::string& name, bool run_gradcheck) {
  INFO("case " << name);
  const auto c = nabla::testing::fixture("sort").get(name);
  const auto it = sort_builders().find(name);
  REQUIRE(it != sort_builders().end());
  const Tensor<double> input = c.tensor<double>("in0");
  SortV x(input.clone(), true);
  const SortV y = it->second(x);
  nabla::testing::require_close(y.value(), c.tensor<double>("out"), 1e-12, 1e-12);
  nabla::sum(y * c.tensor<double>("w")).backward();
  REQUIRE(x.grad().defined());
  nabla::testing::require_close(x.grad(), c.tensor<double>("grad0"), 1e-10, 1e-12);
  if (run_gradcheck) {
    const auto report = nabla::gradcheck([&](const std::vector<SortV>& v) { return it->second(v[0]); }, {input});
    INFO(report.message);
    CHECK(report.ok);
    CHECK(report.checked > 0);
  }
}

void sort_check_prefix(const std::string& prefix, bool run_gradcheck = true) {
  int count = 0;
  for (const auto& name : nabla::testing::fixture("sort").names()) {
    if (name.rfind(prefix, 0) != 0) continue;
    sort_check_case(name, run_gradcheck);
    ++count;
  }
  REQUIRE(count > 0);
}

}  // namespace

TEST_CASE("sort fixtures: every gradient case has a builder", "[autograd][sort]") {
  for (const auto& name : nabla::testing::fixture("sort").names()) {
    if (name.rfind("g_", 0) != 0) continue;
    INFO("case " << name);
    CHECK(sort_builders().count(name) == 1);
  }
}

TEST_CASE("sort fixtures: sort and topk scatter the gradient back through the indices", "[autograd][sort]") {
  for (const char* name : {"g_sort_last", "g_sort_axis0_desc", "g_sort_3d_axis1", "g_topk_largest",
                           "g_topk_smallest_axis0"}) {
    sort_check_case(name, true);
  }
  // Ties (stable): equal values keep their input order, so the earlier of two
  // equal inputs receives the gradient of the earlier output slot, as PyTorch.
  sort_check_case("g_sort_ties_stable", false);
  // The indices are those of the Tensor op, and the 0-d case passes gy through.
  const Tensor<double> t({{0.3, -1.0, 2.0}, {1.5, 0.1, -0.7}});
  SortV x(t, true);
  const auto s = nabla::sort(x, 1, true);
  CHECK(s.indices.to_vector() == nabla::sort(t, 1, true).indices.to_vector());
  const auto k = nabla::topk(x, 2, 0);
  CHECK(k.indices.to_vector() == nabla::topk(t, 2, 0).indices.to_vector());
  SortV scalar(Tensor<double>::scalar(2.0), true);
  (nabla::sort(scalar).values * 3.0).backward();
  CHECK(scalar.grad().item() == 3.0);
  // A transposed view: x.t() rows are [0.3, 1.5], [-1, 0.1], [2, -0.7].
  SortV view(t.t(), true);
  nabla::sum(nabla::topk(view, 1).values * Tensor<double>({{1.0}, {2.0}, {3.0}})).backward();
  CHECK(view.grad().to_vector() == std::vector<double>{0, 1, 0, 2, 3, 0});
  // Zero-size: empty lines and k = 0 give empty values and zero gradients.
  SortV empty(Tensor<double>(Shape{2, 0}), true);
  const auto se = nabla::sort(empty, 1);
  CHECK(se.values.shape() == Shape{2, 0});
  nabla::sum(se.values).backward();
  CHECK(empty.grad().shape() == Shape{2, 0});
  SortV none(t, true);
  const auto k0 = nabla::topk(none, 0);
  CHECK(k0.values.shape() == Shape{2, 0});
  nabla::sum(k0.values).backward();
  CHECK(none.grad().to_vector() == std::vector<double>(6, 0.0));
  // Not recorded without requires_grad; topk errors still name the shape.
  CHECK_FALSE(nabla::sort(SortV(t, false)).values.requires_grad());
  CHECK_THROWS_WITH(nabla::topk(x, 4), Catch::StartsWith("topk: k = 4 is out of range for axis -1 of shape [2, 3]"));
}

TEST_CASE("sort fixtures: repeat and tile sum the repeated blocks", "[autograd][sort]") {
  sort_check_prefix("g_repeat");
  sort_check_prefix("g_tile");
  // A transposed input and zero repeats.
  const Tensor<double> t({{1, 2, 3}, {4, 5, 6}});
  SortV x(t.t(), true);
  nabla::sum(nabla::repeat(x, Shape{2, 2})).backward();
  CHECK(x.grad().to_vector() == std::vector<double>(6, 4.0));
  SortV z(t, true);
  const SortV empty = nabla::repeat(z, Shape{0, 1});
  CHECK(empty.shape() == Shape{0, 3});
  nabla::sum(empty).backward();
  CHECK(z.grad().to_vector() == std::vector<double>(6, 0.0));
  CHECK_THROWS_WITH(nabla::repeat(z, Shape{2}), Catch::StartsWith("repeat: 1 repeats [2] given for a tensor of shape [2, 3]"));
}

TEST_CASE("sort fixtures: norms (p = 1, 2, 3, inf, -inf, fro) over all elements and axes", "[autograd][sort]") {
  for (const char* name : {"g_norm_p1", "g_norm_p2", "g_norm_pinf", "g_norm_pneginf", "g_norm_p3", "g_norm_fro",
                           "g_norm_fro_axes01", "g_norm_p2_axis1_keep", "g_norm_p1_axes02", "g_norm_pinf_axis0"}) {
    sort_check_case(name, true);
  }
  // At x = 0 the 2-norm's gradient is 0 (PyTorch masks the 0/0); a zero row
  // among others gets 0 too. Kinks: no finite differences here.
  sort_check_case("g_norm_p2_zero", false);
  sort_check_case("g_norm_p2_zero_row", false);
  // inf-norm ties: the gradient is split evenly among the maxima of |x|,
  // each with its sign (PyTorch 1.13's rule).
  sort_check_case("g_norm_pinf_ties", false);
  sort_check_case("g_norm_pinf_axis1_ties", false);
}

TEST_CASE("sort fixtures: norm gradients at zero, p = 0 and unsupported p", "[autograd][sort]") {
  SortV x(Tensor<double>({{0, 0}, {0, 0}}), true);
  nabla::norm(x, 1.0).backward();  // sign(0) = 0, as PyTorch's sgn
  CHECK(x.grad().to_vector() == std::vector<double>(4, 0.0));
  SortV y(Tensor<double>({{0, 0}, {0, 0}}), true);
  nabla::norm(y, 3.0).backward();
  CHECK(y.grad().to_vector() == std::vector<double>(4, 0.0));
  SortV z(Tensor<double>({{1, 0}, {2, 0}}), true);
  const SortV count = nabla::norm(z, 0.0);
  CHECK(count.item() == 2.0);
  count.backward();
  CHECK(z.grad().to_vector() == std::vector<double>(4, 0.0));
  CHECK_THROWS_AS(nabla::norm(z, 0.5), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::norm(z, 0.5), Catch::StartsWith("norm: the gradient for p = 0.5 is not supported"));
  CHECK_THROWS_WITH(nabla::norm(z, "nuc"), Catch::StartsWith("norm: unknown norm"));
  // A transposed view along an axis.
  const Tensor<double> t({{3, 1}, {4, 2}});
  SortV v(t.t(), true);  // rows [3, 4] and [1, 2]
  nabla::sum(nabla::norm(v, 2.0, 1)).backward();
  nabla::testing::require_close(v.grad(), Tensor<double>({{0.6, 0.8}, {1 / std::sqrt(5.0), 2 / std::sqrt(5.0)}}),
                                1e-12, 1e-14);
}

TEST_CASE("sort fixtures: prod with no, one and two zeros", "[autograd][sort]") {
  sort_check_prefix("g_prod_");
  // Float follows the double reference.
  const auto c = nabla::testing::fixture("sort").get("g_prod_axis1_one_zero");
  Var<float> x(c.tensor<float>("in0"), true);
  nabla::sum(nabla::prod(x, 1) * c.tensor<float>("w")).backward();
  nabla::testing::require_close(x.grad(), c.tensor<double>("grad0"), 1e-5, 1e-6);
  // Zero-size: the product of nothing is 1, and no gradient flows.
  Var<double> e(Tensor<double>(Shape{2, 0}), true);
  const Var<double> p = nabla::prod(e, 1);
  CHECK(p.value().to_vector() == std::vector<double>{1.0, 1.0});
  nabla::sum(p).backward();
  CHECK(e.grad().shape() == Shape{2, 0});
  CHECK_THROWS_WITH(nabla::prod(e, 2), Catch::StartsWith("prod: axis 2 is out of range"));
}

TEST_CASE("sort fixtures: prod, sort, topk, repeat and norm are recorded on the tape", "[autograd][sort]") {
  std::set<nabla::OpKind> seen;
  for (const auto& name : nabla::testing::fixture("sort").names()) {
    if (name.rfind("g_", 0) != 0) continue;
    const auto c = nabla::testing::fixture("sort").get(name);
    nabla::Tape<double>::current().clear();
    SortV x(c.tensor<double>("in0"), true);
    const SortV y = sort_builders().at(name)(x);
    const auto& tape = nabla::Tape<double>::current();
    for (std::size_t i = 0; i < tape.size(); ++i) {
      if (tape.entry(i).backward) seen.insert(tape.entry(i).kind);
    }
    nabla::Tape<double>::current().clear();
  }
  for (nabla::OpKind kind : {nabla::OpKind::prod, nabla::OpKind::sort, nabla::OpKind::topk, nabla::OpKind::repeat,
                             nabla::OpKind::norm}) {
    INFO("op kind " << nabla::op_name(kind));
    CHECK(seen.count(kind) == 1);
  }
  // tile records as repeat.
  SortV x(Tensor<double>({{1, 2}, {3, 4}}), true);
  const SortV y = nabla::tile(x, Shape{2});
  const auto& tape = nabla::Tape<double>::current();
  REQUIRE(tape.size() > 0);
  CHECK(tape.entry(tape.size() - 1).kind == nabla::OpKind::repeat);
  nabla::Tape<double>::current().clear();
}

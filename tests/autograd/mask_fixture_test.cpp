// Gradients of indexing and masks on Var<double> against PyTorch
// (tests/fixtures/mask.json: gradients of sum(out * w)) and against finite
// differences; the tape records the index, masked_fill and masked_select kinds.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/fixture.hpp"
#include "nabla/autograd.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;
using nabla::indexing::Ellipsis;
using nabla::indexing::None;
using nabla::indexing::Slice;
using MaskV = Var<double>;
using I64 = std::int64_t;

namespace {

Tensor<I64> mask_ints(std::vector<I64> v) {
  const auto n = static_cast<I64>(v.size());
  return Tensor<I64>(Shape{n}, std::move(v));
}

// Builders take the input Var and the case (for masks computed from data).
using MaskBuilder = std::function<MaskV(const MaskV&)>;
const std::map<std::string, MaskBuilder>& mask_builders() {
  static const std::map<std::string, MaskBuilder> table = {
      {"grad_index_slice_step", [](const MaskV& t) { return t.index({Slice(), Slice(1, None), Slice(None, None, 2)}); }},
      {"grad_index_none", [](const MaskV& t) { return t.index({None, 0, None, Slice(), 1}); }},
      {"grad_index_idx_2d", [](const MaskV& t) { return t.index({Slice(), Tensor<I64>({{0, 2}, {1, 1}})}); }},
      {"grad_index_idx_adjacent",
       [](const MaskV& t) { return t.index({Slice(), mask_ints({0, 2}), mask_ints({1, 3})}); }},
      {"grad_index_idx_separated",
       [](const MaskV& t) { return t.index({mask_ints({0, 1}), Slice(), mask_ints({1, 3})}); }},
      {"grad_index_idx_broadcast",
       [](const MaskV& t) { return t.index({Tensor<I64>({{0}, {1}}), Slice(), mask_ints({1, 2, 3})}); }},
      {"grad_index_idx_with_int", [](const MaskV& t) { return t.index({1, Slice(), mask_ints({0, 3})}); }},
      {"grad_index_mask_leading",
       [](const MaskV& t) { return t.index({Tensor<bool>({{true, false, true}, {false, false, true}})}); }},
      {"grad_index_mask_and_idx",
       [](const MaskV& t) { return t.index({nabla::tensor<bool>({true, false}), Slice(), mask_ints({2, 1})}); }},
      {"grad_index_transposed",
       [](const MaskV& t) { return nabla::index(nabla::transpose(t, 1, 3), {Slice(), mask_ints({0, 2}), 1}); }},
      {"grad_index_repeated", [](const MaskV& t) { return t.index({mask_ints({1, 1, 0}), Slice(), mask_ints({2, 2, 2})}); }},
      {"grad_masked_fill",
       [](const MaskV& t) { return nabla::masked_fill(t, nabla::tensor<bool>({true, false, true, true}), 0.5); }},
      {"grad_masked_select", [](const MaskV& t) { return nabla::masked_select(t, t.value() > 0.0); }},
      {"grad_where_bool", [](const MaskV& t) { return nabla::where(t.value() > 0.0, t * 2.0, nabla::square(t)); }},
  };
  return table;
}

void mask_check_case(const std::string& name, const MaskBuilder& build) {
  INFO("case " << name);
  const auto c = nabla::testing::fixture("mask").get(name);
  const Tensor<double> input = c.tensor<double>("in0");
  MaskV x(input.clone(), true);
  const MaskV y = build(x);
  nabla::testing::require_close(y.value(), c.tensor<double>("out"), 1e-12, 1e-12);
  nabla::sum(y * c.tensor<double>("w")).backward();
  REQUIRE(x.grad().defined());
  nabla::testing::require_close(x.grad(), c.tensor<double>("grad0"), 1e-12, 1e-12);
  const auto report = nabla::gradcheck([&](const std::vector<MaskV>& v) { return build(v[0]); }, {input});
  INFO(report.message);
  CHECK(report.ok);
  CHECK(report.checked > 0);
}

}  // namespace

TEST_CASE("index, masked_fill, masked_select, where(bool) gradients match PyTorch", "[autograd][mask]") {
  int checked = 0;
  for (const auto& [name, build] : mask_builders()) {
    mask_check_case(name, build);
    ++checked;
  }
  // Every gradient case of the fixture has a builder.
  int in_fixture = 0;
  for (const auto& name : nabla::testing::fixture("mask").names()) in_fixture += name.rfind("grad_", 0) == 0 ? 1 : 0;
  CHECK(in_fixture == checked + 1);  // + grad_masked_select_broadcast, below
}

TEST_CASE("masked_select of a broadcast input sums its gradient back", "[autograd][mask]") {
  const auto c = nabla::testing::fixture("mask").get("grad_masked_select_broadcast");
  const auto full = nabla::testing::fixture("mask").get("grad_masked_select");  // the [3, 4] values behind the mask
  const Tensor<bool> mask = full.tensor<double>("in0") > 0.0;
  mask_check_case("grad_masked_select_broadcast", [mask](const MaskV& t) { return nabla::masked_select(t, mask); });
  CHECK(c.tensor<double>("in0").shape() == Shape({3, 1}));
}

TEST_CASE("the tape records index, masked_fill and masked_select", "[autograd][mask]") {
  std::set<nabla::OpKind> seen;
  for (const auto& [name, build] : mask_builders()) {
    MaskV x(nabla::testing::fixture("mask").get(name).tensor<double>("in0"), true);
    const MaskV y = build(x);
    const auto& tape = nabla::Tape<double>::current();
    for (std::size_t i = 0; i < tape.size(); ++i) {
      if (tape.entry(i).backward) seen.insert(tape.entry(i).kind);
    }
    nabla::Tape<double>::current().clear();
  }
  for (nabla::OpKind kind : {nabla::OpKind::index, nabla::OpKind::masked_fill, nabla::OpKind::masked_select}) {
    INFO(nabla::op_name(kind));
    CHECK(seen.count(kind) == 1);
  }
}

TEST_CASE("Var methods, v[i] and compound assignment record on the tape", "[autograd][mask]") {
  MaskV x(Tensor<double>({{1, 2}, {3, 4}}), true);
  MaskV loss = x.sum();
  loss += x[1].sum();     // rebinds loss to loss + x[1].sum()
  loss *= 2.0;
  loss -= x.exp().mean(); // d/dx of -mean(exp(x)) is -exp(x) / 4
  loss.backward();
  const std::vector<double> g = x.grad().to_vector();
  const double base[] = {2, 2, 4, 4};
  for (std::size_t i = 0; i < 4; ++i) CHECK(g[i] == Approx(base[i] - std::exp(static_cast<double>(i + 1)) / 4));
  CHECK(x.dim() == 2);
  CHECK((x > 2.0).to_vector() == std::vector<bool>{false, false, true, true});
  CHECK(nabla::isfinite(x).to_vector() == std::vector<bool>{true, true, true, true});
}

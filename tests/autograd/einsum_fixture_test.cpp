// Differentiable einsum, bmm and broadcasting matmul against PyTorch: forward
// values and gradients of sum(out * w) from tests/fixtures/einsum.json,
// gradcheck in double, strided operands, and the op kinds on the tape.
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

using EinsumVars = std::vector<Var<double>>;

std::vector<Tensor<double>> einsum_fixture_inputs(const nabla::testing::FixtureCase& c) {
  std::vector<Tensor<double>> xs;
  for (int i = 0; c.has("in" + std::to_string(i)); ++i) xs.push_back(c.tensor<double>("in" + std::to_string(i)));
  return xs;
}

Var<double> einsum_fixture_apply(const nabla::testing::FixtureCase& c, const EinsumVars& x) {
  if (c.has("eq")) return nabla::einsum(c.text("eq"), x);
  if (c.text("op") == "bmm") return nabla::bmm(x[0], x[1]);
  return nabla::matmul(x[0], x[1]);
}

// Operands with the same values but transposed storage (last two axes).
Tensor<double> einsum_fixture_transposed(const Tensor<double>& t) {
  if (t.ndim() < 2) return t.clone();
  return t.transpose(-1, -2).contiguous().transpose(-1, -2);
}

// Forward and gradients against PyTorch (contiguous and transposed
// operands), then central finite differences.
void einsum_check_case(const std::string& name) {
  INFO("case " << name);
  const auto c = nabla::testing::fixture("einsum").get(name);
  const std::vector<Tensor<double>> inputs = einsum_fixture_inputs(c);
  for (bool transposed : {false, true}) {
    INFO("transposed operands: " << transposed);
    EinsumVars vars;
    for (const auto& t : inputs) vars.emplace_back(transposed ? einsum_fixture_transposed(t) : t.clone(), true);
    const Var<double> y = einsum_fixture_apply(c, vars);
    nabla::testing::require_close(y.value(), c.tensor<double>("out"), 1e-10, 1e-10);
    nabla::sum(y * c.tensor<double>("w")).backward();
    for (std::size_t i = 0; i < vars.size(); ++i) {
      INFO("gradient of input " << i);
      REQUIRE(vars[i].grad().defined());
      nabla::testing::require_close(vars[i].grad(), c.tensor<double>("grad" + std::to_string(i)), 1e-9, 1e-10);
    }
  }
  const auto report = nabla::gradcheck([&](const EinsumVars& x) { return einsum_fixture_apply(c, x); }, inputs);
  INFO(report.message);
  CHECK(report.ok);
  bool empty = false;
  for (const auto& t : inputs) empty = empty || t.numel() == 0;
  if (!empty) CHECK(report.checked > 0);
}

int einsum_check_prefix(const std::string& prefix) {
  int count = 0;
  for (const auto& name : nabla::testing::fixture("einsum").names()) {
    if (name.rfind(prefix, 0) == 0) {
      einsum_check_case(name);
      ++count;
    }
  }
  return count;
}

}  // namespace

TEST_CASE("einsum fixtures: matmul broadcasting batch axes, 1-D operands, zero sizes", "[autograd][einsum]") {
  CHECK(einsum_check_prefix("matmul_") == 10);
}

TEST_CASE("einsum fixtures: bmm", "[autograd][einsum]") { CHECK(einsum_check_prefix("bmm") == 3); }

TEST_CASE("einsum fixtures: every equation kind, forward and gradients", "[autograd][einsum]") {
  CHECK(einsum_check_prefix("einsum_") >= 40);
}

TEST_CASE("einsum: an operand used twice accumulates both gradients", "[autograd][einsum]") {
  const Var<double> x(Tensor<double>(Shape{3}, {1, 2, 3}));
  const Var<double> y = nabla::einsum("i,i->", x, x);  // sum x^2
  CHECK(y.value().item() == 14.0);
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
  // The trace's gradient is the identity: off-diagonal entries get nothing.
  const Var<double> m(Tensor<double>(Shape{3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  nabla::einsum("ii", m).backward();
  CHECK(m.grad().to_vector() == std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1});
}

TEST_CASE("einsum: float gradients match the double reference", "[autograd][einsum]") {
  for (const char* name : {"einsum_bmm", "einsum_ellipsis_bmm", "einsum_three", "einsum_diagonal"}) {
    INFO("case " << name);
    const auto c = nabla::testing::fixture("einsum").get(name);
    std::vector<Var<float>> x;
    for (const auto& t : einsum_fixture_inputs(c)) x.emplace_back(t.to<float>(), true);
    const Var<float> y = nabla::einsum(c.text("eq"), x);
    nabla::testing::require_close(y.value(), c.tensor<double>("out"), 1e-5, 1e-5);
    nabla::sum(y * c.tensor<double>("w").to<float>()).backward();
    for (std::size_t i = 0; i < x.size(); ++i) {
      nabla::testing::require_close(x[i].grad(), c.tensor<double>("grad" + std::to_string(i)), 1e-4, 1e-5);
    }
  }
}

TEST_CASE("einsum: inputs without requires_grad are not recorded", "[autograd][einsum]") {
  nabla::Tape<double>::current().clear();
  const Var<double> a(Tensor<double>(Shape{2, 3}), false);
  const Var<double> b(Tensor<double>(Shape{3, 4}), true);
  const Var<double> y = nabla::einsum("ij,jk->ik", a, b);
  CHECK(y.requires_grad());
  nabla::sum(y).backward();
  CHECK_FALSE(a.grad().defined());
  CHECK(b.grad().shape() == Shape{3, 4});
  {
    nabla::NoGradGuard guard;
    CHECK_FALSE(nabla::einsum("ij,jk->ik", a, b).requires_grad());
  }
  CHECK_THROWS_WITH(nabla::bmm(a, b), Catch::StartsWith("bmm: expected two 3-D tensors"));
  CHECK_THROWS_WITH(nabla::einsum("ij,jk->ik", b, a), Catch::StartsWith("einsum: index j has extent 4"));
  nabla::Tape<double>::current().clear();
}

TEST_CASE("einsum fixtures: bmm and einsum are recorded on the tape", "[autograd][einsum]") {
  std::set<nabla::OpKind> seen;
  for (const auto& name : nabla::testing::fixture("einsum").names()) {
    if (name.rfind("int_", 0) == 0) continue;
    const auto c = nabla::testing::fixture("einsum").get(name);
    EinsumVars vars;
    for (const auto& t : einsum_fixture_inputs(c)) vars.emplace_back(t.clone(), true);
    const Var<double> y = einsum_fixture_apply(c, vars);
    const auto& tape = nabla::Tape<double>::current();
    for (std::size_t i = 0; i < tape.size(); ++i) {
      if (tape.entry(i).backward) seen.insert(tape.entry(i).kind);
    }
    nabla::Tape<double>::current().clear();
  }
  CHECK(seen.count(nabla::OpKind::bmm) == 1);
  CHECK(seen.count(nabla::OpKind::einsum) == 1);
  CHECK(seen.count(nabla::OpKind::matmul) == 1);
}

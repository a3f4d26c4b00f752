// The autograd engine: accumulation, grad(), grad mode, detach, version
// checks, freed graphs, deep chains, custom functions, gradcheck, threads.
#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"

using Catch::Matchers::Contains;
using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

namespace {
Tensor<double> vec(std::vector<double> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return Tensor<double>(Shape{n}, std::move(v));
}
}  // namespace

TEST_CASE("a value used twice receives both contributions", "[autograd]") {
  Var<double> x(vec({1.0, 2.0, 3.0}));
  const Var<double> y = nabla::sum(x * x + x * 3.0);  // dy/dx = 2x + 3
  y.backward();
  nabla::testing::require_close(x.grad(), vec({5.0, 7.0, 9.0}));
}

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[autograd]") {
  Var<double> x(vec({1.0, -2.0}));
  nabla::sum(x * 2.0).backward();
  nabla::sum(x * 2.0).backward();
  nabla::testing::require_close(x.grad(), vec({4.0, 4.0}));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("backward on a non-scalar names the shape", "[autograd][errors]") {
  Var<double> x(vec({1.0, 2.0}));
  const Var<double> y = x * 2.0;
  CHECK_THROWS_AS(y.backward(), nabla::AutogradError);
  CHECK_THROWS_WITH(y.backward(), Contains("expected a one-element value, got shape [2]"));
  // With an explicit upstream gradient it works.
  y.backward(vec({1.0, 10.0}));
  nabla::testing::require_close(x.grad(), vec({2.0, 20.0}));
}

TEST_CASE("backward with a wrongly shaped grad_output throws", "[autograd][errors]") {
  Var<double> x(vec({1.0, 2.0}));
  const Var<double> y = x * 2.0;
  CHECK_THROWS_WITH(y.backward(vec({1.0, 2.0, 3.0})), Contains("grad_output shape [3] does not match value shape [2]"));
}

TEST_CASE("backward on a value that needs no grad explains why", "[autograd][errors]") {
  Var<double> x(vec({1.0, 2.0}), false);
  const Var<double> y = nabla::sum(x * 2.0);
  CHECK_FALSE(y.requires_grad());
  CHECK_THROWS_WITH(y.backward(), Contains("does not require grad"));
}

TEST_CASE("grad() returns gradients without touching .grad()", "[autograd]") {
  Var<double> x(vec({1.0, 2.0}));
  Var<double> w(vec({3.0, 4.0}));
  const Var<double> y = nabla::sum(x * w);
  const auto g = nabla::grad(y, {x, w});
  REQUIRE(g.size() == 2);
  nabla::testing::require_close(g[0], vec({3.0, 4.0}));
  nabla::testing::require_close(g[1], vec({1.0, 2.0}));
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("grad() gives zeros for an input the output does not use", "[autograd]") {
  Var<double> x(vec({1.0, 2.0}));
  Var<double> unused(vec({5.0}));
  const Var<double> y = nabla::sum(x * x);
  const auto g = nabla::grad(y, {x, unused});
  nabla::testing::require_close(g[1], vec({0.0}));
}

TEST_CASE("NoGradGuard records nothing and restores the mode", "[autograd]") {
  Var<double> x(vec({1.0, 2.0}));
  const auto before = nabla::Tape<double>::current().live_entries();
  {
    nabla::NoGradGuard guard;
    CHECK_FALSE(nabla::GradMode::is_enabled());
    const Var<double> y = nabla::exp(x) * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(nabla::Tape<double>::current().live_entries() == before);
  }
  CHECK(nabla::GradMode::is_enabled());
  CHECK(nabla::exp(x).requires_grad());
}

TEST_CASE("detach cuts the graph but shares the value", "[autograd]") {
  Var<double> x(vec({1.0, 2.0}));
  const Var<double> d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  const Var<double> y = nabla::sum(x * d);  // d acts as a constant
  y.backward();
  nabla::testing::require_close(x.grad(), vec({2.0, 4.0}));
}

TEST_CASE("modifying a saved value in place before backward throws", "[autograd][errors]") {
  Var<double> x(vec({1.0, 2.0}));
  Var<double> w(vec({3.0, 4.0}));
  const Var<double> y = nabla::sum(x * w);  // mul saves both inputs
  w.value().fill_(0.0);                     // e.g. an optimizer step too early
  CHECK_THROWS_AS(y.backward(), nabla::AutogradError);
  Var<double> a(vec({1.0, 2.0}));
  const Var<double> e = nabla::exp(a);
  const Var<double> z = nabla::sum(e);
  e.value().fill_(1.0);  // exp's rule reads its output
  CHECK_THROWS_WITH(z.backward(), Contains("modified in place") && Contains("exp"));
}

TEST_CASE("an in-place change to a value the rule does not read is fine", "[autograd]") {
  Var<double> x(vec({1.0, 2.0}));
  Var<double> b(vec({3.0, 4.0}));
  const Var<double> y = nabla::sum(x + b);  // add reads no values
  b.value().fill_(7.0);
  y.backward();
  nabla::testing::require_close(x.grad(), vec({1.0, 1.0}));
}

TEST_CASE("a second backward through a freed graph throws; retain_graph allows it", "[autograd][errors]") {
  Var<double> x(vec({1.0, 2.0}));
  const Var<double> y = nabla::sum(nabla::exp(x));
  y.backward(true);
  y.backward();
  nabla::testing::require_close(x.grad(), nabla::mul(nabla::exp(vec({1.0, 2.0})), 2.0));
  CHECK_THROWS_WITH(y.backward(), Contains("already freed"));
}

TEST_CASE("using a value from a freed graph in a new graph throws at backward", "[autograd][errors]") {
  Var<double> x(vec({1.0, 2.0}));
  const Var<double> h = nabla::exp(x);
  nabla::sum(h).backward();
  const Var<double> z = nabla::sum(h * 2.0);
  CHECK_THROWS_WITH(z.backward(), Contains("already freed"));
  // Detaching makes the intent explicit and works.
  const Var<double> ok = nabla::sum(h.detach() * x);
  x.zero_grad();
  ok.backward();
  nabla::testing::require_close(x.grad(), nabla::exp(vec({1.0, 2.0})));
}

TEST_CASE("two independent graphs can be differentiated one after the other", "[autograd]") {
  Var<double> x(vec({1.0, 2.0}));
  const Var<double> a = nabla::sum(x * 3.0);
  const Var<double> b = nabla::sum(x * x);
  a.backward();
  b.backward();
  nabla::testing::require_close(x.grad(), vec({5.0, 7.0}));
}

TEST_CASE("a chain of a million ops differentiates without recursion", "[autograd][slow]") {
  Var<double> x(Tensor<double>(Shape{1}, {0.5}));
  Var<double> y = x;
  for (int i = 0; i < 1000000; ++i) y = y * 1.0000001 + 1e-6;
  nabla::sum(y).backward();
  // y = 0.5 a^n + 1e-6 (a^n - 1) / (a - 1) with a = 1 + 1e-7; dy/dx = a^n.
  const double an = std::pow(1.0000001, 1000000);
  CHECK(x.grad().item() == Approx(an).epsilon(1e-9));
  CHECK(y.item() == Approx(0.5 * an + 1e-6 * (an - 1.0) / 1e-7).epsilon(1e-6));
}

TEST_CASE("graphs nobody holds are collected, so inference without NoGradGuard does not grow the tape",
          "[autograd]") {
  Var<float> w(nabla::ones<float>(Shape{4, 4}));
  const Var<float> x(nabla::ones<float>(Shape{2, 4}), false);
  // A graph recorded first and held throughout: it must survive the
  // collections (and the moves of its entries) and still differentiate.
  const Var<float> kept = nabla::sum(nabla::relu(nabla::matmul(x, w)));
  std::size_t most = 0;
  for (int i = 0; i < 40000; ++i) {
    const Var<float> y = nabla::relu(nabla::matmul(x, w));
    (void)y;
    most = std::max(most, nabla::Tape<float>::current().size());
  }
  CHECK(nabla::Tape<float>::current().live_entries() < 10000);
  // Freed entries do not pile up either: the tape itself stays bounded
  // (each collection runs at twice the live size, at least 4096 entries).
  CHECK(most <= 2 * 4096 + 2);
  kept.backward();
  // d/dw sum(relu(x w)) with x and w all ones: each w[i, j] meets 2 rows of x.
  CHECK(w.grad().to_vector() == std::vector<float>(16, 2.0f));
}

TEST_CASE("tapes are per thread", "[autograd]") {
  auto work = [](double scale, double* out) {
    Var<double> x(vec({1.0, 2.0, 3.0}));
    for (int i = 0; i < 50; ++i) {
      x.zero_grad();
      nabla::sum(nabla::exp(x * scale)).backward();
    }
    *out = x.grad().at({2});
  };
  double a = 0.0;
  double b = 0.0;
  std::thread t1(work, 0.5, &a);
  std::thread t2(work, 0.25, &b);
  t1.join();
  t2.join();
  CHECK(a == Approx(0.5 * std::exp(1.5)));
  CHECK(b == Approx(0.25 * std::exp(0.75)));
}

TEST_CASE("custom functions record and run their backward", "[autograd]") {
  // f(x) = x^3 with a hand-written derivative 3x^2.
  nabla::Function<double> cube(
      "cube",
      [](const std::vector<Tensor<double>>& in) { return nabla::mul(nabla::mul(in[0], in[0]), in[0]); },
      [](const std::vector<Tensor<double>>& in, const Tensor<double>&, const Tensor<double>& gy) {
        return std::vector<Tensor<double>>{nabla::mul(gy, nabla::mul(nabla::mul(in[0], in[0]), 3.0))};
      });
  Var<double> x(vec({1.0, -2.0}));
  const Var<double> y = nabla::sum(cube(x));
  CHECK(y.item() == Approx(1.0 - 8.0));
  y.backward();
  nabla::testing::require_close(x.grad(), vec({3.0, 12.0}));
  const auto report = nabla::gradcheck([&](const std::vector<Var<double>>& v) { return cube(v[0]); }, {vec({0.3, 1.7})});
  CHECK(report.ok);
}

TEST_CASE("a custom function whose backward returns a wrong shape is reported", "[autograd][errors]") {
  nabla::Function<double> bad(
      "bad", [](const std::vector<Tensor<double>>& in) { return in[0].clone(); },
      [](const std::vector<Tensor<double>>&, const Tensor<double>&, const Tensor<double>&) {
        return std::vector<Tensor<double>>{vec({1.0, 2.0, 3.0})};
      });
  Var<double> x(vec({1.0, 2.0}));
  CHECK_THROWS_WITH(nabla::sum(bad(x)).backward(), Contains("Function bad") && Contains("shape [3]"));
}

TEST_CASE("gradcheck names the input and element that disagree", "[autograd][gradcheck]") {
  // Wrong on purpose: claims d/dx sin(x) = sin(x).
  nabla::Function<double> wrong(
      "wrong_sin", [](const std::vector<Tensor<double>>& in) { return nabla::sin(in[0]); },
      [](const std::vector<Tensor<double>>& in, const Tensor<double>&, const Tensor<double>& gy) {
        return std::vector<Tensor<double>>{nabla::mul(gy, nabla::sin(in[0]))};
      });
  const auto report = nabla::gradcheck(
      [&](const std::vector<Var<double>>& v) { return v[0] * 2.0 + wrong(v[1]); }, {vec({0.1, 0.2}), vec({0.4, 0.9})});
  CHECK_FALSE(report.ok);
  CHECK(report.input == 1);
  CHECK(report.index == 0);
  CHECK(report.analytical == Approx(std::sin(0.4)));
  CHECK(report.numerical == Approx(std::cos(0.4)).epsilon(1e-6));
  CHECK_THAT(report.message, Contains("input 1") && Contains("element 0"));
}

TEST_CASE("gradcheck skips kinks such as relu at zero", "[autograd][gradcheck]") {
  const auto f = [](const std::vector<Var<double>>& v) { return nabla::relu(v[0]); };
  const auto report = nabla::gradcheck(f, {vec({-1.0, 0.0, 2.0})});
  CHECK(report.ok);
  CHECK(report.skipped == 1);
  nabla::GradcheckOptions strict;
  strict.skip_kinks = false;
  CHECK_FALSE(nabla::gradcheck(f, {vec({-1.0, 0.0, 2.0})}, strict).ok);
  nabla::GradcheckOptions chosen;
  chosen.skip_kinks = false;
  chosen.skip = [](std::size_t, std::int64_t k) { return k == 1; };
  CHECK(nabla::gradcheck(f, {vec({-1.0, 0.0, 2.0})}, chosen).ok);
}

TEST_CASE("relu'(0) is 0 as in PyTorch", "[autograd]") {
  Var<double> x(vec({-1.0, 0.0, 1.0}));
  nabla::sum(nabla::relu(x)).backward();
  nabla::testing::require_close(x.grad(), vec({0.0, 0.0, 1.0}));
}

TEST_CASE("broadcast gradients are summed back to each input's shape", "[autograd]") {
  Var<double> a(Tensor<double>(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
  Var<double> b(Tensor<double>(Shape{3}, {1, 1, 1}));
  Var<double> c(Tensor<double>(Shape{2, 1}, {2, 3}));
  nabla::sum((a + b) * c).backward();
  nabla::testing::require_close(b.grad(), Tensor<double>(Shape{3}, {5, 5, 5}));
  nabla::testing::require_close(c.grad(), Tensor<double>(Shape{2, 1}, {6 + 3, 15 + 3}));
  nabla::testing::require_close(a.grad(), Tensor<double>(Shape{2, 3}, {2, 2, 2, 3, 3, 3}));
}

TEST_CASE("non-contiguous inputs differentiate like contiguous ones", "[autograd]") {
  const Tensor<double> base(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  Var<double> t(base.t());           // transposed view [2, 3]
  Var<double> c(base.t().clone());   // the same values, contiguous
  const Var<double> w(Tensor<double>(Shape{3, 2}, {1, -1, 2, 0, 0.5, 3}), false);
  nabla::sum(nabla::tanh(nabla::matmul(t, w))).backward();
  nabla::sum(nabla::tanh(nabla::matmul(c, w))).backward();
  nabla::testing::require_close(t.grad(), c.grad(), 1e-12, 1e-12);
  const auto report = nabla::gradcheck(
      [&](const std::vector<Var<double>>& v) { return nabla::matmul(nabla::transpose(v[0]), w); }, {base});
  CHECK(report.ok);
}

TEST_CASE("contiguous() passes gradients through", "[autograd]") {
  Var<double> x(Tensor<double>(Shape{2, 2}, {1, 2, 3, 4}));
  const Var<double> t = nabla::contiguous(nabla::transpose(x));
  CHECK(t.value().is_contiguous());
  nabla::sum(t * Tensor<double>(Shape{2, 2}, {1, 2, 3, 4})).backward();
  nabla::testing::require_close(x.grad(), Tensor<double>(Shape{2, 2}, {1, 3, 2, 4}));
}

TEST_CASE("dropout keeps the expectation and routes gradients through the mask", "[autograd]") {
  nabla::Generator gen(7);
  Var<double> x(nabla::ones<double>(Shape{100000}));
  const Var<double> y = nabla::dropout(x, 0.25, gen);
  const double m = nabla::mean(y.value()).item();
  CHECK(m == Approx(1.0).epsilon(0.02));
  nabla::sum(y).backward();
  nabla::testing::require_close(x.grad(), y.value());  // d/dx (x * mask) = mask
  CHECK(nabla::dropout(x, 0.25, gen, false).is_same(x));
  CHECK_THROWS_WITH(nabla::dropout(x, 1.5, gen), Contains("dropout: probability 1.5"));
}

TEST_CASE("op kinds have names", "[autograd]") {
  CHECK(nabla::op_name(nabla::OpKind::matmul) == "matmul");
  CHECK(nabla::op_name(nabla::OpKind::cross_entropy) == "cross_entropy");
  CHECK(nabla::all_op_kinds.size() > 50);
}

TEST_CASE("cross_entropy checks labels and shapes", "[autograd][errors]") {
  Var<float> logits(nabla::zeros<float>(Shape{2, 3}));
  CHECK_THROWS_WITH(nabla::cross_entropy(logits, Tensor<std::int64_t>(Shape{2}, {0, 3})),
                    Contains("cross_entropy: label 3 at index 1 is out of range for 3 classes"));
  CHECK_THROWS_WITH(nabla::cross_entropy(logits, Tensor<std::int64_t>(Shape{3}, {0, 1, 2})),
                    Contains("labels of shape [3] do not match scores of shape [2, 3]"));
  CHECK_THROWS_AS(nabla::mse_loss(logits, nabla::zeros<float>(Shape{3, 2})), nabla::ShapeError);
}

TEST_CASE("cross_entropy is stable for logits of magnitude 1e4 in float", "[autograd]") {
  Var<float> logits(Tensor<float>(Shape{2, 3}, {1e4f, -1e4f, 0.0f, -1e4f, 1e4f, 5e3f}));
  const Var<float> loss = nabla::cross_entropy(logits, Tensor<std::int64_t>(Shape{2}, {1, 0}));
  CHECK(std::isfinite(loss.item()));
  CHECK(loss.item() == Approx(2e4f).epsilon(1e-5));
  loss.backward();
  for (float g : logits.grad().to_vector()) CHECK(std::isfinite(g));
}

TEST_CASE("matmul shape errors keep the documented message", "[autograd][errors]") {
  Var<float> a(nabla::zeros<float>(Shape{64, 784}));
  Var<float> b(nabla::zeros<float>(Shape{256, 10}));
  CHECK_THROWS_WITH(nabla::matmul(a, b), "matmul: shapes [64, 784] and [256, 10] do not align (784 != 256)");
}

TEST_CASE("anomaly mode names the op that produced a NaN in forward", "[autograd][anomaly]") {
  Var<double> x(vec({1.0, -1.0}));
  x.set_label("inputs");
  CHECK_NOTHROW(nabla::log(x));  // off by default: NaN flows like in PyTorch
  nabla::DetectAnomalyGuard guard;
  CHECK_THROWS_WITH(nabla::log(x), Contains("anomaly: forward of op") && Contains("(log)") &&
                                       Contains("input shapes [2]") && Contains("labels: inputs") &&
                                       Contains("produced nan at element 1"));
}

TEST_CASE("anomaly mode names the op whose backward produced an Inf", "[autograd][anomaly]") {
  Var<double> z(vec({0.0, 4.0}));
  const Var<double> y = nabla::sum(nabla::sqrt(z));  // d sqrt(x)/dx at 0 is inf
  {
    nabla::DetectAnomalyGuard guard;
    CHECK_THROWS_WITH(y.backward(), Contains("anomaly: backward of op") && Contains("(sqrt)") &&
                                        Contains("produced inf in the gradient of input 0 at element 0"));
  }
  CHECK_FALSE(nabla::AnomalyMode::is_enabled());
}

// cross_entropy and nll_loss options (per-class weight, ignore_index, label
// smoothing, reductions) against PyTorch (tests/fixtures/loss_options.json),
// gradcheck in double, views, empty batches, errors and the loss objects.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"
#include "nabla/autograd/gradcheck.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/loss.hpp"

using nabla::CrossEntropyOptions;
using nabla::NLLLossOptions;
using nabla::Reduction;
using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

namespace {

Reduction loss_options_reduction(const std::string& name) {
  if (name == "mean") return Reduction::mean;
  if (name == "sum") return Reduction::sum;
  return Reduction::none;
}

// The case's loss on scores `x` (the fixture's options and weight).
template <class T>
Var<T> loss_options_call(const nabla::testing::FixtureCase& c, const Var<T>& x) {
  const Tensor<std::int64_t> y = c.tensor<std::int64_t>("y");
  const Tensor<T> w = c.has("w") ? c.tensor<T>("w") : Tensor<T>();
  const Reduction reduction = loss_options_reduction(c.text("reduction"));
  const std::int64_t ignore = c.integer("ignore_index");
  if (c.name().rfind("nll_", 0) == 0) return nabla::nll_loss(x, y, w, NLLLossOptions{reduction, ignore});
  return nabla::cross_entropy(x, y, w, CrossEntropyOptions{reduction, c.real("label_smoothing"), ignore});
}

template <class T>
void loss_options_check_case(const std::string& name, double rtol, double atol) {
  INFO("case " << name << " in " << (sizeof(T) == 4 ? "float" : "double"));
  const auto c = nabla::testing::fixture("loss_options").get(name);
  Var<T> x(c.tensor<T>("x"));
  const Var<T> out = loss_options_call(c, x);
  nabla::testing::require_close(out.value(), c.tensor<double>("out"), rtol, atol);
  const auto& tape = nabla::Tape<T>::current();
  REQUIRE(tape.size() >= 1);
  CHECK(tape.entry(tape.size() - 1).kind ==
        (name.rfind("nll_", 0) == 0 ? nabla::OpKind::nll_loss : nabla::OpKind::cross_entropy));
  nabla::sum(out * c.tensor<T>("gout")).backward();
  REQUIRE(x.grad().defined());
  nabla::testing::require_close(x.grad(), c.tensor<double>("gx"), rtol, atol);
}

}  // namespace

TEST_CASE("cross_entropy / nll_loss options match PyTorch, forward and gradients", "[autograd][loss_options][fixture]") {
  const auto names = nabla::testing::fixture("loss_options").names();
  REQUIRE(names.size() == 36);
  for (const auto& name : names) {
    loss_options_check_case<double>(name, 1e-12, 1e-12);
    loss_options_check_case<float>(name, 1e-5, 1e-6);
  }
}

TEST_CASE("cross_entropy / nll_loss options pass gradcheck in double", "[autograd][loss_options][gradcheck]") {
  int checked = 0;
  for (const auto& name : nabla::testing::fixture("loss_options").names()) {
    const auto c = nabla::testing::fixture("loss_options").get(name);
    if (c.text("reduction") == "mean" && name.find("all_ignored") != std::string::npos) continue;  // NaN
    INFO("case " << name);
    const auto report = nabla::gradcheck(
        [&c](const std::vector<Var<double>>& x) { return loss_options_call(c, x[0]); }, {c.tensor<double>("x")});
    INFO(report.message);
    CHECK(report.ok);
    // Every row ignored: the loss is constant, nothing to compare but zeros.
    if (name.find("all_ignored") == std::string::npos) CHECK(report.checked > 0);
    ++checked;
  }
  CHECK(checked == 33);
}

TEST_CASE("every target ignored gives NaN for mean (as PyTorch) and 0 for sum, with zero gradients; empty batches",
          "[autograd][loss_options]") {
  Var<double> x(Tensor<double>({{1.0, 2.0, 0.5}, {0.0, -1.0, 3.0}}));
  const Tensor<std::int64_t> y(Shape{2}, std::vector<std::int64_t>{-100, -100});
  const Var<double> mean = nabla::cross_entropy(x, y);
  CHECK(std::isnan(mean.item()));
  mean.backward();
  CHECK(x.grad().to_vector() == std::vector<double>(6, 0.0));
  CHECK(nabla::cross_entropy(x, y, {Reduction::sum}).item() == 0.0);
  CHECK(std::isnan(nabla::nll_loss(x, y).item()));
  // An empty batch: 0 mean (nabla's deliberate difference for every loss,
  // see tests/autograd/edge_test.cpp; PyTorch gives NaN), 0 sum, [0] rows.
  Var<double> empty(Tensor<double>(Shape{0, 3}));
  const Tensor<std::int64_t> none(Shape{0});
  CHECK(nabla::cross_entropy(empty, none, nabla::ones<double>(Shape{3})).item() == 0.0);
  CHECK(nabla::nll_loss(empty, none).item() == 0.0);
  CHECK(nabla::cross_entropy(empty, none, {Reduction::sum}).item() == 0.0);
  CHECK(nabla::cross_entropy(empty, none, {Reduction::none}).shape() == Shape{0});
  const Var<double> s = nabla::nll_loss(empty, none, Reduction::sum);
  s.backward();
  CHECK(empty.grad().shape() == Shape{0, 3});
}

TEST_CASE("cross_entropy options on non-contiguous scores, labels and weight", "[autograd][loss_options]") {
  const auto c = nabla::testing::fixture("loss_options").get("ce_weight_smooth_mean");
  const Tensor<double> x = c.tensor<double>("x");
  // The same values through transposed storage.
  Var<double> xt(x.transpose(0, 1).contiguous().transpose(0, 1));
  REQUIRE_FALSE(xt.value().is_contiguous());
  const Tensor<double> w = c.tensor<double>("w");
  const Tensor<double> w_view = nabla::stack(std::vector<Tensor<double>>{w, w}, 1).select(1, 0);  // stride 2
  REQUIRE_FALSE(w_view.is_contiguous());
  const Tensor<std::int64_t> y = c.tensor<std::int64_t>("y");
  const Tensor<std::int64_t> y_view = nabla::stack(std::vector<Tensor<std::int64_t>>{y, y}, 1).select(1, 1);
  const Var<double> out = nabla::cross_entropy(xt, y_view, w_view, {Reduction::mean, 0.2});
  nabla::testing::require_close(out.value(), c.tensor<double>("out"), 1e-12, 1e-12);
  nabla::sum(out * c.tensor<double>("gout")).backward();
  nabla::testing::require_close(xt.grad(), c.tensor<double>("gx"), 1e-12, 1e-12);
}

TEST_CASE("cross_entropy / nll_loss reject a weight of the wrong shape and labels out of range",
          "[autograd][loss_options][errors]") {
  Var<float> x(nabla::zeros<float>(Shape{2, 3}));
  const Tensor<std::int64_t> y(Shape{2}, std::vector<std::int64_t>{0, 2});
  CHECK_THROWS_AS(nabla::cross_entropy(x, y, nabla::ones<float>(Shape{4})), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::cross_entropy(x, y, nabla::ones<float>(Shape{4})),
                    "cross_entropy: weight of shape [4] does not match scores of shape [2, 3] (expected [3])");
  CHECK_THROWS_WITH(nabla::nll_loss(x, y, nabla::ones<float>(Shape{3, 1})),
                    "nll_loss: weight of shape [3, 1] does not match scores of shape [2, 3] (expected [3])");
  const Tensor<std::int64_t> bad(Shape{2}, std::vector<std::int64_t>{-1, 0});
  CHECK_THROWS_AS(nabla::cross_entropy(x, bad), nabla::IndexError);
  CHECK_THROWS_WITH(nabla::cross_entropy(x, bad),
                    "cross_entropy: label -1 at index 0 is out of range for 3 classes (and is not ignore_index -100)");
  // -100 is only special while it is the ignore_index.
  const Tensor<std::int64_t> default_ignored(Shape{2}, std::vector<std::int64_t>{-100, 1});
  CHECK_NOTHROW(nabla::cross_entropy(x, default_ignored));
  CHECK_THROWS_WITH(nabla::nll_loss(x, default_ignored, NLLLossOptions{Reduction::mean, 1}),
                    "nll_loss: label -100 at index 0 is out of range for 3 classes (and is not ignore_index 1)");
  CHECK_THROWS_WITH(nabla::cross_entropy(x, Tensor<std::int64_t>(Shape{2}, std::vector<std::int64_t>{0, 3})),
                    Catch::StartsWith("cross_entropy: label 3 at index 1 is out of range for 3 classes"));
}

TEST_CASE("CrossEntropyLoss and NLLLoss carry the weight and options", "[autograd][loss_options][nn]") {
  const auto c = nabla::testing::fixture("loss_options").get("ce_weight_smooth_sum");
  const Var<double> x(c.tensor<double>("x"));
  const Tensor<std::int64_t> y = c.tensor<std::int64_t>("y");
  Tensor<double> w = c.tensor<double>("w");
  const nabla::nn::CrossEntropyLoss<double> ce(w, {Reduction::sum, 0.2});
  w.fill_(5.0);  // the loss keeps its own copy
  nabla::testing::require_close(ce(x, y).value(), c.tensor<double>("out"), 1e-12, 1e-12);
  CHECK(ce.options().ignore_index == -100);
  CHECK(ce.weight().shape() == Shape{5});

  const auto n = nabla::testing::fixture("loss_options").get("nll_ignore_class_none");
  const nabla::nn::NLLLoss<double> nll(NLLLossOptions{Reduction::none, 1});
  nabla::testing::require_close(nll(Var<double>(n.tensor<double>("x")), n.tensor<std::int64_t>("y")).value(),
                                n.tensor<double>("out"), 1e-12, 1e-12);
  const auto nw = nabla::testing::fixture("loss_options").get("nll_weight_mean");
  const nabla::nn::NLLLoss<double> weighted(nw.tensor<double>("w"));
  nabla::testing::require_close(weighted(Var<double>(nw.tensor<double>("x")), nw.tensor<std::int64_t>("y")).value(),
                                nw.tensor<double>("out"), 1e-12, 1e-12);
  // The functional twins take the same arguments.
  nabla::testing::require_close(
      nabla::nn::functional::cross_entropy(x, y, c.tensor<double>("w"), {Reduction::sum, 0.2}).value(),
      c.tensor<double>("out"), 1e-12, 1e-12);
}

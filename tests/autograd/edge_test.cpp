// Numerical edge cases against PyTorch (tests/fixtures/edge.json, from
// scripts/fixtures/edge.py): NaN propagation forward and backward, logits of
// magnitude 1e4, reductions over length-1 axes, and zero-size dimensions
// through autograd.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"

// A named namespace: the autograd tests build as one translation unit, where
// helpers in anonymous namespaces of different files would collide.
namespace nabla_edge_test {

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;
using nabla::testing::FixtureCase;
using nabla::testing::require_close;

template <class T>
using UnaryOp = std::function<Var<T>(const Var<T>&, const FixtureCase&)>;
template <class T>
using BinaryOp = std::function<Var<T>(const Var<T>&, const Var<T>&)>;

const FixtureCase edge(const std::string& name) { return nabla::testing::fixture("edge").get(name); }

Tensor<std::int64_t> labels_of(const FixtureCase& c) { return c.tensor<std::int64_t>("labels"); }

// Tolerances: float64 is exact up to rounding; float is compared with the
// same float64 reference.
template <class T>
double rtol() {
  return std::is_same_v<T, double> ? 1e-12 : 2e-6;
}
template <class T>
double atol() {
  return std::is_same_v<T, double> ? 1e-14 : 2e-6;
}

// Runs op on the case's x, then backward (seeded with gy when the case has
// one), and checks y and dx.
template <class T>
void check_unary(const std::string& name, const UnaryOp<T>& op) {
  INFO("case " << name);
  const FixtureCase c = edge(name);
  const Var<T> x(c.tensor<T>("x"));
  const Var<T> y = op(x, c);
  require_close(y.value(), c.tensor<double>("y"), rtol<T>(), atol<T>());
  if (c.has("gy")) {
    y.backward(c.tensor<T>("gy"));
  } else {
    y.backward();
  }
  require_close(x.grad(), c.tensor<double>("dx"), rtol<T>(), atol<T>());
}

template <class T>
void check_binary(const std::string& name, const BinaryOp<T>& op) {
  INFO("case " << name);
  const FixtureCase c = edge(name);
  const Var<T> a(c.tensor<T>("x"));
  const Var<T> b(c.tensor<T>("b"));
  const Var<T> y = op(a, b);
  require_close(y.value(), c.tensor<double>("y"), rtol<T>(), atol<T>());
  y.backward(c.tensor<T>("gy"));
  require_close(a.grad(), c.tensor<double>("dx"), rtol<T>(), atol<T>());
  require_close(b.grad(), c.tensor<double>("db"), rtol<T>(), atol<T>());
}

std::int64_t axis_of(const FixtureCase& c) { return c.integer("axis"); }
bool keepdim_of(const FixtureCase& c) { return c.json().at("keepdim").get<bool>(); }

// ---- NaN propagation --------------------------------------------------------

TEMPLATE_TEST_CASE("NaN through sum and mean, over all and along an axis, as PyTorch", "[edge][nan]", float,
                   double) {
  using T = TestType;
  check_unary<T>("nan_sum_all", [](const Var<T>& x, const FixtureCase&) { return nabla::sum(x); });
  check_unary<T>("nan_sum_axis1", [](const Var<T>& x, const FixtureCase& c) { return nabla::sum(x, axis_of(c)); });
  check_unary<T>("nan_mean_all", [](const Var<T>& x, const FixtureCase&) { return nabla::mean(x); });
  check_unary<T>("nan_mean_axis0", [](const Var<T>& x, const FixtureCase& c) { return nabla::mean(x, axis_of(c)); });
}

TEMPLATE_TEST_CASE("NaN wins max and min; the gradient goes to the NaN entries, as PyTorch", "[edge][nan]", float,
                   double) {
  using T = TestType;
  // Over everything: NaN is the result and its gradient is shared evenly by
  // the NaN entries (PyTorch's evenly_distribute_backward).
  for (const char* name : {"nan_max_all_one", "nan_max_all_two"}) {
    check_unary<T>(name, [](const Var<T>& x, const FixtureCase&) { return nabla::max(x); });
  }
  for (const char* name : {"nan_min_all_one", "nan_min_all_two"}) {
    check_unary<T>(name, [](const Var<T>& x, const FixtureCase&) { return nabla::min(x); });
  }
  // Along an axis: the index (and so the gradient) is the NaN's.
  for (const char* axis : {"0", "1"}) {
    const std::string mx = std::string("nan_max_axis") + axis;
    const std::string mn = std::string("nan_min_axis") + axis;
    check_unary<T>(mx, [](const Var<T>& x, const FixtureCase& c) { return nabla::max(x, axis_of(c)); });
    check_unary<T>(mn, [](const Var<T>& x, const FixtureCase& c) { return nabla::min(x, axis_of(c)); });
    for (const std::string& name : {mx, mn}) {
      const FixtureCase c = edge(name);
      const Tensor<T> x = c.tensor<T>("x");
      const auto r = name == mx ? nabla::max_with_indices(x, axis_of(c)) : nabla::min_with_indices(x, axis_of(c));
      CHECK(r.indices.to_vector() == c.tensor<std::int64_t>("indices").to_vector());
    }
  }
}

TEMPLATE_TEST_CASE("argmax and argmin pick the first NaN, as PyTorch", "[edge][nan]", float, double) {
  using T = TestType;
  const FixtureCase c = edge("nan_argmax");
  const Tensor<T> x = c.tensor<T>("x");
  CHECK(nabla::argmax(x).to_vector() == c.tensor<std::int64_t>("all").to_vector());
  CHECK(nabla::argmax(x, 0).to_vector() == c.tensor<std::int64_t>("axis0").to_vector());
  CHECK(nabla::argmax(x, 1).to_vector() == c.tensor<std::int64_t>("axis1").to_vector());
  CHECK(nabla::argmin(x).to_vector() == c.tensor<std::int64_t>("min_all").to_vector());
  CHECK(nabla::argmin(x, 1).to_vector() == c.tensor<std::int64_t>("min_axis1").to_vector());
}

TEMPLATE_TEST_CASE("a NaN makes its softmax / log_softmax row NaN and leaves the others alone", "[edge][nan]", float,
                   double) {
  using T = TestType;
  for (const char* name : {"nan_softmax_axis1", "nan_softmax_axis0"}) {
    check_unary<T>(name, [](const Var<T>& x, const FixtureCase& c) { return nabla::softmax(x, axis_of(c)); });
  }
  for (const char* name : {"nan_log_softmax_axis1", "nan_log_softmax_axis0"}) {
    check_unary<T>(name, [](const Var<T>& x, const FixtureCase& c) { return nabla::log_softmax(x, axis_of(c)); });
  }
}

TEMPLATE_TEST_CASE("cross_entropy with a NaN logit: NaN loss, NaN gradient rows only where the NaN is",
                   "[edge][nan]", float, double) {
  using T = TestType;
  check_unary<T>("nan_cross_entropy",
                 [](const Var<T>& x, const FixtureCase& c) { return nabla::cross_entropy(x, labels_of(c)); });
  check_unary<T>("nan_cross_entropy_sum", [](const Var<T>& x, const FixtureCase& c) {
    return nabla::cross_entropy(x, labels_of(c), {.reduction = nabla::Reduction::sum});
  });
  check_unary<T>("nan_cross_entropy_none", [](const Var<T>& x, const FixtureCase& c) {
    return nabla::cross_entropy(x, labels_of(c), {.reduction = nabla::Reduction::none});
  });
}

TEMPLATE_TEST_CASE("matmul with a NaN entry: NaN rows/columns in the product and gradients, as PyTorch",
                   "[edge][nan]", float, double) {
  using T = TestType;
  for (const char* name : {"nan_matmul", "nan_matmul_rhs"}) {
    check_binary<T>(name, [](const Var<T>& a, const Var<T>& b) { return nabla::matmul(a, b); });
  }
}

TEMPLATE_TEST_CASE("log, sqrt and exp of invalid inputs: log(-1), sqrt(-1) NaN, log(0) -inf, as PyTorch",
                   "[edge][nan]", float, double) {
  using T = TestType;
  check_unary<T>("invalid_log", [](const Var<T>& x, const FixtureCase&) { return nabla::log(x); });
  check_unary<T>("invalid_sqrt", [](const Var<T>& x, const FixtureCase&) { return nabla::sqrt(x); });
  check_unary<T>("invalid_exp", [](const Var<T>& x, const FixtureCase&) { return nabla::exp(x); });
}

TEMPLATE_TEST_CASE("relu, sigmoid and tanh of NaN and infinities, forward and backward, as PyTorch", "[edge][nan]",
                   float, double) {
  using T = TestType;
  // relu passes the upstream gradient through at NaN (PyTorch's
  // threshold_backward zeroes only where y <= 0).
  check_unary<T>("nan_relu", [](const Var<T>& x, const FixtureCase&) { return nabla::relu(x); });
  check_unary<T>("nan_sigmoid", [](const Var<T>& x, const FixtureCase&) { return nabla::sigmoid(x); });
  check_unary<T>("nan_tanh", [](const Var<T>& x, const FixtureCase&) { return nabla::tanh(x); });
}

TEMPLATE_TEST_CASE("division by zero: 0/0 NaN, 1/0 inf, and their gradients, as PyTorch", "[edge][nan]", float,
                   double) {
  using T = TestType;
  check_binary<T>("div_zero", [](const Var<T>& a, const Var<T>& b) { return a / b; });
}

// ---- Logits of magnitude 1e4 --------------------------------------------------

TEMPLATE_TEST_CASE("log_softmax, softmax and logsumexp of logits of magnitude 1e4 match PyTorch", "[edge][big]",
                   float, double) {
  using T = TestType;
  for (const char* name : {"big_log_softmax_axis1", "big_log_softmax_axis0"}) {
    check_unary<T>(name, [](const Var<T>& x, const FixtureCase& c) { return nabla::log_softmax(x, axis_of(c)); });
  }
  check_unary<T>("big_softmax_axis1",
                 [](const Var<T>& x, const FixtureCase& c) { return nabla::softmax(x, axis_of(c)); });
  check_unary<T>("big_logsumexp_axis1",
                 [](const Var<T>& x, const FixtureCase& c) { return nabla::logsumexp(x, axis_of(c)); });
}

TEMPLATE_TEST_CASE("cross_entropy of logits of magnitude 1e4 matches PyTorch, loss and gradient", "[edge][big]",
                   float, double) {
  using T = TestType;
  for (const char* name : {"big_cross_entropy_wrong", "big_cross_entropy_right"}) {
    check_unary<T>(name, [](const Var<T>& x, const FixtureCase& c) { return nabla::cross_entropy(x, labels_of(c)); });
  }
  for (const char* name : {"big_cross_entropy_wrong_sum", "big_cross_entropy_right_sum"}) {
    check_unary<T>(name, [](const Var<T>& x, const FixtureCase& c) {
      return nabla::cross_entropy(x, labels_of(c), {.reduction = nabla::Reduction::sum});
    });
  }
}

// ---- Length-1 axes ---------------------------------------------------------

TEMPLATE_TEST_CASE("reductions of [3, 1, 4] over its length-1 axis, keepdim or not, match PyTorch", "[edge][len1]",
                   float, double) {
  using T = TestType;
  for (const char* keep : {"n", "k"}) {
    for (const char* axis : {"1", "m2"}) {
      const std::string suffix = std::string(axis) + "_" + keep;
      check_unary<T>("len1_sum_" + suffix, [](const Var<T>& x, const FixtureCase& c) {
        return nabla::sum(x, axis_of(c), keepdim_of(c));
      });
      check_unary<T>("len1_mean_" + suffix, [](const Var<T>& x, const FixtureCase& c) {
        return nabla::mean(x, axis_of(c), keepdim_of(c));
      });
      check_unary<T>("len1_max_" + suffix, [](const Var<T>& x, const FixtureCase& c) {
        return nabla::max(x, axis_of(c), keepdim_of(c));
      });
      check_unary<T>("len1_min_" + suffix, [](const Var<T>& x, const FixtureCase& c) {
        return nabla::min(x, axis_of(c), keepdim_of(c));
      });
      check_unary<T>("len1_logsumexp_" + suffix, [](const Var<T>& x, const FixtureCase& c) {
        return nabla::logsumexp(x, axis_of(c), keepdim_of(c));
      });
      // correction 1 over a single element is 0 / 0: NaN value and gradient.
      for (const char* corr : {"c0", "c1"}) {
        check_unary<T>(std::string("len1_var_") + corr + "_" + suffix, [](const Var<T>& x, const FixtureCase& c) {
          return nabla::var(x, axis_of(c), c.integer("correction"), keepdim_of(c));
        });
      }
    }
  }
  for (const char* axis : {"1", "m2"}) {
    check_unary<T>(std::string("len1_softmax_") + axis,
                   [](const Var<T>& x, const FixtureCase& c) { return nabla::softmax(x, axis_of(c)); });
    check_unary<T>(std::string("len1_log_softmax_") + axis,
                   [](const Var<T>& x, const FixtureCase& c) { return nabla::log_softmax(x, axis_of(c)); });
  }
  const FixtureCase c = edge("len1_std");
  const Tensor<T> x = c.tensor<T>("x");
  require_close(nabla::stddev(x, 1, 0), c.tensor<double>("c0"), rtol<T>(), atol<T>());
  require_close(nabla::stddev(x, 1, 1), c.tensor<double>("c1"), rtol<T>(), atol<T>());
}

TEMPLATE_TEST_CASE("length-1 tensors and trailing length-1 axes reduce like PyTorch", "[edge][len1]", float, double) {
  using T = TestType;
  check_unary<T>("len1_sum_1x1_all_axes", [](const Var<T>& x, const FixtureCase&) {
    return nabla::sum(x, Shape{0, 1});
  });
  check_unary<T>("len1_max_1x1_all", [](const Var<T>& x, const FixtureCase&) { return nabla::max(x); });
  check_unary<T>("len1_mean_1", [](const Var<T>& x, const FixtureCase&) { return nabla::mean(x, 0); });
  check_unary<T>("len1_max_trailing", [](const Var<T>& x, const FixtureCase& c) { return nabla::max(x, axis_of(c)); });
  check_unary<T>("len1_log_softmax_trailing",
                 [](const Var<T>& x, const FixtureCase& c) { return nabla::log_softmax(x, axis_of(c)); });
  // One class: every log-probability is 0, the loss 0 and the gradient 0.
  check_unary<T>("len1_cross_entropy_one_class",
                 [](const Var<T>& x, const FixtureCase& c) { return nabla::cross_entropy(x, labels_of(c)); });
}

// ---- Zero-size dimensions -------------------------------------------------------

TEMPLATE_TEST_CASE("zero-size operands broadcast through add and mul with correctly shaped gradients",
                   "[edge][empty]", float, double) {
  using T = TestType;
  const Var<T> a(Tensor<T>(Shape{0, 3}));
  const Var<T> b(Tensor<T>(Shape{3}, {1, 2, 3}));
  const Var<T> s = a + b;
  const Var<T> m = a * b;
  CHECK(s.shape() == Shape{0, 3});
  CHECK(m.shape() == Shape{0, 3});
  const Var<T> loss = nabla::sum(s) + nabla::sum(m);
  CHECK(loss.item() == T{0});
  loss.backward();
  CHECK(a.grad().shape() == Shape{0, 3});
  require_close(b.grad(), Tensor<double>(Shape{3}), 0.0, 0.0);  // a sum over no rows
}

TEMPLATE_TEST_CASE("matmul with a zero-size dimension: [0,3]x[3,4] is [0,4], [2,0]x[0,3] is zeros", "[edge][empty]",
                   float, double) {
  using T = TestType;
  {
    const Var<T> a(Tensor<T>(Shape{0, 3}));
    const Var<T> b(nabla::ones<T>(Shape{3, 4}));
    const Var<T> y = nabla::matmul(a, b);
    CHECK(y.shape() == Shape{0, 4});
    nabla::sum(y).backward();
    CHECK(a.grad().shape() == Shape{0, 3});
    require_close(b.grad(), Tensor<double>(Shape{3, 4}), 0.0, 0.0);
  }
  {
    const Var<T> a(Tensor<T>(Shape{2, 0}));
    const Var<T> b(Tensor<T>(Shape{0, 3}));
    const Var<T> y = nabla::matmul(a, b);
    require_close(y.value(), Tensor<double>(Shape{2, 3}), 0.0, 0.0);
    y.backward(nabla::ones<T>(Shape{2, 3}));
    CHECK(a.grad().shape() == Shape{2, 0});
    CHECK(b.grad().shape() == Shape{0, 3});
  }
  {  // a batch of empty matrices
    const Var<T> a(Tensor<T>(Shape{0, 2, 3}));
    const Var<T> b(nabla::ones<T>(Shape{3, 4}));
    const Var<T> y = nabla::matmul(a, b);
    CHECK(y.shape() == Shape{0, 2, 4});
    nabla::sum(y).backward();
    CHECK(a.grad().shape() == Shape{0, 2, 3});
    require_close(b.grad(), Tensor<double>(Shape{3, 4}), 0.0, 0.0);
  }
}

TEMPLATE_TEST_CASE("reductions over a zero-size axis: sum 0, mean NaN, logsumexp -inf, as PyTorch", "[edge][empty]",
                   float, double) {
  using T = TestType;
  const FixtureCase c = edge("empty_reductions");
  const Var<T> x(c.tensor<T>("x"));
  CHECK(x.shape() == Shape{0, 3});
  const Var<T> s = nabla::sum(x, 0);
  require_close(s.value(), c.tensor<double>("sum0"), 0.0, 0.0);
  s.backward(nabla::ones<T>(Shape{3}));
  CHECK(x.grad().shape() == Shape{0, 3});
  x.zero_grad();
  const Var<T> m = nabla::mean(x, 0);
  require_close(m.value(), c.tensor<double>("mean0"), 0.0, 0.0);
  m.backward(nabla::ones<T>(Shape{3}));
  CHECK(x.grad().shape() == Shape{0, 3});
  require_close(nabla::logsumexp(x.value(), 0), c.tensor<double>("logsumexp0"), 0.0, 0.0);
  require_close(nabla::sum(x.value(), 1), c.tensor<double>("sum1"), 0.0, 0.0);
  // Over the non-empty axis the result is itself empty, which is fine even for max.
  x.zero_grad();
  const Var<T> mx = nabla::max(x, 1);
  require_close(mx.value(), c.tensor<double>("max1"), 0.0, 0.0);
  nabla::sum(mx).backward();
  CHECK(x.grad().shape() == Shape{0, 3});
  // Over the empty axis max has no identity: an error, as in PyTorch.
  CHECK_THROWS_AS(nabla::max(x, 0), nabla::Error);
}

TEMPLATE_TEST_CASE("a linear layer and softmax on a batch of zero rows", "[edge][empty]", float, double) {
  using T = TestType;
  nabla::Generator gen(3);
  nabla::nn::Linear<T> layer(3, 2, true, gen);
  const Var<T> x(Tensor<T>(Shape{0, 3}));
  const Var<T> y = layer(x);
  CHECK(y.shape() == Shape{0, 2});
  nabla::sum(y).backward();
  CHECK(x.grad().shape() == Shape{0, 3});
  for (const auto& [name, p] : layer.named_parameters()) {
    INFO("parameter " << name);
    require_close(p.grad(), Tensor<double>(p.shape()), 0.0, 0.0);
  }
  for (std::int64_t axis : {0, 1}) {
    const Var<T> z(Tensor<T>(Shape{0, 5}));
    const Var<T> sm = nabla::softmax(z, axis);
    const Var<T> lsm = nabla::log_softmax(z, axis);
    CHECK(sm.shape() == Shape{0, 5});
    CHECK(lsm.shape() == Shape{0, 5});
    (nabla::sum(sm) + nabla::sum(lsm)).backward();
    CHECK(z.grad().shape() == Shape{0, 5});
  }
}

TEMPLATE_TEST_CASE("concat and stack with empty pieces give each piece its (empty) gradient", "[edge][empty]", float,
                   double) {
  using T = TestType;
  const Var<T> empty(Tensor<T>(Shape{0, 3}));
  const Var<T> full(Tensor<T>(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
  const Var<T> y = nabla::concat(std::vector<Var<T>>{empty, full, empty}, 0);
  require_close(y.value(), full.value(), 0.0, 0.0);
  nabla::sum(y * y).backward();
  CHECK(empty.grad().shape() == Shape{0, 3});
  require_close(full.grad(), Tensor<double>(Shape{2, 3}, {2, 4, 6, 8, 10, 12}), 0.0, 0.0);

  const Var<T> e1(Tensor<T>(Shape{0, 3}));
  const Var<T> e2(Tensor<T>(Shape{0, 3}));
  const Var<T> st = nabla::stack(std::vector<Var<T>>{e1, e2}, 1);
  CHECK(st.shape() == Shape{0, 2, 3});
  nabla::sum(st).backward();
  CHECK(e1.grad().shape() == Shape{0, 3});
  CHECK(e2.grad().shape() == Shape{0, 3});
}

TEMPLATE_TEST_CASE("conv2d, pooling and a small CNN on a batch of zero images", "[edge][empty]", float, double) {
  using T = TestType;
  nabla::Generator gen(5);
  nabla::nn::Sequential<T> net(nabla::nn::Conv2d<T>(nabla::nn::Conv2dOptions(1, 2, 3).padding(1), gen),
                               nabla::nn::ReLU<T>(), nabla::nn::MaxPool2d<T>(2), nabla::nn::Flatten<T>(),
                               nabla::nn::Linear<T>(2 * 2 * 2, 3, true, gen));
  const Var<T> x(Tensor<T>(Shape{0, 1, 4, 4}));
  const Var<T> y = net(x);
  CHECK(y.shape() == Shape{0, 3});
  nabla::sum(y).backward();
  CHECK(x.grad().shape() == Shape{0, 1, 4, 4});
  for (const auto& [name, p] : net.named_parameters()) {
    INFO("parameter " << name);
    require_close(p.grad(), Tensor<double>(p.shape()), 0.0, 0.0);
  }
  const Var<T> pooled = nabla::avg_pool2d(x, 2);
  CHECK(pooled.shape() == Shape{0, 1, 2, 2});
}

TEMPLATE_TEST_CASE("losses over zero rows: nabla gives 0 where PyTorch's mean gives NaN", "[edge][empty]", float,
                   double) {
  using T = TestType;
  const FixtureCase c = edge("empty_reductions");
  const Var<T> logits(Tensor<T>(Shape{0, 5}));
  const Tensor<std::int64_t> labels(Shape{0});
  // Deliberate difference: PyTorch's mean over zero rows is 0/0 = NaN
  // (fixture "ce_mean", "mse_mean"); nabla's loss means divide by max(N, 1)
  // so that an empty batch contributes 0 and no NaN reaches the weights.
  CHECK(std::isnan(c.tensor<double>("ce_mean").item()));
  CHECK(std::isnan(c.tensor<double>("mse_mean").item()));
  const Var<T> ce = nabla::cross_entropy(logits, labels);
  CHECK(ce.item() == T{0});
  ce.backward();
  CHECK(logits.grad().shape() == Shape{0, 5});
  const Var<T> ce_sum = nabla::cross_entropy(logits, labels, {.reduction = nabla::Reduction::sum});
  CHECK(ce_sum.item() == static_cast<T>(c.tensor<double>("ce_sum").item()));
  const Var<T> pred(Tensor<T>(Shape{0, 3}));
  const Var<T> mse = nabla::mse_loss(pred, Tensor<T>(Shape{0, 3}));
  CHECK(mse.item() == T{0});
  mse.backward();
  CHECK(pred.grad().shape() == Shape{0, 3});
}

}  // namespace nabla_edge_test

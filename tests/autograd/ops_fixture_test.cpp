// Every differentiable op against PyTorch: forward values and gradients of
// sum(out * w) from tests/fixtures/autograd.json, then gradcheck in double.
#include <functional>
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
using V = Var<double>;
using Vs = std::vector<V>;
using Builder = std::function<V(const Vs&, const nabla::testing::FixtureCase&)>;

namespace {

Tensor<std::int64_t> labels_of(const nabla::testing::FixtureCase& c, const char* key) {
  return c.tensor<std::int64_t>(key);
}

// Maps each fixture case to the nabla expression that should reproduce it.
const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = [] {
    std::map<std::string, Builder> t;
    auto unary = [&t](const std::string& name, V (*f)(const V&)) {
      t[name] = [f](const Vs& x, const auto&) { return f(x[0]); };
    };
    unary("neg", [](const V& x) { return -x; });
    unary("exp", [](const V& x) { return nabla::exp(x); });
    unary("log", [](const V& x) { return nabla::log(x); });
    unary("log1p", [](const V& x) { return nabla::log1p(x); });
    unary("expm1", [](const V& x) { return nabla::expm1(x); });
    unary("sqrt", [](const V& x) { return nabla::sqrt(x); });
    unary("rsqrt", [](const V& x) { return nabla::rsqrt(x); });
    unary("abs", [](const V& x) { return nabla::abs(x); });
    unary("square", [](const V& x) { return nabla::square(x); });
    unary("reciprocal", [](const V& x) { return nabla::reciprocal(x); });
    unary("sin", [](const V& x) { return nabla::sin(x); });
    unary("cos", [](const V& x) { return nabla::cos(x); });
    unary("tanh", [](const V& x) { return nabla::tanh(x); });
    unary("sigmoid", [](const V& x) { return nabla::sigmoid(x); });
    unary("relu", [](const V& x) { return nabla::relu(x); });
    unary("leaky_relu", [](const V& x) { return nabla::leaky_relu(x, 0.1); });
    unary("gelu", [](const V& x) { return nabla::gelu(x); });
    unary("gelu_tanh", [](const V& x) { return nabla::gelu(x, true); });
    unary("silu", [](const V& x) { return nabla::silu(x); });
    unary("softplus", [](const V& x) { return nabla::softplus(x); });
    unary("elu", [](const V& x) { return nabla::elu(x); });
    unary("clamp", [](const V& x) { return nabla::clamp(x, -0.5, 0.7); });
    for (int i = 0; i < 4; ++i) {
      const std::string s = "_" + std::to_string(i);
      t["add" + s] = [](const Vs& x, const auto&) { return x[0] + x[1]; };
      t["sub" + s] = [](const Vs& x, const auto&) { return x[0] - x[1]; };
      t["mul" + s] = [](const Vs& x, const auto&) { return x[0] * x[1]; };
      t["div" + s] = [](const Vs& x, const auto&) { return x[0] / x[1]; };
      t["pow" + s] = [](const Vs& x, const auto&) { return nabla::pow(x[0], x[1]); };
      t["maximum" + s] = [](const Vs& x, const auto&) { return nabla::maximum(x[0], x[1]); };
      t["minimum" + s] = [](const Vs& x, const auto&) { return nabla::minimum(x[0], x[1]); };
    }
    t["maximum_ties"] = [](const Vs& x, const auto&) { return nabla::maximum(x[0], x[1]); };
    t["minimum_ties"] = [](const Vs& x, const auto&) { return nabla::minimum(x[0], x[1]); };
    unary("add_scalar", [](const V& x) { return x + 2.5; });
    unary("rsub_scalar", [](const V& x) { return 2.5 - x; });
    unary("mul_scalar", [](const V& x) { return x * -3.0; });
    unary("div_scalar", [](const V& x) { return x / 4.0; });
    unary("rdiv_scalar", [](const V& x) { return 3.0 / x; });
    unary("pow_scalar", [](const V& x) { return nabla::pow(x, 3.0); });
    unary("pow_half", [](const V& x) { return nabla::pow(x, 0.5); });
    unary("rpow_scalar", [](const V& x) { return nabla::pow(2.0, x); });
    t["where"] = [](const Vs& x, const auto& c) { return nabla::where(c.template tensor<double>("mask"), x[0], x[1]); };
    unary("sum_all", [](const V& x) { return nabla::sum(x); });
    unary("sum_axis1", [](const V& x) { return nabla::sum(x, 1); });
    unary("sum_axes02_keep", [](const V& x) { return nabla::sum(x, Shape{0, 2}, true); });
    unary("mean_all", [](const V& x) { return nabla::mean(x); });
    unary("mean_axis_neg1", [](const V& x) { return nabla::mean(x, -1); });
    unary("mean_axes01", [](const V& x) { return nabla::mean(x, Shape{0, 1}); });
    unary("max_all_ties", [](const V& x) { return nabla::max(x); });
    unary("min_all", [](const V& x) { return nabla::min(x); });
    unary("max_axis1_ties", [](const V& x) { return nabla::max(x, 1); });
    unary("max_axis0_keep", [](const V& x) { return nabla::max(x, 0, true); });
    unary("min_axis1", [](const V& x) { return nabla::min(x, 1); });
    unary("var_axis1", [](const V& x) { return nabla::var(x, 1); });
    unary("var_axes02_c0", [](const V& x) { return nabla::var(x, Shape{0, 2}, 0); });
    unary("logsumexp_axis1", [](const V& x) { return nabla::logsumexp(x, 1); });
    for (const char* name : {"matmul_2d", "matmul_batched", "matmul_3d_2d", "matmul_2d_3d", "matmul_1d_2d",
                             "matmul_2d_1d", "matmul_1d_1d"}) {
      t[name] = [](const Vs& x, const auto&) { return nabla::matmul(x[0], x[1]); };
    }
    t["linear"] = [](const Vs& x, const auto&) { return nabla::linear(x[0], x[1], x[2]); };
    t["linear_nobias"] = [](const Vs& x, const auto&) { return nabla::linear(x[0], x[1]); };
    unary("reshape", [](const V& x) { return nabla::reshape(x, Shape{4, 6}); });
    unary("flatten_1", [](const V& x) { return nabla::flatten(x, 1); });
    unary("permute", [](const V& x) { return nabla::permute(x, Shape{2, 0, 1}); });
    unary("transpose_12", [](const V& x) { return nabla::transpose(x, 1, 2); });
    unary("transpose_2d", [](const V& x) { return nabla::transpose(x); });
    unary("slice_step2", [](const V& x) { return nabla::slice(x, 2, 1, 4, 2); });
    unary("slice_axis1", [](const V& x) { return nabla::slice(x, 1, 1, 3); });
    unary("select", [](const V& x) { return nabla::select(x, 1, 2); });
    unary("unsqueeze", [](const V& x) { return nabla::unsqueeze(x, 1); });
    unary("squeeze", [](const V& x) { return nabla::squeeze(x, 1); });
    unary("expand", [](const V& x) { return nabla::expand(x, Shape{2, 3, 4}); });
    t["concat"] = [](const Vs& x, const auto&) { return nabla::concat(Vs{x[0], x[1], x[2]}, 1); };
    t["stack"] = [](const Vs& x, const auto&) { return nabla::stack(Vs{x[0], x[1]}, 1); };
    unary("pad", [](const V& x) { return nabla::pad(x, {1, 2, 0, 1}, 0.5); });
    unary("softmax_axis1", [](const V& x) { return nabla::softmax(x, 1); });
    unary("softmax_axis0", [](const V& x) { return nabla::softmax(x, 0); });
    unary("log_softmax_axis1", [](const V& x) { return nabla::log_softmax(x, 1); });
    unary("log_softmax_3d_axis1", [](const V& x) { return nabla::log_softmax(x, 1); });
    t["conv2d"] = [](const Vs& x, const auto&) { return nabla::conv2d(x[0], x[1], x[2]); };
    t["conv2d_stride2_pad1"] = [](const Vs& x, const auto&) { return nabla::conv2d(x[0], x[1], x[2], 2, 1); };
    t["conv2d_nobias_pad2"] = [](const Vs& x, const auto&) {
      nabla::Conv2dParams p;
      p.pad_h = p.pad_w = 2;
      return nabla::conv2d(x[0], x[1], p);
    };
    unary("max_pool2d", [](const V& x) { return nabla::max_pool2d(x, 2); });
    unary("max_pool2d_k3s2", [](const V& x) { return nabla::max_pool2d(x, 3, 2); });
    unary("avg_pool2d", [](const V& x) { return nabla::avg_pool2d(x, 2); });
    unary("adaptive_avg_pool2d_1", [](const V& x) { return nabla::adaptive_avg_pool2d(x, 1, 1); });
    auto ce = [&t](const std::string& name, nabla::CrossEntropyOptions o) {
      t[name] = [o](const Vs& x, const auto& c) { return nabla::cross_entropy(x[0], labels_of(c, "in1"), o); };
    };
    ce("cross_entropy_mean", {});
    ce("cross_entropy_sum", {nabla::Reduction::sum, 0.0});
    ce("cross_entropy_none", {nabla::Reduction::none, 0.0});
    ce("cross_entropy_smooth", {nabla::Reduction::mean, 0.1});
    ce("cross_entropy_huge", {});
    t["nll_loss"] = [](const Vs& x, const auto& c) { return nabla::nll_loss(x[0], labels_of(c, "in1")); };
    t["mse_loss"] = [](const Vs& x, const auto&) { return nabla::mse_loss(x[0], x[1]); };
    t["mse_loss_sum"] = [](const Vs& x, const auto&) { return nabla::mse_loss(x[0], x[1], nabla::Reduction::sum); };
    t["l1_loss"] = [](const Vs& x, const auto&) { return nabla::l1_loss(x[0], x[1]); };
    t["bce_with_logits"] = [](const Vs& x, const auto&) { return nabla::binary_cross_entropy_with_logits(x[0], x[1]); };
    t["mlp_cross_entropy"] = [](const Vs& x, const auto& c) {
      return nabla::cross_entropy(nabla::linear(nabla::relu(nabla::linear(x[0], x[1], x[2])), x[3], x[4]),
                                  labels_of(c, "in5"));
    };
    t["conv_pool_linear"] = [](const Vs& x, const auto& c) {
      const V h = nabla::max_pool2d(nabla::relu(nabla::conv2d(x[0], x[1], x[2], 1, 1)), 2);
      return nabla::cross_entropy(nabla::linear(nabla::flatten(h, 1), x[3], x[4]), labels_of(c, "in5"));
    };
    unary("reuse", [](const V& x) { return x * x + nabla::exp(x) * x - nabla::sum(x) * x + nabla::tanh(x * x); });
    unary("clamp_min", [](const V& x) { return nabla::clamp_min(x, -0.3); });
    unary("clamp_max", [](const V& x) { return nabla::clamp_max(x, 0.4); });
    unary("cumsum_axis1", [](const V& x) { return nabla::cumsum(x, 1); });
    unary("cumsum_axis0_3d", [](const V& x) { return nabla::cumsum(x, 0); });
    unary("cumprod_axis1", [](const V& x) { return nabla::cumprod(x, 1); });
    unary("cumprod_with_zero", [](const V& x) { return nabla::cumprod(x, 0); });
    unary("trace", [](const V& x) { return nabla::trace(x); });
    t["gather_axis1"] = [](const Vs& x, const auto& c) { return nabla::gather(x[0], 1, labels_of(c, "in1")); };
    t["gather_axis0"] = [](const Vs& x, const auto& c) { return nabla::gather(x[0], 0, labels_of(c, "in1")); };
    t["scatter_add_axis1"] = [](const Vs& x, const auto& c) {
      return nabla::scatter_add(x[0], 1, labels_of(c, "in2"), x[1]);
    };
    t["index_select_axis0"] = [](const Vs& x, const auto& c) { return nabla::index_select(x[0], 0, labels_of(c, "in1")); };
    t["index_select_axis1"] = [](const Vs& x, const auto& c) { return nabla::index_select(x[0], 1, labels_of(c, "in1")); };
    t["index_add_axis0"] = [](const Vs& x, const auto& c) {
      return nabla::index_add(x[0], 0, labels_of(c, "in2"), x[1]);
    };
    unary("flip_01", [](const V& x) { return nabla::flip(x, Shape{0, 1}); });
    unary("flip_last", [](const V& x) { return nabla::flip(x, Shape{-1}); });
    unary("roll_axis1", [](const V& x) { return nabla::roll(x, 2, 1); });
    unary("roll_negative", [](const V& x) { return nabla::roll(x, -1, 0); });
    unary("roll_flat", [](const V& x) { return nabla::roll(x, 4); });
    unary("tril", [](const V& x) { return nabla::tril(x); });
    unary("tril_batched_k1", [](const V& x) { return nabla::tril(x, 1); });
    unary("triu_k_neg1", [](const V& x) { return nabla::triu(x, -1); });
    unary("diag_embed", [](const V& x) { return nabla::diag(x); });
    unary("diag_embed_k2", [](const V& x) { return nabla::diag(x, 2); });
    unary("diag_extract", [](const V& x) { return nabla::diag(x); });
    unary("diag_extract_k_neg1", [](const V& x) { return nabla::diag(x, -1); });
    return t;
  }();
  return table;
}

// Float inputs of a case, in order (integer label inputs are skipped).
std::vector<Tensor<double>> float_inputs(const nabla::testing::FixtureCase& c) {
  std::vector<Tensor<double>> out;
  for (int i = 0; c.has("in" + std::to_string(i)); ++i) {
    if (!c.has("grad" + std::to_string(i))) continue;
    out.push_back(c.tensor<double>("in" + std::to_string(i)));
  }
  return out;
}

void check_case(const std::string& name, bool run_gradcheck) {
  INFO("case " << name);
  const auto c = nabla::testing::fixture("autograd").get(name);
  const auto it = builders().find(name);
  REQUIRE(it != builders().end());
  const std::vector<Tensor<double>> inputs = float_inputs(c);
  Vs vars;
  for (const auto& t : inputs) vars.emplace_back(t.clone(), true);
  const V y = it->second(vars, c);
  nabla::testing::require_close(y.value(), c.tensor<double>("out"), 1e-9, 1e-9);
  const V loss = nabla::sum(y * c.tensor<double>("w"));
  loss.backward();
  for (std::size_t i = 0; i < vars.size(); ++i) {
    INFO("gradient of input " << i);
    // Inputs are numbered including integer labels, which come last here.
    const Tensor<double> expected = c.tensor<double>("grad" + std::to_string(i));
    REQUIRE(vars[i].grad().defined());
    nabla::testing::require_close(vars[i].grad(), expected, 1e-8, 1e-9);
  }
  if (run_gradcheck) {
    const auto report = nabla::gradcheck([&](const Vs& x) { return it->second(x, c); }, inputs);
    INFO(report.message);
    CHECK(report.ok);
    CHECK(report.checked > 0);
  }
}

void check_prefix(const std::string& prefix, bool run_gradcheck = true) {
  int count = 0;
  for (const auto& name : nabla::testing::fixture("autograd").names()) {
    if (name.rfind(prefix, 0) == 0) {
      check_case(name, run_gradcheck);
      ++count;
    }
  }
  REQUIRE(count > 0);
}

}  // namespace

TEST_CASE("autograd fixtures: every case has a builder", "[autograd][fixture]") {
  for (const auto& name : nabla::testing::fixture("autograd").names()) {
    INFO(name);
    CHECK(builders().count(name) == 1);
  }
}

TEST_CASE("autograd fixtures: unary elementwise", "[autograd][fixture]") {
  for (const char* name : {"neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "abs", "square", "reciprocal",
                           "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "gelu", "gelu_tanh", "silu",
                           "softplus", "elu", "clamp"}) {
    check_case(name, true);
  }
}

TEST_CASE("autograd fixtures: broadcasting add/sub/mul/div", "[autograd][fixture]") {
  check_prefix("add_");
  check_prefix("sub_");
  check_prefix("mul_");
  check_prefix("div_");
}

TEST_CASE("autograd fixtures: pow, maximum, minimum (ties split)", "[autograd][fixture]") {
  check_prefix("pow_");
  check_prefix("maximum_", false);
  check_prefix("minimum_", false);
}

TEST_CASE("autograd fixtures: scalar operands and where", "[autograd][fixture]") {
  for (const char* name : {"rsub_scalar", "rdiv_scalar", "rpow_scalar", "where"}) check_case(name, true);
}

TEST_CASE("autograd fixtures: reductions", "[autograd][fixture]") {
  check_prefix("sum_");
  check_prefix("mean_");
  check_prefix("var_");
  check_prefix("logsumexp_");
}

TEST_CASE("autograd fixtures: max and min with ties", "[autograd][fixture]") {
  // Ties make max non-differentiable, so only PyTorch's convention is checked.
  check_prefix("max_", false);
  check_prefix("min_", false);
}

TEST_CASE("autograd fixtures: matmul in every rank combination", "[autograd][fixture]") {
  check_prefix("matmul_");
  check_prefix("linear");
}

TEST_CASE("autograd fixtures: views and shape ops", "[autograd][fixture]") {
  for (const char* name : {"reshape", "flatten_1", "permute", "transpose_12", "transpose_2d", "slice_step2",
                           "slice_axis1", "select", "unsqueeze", "squeeze", "expand", "concat", "stack", "pad"}) {
    check_case(name, true);
  }
}

TEST_CASE("autograd fixtures: softmax and log_softmax", "[autograd][fixture]") {
  check_prefix("softmax_");
  check_prefix("log_softmax_");
}

TEST_CASE("autograd fixtures: conv2d and pooling", "[autograd][fixture]") {
  check_prefix("conv2d");
  check_prefix("max_pool2d", false);  // random inputs have no ties, but kinks are near
  check_prefix("avg_pool2d");
  check_prefix("adaptive_avg_pool2d");
}

TEST_CASE("autograd fixtures: losses", "[autograd][fixture]") {
  check_prefix("cross_entropy_", false);
  check_case("cross_entropy_mean", true);
  check_case("cross_entropy_smooth", true);
  check_case("nll_loss", true);
  check_prefix("mse_loss");
  check_case("l1_loss", false);
  check_case("bce_with_logits", true);
}

TEST_CASE("autograd fixtures: composite networks and reuse", "[autograd][fixture]") {
  check_case("mlp_cross_entropy", true);
  check_case("conv_pool_linear", false);
  check_case("reuse", true);
}

TEST_CASE("autograd fixtures: indexing, rearranging, running reductions, one-sided clamps", "[autograd][fixture]") {
  for (const char* name : {"clamp_min", "clamp_max", "trace"}) check_case(name, true);
  for (const char* prefix : {"cumsum_", "cumprod_", "gather_", "scatter_add_", "index_select_", "index_add_", "flip_",
                             "roll_", "tril", "triu_", "diag_"}) {
    check_prefix(prefix);
  }
}

TEST_CASE("autograd fixtures: float matches the double reference", "[autograd][fixture]") {
  // Single precision through the same composite network.
  const auto c = nabla::testing::fixture("autograd").get("mlp_cross_entropy");
  std::vector<Var<float>> x;
  for (const auto& t : float_inputs(c)) x.emplace_back(t.to<float>(), true);
  const Var<float> loss = nabla::cross_entropy(
      nabla::linear(nabla::relu(nabla::linear(x[0], x[1], x[2])), x[3], x[4]), labels_of(c, "in5"));
  nabla::testing::require_close(loss.value(), c.tensor<double>("out"), 1e-5, 1e-6);
  nabla::sum(loss * c.tensor<double>("w").to<float>()).backward();
  for (std::size_t i = 0; i < x.size(); ++i) {
    nabla::testing::require_close(x[i].grad(), c.tensor<double>("grad" + std::to_string(i)), 1e-4, 1e-5);
  }
}

TEST_CASE("autograd fixtures: every op kind is exercised", "[autograd][fixture]") {
  // Walk the tape after building each case and collect the kinds recorded.
  std::set<nabla::OpKind> seen;
  for (const auto& name : nabla::testing::fixture("autograd").names()) {
    const auto c = nabla::testing::fixture("autograd").get(name);
    Vs vars;
    for (const auto& t : float_inputs(c)) vars.emplace_back(t.clone(), true);
    const V y = builders().at(name)(vars, c);
    const auto& tape = nabla::Tape<double>::current();
    for (std::size_t i = 0; i < tape.size(); ++i) {
      if (tape.entry(i).backward) seen.insert(tape.entry(i).kind);
    }
    nabla::Tape<double>::current().clear();
  }
  // Kinds covered by other test files: dropout and custom (tests/autograd),
  // batch_norm (tests/nn).
  const std::set<nabla::OpKind> elsewhere = {nabla::OpKind::dropout, nabla::OpKind::custom,
                                             nabla::OpKind::batch_norm, nabla::OpKind::contiguous,
                                             // Fixture tests of their own, which check the tape too:
                                             // tests/autograd/sort_fixture_test.cpp
                                             nabla::OpKind::prod, nabla::OpKind::sort, nabla::OpKind::topk,
                                             nabla::OpKind::repeat, nabla::OpKind::norm,
                                             // tests/autograd/einsum_fixture_test.cpp
                                             nabla::OpKind::bmm, nabla::OpKind::einsum,
                                             // tests/autograd/mask_fixture_test.cpp
                                             nabla::OpKind::masked_fill, nabla::OpKind::masked_select,
                                             nabla::OpKind::index};
  for (nabla::OpKind kind : nabla::all_op_kinds) {
    INFO("op kind " << nabla::op_name(kind));
    CHECK((seen.count(kind) == 1 || elsewhere.count(kind) == 1));
  }
}

// Optimizers against torch.optim: a small MLP trained 5 steps with each
// follows PyTorch's loss curve and ends at PyTorch's weights.
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"
#include "nabla/optim.hpp"

using namespace nabla;
using nabla::testing::require_close;

namespace {

template <class T>
nn::Sequential<T> mlp() {
  return nn::Sequential<T>(nn::Linear<T>(10, 16), nn::ReLU<T>(), nn::Linear<T>(16, 3));
}

double param(const nabla::testing::FixtureCase& c, const char* key, double fallback) {
  return c.has(key) ? c.real(key) : fallback;
}

template <class T>
std::unique_ptr<optim::Optimizer<T>> make_optimizer(const std::string& name, const nabla::testing::FixtureCase& c,
                                                    std::vector<Var<T>> params) {
  const double lr = c.real("lr");
  if (name == "sgd") return std::make_unique<optim::SGD<T>>(std::move(params), lr);
  if (name == "sgd_nesterov" || name == "sgd_dampening") {
    return std::make_unique<optim::SGD<T>>(std::move(params), lr,
                                           optim::SGDOptions()
                                               .momentum(c.real("momentum"))
                                               .dampening(param(c, "dampening", 0.0))
                                               .nesterov(name == "sgd_nesterov")
                                               .weight_decay(c.real("weight_decay")));
  }
  if (name == "adam") return std::make_unique<optim::Adam<T>>(std::move(params), optim::AdamOptions(lr));
  if (name == "adam_amsgrad") {
    return std::make_unique<optim::Adam<T>>(std::move(params), optim::AdamOptions(lr)
                                                                   .betas(c.real("beta1"), c.real("beta2"))
                                                                   .eps(c.real("eps"))
                                                                   .weight_decay(c.real("weight_decay"))
                                                                   .amsgrad(true));
  }
  if (name == "adamw") return std::make_unique<optim::AdamW<T>>(std::move(params), lr);
  if (name == "adamw_wd") {
    return std::make_unique<optim::AdamW<T>>(std::move(params),
                                             optim::AdamWOptions(lr).weight_decay(c.real("weight_decay")).amsgrad(true));
  }
  if (name == "rmsprop") return std::make_unique<optim::RMSprop<T>>(std::move(params), lr);
  if (name == "rmsprop_centered") {
    return std::make_unique<optim::RMSprop<T>>(std::move(params), optim::RMSpropOptions(lr)
                                                                      .alpha(c.real("alpha"))
                                                                      .eps(c.real("eps"))
                                                                      .weight_decay(c.real("weight_decay"))
                                                                      .momentum(c.real("momentum"))
                                                                      .centered(true));
  }
  FAIL("unknown optimizer " << name);
  return nullptr;
}

template <class T>
void train_like_pytorch(const std::string& name, double rtol, double atol) {
  INFO("optimizer " << name);
  const auto c = nabla::testing::fixture("optim").get("mlp_" + name);
  auto net = mlp<T>();
  for (const auto& [n, p] : net.named_parameters()) p.value().copy_(c.tensor<T>("p." + n));
  auto opt = make_optimizer<T>(name, c, net.parameters());
  const Var<T> x(c.tensor<T>("x"), false);
  const Tensor<std::int64_t> labels = c.tensor<std::int64_t>("labels");
  const auto losses = c.tensor<double>("losses").to_vector();
  for (std::size_t step = 0; step < losses.size(); ++step) {
    opt->zero_grad();
    const Var<T> loss = cross_entropy(net(x), labels);
    INFO("step " << step);
    CHECK(static_cast<double>(loss.item()) == Approx(losses[step]).epsilon(rtol).margin(atol));
    loss.backward();
    opt->step();
  }
  for (const auto& [n, p] : net.named_parameters()) {
    INFO("final " << n);
    require_close(p.value(), c.tensor<double>("final." + n), rtol, atol);
  }
}

const std::vector<std::string> all_optimizers = {"sgd",   "sgd_nesterov", "sgd_dampening", "adam",
                                                 "adam_amsgrad", "adamw", "adamw_wd", "rmsprop",
                                                 "rmsprop_centered"};

}  // namespace

TEST_CASE("every optimizer follows PyTorch's loss curve and weights (double)", "[optim]") {
  for (const auto& name : all_optimizers) train_like_pytorch<double>(name, 1e-10, 1e-12);
}

TEST_CASE("every optimizer follows PyTorch's loss curve and weights (float)", "[optim]") {
  // Adam-type updates divide by sqrt(v) + eps, which amplifies float rounding
  // of tiny gradients: compare to a float tolerance.
  for (const auto& name : all_optimizers) train_like_pytorch<float>(name, 1e-3, 1e-4);
}

TEST_CASE("SGD by hand: plain, momentum (buffer starts at the gradient), Nesterov, weight decay", "[optim][sgd]") {
  const Var<double> p(Tensor<double>(Shape{2}, {1.0, -2.0}));
  optim::SGD<double> plain({p}, 0.5);
  p.set_grad(Tensor<double>(Shape{2}, {0.2, 0.4}));
  plain.step();
  CHECK(p.value().to_vector() == std::vector<double>{1.0 - 0.1, -2.0 - 0.2});

  const Var<double> q(Tensor<double>(Shape{1}, {1.0}));
  optim::SGD<double> mom({q}, 0.1, optim::SGDOptions().momentum(0.9).weight_decay(0.5));
  q.set_grad(Tensor<double>(Shape{1}, {2.0}));
  mom.step();  // d = 2 + 0.5 * 1 = 2.5, buf = 2.5, q = 1 - 0.25
  CHECK(q.value().item() == Approx(0.75));
  CHECK(mom.state(0).buffers[0].item() == Approx(2.5));
  mom.step();  // d = 2 + 0.375 = 2.375, buf = 0.9 * 2.5 + 2.375 = 4.625, q = 0.75 - 0.4625
  CHECK(q.value().item() == Approx(0.2875));

  const Var<double> r(Tensor<double>(Shape{1}, {0.0}));
  optim::SGD<double> nesterov({r}, 1.0, optim::SGDOptions().momentum(0.5).nesterov(true));
  r.set_grad(Tensor<double>(Shape{1}, {1.0}));
  nesterov.step();  // buf = 1, d = 1 + 0.5 = 1.5
  CHECK(r.value().item() == Approx(-1.5));
  nesterov.step();  // buf = 1.5, d = 1 + 0.75
  CHECK(r.value().item() == Approx(-3.25));
}

TEST_CASE("Adam by hand: the first step moves each weight by about lr", "[optim][adam]") {
  const Var<double> p(Tensor<double>(Shape{3}, {1.0, 1.0, 1.0}));
  optim::Adam<double> adam({p}, optim::AdamOptions(0.1));
  p.set_grad(Tensor<double>(Shape{3}, {1e-3, -5.0, 0.0}));
  adam.step();
  const auto v = p.value().to_vector();
  CHECK(v[0] == Approx(1.0 - 0.1 * 1e-3 / (1e-3 + 1e-8)));
  CHECK(v[1] == Approx(1.1));
  CHECK(v[2] == 1.0);
  CHECK(adam.state(0).step == 1);
  CHECK(adam.options().weight_decay() == 0.0);
  optim::AdamW<double> adamw({p});
  CHECK(adamw.options().weight_decay() == 0.01);  // AdamW's default
  CHECK(adamw.lr() == 1e-3);
  optim::AdamW<double> adamw0({p}, optim::AdamWOptions(1e-2).weight_decay(0));
  CHECK(adamw0.options().weight_decay() == 0.0);
}

TEST_CASE("parameters without a gradient are skipped and keep no state", "[optim]") {
  const Var<float> a(ones<float>(Shape{2}));
  const Var<float> b(ones<float>(Shape{2}));
  optim::Adam<float> adam({a, b}, 0.1);
  a.set_grad(ones<float>(Shape{2}));
  adam.step();
  CHECK(a.value().to_vector() != std::vector<float>{1, 1});
  CHECK(b.value().to_vector() == std::vector<float>{1, 1});
  CHECK(adam.state(0).step == 1);
  CHECK(adam.state(1).step == 0);
  CHECK_FALSE(adam.state(1).buffers[0].defined());
  const auto state = adam.state_dict();
  CHECK(state.size() == 3);  // 0.exp_avg, 0.exp_avg_sq, 0.step
  adam.zero_grad();
  CHECK_FALSE(a.grad().defined());
  adam.step();  // nothing to do
  CHECK(adam.state(0).step == 1);
}

TEST_CASE("updates bump the parameters' versions (autograd sees in-place edits)", "[optim]") {
  const Var<double> w(ones<double>(Shape{2, 2}));
  const Var<double> x(ones<double>(Shape{2, 2}), false);
  const Var<double> y = sum(matmul(x, w) * w);  // saves w for backward
  optim::SGD<double> sgd({w}, 0.1);
  w.set_grad(ones<double>(Shape{2, 2}));
  const std::uint64_t v0 = w.value().version();
  sgd.step();
  CHECK(w.value().version() > v0);
  CHECK_THROWS_AS(y.backward(), AutogradError);
}

TEST_CASE("the learning rate can be read and changed", "[optim]") {
  const Var<float> p(zeros<float>(Shape{1}));
  optim::SGD<float> sgd({p}, 0.5);
  CHECK(sgd.lr() == 0.5);
  sgd.set_lr(0.25);
  p.set_grad(ones<float>(Shape{1}));
  sgd.step();
  CHECK(p.value().item() == -0.25f);
  CHECK(sgd.parameters().size() == 1);
  CHECK(sgd.parameters()[0].is_same(p));
  CHECK_THROWS_WITH(sgd.set_lr(-1), Catch::Contains("SGD: learning rate -1 must not be negative"));
}

TEST_CASE("optimizers reject bad parameters and options", "[optim][errors]") {
  const Var<float> p(zeros<float>(Shape{2, 3}));
  CHECK_THROWS_WITH(optim::SGD<float>({}, 0.1), Catch::Contains("SGD: got an empty parameter list"));
  CHECK_THROWS_WITH(optim::SGD<float>({p, p}, 0.1), Catch::Contains("SGD: parameter 1 is the same as parameter 0"));
  CHECK_THROWS_WITH(optim::SGD<float>({p * 2.0f}, 0.1), Catch::Contains("SGD: parameter 0 of shape [2, 3] is not a leaf"));
  CHECK_THROWS_WITH(optim::SGD<float>({Var<float>(zeros<float>(Shape{3, 2}).t())}, 0.1),
                    Catch::Contains("is not contiguous"));
  CHECK_THROWS_WITH(optim::SGD<float>({Var<float>()}, 0.1), Catch::Contains("SGD: parameter 0 is undefined"));
  CHECK_THROWS_WITH(optim::SGD<float>({p}, -0.1), Catch::Contains("SGD: learning rate -0.1 must not be negative"));
  CHECK_THROWS_WITH(optim::SGD<float>({p}, 0.1, optim::SGDOptions().nesterov(true)),
                    Catch::Contains("SGD: Nesterov momentum requires a momentum and zero dampening"));
  CHECK_THROWS_WITH(optim::SGD<float>({p}, 0.1, optim::SGDOptions().momentum(-1)),
                    Catch::Contains("SGD: momentum -1 must not be negative"));
  CHECK_THROWS_WITH(optim::Adam<float>({p}, optim::AdamOptions().betas(0.9, 1.0)),
                    Catch::Contains("Adam: betas (0.9, 1) must be in [0, 1)"));
  CHECK_THROWS_WITH(optim::AdamW<float>({p}, optim::AdamWOptions().eps(-1)), Catch::Contains("AdamW: eps -1"));
  CHECK_THROWS_WITH(optim::RMSprop<float>({p}, optim::RMSpropOptions().alpha(-0.5)),
                    Catch::Contains("RMSprop: alpha -0.5 must not be negative"));
}

TEST_CASE("non-contiguous gradients are read correctly", "[optim]") {
  const Var<double> p(zeros<double>(Shape{2, 3}));
  optim::SGD<double> sgd({p}, 1.0);
  const Tensor<double> g = Tensor<double>(Shape{3, 2}, {1, 2, 3, 4, 5, 6}).t();
  p.set_grad(g);
  sgd.step();
  CHECK(p.value().to_vector() == std::vector<double>{-1, -3, -5, -2, -4, -6});
}

TEST_CASE("large parameters update the same on any thread count", "[optim]") {
  Generator gen(5);
  const Tensor<float> init = randn<float>(Shape{300000}, gen);
  const Tensor<float> grad = randn<float>(Shape{300000}, gen);
  auto run = [&](int threads) {
    set_num_threads(threads);
    const Var<float> p(init.clone());
    optim::Adam<float> adam({p}, 0.01);
    for (int i = 0; i < 3; ++i) {
      p.set_grad(grad.clone());
      adam.step();
    }
    return p.value().to_vector();
  };
  const int saved = get_num_threads();
  const auto one = run(1);
  const auto two = run(2);
  set_num_threads(saved);
  CHECK(one == two);
}

// Optimizer state save/restore: 2 steps + state_dict + fresh objects +
// load_state_dict + 2 steps == 4 uninterrupted steps, bit for bit.
#include <functional>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"
#include "nabla/optim.hpp"

using namespace nabla;

namespace {

template <class T>
using MakeOpt = std::function<std::unique_ptr<optim::Optimizer<T>>(std::vector<Var<T>>)>;

template <class T>
struct Run {
  nn::Sequential<T> net;
  std::unique_ptr<optim::Optimizer<T>> opt;
};

template <class T>
Run<T> fresh_run(const MakeOpt<T>& make) {
  Generator gen(123);  // the same initial weights every time
  Run<T> r{nn::Sequential<T>(nn::Linear<T>(6, 8, true, gen), nn::Tanh<T>(), nn::Linear<T>(8, 3, true, gen)), nullptr};
  r.opt = make(r.net.parameters());
  return r;
}

template <class T>
void train(Run<T>& r, int steps) {
  Generator gen(77);
  const Var<T> x(randn<T>(Shape{5, 6}, gen), false);
  const Tensor<std::int64_t> labels(Shape{5}, {0, 1, 2, 1, 0});
  for (int i = 0; i < steps; ++i) {
    r.opt->zero_grad();
    cross_entropy(r.net(x), labels).backward();
    r.opt->step();
  }
}

template <class T>
void check_round_trip(const MakeOpt<T>& make) {
  Run<T> straight = fresh_run(make);
  train(straight, 4);

  Run<T> first = fresh_run(make);
  train(first, 2);
  const auto weights = first.net.named_parameters();
  const auto state = first.opt->state_dict();
  CHECK_FALSE(state.empty());

  Run<T> resumed = fresh_run(make);
  const auto target = resumed.net.named_parameters();
  for (std::size_t i = 0; i < weights.size(); ++i) target[i].second.value().copy_(weights[i].second.value());
  resumed.opt->load_state_dict(state);
  train(resumed, 2);

  const auto a = straight.net.named_parameters();
  const auto b = resumed.net.named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].second.value().to_vector() == b[i].second.value().to_vector());  // bit for bit
  }
  // state_dict() holds copies: training on does not change a saved dict.
  const auto again = first.opt->state_dict();
  train(first, 1);
  for (std::size_t i = 0; i < again.size(); ++i) CHECK(again[i].second.to_vector() == state[i].second.to_vector());
}

}  // namespace

TEMPLATE_TEST_CASE("SGD with momentum resumes exactly from its state_dict", "[optim][state]", float, double) {
  using T = TestType;
  check_round_trip<T>([](std::vector<Var<T>> p) {
    return std::make_unique<optim::SGD<T>>(std::move(p), 0.1, optim::SGDOptions().momentum(0.9).nesterov(true));
  });
  Run<T> r = fresh_run<T>([](std::vector<Var<T>> p) {
    return std::make_unique<optim::SGD<T>>(std::move(p), 0.1, optim::SGDOptions().momentum(0.9));
  });
  train(r, 1);
  std::vector<std::string> names;
  for (const auto& [n, t] : r.opt->state_dict()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.momentum_buffer", "1.momentum_buffer", "2.momentum_buffer",
                                          "3.momentum_buffer"});
}

TEMPLATE_TEST_CASE("Adam, AdamW and RMSprop resume exactly from their state_dict", "[optim][state]", float, double) {
  using T = TestType;
  check_round_trip<T>([](std::vector<Var<T>> p) {
    return std::make_unique<optim::Adam<T>>(std::move(p), optim::AdamOptions(0.01));
  });
  check_round_trip<T>([](std::vector<Var<T>> p) {
    return std::make_unique<optim::AdamW<T>>(std::move(p), optim::AdamWOptions(0.01).amsgrad(true));
  });
  check_round_trip<T>([](std::vector<Var<T>> p) {
    return std::make_unique<optim::RMSprop<T>>(std::move(p),
                                               optim::RMSpropOptions(0.01).momentum(0.5).centered(true));
  });
  Run<T> r = fresh_run<T>([](std::vector<Var<T>> p) {
    return std::make_unique<optim::Adam<T>>(std::move(p), optim::AdamOptions(0.01).amsgrad(true));
  });
  train(r, 3);
  const auto state = r.opt->state_dict();
  REQUIRE(state.size() == 4 * 4);
  CHECK(state[0].first == "0.exp_avg");
  CHECK(state[1].first == "0.exp_avg_sq");
  CHECK(state[2].first == "0.max_exp_avg_sq");
  CHECK(state[3].first == "0.step");
  CHECK(state[3].second.ndim() == 0);
  CHECK(state[3].second.item() == T{3});
  CHECK(state[0].second.shape() == Shape{8, 6});
}

TEST_CASE("load_state_dict validates everything before changing anything", "[optim][state][errors]") {
  const Var<float> a(zeros<float>(Shape{2, 3}));
  const Var<float> b(zeros<float>(Shape{4}));
  optim::Adam<float> adam({a, b}, 0.1);
  a.set_grad(ones<float>(Shape{2, 3}));
  b.set_grad(ones<float>(Shape{4}));
  adam.step();
  const auto good = adam.state_dict();
  auto with = [&](auto edit) {
    auto s = good;
    edit(s);
    return s;
  };
  using SD = optim::Optimizer<float>::StateDict;
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s[0].first = "0.momentum"; })),
                    Catch::Contains("Adam: unexpected state '0.momentum'"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s[0].first = "7.exp_avg"; })),
                    Catch::Contains("Adam: state '7.exp_avg' names parameter 7 but there are only 2 parameters"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s[0].first = "exp_avg"; })),
                    Catch::Contains("unexpected state name 'exp_avg'"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s[0].second = zeros<float>(Shape{3, 2}); })),
                    Catch::Contains("Adam: state '0.exp_avg' has shape [3, 2] but parameter 0 has shape [2, 3]"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s.erase(s.begin() + 1); })),
                    Catch::Contains("Adam: incomplete state for parameter 0: expected {exp_avg, exp_avg_sq, step} but "
                                    "got {exp_avg, step}"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s.push_back(s[0]); })), Catch::Contains("appears twice"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s[2].second = Tensor<float>::scalar(1.5f); })),
                    Catch::Contains("Adam: state '0.step' = 1.5 is not a step count"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s[2].second = zeros<float>(Shape{2}); })),
                    Catch::Contains("must hold one value"));
  CHECK_THROWS_WITH(adam.load_state_dict(with([](SD& s) { s[0].first = "0.max_exp_avg_sq"; })),
                    Catch::Contains("not used by this Adam configuration"));
  // Nothing changed: the state is still the one saved.
  const auto now = adam.state_dict();
  REQUIRE(now.size() == good.size());
  for (std::size_t i = 0; i < now.size(); ++i) CHECK(now[i].second.to_vector() == good[i].second.to_vector());
  // An empty dict resets the optimizer to its initial (stateless) condition.
  adam.load_state_dict({});
  CHECK(adam.state_dict().empty());
  optim::SGD<float> plain({a}, 0.1);
  CHECK_THROWS_WITH(plain.load_state_dict({{"0.momentum_buffer", zeros<float>(Shape{2, 3})}}),
                    Catch::Contains("SGD: unexpected state '0.momentum_buffer' (not used by this SGD configuration)"));
  CHECK_THROWS_WITH(plain.load_state_dict({{"0.step", Tensor<float>::scalar(1)}}), Catch::Contains("unexpected state"));
}

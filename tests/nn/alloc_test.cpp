// A steady-state training step of the CNN (forward, loss, backward, SGD with
// momentum) makes no heap allocation after the first steps: every form of
// operator new is counted while a flag is set.
#include <catch2/catch.hpp>

#include "../support/alloc_counter.hpp"

#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"
#include "nabla/optim.hpp"

using nabla::testing::allocations;
using nabla::testing::counting;

using namespace nabla;

TEST_CASE("a steady-state CNN training step makes no heap allocations", "[nn][alloc]") {
  Generator gen(2);
  nn::Sequential<float> net(nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(),
                            nn::MaxPool2d<float>(2), nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen),
                            nn::ReLU<float>(), nn::MaxPool2d<float>(2), nn::Flatten<float>(),
                            nn::Linear<float>(3136, 128, true, gen), nn::ReLU<float>(),
                            nn::Linear<float>(128, 10, true, gen));
  optim::SGD<float> opt(net.parameters(), 0.05, optim::SGDOptions().momentum(0.9));
  const Var<float> x(rand<float>(Shape{8, 1, 28, 28}, gen), false);
  const Tensor<std::int64_t> labels = randint<std::int64_t>(0, 10, Shape{8}, gen);
  auto step = [&] {
    net.zero_grad();  // the module's walk, like opt.zero_grad(), allocates nothing
    const Var<float> loss = cross_entropy(net(x), labels);
    loss.backward();
    opt.step();
    return loss.item();
  };
  const float first = step();
  step();
  allocations = 0;
  counting = true;
  float last = 0.0f;
  for (int i = 0; i < 3; ++i) last = step();
  counting = false;
  CHECK(allocations.load() == 0);
  CHECK(last < first);  // it is really training
}

TEST_CASE("optimizer steps make no heap allocations once their state exists", "[optim][alloc]") {
  Generator gen(3);
  nn::Linear<double> lin(64, 32, true, gen);
  const Var<double> x(randn<double>(Shape{16, 64}, gen), false);
  optim::Adam<double> adam(lin.parameters(), optim::AdamOptions(1e-3).amsgrad(true).weight_decay(1e-2));
  optim::AdamW<double> adamw(lin.parameters(), 1e-3);
  optim::RMSprop<double> rms(lin.parameters(), optim::RMSpropOptions(1e-3).momentum(0.9).centered(true));
  optim::SGD<double> sgd(lin.parameters(), 1e-3, optim::SGDOptions().momentum(0.9).nesterov(true).weight_decay(1e-4));
  sum(square(lin(x))).backward();
  std::vector<optim::Optimizer<double>*> all{&adam, &adamw, &rms, &sgd};
  const std::vector<Var<double>> params = lin.parameters();  // building the list allocates
  for (auto* o : all) o->step();
  allocations = 0;
  counting = true;
  for (int i = 0; i < 3; ++i) {
    for (auto* o : all) o->step();
  }
  const double norm = optim::clip_grad_norm(params, 0.5);
  optim::clip_grad_value(params, 0.1);
  sgd.zero_grad();
  counting = false;
  CHECK(allocations.load() == 0);
  CHECK(norm > 0.0);
}

// A steady-state training step of a two-layer MLP written with the ops makes
// no heap allocations: every operator new is counted while a flag is set.
#include <catch2/catch.hpp>

#include "../support/alloc_counter.hpp"

#include "nabla/autograd.hpp"

using nabla::testing::allocations;
using nabla::testing::counting;

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

TEST_CASE("a steady-state MLP training step makes no heap allocations", "[autograd][alloc]") {
  nabla::Generator gen(1);
  Var<float> w1(nabla::randn<float>(Shape{784, 256}, gen, 0.0f, 0.05f));
  Var<float> b1(nabla::zeros<float>(Shape{256}));
  Var<float> w2(nabla::randn<float>(Shape{256, 10}, gen, 0.0f, 0.05f));
  Var<float> b2(nabla::zeros<float>(Shape{10}));
  const Var<float> x(nabla::rand<float>(Shape{64, 784}, gen), false);
  const Tensor<std::int64_t> labels = nabla::randint<std::int64_t>(0, 10, Shape{64}, gen);
  float first_loss = 0.0f;
  float last_loss = 0.0f;
  auto step = [&] {
    const Var<float> h = nabla::relu(nabla::matmul(x, w1) + b1);
    const Var<float> loss = nabla::cross_entropy(nabla::matmul(h, w2) + b2, labels);
    loss.backward();
    nabla::NoGradGuard guard;
    for (Var<float>* p : {&w1, &b1, &w2, &b2}) {
      nabla::add_(p->value(), p->grad(), -0.1f);
      p->zero_grad();
    }
    return loss.item();
  };
  first_loss = step();
  step();
  step();
  allocations = 0;
  counting = true;
  for (int i = 0; i < 5; ++i) last_loss = step();
  counting = false;
  CHECK(allocations.load() == 0);
  CHECK(last_loss < first_loss);  // it is really training
}

// Helpers shared by the nn tests: load fixture weights into a module and
// check its forward and gradients against PyTorch's.
#pragma once

#include <string>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"

namespace nabla::testing {

// Copies the fixture's "p.<name>" parameters and "b.<name>" buffers into m.
template <class T>
void load_state(nn::Module<T>& m, const FixtureCase& c) {
  for (const auto& [name, p] : m.named_parameters()) p.value().copy_(c.tensor<T>("p." + name));
  for (const auto& [name, b] : m.named_buffers()) b.copy_(c.tensor<T>("b." + name));
}

// Runs m on the case's input (after the warm-up batch x0 when there is one)
// and checks y, the gradients of sum(y * gy) and the buffers afterwards.
template <class T>
void check_module(nn::Module<T>& m, const std::string& case_name, double rtol, double atol) {
  INFO("case " << case_name);
  const FixtureCase c = fixture("nn").get(case_name);
  load_state(m, c);
  if (c.has("x0")) {
    NoGradGuard no_grad;
    m(Var<T>(c.tensor<T>("x0"), false));
  }
  const Var<T> x(c.tensor<T>("x"));
  const Var<T> y = m(x);
  require_close(y.value(), c.tensor<double>("y"), rtol, atol);
  const Var<T> loss = sum(y * Var<T>(c.tensor<T>("gy"), false));
  loss.backward();
  require_close(x.grad(), c.tensor<double>("dx"), rtol, atol);
  for (const auto& [name, p] : m.named_parameters()) {
    INFO("gradient of " << name);
    require_close(p.grad(), c.tensor<double>("g." + name), rtol, atol);
  }
  for (const auto& [name, b] : m.named_buffers()) {
    INFO("buffer " << name);
    require_close(b, c.tensor<double>("after." + name), rtol, atol);
  }
}

}  // namespace nabla::testing

// Fits y = x sin(3x) on [-2, 2] with a 1-32-32-1 tanh network written
// directly with Var<double> (no nn::Module), to show nabla's autodiff API:
// leaves with requires_grad, ops that record, backward(), grad(), and Adam.
#include <cmath>
#include <cstdio>
#include <vector>

#include <nabla/autograd.hpp>
#include <nabla/core.hpp>
#include <nabla/kernels/parallel.hpp>
#include <nabla/optim.hpp>

int main() {
  using V = nabla::Var<double>;
  nabla::set_num_threads(1);  // tensors this small gain nothing from threads
  nabla::Generator gen(7);
  const auto x = nabla::linspace<double>(-2.0, 2.0, 256).reshape({256, 1});
  const V target(x * nabla::sin(3.0 * x), false);  // plain tensors: nothing recorded

  // Weights [out, in] scaled as 1/sqrt(in); biases zero. Each is a leaf.
  auto layer = [&](std::int64_t in, std::int64_t out) {
    return std::vector<V>{V(nabla::randn<double>({out, in}, gen, 0.0, 1.0 / std::sqrt(double(in)))),
                          V(nabla::zeros<double>({out}))};
  };
  const auto l1 = layer(1, 32), l2 = layer(32, 32), l3 = layer(32, 1);
  nabla::optim::Adam<double> adam({l1[0], l1[1], l2[0], l2[1], l3[0], l3[1]}, 0.01);

  double loss_value = 0.0;
  for (int step = 1; step <= 1000; ++step) {
    const V h1 = nabla::tanh(nabla::linear(V(x, false), l1[0], l1[1]));
    const V h2 = nabla::tanh(nabla::linear(h1, l2[0], l2[1]));
    const V loss = nabla::mse_loss(nabla::linear(h2, l3[0], l3[1]), target);
    adam.zero_grad();
    loss.backward();  // fills l1[0].grad(), ... for every leaf
    adam.step();
    loss_value = loss.item();
    if (step % 200 == 0) std::printf("step %4d  mse %.6f\n", step, loss_value);
  }
  // A fit that did not converge means something upstream is broken.
  std::printf("final mse %.6f (%s)\n", loss_value, loss_value < 1e-3 ? "ok" : "too high");
  return loss_value < 1e-3 ? 0 : 1;
}

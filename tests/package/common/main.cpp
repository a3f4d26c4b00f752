// The program every consumer project builds: trains a tiny MLP on XOR
// through nabla's public API (umbrella header only) and fails unless the
// loss drops and the four points are classified right.
#include <nabla/nabla.hpp>

#include <cstdio>

#ifndef NABLA_CONSUMER
#error "NABLA_CONSUMER must name the way this consumer found nabla"
#endif

int main() {
  namespace nn = nabla::nn;
  nabla::manual_seed(7);
  nn::Sequential<float> model(nn::Linear<float>(2, 8), nn::Tanh<float>(), nn::Linear<float>(8, 2));
  nabla::optim::Adam<float> optimizer(model.parameters(), nabla::optim::AdamOptions(0.05));
  const nabla::Var<float> x(nabla::Tensor<float>({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}), false);
  const nabla::Tensor<std::int64_t> y({4}, {0, 1, 1, 0});
  float first = 0.0f;
  float last = 0.0f;
  for (int step = 0; step < 300; ++step) {
    const auto loss = nabla::cross_entropy(model(x), y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  nabla::NoGradGuard no_grad;
  const auto predicted = nabla::argmax(model(x).value(), 1);
  int correct = 0;
  for (std::int64_t i = 0; i < 4; ++i) correct += predicted.at({i}) == y.at({i}) ? 1 : 0;
  std::printf("%s consumer: nabla %s, XOR loss %.4f -> %.4f, %d/4 correct\n", NABLA_CONSUMER, nabla::version_string,
              first, last, correct);
  return (last < 0.5f * first && correct == 4) ? 0 : 1;
}

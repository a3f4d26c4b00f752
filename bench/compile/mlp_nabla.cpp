// Compile-time probe (issue 7): a user's program that trains the MNIST MLP
// (784-256-128-10, SGD momentum 0.9, cross-entropy) with nabla. Data are
// synthetic so that the three probes (nabla, LibTorch, raw Eigen) do the same
// work without a data loader: labels come from a fixed random projection
// of the pixels.
// NABLA_PROBE_TOPIC_HEADERS: the same program with only the topic headers it
// needs instead of the umbrella.
#if NABLA_PROBE_TOPIC_HEADERS
#include <nabla/nn.hpp>
#include <nabla/optim/sgd.hpp>
#else
#include <nabla/nabla.hpp>
#endif

#include <cstdint>
#include <cstdio>

int main() {
  namespace nn = nabla::nn;
  constexpr std::int64_t samples = 2048, batch = 64, in = 784, classes = 10;
  nabla::manual_seed(1);
  const auto images = nabla::rand<float>({samples, in});
  const auto projection = nabla::randn<float>({in, classes});
  const auto labels = nabla::argmax(nabla::matmul(images, projection), 1);

  nn::Sequential<float> model(nn::Linear<float>(in, 256), nn::ReLU<float>(), nn::Linear<float>(256, 128),
                              nn::ReLU<float>(), nn::Linear<float>(128, classes));
  nabla::optim::SGD<float> optimizer(model.parameters(), nabla::optim::SGDOptions(0.05).momentum(0.9));
  for (int epoch = 0; epoch < 10; ++epoch) {
    double total = 0;
    for (std::int64_t first = 0; first < samples; first += batch) {
      const nabla::Var<float> x(images.slice(0, first, first + batch), false);
      const auto loss = nabla::cross_entropy(model(x), labels.slice(0, first, first + batch));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      total += loss.item();
    }
    std::printf("epoch %d: loss %.4f\n", epoch + 1, total / (samples / batch));
  }
  nabla::NoGradGuard no_grad;
  const auto predicted = nabla::argmax(model(nabla::Var<float>(images, false)).value(), 1);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < samples; ++i) correct += predicted.at({i}) == labels.at({i}) ? 1 : 0;
  std::printf("train accuracy: %.2f%%\n", 100.0 * static_cast<double>(correct) / samples);
  return 0;
}

// Compile-time probe (issue 7): the same program as mlp_nabla.cpp, written
// with LibTorch (Debian's libtorch-dev, PyTorch 1.13's C++ API).
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>

int main() {
  constexpr std::int64_t samples = 2048, batch = 64, in = 784, classes = 10;
  torch::manual_seed(1);
  const auto images = torch::rand({samples, in});
  const auto projection = torch::randn({in, classes});
  const auto labels = torch::matmul(images, projection).argmax(1);

  torch::nn::Sequential model(torch::nn::Linear(in, 256), torch::nn::ReLU(), torch::nn::Linear(256, 128),
                              torch::nn::ReLU(), torch::nn::Linear(128, classes));
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  for (int epoch = 0; epoch < 10; ++epoch) {
    double total = 0;
    for (std::int64_t first = 0; first < samples; first += batch) {
      const auto x = images.slice(0, first, first + batch);
      const auto loss = torch::nn::functional::cross_entropy(model->forward(x), labels.slice(0, first, first + batch));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      total += loss.item<float>();
    }
    std::printf("epoch %d: loss %.4f\n", epoch + 1, total / (samples / batch));
  }
  torch::NoGradGuard no_grad;
  const auto predicted = model->forward(images).argmax(1);
  const auto correct = (predicted == labels).sum().item<std::int64_t>();
  std::printf("train accuracy: %.2f%%\n", 100.0 * static_cast<double>(correct) / samples);
  return 0;
}

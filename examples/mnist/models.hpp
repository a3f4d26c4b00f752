// The two networks of the MNIST example, layer for layer as the PyTorch peer
// (scripts/peers/mnist_torch.py), so their state_dict names and shapes match.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nabla/core.hpp>
#include <nabla/nn.hpp>

namespace mnist {

using Model = nabla::nn::Sequential<float>;

// 784-256-128-10 with ReLU; takes flattened images [N, 784].
inline std::unique_ptr<Model> make_mlp(nabla::Generator& gen) {
  namespace nn = nabla::nn;
  return std::make_unique<Model>(nn::Linear<float>(784, 256, true, gen), nn::ReLU<float>(),
                                 nn::Linear<float>(256, 128, true, gen), nn::ReLU<float>(),
                                 nn::Linear<float>(128, 10, true, gen));
}

// conv 1->32 5x5 pad 2, ReLU, max-pool 2, conv 32->64 5x5 pad 2, ReLU,
// max-pool 2, flatten, 3136->128, ReLU, 128->10; takes images [N, 1, 28, 28].
inline std::unique_ptr<Model> make_cnn(nabla::Generator& gen) {
  namespace nn = nabla::nn;
  return std::make_unique<Model>(
      nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
      nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
      nn::Flatten<float>(), nn::Linear<float>(64 * 7 * 7, 128, true, gen), nn::ReLU<float>(),
      nn::Linear<float>(128, 10, true, gen));
}

// "mlp" or "cnn" (the caller has checked the name).
inline std::unique_ptr<Model> make_model(const std::string& kind, nabla::Generator& gen) {
  return kind == "cnn" ? make_cnn(gen) : make_mlp(gen);
}

inline std::int64_t parameter_count(const Model& model) {
  std::int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

}  // namespace mnist

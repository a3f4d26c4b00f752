// Models traced by the graph and onnx tests: the MNIST example's MLP and
// CNN (as examples/mnist/models.hpp builds them) and a residual net with
// BatchNorm, Dropout, scalar arithmetic and padded pooling.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "nabla/autograd.hpp"
#include "nabla/core.hpp"
#include "nabla/nn.hpp"

namespace nabla::testing::trace_models {

// max |a - b| / max |b| (or max |a - b| when b is all zero); same shapes.
inline double relative_diff(const Tensor<float>& a, const Tensor<float>& b) {
  const Tensor<float> ac = a.contiguous(), bc = b.contiguous();
  double diff = 0.0, scale = 0.0;
  for (std::int64_t i = 0; i < ac.numel(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(ac.data()[i]) - static_cast<double>(bc.data()[i])));
    scale = std::max(scale, std::abs(static_cast<double>(bc.data()[i])));
  }
  return scale == 0.0 ? diff : diff / scale;
}

namespace nn = nabla::nn;
using nabla::Var;

inline std::unique_ptr<nn::Sequential<float>> trace_mlp(nabla::Generator& gen) {
  return std::make_unique<nn::Sequential<float>>(nn::Linear<float>(784, 256, true, gen), nn::ReLU<float>(),
                                                 nn::Linear<float>(256, 128, true, gen), nn::ReLU<float>(),
                                                 nn::Linear<float>(128, 10, true, gen));
}

inline std::unique_ptr<nn::Sequential<float>> trace_cnn(nabla::Generator& gen) {
  return std::make_unique<nn::Sequential<float>>(
      nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
      nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
      nn::Flatten<float>(), nn::Linear<float>(64 * 7 * 7, 128, true, gen), nn::ReLU<float>(),
      nn::Linear<float>(128, 10, true, gen));
}

// conv -> BN -> ReLU -> Dropout -> (h + conv(h)) residual -> scalar
// arithmetic -> padded max and average pooling -> global pooling -> linear
// -> log_softmax.
class TraceResidualNet : public nn::Module<float> {
 public:
  explicit TraceResidualNet(nabla::Generator& gen)
      : conv1_(register_module("conv1", std::make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(3, 8, 3).padding(1), gen))),
        bn_(register_module("bn", std::make_shared<nn::BatchNorm2d<float>>(nn::BatchNormOptions(8)))),
        drop_(register_module("drop", std::make_shared<nn::Dropout<float>>(0.5))),
        conv2_(register_module("conv2", std::make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(8, 8, 3).padding(1), gen))),
        fc_(register_module("fc", std::make_shared<nn::Linear<float>>(8, 5, true, gen))) {}

  Var<float> forward(const Var<float>& x) override {
    Var<float> h = nabla::relu(bn_(conv1_(x)));
    h = drop_(h);
    h = nabla::relu(h + conv2_(h));  // the residual add
    h = 2.0f - (h * 0.5f + 1.25f) / 3.0f;
    h = nabla::sigmoid(h) + nabla::tanh(h);
    h = nabla::max_pool2d(h, 3, 2, 1);
    h = nabla::avg_pool2d(h, 3, 1, 1);
    h = nabla::adaptive_avg_pool2d(h, 1, 1);
    h = nabla::flatten(h, 1);
    return nabla::log_softmax(fc_(h), 1);
  }
  std::string name() const override { return "TraceResidualNet"; }

 private:
  nn::Conv2d<float>& conv1_;
  nn::BatchNorm2d<float>& bn_;
  nn::Dropout<float>& drop_;
  nn::Conv2d<float>& conv2_;
  nn::Linear<float>& fc_;
};

}  // namespace nabla::testing::trace_models

// A user's program, compiled by scripts/check-flags.sh under every compiler,
// optimisation level and -march the project supports, with -Wall -Wextra
// -Werror and no other flag. It touches every kernel family in float and
// double (elementwise math, reductions, GEMM, convolution, pooling, softmax,
// losses, normalisation, optimizers, weight files, data loading), so the SIMD
// code of each ISA is instantiated, inlined and warned about as it would be in
// a real program. Running it checks a few values too.
#include <nabla/nabla.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace nn = nabla::nn;
using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("user_program: FAILED: %s\n", what);
    ++failures;
  }
}

// Elementwise, reductions and shape ops on plain tensors; 37 elements leave
// a SIMD tail on every ISA.
template <class T>
void tensor_ops() {
  const Tensor<T> x = nabla::randn<T>(Shape{37});
  const Tensor<T> pos = nabla::exp(x);
  std::vector<Tensor<T>> outs = {
      nabla::log(pos), nabla::log1p(pos), nabla::expm1(x), nabla::sqrt(pos), nabla::rsqrt(pos), nabla::abs(x),
      nabla::sin(x), nabla::cos(x), nabla::tanh(x), nabla::sigmoid(x), nabla::relu(x), nabla::gelu(x),
      nabla::gelu(x, true), nabla::silu(x), nabla::softplus(x), nabla::elu(x), nabla::leaky_relu(x),
      nabla::floor(x), nabla::ceil(x), nabla::round(x), nabla::sign(x), nabla::square(x), nabla::reciprocal(pos),
      nabla::clamp(x, T(-0.5), T(0.5)), nabla::pow(pos, x), nabla::pow(pos, T(1.5)), nabla::pow(T(2), x),
      x + pos, x - pos, x * pos, x / pos, x * T(2), T(2) - x, -x,
      nabla::where(nabla::relu(x), x, pos)};
  for (const auto& o : outs) expect(o.numel() == 37, "elementwise output size");
  expect(std::abs(nabla::log(pos).to_vector()[5] - x.to_vector()[5]) < T(1e-4), "log(exp(x)) == x");

  const Tensor<T> m = nabla::randn<T>(Shape{19, 23});
  const std::vector<Tensor<T>> reduced = {
      nabla::sum(m), nabla::sum(m, 0), nabla::sum(m, 1, true), nabla::mean(m, 1), nabla::prod(m, 0), nabla::max(m, 1),
      nabla::min(m, 0), nabla::var(m, 1), nabla::stddev(m, 0), nabla::logsumexp(m, 1), nabla::softmax(m, 1),
      nabla::log_softmax(m, 0), nabla::softmax(m, 0)};
  expect(reduced[0].numel() == 1, "sum to one element");
  expect(nabla::argmax(m, 1).numel() == 19 && nabla::argmin(m, 0).numel() == 23, "argmax/argmin sizes");
  const T row_sum = nabla::sum(nabla::softmax(m, 1), 1).to_vector()[3];
  expect(std::abs(row_sum - T(1)) < T(1e-5), "softmax rows sum to 1");

  const Tensor<T> a = nabla::randn<T>(Shape{33, 17});
  const Tensor<T> b = nabla::randn<T>(Shape{17, 29});
  const Tensor<T> c = nabla::matmul(a, b);
  double ref = 0;
  for (std::int64_t k = 0; k < 17; ++k) ref += static_cast<double>(a.at({4, k})) * static_cast<double>(b.at({k, 7}));
  expect(std::abs(static_cast<double>(c.at({4, 7})) - ref) < 1e-4, "matmul value");
  expect(nabla::matmul(nabla::transpose(b), nabla::transpose(a)).shape() == Shape({29, 33}), "matmul of views");
  expect(nabla::dot(x, x).numel() == 1 && nabla::outer(x, x).numel() == 37 * 37, "dot/outer");
  const Tensor<T> cat = nabla::concat(std::vector<Tensor<T>>{a, a}, 1);
  expect(nabla::stack(std::vector<Tensor<T>>{a, a}, 0).shape() == Shape({2, 33, 17}), "stack");
  expect(nabla::pad(a, {1, 1}).shape() == Shape({33, 19}) && cat.shape() == Shape({33, 34}), "pad/concat");
  expect(nabla::permute(nabla::unsqueeze(a, 0), Shape{2, 1, 0}).contiguous().shape() == Shape({17, 33, 1}), "permute");

  const Tensor<T> img = nabla::randn<T>(Shape{2, 3, 11, 13});
  const Tensor<T> w = nabla::randn<T>(Shape{5, 3, 3, 3});
  const Tensor<T> bias = nabla::randn<T>(Shape{5});
  expect(nabla::conv2d(img, w, bias, 2, 1).shape() == Shape({2, 5, 6, 7}), "conv2d shape");
  expect(nabla::max_pool2d(img, 2).shape() == Shape({2, 3, 5, 6}), "max_pool2d shape");
  expect(nabla::avg_pool2d(img, 3, 1, 1).shape() == Shape({2, 3, 11, 13}), "avg_pool2d shape");
  expect(nabla::adaptive_avg_pool2d(img, 1, 1).shape() == Shape({2, 3, 1, 1}), "adaptive_avg_pool2d shape");
}

// A small CNN with every layer kind, trained a few steps with each
// optimizer: the forward and backward kernels of each layer.
template <class T>
nn::Sequential<T> make_cnn() {
  return nn::Sequential<T>(nn::Conv2d<T>(nn::Conv2dOptions(1, 4, 3).padding(1)), nn::BatchNorm2d<T>(4),
                           nn::ReLU<T>(), nn::MaxPool2d<T>(2), nn::Conv2d<T>(nn::Conv2dOptions(4, 6, 3).stride(2)),
                           nn::Tanh<T>(), nn::AvgPool2d<T>(1), nn::Flatten<T>(), nn::Linear<T>(6 * 2 * 2, 13),
                           nn::BatchNorm1d<T>(13), nn::GELU<T>(), nn::Dropout<T>(0.1), nn::SiLU<T>(),
                           nn::Sigmoid<T>(), nn::LeakyReLU<T>(), nn::Linear<T>(13, 3));
}

template <class T, class Optimizer>
T train(nn::Sequential<T>& model, Optimizer& optimizer, const Var<T>& x, const Tensor<std::int64_t>& y) {
  T last = 0;
  for (int step = 0; step < 3; ++step) {
    const Var<T> logits = model(x);
    const Var<T> loss = nabla::cross_entropy(logits, y) + nabla::mse_loss(nabla::softmax(logits, 1),
                                                                           Var<T>(nabla::full<T>(Shape{5, 3}, T(0.3)), false));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    last = loss.item();
  }
  return last;
}

template <class T>
void training() {
  const Var<T> x(nabla::randn<T>(Shape{5, 1, 11, 11}), false);
  const Tensor<std::int64_t> y(Shape{5}, {0, 1, 2, 1, 0});
  {
    auto model = make_cnn<T>();
    nabla::optim::SGD<T> sgd(model.parameters(), nabla::optim::SGDOptions(0.05).momentum(0.9).nesterov(true));
    expect(std::isfinite(train(model, sgd, x, y)), "SGD loss finite");
  }
  {
    auto model = make_cnn<T>();
    nabla::optim::Adam<T> adam(model.parameters(), nabla::optim::AdamOptions(1e-3));
    expect(std::isfinite(train(model, adam, x, y)), "Adam loss finite");
  }
  {
    auto model = make_cnn<T>();
    nabla::optim::AdamW<T> adamw(model.parameters(), nabla::optim::AdamOptions(1e-3));
    expect(std::isfinite(train(model, adamw, x, y)), "AdamW loss finite");
  }
  auto model = make_cnn<T>();
  nabla::optim::RMSprop<T> rmsprop(model.parameters(), nabla::optim::RMSpropOptions(1e-3).momentum(0.5));
  expect(std::isfinite(train(model, rmsprop, x, y)), "RMSprop loss finite");

  // Saved weights load back into a fresh model with the same outputs.
  const auto path = std::filesystem::temp_directory_path() /
                    ("nabla_user_program_" + std::to_string(sizeof(T)) + ".safetensors");
  model.eval();
  nabla::io::save_weights(model, path.string());
  auto loaded = make_cnn<T>();
  nabla::io::load_weights(loaded, path.string());
  loaded.eval();
  std::filesystem::remove(path);
  nabla::NoGradGuard no_grad;
  const auto before = model(x).value().to_vector();
  const auto after = loaded(x).value().to_vector();
  expect(before == after, "weights round-trip through safetensors");

}

void data_loading() {
  Tensor<std::uint8_t> images(Shape{10, 4, 4});
  for (std::int64_t i = 0; i < images.numel(); ++i) images.data()[i] = static_cast<std::uint8_t>(i % 251);
  Tensor<std::int64_t> labels(Shape{10});
  for (std::int64_t i = 0; i < 10; ++i) labels.data()[i] = i % 3;
  nabla::data::DataLoader<float> loader(nabla::data::ImageDataset(images, labels),
                                        {.batch_size = 4, .shuffle = true});
  std::int64_t seen = 0;
  for (const auto& batch : loader.epoch(0)) seen += batch.labels.numel();
  expect(seen == 10, "one epoch sees every sample");
}

}  // namespace

int main() {
  nabla::manual_seed(11);
  tensor_ops<float>();
  tensor_ops<double>();
  training<float>();
  training<double>();
  data_loading();
  if (failures == 0) std::printf("user_program: all checks passed\n");
  return failures == 0 ? 0 : 1;
}

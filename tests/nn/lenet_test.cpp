// End to end: a LeNet-style network with PyTorch's weights gives PyTorch's
// logits for a fixed batch.
#include <catch2/catch.hpp>

#include "nn_support.hpp"

using namespace nabla;

namespace {

template <class T>
nn::Sequential<T> lenet() {
  return nn::Sequential<T>(nn::Conv2d<T>(1, 6, 5), nn::ReLU<T>(), nn::MaxPool2d<T>(2), nn::Conv2d<T>(6, 16, 5),
                           nn::ReLU<T>(), nn::MaxPool2d<T>(2), nn::Flatten<T>(), nn::Linear<T>(256, 120),
                           nn::ReLU<T>(), nn::Linear<T>(120, 84), nn::ReLU<T>(), nn::Linear<T>(84, 10));
}

// Loads the weights (stored as integers k, value k / scale) by name.
template <class T>
void load_lenet(nn::Module<T>& net, const nabla::testing::FixtureCase& c) {
  const T scale = static_cast<T>(c.integer("scale"));
  for (const auto& [name, p] : net.named_parameters()) {
    Tensor<T> q = c.tensor<T>("q." + name);
    for (std::int64_t i = 0; i < q.numel(); ++i) q.data()[i] /= scale;
    p.value().copy_(q);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("LeNet logits match PyTorch's with PyTorch's weights", "[nn][lenet]", double, float) {
  using T = TestType;
  const auto c = nabla::testing::fixture("nn_lenet").get("lenet");
  auto net = lenet<T>();
  std::vector<std::string> names;
  for (const auto& n : c.json().at("names")) names.push_back(n.get<std::string>());
  const auto named = net.named_parameters();
  REQUIRE(named.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) CHECK(named[i].first == names[i]);
  load_lenet(net, c);

  Tensor<T> x = c.tensor<T>("pixels").reshape(Shape{4, 1, 28, 28});
  const T pixel_scale = static_cast<T>(c.integer("pixel_scale"));
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] /= pixel_scale;
  const double rtol = std::is_same_v<T, double> ? 1e-10 : 1e-4;
  const double atol = std::is_same_v<T, double> ? 1e-12 : 2e-5;
  for (bool training : {true, false}) {
    net.train(training);
    const Var<T> logits = net(Var<T>(x, false));
    CHECK(logits.shape() == Shape{4, 10});
    nabla::testing::require_close(logits.value(), c.tensor<double>("logits"), rtol, atol);
  }
  // Inference under NoGradGuard records nothing and gives the same numbers.
  NoGradGuard no_grad;
  const Var<T> logits = net(Var<T>(x, false));
  CHECK_FALSE(logits.requires_grad());
  nabla::testing::require_close(logits.value(), c.tensor<double>("logits"), rtol, atol);
}

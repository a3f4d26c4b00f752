// Every layer's forward and gradients against PyTorch (float64 fixtures, in
// double and float), in training and evaluation modes.
#include <cmath>
#include <memory>

#include <catch2/catch.hpp>

#include "nn_support.hpp"

using namespace nabla;
using nabla::testing::check_module;

namespace {

// Runs the same case in training and in evaluation mode (layers whose
// behaviour does not depend on the mode).
template <class T, class Make>
void both_modes(Make make, const std::string& name, double rtol, double atol) {
  for (bool training : {true, false}) {
    INFO((training ? "train" : "eval") << " mode");
    auto m = make();
    m.train(training);
    check_module<T>(m, name, rtol, atol);
  }
}

template <class T>
struct Tol;
template <>
struct Tol<double> {
  static constexpr double rtol = 1e-10, atol = 1e-12;
};
template <>
struct Tol<float> {
  static constexpr double rtol = 2e-4, atol = 2e-5;
};

}  // namespace

TEMPLATE_TEST_CASE("Linear matches PyTorch", "[nn][linear]", double, float) {
  using T = TestType;
  both_modes<T>([] { return nn::Linear<T>(5, 3); }, "linear", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::Linear<T>(5, 3, false); }, "linear_no_bias", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::Linear<T>(5, 2); }, "linear_3d", Tol<T>::rtol, Tol<T>::atol);
}

TEMPLATE_TEST_CASE("Conv2d matches PyTorch", "[nn][conv]", double, float) {
  using T = TestType;
  both_modes<T>([] { return nn::Conv2d<T>(2, 3, 3); }, "conv2d", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] {
    return nn::Conv2d<T>(nn::Conv2dOptions(4, 6, {3, 2}).stride({2, 1}).padding({1, 2}).dilation({1, 2}).groups(2)
                             .bias(false));
  }, "conv2d_options", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::Conv2d<T>(nn::Conv2dOptions(3, 4, 5).stride(2).padding(2)); }, "conv2d_stride_pad",
                Tol<T>::rtol, Tol<T>::atol);
}

TEMPLATE_TEST_CASE("pooling layers match PyTorch", "[nn][pool]", double, float) {
  using T = TestType;
  both_modes<T>([] { return nn::MaxPool2d<T>(2); }, "max_pool2d", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::MaxPool2d<T>(nn::MaxPool2dOptions(3).stride(2).padding(1)); }, "max_pool2d_s2p1",
                Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::AvgPool2d<T>(2); }, "avg_pool2d", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::AvgPool2d<T>(3, 2, 1); }, "avg_pool2d_s2p1", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::AdaptiveAvgPool2d<T>(1); }, "adaptive_avg_pool2d_1", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::AdaptiveAvgPool2d<T>(2, 3); }, "adaptive_avg_pool2d_2x3", Tol<T>::rtol, Tol<T>::atol);
}

TEMPLATE_TEST_CASE("Flatten matches PyTorch", "[nn][misc]", double, float) {
  using T = TestType;
  both_modes<T>([] { return nn::Flatten<T>(); }, "flatten", Tol<T>::rtol, Tol<T>::atol);
  both_modes<T>([] { return nn::Flatten<T>(2, 3); }, "flatten_2_3", Tol<T>::rtol, Tol<T>::atol);
}

TEMPLATE_TEST_CASE("activation layers match PyTorch", "[nn][activation]", double, float) {
  using T = TestType;
  const double r = Tol<T>::rtol, a = Tol<T>::atol;
  both_modes<T>([] { return nn::ReLU<T>(); }, "relu", r, a);
  both_modes<T>([] { return nn::LeakyReLU<T>(0.2); }, "leaky_relu", r, a);
  both_modes<T>([] { return nn::GELU<T>(); }, "gelu", r, a);
  both_modes<T>([] { return nn::GELU<T>(true); }, "gelu_tanh", r, a);
  both_modes<T>([] { return nn::Sigmoid<T>(); }, "sigmoid", r, a);
  both_modes<T>([] { return nn::Tanh<T>(); }, "tanh", r, a);
  both_modes<T>([] { return nn::SiLU<T>(); }, "silu", r, a);
  both_modes<T>([] { return nn::Softmax<T>(1); }, "softmax", r, a);
  both_modes<T>([] { return nn::Softmax<T>(0); }, "softmax_axis0", r, a);
  both_modes<T>([] { return nn::LogSoftmax<T>(-1); }, "log_softmax", r, a);
}

TEMPLATE_TEST_CASE("Sequential of layers matches PyTorch", "[nn][sequential]", double, float) {
  using T = TestType;
  auto make = [] {
    return nn::Sequential<T>(nn::Linear<T>(4, 3), nn::ReLU<T>(), nn::Sequential<T>(nn::Linear<T>(3, 2), nn::Tanh<T>()));
  };
  both_modes<T>(make, "sequential", Tol<T>::rtol, Tol<T>::atol);
}

TEST_CASE("Identity returns its input and passes gradients through", "[nn][misc]") {
  nn::Identity<double> id;
  const Var<double> x(Tensor<double>(Shape{2, 2}, {1, -2, 3, -4}));
  const Var<double> y = id(x);
  CHECK(y.is_same(x));
  sum(y * 3.0).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{3, 3, 3, 3});
}

TEST_CASE("Dropout: statistics in training, identity in evaluation", "[nn][dropout]") {
  Generator gen(42);
  nn::Dropout<double> drop(0.25, gen);
  const Var<double> x(full<double>(Shape{200, 100}, 2.0));
  const Var<double> y = drop(x);
  const auto v = y.value().to_vector();
  std::int64_t zeros = 0;
  for (double e : v) {
    if (e == 0.0) {
      ++zeros;
    } else {
      REQUIRE(e == Approx(2.0 / 0.75));  // survivors are scaled by 1 / (1 - p)
    }
  }
  const double rate = static_cast<double>(zeros) / static_cast<double>(v.size());
  CHECK(rate == Approx(0.25).margin(0.02));
  // The gradient uses the same mask.
  sum(y).backward();
  const auto g = x.grad().to_vector();
  for (std::size_t i = 0; i < v.size(); ++i) REQUIRE(g[i] == (v[i] == 0.0 ? 0.0 : 1.0 / 0.75));

  drop.eval();
  const Var<double> z = drop(x);
  CHECK(z.value().to_vector() == x.value().to_vector());

  // A fresh generator with the same seed gives the same mask.
  Generator a(7), b(7);
  nn::Dropout<float> d1(0.5, a), d2(0.5, b);
  const Var<float> xf(ones<float>(Shape{64}), false);
  CHECK(d1(xf).value().to_vector() == d2(xf).value().to_vector());

  CHECK_THROWS_WITH(nn::Dropout<float>(1.5), Catch::Contains("Dropout: probability 1.5 is outside [0, 1]"));
  nn::Dropout<float> all(1.0);
  CHECK(all(xf).value().to_vector() == std::vector<float>(64, 0.0f));
  nn::Dropout<float> none(0.0);
  CHECK(none(xf).value().to_vector() == xf.value().to_vector());
}

TEST_CASE("layers accept non-contiguous inputs", "[nn][layers]") {
  Generator gen(3);
  nn::Linear<double> lin(4, 3, true, gen);
  const Tensor<double> base = randn<double>(Shape{4, 5}, gen);
  const Var<double> xt(base.t());  // [5, 4] transposed view
  const Var<double> xc(base.t().contiguous());
  nabla::testing::require_close(lin(xt).value(), lin(xc).value(), 1e-14, 1e-14);

  nn::Conv2d<double> conv(2, 3, 3, gen);
  const Tensor<double> img = randn<double>(Shape{2, 5, 5, 2}, gen).permute(Shape{0, 3, 1, 2});  // NHWC -> NCHW view
  nabla::testing::require_close(conv(Var<double>(img)).value(), conv(Var<double>(img.contiguous())).value(), 1e-14,
                                1e-14);
  nn::BatchNorm2d<double> bn(2);
  nabla::testing::require_close(bn(Var<double>(img)).value(), bn(Var<double>(img.contiguous())).value(), 1e-14, 1e-14);
}

TEST_CASE("layers reject bad shapes and options with clear messages", "[nn][errors]") {
  nn::Linear<float> lin(4, 3);
  CHECK_THROWS_AS(lin(Var<float>(zeros<float>(Shape{2, 5}))), ShapeError);
  CHECK_THROWS_WITH(lin(Var<float>(zeros<float>(Shape{2, 5}))), Catch::Contains("linear") && Catch::Contains("[2, 5]"));
  CHECK_THROWS_WITH(nn::Linear<float>(-1, 3), Catch::Contains("Linear: feature counts must not be negative"));

  nn::Conv2d<float> conv(3, 4, 3);
  CHECK_THROWS_AS(conv(Var<float>(zeros<float>(Shape{1, 2, 8, 8}))), ShapeError);
  CHECK_THROWS_WITH(nn::Conv2d<float>(nn::Conv2dOptions(3, 4, 3).groups(2)),
                    Catch::Contains("Conv2d: groups = 2 must divide both in_channels (3)"));
  CHECK_THROWS_WITH(nn::Conv2d<float>(nn::Conv2dOptions(2, 4, 3).stride(0)),
                    Catch::Contains("Conv2d: stride (0, 0)"));
  CHECK_THROWS_WITH(nn::Conv2d<float>(0, 4, 3), Catch::Contains("Conv2d: channels (0 -> 4)"));

  CHECK_THROWS_WITH(nn::MaxPool2d<float>(0), Catch::Contains("MaxPool2d: kernel (0)"));
  CHECK_THROWS_WITH(nn::AvgPool2d<float>(2, 2, 2), Catch::Contains("AvgPool2d") && Catch::Contains("padding (2)"));
  nn::MaxPool2d<float> pool(2);
  CHECK_THROWS_AS(pool(Var<float>(zeros<float>(Shape{2, 8}))), ShapeError);
  CHECK_THROWS_WITH(nn::AdaptiveAvgPool2d<float>(0, 2), Catch::Contains("AdaptiveAvgPool2d: output size 0x2"));
  nn::Softmax<float> sm(2);
  CHECK_THROWS_AS(sm(Var<float>(zeros<float>(Shape{2, 3}))), IndexError);
}

TEST_CASE("Conv2dOptions and Pool2dOptions expose their settings", "[nn][conv]") {
  const auto o = nn::Conv2dOptions(1, 32, 5).stride(2).padding({2, 1}).dilation(3).groups(1).bias(false);
  CHECK(o.in_channels() == 1);
  CHECK(o.out_channels() == 32);
  CHECK(o.kernel_size() == nn::Size2(5, 5));
  CHECK(o.stride() == nn::Size2(2));
  CHECK(o.padding() == nn::Size2(2, 1));
  CHECK(o.dilation() == nn::Size2(3, 3));
  CHECK_FALSE(o.bias());
  nn::Conv2d<float> conv(o);
  CHECK(conv.weight().shape() == Shape{32, 1, 5, 5});
  CHECK_FALSE(conv.bias().defined());
  CHECK(conv.named_parameters().size() == 1);
  nn::Conv2d<float> c2(4, 8, {3, 1});
  CHECK(c2.weight().shape() == Shape{8, 4, 3, 1});
  CHECK(c2.bias().shape() == Shape{8});

  const auto p = nn::MaxPool2dOptions(3).padding(1);
  CHECK(p.kernel_size() == 3);
  CHECK(p.stride() == 3);  // defaults to the kernel
  CHECK(p.padding() == 1);
  nn::MaxPool2d<float> pool(p);
  CHECK(pool(Var<float>(zeros<float>(Shape{1, 1, 7, 7}))).shape() == Shape{1, 1, 3, 3});
}

TEST_CASE("Linear accepts a single sample and batches of any rank", "[nn][linear]") {
  Generator gen(5);
  nn::Linear<double> lin(3, 2, true, gen);
  const Tensor<double> x = randn<double>(Shape{3}, gen);
  const Var<double> y = lin(Var<double>(x));
  CHECK(y.shape() == Shape{2});
  const Var<double> yb = lin(Var<double>(x.reshape(Shape{1, 3})));
  nabla::testing::require_close(y.value(), yb.value().reshape(Shape{2}), 0, 0);
}

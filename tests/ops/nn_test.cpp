// Tests for ops/nn.hpp: softmax / log_softmax, conv2d and pooling, forward
// and backward, against PyTorch fixtures, naive loops and finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../support/fixture.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/nn.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::testing::fixture;
using nabla::testing::require_close;

namespace nn_test {

template <class T>
constexpr double tol() {
  return std::is_same_v<T, float> ? 2e-5 : 1e-11;
}

nabla::Conv2dParams params_of(const nabla::testing::FixtureCase& c) {
  const auto s = c.integers("stride");
  const auto p = c.integers("padding");
  const auto d = c.integers("dilation");
  return nabla::Conv2dParams{s[0], s[1], p[0], p[1], d[0], d[1], c.integer("groups")};
}

// Direct 7-loop convolution in double: the reference for the im2col path.
Tensor<double> naive_conv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b,
                          const nabla::Conv2dParams& p) {
  const auto N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const auto K = w.shape()[0], Cg = w.shape()[1], KH = w.shape()[2], KW = w.shape()[3];
  const auto Kg = K / p.groups;
  const auto Ho = (H + 2 * p.pad_h - p.dilation_h * (KH - 1) - 1) / p.stride_h + 1;
  const auto Wo = (W + 2 * p.pad_w - p.dilation_w * (KW - 1) - 1) / p.stride_w + 1;
  Tensor<double> y(Shape{N, K, Ho, Wo});
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t k = 0; k < K; ++k)
      for (std::int64_t oh = 0; oh < Ho; ++oh)
        for (std::int64_t ow = 0; ow < Wo; ++ow) {
          double s = b.defined() ? b(k) : 0.0;
          const auto g = k / Kg;
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < KH; ++i)
              for (std::int64_t j = 0; j < KW; ++j) {
                const auto ih = oh * p.stride_h - p.pad_h + i * p.dilation_h;
                const auto iw = ow * p.stride_w - p.pad_w + j * p.dilation_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += x(n, g * Cg + c, ih, iw) * w(k, c, i, j);
              }
          y(n, k, oh, ow) = s;
        }
  (void)C;
  return y;
}

double dot_all(const Tensor<double>& a, const Tensor<double>& b) {
  const auto va = a.to_vector();
  const auto vb = b.to_vector();
  double s = 0;
  for (std::size_t i = 0; i < va.size(); ++i) s += va[i] * vb[i];
  return s;
}

}  // namespace nn_test

using nn_test::tol;

// --- softmax ---------------------------------------------------------------

TEST_CASE("softmax: hand-checked values, rows sum to one", "[nn_ops]") {
  const Tensor<double> x(Shape{2, 3}, {1, 2, 3, 0, 0, 0});
  const auto y = nabla::softmax(x, 1);
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), s = e1 + e2 + e3;
  require_close(y, Tensor<double>(Shape{2, 3}, {e1 / s, e2 / s, e3 / s, 1.0 / 3, 1.0 / 3, 1.0 / 3}), 1e-14, 1e-15);
  const auto ly = nabla::log_softmax(x, -1);
  CHECK(ly(0, 2) == Approx(3 - std::log(s)).epsilon(1e-14));
  const auto cols = nabla::softmax(x, 0);
  CHECK(cols(0, 0) + cols(1, 0) == Approx(1.0));
  CHECK(cols(1, 0) == Approx(1.0 / (1.0 + e1)));
}

TEMPLATE_TEST_CASE("softmax: every row sums to one for lengths around SIMD widths", "[nn_ops]", float, double) {
  nabla::Generator gen(2);
  for (std::int64_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100}) {
    const auto x = nabla::randn<TestType>(Shape{3, n}, gen, TestType(0), TestType(4));
    const auto y = nabla::softmax(x, 1);
    const auto ly = nabla::log_softmax(x, 1);
    for (std::int64_t r = 0; r < 3; ++r) {
      double s = 0, m = -1e300;
      for (std::int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(x(r, i)));
      double ref = 0;
      for (std::int64_t i = 0; i < n; ++i) ref += std::exp(static_cast<double>(x(r, i)) - m);
      for (std::int64_t i = 0; i < n; ++i) {
        s += y(r, i);
        const double expect = std::exp(static_cast<double>(x(r, i)) - m) / ref;
        CHECK(static_cast<double>(y(r, i)) == Approx(expect).epsilon(1e-5).margin(1e-7));
        CHECK(static_cast<double>(ly(r, i)) == Approx(std::log(expect)).epsilon(1e-5).margin(1e-5));
      }
      INFO("n = " << n);
      CHECK(s == Approx(1.0).epsilon(1e-5));
    }
  }
}

TEMPLATE_TEST_CASE("softmax: stable for logits of +-1e4", "[nn_ops]", float, double) {
  const Tensor<TestType> x(Shape{2, 3}, {10000, -10000, 9999, -10000, -10000, -9990});
  const auto y = nabla::softmax(x, 1);
  const auto ly = nabla::log_softmax(x, 1);
  for (auto v : y.to_vector()) CHECK(std::isfinite(v));
  for (auto v : ly.to_vector()) CHECK(std::isfinite(v));
  const double e = std::exp(-1.0);
  CHECK(static_cast<double>(y(0, 0)) == Approx(1 / (1 + e)).epsilon(1e-6));
  CHECK(static_cast<double>(y(0, 1)) == 0.0);
  CHECK(static_cast<double>(ly(0, 1)) == Approx(-20000 - std::log(1 + e)).epsilon(1e-6));
  CHECK(static_cast<double>(y(1, 2)) == Approx(1 / (1 + 2 * std::exp(-10.0))).epsilon(1e-6));
  // The strided (middle-axis) kernel too.
  const auto yt = nabla::softmax(x.t().contiguous(), 0);
  CHECK(static_cast<double>(yt(0, 0)) == Approx(1 / (1 + e)).epsilon(1e-6));
  for (auto v : nabla::log_softmax(x.t().contiguous(), 0).to_vector()) CHECK(std::isfinite(v));
}

TEMPLATE_TEST_CASE("softmax and log_softmax: forward and backward match PyTorch on any axis", "[nn_ops]", float,
                   double) {
  for (const char* fn : {"softmax", "log_softmax"}) {
    for (const char* shape : {"last", "first", "middle", "negative", "wide_strided"}) {
      const std::string name = std::string(fn) + "_" + shape;
      INFO("case " << name);
      const auto c = fixture("nn_ops").get(name);
      const auto x = c.tensor<TestType>("x");
      const auto axis = c.integer("axis");
      const bool log = std::string(fn) == "log_softmax";
      const auto y = log ? nabla::log_softmax(x, axis) : nabla::softmax(x, axis);
      require_close(y, c.tensor<double>("y"), tol<TestType>(), tol<TestType>());
      const auto yref = c.tensor<TestType>("y");
      const auto dy = c.tensor<TestType>("dy");
      const auto dx = log ? nabla::log_softmax_backward(yref, dy, axis) : nabla::softmax_backward(yref, dy, axis);
      require_close(dx, c.tensor<double>("dx"), 10 * tol<TestType>(), 10 * tol<TestType>());
    }
  }
}

TEMPLATE_TEST_CASE("softmax: non-contiguous input matches contiguous", "[nn_ops]", float, double) {
  nabla::Generator gen(9);
  const auto x = nabla::randn<TestType>(Shape{6, 4, 5}, gen);
  const auto v = x.transpose(0, 2);  // [5, 4, 6]
  for (std::int64_t axis : {0, 1, 2, -1}) {
    require_close(nabla::softmax(v, axis), nabla::softmax(v.contiguous(), axis), 1e-6, 1e-7);
    require_close(nabla::log_softmax(v, axis), nabla::log_softmax(v.contiguous(), axis), 1e-6, 1e-6);
    const auto y = nabla::softmax(v.contiguous(), axis);
    require_close(nabla::softmax_backward(y.transpose(0, 1).transpose(0, 1), v, axis),
                  nabla::softmax_backward(y, v.contiguous(), axis), 1e-6, 1e-6);
  }
}

TEST_CASE("softmax: errors", "[nn_ops]") {
  const Tensor<float> x(Shape{2, 3});
  CHECK_THROWS_AS(nabla::softmax(x, 2), nabla::IndexError);
  CHECK_THROWS_WITH(nabla::log_softmax(x, -3), "log_softmax: axis -3 is out of range for a tensor of rank 2");
  CHECK_THROWS_WITH(nabla::softmax_backward(x, Tensor<float>(Shape{3, 2}), 1),
                    "softmax_backward: output [2, 3] and its gradient [3, 2] differ in shape");
}

// --- conv2d ----------------------------------------------------------------

const char* const conv_cases[] = {"conv_basic",    "conv_stride2_pad1", "conv_dilation2",
                                  "conv_groups2",  "conv_no_bias",      "conv_non_square",
                                  "conv_pointwise", "conv_lenet_like",  "conv_stride3_dil2_groups"};

TEMPLATE_TEST_CASE("conv2d: forward matches PyTorch for every configuration", "[nn_ops]", float, double) {
  for (const char* name : conv_cases) {
    INFO("case " << name);
    const auto c = fixture("nn_ops").get(name);
    const Tensor<TestType> b = c.has("b") ? c.tensor<TestType>("b") : Tensor<TestType>();
    const auto y = nabla::conv2d(c.tensor<TestType>("x"), c.tensor<TestType>("w"), b, nn_test::params_of(c));
    require_close(y, c.tensor<double>("y"), 10 * tol<TestType>(), 10 * tol<TestType>());
  }
}

TEMPLATE_TEST_CASE("conv2d_backward: grad_input, grad_weight, grad_bias match PyTorch autograd", "[nn_ops]", float,
                   double) {
  for (const char* name : conv_cases) {
    INFO("case " << name);
    const auto c = fixture("nn_ops").get(name);
    const auto params = nn_test::params_of(c);
    const bool has_bias = c.has("b");
    const auto g = nabla::conv2d_backward(c.tensor<TestType>("dy"), c.tensor<TestType>("x"), c.tensor<TestType>("w"),
                                          params, true, true, has_bias);
    require_close(g.grad_input, c.tensor<double>("dx"), 10 * tol<TestType>(), 10 * tol<TestType>());
    require_close(g.grad_weight, c.tensor<double>("dw"), 10 * tol<TestType>(), 10 * tol<TestType>());
    if (has_bias) {
      require_close(g.grad_bias, c.tensor<double>("db"), 10 * tol<TestType>(), 10 * tol<TestType>());
    } else {
      CHECK_FALSE(g.grad_bias.defined());
    }
  }
}

TEST_CASE("conv2d_backward: computes only what is asked for", "[nn_ops]") {
  const auto c = fixture("nn_ops").get("conv_stride2_pad1");
  const auto params = nn_test::params_of(c);
  const auto dy = c.tensor<double>("dy");
  const auto x = c.tensor<double>("x");
  const auto w = c.tensor<double>("w");
  const auto only_w = nabla::conv2d_backward(dy, x, w, params, false, true, false);
  CHECK_FALSE(only_w.grad_input.defined());
  CHECK_FALSE(only_w.grad_bias.defined());
  require_close(only_w.grad_weight, c.tensor<double>("dw"), 1e-11, 1e-11);
  const auto only_x = nabla::conv2d_backward(dy, x, w, params, true, false, false);
  CHECK_FALSE(only_x.grad_weight.defined());
  require_close(only_x.grad_input, c.tensor<double>("dx"), 1e-11, 1e-11);
  const auto only_b = nabla::conv2d_backward(dy, x, w, params, false, false, true);
  require_close(only_b.grad_bias, c.tensor<double>("db"), 1e-11, 1e-11);
}

TEST_CASE("conv2d: LeNet-sized layers agree with a direct loop in double", "[nn_ops]") {
  nabla::Generator gen(21);
  struct Config {
    std::int64_t n, c, h, k, kernel, pad;
  };
  for (const Config cfg : {Config{3, 1, 28, 8, 5, 2}, Config{2, 32, 14, 16, 5, 2}, Config{2, 16, 9, 8, 3, 1}}) {
    const auto x = nabla::randn<double>(Shape{cfg.n, cfg.c, cfg.h, cfg.h}, gen);
    const auto w = nabla::randn<double>(Shape{cfg.k, cfg.c, cfg.kernel, cfg.kernel}, gen);
    const auto b = nabla::randn<double>(Shape{cfg.k}, gen);
    const nabla::Conv2dParams p{1, 1, cfg.pad, cfg.pad, 1, 1, 1};
    require_close(nabla::conv2d(x, w, b, cfg.pad == 0 ? 1 : 1, cfg.pad), nn_test::naive_conv(x, w, b, p), 1e-11,
                  1e-11);
  }
}

TEST_CASE("conv2d_backward: adjoint identities and finite differences in double", "[nn_ops]") {
  nabla::Generator gen(33);
  const nabla::Conv2dParams p{2, 1, 1, 2, 2, 1, 2};
  const auto x = nabla::randn<double>(Shape{2, 4, 7, 6}, gen);
  const auto w = nabla::randn<double>(Shape{6, 2, 3, 2}, gen);
  const auto b = nabla::randn<double>(Shape{6}, gen);
  const auto y = nabla::conv2d(x, w, b, p);
  require_close(y, nn_test::naive_conv(x, w, b, p), 1e-12, 1e-12);
  const auto dy = nabla::randn<double>(y.shape(), gen);
  const auto g = nabla::conv2d_backward(dy, x, w, p, true, true, true);
  // L = <dy, conv(x, w) + b>: dL/dx and dL/dw by central differences.
  auto loss = [&](const Tensor<double>& xx, const Tensor<double>& ww) {
    return nn_test::dot_all(dy, nabla::conv2d(xx, ww, b, p));
  };
  const double h = 1e-6;
  for (std::int64_t i : {0, 17, 45, 100, 200, 335}) {
    auto xp = x.clone();
    auto xm = x.clone();
    xp.data()[i] += h;
    xm.data()[i] -= h;
    CHECK(g.grad_input.data()[i] == Approx((loss(xp, w) - loss(xm, w)) / (2 * h)).epsilon(1e-6).margin(1e-7));
  }
  for (std::int64_t i = 0; i < w.numel(); i += 5) {
    auto wp = w.clone();
    auto wm = w.clone();
    wp.data()[i] += h;
    wm.data()[i] -= h;
    CHECK(g.grad_weight.data()[i] == Approx((loss(x, wp) - loss(x, wm)) / (2 * h)).epsilon(1e-6).margin(1e-7));
  }
  for (std::int64_t k = 0; k < 6; ++k) {
    double s = 0;
    for (std::int64_t n = 0; n < y.shape()[0]; ++n)
      for (std::int64_t i = 0; i < y.shape()[2]; ++i)
        for (std::int64_t j = 0; j < y.shape()[3]; ++j) s += dy(n, k, i, j);
    CHECK(g.grad_bias(k) == Approx(s).epsilon(1e-12));
  }
}

TEST_CASE("conv2d: more im2col rows than one lowering block, with padding, stride, dilation, groups", "[nn_ops]") {
  // 12 channels per group x 5 x 5 = 300 im2col rows: lowered in two blocks.
  nabla::Generator gen(34);
  for (const nabla::Conv2dParams p :
       {nabla::Conv2dParams{1, 1, 2, 2, 1, 1, 2}, nabla::Conv2dParams{2, 1, 0, 1, 1, 2, 2},
        nabla::Conv2dParams{1, 2, 3, 0, 2, 1, 1}, nabla::Conv2dParams{1, 1, 0, 0, 1, 1, 2}}) {
    INFO("stride " << p.stride_h << "x" << p.stride_w << " pad " << p.pad_h << "x" << p.pad_w << " dilation "
                   << p.dilation_h << "x" << p.dilation_w << " groups " << p.groups);
    const auto x = nabla::randn<double>(Shape{3, 24, 11, 13}, gen);
    const auto w = nabla::randn<double>(Shape{8, 24 / p.groups, 5, 5}, gen);
    const Tensor<double> no_bias;
    const auto y = nabla::conv2d(x, w, no_bias, p);
    require_close(y, nn_test::naive_conv(x, w, no_bias, p), 1e-11, 1e-11);
    // <dy, conv(x, w)> is linear in x and in w: <dx, x> and <dw, w> equal it.
    const auto dy = nabla::randn<double>(y.shape(), gen);
    const auto g = nabla::conv2d_backward(dy, x, w, p, true, true, false);
    const double ref = nn_test::dot_all(dy, y);
    CHECK(nn_test::dot_all(g.grad_input, x) == Approx(ref).epsilon(1e-11));
    CHECK(nn_test::dot_all(g.grad_weight, w) == Approx(ref).epsilon(1e-11));
    // dx against a finite difference at a border element (padding) and an inner one.
    for (const std::int64_t i : {std::int64_t{0}, std::int64_t{11 * 13 * 5 + 6 * 13 + 7}}) {
      auto xp = x.clone();
      xp.data()[i] += 1.0;  // exact: the loss is linear in x
      CHECK(g.grad_input.data()[i] == Approx(nn_test::dot_all(dy, nabla::conv2d(xp, w, no_bias, p)) - ref).epsilon(1e-9));
    }
    // float agrees with double.
    const auto yf = nabla::conv2d(x.to<float>(), w.to<float>(), Tensor<float>(), p);
    require_close(yf, y, 1e-4, 1e-4);
    const auto gf = nabla::conv2d_backward(dy.to<float>(), x.to<float>(), w.to<float>(), p, true, true, false);
    require_close(gf.grad_input, g.grad_input, 1e-4, 1e-4);
    require_close(gf.grad_weight, g.grad_weight, 1e-4, 1e-3);
  }
}

TEST_CASE("conv2d: results do not depend on the thread count", "[nn_ops]") {
  nabla::Generator gen(8);
  const auto x = nabla::randn<float>(Shape{13, 3, 10, 9}, gen);
  const auto w = nabla::randn<float>(Shape{5, 3, 3, 3}, gen);
  const auto b = nabla::randn<float>(Shape{5}, gen);
  const nabla::Conv2dParams p{1, 1, 1, 1, 1, 1, 1};
  const int before = nabla::get_num_threads();
  nabla::set_num_threads(1);
  const auto y1 = nabla::conv2d(x, w, b, p);
  const auto g1 = nabla::conv2d_backward(y1, x, w, p, true, true, true);
  nabla::set_num_threads(2);
  const auto y2 = nabla::conv2d(x, w, b, p);
  const auto g2 = nabla::conv2d_backward(y2, x, w, p, true, true, true);
  nabla::set_num_threads(before);
  CHECK(y1.to_vector() == y2.to_vector());
  CHECK(g1.grad_input.to_vector() == g2.grad_input.to_vector());
  CHECK(g1.grad_weight.to_vector() == g2.grad_weight.to_vector());
  CHECK(g1.grad_bias.to_vector() == g2.grad_bias.to_vector());
}

TEST_CASE("conv2d: one image split across threads has the bits of one thread", "[nn_ops]") {
  // Fewer images than threads splits each image's output (or its groups):
  // dense 3x3 with a large plane (column pieces), a small plane (row
  // pieces), strided, grouped, depthwise; each against 1 thread and against
  // the same image inside a batch.
  struct Case {
    std::int64_t c, k, hw, kernel, stride, groups;
  };
  const Case cases[] = {{16, 24, 40, 3, 1, 1}, {64, 96, 7, 3, 1, 1}, {32, 48, 29, 3, 2, 1},
                        {32, 32, 14, 3, 1, 4}, {48, 48, 28, 3, 1, 48}, {8, 13, 9, 5, 1, 1}};
  const int before = nabla::get_num_threads();
  for (const Case& cs : cases) {
    INFO("c " << cs.c << " k " << cs.k << " hw " << cs.hw << " groups " << cs.groups);
    nabla::Generator gen(21);
    const auto x = nabla::randn<float>(Shape{3, cs.c, cs.hw, cs.hw}, gen);
    const auto w = nabla::randn<float>(Shape{cs.k, cs.c / cs.groups, cs.kernel, cs.kernel}, gen);
    const auto b = nabla::randn<float>(Shape{cs.k}, gen);
    const nabla::Conv2dParams p{cs.stride, cs.stride, cs.kernel / 2, cs.kernel / 2, 1, 1, cs.groups};
    const auto x0 = x.slice(0, 0, 1).contiguous();
    nabla::set_num_threads(1);
    const auto one = nabla::conv2d(x0, w, b, p);
    const auto batched = nabla::conv2d(x, w, b, p);
    for (const int threads : {2, 3, 5}) {
      nabla::set_num_threads(threads);
      INFO("threads " << threads);
      CHECK(nabla::conv2d(x0, w, b, p).to_vector() == one.to_vector());
      CHECK(nabla::conv2d(x.slice(0, 0, 2).contiguous(), w, b, p).to_vector() ==
            batched.slice(0, 0, 2).contiguous().to_vector());
    }
    nabla::set_num_threads(before);
    CHECK(batched.slice(0, 0, 1).contiguous().to_vector() == one.to_vector());
  }
}

TEMPLATE_TEST_CASE("conv2d: non-contiguous operands and the stride/padding overload", "[nn_ops]", float, double) {
  nabla::Generator gen(4);
  const auto x = nabla::randn<TestType>(Shape{2, 6, 5, 3}, gen).permute(Shape{0, 3, 2, 1});  // [2, 3, 5, 6]
  const auto w = nabla::randn<TestType>(Shape{4, 3, 3, 3}, gen).transpose(2, 3);
  const auto b = nabla::randn<TestType>(Shape{8}, gen).slice(0, 0, 8, 2);
  const auto expect = nabla::conv2d(x.contiguous(), w.contiguous(), b.contiguous(), nabla::Conv2dParams{2, 2, 1, 1});
  require_close(nabla::conv2d(x, w, b, 2, 1), expect, 1e-6, 1e-6);
  CHECK(nabla::conv2d(x, w).shape() == Shape{2, 4, 3, 4});
}

TEST_CASE("conv2d: argument errors name the op and the shapes", "[nn_ops]") {
  const Tensor<float> x(Shape{64, 3, 28, 28});
  const Tensor<float> w(Shape{32, 1, 5, 5});
  CHECK_THROWS_AS(nabla::conv2d(x, w), nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::conv2d(x, w),
                    "conv2d: input [64, 3, 28, 28] has 3 channels but weight [32, 1, 5, 5] expects 1");
  CHECK_THROWS_WITH(nabla::conv2d(Tensor<float>(Shape{1, 1, 4, 4}), Tensor<float>(Shape{2, 1, 7, 7})),
                    Catch::Contains("conv2d: kernel 7x7 (dilated 7x7) is larger than the padded input 4x4"));
  CHECK_NOTHROW(nabla::conv2d(Tensor<float>(Shape{1, 1, 4, 4}), Tensor<float>(Shape{2, 1, 7, 7}),
                              Tensor<float>(), 1, 2));
  CHECK_THROWS_WITH(nabla::conv2d(Tensor<float>(Shape{1, 3, 8, 8}), Tensor<float>(Shape{4, 1, 3, 3}), Tensor<float>(),
                                  nabla::Conv2dParams{1, 1, 0, 0, 1, 1, 2}),
                    Catch::Contains("conv2d: groups = 2 must divide both the input channels (3)"));
  CHECK_THROWS_WITH(nabla::conv2d(Tensor<float>(Shape{1, 4, 8, 8}), Tensor<float>(Shape{4, 1, 3, 3}), Tensor<float>(),
                                  nabla::Conv2dParams{1, 1, 0, 0, 1, 1, 2}),
                    "conv2d: input [1, 4, 8, 8] has 4 channels but weight [4, 1, 3, 3] expects 2");
  CHECK_THROWS_WITH(nabla::conv2d(Tensor<float>(Shape{1, 1, 8, 8}), Tensor<float>(Shape{4, 1, 3, 3}),
                                  Tensor<float>(Shape{3})),
                    "conv2d: bias [3] does not match weight [4, 1, 3, 3] (expects [4])");
  CHECK_THROWS_WITH(nabla::conv2d(Tensor<float>(Shape{1, 8, 8}), w),
                    "conv2d: input must be 4-D [N, C, H, W], got shape [1, 8, 8]");
  CHECK_THROWS_AS(nabla::conv2d(Tensor<float>(Shape{1, 1, 8, 8}), Tensor<float>(Shape{1, 1, 3, 3}), Tensor<float>(),
                                0, 0),
                  nabla::ValueError);
  CHECK_THROWS_AS(nabla::conv2d(Tensor<float>(Shape{1, 1, 8, 8}), Tensor<float>(Shape{1, 1, 3, 3}), Tensor<float>(),
                                1, -1),
                  nabla::ValueError);
  CHECK_THROWS_WITH(nabla::conv2d_backward(Tensor<float>(Shape{1, 1, 5, 5}), Tensor<float>(Shape{1, 1, 8, 8}),
                                           Tensor<float>(Shape{1, 1, 3, 3}), nabla::Conv2dParams{}),
                    "conv2d_backward: output gradient [1, 1, 5, 5] does not match the output shape [1, 1, 6, 6] of "
                    "input [1, 1, 8, 8] and weight [1, 1, 3, 3]");
}

// --- pooling ---------------------------------------------------------------

TEMPLATE_TEST_CASE("max_pool2d: values, indices and backward match PyTorch", "[nn_ops]", float, double) {
  for (const char* name : {"maxpool_k2s2", "maxpool_k3s2p1", "maxpool_k3s1"}) {
    INFO("case " << name);
    const auto c = fixture("nn_ops").get(name);
    const auto x = c.tensor<TestType>("x");
    const auto r = nabla::max_pool2d_with_indices(x, c.integer("kernel"), c.integer("stride"), c.integer("padding"));
    require_close(r.values, c.tensor<TestType>("y"), 0, 0);
    CHECK(r.indices.to_vector() == c.tensor<std::int64_t>("indices").to_vector());
    require_close(nabla::max_pool2d(x, c.integer("kernel"), c.integer("stride"), c.integer("padding")),
                  c.tensor<TestType>("y"), 0, 0);
    const auto dx = nabla::max_pool2d_backward(c.tensor<TestType>("dy"), r.indices, x.shape());
    require_close(dx, c.tensor<double>("dx"), tol<TestType>(), tol<TestType>());
  }
}

TEST_CASE("max_pool2d: hand-checked windows, padding as -inf, default stride", "[nn_ops]") {
  const Tensor<float> x(Shape{1, 1, 2, 4}, {-5, -1, 2, 0, -3, -4, 1, 7});
  const auto r = nabla::max_pool2d_with_indices(x, 2);
  CHECK(r.values.shape() == Shape{1, 1, 1, 2});
  CHECK(r.values.to_vector() == std::vector<float>{-1, 7});
  CHECK(r.indices.to_vector() == std::vector<std::int64_t>{1, 7});
  // With padding 1 the corner windows hold one real value; the pad never wins.
  const auto p = nabla::max_pool2d_with_indices(x, 2, 2, 1);
  CHECK(p.values.shape() == Shape{1, 1, 2, 3});
  CHECK(p.values.to_vector() == std::vector<float>{-5, 2, 0, -3, 1, 7});
  CHECK(p.indices.to_vector() == std::vector<std::int64_t>{0, 2, 3, 4, 6, 7});
  const auto dx = nabla::max_pool2d_backward(Tensor<float>(Shape{1, 1, 1, 2}, {10, 20}), r.indices, x.shape());
  CHECK(dx.to_vector() == std::vector<float>{0, 10, 0, 0, 0, 0, 0, 20});
  // Overlapping windows accumulate at a shared argmax.
  const Tensor<float> y(Shape{1, 1, 1, 3}, {0, 9, 0});
  const auto ov = nabla::max_pool2d_with_indices(y, 1, 1);
  CHECK(ov.values.to_vector() == y.to_vector());
  const Tensor<float> z(Shape{1, 1, 2, 3}, {0, 9, 0, 0, 0, 0});
  const auto o2 = nabla::max_pool2d_with_indices(z, 2, 1);
  CHECK(o2.indices.to_vector() == std::vector<std::int64_t>{1, 1});
  CHECK(nabla::max_pool2d_backward(Tensor<float>(Shape{1, 1, 1, 2}, {1, 2}), o2.indices, z.shape()).to_vector() ==
        std::vector<float>{0, 3, 0, 0, 0, 0});
}

TEMPLATE_TEST_CASE("max_pool2d 2x2 stride 2: ties keep the first index, the last NaN wins (as PyTorch)", "[nn_ops]",
                   float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // Windows: [1 1; 0 1] (tie), [nan 2; 3 nan] (two NaNs), [-inf -inf; -inf -inf].
  const T inf = std::numeric_limits<T>::infinity();
  const Tensor<T> x(Shape{1, 1, 2, 6}, {1, 1, nan, 2, -inf, -inf, 0, 1, 3, nan, -inf, -inf});
  const auto r = nabla::max_pool2d_with_indices(x, 2);
  const auto v = r.values.to_vector();
  REQUIRE(v.size() == 3);
  CHECK(v[0] == T(1));
  CHECK(std::isnan(v[1]));
  CHECK(v[2] == -inf);
  CHECK(r.indices.to_vector() == std::vector<std::int64_t>{0, 9, 4});
}

TEMPLATE_TEST_CASE("max_pool2d 2x2 stride 2: rows of every width (SIMD body and tails) match a scalar scan",
                   "[nn_ops]", float, double) {
  using T = TestType;
  // Values from {0, 1, 2, NaN}: most windows hold ties, some NaNs.
  std::uint32_t state = 12345;
  const auto next = [&] {
    state = state * 1664525u + 1013904223u;
    const std::uint32_t v = (state >> 24) % 16;
    return v == 0 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(v % 3);
  };
  for (std::int64_t w = 2; w <= 41; ++w) {
    INFO("width " << w);
    const std::int64_t h = 5;
    std::vector<T> values(static_cast<std::size_t>(2 * 3 * h * w));
    for (T& v : values) v = next();
    const Tensor<T> x(Shape{2, 3, h, w}, values);
    const auto r = nabla::max_pool2d_with_indices(x, 2);
    const std::int64_t ho = h / 2, wo = w / 2;
    REQUIRE(r.values.shape() == Shape{2, 3, ho, wo});
    const auto got = r.values.to_vector();
    const auto got_index = r.indices.to_vector();
    for (std::int64_t plane = 0; plane < 6; ++plane) {
      const T* xp = values.data() + plane * h * w;
      for (std::int64_t oh = 0; oh < ho; ++oh) {
        for (std::int64_t ow = 0; ow < wo; ++ow) {
          // PyTorch's scan: later value taken when greater or NaN.
          std::int64_t best = 2 * oh * w + 2 * ow;
          for (const std::int64_t at : {best + 1, best + w, best + w + 1}) {
            if (xp[at] > xp[best] || std::isnan(xp[at])) best = at;
          }
          const auto o = static_cast<std::size_t>((plane * ho + oh) * wo + ow);
          CHECK(got_index[o] == best);
          if (std::isnan(xp[best])) {
            CHECK(std::isnan(got[o]));
          } else {
            CHECK(got[o] == xp[best]);
          }
        }
      }
    }
  }
}

TEST_CASE("pooling: argument errors", "[nn_ops]") {
  const Tensor<float> x(Shape{1, 2, 4, 4});
  CHECK_THROWS_WITH(nabla::max_pool2d(Tensor<float>(Shape{2, 4, 4}), 2),
                    "max_pool2d: input must be 4-D [N, C, H, W], got shape [2, 4, 4]");
  CHECK_THROWS_WITH(nabla::max_pool2d(x, 5), Catch::Contains("max_pool2d: kernel 5x5 is larger than the padded input 4x4"));
  CHECK_THROWS_WITH(nabla::avg_pool2d(x, 2, 2, 2), Catch::Contains("avg_pool2d: padding 2 must be between 0 and half"));
  CHECK_THROWS_AS(nabla::avg_pool2d(x, -1), nabla::ValueError);
  CHECK_THROWS_WITH(nabla::avg_pool2d_backward(Tensor<float>(Shape{1, 2, 3, 3}), x.shape(), 2),
                    "avg_pool2d_backward: output gradient [1, 2, 3, 3] does not match the output shape [1, 2, 2, 2] "
                    "for input [1, 2, 4, 4]");
  CHECK_THROWS_AS(nabla::max_pool2d_backward(Tensor<float>(Shape{1, 2, 2, 2}), Tensor<std::int64_t>(Shape{1, 2, 2, 3}),
                                             x.shape()),
                  nabla::ShapeError);
  CHECK_THROWS_WITH(nabla::adaptive_avg_pool2d(x, 0, 1), "adaptive_avg_pool2d: output size 0x1 must be positive");
  CHECK_THROWS_AS(nabla::adaptive_avg_pool2d(Tensor<float>(Shape{2, 4, 4}), 1, 1), nabla::ShapeError);
}

TEMPLATE_TEST_CASE("avg_pool2d: forward and backward match PyTorch (count_include_pad)", "[nn_ops]", float, double) {
  for (const char* name : {"avgpool_k2s2", "avgpool_k3s2p1", "avgpool_k3s1"}) {
    INFO("case " << name);
    const auto c = fixture("nn_ops").get(name);
    const auto x = c.tensor<TestType>("x");
    const auto k = c.integer("kernel"), s = c.integer("stride"), p = c.integer("padding");
    require_close(nabla::avg_pool2d(x, k, s, p), c.tensor<double>("y"), tol<TestType>(), tol<TestType>());
    require_close(nabla::avg_pool2d_backward(c.tensor<TestType>("dy"), x.shape(), k, s, p), c.tensor<double>("dx"),
                  tol<TestType>(), tol<TestType>());
  }
  const Tensor<TestType> x(Shape{1, 1, 2, 2}, {1, 2, 3, 4});
  CHECK(nabla::avg_pool2d(x, 2).to_vector() == std::vector<TestType>{2.5});
  // Padding counts in the divisor: each corner window sees one value of four.
  CHECK(nabla::avg_pool2d(x, 2, 2, 1).to_vector() == std::vector<TestType>{0.25, 0.5, 0.75, 1.0});
}

TEMPLATE_TEST_CASE("adaptive_avg_pool2d: forward and backward match PyTorch", "[nn_ops]", float, double) {
  for (const char* name : {"adaptive_3x2", "adaptive_1x1", "adaptive_5x4"}) {
    INFO("case " << name);
    const auto c = fixture("nn_ops").get(name);
    const auto x = c.tensor<TestType>("x");
    require_close(nabla::adaptive_avg_pool2d(x, c.integer("out_h"), c.integer("out_w")), c.tensor<double>("y"),
                  tol<TestType>(), tol<TestType>());
    require_close(nabla::adaptive_avg_pool2d_backward(c.tensor<TestType>("dy"), x.shape()), c.tensor<double>("dx"),
                  tol<TestType>(), tol<TestType>());
  }
}

TEMPLATE_TEST_CASE("pooling: non-contiguous input matches contiguous", "[nn_ops]", float, double) {
  nabla::Generator gen(12);
  const auto x = nabla::randn<TestType>(Shape{2, 7, 6, 3}, gen).permute(Shape{0, 3, 2, 1});
  require_close(nabla::max_pool2d(x, 2), nabla::max_pool2d(x.contiguous(), 2), 0, 0);
  require_close(nabla::avg_pool2d(x, 3, 1, 1), nabla::avg_pool2d(x.contiguous(), 3, 1, 1), 0, 0);
  require_close(nabla::adaptive_avg_pool2d(x, 1, 1), nabla::adaptive_avg_pool2d(x.contiguous(), 1, 1), 0, 0);
}

// BatchNorm1d/2d against PyTorch in training and evaluation, running
// statistics, buffer handles and the functional form.
#include <catch2/catch.hpp>

#include "nn_support.hpp"

using namespace nabla;
using nabla::testing::check_module;
using nabla::testing::require_close;

TEMPLATE_TEST_CASE("BatchNorm in training mode matches PyTorch (outputs, gradients, running stats)", "[nn][batchnorm]",
                   double, float) {
  using T = TestType;
  const double rtol = std::is_same_v<T, double> ? 1e-10 : 1e-4;
  const double atol = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  nn::BatchNorm1d<T> bn1(4);
  check_module<T>(bn1, "bn1d_train", rtol, atol);
  CHECK(bn1.num_batches_tracked().item() == T{2});
  nn::BatchNorm1d<T> bn1_3d(3);
  check_module<T>(bn1_3d, "bn1d_3d_train", rtol, atol);
  nn::BatchNorm2d<T> bn2(3);
  check_module<T>(bn2, "bn2d_train", rtol, atol);
  nn::BatchNorm2d<T> plain(nn::BatchNormOptions(3).affine(false).momentum(0.3));
  CHECK(plain.named_parameters().empty());
  check_module<T>(plain, "bn2d_no_affine_train", rtol, atol);
}

TEMPLATE_TEST_CASE("BatchNorm in evaluation mode uses the running statistics", "[nn][batchnorm]", double, float) {
  using T = TestType;
  const double rtol = std::is_same_v<T, double> ? 1e-10 : 1e-4;
  const double atol = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  for (auto [name, channels, two_d] : {std::tuple{"bn1d_eval", 4, false}, std::tuple{"bn1d_3d_eval", 3, false},
                                       std::tuple{"bn2d_eval", 3, true}}) {
    std::unique_ptr<nn::BatchNormBase<T>> bn;
    if (two_d) {
      bn = std::make_unique<nn::BatchNorm2d<T>>(channels);
    } else {
      bn = std::make_unique<nn::BatchNorm1d<T>>(channels);
    }
    bn->eval();
    check_module<T>(*bn, name, rtol, atol);  // also checks the buffers did not move
    CHECK(bn->num_batches_tracked().item() == T{0});
  }
  // Without tracked statistics, evaluation normalises with the batch's own.
  nn::BatchNorm2d<T> untracked(nn::BatchNormOptions(2).track_running_stats(false));
  CHECK(untracked.named_buffers().empty());
  untracked.eval();
  check_module<T>(untracked, "bn2d_untracked_eval", rtol, atol);
}

TEST_CASE("BatchNorm state follows PyTorch's names and buffers are updated in place", "[nn][batchnorm]") {
  nn::BatchNorm2d<float> bn(3);
  const auto params = bn.named_parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0].first == "weight");
  CHECK(params[1].first == "bias");
  CHECK(params[0].second.value().to_vector() == std::vector<float>{1, 1, 1});
  CHECK(params[1].second.value().to_vector() == std::vector<float>{0, 0, 0});
  const auto buffers = bn.named_buffers();
  REQUIRE(buffers.size() == 3);
  CHECK(buffers[0].first == "running_mean");
  CHECK(buffers[1].first == "running_var");
  CHECK(buffers[2].first == "num_batches_tracked");
  CHECK(buffers[2].second.ndim() == 0);
  // Handles taken before a forward see its updates (in place, no rebinding).
  Generator gen(1);
  const std::uint64_t version = buffers[0].second.version();
  bn(Var<float>(randn<float>(Shape{4, 3, 2, 2}, gen, 1.0f, 1.0f)));
  CHECK(buffers[0].second.is_same(bn.running_mean()));
  CHECK(buffers[0].second.version() > version);
  CHECK(buffers[0].second.to_vector() != std::vector<float>{0, 0, 0});
  CHECK(buffers[2].second.item() == 1.0f);
  // A loader writing through named_buffers() changes what eval uses.
  buffers[0].second.copy_(Tensor<float>(Shape{3}, {1, 2, 3}));
  buffers[1].second.copy_(Tensor<float>(Shape{3}, {4, 4, 4}));
  bn.eval();
  const Var<float> y = bn(Var<float>(full<float>(Shape{1, 3, 1, 1}, 3.0f)));
  CHECK(y.value().to_vector()[0] == Approx((3.0 - 1.0) / std::sqrt(4.0 + 1e-5)));
  CHECK(y.value().to_vector()[2] == Approx(0.0).margin(1e-6));
  bn.reset_running_stats();
  CHECK(bn.running_mean().to_vector() == std::vector<float>{0, 0, 0});
  CHECK(bn.running_var().to_vector() == std::vector<float>{1, 1, 1});
  CHECK(bn.num_batches_tracked().item() == 0.0f);
}

TEST_CASE("functional::batch_norm is differentiable in every input", "[nn][batchnorm]") {
  Generator gen(11);
  const Tensor<double> x = randn<double>(Shape{3, 2, 2, 2}, gen);
  const Tensor<double> w = randn<double>(Shape{2}, gen);
  const Tensor<double> b = randn<double>(Shape{2}, gen);
  Tensor<double> rm = zeros<double>(Shape{2});
  Tensor<double> rv = ones<double>(Shape{2});
  for (bool training : {true, false}) {
    auto f = [&](const std::vector<Var<double>>& in) {
      return sum(square(nn::functional::batch_norm(in[0], rm.clone(), rv.clone(), in[1],
                                                   in[2], training)));
    };
    const GradcheckReport report = gradcheck(f, {x, w, b});
    INFO("training = " << training << ": " << report.message);
    CHECK(report.ok);
  }
}

TEST_CASE("BatchNorm rejects bad input with clear messages", "[nn][batchnorm][errors]") {
  nn::BatchNorm2d<float> bn(3);
  CHECK_THROWS_WITH(bn(Var<float>(zeros<float>(Shape{2, 3, 4}))),
                    Catch::Contains("BatchNorm2d: expected input of rank 4 with 3 channels at axis 1, got shape [2, 3, 4]"));
  CHECK_THROWS_WITH(bn(Var<float>(zeros<float>(Shape{2, 4, 2, 2}))), Catch::Contains("got shape [2, 4, 2, 2]"));
  CHECK_THROWS_WITH(bn(Var<float>(zeros<float>(Shape{1, 3, 1, 1}))),
                    Catch::Contains("batch_norm: expected more than 1 value per channel when training"));
  CHECK(bn.num_batches_tracked().item() == 0.0f);  // failed calls do not count
  nn::BatchNorm1d<float> bn1(2);
  CHECK_THROWS_WITH(bn1(Var<float>(zeros<float>(Shape{2, 2, 2, 2}))), Catch::Contains("rank 2 or 3"));
  CHECK_THROWS_WITH(nn::BatchNorm1d<float>(0), Catch::Contains("BatchNorm1d: num_features must be positive"));
  CHECK_THROWS_WITH(nn::BatchNorm1d<float>(nn::BatchNormOptions(2).eps(0)), Catch::Contains("eps 0 must be positive"));
  CHECK_THROWS_WITH(nn::functional::batch_norm(Var<float>(zeros<float>(Shape{2, 2})), Tensor<float>(), Tensor<float>()),
                    Catch::Contains("evaluation mode needs running_mean and running_var"));
  CHECK_THROWS_WITH(nn::functional::batch_norm(Var<float>(zeros<float>(Shape{2, 2})), zeros<float>(Shape{3}),
                                               ones<float>(Shape{2})),
                    Catch::Contains("running_mean of shape [3] does not match input [2, 2]"));
}

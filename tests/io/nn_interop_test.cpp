// io/ with nabla's real modules and optimizers: PyTorch's weights give
// PyTorch's outputs, and a checkpoint resumes training bit for bit.
#include <catch2/catch.hpp>

#if __has_include("nabla/nn.hpp") && __has_include("nabla/optim.hpp")

#include <cstdint>
#include <string>
#include <vector>

#include "../support/fixture.hpp"
#include "helpers.hpp"
#include "nabla/autograd.hpp"
#include "nabla/io.hpp"
#include "nabla/nn.hpp"
#include "nabla/optim.hpp"

namespace nn = nabla::nn;
using nabla::Shape;
using nabla::Tensor;
using nabla::Var;
using nabla::io_test::fixture_file;
using nabla::io_test::TempDir;

TEMPLATE_TEST_CASE("PyTorch's nn.Sequential weights load into nn::Sequential and give its outputs",
                   "[io][interop][nn]", float, double) {
  const auto c = nabla::testing::fixture("io").get("mlp");
  nn::Sequential<TestType> model(nn::Linear<TestType>(4, 3), nn::ReLU<TestType>(), nn::Linear<TestType>(3, 2));
  CHECK(nabla::io::load_weights(model, fixture_file("mlp_f32.safetensors")).complete());
  const Var<TestType> y = model(Var<TestType>(c.tensor<TestType>("x"), false));
  const double tol = std::is_same_v<TestType, float> ? 1e-6 : 1e-12;
  nabla::testing::require_close(y.value(), c.tensor<double>(std::is_same_v<TestType, float> ? "y_f32" : "y_f64"),
                                tol, tol);

  // And back: what nabla saves is what PyTorch saved.
  TempDir dir;
  nabla::io::save_weights(model, dir.file("back.safetensors"));
  const auto file = nabla::io::read_safetensors(dir.file("back.safetensors"));
  REQUIRE(file.tensors.size() == 4);
  for (const auto& [name, t] : file.tensors) {
    nabla::testing::require_close(nabla::io::tensor_as<double>(t), c.tensor<double>(name), 0, 0);
  }
}

TEST_CASE("PyTorch's BatchNorm1d state loads into nn::BatchNorm1d", "[io][interop][nn]") {
  const auto c = nabla::testing::fixture("io").get("batchnorm");
  nn::BatchNorm1d<float> bn(3);
  CHECK(nabla::io::load_weights(bn, fixture_file("batchnorm.safetensors")).complete());
  for (const auto& [name, t] : bn.named_buffers()) {
    INFO(name);
    nabla::testing::require_close(t.reshape(c.tensor<double>(name).shape()), c.tensor<double>(name), 0, 0);
  }
}

namespace {

template <class Opt>
std::vector<std::vector<float>> train_and_checkpoint(std::int64_t steps_before, std::int64_t steps_after,
                                                     const std::string& checkpoint, auto make_optimizer) {
  nabla::Generator data_gen(11);
  const Tensor<float> x = nabla::randn<float>(Shape{16, 4}, data_gen);
  const Tensor<std::int64_t> labels = nabla::randint<std::int64_t>(0, 3, Shape{16}, data_gen);
  auto make_model = [](std::uint64_t seed) {
    nabla::Generator gen(seed);
    return nn::Sequential<float>(nn::Linear<float>(4, 8, true, gen), nn::ReLU<float>(), nn::Linear<float>(8, 3, true, gen));
  };
  auto step = [&](nn::Sequential<float>& model, Opt& opt) {
    opt.zero_grad();
    Var<float> loss = nabla::cross_entropy(model(Var<float>(x, false)), labels);
    loss.backward();
    opt.step();
  };
  nn::Sequential<float> model = make_model(1);
  Opt opt = make_optimizer(model.parameters());
  for (std::int64_t i = 0; i < steps_before; ++i) step(model, opt);
  if (!checkpoint.empty()) {
    nabla::io::save_checkpoint(checkpoint, model, opt);
    nn::Sequential<float> fresh = make_model(999);  // different weights, empty state
    Opt fresh_opt = make_optimizer(fresh.parameters());
    CHECK(nabla::io::load_checkpoint(checkpoint, fresh, fresh_opt).complete());
    for (std::int64_t i = 0; i < steps_after; ++i) step(fresh, fresh_opt);
    std::vector<std::vector<float>> out;
    for (const auto& [name, p] : fresh.named_parameters()) out.push_back(p.value().to_vector());
    return out;
  }
  for (std::int64_t i = 0; i < steps_after; ++i) step(model, opt);
  std::vector<std::vector<float>> out;
  for (const auto& [name, p] : model.named_parameters()) out.push_back(p.value().to_vector());
  return out;
}

}  // namespace

TEST_CASE("a checkpoint resumes SGD and Adam training bit for bit", "[io][interop][checkpoint]") {
  TempDir dir;
  auto sgd = [](std::vector<Var<float>> params) {
    return nabla::optim::SGD<float>(std::move(params), nabla::optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
  };
  const auto sgd_straight = train_and_checkpoint<nabla::optim::SGD<float>>(2, 2, "", sgd);
  const auto sgd_resumed = train_and_checkpoint<nabla::optim::SGD<float>>(2, 2, dir.file("sgd.safetensors"), sgd);
  CHECK(sgd_resumed == sgd_straight);

  auto adam = [](std::vector<Var<float>> params) { return nabla::optim::Adam<float>(std::move(params), 0.01); };
  const auto adam_straight = train_and_checkpoint<nabla::optim::Adam<float>>(2, 2, "", adam);
  const auto adam_resumed = train_and_checkpoint<nabla::optim::Adam<float>>(2, 2, dir.file("adam.safetensors"), adam);
  CHECK(adam_resumed == adam_straight);
  // Resuming without the optimizer state would differ (the test can tell).
  const auto adam_four = train_and_checkpoint<nabla::optim::Adam<float>>(4, 0, "", adam);
  CHECK(adam_four == adam_straight);
  const auto names = nabla::io::read_safetensors_header(dir.file("adam.safetensors"));
  bool has_step = false;
  for (const auto& t : names.tensors) has_step = has_step || t.name == "optim.0.step";
  CHECK(has_step);
}

#else

TEST_CASE("io interop with nn/ and optim/ (skipped: those headers are absent)", "[io][interop]") {
  SUCCEED("nabla/nn.hpp or nabla/optim.hpp is missing; the FakeModule tests cover io/");
}

#endif

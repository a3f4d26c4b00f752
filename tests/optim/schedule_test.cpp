// Learning-rate schedules against torch.optim.lr_scheduler's sequences, and
// gradient clipping against torch.nn.utils.clip_grad_norm_.
#include <cmath>
#include <limits>
#include <memory>

#include <catch2/catch.hpp>

#include "../support/fixture.hpp"
#include "nabla/autograd.hpp"
#include "nabla/optim.hpp"

using namespace nabla;
using nabla::testing::require_close;

namespace {

// Runs a schedule over `steps` epochs (optimizer step, then schedule step)
// and compares the rate after construction and after each step with torch's.
template <class Make>
void check_schedule(const std::string& name, Make make) {
  INFO("schedule " << name);
  const auto expected = nabla::testing::fixture("optim").get("schedule_" + name).tensor<double>("lrs").to_vector();
  const Var<double> p(zeros<double>(Shape{1}));
  optim::SGD<double> sgd({p}, 0.1);
  auto schedule = make(sgd);
  std::vector<double> got{sgd.lr()};
  for (std::size_t i = 1; i < expected.size(); ++i) {
    sgd.step();
    schedule->step();
    got.push_back(sgd.lr());
    CHECK(schedule->last_lr() == sgd.lr());
  }
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("epoch " << i);
    CHECK(got[i] == Approx(expected[i]).epsilon(1e-12).margin(1e-15));
  }
}

}  // namespace

TEST_CASE("StepLR, CosineAnnealingLR and LinearWarmup follow torch's sequences", "[optim][schedule]") {
  check_schedule("step", [](optim::OptimizerBase& o) { return std::make_unique<optim::StepLR>(o, 3, 0.5); });
  check_schedule("cosine",
                 [](optim::OptimizerBase& o) { return std::make_unique<optim::CosineAnnealingLR>(o, 10, 0.01); });
  check_schedule("linear", [](optim::OptimizerBase& o) { return std::make_unique<optim::LinearWarmup>(o, 4, 0.1); });
}

TEST_CASE("a warm-up followed by cosine annealing follows torch's SequentialLR", "[optim][schedule]") {
  check_schedule("warmup_cosine", [](optim::OptimizerBase& o) {
    auto warm = std::make_shared<optim::LinearWarmup>(o, 3, 0.1);
    auto cosine = std::make_shared<optim::CosineAnnealingLR>(o, 7);
    return std::make_unique<optim::SequentialLR>(o, std::vector<std::shared_ptr<optim::LRScheduler>>{warm, cosine},
                                                 std::vector<std::int64_t>{3});
  });
}

TEST_CASE("schedules scale the initial rate, can jump epochs, and validate", "[optim][schedule]") {
  const Var<float> p(zeros<float>(Shape{1}));
  optim::Adam<float> adam({p}, 0.2);
  optim::StepLR step(adam, 2, 0.5);
  CHECK(step.base_lr() == 0.2);
  step.set_epoch(5);  // resume: epoch 5 of step size 2 -> 0.2 * 0.5^2
  CHECK(adam.lr() == Approx(0.05));
  CHECK(step.last_epoch() == 5);
  // A second schedule on the same optimizer starts from the initial rate, not the current one.
  optim::CosineAnnealingLR cosine(adam, 4);
  CHECK(cosine.base_lr() == 0.2);
  CHECK(adam.initial_lr() == 0.2);
  CHECK_THROWS_WITH(optim::StepLR(adam, 0), Catch::Contains("StepLR: step_size 0 must be positive"));
  CHECK_THROWS_WITH(optim::CosineAnnealingLR(adam, 0), Catch::Contains("CosineAnnealingLR: T_max 0 must be positive"));
  CHECK_THROWS_WITH(optim::LinearWarmup(adam, 5, 0.0), Catch::Contains("LinearWarmup: start_factor 0 must be in (0, 1]"));
  auto s = std::make_shared<optim::StepLR>(adam, 1);
  CHECK_THROWS_WITH(optim::SequentialLR(adam, {s}, {2}), Catch::Contains("SequentialLR: expected one more schedule"));
  const Var<float> q(zeros<float>(Shape{1}));
  optim::SGD<float> other({q}, 0.1);
  auto foreign = std::make_shared<optim::StepLR>(other, 1);
  CHECK_THROWS_WITH(optim::SequentialLR(adam, {s, foreign}, {2}), Catch::Contains("belongs to another optimizer"));
}

TEST_CASE("clip_grad_norm matches torch for 1-, 2-, 3- and infinity norms", "[optim][clip]") {
  for (const char* name : {"l2", "l1", "inf", "l3", "no_clip"}) {
    INFO("case " << name);
    const auto c = nabla::testing::fixture("optim").get(std::string("clip_") + name);
    const double norm_type = c.json().at("norm_type").is_string() ? std::numeric_limits<double>::infinity()
                                                                   : c.real("norm_type");
    const Var<double> a(zeros<double>(Shape{3, 4}));
    const Var<double> b(zeros<double>(Shape{5}));
    const Var<double> unused(zeros<double>(Shape{2}));  // no gradient: skipped
    a.set_grad(c.tensor<double>("ga"));
    b.set_grad(c.tensor<double>("gb"));
    const double total = optim::clip_grad_norm<double>({a, unused, b}, c.real("max_norm"), norm_type);
    CHECK(total == Approx(c.tensor<double>("total").item()).epsilon(1e-12));
    require_close(a.grad(), c.tensor<double>("clipped_a"), 1e-12, 1e-14);
    require_close(b.grad(), c.tensor<double>("clipped_b"), 1e-12, 1e-14);
    CHECK_FALSE(unused.grad().defined());
  }
  // float, and the error path
  const Var<float> f(zeros<float>(Shape{2}));
  f.set_grad(Tensor<float>(Shape{2}, {3.0f, 4.0f}));
  CHECK(optim::clip_grad_norm<float>({f}, 1.0) == Approx(5.0));
  CHECK(f.grad().to_vector()[0] == Approx(0.6f).epsilon(1e-5));
  CHECK(optim::clip_grad_norm<float>({Var<float>(zeros<float>(Shape{1}))}, 1.0) == 0.0);
  CHECK_THROWS_WITH(optim::clip_grad_norm<float>({f}, 1.0, 0.0), Catch::Contains("clip_grad_norm: norm_type 0"));
}

TEST_CASE("clip_grad_value clamps every gradient element", "[optim][clip]") {
  const Var<double> a(zeros<double>(Shape{2, 2}));
  a.set_grad(Tensor<double>(Shape{2, 2}, {-3, 0.5, 2, -0.1}));
  optim::clip_grad_value<double>({a}, 1.0);
  CHECK(a.grad().to_vector() == std::vector<double>{-1, 0.5, 1, -0.1});
  CHECK_THROWS_WITH(optim::clip_grad_value<double>({a}, -1.0),
                    Catch::Contains("clip_grad_value: clip_value -1 must not be negative"));
}

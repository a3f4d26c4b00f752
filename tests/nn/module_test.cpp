// Module: registration, dotted names, order, train/eval, zero_grad, moves;
// Sequential's container API; weight initialisation.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "nn_support.hpp"
#include "nabla/optim.hpp"

using namespace nabla;
using nabla::testing::require_close;

namespace {

// A user-defined module in the style of torchvision: a "features" stack and
// a "classifier" head, plus a parameter and a buffer of its own.
template <class T>
class Net : public nn::Module<T> {
 public:
  Net() {
    scale_ = this->register_parameter("scale", ones<T>(Shape{1}));
    steps_ = this->register_buffer("steps", zeros<T>(Shape{1}));
    features_ = &this->register_module(
        "features", std::make_shared<nn::Sequential<T>>(nn::Conv2d<T>(1, 2, 3), nn::ReLU<T>(), nn::Dropout<T>(0.5),
                                                        nn::Conv2d<T>(2, 2, 1), nn::BatchNorm2d<T>(2)));
    classifier_ = &this->register_module("classifier", std::make_shared<nn::Linear<T>>(8, 3));
  }
  Var<T> forward(const Var<T>& x) override {
    return (*classifier_)(nn::functional::flatten((*features_)(x)) * scale_);
  }

 private:
  Var<T> scale_;
  Tensor<T> steps_;
  nn::Sequential<T>* features_ = nullptr;  // owned by the registry (shared_ptr): stable across moves
  nn::Linear<T>* classifier_ = nullptr;
};

std::vector<std::string> names_of(const auto& named) {
  std::vector<std::string> out;
  for (const auto& [name, v] : named) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("named_parameters gives PyTorch's dotted names in registration order", "[nn][module]") {
  Net<float> net;
  CHECK(names_of(net.named_parameters()) ==
        std::vector<std::string>{"scale", "features.0.weight", "features.0.bias", "features.3.weight",
                                 "features.3.bias", "features.4.weight", "features.4.bias", "classifier.weight",
                                 "classifier.bias"});
  CHECK(names_of(net.named_parameters(false)) == std::vector<std::string>{"scale"});
  CHECK(names_of(net.named_buffers()) ==
        std::vector<std::string>{"steps", "features.4.running_mean", "features.4.running_var",
                                 "features.4.num_batches_tracked"});
  CHECK(net.buffers(false).size() == 1);
  // parameters() is the same handles in the same order.
  const auto named = net.named_parameters();
  const auto params = net.parameters();
  REQUIRE(params.size() == named.size());
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(params[i].is_same(named[i].second));
  CHECK(names_of(net.named_children()) == std::vector<std::string>{"features", "classifier"});
}

TEST_CASE("nested Sequential names match PyTorch's", "[nn][sequential]") {
  nn::Sequential<double> seq(nn::Linear<double>(4, 3), nn::ReLU<double>(),
                             nn::Sequential<double>(nn::Linear<double>(3, 2), nn::Tanh<double>()));
  const auto c = nabla::testing::fixture("nn").get("sequential");
  std::vector<std::string> expected;
  for (const auto& n : c.json().at("names")) expected.push_back(n.get<std::string>());
  CHECK(names_of(seq.named_parameters()) == expected);
  CHECK(expected == std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias"});
}

TEST_CASE("Sequential: push_back, size, indexing, typed access, shared modules", "[nn][sequential]") {
  nn::Sequential<float> seq;
  CHECK(seq.empty());
  const Var<float> x(ones<float>(Shape{2, 4}));
  CHECK(seq(x).is_same(x));  // empty: identity
  seq.push_back(nn::Linear<float>(4, 3));
  auto shared = std::make_shared<nn::ReLU<float>>();
  seq.push_back(shared);
  CHECK(seq.size() == 2);
  CHECK(&seq[1] == shared.get());
  CHECK(seq.at<nn::Linear<float>>(0).out_features() == 3);
  CHECK_THROWS_WITH(seq.at<nn::Conv2d<float>>(0), Catch::Contains("Sequential::at: layer 0 is not of the requested type"));
  CHECK_THROWS_AS(seq[2], IndexError);
  CHECK_THROWS_WITH(seq[5], Catch::Contains("Sequential: index 5 is out of range for 2 layers"));
  CHECK(seq(x).shape() == Shape{2, 3});
  // A module shared by two containers is one object with one set of parameters.
  auto lin = std::make_shared<nn::Linear<float>>(3, 3);
  nn::Sequential<float> twice(lin, lin);
  CHECK(twice.parameters().size() == 2);  // listed once
}

TEST_CASE("train() and eval() reach every descendant", "[nn][module]") {
  Net<float> net;
  CHECK(net.is_training());
  net.eval();
  CHECK_FALSE(net.is_training());
  std::vector<const nn::Module<float>*> stack{&net};
  std::size_t visited = 0;
  while (!stack.empty()) {
    const auto* m = stack.back();
    stack.pop_back();
    CHECK_FALSE(m->is_training());
    ++visited;
    for (const auto& child : m->children()) stack.push_back(child.get());
  }
  CHECK(visited == 8);  // net, features, its 5 layers, classifier
  net.train();
  for (const auto& child : net.children()) CHECK(child->is_training());
  // Evaluation is deterministic (dropout off, running stats in use).
  net.eval();
  Generator gen(3);
  const Var<float> x(randn<float>(Shape{2, 1, 4, 4}, gen));
  CHECK(net(x).value().to_vector() == net(x).value().to_vector());
}

TEST_CASE("zero_grad clears every parameter's gradient", "[nn][module]") {
  Net<double> net;
  Generator gen(4);
  sum(net(Var<double>(randn<double>(Shape{2, 1, 4, 4}, gen)))).backward();
  for (const auto& p : net.parameters()) CHECK(p.grad().defined());
  net.zero_grad();
  for (const auto& p : net.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("a moved module keeps working and optimizers built before the move still update it", "[nn][module]") {
  Generator gen(8);
  nn::Sequential<double> a(nn::Linear<double>(3, 4, true, gen), nn::ReLU<double>(), nn::Linear<double>(4, 2, true, gen));
  const Var<double> x(randn<double>(Shape{5, 3}, gen), false);
  const Tensor<double> before = a(x).value().clone();
  optim::SGD<double> opt(a.parameters(), 0.1);
  const auto handles = a.named_parameters();

  nn::Sequential<double> b(std::move(a));
  require_close(b(x).value(), before, 0, 0);
  nn::Sequential<double> c;
  c = std::move(b);
  require_close(c(x).value(), before, 0, 0);
  const auto moved = c.named_parameters();
  REQUIRE(moved.size() == handles.size());
  for (std::size_t i = 0; i < moved.size(); ++i) {
    CHECK(moved[i].first == handles[i].first);
    CHECK(moved[i].second.is_same(handles[i].second));
  }
  // The optimizer built from the original object trains the moved one.
  const Tensor<double> w_before = c.at<nn::Linear<double>>(0).weight().value().clone();
  sum(c(x)).backward();
  opt.step();
  CHECK(c.at<nn::Linear<double>>(0).weight().value().to_vector() != w_before.to_vector());
  CHECK(c(x).value().to_vector() != before.to_vector());

  // A user module with raw child pointers into its registry survives a move too.
  Net<float> n1;
  n1.eval();
  const Var<float> xi(randn<float>(Shape{1, 1, 4, 4}, gen));
  const auto y1 = n1(xi).value().to_vector();
  Net<float> n2(std::move(n1));
  CHECK(n2(xi).value().to_vector() == y1);
}

TEST_CASE("registration rejects bad and duplicate names", "[nn][module][errors]") {
  struct Bad : nn::Module<float> {
    Var<float> forward(const Var<float>& x) override { return x; }
    void add(const std::string& name) { register_parameter(name, zeros<float>(Shape{1})); }
    void add_buffer(const std::string& name, Tensor<float> t) { register_buffer(name, std::move(t)); }
    void add_child(const std::string& name) { register_module(name, std::shared_ptr<nn::ReLU<float>>()); }
  };
  Bad m;
  m.add("w");
  CHECK_THROWS_WITH(m.add("w"), Catch::Contains("register_parameter: name 'w' is already registered"));
  CHECK_THROWS_WITH(m.add("a.b"), Catch::Contains("must be non-empty and contain no '.'"));
  CHECK_THROWS_WITH(m.add(""), Catch::Contains("must be non-empty"));
  CHECK_THROWS_WITH(m.add_buffer("w", zeros<float>(Shape{1})), Catch::Contains("register_buffer: name 'w' is already"));
  CHECK_THROWS_WITH(m.add_buffer("u", Tensor<float>()), Catch::Contains("register_buffer: buffer 'u' is undefined"));
  CHECK_THROWS_WITH(m.add_child("c"), Catch::Contains("register_module: module 'c' is null"));
  CHECK(m.parameters().size() == 1);
}

TEST_CASE("Linear and Conv2d initialise as PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in))", "[nn][init]") {
  Generator gen(2024);
  nn::Linear<double> lin(400, 300, true, gen);
  const double bound = 1.0 / std::sqrt(400.0);
  // Moments within a few standard errors for the element count.
  auto check_uniform = [](const Tensor<double>& t, double b) {
    const auto v = t.to_vector();
    double mean = 0, sq = 0, lo = 1e9, hi = -1e9;
    for (double e : v) {
      mean += e;
      sq += e * e;
      lo = std::min(lo, e);
      hi = std::max(hi, e);
    }
    mean /= static_cast<double>(v.size());
    sq /= static_cast<double>(v.size());
    CHECK(lo >= -b);
    CHECK(hi < b);
    CHECK(lo < -0.95 * b);
    CHECK(hi > 0.95 * b);
    const double n = static_cast<double>(v.size());
    CHECK(mean == Approx(0).margin(4.0 * b / std::sqrt(3.0 * n)));
    CHECK(sq == Approx(b * b / 3).epsilon(4.0 * 0.9 / std::sqrt(n)));  // variance of U(-b, b)
  };
  check_uniform(lin.weight().value(), bound);
  check_uniform(lin.bias().value(), bound);
  nn::Conv2d<double> conv(nn::Conv2dOptions(16, 32, 3).groups(2), gen);
  const double cb = 1.0 / std::sqrt(8.0 * 9.0);
  check_uniform(conv.weight().value(), cb);
  // Same seed, same weights; the default generator is used without one.
  Generator g1(5), g2(5);
  CHECK(nn::Linear<float>(3, 2, true, g1).weight().value().to_vector() ==
        nn::Linear<float>(3, 2, true, g2).weight().value().to_vector());
  manual_seed(9);
  const auto w1 = nn::Linear<float>(3, 2).weight().value().to_vector();
  manual_seed(9);
  CHECK(nn::Linear<float>(3, 2).weight().value().to_vector() == w1);
}

TEST_CASE("init functions draw from the documented distributions", "[nn][init]") {
  Generator gen(77);
  auto moments = [](const Tensor<double>& t) {
    const auto v = t.to_vector();
    double mean = 0, sq = 0;
    for (double e : v) mean += e;
    mean /= static_cast<double>(v.size());
    for (double e : v) sq += (e - mean) * (e - mean);
    return std::pair{mean, std::sqrt(sq / static_cast<double>(v.size()))};
  };
  Tensor<double> w = Tensor<double>::empty(Shape{200, 100, 3});  // fan_in 300, fan_out 600
  nn::init::kaiming_normal_(w, 0.0, gen, nn::init::FanMode::fan_in, nn::init::Nonlinearity::relu);
  auto [m1, s1] = moments(w);
  CHECK(m1 == Approx(0).margin(0.005));
  CHECK(s1 == Approx(std::sqrt(2.0 / 300.0)).epsilon(0.02));
  nn::init::kaiming_uniform_(w, 0.0, gen, nn::init::FanMode::fan_out);
  auto [m2, s2] = moments(w);
  CHECK(s2 == Approx(std::sqrt(2.0) / std::sqrt(600.0)).epsilon(0.02));  // uniform with bound gain*sqrt(3/fan)
  nn::init::xavier_uniform_(w, 1.0, gen);
  auto [m3, s3] = moments(w);
  CHECK(s3 == Approx(std::sqrt(2.0 / 900.0)).epsilon(0.02));
  nn::init::xavier_normal_(w, 2.0, gen);
  auto [m4, s4] = moments(w);
  CHECK(s4 == Approx(2.0 * std::sqrt(2.0 / 900.0)).epsilon(0.02));
  nn::init::normal_(w, 3.0, 0.5, gen);
  auto [m5, s5] = moments(w);
  CHECK(m5 == Approx(3.0).epsilon(0.01));
  CHECK(s5 == Approx(0.5).epsilon(0.02));
  nn::init::uniform_(w, 2.0, 4.0, gen);
  for (double e : w.to_vector()) REQUIRE((e >= 2.0 && e < 4.0));
  nn::init::constant_(w, 0.25);
  for (double e : w.to_vector()) REQUIRE(e == 0.25);
  nn::init::zeros_(w);
  CHECK(w.to_vector() == std::vector<double>(60000, 0.0));
  nn::init::ones_(w);
  CHECK(w.to_vector() == std::vector<double>(60000, 1.0));
  CHECK(nn::init::calculate_gain(nn::init::Nonlinearity::tanh) == Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain(nn::init::Nonlinearity::leaky_relu, std::sqrt(5.0)) == Approx(std::sqrt(1.0 / 3.0)));

  // In place through a non-contiguous view, with a version bump.
  Tensor<float> m = zeros<float>(Shape{4, 6});
  const std::uint64_t v0 = m.version();
  nn::init::uniform_(m.t(), 1.0, 2.0, gen);
  for (float e : m.to_vector()) REQUIRE((e >= 1.0f && e < 2.0f));
  CHECK(m.version() > v0);
  nn::init::normal_(m.slice(1, 0, 3), 0.0, 1.0);  // the default generator

  CHECK_THROWS_WITH(nn::init::xavier_uniform_(Tensor<float>(Shape{5})),
                    Catch::Contains("init: fan in and fan out need a tensor with at least 2 dimensions, got shape [5]"));
  CHECK_THROWS_WITH(nn::init::kaiming_uniform_(Tensor<float>(Shape{3, 0})), Catch::Contains("zero fan"));
  CHECK_THROWS_WITH(nn::init::uniform_(m, 2.0, 1.0), Catch::Contains("uniform_: low 2 is above high 1"));
  CHECK_THROWS_WITH(nn::init::normal_(m, 0.0, -1.0), Catch::Contains("normal_: stddev -1 is negative"));
}

TEST_CASE("loss objects wrap the fused losses", "[nn][loss]") {
  Generator gen(12);
  const Var<double> logits(randn<double>(Shape{4, 3}, gen));
  const Tensor<std::int64_t> labels(Shape{4}, {0, 2, 1, 2});
  nn::CrossEntropyLoss<double> ce;
  require_close(ce(logits, labels).value(), cross_entropy(logits, labels).value(), 0, 0);
  nn::CrossEntropyLoss<double> smooth(CrossEntropyOptions{Reduction::sum, 0.1});
  require_close(smooth(logits, labels).value(), cross_entropy(logits, labels, {Reduction::sum, 0.1}).value(), 0, 0);
  nn::NLLLoss<double> nll;
  require_close(nll(log_softmax(logits, 1), labels).value(), ce(logits, labels).value(), 1e-14, 1e-14);
  const Tensor<double> target = randn<double>(Shape{4, 3}, gen);
  nn::MSELoss<double> mse;
  require_close(mse(logits, target).value(), mse_loss(logits, target).value(), 0, 0);
  nn::MSELoss<double> mse_sum(Reduction::sum);
  require_close(mse_sum(logits, Var<double>(target, false)).value(),
                mse_loss(logits, target, Reduction::sum).value(), 0, 0);
  nn::L1Loss<double> l1(Reduction::none);
  CHECK(l1(logits, target).shape() == Shape{4, 3});
  nn::BCEWithLogitsLoss<double> bce;
  const Tensor<double> probs = rand<double>(Shape{4, 3}, gen);
  require_close(bce(logits, probs).value(), binary_cross_entropy_with_logits(logits, probs).value(), 0, 0);
  // The functional twins are the same functions.
  require_close(nn::functional::cross_entropy(logits, labels).value(), ce(logits, labels).value(), 0, 0);
  CHECK_THROWS_AS(ce(logits, Tensor<std::int64_t>(Shape{4}, {0, 3, 1, 2})), IndexError);
}

TEST_CASE("functional twins compute what the modules compute", "[nn][functional]") {
  Generator gen(31);
  nn::Conv2d<double> conv(nn::Conv2dOptions(2, 3, 3).padding(1).stride(2), gen);
  const Var<double> x(randn<double>(Shape{1, 2, 5, 5}, gen));
  Conv2dParams p;
  p.stride_h = p.stride_w = 2;
  p.pad_h = p.pad_w = 1;
  require_close(nn::functional::conv2d(x, conv.weight(), conv.bias(), p).value(), conv(x).value(), 0, 0);
  require_close(nn::functional::conv2d(x, conv.weight(), conv.bias(), 2, 1).value(), conv(x).value(), 0, 0);
  nn::Linear<double> lin(5, 2, false, gen);
  const Var<double> h = nn::functional::flatten(nn::functional::max_pool2d(x, 2));
  CHECK(h.shape() == Shape{1, 8});
  const Var<double> xs(randn<double>(Shape{3, 5}, gen));
  require_close(nn::functional::linear(xs, lin.weight()).value(), lin(xs).value(), 0, 0);
  require_close(nn::functional::relu(xs).value(), relu(xs.value()), 0, 0);
  require_close(nn::functional::leaky_relu(xs, 0.1).value(), leaky_relu(xs.value(), 0.1), 0, 0);
  require_close(nn::functional::log_softmax(xs, 1).value(), log_softmax(xs.value(), 1), 0, 0);
  require_close(nn::functional::dropout(xs, 0.5, false).value(), xs.value(), 0, 0);
  require_close(nn::functional::avg_pool2d(x, 2).value(), avg_pool2d(x.value(), 2), 0, 0);
  require_close(nn::functional::adaptive_avg_pool2d(x, 1, 1).value(), adaptive_avg_pool2d(x.value(), 1, 1), 0, 0);
}

// Module API: printing (PyTorch's repr text, from tests/fixtures/module_repr.json),
// to<U>() conversion, state_dict / load_state_dict, deep copies, and a
// checkpoint resume that continues bit for bit.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "../io/temp_files.hpp"
#include "nn_support.hpp"
#include "nabla/io/serialize.hpp"
#include "nabla/optim.hpp"

using namespace nabla;

namespace {

// A user's module with a name of its own, as PyTorch's class name.
template <class T>
class ModuleApiNet : public nn::Module<T> {
 public:
  ModuleApiNet() {
    this->register_module("features", std::make_shared<nn::Sequential<T>>(nn::Conv2d<T>(1, 2, 3), nn::ReLU<T>()));
    this->register_module("classifier", std::make_shared<nn::Linear<T>>(8, 3));
  }
  Var<T> forward(const Var<T>& x) override { return x; }
  std::string name() const override { return "Net"; }
};

template <class T>
nn::Sequential<T> module_api_nested() {
  nn::Sequential<T> inner(nn::Linear<T>(8, 4, false), nn::BatchNorm1d<T>(4), nn::Tanh<T>());
  nn::Sequential<T> deeper;
  deeper.push_back(nn::GELU<T>());
  deeper.push_back(std::make_shared<nn::Sequential<T>>(nn::Sigmoid<T>()));
  nn::Sequential<T> out;
  out.push_back(nn::Flatten<T>());
  out.push_back(std::move(inner));
  out.push_back(std::move(deeper));
  out.push_back(nn::Linear<T>(4, 2));
  return out;
}

using ModuleApiBuilder = std::function<std::shared_ptr<nn::Module<float>>()>;

template <class M, class... Args>
ModuleApiBuilder module_api_make(Args... args) {
  return [=] { return std::make_shared<M>(args...); };
}

// The same modules as scripts/fixtures/module_repr.py, by case name.
const std::map<std::string, ModuleApiBuilder>& module_api_builders() {
  using F = float;
  static const std::map<std::string, ModuleApiBuilder> builders = {
      {"custom", module_api_make<ModuleApiNet<F>>()},
      {"linear", module_api_make<nn::Linear<F>>(784, 128)},
      {"linear_no_bias", module_api_make<nn::Linear<F>>(3, 2, false)},
      {"conv", module_api_make<nn::Conv2d<F>>(nn::Conv2dOptions(1, 8, 3).padding(1))},
      {"conv_default", module_api_make<nn::Conv2d<F>>(nn::Conv2dOptions(3, 16, 5))},
      {"conv_all", module_api_make<nn::Conv2d<F>>(
                       nn::Conv2dOptions(4, 8, {3, 5}).stride({2, 1}).padding({1, 2}).dilation({2, 3}).groups(2).bias(false))},
      {"maxpool", module_api_make<nn::MaxPool2d<F>>(nn::Pool2dOptions(2))},
      {"maxpool_padded", module_api_make<nn::MaxPool2d<F>>(nn::Pool2dOptions(3).stride(1).padding(1))},
      {"avgpool", module_api_make<nn::AvgPool2d<F>>(nn::Pool2dOptions(2))},
      {"avgpool_padded", module_api_make<nn::AvgPool2d<F>>(nn::Pool2dOptions(3).stride(2).padding(1))},
      {"adaptive_one", module_api_make<nn::AdaptiveAvgPool2d<F>>(std::int64_t{1})},
      {"adaptive_two", module_api_make<nn::AdaptiveAvgPool2d<F>>(std::int64_t{2}, std::int64_t{3})},
      {"batchnorm1d", module_api_make<nn::BatchNorm1d<F>>(nn::BatchNormOptions(16))},
      {"batchnorm2d", module_api_make<nn::BatchNorm2d<F>>(
                          nn::BatchNormOptions(8).eps(1e-3).momentum(0.01).affine(false).track_running_stats(false))},
      {"batchnorm2d_small_eps", module_api_make<nn::BatchNorm2d<F>>(nn::BatchNormOptions(3).eps(1e-4).momentum(0.3))},
      {"dropout", module_api_make<nn::Dropout<F>>()},
      {"dropout_p", module_api_make<nn::Dropout<F>>(0.1)},
      {"relu", module_api_make<nn::ReLU<F>>()},
      {"leaky_relu", module_api_make<nn::LeakyReLU<F>>()},
      {"leaky_relu_slope", module_api_make<nn::LeakyReLU<F>>(0.2)},
      {"gelu", module_api_make<nn::GELU<F>>()},
      {"gelu_tanh", module_api_make<nn::GELU<F>>(true)},
      {"sigmoid", module_api_make<nn::Sigmoid<F>>()},
      {"tanh", module_api_make<nn::Tanh<F>>()},
      {"silu", module_api_make<nn::SiLU<F>>()},
      {"softmax", module_api_make<nn::Softmax<F>>(std::int64_t{1})},
      {"log_softmax", module_api_make<nn::LogSoftmax<F>>(std::int64_t{-1})},
      {"flatten", module_api_make<nn::Flatten<F>>()},
      {"flatten_axes", module_api_make<nn::Flatten<F>>(std::int64_t{0}, std::int64_t{2})},
      {"identity", module_api_make<nn::Identity<F>>()},
      {"empty_sequential", module_api_make<nn::Sequential<F>>()},
      {"lenet",
       [] {
         return std::make_shared<nn::Sequential<F>>(
             nn::Conv2d<F>(nn::Conv2dOptions(1, 6, 5).padding(2)), nn::ReLU<F>(), nn::MaxPool2d<F>(2, 2),
             nn::Conv2d<F>(6, 16, 5), nn::ReLU<F>(), nn::AvgPool2d<F>(2, 2), nn::Flatten<F>(),
             nn::Linear<F>(400, 120), nn::Dropout<F>(0.25), nn::Linear<F>(120, 10));
       }},
      {"nested", [] { return std::make_shared<nn::Sequential<F>>(module_api_nested<F>()); }},
  };
  return builders;
}

std::string module_api_print(const nn::Module<float>& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

template <class T>
std::vector<T> module_api_values(const Tensor<T>& t) {
  return t.to_vector();
}

}  // namespace

TEST_CASE("operator<< prints every module as PyTorch 1.13's repr", "[nn][module_api][repr][fixture]") {
  const auto fixture = nabla::testing::fixture("module_repr");
  int compared = 0;
  for (const std::string& name : fixture.names()) {
    if (name == "nested_state_dict") continue;
    INFO("case " << name);
    const auto it = module_api_builders().find(name);
    REQUIRE(it != module_api_builders().end());
    const auto module = it->second();
    CHECK(module_api_print(*module) == fixture.get(name).text("repr"));
    CHECK(module->repr() == fixture.get(name).text("repr"));
    ++compared;
  }
  CHECK(compared == static_cast<int>(module_api_builders().size()));
  // Printing depends on the configuration only, not the element type.
  CHECK(nn::Linear<double>(2, 3).repr() == "Linear(in_features=2, out_features=3, bias=True)");
}

TEST_CASE("python_float writes doubles as Python's repr", "[nn][module_api][repr]") {
  using nabla::detail::python_float;
  CHECK(python_float(1e-5) == "1e-05");
  CHECK(python_float(1e-4) == "0.0001");
  CHECK(python_float(0.1) == "0.1");
  CHECK(python_float(0.5) == "0.5");
  CHECK(python_float(1.0) == "1.0");
  CHECK(python_float(0.0) == "0.0");
  CHECK(python_float(100.0) == "100.0");
  CHECK(python_float(123.25) == "123.25");
  CHECK(python_float(-2.5e-7) == "-2.5e-07");
  CHECK(python_float(1e16) == "1e+16");
  CHECK(python_float(1.5e300) == "1.5e+300");
  CHECK(python_float(1234567890123456.0) == "1234567890123456.0");
}

TEST_CASE("to<double>() converts a module with its values, buffers and mode", "[nn][module_api][to]") {
  Generator gen(3);
  nn::Linear<float> lin(4, 3, true, gen);
  nn::Linear<double> lin64 = lin.to<double>();
  static_assert(std::is_same_v<decltype(lin.to<double>()), nn::Linear<double>>);
  CHECK(lin64.in_features() == 4);
  CHECK(lin64.out_features() == 3);
  const std::vector<float> w = lin.weight().value().to_vector();
  const std::vector<double> w64 = lin64.weight().value().to_vector();
  REQUIRE(w64.size() == w.size());
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(w64[i] == static_cast<double>(w[i]));
  CHECK(lin64.bias().value().to_vector()[2] == static_cast<double>(lin.bias().value().to_vector()[2]));
  // And back: float -> double -> float is exact.
  CHECK(lin64.to<float>().weight().value().to_vector() == w);

  // Sequential converts its children, BatchNorm's buffers included.
  auto model = module_api_nested<float>();
  {
    NoGradGuard no_grad;
    model(Var<float>(randn<float>(Shape{5, 8}, gen), false));  // moves the running statistics
  }
  model.eval();
  nn::Sequential<double> model64 = model.to<double>();
  CHECK_FALSE(model64.is_training());
  CHECK_FALSE(model64[1].is_training());
  CHECK(model64.repr() == model.repr());
  const auto s32 = model.state_dict();
  const auto s64 = model64.state_dict();
  REQUIRE(s64.size() == s32.size());
  for (std::size_t i = 0; i < s32.size(); ++i) {
    INFO(s32[i].first);
    CHECK(s64[i].first == s32[i].first);
    const auto a = s32[i].second.to_vector();
    const auto b = s64[i].second.to_vector();
    REQUIRE(a.size() == b.size());
    for (std::size_t j = 0; j < a.size(); ++j) CHECK(b[j] == static_cast<double>(a[j]));
  }
  CHECK(s64[5].first == "1.1.num_batches_tracked");
  CHECK(s64[5].second.item() == 1.0);
  const Tensor<float> x = randn<float>(Shape{3, 8}, gen);
  NoGradGuard no_grad;
  nabla::testing::require_close(model64(Var<double>(x.to<double>(), false)).value(),
                                model(Var<float>(x, false)).value().to<double>(), 1e-5, 1e-6);
}

TEST_CASE("to<U>() through the base type, and modules that cannot be copied", "[nn][module_api][to]") {
  std::shared_ptr<nn::Module<float>> base = std::make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(2, 4, 3).groups(2));
  std::shared_ptr<nn::Module<double>> converted = base->to_shared<double>();
  auto* conv = dynamic_cast<nn::Conv2d<double>*>(converted.get());
  REQUIRE(conv != nullptr);
  CHECK(conv->options().groups() == 2);
  CHECK(conv->weight().shape() == Shape{4, 1, 3, 3});
  // A user's module deriving from Module directly says how to make it copyable.
  ModuleApiNet<float> net;
  CHECK_THROWS_AS(net.clone_shared(), ValueError);
  CHECK_THROWS_WITH(net.to_shared<double>(), Catch::StartsWith("Net: this module type cannot be copied"));
  // Modules are not copyable: a plain copy never silently shares parameters.
  static_assert(!std::is_copy_constructible_v<nn::Linear<float>>);
  static_assert(!std::is_copy_constructible_v<nn::Sequential<float>>);
}

TEST_CASE("state_dict has PyTorch's names, order and shapes", "[nn][module_api][state_dict][fixture]") {
  const auto c = nabla::testing::fixture("module_repr").get("nested_state_dict");
  const auto keys = c.json().at("keys").get<std::vector<std::string>>();
  const auto shapes = c.json().at("shapes").get<std::vector<std::vector<std::int64_t>>>();
  auto model = module_api_nested<float>();
  const auto state = model.state_dict();
  REQUIRE(state.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK(state[i].first == keys[i]);
    CHECK(state[i].second.shape() == Shape(shapes[i]));
  }
  // The entries are handles to the module's own storage (as torch's state_dict).
  state[0].second.fill_(2.0f);
  CHECK(model.at<nn::Sequential<float>>(1).at<nn::Linear<float>>(0).weight().value().to_vector() ==
        std::vector<float>(32, 2.0f));

  // save_weights writes the same names (one code path).
  nabla::io_test::TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::save_weights(model, path);
  std::vector<std::string> saved;
  for (const auto& [name, tensor] : io::read_safetensors(path).tensors) saved.push_back(name);
  std::vector<std::string> sorted_keys = keys;
  std::sort(saved.begin(), saved.end());
  std::sort(sorted_keys.begin(), sorted_keys.end());
  CHECK(saved == sorted_keys);
}

TEST_CASE("load_state_dict copies values and leaves the caller's tensors unaliased", "[nn][module_api][state_dict]") {
  Generator gen(11);
  auto src = module_api_nested<float>();
  auto dst = module_api_nested<float>();
  {
    NoGradGuard no_grad;
    src(Var<float>(randn<float>(Shape{6, 8}, gen), false));
  }
  nn::StateDict<float> dict;
  for (const auto& [name, t] : src.state_dict()) dict.emplace_back(name, t.clone());
  const auto report = dst.load_state_dict(dict);
  CHECK(report.complete());
  for (std::size_t i = 0; i < dict.size(); ++i) CHECK(dst.state_dict()[i].second.to_vector() == dict[i].second.to_vector());
  // Writing to the dict afterwards does not reach the module.
  const std::vector<float> before = dst.state_dict()[7].second.to_vector();
  dict[7].second.fill_(99.0f);
  CHECK(dst.state_dict()[7].second.to_vector() == before);
  // The module's parameter handles stay the same (optimizers stay valid).
  const Var<float> w = dst.parameters()[0];
  dst.load_state_dict(dict);
  CHECK(w.is_same(dst.parameters()[0]));
  CHECK(w.value().to_vector() == dict[0].second.to_vector());
}

TEST_CASE("strict load_state_dict names every missing, unexpected and mis-shaped key", "[nn][module_api][state_dict][errors]") {
  nn::Sequential<float> model(nn::Linear<float>(3, 2), nn::BatchNorm1d<float>(2));
  for (const auto& [name, t] : model.state_dict()) t.fill_(-7.0f);
  nn::StateDict<float> dict = {{"0.weight", Tensor<float>(Shape{3, 2})},
                               {"0.bias", Tensor<float>(Shape{2})},
                               {"1.weight", Tensor<float>(Shape{2})},
                               {"1.running_mean", Tensor<float>(Shape{3})},
                               {"1.num_batches_tracked", Tensor<float>(Shape{1})},  // [] and [1] both fit
                               {"2.weight", Tensor<float>(Shape{1})}};
  CHECK_THROWS_AS(model.load_state_dict(dict), ValueError);
  CHECK_THROWS_WITH(model.load_state_dict(dict),
                    "load_state_dict: shape mismatch for '0.weight': the state dict has [3, 2], the module has [2, 3]; "
                    "shape mismatch for '1.running_mean': the state dict has [3], the module has [2]; the state dict "
                    "does not match the module: missing 2 (1.bias, 1.running_var); unexpected 1 (2.weight); nothing "
                    "was loaded (load_state_dict(dict, false) loads the names that match)");
  // Shape mismatches fail even when not strict; nothing was written.
  CHECK_THROWS_WITH(model.load_state_dict(dict, false),
                    "load_state_dict: shape mismatch for '0.weight': the state dict has [3, 2], the module has [2, 3]; "
                    "shape mismatch for '1.running_mean': the state dict has [3], the module has [2]");
  for (const auto& [name, t] : model.state_dict()) {
    INFO(name);
    for (float v : t.to_vector()) CHECK(v == -7.0f);
  }
  // Not strict, shapes right: the matching names load, the rest are reported.
  dict[0].second = Tensor<float>(Shape{2, 3}).fill_(1.0f);
  dict[3].second = Tensor<float>(Shape{2}).fill_(3.0f);
  const auto report = model.load_state_dict(dict, false);
  CHECK(report.missing == std::vector<std::string>{"1.bias", "1.running_var"});
  CHECK(report.unexpected == std::vector<std::string>{"2.weight"});
  CHECK(model.state_dict()[0].second.to_vector() == std::vector<float>(6, 1.0f));
  CHECK(model.state_dict()[4].second.to_vector() == std::vector<float>(2, 3.0f));  // 1.running_mean
  CHECK(model.state_dict()[3].second.to_vector() == std::vector<float>(2, -7.0f));  // 1.bias untouched
  // A dict with a key twice is refused.
  nn::StateDict<float> twice = {{"0.bias", Tensor<float>(Shape{2})}, {"0.bias", Tensor<float>(Shape{2})}};
  CHECK_THROWS_WITH(model.load_state_dict(twice, false),
                    "load_state_dict: the state dict has two entries named '0.bias'");
}

TEST_CASE("clone() is a deep copy: training the copy leaves the original unchanged", "[nn][module_api][clone]") {
  Generator gen(5);
  nn::Sequential<double> model(nn::Linear<double>(4, 6, true, gen), nn::BatchNorm1d<double>(6), nn::ReLU<double>(),
                               nn::Linear<double>(6, 2, true, gen));
  nn::Sequential<double> copy = model.clone();
  static_assert(std::is_same_v<decltype(model.clone()), nn::Sequential<double>>);
  CHECK(copy.repr() == model.repr());
  const auto original = model.state_dict();
  std::vector<std::vector<double>> before;
  for (const auto& [name, t] : original) before.push_back(t.to_vector());
  const auto copied = copy.state_dict();
  REQUIRE(copied.size() == original.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    INFO(original[i].first);
    CHECK(copied[i].first == original[i].first);
    CHECK(copied[i].second.to_vector() == before[i]);
    CHECK(copied[i].second.data() != original[i].second.data());  // own storage
  }
  REQUIRE(copy.parameters().size() == model.parameters().size());
  for (std::size_t i = 0; i < model.parameters().size(); ++i) CHECK_FALSE(copy.parameters()[i].is_same(model.parameters()[i]));

  optim::SGD<double> opt(copy.parameters(), 0.1);
  const Tensor<double> x = randn<double>(Shape{8, 4}, gen);
  const Tensor<std::int64_t> y = Tensor<std::int64_t>(Shape{8}, std::vector<std::int64_t>{0, 1, 1, 0, 1, 0, 0, 1});
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    cross_entropy(copy(Var<double>(x, false)), y).backward();
    opt.step();
  }
  for (std::size_t i = 0; i < original.size(); ++i) {
    INFO(original[i].first);
    CHECK(original[i].second.to_vector() == before[i]);
  }
  CHECK(copy.state_dict()[0].second.to_vector() != before[0]);  // the copy did train
  CHECK(copy.state_dict()[6].second.item() == 3.0);            // 1.num_batches_tracked
  CHECK(model.state_dict()[6].second.item() == 0.0);
  for (const auto& p : model.parameters()) CHECK_FALSE(p.grad().defined());

  // A layer shared by two slots stays one shared layer in the copy.
  auto shared = std::make_shared<nn::Linear<double>>(3, 3, true, gen);
  nn::Sequential<double> tied;
  tied.push_back(shared);
  tied.push_back(shared);
  nn::Sequential<double> tied_copy = tied.clone();
  CHECK(&tied_copy[0] == &tied_copy[1]);
  CHECK(&tied_copy[0] != &tied[0]);
  CHECK(tied_copy.parameters().size() == 2);
}

namespace {

// One run of the resume test: MLP with dropout on 16 samples, batches of 4
// drawn by a shuffle generator, input noise from the dropout generator
// (17 normals a step, so a Box-Muller spare is pending at each checkpoint).
struct ModuleApiRun {
  Generator dropout_gen;
  Generator shuffle_gen;
  nn::Sequential<float> model;
  optim::Adam<float> opt;

  ModuleApiRun(std::uint64_t seed, std::uint64_t init_seed)
      : dropout_gen(seed), shuffle_gen(seed + 1), model(make(init_seed, dropout_gen)), opt(model.parameters(), 0.01) {}

  static nn::Sequential<float> make(std::uint64_t init_seed, Generator& dropout) {
    Generator init(init_seed);
    return nn::Sequential<float>(nn::Linear<float>(4, 8, true, init), nn::ReLU<float>(), nn::Dropout<float>(0.3, dropout),
                                 nn::Linear<float>(8, 3, true, init));
  }

  float step(const Tensor<float>& data, const Tensor<std::int64_t>& labels) {
    Tensor<float> x = Tensor<float>::empty(Shape{4, 4});
    Tensor<std::int64_t> y = Tensor<std::int64_t>::empty(Shape{4});
    for (std::int64_t i = 0; i < 4; ++i) {
      const auto row = static_cast<std::int64_t>(shuffle_gen.below(16));
      for (std::int64_t j = 0; j < 4; ++j) x.data()[i * 4 + j] = data.data()[row * 4 + j];
      y.data()[i] = labels.data()[row];
    }
    x = add(x, randn<float>(Shape{4, 4}, dropout_gen, 0.0f, 0.05f));
    const float jitter = static_cast<float>(dropout_gen.normal()) * 1e-3f;
    opt.zero_grad();
    const Var<float> loss = cross_entropy(model(Var<float>(mul(x, 1.0f + jitter), false)), y);
    loss.backward();
    opt.step();
    return loss.item();
  }
};

}  // namespace

TEST_CASE("a checkpoint with the generators resumes a dropout + shuffling run bit for bit",
          "[nn][module_api][checkpoint]") {
  Generator data_gen(99);
  const Tensor<float> data = randn<float>(Shape{16, 4}, data_gen);
  const Tensor<std::int64_t> labels = randint<std::int64_t>(0, 3, Shape{16}, data_gen);
  constexpr int steps = 12, checkpoint_at = 5;
  nabla::io_test::TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");

  ModuleApiRun straight(7, 1);
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s) {
    losses.push_back(straight.step(data, labels));
    if (s + 1 == checkpoint_at) {
      io::save_checkpoint(path, straight.model, straight.opt, straight.dropout_gen, straight.shuffle_gen);
      CHECK(straight.dropout_gen.state().has_spare_normal);
    }
  }

  // Fresh module, optimizer and generators (other seeds and init), restored.
  ModuleApiRun resumed(1234, 2);
  CHECK(io::load_checkpoint(path, resumed.model, resumed.opt, resumed.dropout_gen, resumed.shuffle_gen).complete());
  CHECK(resumed.dropout_gen.initial_seed() == 7);
  for (int s = checkpoint_at; s < steps; ++s) {
    INFO("step " << s);
    CHECK(resumed.step(data, labels) == losses[static_cast<std::size_t>(s)]);
  }
  const auto a = straight.model.state_dict();
  const auto b = resumed.model.state_dict();
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].second.to_vector() == b[i].second.to_vector());
  }
  CHECK(straight.dropout_gen.state() == resumed.dropout_gen.state());
  CHECK(straight.shuffle_gen.state() == resumed.shuffle_gen.state());

  // Without the generators the run diverges (the test can fail).
  ModuleApiRun partial(1234, 2);
  io::load_checkpoint(path, partial.model, partial.opt, io::LoadOptions{.strict = false});
  bool differs = false;
  for (int s = checkpoint_at; s < steps; ++s) differs = differs || partial.step(data, labels) != losses[static_cast<std::size_t>(s)];
  CHECK(differs);
}

TEST_CASE("checkpoints without generators still load; missing or extra generator states are reported",
          "[nn][module_api][checkpoint][errors]") {
  nabla::io_test::TempDir dir;
  const std::string old_path = dir.file("old.safetensors");
  const std::string new_path = dir.file("new.safetensors");
  ModuleApiRun run(3, 4);
  io::save_checkpoint(old_path, run.model, run.opt);
  io::save_checkpoint(new_path, run.model, run.opt, run.dropout_gen);
  CHECK(io::read_safetensors(old_path).metadata.at("version") == "1");
  CHECK(io::read_safetensors(new_path).metadata.at("version") == "2");

  ModuleApiRun other(8, 9);
  CHECK(io::load_checkpoint(old_path, other.model, other.opt).complete());
  const GeneratorState untouched = other.dropout_gen.state();
  CHECK_THROWS_WITH(io::load_checkpoint(old_path, other.model, other.opt, other.dropout_gen),
                    "load_checkpoint: " + old_path + ": no state for generator rng.0; nothing was loaded "
                    "(LoadOptions{.strict = false} loads what matches)");
  CHECK(other.dropout_gen.state() == untouched);
  const auto report = io::load_checkpoint(old_path, other.model, other.opt, io::LoadOptions{.strict = false}, other.dropout_gen);
  CHECK(report.missing == std::vector<std::string>{"rng.0"});
  CHECK(other.dropout_gen.state() == untouched);

  CHECK_THROWS_WITH(io::load_checkpoint(new_path, other.model, other.opt),
                    Catch::Contains("generator states without a generator to load them into: rng.0"));
  CHECK(io::load_checkpoint(new_path, other.model, other.opt, io::LoadOptions{.strict = false}).unexpected ==
        std::vector<std::string>{"rng.0"});
  CHECK(io::load_checkpoint(new_path, other.model, other.opt, other.dropout_gen).complete());
  CHECK(other.dropout_gen.state() == run.dropout_gen.state());

  // A malformed generator entry is refused before anything is written.
  io::write_safetensors(new_path, {{"rng.0", Tensor<float>(Shape{7})}});
  CHECK_THROWS_WITH(io::load_checkpoint(new_path, other.model, other.opt, io::LoadOptions{.strict = false}, other.shuffle_gen),
                    "load_checkpoint: " + new_path + ": entry 'rng.0' is not a generator state (expected I64 of shape "
                    "[7], got F32 [7])");
  io::write_safetensors(new_path, {{"rng.0", Tensor<std::int64_t>(Shape{7})}});
  CHECK_THROWS_WITH(io::load_checkpoint(new_path, other.model, other.opt, io::LoadOptions{.strict = false}, other.shuffle_gen),
                    Catch::EndsWith("entry 'rng.0' is not a valid generator state"));
}

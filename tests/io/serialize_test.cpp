// save_weights / load_weights / checkpoints against the module and optimizer
// interfaces, with PyTorch's files, and never a partly loaded module.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "../support/fixture.hpp"
#include "helpers.hpp"
#include "nabla/io/serialize.hpp"

using nabla::IOError;
using nabla::Shape;
using nabla::Tensor;
using nabla::Var;
using nabla::io::load_checkpoint;
using nabla::io::load_weights;
using nabla::io::LoadOptions;
using nabla::io::read_safetensors;
using nabla::io::save_checkpoint;
using nabla::io::save_weights;
using nabla::io_test::fake_mlp;
using nabla::io_test::fake_mlp_forward;
using nabla::io_test::FakeModule;
using nabla::io_test::FakeOptimizer;
using nabla::io_test::fixture_file;
using nabla::io_test::read_bytes;
using nabla::io_test::TempDir;
using nabla::io_test::write_bytes;

namespace {

template <class T>
void check_untouched(const FakeModule<T>& m, T fill) {
  for (const auto& [name, p] : m.params) {
    INFO(name);
    for (T v : p.value().to_vector()) CHECK(v == fill);
  }
}

template <class T>
FakeModule<T> batchnorm_module() {
  FakeModule<T> m;
  m.params = {{"weight", Var<T>(Tensor<T>(Shape{3}))}, {"bias", Var<T>(Tensor<T>(Shape{3}))}};
  m.buffers = {{"running_mean", Tensor<T>(Shape{3})},
               {"running_var", Tensor<T>(Shape{3})},
               {"num_batches_tracked", Tensor<T>(Shape{})}};
  return m;
}

}  // namespace

TEMPLATE_TEST_CASE("load_weights loads PyTorch's MLP and reproduces its outputs", "[io][serialize][fixture]", float,
                   double) {
  const auto c = nabla::testing::fixture("io").get("mlp");
  const double tol = std::is_same_v<TestType, float> ? 1e-6 : 1e-12;
  for (const char* file : {"mlp_f32.safetensors", "mlp_f64.safetensors"}) {
    INFO(file);
    auto m = fake_mlp<TestType>();
    const Tensor<TestType> weight_before = m.param("0.weight");  // same storage after the load
    const auto report = load_weights(m, fixture_file(file));
    CHECK(report.complete());
    CHECK(m.param("0.weight").is_same(weight_before));
    for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias"}) {
      nabla::testing::require_close(m.param(name), c.tensor<double>(name), 0, 0);
    }
    const Tensor<TestType> y = fake_mlp_forward(m, c.tensor<TestType>("x"));
    nabla::testing::require_close(y, c.tensor<double>(std::is_same_v<TestType, float> ? "y_f32" : "y_f64"), tol, tol);
  }
}

TEMPLATE_TEST_CASE("save_weights then load_weights round-trips parameters and buffers", "[io][serialize]", float,
                   double) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  auto src = fake_mlp<TestType>(TestType{0});
  nabla::Generator gen(3);
  for (auto& [name, p] : src.params) {
    TestType* d = p.value().data();
    for (std::int64_t i = 0; i < p.numel(); ++i) d[i] = static_cast<TestType>(gen.normal());
  }
  src.buffers = {{"stats", Tensor<TestType>(Shape{2}, {TestType(0.25), TestType(-4)})}};
  save_weights(src, path, {{"epoch", "3"}});

  const auto file = read_safetensors(path);
  CHECK(file.metadata.at("epoch") == "3");
  REQUIRE(file.tensors.size() == 5);
  CHECK(file.tensors[0].first == "0.weight");
  CHECK(file.tensors[4].first == "stats");
  CHECK(nabla::io::dtype_of(file.tensors[0].second) ==
        (std::is_same_v<TestType, float> ? nabla::io::Dtype::f32 : nabla::io::Dtype::f64));

  auto dst = fake_mlp<TestType>();
  dst.buffers = {{"stats", Tensor<TestType>(Shape{2})}};
  CHECK(load_weights(dst, path).complete());
  for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias", "stats"}) {
    INFO(name);
    CHECK(dst.param(name).to_vector() == src.param(name).to_vector());
  }
}

TEST_CASE("load_weights converts F64 to float and F32 to double", "[io][serialize]") {
  const auto c = nabla::testing::fixture("io").get("mlp");
  auto f = fake_mlp<float>();
  load_weights(f, fixture_file("mlp_f64.safetensors"));
  nabla::testing::require_close(f.param("2.weight"), c.tensor<double>("2.weight"), 0, 0);
  auto d = fake_mlp<double>();
  load_weights(d, fixture_file("mlp_f32.safetensors"));
  nabla::testing::require_close(d.param("2.weight"), c.tensor<double>("2.weight"), 0, 0);
}

TEST_CASE("BatchNorm's I64 counter loads, and saves back as I64", "[io][serialize][fixture]") {
  const auto c = nabla::testing::fixture("io").get("batchnorm");
  auto m = batchnorm_module<float>();
  CHECK(load_weights(m, fixture_file("batchnorm.safetensors")).complete());
  for (const char* name : {"weight", "bias", "running_mean", "running_var"}) {
    nabla::testing::require_close(m.param(name), c.tensor<double>(name), 0, 0);
  }
  CHECK(m.param("num_batches_tracked").item() == 3.0f);

  TempDir dir;
  save_weights(m, dir.file("bn.safetensors"));
  const auto file = read_safetensors(dir.file("bn.safetensors"));
  for (const auto& [name, t] : file.tensors) {
    INFO(name);
    CHECK(nabla::io::dtype_of(t) == (name == "num_batches_tracked" ? nabla::io::Dtype::i64 : nabla::io::Dtype::f32));
  }
}

TEST_CASE("a one-element tensor loads into [] and [1] alike", "[io][serialize]") {
  TempDir dir;
  const std::string path = dir.file("one.safetensors");
  nabla::io::write_safetensors(path, {{"scale", Tensor<double>(Shape{1}, {2.5})}});
  FakeModule<float> m;
  m.params = {{"scale", Var<float>(Tensor<float>::scalar(0.0f))}};
  load_weights(m, path);
  CHECK(m.param("scale").shape() == Shape{});
  CHECK(m.param("scale").item() == 2.5f);
}

TEST_CASE("strict load_weights names missing and unexpected entries and loads nothing", "[io][serialize][errors]") {
  TempDir dir;
  const std::string path = dir.file("partial.safetensors");
  nabla::io::write_safetensors(path, {{"0.weight", Tensor<float>(Shape{3, 4})}, {"extra.thing", Tensor<float>(Shape{1})}});
  auto m = fake_mlp<float>();
  CHECK_THROWS_AS(load_weights(m, path), IOError);
  CHECK_THROWS_WITH(load_weights(m, path),
                    "load_weights: " + path + ": the file does not match the module: missing 3 (0.bias, 2.weight, "
                    "2.bias); unexpected 1 (extra.thing); nothing was loaded (LoadOptions{.strict = false} loads the "
                    "names that match)");
  check_untouched(m, -7.0f);
}

TEST_CASE("non-strict load_weights loads what matches and reports the rest", "[io][serialize]") {
  TempDir dir;
  const std::string path = dir.file("partial.safetensors");
  nabla::io::write_safetensors(path, {{"0.weight", nabla::full<float>(Shape{3, 4}, 1.5f)},
                                      {"extra.thing", Tensor<float>(Shape{1})}});
  auto m = fake_mlp<float>();
  const auto report = load_weights(m, path, LoadOptions{.strict = false});
  CHECK(report.missing == std::vector<std::string>{"0.bias", "2.weight", "2.bias"});
  CHECK(report.unexpected == std::vector<std::string>{"extra.thing"});
  CHECK_FALSE(report.complete());
  for (float v : m.param("0.weight").to_vector()) CHECK(v == 1.5f);
  for (float v : m.param("2.bias").to_vector()) CHECK(v == -7.0f);
}

TEST_CASE("a shape mismatch names the entry and both shapes, and loads nothing", "[io][serialize][errors]") {
  TempDir dir;
  const std::string path = dir.file("shapes.safetensors");
  // Every entry present; the last one has a transposed shape.
  nabla::io::write_safetensors(path, {{"0.weight", Tensor<float>(Shape{3, 4})},
                                      {"0.bias", Tensor<float>(Shape{3})},
                                      {"2.weight", Tensor<float>(Shape{3, 2})},
                                      {"2.bias", Tensor<float>(Shape{2})}});
  auto m = fake_mlp<float>();
  CHECK_THROWS_WITH(load_weights(m, path), "load_weights: " + path +
                                               ": shape mismatch for '2.weight': the file has [3, 2], the module has [2, 3]");
  CHECK_THROWS_WITH(load_weights(m, path, LoadOptions{.strict = false}), Catch::Contains("shape mismatch"));
  check_untouched(m, -7.0f);
}

TEST_CASE("corrupt or truncated weight files leave the module untouched", "[io][serialize][errors]") {
  TempDir dir;
  const std::string path = dir.file("broken.safetensors");
  const std::string good = read_bytes(fixture_file("mlp_f32.safetensors"));
  auto m = fake_mlp<float>();
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{100}, good.size() - 1}) {
    write_bytes(path, good.substr(0, n));
    CHECK_THROWS_WITH(load_weights(m, path), Catch::StartsWith("load_weights: " + path + ": "));
  }
  CHECK_THROWS_WITH(load_weights(m, dir.file("absent.safetensors")),
                    Catch::StartsWith("load_weights: cannot open " + dir.file("absent.safetensors")));
  // A file with an unsupported dtype is refused as a whole.
  std::string header = R"({"0.weight":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  write_bytes(path, bytes + header + "abcd");
  CHECK_THROWS_WITH(load_weights(m, path), Catch::Contains("entry '0.weight': dtype I32 is not supported"));
  check_untouched(m, -7.0f);
}

TEST_CASE("a module with duplicate names is reported", "[io][serialize][errors]") {
  TempDir dir;
  FakeModule<float> m;
  m.params = {{"w", Var<float>(Tensor<float>(Shape{1}))}, {"w", Var<float>(Tensor<float>(Shape{1}))}};
  CHECK_THROWS_WITH(save_weights(m, dir.file("dup.safetensors")), "save_weights: the tensor name 'w' appears twice");
  nabla::io::write_safetensors(dir.file("one.safetensors"), {{"w", Tensor<float>(Shape{1})}});
  CHECK_THROWS_WITH(load_weights(m, dir.file("one.safetensors")), "load_weights: the module has two entries named 'w'");
}

TEST_CASE("save_weights failing mid-write keeps the previous weights file", "[io][serialize][errors]") {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  auto m = fake_mlp<double>(1.0);
  save_weights(m, path);
  const std::string before = read_bytes(path);
  auto changed = fake_mlp<double>(2.0);
  for (std::int64_t n : {std::int64_t{0}, std::int64_t{8}, std::int64_t{50}, std::int64_t{200}, static_cast<std::int64_t>(before.size()) - 1}) {
    nabla::io::detail::AtomicWriteFailureGuard guard(n);
    CHECK_THROWS_WITH(save_weights(changed, path), Catch::Contains("save_weights: cannot write " + path));
    CHECK(read_bytes(path) == before);
  }
  CHECK(dir.entries() == std::vector<std::string>{"w.safetensors"});
}

TEST_CASE("checkpoints hold the module and the optimizer state under prefixes", "[io][serialize][checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  auto m = fake_mlp<float>(0.5f);
  FakeOptimizer<float> opt;
  opt.state = {{"0.momentum_buffer", nabla::full<float>(Shape{3, 4}, 0.25f)}, {"step", Tensor<float>::scalar(2.0f)}};
  save_checkpoint(path, m, opt);

  const auto file = read_safetensors(path);
  std::vector<std::string> names;
  for (const auto& [n, t] : file.tensors) names.push_back(n);
  CHECK(names == std::vector<std::string>{"model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias",
                                          "optim.0.momentum_buffer", "optim.step"});
  CHECK(file.metadata.at("format") == "nabla-checkpoint");

  auto m2 = fake_mlp<float>();
  FakeOptimizer<float> opt2;
  CHECK(load_checkpoint(path, m2, opt2).complete());
  for (float v : m2.param("2.weight").to_vector()) CHECK(v == 0.5f);
  REQUIRE(opt2.state.size() == 2);
  CHECK(opt2.state[0].first == "0.momentum_buffer");
  CHECK(opt2.state[0].second.to_vector() == std::vector<float>(12, 0.25f));
  CHECK(opt2.state[1].first == "step");
  CHECK(opt2.state[1].second.item() == 2.0f);
}

TEST_CASE("a checkpoint that does not fit leaves module and optimizer unchanged", "[io][serialize][checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  auto m = fake_mlp<float>(0.5f);
  FakeOptimizer<float> opt;
  opt.state = {{"step", Tensor<float>::scalar(2.0f)}};
  save_checkpoint(path, m, opt);

  SECTION("the optimizer refuses its state") {
    auto m2 = fake_mlp<float>();
    FakeOptimizer<float> opt2;
    opt2.refuse = true;
    CHECK_THROWS_WITH(load_checkpoint(path, m2, opt2), "FakeOptimizer::load_state_dict: refused");
    check_untouched(m2, -7.0f);
  }
  SECTION("the module does not match") {
    FakeModule<float> small;
    small.params = {{"0.weight", Var<float>(Tensor<float>(Shape{3, 4}).fill_(-7.0f))}};
    FakeOptimizer<float> opt2;
    CHECK_THROWS_WITH(load_checkpoint(path, small, opt2),
                      Catch::Contains("load_checkpoint: " + path + ": the file does not match the module: unexpected 3"));
    check_untouched(small, -7.0f);
    CHECK(opt2.state.empty());
    const auto report = load_checkpoint(path, small, opt2, LoadOptions{.strict = false});
    CHECK(report.unexpected == std::vector<std::string>{"model.0.bias", "model.2.bias", "model.2.weight"});
    CHECK(opt2.state.size() == 1);
  }
  SECTION("entries without a prefix") {
    nabla::io::write_safetensors(path, {{"model.0.weight", Tensor<float>(Shape{3, 4})}, {"stray", Tensor<float>(Shape{1})}});
    FakeModule<float> small;
    small.params = {{"0.weight", Var<float>(Tensor<float>(Shape{3, 4}).fill_(-7.0f))}};
    FakeOptimizer<float> opt2;
    CHECK_THROWS_WITH(load_checkpoint(path, small, opt2),
                      "load_checkpoint: " + path + ": entries without a 'model.' or 'optim.' prefix: stray");
    check_untouched(small, -7.0f);
  }
}

// Writes files for scripts/fixtures/io.py --check when NABLA_IO_EXPORT_DIR is
// set (a manual interop check; the suite never needs Python).
TEST_CASE("interop: files for the Python reader", "[io][serialize][interop]") {
  const char* out = std::getenv("NABLA_IO_EXPORT_DIR");
  if (!out) {
    SUCCEED("NABLA_IO_EXPORT_DIR not set; nothing exported");
    return;
  }
  const std::string dir(out);
  auto m = fake_mlp<float>();
  load_weights(m, fixture_file("mlp_f32.safetensors"));
  for (const auto& [name, p] : m.params) {
    float* d = p.value().data();
    for (std::int64_t i = 0; i < p.numel(); ++i) d[i] *= 2.0f;
  }
  save_weights(m, dir + "/nabla_mlp_x2_f32.safetensors", {{"writer", "nabla"}});
  auto d = fake_mlp<double>();
  load_weights(d, fixture_file("mlp_f32.safetensors"));
  save_weights(d, dir + "/nabla_mlp_f64.safetensors");
  auto bn = batchnorm_module<float>();
  load_weights(bn, fixture_file("batchnorm.safetensors"));
  save_weights(bn, dir + "/nabla_batchnorm.safetensors");
  nabla::io::write_safetensors(dir + "/nabla_mixed.safetensors",
                               {{"ints", Tensor<std::int64_t>(Shape{2, 3}, {1, -2, 3, 4, 5, -(std::int64_t{1} << 40)})},
                                {"empty", Tensor<float>(Shape{0, 3})},
                                {"scalar", Tensor<double>::scalar(0.125)}},
                               {{"a", "b"}});
  SUCCEED("exported to " << dir);
}

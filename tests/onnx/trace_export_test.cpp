// graph::trace -> onnx::save -> onnx::load: the traced MNIST MLP and CNN and
// the residual BatchNorm net pass ONNX's checker (inside save), load back,
// and run with the module's own outputs at two batch sizes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "graph/trace_models.hpp"
#include "nabla/graph.hpp"
#include "nabla/onnx.hpp"
#include "onnx_test_support.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

double trace_export_relative_diff(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(a.shape() == b.shape());
  return nabla::testing::trace_models::relative_diff(a, b);
}

// `t` as a little-endian float32 .npy file (format 1.0, C order).
void trace_export_write_npy(const std::string& path, const Tensor<float>& t) {
  const Tensor<float> c = t.contiguous();
  std::string shape;
  for (std::size_t i = 0; i < c.shape().size(); ++i) shape += (i ? ", " : "") + std::to_string(c.shape()[i]);
  if (c.shape().size() == 1) shape += ",";  // Python's one-element tuple
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  // NumPy pads the header to a multiple of 64 bytes, ending in a newline.
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const char length[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(length, 2);
  out << header;
  const auto data_bytes = static_cast<std::streamsize>(c.numel()) * static_cast<std::streamsize>(sizeof(float));
  out.write(reinterpret_cast<const char*>(c.data()), data_bytes);
  REQUIRE(out.good());
}

// Traces, saves, loads and runs `m`. NABLA_TRACE_EXPORT_DIR, when set, keeps
// a copy of the file and, per batch size n, <tag>.b<n>.input.npy with
// <tag>.b<n>.module.npy and <tag>.b<n>.session.npy (the module's and the
// runtime's outputs), for tests/onnx/ort_crosscheck.sh to run through
// ONNX Runtime.
void trace_export_check(nabla::nn::Module<float>& m, const std::string& tag, Shape sample, std::int64_t batch,
                        std::int64_t other_batch) {
  nabla::Generator gen(11);
  Shape example_shape = sample;
  example_shape.insert(0, batch);
  const nabla::graph::Graph traced = nabla::graph::trace(m, nabla::randn<float>(example_shape, gen));
  nabla::testing::onnx_support::ScratchDir dir("trace_" + tag);
  const std::string path = dir.file(tag + ".onnx");
  nabla::onnx::save(traced, path);
  const char* keep = std::getenv("NABLA_TRACE_EXPORT_DIR");
  if (keep) nabla::onnx::save(traced, std::string(keep) + "/" + tag + ".onnx");
  const nabla::graph::Graph loaded = nabla::onnx::load(path);
  CHECK(loaded.op_counts() == traced.op_counts());
  CHECK(loaded.initializers.size() == traced.initializers.size());
  REQUIRE(loaded.inputs.size() == 1);
  CHECK(loaded.inputs[0].name == "input");
  CHECK(loaded.inputs[0].shape[0].symbol == "batch");
  REQUIRE(loaded.outputs.size() == 1);
  CHECK(loaded.outputs[0].name == "output");
  nabla::graph::Session<float> session(loaded);
  m.eval();
  for (const std::int64_t n : {batch, other_batch}) {
    Shape shape = sample;
    shape.insert(0, n);
    const Tensor<float> x = nabla::randn<float>(shape, gen);
    Tensor<float> ref;
    {
      nabla::NoGradGuard no_grad;
      ref = m(Var<float>(x, false)).value();
    }
    INFO(tag << " at batch " << n);
    const Tensor<float> out = session.run({x})[0];
    CHECK(trace_export_relative_diff(out, ref) <= 1e-5);
    if (keep) {
      const std::string prefix = std::string(keep) + "/" + tag + ".b" + std::to_string(n);
      trace_export_write_npy(prefix + ".input.npy", x);
      trace_export_write_npy(prefix + ".module.npy", ref);
      trace_export_write_npy(prefix + ".session.npy", out);
    }
  }
}

}  // namespace

TEST_CASE("trace export: the MNIST MLP saves, loads and runs", "[onnx][trace]") {
  nabla::Generator gen(1);
  auto model = nabla::testing::trace_models::trace_mlp(gen);
  trace_export_check(*model, "mlp", Shape{784}, 4, 1);
}

TEST_CASE("trace export: the MNIST CNN saves, loads and runs", "[onnx][trace]") {
  nabla::Generator gen(2);
  auto model = nabla::testing::trace_models::trace_cnn(gen);
  trace_export_check(*model, "cnn", Shape{1, 28, 28}, 2, 3);
}

TEST_CASE("trace export: BatchNorm, Dropout and residual adds save, load and run", "[onnx][trace]") {
  nabla::Generator gen(3);
  nabla::testing::trace_models::TraceResidualNet model(gen);
  {
    nabla::NoGradGuard no_grad;
    model.train();
    for (int i = 0; i < 3; ++i) model(Var<float>(nabla::randn<float>(Shape{6, 3, 8, 8}, gen, 0.5f, 2.0f), false));
  }
  trace_export_check(model, "residual", Shape{3, 8, 8}, 2, 5);
}

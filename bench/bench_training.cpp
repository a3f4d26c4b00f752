// Training steps and inference latency of the two MNIST models, built from
// nabla::nn modules and optim::SGD: MLP 784-256-128-10 and the LeNet-style CNN,
// batch 64, forward + cross_entropy + backward + SGD (momentum 0.9) step; and
// batch-1 forward latency under NoGradGuard. In-process baseline: the same MLP
// step hand-written on raw Eigen with preallocated buffers.
// Peer: bench/peers/torch_training.py. Arg: threads (NABLA_BENCH_THREADS).
#include <benchmark/benchmark.h>

// <Eigen/Core> through nabla, which silences GCC 12's AVX-512 false positives in it.
#include "nabla/core/eigen_interop.hpp"

#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>

#include "bench_threads.hpp"
#include "nabla/autograd.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/nn.hpp"
#include "nabla/optim.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;
namespace nn = nabla::nn;

constexpr std::int64_t batch = 64;
constexpr double lr = 0.05;
constexpr double momentum = 0.9;

std::unique_ptr<nn::Sequential<float>> make_mlp(nabla::Generator& gen) {
  return std::make_unique<nn::Sequential<float>>(nn::Linear<float>(784, 256, true, gen), nn::ReLU<float>(),
                                                 nn::Linear<float>(256, 128, true, gen), nn::ReLU<float>(),
                                                 nn::Linear<float>(128, 10, true, gen));
}

std::unique_ptr<nn::Sequential<float>> make_cnn(nabla::Generator& gen) {
  return std::make_unique<nn::Sequential<float>>(
      nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
      nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
      nn::Flatten<float>(), nn::Linear<float>(64 * 7 * 7, 128, true, gen), nn::ReLU<float>(),
      nn::Linear<float>(128, 10, true, gen));
}

Shape input_shape(bool cnn, std::int64_t n) { return cnn ? Shape{n, 1, 28, 28} : Shape{n, 784}; }

void train_step(benchmark::State& state, bool cnn) {
  const int threads = static_cast<int>(state.range(0));
  nabla::set_num_threads(threads);
  nabla::Generator gen(11);
  auto model = cnn ? make_cnn(gen) : make_mlp(gen);
  nabla::optim::SGD<float> optimizer(model->parameters(), nabla::optim::SGDOptions(lr).momentum(momentum));
  const Var<float> x(nabla::rand<float>(input_shape(cnn, batch), gen), false);
  const Tensor<std::int64_t> labels = nabla::randint<std::int64_t>(0, 10, Shape{batch}, gen);
  // One untimed step: the first one takes its buffers from the system (page
  // faults), later ones from the caching allocator. A CNN step lasts about
  // as long as the harness's minimum time, so an unwarmed run would time it.
  optimizer.zero_grad();
  nabla::cross_entropy((*model)(x), labels).backward();
  optimizer.step();
  for (auto _ : state) {
    optimizer.zero_grad();
    const Var<float> loss = nabla::cross_entropy((*model)(x), labels);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.value().data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["threads"] = nabla::get_num_threads();
  nabla::set_num_threads(1);
}

void infer_batch1(benchmark::State& state, bool cnn) {
  const int threads = static_cast<int>(state.range(0));
  nabla::set_num_threads(threads);
  nabla::Generator gen(12);
  auto model = cnn ? make_cnn(gen) : make_mlp(gen);
  model->eval();
  const Var<float> x(nabla::rand<float>(input_shape(cnn, 1), gen), false);
  nabla::NoGradGuard no_grad;
  for (auto _ : state) {
    const Var<float> y = (*model)(x);
    benchmark::DoNotOptimize(y.value().data());
  }
  state.counters["threads"] = nabla::get_num_threads();
  nabla::set_num_threads(1);
}

void BM_mlp_train_step(benchmark::State& state) { train_step(state, false); }
void BM_cnn_train_step(benchmark::State& state) { train_step(state, true); }
void BM_mlp_infer(benchmark::State& state) { infer_batch1(state, false); }
void BM_cnn_infer(benchmark::State& state) { infer_batch1(state, true); }

// ---- the MLP step on raw Eigen: the floor of what GEMMs on these shapes cost ----
using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Row = Eigen::Matrix<float, 1, Eigen::Dynamic>;

struct EigenLayer {
  Mat w, dw, vw;  // weight [out, in], its gradient and momentum buffer
  Row b, db, vb;
  EigenLayer(std::int64_t in, std::int64_t out)
      : w(Mat::Random(out, in) * (1.0f / std::sqrt(static_cast<float>(in)))),
        dw(out, in), vw(Mat::Zero(out, in)), b(Row::Zero(out)), db(out), vb(Row::Zero(out)) {}
  void sgd(bool first) {
    // buf = momentum * buf + g (buf = g on the first step); p -= lr * buf
    if (first) {
      vw = dw;
      vb = db;
    } else {
      vw = static_cast<float>(momentum) * vw + dw;
      vb = static_cast<float>(momentum) * vb + db;
    }
    w.noalias() -= static_cast<float>(lr) * vw;
    b.noalias() -= static_cast<float>(lr) * vb;
  }
};

void BM_mlp_train_step_eigen(benchmark::State& state) {
  nabla::set_num_threads(static_cast<int>(state.range(0)));
  EigenLayer l1(784, 256), l2(256, 128), l3(128, 10);
  const Mat x = Mat::Random(batch, 784).cwiseAbs();
  nabla::Generator gen(11);
  const Tensor<std::int64_t> labels = nabla::randint<std::int64_t>(0, 10, Shape{batch}, gen);
  Mat z1(batch, 256), h1(batch, 256), z2(batch, 128), h2(batch, 128), z3(batch, 10);
  Mat d3(batch, 10), d2(batch, 128), d1(batch, 256);
  bool first = true;
  for (auto _ : state) {
    z1.noalias() = x * l1.w.transpose();
    z1.rowwise() += l1.b;
    h1 = z1.cwiseMax(0.0f);
    z2.noalias() = h1 * l2.w.transpose();
    z2.rowwise() += l2.b;
    h2 = z2.cwiseMax(0.0f);
    z3.noalias() = h2 * l3.w.transpose();
    z3.rowwise() += l3.b;
    // cross-entropy (mean): dL/dz3 = (softmax(z3) - onehot) / N
    float loss = 0.0f;
    for (std::int64_t i = 0; i < batch; ++i) {
      const float m = z3.row(i).maxCoeff();
      d3.row(i) = (z3.row(i).array() - m).exp().matrix();
      const float s = d3.row(i).sum();
      const std::int64_t y = labels.data()[i];
      loss += std::log(s) + m - z3(i, y);
      d3.row(i) *= 1.0f / (s * static_cast<float>(batch));
      d3(i, y) -= 1.0f / static_cast<float>(batch);
    }
    l3.dw.noalias() = d3.transpose() * h2;
    l3.db = d3.colwise().sum();
    d2.noalias() = d3 * l3.w;
    d2 = (z2.array() > 0.0f).select(d2, 0.0f);
    l2.dw.noalias() = d2.transpose() * h1;
    l2.db = d2.colwise().sum();
    d1.noalias() = d2 * l2.w;
    d1 = (z1.array() > 0.0f).select(d1, 0.0f);
    l1.dw.noalias() = d1.transpose() * x;
    l1.db = d1.colwise().sum();
    l1.sgd(first);
    l2.sgd(first);
    l3.sgd(first);
    first = false;
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["threads"] = nabla::get_num_threads();
  nabla::set_num_threads(1);
}

}  // namespace

int main(int argc, char** argv) {
  using Fn = void (*)(benchmark::State&);
  const std::pair<const char*, Fn> list[] = {{"BM_mlp_train_step", BM_mlp_train_step},
                                             {"BM_mlp_train_step_eigen", BM_mlp_train_step_eigen},
                                             {"BM_cnn_train_step", BM_cnn_train_step},
                                             {"BM_mlp_infer", BM_mlp_infer},
                                             {"BM_cnn_infer", BM_cnn_infer}};
  for (const auto& [name, fn] : list) {
    for (const int t : nabla::bench::bench_threads()) {
      benchmark::RegisterBenchmark(name, fn)->Arg(t)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// Thread scaling of nabla's CNN and MLP training steps (batch 64, SGD momentum)
// and a 1024^3 matmul at 1, 2, 4, 8 and 16 threads, best of 5. A plain
// program (no Google Benchmark) so it can be built static and run on a
// machine with more cores; see bench/README.md "Thread scaling".
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include "nabla/nn.hpp"
#include "nabla/optim/sgd.hpp"
namespace nn = nabla::nn;
using clk = std::chrono::steady_clock;
template <class F> double best_of(F&& f, int reps) {
  double b = 1e9;
  for (int r = 0; r < reps; ++r) { auto t0 = clk::now(); f(); b = std::min(b, std::chrono::duration<double>(clk::now() - t0).count()); }
  return b;
}
int main() {
  std::printf("hardware threads: %u\n", std::thread::hardware_concurrency());
  for (int threads : {1, 2, 4, 8, 16}) {
    nabla::set_num_threads(threads);
    nabla::Generator gen(11);
    nn::Sequential<float> cnn(nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
        nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen), nn::ReLU<float>(), nn::MaxPool2d<float>(2),
        nn::Flatten<float>(), nn::Linear<float>(64 * 7 * 7, 128, true, gen), nn::ReLU<float>(), nn::Linear<float>(128, 10, true, gen));
    nn::Sequential<float> mlp(nn::Linear<float>(784, 256, true, gen), nn::ReLU<float>(), nn::Linear<float>(256, 128, true, gen), nn::ReLU<float>(), nn::Linear<float>(128, 10, true, gen));
    nabla::optim::SGD<float> oc(cnn.parameters(), nabla::optim::SGDOptions(0.05).momentum(0.9));
    nabla::optim::SGD<float> om(mlp.parameters(), nabla::optim::SGDOptions(0.05).momentum(0.9));
    const nabla::Var<float> xc(nabla::rand<float>(nabla::Shape{64, 1, 28, 28}, gen), false);
    const nabla::Var<float> xm(nabla::rand<float>(nabla::Shape{64, 784}, gen), false);
    const auto labels = nabla::randint<std::int64_t>(0, 10, nabla::Shape{64}, gen);
    auto step = [&](auto& model, auto& opt, const nabla::Var<float>& x) { opt.zero_grad(); auto loss = nabla::cross_entropy(model(x), labels); loss.backward(); opt.step(); };
    for (int i = 0; i < 3; ++i) step(cnn, oc, xc);
    const double tc = best_of([&] { for (int i = 0; i < 5; ++i) step(cnn, oc, xc); }, 5) / 5;
    for (int i = 0; i < 20; ++i) step(mlp, om, xm);
    const double tm = best_of([&] { for (int i = 0; i < 100; ++i) step(mlp, om, xm); }, 5) / 100;
    const auto a = nabla::rand<float>(nabla::Shape{1024, 1024}, gen), b = nabla::rand<float>(nabla::Shape{1024, 1024}, gen);
    const double tg = best_of([&] { auto c = nabla::matmul(a, b); }, 10);
    std::printf("threads %2d: cnn step %7.2f ms (%6.0f img/s)  mlp step %6.3f ms (%7.0f img/s)  matmul 1024 %6.2f ms (%5.0f GFLOP/s)\n", threads,
                tc * 1e3, 64 / tc, tm * 1e3, 64 / tm, tg * 1e3, 2.0 * 1024 * 1024 * 1024 / tg / 1e9);
  }
}

// Evaluating a model in eval() without a NoGradGuard records its ops (its
// parameters require grad), but a dropped result must free its graph at once,
// as in PyTorch: memory stays where a NoGradGuard run keeps it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"

namespace nn_eval_memory_test {

using namespace nabla;

inline nn::Sequential<float> make_cnn(Generator& gen) {
  return nn::Sequential<float>(nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(),
                               nn::MaxPool2d<float>(2),
                               nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen), nn::ReLU<float>(),
                               nn::MaxPool2d<float>(2), nn::Flatten<float>(), nn::Linear<float>(3136, 128, true, gen),
                               nn::ReLU<float>(), nn::Linear<float>(128, 10, true, gen));
}

// The most bytes the allocator has handed out after any of `forwards`
// evaluations whose results are dropped.
template <class F>
std::size_t peak_live_bytes(F&& forward, int forwards) {
  std::size_t peak = 0;
  for (int i = 0; i < forwards; ++i) {
    forward();
    peak = std::max(peak, allocator_stats().live_bytes);
  }
  return peak;
}

}  // namespace nn_eval_memory_test

// 60 forwards at batch 2 keep this fast under the sanitizers; the old tape
// kept all 60 (~700 entries, far below its 4,096-entry collection). The
// 500-forward, batch-64 peak RSS is bench/eval_memory.cpp's.
TEST_CASE("eval without NoGradGuard: dropped forwards of the MNIST CNN keep memory flat", "[nn][memory]") {
  using namespace nn_eval_memory_test;
  Generator gen(3);
  auto net = make_cnn(gen);
  net.eval();
  const Var<float> x(rand<float>(Shape{2, 1, 28, 28}, gen), false);
  const std::size_t tape_before = Tape<float>::current().size();
  float checksum = 0;
  const std::size_t guarded = peak_live_bytes(
      [&] {
        NoGradGuard no_grad;
        checksum += net(x).value().at({0, 0});
      },
      60);
  const std::size_t recorded = peak_live_bytes([&] { checksum += net(x).value().at({0, 0}); }, 60);
  INFO("peak live bytes over 60 forwards: " << recorded << " recorded, " << guarded << " under NoGradGuard");
  // Before: each forward's activations stayed on the tape until ~4,096
  // entries (about 340 forwards of this model; ~10 GB at batch 64).
  CHECK(static_cast<double>(recorded) <= 1.10 * static_cast<double>(guarded));
  CHECK(Tape<float>::current().size() == tape_before);
  CHECK(std::isfinite(checksum));
}

TEST_CASE("a dropped result frees its graph at once; values still held keep theirs", "[nn][memory]") {
  using namespace nabla;
  Var<double> w(ones<double>(Shape{3, 3}));
  const Var<double> x(ones<double>(Shape{2, 3}), false);
  Tape<double>& tape = Tape<double>::current();
  const std::size_t start = tape.size();
  {
    const Var<double> y = relu(matmul(x, w) * 2.0);
    CHECK(tape.size() == start + 3);
  }
  CHECK(tape.size() == start);  // matmul, mul and relu freed with y
  const Var<double> h = matmul(x, w);
  {
    const Var<double> z = sum(relu(h));
    CHECK(tape.size() == start + 3);
  }
  CHECK(tape.size() == start + 1);  // z's ops are gone, h's matmul stays
  sum(h * h).backward();  // and still differentiates: d/dw sum((x w)^2) = 2 x^T (x w)
  CHECK(w.grad().to_vector() == std::vector<double>(9, 12.0));
}

// Helpers shared by the io/ tests: a minimal module and optimizer with the
// interfaces io/ is written against, and fixture paths.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"
#include "temp_files.hpp"

namespace nabla::io_test {

inline std::string fixture_file(const std::string& name) {
  return std::string(NABLA_TEST_FIXTURE_DIR) + "/io/" + name;
}

// The smallest thing io/ treats as a module.
template <class T>
struct FakeModule {
  std::vector<std::pair<std::string, Var<T>>> params;
  std::vector<std::pair<std::string, Tensor<T>>> buffers;

  std::vector<std::pair<std::string, Var<T>>> named_parameters() const { return params; }
  std::vector<std::pair<std::string, Tensor<T>>> named_buffers() const { return buffers; }

  Tensor<T> param(const std::string& name) const {
    for (const auto& [n, p] : params) {
      if (n == name) return p.value();
    }
    for (const auto& [n, b] : buffers) {
      if (n == name) return b;
    }
    throw ValueError("FakeModule: no entry " + name);
  }
};

// The shapes of nn.Sequential(Linear(4, 3), ReLU(), Linear(3, 2)), filled
// with `fill` so tests can tell loaded values from untouched ones.
template <class T>
FakeModule<T> fake_mlp(T fill = T{-7}) {
  FakeModule<T> m;
  auto make = [&](Shape s) { return Var<T>(Tensor<T>::empty(s).fill_(fill)); };
  m.params = {{"0.weight", make({3, 4})}, {"0.bias", make({3})}, {"2.weight", make({2, 3})}, {"2.bias", make({2})}};
  return m;
}

// y = relu(x W0^T + b0) W2^T + b2, by hand.
template <class T>
Tensor<T> fake_mlp_forward(const FakeModule<T>& m, const Tensor<T>& x) {
  const Tensor<T> w0 = m.param("0.weight"), b0 = m.param("0.bias"), w2 = m.param("2.weight"), b2 = m.param("2.bias");
  const std::int64_t n = x.size(0);
  Tensor<T> y(Shape{n, 2});
  for (std::int64_t i = 0; i < n; ++i) {
    T hidden[3];
    for (int h = 0; h < 3; ++h) {
      T acc = b0(h);
      for (int k = 0; k < 4; ++k) acc += x(i, k) * w0(h, k);
      hidden[h] = acc > T{0} ? acc : T{0};
    }
    for (int o = 0; o < 2; ++o) {
      T acc = b2(o);
      for (int h = 0; h < 3; ++h) acc += hidden[h] * w2(o, h);
      y(i, o) = acc;
    }
  }
  return y;
}

// The smallest thing io/ treats as an optimizer.
template <class T>
struct FakeOptimizer {
  using StateDict = std::vector<std::pair<std::string, Tensor<T>>>;
  StateDict state;
  bool refuse = false;

  StateDict state_dict() const { return state; }
  void load_state_dict(const StateDict& s) {
    if (refuse) throw ValueError("FakeOptimizer::load_state_dict: refused");
    state = s;
  }
};

}  // namespace nabla::io_test

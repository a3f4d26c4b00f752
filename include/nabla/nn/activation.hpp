// Activation layers: ReLU, LeakyReLU, GELU, Sigmoid, Tanh, SiLU, Softmax and
// LogSoftmax (stateless; the functional forms live in nn/functional.hpp).
#pragma once

#include <cstdint>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

template <class T>
class ReLU : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return functional::relu(x); }
};

template <class T>
class LeakyReLU : public Module<T> {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
  Var<T> forward(const Var<T>& x) override { return functional::leaky_relu(x, negative_slope_); }
  double negative_slope() const noexcept { return negative_slope_; }

 private:
  double negative_slope_;
};

// Exact (erf) GELU, or its tanh approximation (PyTorch's approximate="tanh").
template <class T>
class GELU : public Module<T> {
 public:
  explicit GELU(bool tanh_approximation = false) : tanh_approximation_(tanh_approximation) {}
  Var<T> forward(const Var<T>& x) override { return functional::gelu(x, tanh_approximation_); }

 private:
  bool tanh_approximation_;
};

template <class T>
class Sigmoid : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return functional::sigmoid(x); }
};

template <class T>
class Tanh : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return functional::tanh(x); }
};

template <class T>
class SiLU : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return functional::silu(x); }
};

template <class T>
class Softmax : public Module<T> {
 public:
  explicit Softmax(std::int64_t axis) : axis_(axis) {}
  Var<T> forward(const Var<T>& x) override { return functional::softmax(x, axis_); }
  std::int64_t axis() const noexcept { return axis_; }

 private:
  std::int64_t axis_;
};

template <class T>
class LogSoftmax : public Module<T> {
 public:
  explicit LogSoftmax(std::int64_t axis) : axis_(axis) {}
  Var<T> forward(const Var<T>& x) override { return functional::log_softmax(x, axis_); }
  std::int64_t axis() const noexcept { return axis_; }

 private:
  std::int64_t axis_;
};

}  // namespace nabla::nn

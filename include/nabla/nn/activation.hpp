// Activation layers: ReLU, LeakyReLU, GELU, Sigmoid, Tanh, SiLU, Softmax and
// LogSoftmax (stateless; the functional forms live in nn/functional.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

template <class T>
class ReLU : public Cloneable<ReLU<T>, T> {
 public:
  ReLU() = default;
  template <class U>
  ReLU(const ReLU<U>& other, detail::CopyTag) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::relu(x); }
  std::string name() const override { return "ReLU"; }
};

template <class T>
class LeakyReLU : public Cloneable<LeakyReLU<T>, T> {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
  template <class U>
  LeakyReLU(const LeakyReLU<U>& other, detail::CopyTag) : negative_slope_(other.negative_slope()) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::leaky_relu(x, negative_slope_); }
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override { return "negative_slope=" + detail::python_float(negative_slope_); }
  double negative_slope() const noexcept { return negative_slope_; }

 private:
  double negative_slope_;
};

// Exact (erf) GELU, or its tanh approximation (PyTorch's approximate="tanh").
template <class T>
class GELU : public Cloneable<GELU<T>, T> {
 public:
  explicit GELU(bool tanh_approximation = false) : tanh_approximation_(tanh_approximation) {}
  template <class U>
  GELU(const GELU<U>& other, detail::CopyTag) : tanh_approximation_(other.tanh_approximation()) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::gelu(x, tanh_approximation_); }
  std::string name() const override { return "GELU"; }
  std::string extra_repr() const override { return tanh_approximation_ ? "approximate='tanh'" : "approximate='none'"; }
  bool tanh_approximation() const noexcept { return tanh_approximation_; }

 private:
  bool tanh_approximation_;
};

template <class T>
class Sigmoid : public Cloneable<Sigmoid<T>, T> {
 public:
  Sigmoid() = default;
  template <class U>
  Sigmoid(const Sigmoid<U>& other, detail::CopyTag) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::sigmoid(x); }
  std::string name() const override { return "Sigmoid"; }
};

template <class T>
class Tanh : public Cloneable<Tanh<T>, T> {
 public:
  Tanh() = default;
  template <class U>
  Tanh(const Tanh<U>& other, detail::CopyTag) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::tanh(x); }
  std::string name() const override { return "Tanh"; }
};

template <class T>
class SiLU : public Cloneable<SiLU<T>, T> {
 public:
  SiLU() = default;
  template <class U>
  SiLU(const SiLU<U>& other, detail::CopyTag) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::silu(x); }
  std::string name() const override { return "SiLU"; }
};

template <class T>
class Softmax : public Cloneable<Softmax<T>, T> {
 public:
  explicit Softmax(std::int64_t axis) : axis_(axis) {}
  template <class U>
  Softmax(const Softmax<U>& other, detail::CopyTag) : axis_(other.axis()) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::softmax(x, axis_); }
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override { return detail::message("dim=", axis_); }
  std::int64_t axis() const noexcept { return axis_; }

 private:
  std::int64_t axis_;
};

template <class T>
class LogSoftmax : public Cloneable<LogSoftmax<T>, T> {
 public:
  explicit LogSoftmax(std::int64_t axis) : axis_(axis) {}
  template <class U>
  LogSoftmax(const LogSoftmax<U>& other, detail::CopyTag) : axis_(other.axis()) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::log_softmax(x, axis_); }
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return detail::message("dim=", axis_); }
  std::int64_t axis() const noexcept { return axis_; }

 private:
  std::int64_t axis_;
};

}  // namespace nabla::nn

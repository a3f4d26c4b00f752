// Shape and regularisation layers: Flatten, Dropout, Identity.
#pragma once

#include <cstdint>
#include <string>

#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

// Collapses axes start..end (inclusive) into one; by default every axis but
// the batch axis, as torch.nn.Flatten.
template <class T>
class Flatten : public Cloneable<Flatten<T>, T> {
 public:
  explicit Flatten(std::int64_t start_axis = 1, std::int64_t end_axis = -1)
      : start_axis_(start_axis), end_axis_(end_axis) {}
  template <class U>
  Flatten(const Flatten<U>& other, detail::CopyTag) : start_axis_(other.start_axis()), end_axis_(other.end_axis()) {
    this->copy_registered_from(other);
  }
  Var<T> forward(const Var<T>& x) override { return functional::flatten(x, start_axis_, end_axis_); }
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override {
    return detail::message("start_dim=", start_axis_, ", end_dim=", end_axis_);
  }
  std::int64_t start_axis() const noexcept { return start_axis_; }
  std::int64_t end_axis() const noexcept { return end_axis_; }

 private:
  std::int64_t start_axis_;
  std::int64_t end_axis_;
};

// Zeroes each element with probability p while training and scales the rest
// by 1 / (1 - p); the identity in evaluation. Draws from `gen` when given
// (which must outlive the module), else from the calling thread's default
// generator.
template <class T>
class Dropout : public Cloneable<Dropout<T>, T> {
 public:
  explicit Dropout(double p = 0.5) : p_(p) { check(); }
  Dropout(double p, Generator& gen) : p_(p), gen_(&gen) { check(); }
  // A copy draws from the same generator as `other` (it is not owned).
  template <class U>
  Dropout(const Dropout<U>& other, detail::CopyTag) : p_(other.p()), gen_(other.generator()) {
    this->copy_registered_from(other);
  }
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override { return "p=" + detail::python_float(p_) + ", inplace=False"; }
  // The generator given at construction, or null (the default generator).
  Generator* generator() const noexcept { return gen_; }

  Var<T> forward(const Var<T>& x) override {
    return functional::dropout(x, p_, this->is_training(), gen_ ? *gen_ : default_generator());
  }
  double p() const noexcept { return p_; }

 private:
  void check() const {
    if (!(p_ >= 0.0 && p_ <= 1.0)) throw ValueError(detail::message("Dropout: probability ", p_, " is outside [0, 1]"));
  }

  double p_;
  Generator* gen_ = nullptr;
};

// Returns its input unchanged (a placeholder layer).
template <class T>
class Identity : public Cloneable<Identity<T>, T> {
 public:
  Identity() = default;
  template <class U>
  Identity(const Identity<U>& other, detail::CopyTag) {
    this->copy_registered_from(other);
  }
  std::string name() const override { return "Identity"; }
  Var<T> forward(const Var<T>& x) override { return x; }
};

}  // namespace nabla::nn

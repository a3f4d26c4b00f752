// SGD<T>: stochastic gradient descent with momentum, dampening, Nesterov
// momentum and weight decay, as torch.optim.SGD.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/kernels/optim.hpp"
#include "nabla/optim/optimizer.hpp"

namespace nabla::optim {

// SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4); each
// setter has a getter of the same name.
class SGDOptions {
 public:
  SGDOptions() = default;
  explicit SGDOptions(double lr) : lr_(lr) {}

  SGDOptions& lr(double v) { lr_ = v; return *this; }
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }

  double lr() const noexcept { return lr_; }
  double momentum() const noexcept { return momentum_; }
  double dampening() const noexcept { return dampening_; }
  bool nesterov() const noexcept { return nesterov_; }
  double weight_decay() const noexcept { return weight_decay_; }

 private:
  double lr_ = 0.01;
  double momentum_ = 0.0;
  double dampening_ = 0.0;
  bool nesterov_ = false;
  double weight_decay_ = 0.0;
};

// p -= lr * d with d = g + wd p, or with momentum buf = momentum buf +
// (1 - dampening) d (buf starts as the first d) and d = buf, or
// d + momentum buf for Nesterov. State: "<i>.momentum_buffer" when momentum != 0.
template <class T>
class SGD : public Optimizer<T> {
 public:
  SGD(std::vector<Var<T>> params, double lr, SGDOptions options = {})
      : SGD(std::move(params), options.lr(lr)) {}
  SGD(std::vector<Var<T>> params, const SGDOptions& options)
      : Optimizer<T>(std::move(params), options.lr(), "SGD", {"momentum_buffer"}, false), options_(options) {
    if (!(options.momentum() >= 0.0)) {
      throw ValueError(detail::message("SGD: momentum ", options.momentum(), " must not be negative"));
    }
    if (!(options.weight_decay() >= 0.0)) {
      throw ValueError(detail::message("SGD: weight_decay ", options.weight_decay(), " must not be negative"));
    }
    if (options.nesterov() && (options.momentum() <= 0.0 || options.dampening() != 0.0)) {
      throw ValueError(detail::message("SGD: Nesterov momentum requires a momentum and zero dampening (momentum ",
                                       options.momentum(), ", dampening ", options.dampening(), ")"));
    }
  }

  // The options, with lr() as set at construction (the live rate is lr()).
  const SGDOptions& options() const noexcept { return options_; }

 protected:
  void update(std::size_t index, T* p, const T* g, std::int64_t n, ParamState<T>& state) override {
    kernels::SgdConfig<T> c;
    c.lr = static_cast<T>(this->lr());
    c.momentum = static_cast<T>(options_.momentum());
    c.one_minus_dampening = static_cast<T>(1.0 - options_.dampening());
    c.weight_decay = static_cast<T>(options_.weight_decay());
    c.nesterov = options_.nesterov();
    T* buf = nullptr;
    if (options_.momentum() != 0.0) {
      Tensor<T>& b = state.buffers[0];
      c.first = !b.defined();
      if (c.first) b = Tensor<T>::empty(this->parameters()[index].shape());
      buf = b.data();
    }
    this->chunked(n, [&](std::int64_t lo, std::int64_t hi) {
      kernels::sgd_update(p + lo, g + lo, buf ? buf + lo : nullptr, hi - lo, c);
    });
  }

  std::uint32_t required_slots() const override { return options_.momentum() != 0.0 ? 1U : 0U; }

 private:
  SGDOptions options_;
};

}  // namespace nabla::optim

// Adam<T> and AdamW<T> (decoupled weight decay), as torch.optim.Adam/AdamW,
// with the AMSGrad variant.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/kernels/optim.hpp"
#include "nabla/optim/optimizer.hpp"

namespace nabla::optim {

// AdamOptions(1e-3).betas(0.9, 0.999).eps(1e-8).weight_decay(0).amsgrad(false);
// each setter has a getter of the same name. An unset weight decay means
// each optimizer's default: 0 for Adam, 0.01 for AdamW.
class AdamOptions {
 public:
  AdamOptions() = default;
  explicit AdamOptions(double lr) : lr_(lr) {}

  AdamOptions& lr(double v) { lr_ = v; return *this; }
  AdamOptions& betas(double beta1, double beta2) { beta1_ = beta1; beta2_ = beta2; return *this; }
  AdamOptions& eps(double v) { eps_ = v; return *this; }
  AdamOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdamOptions& amsgrad(bool v) { amsgrad_ = v; return *this; }

  double lr() const noexcept { return lr_; }
  double beta1() const noexcept { return beta1_; }
  double beta2() const noexcept { return beta2_; }
  double eps() const noexcept { return eps_; }
  double weight_decay() const noexcept { return weight_decay_.value_or(0.0); }
  bool has_weight_decay() const noexcept { return weight_decay_.has_value(); }
  bool amsgrad() const noexcept { return amsgrad_; }

 private:
  double lr_ = 1e-3;
  double beta1_ = 0.9;
  double beta2_ = 0.999;
  double eps_ = 1e-8;
  std::optional<double> weight_decay_;
  bool amsgrad_ = false;
};
using AdamWOptions = AdamOptions;

// The shared update; `decoupled` selects AdamW's weight decay. State per
// parameter: "<i>.exp_avg", "<i>.exp_avg_sq", "<i>.max_exp_avg_sq"
// (AMSGrad) and "<i>.step".
template <class T>
class AdamBase : public Optimizer<T> {
 public:
  const AdamOptions& options() const noexcept { return options_; }

 protected:
  AdamBase(std::vector<Var<T>> params, const AdamOptions& options, bool decoupled, const char* name)
      : Optimizer<T>(std::move(params), options.lr(), name, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, true),
        options_(options),
        decoupled_(decoupled) {
    if (!options_.has_weight_decay()) options_.weight_decay(decoupled ? 1e-2 : 0.0);
    auto in_unit = [](double b) { return b >= 0.0 && b < 1.0; };
    if (!in_unit(options.beta1()) || !in_unit(options.beta2())) {
      throw ValueError(detail::message(name, ": betas (", options.beta1(), ", ", options.beta2(),
                                              ") must be in [0, 1)"));
    }
    if (!(options.eps() >= 0.0)) {
      throw ValueError(detail::message(name, ": eps ", options.eps(), " must not be negative"));
    }
    if (!(options.weight_decay() >= 0.0)) {
      throw ValueError(detail::message(name, ": weight_decay ", options.weight_decay(),
                                              " must not be negative"));
    }
  }

  void update(std::size_t index, T* p, const T* g, std::int64_t n, ParamState<T>& state) override {
    Tensor<T>& m = state.buffers[0];
    Tensor<T>& v = state.buffers[1];
    Tensor<T>& vmax = state.buffers[2];
    if (!m.defined()) {
      m = this->new_buffer(index);
      v = this->new_buffer(index);
      if (options_.amsgrad()) vmax = this->new_buffer(index);
    }
    const std::int64_t step = ++state.step;
    const double lr = this->lr();
    const double b1 = options_.beta1();
    const double b2 = options_.beta2();
    // Scalars in double, as torch computes them in Python.
    const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(step));
    const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(step));
    kernels::AdamConfig<T> c;
    c.beta1 = static_cast<T>(b1);
    c.one_minus_beta1 = static_cast<T>(1.0 - b1);
    c.beta2 = static_cast<T>(b2);
    c.one_minus_beta2 = static_cast<T>(1.0 - b2);
    c.decoupled = decoupled_;
    c.weight_decay = static_cast<T>(options_.weight_decay());
    c.decay_factor = static_cast<T>(1.0 - lr * options_.weight_decay());
    c.neg_step_size = static_cast<T>(-(lr / bias_correction1));
    c.bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
    c.eps = static_cast<T>(options_.eps());
    T* mp = m.data();
    T* vp = v.data();
    T* vmaxp = options_.amsgrad() ? vmax.data() : nullptr;
    this->chunked(n, [&](std::int64_t lo, std::int64_t hi) {
      kernels::adam_update(p + lo, g + lo, mp + lo, vp + lo, vmaxp ? vmaxp + lo : nullptr, hi - lo, c);
    });
  }

  std::uint32_t required_slots() const override { return options_.amsgrad() ? 7U : 3U; }

 private:
  AdamOptions options_;
  bool decoupled_;
};

// Adam: the L2 weight decay is added to the gradient.
template <class T>
class Adam : public AdamBase<T> {
 public:
  Adam(std::vector<Var<T>> params, const AdamOptions& options = AdamOptions())
      : AdamBase<T>(std::move(params), options, false, "Adam") {}
  Adam(std::vector<Var<T>> params, double lr) : Adam(std::move(params), AdamOptions(lr)) {}
};

// AdamW: p *= 1 - lr * weight_decay before the Adam step (weight decay 0.01
// unless set).
template <class T>
class AdamW : public AdamBase<T> {
 public:
  AdamW(std::vector<Var<T>> params, const AdamOptions& options = AdamOptions())
      : AdamBase<T>(std::move(params), options, true, "AdamW") {}
  AdamW(std::vector<Var<T>> params, double lr) : AdamW(std::move(params), AdamWOptions(lr)) {}
};

}  // namespace nabla::optim

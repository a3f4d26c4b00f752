// RMSprop<T>: as torch.optim.RMSprop (smoothing alpha, eps, weight decay,
// momentum, centered).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/kernels/optim.hpp"
#include "nabla/optim/optimizer.hpp"

namespace nabla::optim {

// RMSpropOptions(1e-2).alpha(0.99).eps(1e-8).weight_decay(0).momentum(0).centered(false);
// each setter has a getter of the same name.
class RMSpropOptions {
 public:
  RMSpropOptions() = default;
  explicit RMSpropOptions(double lr) : lr_(lr) {}

  RMSpropOptions& lr(double v) { lr_ = v; return *this; }
  RMSpropOptions& alpha(double v) { alpha_ = v; return *this; }
  RMSpropOptions& eps(double v) { eps_ = v; return *this; }
  RMSpropOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  RMSpropOptions& momentum(double v) { momentum_ = v; return *this; }
  RMSpropOptions& centered(bool v) { centered_ = v; return *this; }

  double lr() const noexcept { return lr_; }
  double alpha() const noexcept { return alpha_; }
  double eps() const noexcept { return eps_; }
  double weight_decay() const noexcept { return weight_decay_; }
  double momentum() const noexcept { return momentum_; }
  bool centered() const noexcept { return centered_; }

 private:
  double lr_ = 1e-2;
  double alpha_ = 0.99;
  double eps_ = 1e-8;
  double weight_decay_ = 0.0;
  double momentum_ = 0.0;
  bool centered_ = false;
};

// State per parameter: "<i>.square_avg", "<i>.momentum_buffer" (momentum > 0),
// "<i>.grad_avg" (centered) and "<i>.step".
template <class T>
class RMSprop : public Optimizer<T> {
 public:
  RMSprop(std::vector<Var<T>> params, const RMSpropOptions& options = RMSpropOptions())
      : Optimizer<T>(std::move(params), options.lr(), "RMSprop", {"square_avg", "momentum_buffer", "grad_avg"}, true),
        options_(options) {
    auto non_negative = [](const char* what, double v) {
      if (!(v >= 0.0)) throw ValueError(detail::message("RMSprop: ", what, " ", v, " must not be negative"));
    };
    non_negative("alpha", options.alpha());
    non_negative("eps", options.eps());
    non_negative("weight_decay", options.weight_decay());
    non_negative("momentum", options.momentum());
  }
  RMSprop(std::vector<Var<T>> params, double lr) : RMSprop(std::move(params), RMSpropOptions(lr)) {}

  const RMSpropOptions& options() const noexcept { return options_; }

 protected:
  void update(std::size_t index, T* p, const T* g, std::int64_t n, ParamState<T>& state) override {
    Tensor<T>& sq = state.buffers[0];
    Tensor<T>& buf = state.buffers[1];
    Tensor<T>& ga = state.buffers[2];
    if (!sq.defined()) {
      sq = this->new_buffer(index);
      if (options_.momentum() > 0.0) buf = this->new_buffer(index);
      if (options_.centered()) ga = this->new_buffer(index);
    }
    ++state.step;
    kernels::RmspropConfig<T> c;
    c.lr = static_cast<T>(this->lr());
    c.alpha = static_cast<T>(options_.alpha());
    c.one_minus_alpha = static_cast<T>(1.0 - options_.alpha());
    c.eps = static_cast<T>(options_.eps());
    c.weight_decay = static_cast<T>(options_.weight_decay());
    c.momentum = static_cast<T>(options_.momentum());
    T* sqp = sq.data();
    T* bufp = options_.momentum() > 0.0 ? buf.data() : nullptr;
    T* gap = options_.centered() ? ga.data() : nullptr;
    this->chunked(n, [&](std::int64_t lo, std::int64_t hi) {
      kernels::rmsprop_update(p + lo, g + lo, sqp + lo, gap ? gap + lo : nullptr, bufp ? bufp + lo : nullptr,
                              hi - lo, c);
    });
  }

  std::uint32_t required_slots() const override {
    return 1U | (options_.momentum() > 0.0 ? 2U : 0U) | (options_.centered() ? 4U : 0U);
  }

 private:
  RMSpropOptions options_;
};

}  // namespace nabla::optim

// Learning-rate schedules (StepLR, CosineAnnealingLR, LinearWarmup,
// SequentialLR) as torch.optim.lr_scheduler, and gradient clipping
// (clip_grad_norm, clip_grad_value) as torch.nn.utils.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numbers>
#include <utility>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/core/error.hpp"
#include "nabla/optim/optimizer.hpp"

namespace nabla::optim {

// A schedule sets its optimizer's learning rate from the number of step()
// calls so far (the epoch, torch's last_epoch) and the optimizer's initial
// rate. Building one applies epoch 0, as torch does; call step() once per
// epoch (or iteration) after the optimizer's step(). The optimizer must
// outlive the schedule.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;

  void step() { set_epoch(epoch_ + 1); }
  // Jumps to `epoch` (e.g. when resuming) and applies its rate.
  void set_epoch(std::int64_t epoch) {
    epoch_ = epoch;
    last_lr_ = lr_at(epoch);
    optimizer_->set_lr(last_lr_);
  }
  std::int64_t last_epoch() const noexcept { return epoch_; }
  double last_lr() const noexcept { return last_lr_; }
  double base_lr() const noexcept { return base_lr_; }
  OptimizerBase& optimizer() const noexcept { return *optimizer_; }

  // The rate at `epoch` (closed form, from base_lr()).
  virtual double lr_at(std::int64_t epoch) const = 0;

 protected:
  explicit LRScheduler(OptimizerBase& optimizer) : optimizer_(&optimizer) {
    if (!optimizer.initial_lr_) optimizer.initial_lr_ = optimizer.lr();
    base_lr_ = *optimizer.initial_lr_;
  }
  // Derived constructors call this last (lr_at is virtual).
  void initial_step() { set_epoch(0); }

 private:
  OptimizerBase* optimizer_;
  double base_lr_ = 0.0;
  double last_lr_ = 0.0;
  std::int64_t epoch_ = 0;
};

// base_lr * gamma^(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(OptimizerBase& optimizer, std::int64_t step_size, double gamma = 0.1)
      : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
    if (step_size <= 0) throw ValueError(detail::message("StepLR: step_size ", step_size, " must be positive"));
    initial_step();
  }
  double lr_at(std::int64_t epoch) const override {
    return base_lr() * std::pow(gamma_, static_cast<double>(epoch / step_size_));
  }

 private:
  std::int64_t step_size_;
  double gamma_;
};

// eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(OptimizerBase& optimizer, std::int64_t t_max, double eta_min = 0.0)
      : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
    if (t_max <= 0) throw ValueError(detail::message("CosineAnnealingLR: T_max ", t_max, " must be positive"));
    initial_step();
  }
  double lr_at(std::int64_t epoch) const override {
    const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
    return eta_min_ + (base_lr() - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
  }

 private:
  std::int64_t t_max_;
  double eta_min_;
};

// Linear ramp of the factor from start_factor to end_factor over
// warmup_steps epochs, then end_factor (torch's LinearLR). Follow it with
// another schedule through SequentialLR.
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(OptimizerBase& optimizer, std::int64_t warmup_steps, double start_factor = 1.0 / 3.0,
               double end_factor = 1.0)
      : LRScheduler(optimizer), warmup_steps_(warmup_steps), start_factor_(start_factor), end_factor_(end_factor) {
    if (warmup_steps <= 0) {
      throw ValueError(detail::message("LinearWarmup: warmup_steps ", warmup_steps, " must be positive"));
    }
    if (!(start_factor > 0.0 && start_factor <= 1.0) || !(end_factor >= 0.0 && end_factor <= 1.0)) {
      throw ValueError(detail::message("LinearWarmup: start_factor ", start_factor, " must be in (0, 1] and end_factor ",
                                       end_factor, " in [0, 1]"));
    }
    initial_step();
  }
  double lr_at(std::int64_t epoch) const override {
    const double t = static_cast<double>(std::min(epoch, warmup_steps_)) / static_cast<double>(warmup_steps_);
    return base_lr() * (start_factor_ + (end_factor_ - start_factor_) * t);
  }

 private:
  std::int64_t warmup_steps_;
  double start_factor_;
  double end_factor_;
};

// Runs schedules one after another: schedule k takes over at milestone k-1
// and counts its epochs from there (torch's SequentialLR), e.g. a warm-up
// then cosine annealing:
//   auto warm = std::make_shared<LinearWarmup>(opt, 5, 0.1);
//   auto cosine = std::make_shared<CosineAnnealingLR>(opt, 95);
//   SequentialLR schedule(opt, {warm, cosine}, {5});
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(OptimizerBase& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedules,
               std::vector<std::int64_t> milestones)
      : LRScheduler(optimizer), schedules_(std::move(schedules)), milestones_(std::move(milestones)) {
    if (schedules_.empty() || milestones_.size() + 1 != schedules_.size()) {
      throw ValueError(detail::message("SequentialLR: expected one more schedule than milestones, got ",
                                       schedules_.size(), " schedules and ", milestones_.size(), " milestones"));
    }
    for (std::size_t i = 0; i < schedules_.size(); ++i) {
      if (!schedules_[i] || &schedules_[i]->optimizer() != &optimizer) {
        throw ValueError(detail::message("SequentialLR: schedule ", i, " is null or belongs to another optimizer"));
      }
    }
    if (!std::is_sorted(milestones_.begin(), milestones_.end())) {
      throw ValueError("SequentialLR: milestones must be in increasing order");
    }
    initial_step();
  }
  double lr_at(std::int64_t epoch) const override {
    const auto k = static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) -
                                            milestones_.begin());
    const std::int64_t start = k == 0 ? 0 : milestones_[k - 1];
    return schedules_[k]->lr_at(epoch - start);
  }

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedules_;
  std::vector<std::int64_t> milestones_;
};

// Scales all gradients together so that their joint norm (the norm of the
// per-gradient norms) is at most max_norm: g *= max_norm / (norm + 1e-6)
// when that factor is below 1. norm_type is p > 0 or infinity (max |g|).
// Parameters without a gradient are skipped. Returns the norm before
// clipping (torch.nn.utils.clip_grad_norm_).
template <class T>
double clip_grad_norm(const std::vector<Var<T>>& params, double max_norm, double norm_type = 2.0) {
  if (!(norm_type > 0.0)) {
    throw ValueError(detail::message("clip_grad_norm: norm_type ", norm_type, " must be positive or infinity"));
  }
  const bool inf = std::isinf(norm_type);
  double total = 0.0;
  bool any = false;
  for (const Var<T>& p : params) {
    const Tensor<T>& g = p.grad();
    if (!g.defined()) continue;
    any = true;
    const Tensor<T> gc = g.contiguous();
    const T* d = gc.data();
    double norm = 0.0;
    for (std::int64_t i = 0, n = gc.numel(); i < n; ++i) {
      const double a = std::abs(static_cast<double>(d[i]));
      if (inf) {
        norm = std::max(norm, a);
      } else if (norm_type == 2.0) {
        norm += a * a;
      } else {
        norm += std::pow(a, norm_type);
      }
    }
    if (inf) {
      total = std::max(total, norm);
    } else {
      // the joint norm of per-gradient norms equals the norm of everything
      total += norm;
    }
  }
  if (!any) return 0.0;
  if (!inf) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    const T scale = static_cast<T>(coef);
    for (const Var<T>& p : params) {
      const Tensor<T>& g = p.grad();
      if (!g.defined()) continue;
      if (g.is_contiguous()) {
        T* d = g.data();
        for (std::int64_t i = 0, n = g.numel(); i < n; ++i) d[i] *= scale;
        g.bump_version();
      } else {
        Tensor<T> scaled = g.clone();
        for (std::int64_t i = 0, n = scaled.numel(); i < n; ++i) scaled.data()[i] *= scale;
        g.copy_(scaled);
      }
    }
  }
  return total;
}

// Clamps every gradient element into [-clip_value, clip_value].
template <class T>
void clip_grad_value(const std::vector<Var<T>>& params, double clip_value) {
  if (!(clip_value >= 0.0)) {
    throw ValueError(detail::message("clip_grad_value: clip_value ", clip_value, " must not be negative"));
  }
  const T hi = static_cast<T>(clip_value);
  for (const Var<T>& p : params) {
    const Tensor<T>& g = p.grad();
    if (!g.defined()) continue;
    const Tensor<T> c = g.is_contiguous() ? g : g.clone();
    T* d = c.data();
    for (std::int64_t i = 0, n = c.numel(); i < n; ++i) d[i] = std::clamp(d[i], -hi, hi);
    if (c.is_same(g)) {
      g.bump_version();
    } else {
      g.copy_(c);
    }
  }
}

}  // namespace nabla::optim

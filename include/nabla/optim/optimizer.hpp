// Optimizer<T>: the base of the optimizers: the parameters, the learning
// rate, per-parameter state and its save/restore (state_dict).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/kernels/parallel.hpp"

namespace nabla::optim {

class LRScheduler;

// What learning-rate schedules need from any optimizer, whatever its
// element type.
class OptimizerBase {
 public:
  virtual ~OptimizerBase() = default;
  OptimizerBase(const OptimizerBase&) = delete;
  OptimizerBase& operator=(const OptimizerBase&) = delete;

  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Makes every parameter's gradient undefined (PyTorch's set_to_none).
  virtual void zero_grad() = 0;

  double lr() const noexcept { return lr_; }
  void set_lr(double lr) {
    check_lr(lr, name_);
    lr_ = lr;
  }
  // The learning rate the first schedule attached to this optimizer found
  // (torch's group["initial_lr"]); schedules scale it. lr() until then.
  double initial_lr() const noexcept { return initial_lr_ ? *initial_lr_ : lr_; }
  const char* name() const noexcept { return name_; }

 protected:
  OptimizerBase(double lr, const char* name) : lr_(lr), name_(name) { check_lr(lr, name); }
  OptimizerBase(OptimizerBase&&) noexcept = default;
  OptimizerBase& operator=(OptimizerBase&&) noexcept = default;

 private:
  friend class LRScheduler;
  static void check_lr(double lr, const char* name) {
    if (!(lr >= 0.0)) throw ValueError(detail::message(name, ": learning rate ", lr, " must not be negative"));
  }

  double lr_;
  std::optional<double> initial_lr_;
  const char* name_;
};

// Per-parameter state: up to three buffers (named by the optimizer, e.g.
// exp_avg / exp_avg_sq / max_exp_avg_sq) and the update count.
template <class T>
struct ParamState {
  static constexpr std::size_t max_buffers = 3;
  std::array<Tensor<T>, max_buffers> buffers;
  std::int64_t step = 0;
  bool initialized() const noexcept {
    if (step > 0) return true;
    for (const auto& b : buffers) {
      if (b.defined()) return true;
    }
    return false;
  }
};

template <class T>
class Optimizer : public OptimizerBase {
  static_assert(std::is_floating_point_v<T>, "optimizers need a floating-point element type");

 public:
  using StateDict = std::vector<std::pair<std::string, Tensor<T>>>;

  const std::vector<Var<T>>& parameters() const noexcept { return params_; }

  void zero_grad() override {
    for (const Var<T>& p : params_) p.zero_grad();
  }

  void step() override {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor<T>& g = params_[i].grad();
      if (!g.defined()) continue;  // never reached by backward: leave it (and its state) alone
      const Tensor<T>& p = params_[i].value();
      const Tensor<T> gc = g.contiguous();
      update(i, p.data(), gc.data(), p.numel(), state_[i]);
      p.bump_version();
      for (const auto& b : state_[i].buffers) {
        if (b.defined()) b.bump_version();
      }
    }
  }

  // Everything needed to resume training exactly, by name:
  // "<param index>.<buffer>" (e.g. "0.momentum_buffer", "3.exp_avg") and,
  // for optimizers that count updates, "<param index>.step" as a 0-d tensor
  // (exact up to 2^24 updates in float). Hyperparameters (lr, ...) are not
  // included: they come from the constructor (and the schedule).
  StateDict state_dict() const {
    StateDict out;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const ParamState<T>& s = state_[i];
      if (!s.initialized()) continue;
      for (std::size_t k = 0; k < slot_names_.size(); ++k) {
        if (s.buffers[k].defined()) out.emplace_back(std::to_string(i) + "." + slot_names_[k], s.buffers[k].clone());
      }
      if (counts_steps_) out.emplace_back(std::to_string(i) + ".step", Tensor<T>::scalar(static_cast<T>(s.step)));
    }
    return out;
  }

  // Replaces all state with `state` (as produced by state_dict(), possibly
  // from another optimizer object over parameters of the same shapes). The
  // whole dict is checked before anything changes: unknown names, wrong
  // shapes and incomplete per-parameter state throw ValueError/ShapeError.
  void load_state_dict(const StateDict& state) {
    std::vector<ParamState<T>> fresh(params_.size());
    std::vector<std::uint32_t> seen(params_.size(), 0);  // bit k: slot k, bit 31: step
    for (const auto& [key, tensor] : state) {
      const auto [index, slot] = parse_key(key);
      if (!tensor.defined()) throw ValueError(detail::message(name(), ": state '", key, "' is undefined"));
      std::uint32_t bit = 0;
      if (slot == slot_names_.size()) {
        if (tensor.numel() != 1) {
          throw ShapeError(detail::message(name(), ": state '", key, "' must hold one value, got shape ",
                                           to_string(tensor.shape())));
        }
        const T v = tensor.item();
        if (!(v >= T{0}) || v != static_cast<T>(static_cast<std::int64_t>(v))) {
          throw ValueError(detail::message(name(), ": state '", key, "' = ", v, " is not a step count"));
        }
        fresh[index].step = static_cast<std::int64_t>(v);
        bit = 1U << 31;
      } else {
        const Shape& want = params_[index].shape();
        if (!(tensor.shape() == want)) {
          throw ShapeError(detail::message(name(), ": state '", key, "' has shape ", to_string(tensor.shape()),
                                           " but parameter ", index, " has shape ", to_string(want)));
        }
        fresh[index].buffers[slot] = tensor.clone();
        bit = 1U << slot;
      }
      if (seen[index] & bit) throw ValueError(detail::message(name(), ": state '", key, "' appears twice"));
      seen[index] |= bit;
    }
    const std::uint32_t required = required_slots() | (counts_steps_ ? 1U << 31 : 0U);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (seen[i] != 0 && (seen[i] & required) != required) {
        throw ValueError(detail::message(name(), ": incomplete state for parameter ", i, ": expected ",
                                         describe(required), " but got ", describe(seen[i])));
      }
    }
    state_ = std::move(fresh);
  }

  // This parameter's state (read-only; for inspection and tests).
  const ParamState<T>& state(std::size_t index) const { return state_.at(index); }

 protected:
  // `slot_names` names the state buffers (at most three); `counts_steps`
  // says whether the update count is part of the state.
  Optimizer(std::vector<Var<T>> params, double lr, const char* name, std::vector<const char*> slot_names,
            bool counts_steps)
      : OptimizerBase(lr, name),
        params_(std::move(params)),
        state_(params_.size()),
        slot_names_(std::move(slot_names)),
        counts_steps_(counts_steps) {
    if (params_.empty()) throw ValueError(detail::message(name, ": got an empty parameter list"));
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Var<T>& p = params_[i];
      if (!p.defined()) throw ValueError(detail::message(name, ": parameter ", i, " is undefined"));
      if (!p.is_leaf()) {
        throw ValueError(detail::message(name, ": parameter ", i, " of shape ", to_string(p.shape()),
                                         " is not a leaf (a computed value cannot be optimized)"));
      }
      if (!p.value().is_contiguous()) {
        throw ValueError(detail::message(name, ": parameter ", i, " of shape ", to_string(p.shape()),
                                         " is not contiguous"));
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (params_[j].is_same(p)) {
          throw ValueError(detail::message(name, ": parameter ", i, " is the same as parameter ", j));
        }
      }
    }
  }
  Optimizer(Optimizer&&) noexcept = default;
  Optimizer& operator=(Optimizer&&) noexcept = default;

  // Updates one parameter in place from its gradient; p and g are contiguous.
  virtual void update(std::size_t index, T* p, const T* g, std::int64_t n, ParamState<T>& state) = 0;

  // Slots (bitmask) every initialised parameter state must hold.
  virtual std::uint32_t required_slots() const = 0;

  // A state buffer shaped like parameter `index`, zero-filled or copied from
  // `init` (contiguous).
  Tensor<T> new_buffer(std::size_t index, const T* init = nullptr) const {
    Tensor<T> t = Tensor<T>::empty(params_[index].shape());
    if (init) {
      std::copy(init, init + t.numel(), t.data());
    } else {
      t.fill_(T{0});
    }
    return t;
  }

  // Runs body(lo, hi) over [0, n) in chunks: large parameters update on
  // several threads (elementwise, so results do not depend on the count).
  template <class Body>
  static void chunked(std::int64_t n, Body&& body) {
    kernels::parallel_for(0, n, std::int64_t{1} << 15, body);
  }

 private:
  // "<index>.<slot>" -> (index, slot number; slot_names_.size() for "step").
  std::pair<std::size_t, std::size_t> parse_key(const std::string& key) const {
    const std::size_t dot = key.find('.');
    std::size_t index = 0;
    const char* end = key.data() + (dot == std::string::npos ? key.size() : dot);
    const auto [ptr, ec] = std::from_chars(key.data(), end, index);
    if (dot == std::string::npos || ec != std::errc() || ptr != end || dot == 0) {
      throw ValueError(detail::message(name(), ": unexpected state name '", key, "' (expected '<index>.<name>')"));
    }
    if (index >= params_.size()) {
      throw ValueError(detail::message(name(), ": state '", key, "' names parameter ", index, " but there are only ",
                                       params_.size(), " parameters"));
    }
    const std::string_view slot(key.data() + dot + 1, key.size() - dot - 1);
    if (counts_steps_ && slot == "step") return {index, slot_names_.size()};
    for (std::size_t k = 0; k < slot_names_.size(); ++k) {
      if (slot == slot_names_[k] && ((required_slots() >> k) & 1U)) return {index, k};
    }
    throw ValueError(detail::message(name(), ": unexpected state '", key, "' (not used by this ", name(),
                                     " configuration)"));
  }

  std::string describe(std::uint32_t mask) const {
    std::string out = "{";
    for (std::size_t k = 0; k < slot_names_.size(); ++k) {
      if ((mask >> k) & 1U) out += std::string(out.size() > 1 ? ", " : "") + slot_names_[k];
    }
    if (mask >> 31) out += std::string(out.size() > 1 ? ", " : "") + "step";
    return out + "}";
  }

  std::vector<Var<T>> params_;
  std::vector<ParamState<T>> state_;
  std::vector<const char*> slot_names_;
  bool counts_steps_;
};

}  // namespace nabla::optim

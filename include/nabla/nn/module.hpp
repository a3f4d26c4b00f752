// Module<T>: the base of every layer: named parameters, buffers and child
// modules, train/eval mode, and the forward call.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla::nn {

// A layer with registered state. Parameters are Var<T> handles and buffers
// Tensor<T> handles: copies share storage, so an optimizer built from
// parameters() keeps updating the module's own values after the module is
// moved. Registries are vectors held inside the object (no pointers into it),
// and children are owned by shared_ptr, so moving a module is safe.
// Movable, not copyable (as torch::nn::Module's holders).
template <class T>
class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(Module&&) noexcept = default;
  Module& operator=(Module&&) noexcept = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Var<T> forward(const Var<T>& x) = 0;
  Var<T> operator()(const Var<T>& x) { return forward(x); }

  // Parameters in registration order, this module's first, then each child's
  // (depth first), without duplicates, as torch's parameters().
  std::vector<Var<T>> parameters(bool recurse = true) const {
    std::vector<Var<T>> out;
    visit_parameters(recurse, [&out](const Var<T>& p) {
      for (const Var<T>& q : out) {
        if (q.is_same(p)) return;  // a parameter shared by two layers is listed once
      }
      out.push_back(p);
    });
    return out;
  }

  // Parameters with dotted names: "weight", "0.weight", "features.3.bias".
  std::vector<std::pair<std::string, Var<T>>> named_parameters(bool recurse = true) const {
    std::vector<std::pair<std::string, Var<T>>> out;
    collect_parameters(std::string(), recurse, out);
    return out;
  }

  std::vector<Tensor<T>> buffers(bool recurse = true) const {
    std::vector<Tensor<T>> out;
    for (auto& [name, b] : named_buffers(recurse)) out.push_back(std::move(b));
    return out;
  }

  // Buffers with dotted names: "1.running_mean", "1.num_batches_tracked".
  std::vector<std::pair<std::string, Tensor<T>>> named_buffers(bool recurse = true) const {
    std::vector<std::pair<std::string, Tensor<T>>> out;
    collect_buffers(std::string(), recurse, out);
    return out;
  }

  // Direct children, in registration order.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  std::vector<std::shared_ptr<Module>> children() const {
    std::vector<std::shared_ptr<Module>> out;
    for (const auto& [name, child] : children_) out.push_back(child);
    return out;
  }

  // Training mode (dropout active, batch norm uses batch statistics) for
  // this module and every descendant.
  void train(bool on = true) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
  }
  void eval() { train(false); }
  bool is_training() const noexcept { return training_; }

  // Clears (makes undefined) the gradient of every parameter (no allocation:
  // fine to call every step).
  void zero_grad() {
    visit_parameters(true, [](const Var<T>& p) { p.zero_grad(); });
  }

 protected:
  // Registers `value` as a parameter (a leaf Var) under `name`; returns the
  // registered handle (copy it: the reference lasts until the next register).
  Var<T>& register_parameter(std::string name, Tensor<T> value, bool requires_grad = true) {
    check_name(name, "register_parameter");
    params_.emplace_back(std::move(name), Var<T>(std::move(value), requires_grad));
    return params_.back().second;
  }

  // Registers a state tensor that is saved with the weights but not trained.
  // Keep the returned handle's storage and update it in place: loaders write
  // into it with copy_().
  Tensor<T>& register_buffer(std::string name, Tensor<T> value) {
    check_name(name, "register_buffer");
    if (!value.defined()) {
      throw ValueError(detail::message("register_buffer: buffer '", name, "' is undefined"));
    }
    buffers_.emplace_back(std::move(name), std::move(value));
    return buffers_.back().second;
  }

  // Registers a child; the module is shared, so the returned reference stays
  // valid when this module moves.
  template <class M>
  M& register_module(std::string name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module<T>, M>, "register_module: M must derive from nn::Module<T>");
    check_name(name, "register_module");
    if (!module) throw ValueError(detail::message("register_module: module '", name, "' is null"));
    M& ref = *module;
    children_.emplace_back(std::move(name), std::shared_ptr<Module<T>>(std::move(module)));
    return ref;
  }

 private:
  void check_name(const std::string& name, const char* op) const {
    if (name.empty() || name.find('.') != std::string::npos) {
      throw ValueError(detail::message(op, ": name '", name, "' must be non-empty and contain no '.'"));
    }
    auto taken = [&name](const auto& list) {
      for (const auto& entry : list) {
        if (entry.first == name) return true;
      }
      return false;
    };
    if (taken(params_) || taken(buffers_) || taken(children_)) {
      throw ValueError(detail::message(op, ": name '", name, "' is already registered"));
    }
  }

  template <class F>
  void visit_parameters(bool recurse, F&& f) const {
    for (const auto& [name, p] : params_) f(p);
    if (!recurse) return;
    for (const auto& [name, child] : children_) child->visit_parameters(true, f);
  }

  void collect_parameters(const std::string& prefix, bool recurse,
                          std::vector<std::pair<std::string, Var<T>>>& out) const {
    for (const auto& [name, p] : params_) {
      bool seen = false;  // a parameter shared by two layers is listed once
      for (const auto& [other, q] : out) seen = seen || q.is_same(p);
      if (!seen) out.emplace_back(prefix + name, p);
    }
    if (!recurse) return;
    for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", true, out);
  }

  void collect_buffers(const std::string& prefix, bool recurse,
                       std::vector<std::pair<std::string, Tensor<T>>>& out) const {
    for (const auto& [name, b] : buffers_) out.emplace_back(prefix + name, b);
    if (!recurse) return;
    for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", true, out);
  }

  std::vector<std::pair<std::string, Var<T>>> params_;
  std::vector<std::pair<std::string, Tensor<T>>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace nabla::nn

// Module<T>: the base of every layer: named parameters, buffers and child
// modules, train/eval mode, the forward call, state_dict / load_state_dict,
// printing (as PyTorch's repr) and deep copies (clone, to<U>) through
// Cloneable<Derived, T>.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/nn/state_dict.hpp"

namespace nabla::nn {
template <class T>
class Module;
}  // namespace nabla::nn

namespace nabla::detail {

// Selects the converting constructor of a module: M<T>(const M<U>&, CopyTag).
struct CopyTag {};

// M<T> -> M<U> for the single-parameter module templates.
template <class M, class U>
struct rebind_module;
template <template <class> class M, class T, class U>
struct rebind_module<M<T>, U> {
  using type = M<U>;
};

// A double as Python's repr writes it (1e-05, 0.1, 1.0, 1e+16), so module
// reprs match PyTorch's text.
inline std::string python_float(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // shortest round-trip digits: "-1.2345e-05"
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const std::size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  const int exp = std::stoi(sci.substr(e + 1));
  const int n = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 16) {  // scientific, as Python's float_repr_style 'r'
    std::string out = sign + digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    const int a = exp < 0 ? -exp : exp;
    return out + (exp < 0 ? "e-" : "e+") + (a < 10 ? "0" : "") + std::to_string(a);
  }
  if (exp < 0) return sign + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  if (n <= exp + 1) return sign + digits + std::string(static_cast<std::size_t>(exp + 1 - n), '0') + ".0";
  return sign + digits.substr(0, static_cast<std::size_t>(exp + 1)) + "." + digits.substr(static_cast<std::size_t>(exp + 1));
}

inline const char* python_bool(bool b) { return b ? "True" : "False"; }

}  // namespace nabla::detail

namespace nabla::nn {

// A layer with registered state. Parameters are Var<T> handles and buffers
// Tensor<T> handles: copies share storage, so an optimizer built from
// parameters() keeps updating the module's own values after the module is
// moved. Registries are vectors held inside the object (no pointers into it),
// and children are owned by shared_ptr, so moving a module is safe.
// Movable, not copyable (as torch::nn::Module's holders): a plain copy does
// not compile, so no copy silently shares parameters; clone() (from
// Cloneable) makes an independent deep copy and to<U>() one of another
// element type.
template <class T>
class Module {
  template <class>
  friend class Module;

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

  // --- Printing -------------------------------------------------------------
  // The type's name as PyTorch prints it ("Linear", "Sequential").
  virtual std::string name() const { return "Module"; }
  // The text inside the parentheses ("in_features=4, out_features=2, bias=True").
  virtual std::string extra_repr() const { return {}; }

  // The module tree as PyTorch's repr(module): children as "(name): ..."
  // lines indented by two spaces per level.
  std::string repr() const {
    std::vector<std::string> lines;
    const std::string extra = extra_repr();
    std::size_t extra_lines = 0;
    for (std::size_t start = 0; !extra.empty() && start <= extra.size(); ++extra_lines) {
      const std::size_t end = std::min(extra.find('\n', start), extra.size());
      lines.push_back(extra.substr(start, end - start));
      start = end + 1;
    }
    for (const auto& [child_name, child] : children_) {
      std::string text = child->repr();
      for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 3)) {
        text.insert(at + 1, "  ");
      }
      lines.push_back("(" + child_name + "): " + text);
    }
    std::string out = name() + "(";
    if (extra_lines == 1 && children_.empty()) {
      out += lines[0];
    } else if (!lines.empty()) {
      for (const std::string& line : lines) out += "\n  " + line;
      out += "\n";
    }
    return out + ")";
  }

  // --- State ----------------------------------------------------------------
  // Parameters and buffers (handles to the module's own storage) with
  // PyTorch's state_dict names and order: each module's parameters, then its
  // buffers, then each child's entries. A parameter shared by two layers is
  // listed once, under its first name (as named_parameters()).
  StateDict<T> state_dict() const {
    StateDict<T> out;
    std::vector<Var<T>> seen;
    collect_state(std::string(), seen, out);
    return out;
  }

  // Copies `dict`'s values into the module's parameters and buffers (in
  // place: optimizers stay valid; the caller's tensors are not aliased).
  // Every name and shape is checked first and one ValueError names every
  // problem: shape mismatches always, and when `strict`, missing and
  // unexpected names. Nothing is written unless all checks pass. Without
  // `strict`, the report lists the names that did not match.
  LoadReport load_state_dict(const StateDict<T>& dict, bool strict = true) {
    std::map<std::string, const Tensor<T>*> entries;
    for (const auto& [key, tensor] : dict) {
      if (!entries.emplace(key, &tensor).second) {
        throw ValueError(detail::message("load_state_dict: the state dict has two entries named '", key, "'"));
      }
    }
    const auto plan = detail::plan_state_load<T>(
        state_dict(), entries, [](const Tensor<T>& t) -> const Shape& { return t.shape(); },
        [](const Tensor<T>& t) { return t; }, "load_state_dict", "the state dict");
    const std::string problems = plan.problems(strict, "the state dict", "load_state_dict(dict, false)");
    if (!problems.empty()) throw ValueError("load_state_dict: " + problems);
    plan.apply();
    return plan.report;
  }

  // --- Copies ---------------------------------------------------------------
  // An independent deep copy behind the base type (for heterogeneous
  // trees); Cloneable's clone() returns the concrete type.
  std::shared_ptr<Module<T>> clone_shared() const { return to_shared<T>(); }

  // A deep copy with element type U (float or double).
  template <class U>
  std::shared_ptr<Module<U>> to_shared() const {
    static_assert(std::is_same_v<U, float> || std::is_same_v<U, double>,
                  "Module::to_shared: modules convert to float or double");
    std::shared_ptr<Module<U>> out = convert_module(static_cast<U*>(nullptr));
    out->training_ = training_;
    return out;
  }

 protected:
  // The deep copies: overridden by Cloneable<Derived, T>. A module type
  // without it (a user's module deriving from Module directly) cannot be
  // copied, and says so.
  virtual std::shared_ptr<Module<float>> convert_module(float*) const { return not_copyable<float>(); }
  virtual std::shared_ptr<Module<double>> convert_module(double*) const { return not_copyable<double>(); }

  // For converting constructors: registers deep copies of `src`'s own
  // parameters (same names and requires_grad) and buffers, converted to T,
  // and takes its training flag. Children are not copied here.
  template <class U>
  void copy_registered_from(const Module<U>& src) {
    for (const auto& [pname, p] : src.params_) {
      register_parameter(pname, p.value().template to<T>(), p.requires_grad());
    }
    for (const auto& [bname, b] : src.buffers_) register_buffer(bname, b.template to<T>());
    training_ = src.training_;
  }
  // This module's own parameter or buffer registered under `name`.
  const Var<T>& local_parameter(const std::string& name) const {
    for (const auto& entry : params_) {
      if (entry.first == name) return entry.second;
    }
    throw ValueError(detail::message(this->name(), ": no parameter named '", name, "'"));
  }
  const Tensor<T>& local_buffer(const std::string& name) const {
    for (const auto& entry : buffers_) {
      if (entry.first == name) return entry.second;
    }
    throw ValueError(detail::message(this->name(), ": no buffer named '", name, "'"));
  }

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
  template <class U>
  std::shared_ptr<Module<U>> not_copyable() const {
    throw ValueError(detail::message(name(), ": this module type cannot be copied; derive it from "
                                             "nn::Cloneable<Derived, T> and give it a converting constructor"));
  }

  void collect_state(const std::string& prefix, std::vector<Var<T>>& seen, StateDict<T>& out) const {
    for (const auto& [pname, p] : params_) {
      bool shared = false;  // a parameter shared by two layers is listed once
      for (const Var<T>& q : seen) shared = shared || q.is_same(p);
      if (shared) continue;
      seen.push_back(p);
      out.emplace_back(prefix + pname, p.value());
    }
    for (const auto& [bname, b] : buffers_) out.emplace_back(prefix + bname, b);
    for (const auto& [cname, child] : children_) child->collect_state(prefix + cname + ".", seen, out);
  }

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

// Gives a module type Derived (derived from Cloneable<Derived, T, Base>,
// Base being Module<T> or an intermediate base) its deep copies, as
// torch::nn::Cloneable. Derived needs a converting constructor
//   template <class U> Derived(const Derived<U>& other, detail::CopyTag)
// that rebuilds its configuration and calls copy_registered_from(other)
// (which also takes the training flag), then copies its children.
template <class Derived, class T, class Base = Module<T>>
class Cloneable : public Base {
 public:
  using Base::Base;

  // An independent deep copy: parameters and buffers in new storage (with
  // the same values, requires_grad and training mode), children copied
  // too. Training the copy leaves this module unchanged. Generators a
  // module holds by pointer (Dropout's) are shared, not copied.
  Derived clone() const { return to<T>(); }

  // The same module with element type U (float or double): Linear<float>
  // -> Linear<double> with the values converted.
  template <class U>
  typename detail::rebind_module<Derived, U>::type to() const {
    static_assert(std::is_same_v<U, float> || std::is_same_v<U, double>, "Module::to: modules convert to float or double");
    return typename detail::rebind_module<Derived, U>::type(static_cast<const Derived&>(*this), detail::CopyTag{});
  }

 protected:
  std::shared_ptr<Module<float>> convert_module(float*) const override { return convert_to<float>(); }
  std::shared_ptr<Module<double>> convert_module(double*) const override { return convert_to<double>(); }

 private:
  template <class U>
  std::shared_ptr<Module<U>> convert_to() const {
    return std::make_shared<typename detail::rebind_module<Derived, U>::type>(static_cast<const Derived&>(*this),
                                                                              detail::CopyTag{});
  }
};

// Prints the module tree as PyTorch's print(model).
template <class T>
std::ostream& operator<<(std::ostream& out, const Module<T>& module) {
  return out << module.repr();
}

}  // namespace nabla::nn

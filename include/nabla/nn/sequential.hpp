// Sequential<T>: a chain of modules applied in order, children named "0",
// "1", ... as torch.nn.Sequential.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

template <class T>
class Sequential : public Cloneable<Sequential<T>, T> {
 public:
  Sequential() = default;

  // A deep copy of `other` with element type T: each layer is copied (see
  // Cloneable). A layer that appears twice stays one shared layer.
  template <class U>
  Sequential(const Sequential<U>& other, detail::CopyTag) {
    this->copy_registered_from(other);
    std::vector<std::pair<const Module<U>*, std::shared_ptr<Module<T>>>> copied;
    for (const auto& layer : other.children()) {
      std::shared_ptr<Module<T>> copy;
      for (const auto& [original, earlier_copy] : copied) {
        if (original == layer.get()) copy = earlier_copy;
      }
      if (!copy) {
        copy = layer->template to_shared<T>();
        copied.emplace_back(layer.get(), copy);
      }
      push_back(std::move(copy));
    }
  }

  std::string name() const override { return "Sequential"; }

  // Modules in order, each given by value (moved in) or as a shared_ptr.
  // (A single Sequential argument is a move, not nesting: nest it with
  // push_back or a shared_ptr.)
  template <class... Ms>
    requires(sizeof...(Ms) > 0)
  explicit Sequential(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  // Appends a module by value (moved in).
  template <class M>
    requires std::is_base_of_v<Module<T>, std::remove_cvref_t<M>>
  void push_back(M&& module) {
    static_assert(!std::is_lvalue_reference_v<M>, "Sequential::push_back: modules are not copyable; std::move it");
    push_back(std::make_shared<std::remove_cvref_t<M>>(std::move(module)));
  }

  // Appends a shared module (the same object, not a copy).
  template <class M>
    requires std::is_base_of_v<Module<T>, M>
  void push_back(std::shared_ptr<M> module) {
    Module<T>* raw = module.get();
    this->register_module(std::to_string(layers_.size()), std::move(module));
    layers_.push_back(raw);
  }

  Var<T> forward(const Var<T>& x) override {
    if (layers_.empty()) return x;
    Var<T> y = layers_.front()->forward(x);
    for (std::size_t i = 1; i < layers_.size(); ++i) y = layers_[i]->forward(y);
    return y;
  }

  std::size_t size() const noexcept { return layers_.size(); }
  bool empty() const noexcept { return layers_.empty(); }

  Module<T>& operator[](std::size_t i) const { return *layers_[check_index(i)]; }

  // The layer at i as its concrete type; throws ValueError on a wrong type.
  template <class M>
  M& at(std::size_t i) const {
    auto* m = dynamic_cast<M*>(layers_[check_index(i)]);
    if (!m) throw ValueError(detail::message("Sequential::at: layer ", i, " is not of the requested type"));
    return *m;
  }

 private:
  std::size_t check_index(std::size_t i) const {
    if (i >= layers_.size()) {
      throw IndexError(detail::message("Sequential: index ", i, " is out of range for ", layers_.size(), " layers"));
    }
    return i;
  }

  // The children in order, without virtual or shared_ptr traffic per call.
  // They point at heap objects owned by the registered shared_ptrs, so they
  // stay valid when this Sequential moves.
  std::vector<Module<T>*> layers_;
};

}  // namespace nabla::nn

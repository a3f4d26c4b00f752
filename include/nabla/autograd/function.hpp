// Custom differentiable functions: the user supplies forward and backward
// (like torch.autograd.Function) and gets an op recorded on the tape.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nabla/autograd/var.hpp"

namespace nabla {

// forward(inputs) -> output; backward(inputs, output, grad_output) -> one
// gradient per input (an undefined Tensor for "no gradient").
template <class T>
class Function {
 public:
  using Forward = std::function<Tensor<T>(const std::vector<Tensor<T>>& inputs)>;
  using Backward = std::function<std::vector<Tensor<T>>(const std::vector<Tensor<T>>& inputs, const Tensor<T>& output,
                                                        const Tensor<T>& grad_output)>;

  Function(std::string name, Forward forward, Backward backward)
      : impl_(std::make_shared<Impl>(Impl{std::move(name), std::move(forward), std::move(backward)})) {
    if (!impl_->forward || !impl_->backward) {
      throw ValueError(detail::message("Function ", impl_->name, ": forward and backward must both be given"));
    }
  }

  const std::string& name() const noexcept { return impl_->name; }

  Var<T> operator()(const std::vector<Var<T>>& inputs) const {
    std::vector<Tensor<T>> values;
    values.reserve(inputs.size());
    for (const auto& v : inputs) values.push_back(v.value());
    Tensor<T> out = impl_->forward(values);
    if (!out.defined()) throw ValueError(detail::message("Function ", impl_->name, ": forward returned no tensor"));
    std::shared_ptr<void> state = impl_;
    return detail::record_many(OpKind::custom, std::move(out), &rule, [&state](TapeEntry<T>& e) {
      e.extra = std::move(state);
      e.uses = 0x7 | TapeEntry<T>::uses_output;
    }, inputs);
  }
  template <class... Vars>
  Var<T> operator()(const Var<T>& first, const Vars&... rest) const {
    return (*this)(std::vector<Var<T>>{first, rest...});
  }

 private:
  struct Impl {
    std::string name;
    Forward forward;
    Backward backward;
  };

  static void rule(TapeEntry<T>& e, const Tensor<T>& gy) {
    const auto* impl = static_cast<const Impl*>(e.extra.get());
    std::vector<Tensor<T>> inputs;
    inputs.reserve(e.size());
    for (std::size_t k = 0; k < e.size(); ++k) inputs.push_back(e.input(k));
    std::vector<Tensor<T>> grads = impl->backward(inputs, e.result(), gy);
    if (grads.size() != e.size()) {
      throw AutogradError(detail::message("Function ", impl->name, ": backward returned ", grads.size(),
                                          " gradients for ", e.size(), " inputs"));
    }
    for (std::size_t k = 0; k < grads.size(); ++k) {
      if (!grads[k].defined() || !e.needs_grad(k)) continue;
      if (!(grads[k].shape() == inputs[k].shape())) {
        throw AutogradError(detail::message("Function ", impl->name, ": backward returned a gradient of shape ",
                                            to_string(grads[k].shape()), " for input ", k, " of shape ",
                                            to_string(inputs[k].shape())));
      }
      e.accumulate(k, std::move(grads[k]));
    }
  }

  std::shared_ptr<Impl> impl_;
};

}  // namespace nabla

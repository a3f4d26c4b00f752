// Linear<T>: the fully connected layer y = x W^T + b (weight [out, in]).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/init.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

template <class T>
class Linear : public Cloneable<Linear<T>, T> {
 public:
  // Weight [out, in] and bias [out], initialised as torch.nn.Linear:
  // kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), for
  // both; from `gen`, or the default generator.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Generator& gen)
      : in_features_(in_features), out_features_(out_features) {
    if (in_features < 0 || out_features < 0) {
      throw ValueError(detail::message("Linear: feature counts must not be negative, got in = ", in_features,
                                       ", out = ", out_features));
    }
    weight_ = this->register_parameter("weight", Tensor<T>::empty(Shape{out_features, in_features}));
    if (in_features > 0) {
      init::kaiming_uniform_(weight_.value(), std::sqrt(5.0), gen);
    } else {
      weight_.value().zero_();
    }
    if (bias) {
      bias_ = this->register_parameter("bias", Tensor<T>::empty(Shape{out_features}));
      const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
      init::uniform_(bias_.value(), -bound, bound, gen);
    }
  }
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true)
      : Linear(in_features, out_features, bias, default_generator()) {}
  // A deep copy of `other` with element type T (see Cloneable).
  template <class U>
  Linear(const Linear<U>& other, detail::CopyTag)
      : in_features_(other.in_features()), out_features_(other.out_features()) {
    this->copy_registered_from(other);
    weight_ = this->local_parameter("weight");
    if (other.bias().defined()) bias_ = this->local_parameter("bias");
  }

  Var<T> forward(const Var<T>& x) override { return functional::linear(x, weight_, bias_); }
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override {
    return detail::message("in_features=", in_features_, ", out_features=", out_features_,
                           ", bias=", detail::python_bool(bias_.defined()));
  }

  const Var<T>& weight() const noexcept { return weight_; }
  // Undefined when built without a bias.
  const Var<T>& bias() const noexcept { return bias_; }
  std::int64_t in_features() const noexcept { return in_features_; }
  std::int64_t out_features() const noexcept { return out_features_; }

 private:
  std::int64_t in_features_;
  std::int64_t out_features_;
  Var<T> weight_;
  Var<T> bias_;
};

}  // namespace nabla::nn

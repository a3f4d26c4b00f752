// Loss objects (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss,
// BCEWithLogitsLoss) holding their options around the fused loss functions.
// They take two inputs, so they are callables rather than Module<T>s.
#pragma once

#include <cstdint>

#include "nabla/autograd/rules/loss.hpp"
#include "nabla/autograd/var.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla::nn {

// Cross-entropy of logits [N, C] against integer labels [N] (log-softmax
// fused in; optional per-class weight [C], ignore_index and label
// smoothing), as torch.nn.CrossEntropyLoss.
template <class T>
class CrossEntropyLoss {
 public:
  explicit CrossEntropyLoss(CrossEntropyOptions options = {}) : options_(options) {}
  // The weight is copied, so later changes to the caller's tensor do not
  // reach the loss.
  explicit CrossEntropyLoss(const Tensor<T>& weight, CrossEntropyOptions options = {})
      : options_(options), weight_(weight.defined() ? weight.clone() : Tensor<T>()) {}
  Var<T> forward(const Var<T>& logits, const Tensor<std::int64_t>& labels) const {
    return cross_entropy(logits, labels, weight_, options_);
  }
  Var<T> operator()(const Var<T>& logits, const Tensor<std::int64_t>& labels) const { return forward(logits, labels); }
  const CrossEntropyOptions& options() const noexcept { return options_; }
  // Undefined when built without one.
  const Tensor<T>& weight() const noexcept { return weight_; }

 private:
  CrossEntropyOptions options_;
  Tensor<T> weight_;
};

// Negative log-likelihood of log-probabilities [N, C] at labels [N]
// (optional per-class weight [C] and ignore_index), as torch.nn.NLLLoss.
template <class T>
class NLLLoss {
 public:
  explicit NLLLoss(Reduction reduction = Reduction::mean) : options_{reduction} {}
  explicit NLLLoss(NLLLossOptions options) : options_(options) {}
  explicit NLLLoss(const Tensor<T>& weight, NLLLossOptions options = {})
      : options_(options), weight_(weight.defined() ? weight.clone() : Tensor<T>()) {}
  Var<T> forward(const Var<T>& log_probs, const Tensor<std::int64_t>& labels) const {
    return nll_loss(log_probs, labels, weight_, options_);
  }
  Var<T> operator()(const Var<T>& log_probs, const Tensor<std::int64_t>& labels) const {
    return forward(log_probs, labels);
  }
  const NLLLossOptions& options() const noexcept { return options_; }
  const Tensor<T>& weight() const noexcept { return weight_; }

 private:
  NLLLossOptions options_;
  Tensor<T> weight_;
};

// Shared shape of the elementwise losses: prediction against a target of the
// same shape (a Var, or a plain tensor that needs no gradient).
template <class T, Var<T> (*Loss)(const Var<T>&, const Var<T>&, Reduction)>
class PointwiseLoss {
 public:
  explicit PointwiseLoss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Var<T> forward(const Var<T>& pred, const Var<T>& target) const { return Loss(pred, target, reduction_); }
  Var<T> forward(const Var<T>& pred, const Tensor<T>& target) const {
    return Loss(pred, Var<T>(target, false), reduction_);
  }
  Var<T> operator()(const Var<T>& pred, const Var<T>& target) const { return forward(pred, target); }
  Var<T> operator()(const Var<T>& pred, const Tensor<T>& target) const { return forward(pred, target); }
  Reduction reduction() const noexcept { return reduction_; }

 private:
  Reduction reduction_;
};

// Mean (or summed) squared error.
template <class T>
using MSELoss = PointwiseLoss<T, &mse_loss<T>>;
// Mean (or summed) absolute error.
template <class T>
using L1Loss = PointwiseLoss<T, &l1_loss<T>>;
// Binary cross-entropy on logits (sigmoid fused in), stable for any logit.
template <class T>
using BCEWithLogitsLoss = PointwiseLoss<T, &binary_cross_entropy_with_logits<T>>;

}  // namespace nabla::nn

// Fused, numerically stable losses on Var<T>: cross_entropy (log-softmax +
// NLL; class weights, ignore_index, label smoothing), nll_loss, mse_loss, l1_loss and
// binary_cross_entropy_with_logits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "nabla/autograd/var.hpp"
#include "nabla/ops/nn.hpp"

namespace nabla {

// How per-element losses are combined, as PyTorch's `reduction`.
enum class Reduction { none, mean, sum };

// Options of cross_entropy (and nn::CrossEntropyLoss), as PyTorch's keyword
// arguments. A per-class weight is a separate argument (a Tensor<T> [C]).
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;     // in [0, 1]
  std::int64_t ignore_index = -100;  // targets equal to it add nothing, gradient included
};

// Options of nll_loss (and nn::NLLLoss).
struct NLLLossOptions {
  Reduction reduction = Reduction::mean;
  std::int64_t ignore_index = -100;
};

namespace detail {

// Checks [N, C] scores against [N] class labels in [0, C) (or equal to
// ignore_index) and an optional per-class weight of shape [C].
template <class T>
void check_class_labels(const Tensor<T>& scores, const Tensor<std::int64_t>& labels, const Tensor<T>& weight,
                        std::int64_t ignore_index, const char* op) {
  if (scores.ndim() != 2) {
    throw ShapeError(detail::message(op, ": expected scores of shape [N, C], got ", to_string(scores.shape())));
  }
  if (labels.ndim() != 1 || labels.shape()[0] != scores.shape()[0]) {
    throw ShapeError(detail::message(op, ": labels of shape ", to_string(labels.shape()), " do not match scores of shape ",
                                     to_string(scores.shape()), " (expected [", scores.shape()[0], "])"));
  }
  const std::int64_t classes = scores.shape()[1];
  if (weight.defined() && !(weight.shape() == Shape{classes})) {
    throw ShapeError(detail::message(op, ": weight of shape ", to_string(weight.shape()), " does not match scores of shape ",
                                     to_string(scores.shape()), " (expected [", classes, "])"));
  }
  const Tensor<std::int64_t> lc = labels.contiguous();
  for (std::int64_t i = 0; i < lc.numel(); ++i) {
    const std::int64_t y = lc.data()[i];
    if ((y < 0 || y >= classes) && y != ignore_index) {
      throw IndexError(detail::message(op, ": label ", y, " at index ", i, " is out of range for ", classes,
                                       " classes (and is not ignore_index ", ignore_index, ")"));
    }
  }
}

// Combines per-row losses; returns a 0-d tensor unless Reduction::none.
template <class T>
Tensor<T> reduce_rows(const Tensor<T>& rows, Reduction reduction) {
  if (reduction == Reduction::none) return rows;
  double total = 0.0;
  const T* r = rows.data();
  for (std::int64_t i = 0; i < rows.numel(); ++i) total += static_cast<double>(r[i]);
  if (reduction == Reduction::mean) total /= static_cast<double>(std::max<std::int64_t>(rows.numel(), 1));
  return Tensor<T>::scalar(static_cast<T>(total));
}

// A row's label weight: w[y] (1 without a weight), 0 when y is ignored.
template <class T>
double label_weight(std::int64_t y, const Tensor<T>& weight, std::int64_t ignore_index) {
  if (y == ignore_index) return 0.0;
  return weight.defined() ? static_cast<double>(weight.data()[y]) : 1.0;
}

// The mean's divisor: the sum of the label weights over the rows not
// ignored (PyTorch's weighted mean; 0 when every row is ignored, giving NaN
// as PyTorch does). `weight` is contiguous or undefined.
template <class T>
double class_divisor(const Tensor<std::int64_t>& lab, const Tensor<T>& weight, std::int64_t ignore_index) {
  double divisor = 0.0;
  for (std::int64_t i = 0; i < lab.numel(); ++i) divisor += label_weight(lab.data()[i], weight, ignore_index);
  return divisor;
}

// Sum, mean (over `divisor`) or the rows themselves. An empty batch means
// 0, as nabla's other losses (a deliberate difference: PyTorch gives NaN),
// but a batch whose every target is ignored gives NaN, as PyTorch.
template <class T>
Tensor<T> reduce_class_rows(const Tensor<T>& rows, Reduction reduction, double divisor) {
  if (reduction == Reduction::none) return rows;
  double total = 0.0;
  for (std::int64_t i = 0; i < rows.numel(); ++i) total += static_cast<double>(rows.data()[i]);
  if (reduction == Reduction::mean && rows.numel() > 0) total /= divisor;  // 0 / 0 = NaN
  return Tensor<T>::scalar(static_cast<T>(total));
}

// The upstream gradient for row i: gy[i], or the reduced gy (over the
// mean's divisor).
template <class T>
T class_row_grad(const Tensor<T>& gy, std::int64_t i, std::int64_t reduction, double divisor) {
  if (reduction == static_cast<std::int64_t>(Reduction::none)) return gy.data()[i * gy.strides()[0]];
  const T g = *gy.data();
  return reduction == static_cast<std::int64_t>(Reduction::mean) ? static_cast<T>(static_cast<double>(g) / divisor) : g;
}

}  // namespace detail

// Cross-entropy of logits [N, C] against integer labels [N], as PyTorch's
// F.cross_entropy(logits, labels, weight, ignore_index=..., reduction=...,
// label_smoothing=...). With weight w (Tensor<T> [C]; undefined for none)
// and smoothing e, row i's loss is
//   -(1 - e) w[y_i] logp[i, y_i] - e / C sum_j w[j] logp[i, j]
// (0 for rows whose label is ignore_index), and the mean divides the sum by
// sum_i w[y_i] over the rows not ignored: NaN when every row is ignored (as
// PyTorch), 0 for an empty batch (as nabla's other losses).
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<std::int64_t>& labels, const Tensor<T>& weight,
                     CrossEntropyOptions options = {}) {
  detail::check_class_labels(logits.value(), labels, weight, options.ignore_index, "cross_entropy");
  if (options.label_smoothing < 0.0 || options.label_smoothing > 1.0) {
    throw ValueError(detail::message("cross_entropy: label_smoothing ", options.label_smoothing, " is outside [0, 1]"));
  }
  const Tensor<T> lsm = log_softmax(logits.value(), 1).contiguous();
  const Tensor<std::int64_t> lab = labels.contiguous();
  const Tensor<T> w = weight.defined() ? weight.contiguous() : Tensor<T>();
  const std::int64_t n = lsm.shape()[0];
  const std::int64_t c = lsm.shape()[1];
  const double eps = options.label_smoothing;
  const double divisor = detail::class_divisor(lab, w, options.ignore_index);
  Tensor<T> rows = Tensor<T>::empty(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t y = lab.data()[i];
    if (y == options.ignore_index) {
      rows.data()[i] = T{0};
      continue;
    }
    const T* row = lsm.data() + i * c;
    double loss = -(1.0 - eps) * detail::label_weight(y, w, options.ignore_index) * static_cast<double>(row[y]);
    if (eps > 0.0) {
      double all = 0.0;
      for (std::int64_t j = 0; j < c; ++j) all += (w.defined() ? static_cast<double>(w.data()[j]) : 1.0) * static_cast<double>(row[j]);
      loss -= eps / static_cast<double>(c) * all;
    }
    rows.data()[i] = static_cast<T>(loss);
  }
  return detail::record(OpKind::cross_entropy, detail::reduce_class_rows(rows, options.reduction, divisor),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        // dlogits[k] = g * (p[k] ((1 - e) w[y] + e/C sum_j w[j]) - (1 - e) w[y] [k = y] - e/C w[k])
        const Tensor<T>& lsm = e.saved[0];
        const Tensor<T>& w = e.saved[1];
        const std::int64_t n = lsm.shape()[0];
        const std::int64_t c = lsm.shape()[1];
        const T eps = static_cast<T>(e.reals[0]);
        const T off = eps / static_cast<T>(c);
        T w_all = static_cast<T>(c);
        if (w.defined()) {
          w_all = T{0};
          for (std::int64_t j = 0; j < c; ++j) w_all += w.data()[j];
        }
        Tensor<T> gx = Tensor<T>::empty(lsm.shape());
        for (std::int64_t i = 0; i < n; ++i) {
          T* out = gx.data() + i * c;
          const std::int64_t y = e.saved_index.data()[i];
          if (y == e.ints[1]) {
            for (std::int64_t j = 0; j < c; ++j) out[j] = T{0};
            continue;
          }
          const T g = detail::class_row_grad(gy, i, e.ints[0], e.reals[1]);
          const T wy = w.defined() ? w.data()[y] : T{1};
          const T p_scale = (T{1} - eps) * wy + off * w_all;
          const T* row = lsm.data() + i * c;
          for (std::int64_t j = 0; j < c; ++j) out[j] = (std::exp(row[j]) * p_scale - off * (w.defined() ? w.data()[j] : T{1})) * g;
          out[y] -= (T{1} - eps) * wy * g;
        }
        e.accumulate(0, std::move(gx));
      }, [&](TapeEntry<T>& e) {
        e.saved[0] = lsm;
        e.saved[1] = w;
        e.saved_index = lab;
        e.reals[0] = eps;
        e.reals[1] = divisor;
        e.ints[0] = static_cast<std::int64_t>(options.reduction);
        e.ints[1] = options.ignore_index;
      }, logits);
}

// Without a per-class weight.
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<std::int64_t>& labels, CrossEntropyOptions options = {}) {
  return cross_entropy(logits, labels, Tensor<T>(), options);
}

// Negative log-likelihood of log-probabilities [N, C] at labels [N], as
// PyTorch's F.nll_loss(log_probs, labels, weight, ignore_index=...,
// reduction=...): row i's loss is -w[y_i] logp[i, y_i] (0 when ignored); the
// mean divides by sum_i w[y_i] over the rows not ignored (NaN if every row
// is ignored, 0 for an empty batch).
template <class T>
Var<T> nll_loss(const Var<T>& log_probs, const Tensor<std::int64_t>& labels, const Tensor<T>& weight,
                NLLLossOptions options = {}) {
  detail::check_class_labels(log_probs.value(), labels, weight, options.ignore_index, "nll_loss");
  const Tensor<T> lp = log_probs.value().contiguous();
  const Tensor<std::int64_t> lab = labels.contiguous();
  const std::int64_t n = lp.shape()[0];
  const std::int64_t c = lp.shape()[1];
  const Tensor<T> w = weight.defined() ? weight.contiguous() : Tensor<T>();
  const double divisor = detail::class_divisor(lab, w, options.ignore_index);
  Tensor<T> rows = Tensor<T>::empty(Shape{n});
  Tensor<T> label_weight = Tensor<T>::empty(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t y = lab.data()[i];
    const T wy = static_cast<T>(detail::label_weight(y, w, options.ignore_index));
    label_weight.data()[i] = wy;
    rows.data()[i] = y == options.ignore_index ? T{0} : -wy * lp.data()[i * c + y];
  }
  return detail::record(OpKind::nll_loss, detail::reduce_class_rows(rows, options.reduction, divisor),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // d logp[i, y_i] = -w[y_i] g (0 when ignored)
        const Shape& shape = e.input(0).shape();
        const Tensor<T>& label_weight = e.saved[0];
        Tensor<T> gx = zeros<T>(shape);
        for (std::int64_t i = 0; i < shape[0]; ++i) {
          const std::int64_t y = e.saved_index.data()[i];
          if (y == e.ints[1]) continue;
          gx.data()[i * shape[1] + y] = -label_weight.data()[i] * detail::class_row_grad(gy, i, e.ints[0], e.reals[0]);
        }
        e.accumulate(0, std::move(gx));
      }, [&](TapeEntry<T>& e) {
        e.saved[0] = label_weight;
        e.saved_index = lab;
        e.reals[0] = divisor;
        e.ints[0] = static_cast<std::int64_t>(options.reduction);
        e.ints[1] = options.ignore_index;
      }, log_probs);
}

template <class T>
Var<T> nll_loss(const Var<T>& log_probs, const Tensor<std::int64_t>& labels, NLLLossOptions options) {
  return nll_loss(log_probs, labels, Tensor<T>(), options);
}
template <class T>
Var<T> nll_loss(const Var<T>& log_probs, const Tensor<std::int64_t>& labels, Reduction reduction = Reduction::mean) {
  return nll_loss(log_probs, labels, Tensor<T>(), NLLLossOptions{reduction});
}

namespace detail {

// Shared by the elementwise regression losses: per-element loss and its
// derivative with respect to the prediction, given (prediction, target).
enum class PointLoss : std::int64_t { squared, absolute, logistic };

template <class T>
T point_loss(PointLoss kind, T x, T t) {
  switch (kind) {
    case PointLoss::squared: return (x - t) * (x - t);
    case PointLoss::absolute: return std::abs(x - t);
    case PointLoss::logistic:  // max(x, 0) - x t + log(1 + exp(-|x|)): stable for any x
      return std::max(x, T{0}) - x * t + std::log1p(std::exp(-std::abs(x)));
  }
  return T{0};
}

template <class T>
T point_grad(PointLoss kind, T x, T t) {
  switch (kind) {
    case PointLoss::squared: return T{2} * (x - t);
    case PointLoss::absolute: return x > t ? T{1} : (x < t ? T{-1} : T{0});
    case PointLoss::logistic: {
      const T s = x >= T{0} ? T{1} / (T{1} + std::exp(-x)) : std::exp(x) / (T{1} + std::exp(x));
      return s - t;
    }
  }
  return T{0};
}

template <class T>
Var<T> pointwise_loss(OpKind kind, PointLoss loss, const char* op, const Var<T>& pred, const Var<T>& target,
                      Reduction reduction) {
  if (!(pred.shape() == target.shape())) {
    throw ShapeError(detail::message(op, ": prediction shape ", to_string(pred.shape()), " and target shape ",
                                     to_string(target.shape()), " differ"));
  }
  const Tensor<T> x = pred.value().contiguous();
  const Tensor<T> t = target.value().contiguous();
  Tensor<T> each = Tensor<T>::empty(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) each.data()[i] = point_loss(loss, x.data()[i], t.data()[i]);
  Tensor<T> out = reduction == Reduction::none ? each : reduce_rows(each.reshape(Shape{-1}), reduction);
  return record(kind, std::move(out),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // d pred = loss'(x, t) * g, d target = -d pred
        const Tensor<T> x = e.input(0).contiguous();
        const Tensor<T> t = e.input(1).contiguous();
        const auto kind = static_cast<PointLoss>(e.ints[0]);
        const auto reduction = static_cast<Reduction>(e.ints[1]);
        const Tensor<T> gc = gy.contiguous();
        Tensor<T> gx = Tensor<T>::empty(x.shape());
        const std::int64_t n = x.numel();
        const T scale = reduction == Reduction::mean ? T{1} / static_cast<T>(std::max<std::int64_t>(n, 1)) : T{1};
        for (std::int64_t i = 0; i < n; ++i) {
          const T g = reduction == Reduction::none ? gc.data()[i] : *gc.data() * scale;
          gx.data()[i] = point_grad(kind, x.data()[i], t.data()[i]) * g;
        }
        if (e.needs_grad(1)) {
          if (kind == PointLoss::logistic) {  // d/dt = -x g
            Tensor<T> gt = Tensor<T>::empty(x.shape());
            for (std::int64_t i = 0; i < n; ++i) {
              const T g = reduction == Reduction::none ? gc.data()[i] : *gc.data() * scale;
              gt.data()[i] = -x.data()[i] * g;
            }
            e.accumulate(1, std::move(gt));
          } else {
            e.accumulate(1, neg(gx));
          }
        }
        e.accumulate(0, std::move(gx));
      }, [&](TapeEntry<T>& e) {
        e.ints[0] = static_cast<std::int64_t>(loss);
        e.ints[1] = static_cast<std::int64_t>(reduction);
        e.uses = 1 | 2;
      }, pred, target);
}

}  // namespace detail

template <class T>
Var<T> mse_loss(const Var<T>& pred, const Var<T>& target, Reduction reduction = Reduction::mean) {
  return detail::pointwise_loss(OpKind::mse_loss, detail::PointLoss::squared, "mse_loss", pred, target, reduction);
}
template <class T>
Var<T> mse_loss(const Var<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::mean) {
  return mse_loss(pred, Var<T>(target, false), reduction);
}

template <class T>
Var<T> l1_loss(const Var<T>& pred, const Var<T>& target, Reduction reduction = Reduction::mean) {
  return detail::pointwise_loss(OpKind::l1_loss, detail::PointLoss::absolute, "l1_loss", pred, target, reduction);
}
template <class T>
Var<T> l1_loss(const Var<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::mean) {
  return l1_loss(pred, Var<T>(target, false), reduction);
}

// Binary cross-entropy on logits (sigmoid fused in): stable for any logit.
template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Var<T>& targets,
                                        Reduction reduction = Reduction::mean) {
  return detail::pointwise_loss(OpKind::bce_with_logits, detail::PointLoss::logistic, "binary_cross_entropy_with_logits",
                                logits, targets, reduction);
}
template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Tensor<T>& targets,
                                        Reduction reduction = Reduction::mean) {
  return binary_cross_entropy_with_logits(logits, Var<T>(targets, false), reduction);
}

}  // namespace nabla

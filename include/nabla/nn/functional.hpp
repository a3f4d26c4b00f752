// Stateless twins of the nn modules (nabla::nn::functional), and the fused,
// differentiable batch normalisation they and BatchNorm1d/2d share.
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>

#include "nabla/autograd/rules/elementwise.hpp"
#include "nabla/autograd/rules/linalg.hpp"
#include "nabla/autograd/rules/loss.hpp"
#include "nabla/autograd/rules/nn.hpp"
#include "nabla/autograd/rules/shape.hpp"
#include "nabla/autograd/var.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/kernels/parallel.hpp"

namespace nabla::detail {

// x viewed as [N, C, S]: batch, channels, everything after the channel axis.
struct ChannelSplit {
  std::int64_t n = 1, c = 1, s = 1;
  std::int64_t count() const noexcept { return n * s; }  // values per channel
};

inline ChannelSplit channel_split(const Shape& shape) {
  ChannelSplit split;
  split.n = shape[0];
  split.c = shape[1];
  for (std::size_t d = 2; d < shape.size(); ++d) split.s *= shape[d];
  return split;
}

// Channels per parallel chunk so each chunk holds ~32k values.
inline std::int64_t channel_grain(const ChannelSplit& sp) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(sp.count(), 1));
}

// Batch normalisation forward. In training, per-channel batch mean and
// biased variance normalise x, and the running statistics (when given) move
// towards the batch's mean and unbiased variance; otherwise the running
// statistics normalise. Writes mean and 1/sqrt(var + eps) per channel.
template <class T>
Tensor<T> batch_norm_forward(const Tensor<T>& x, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                             const Tensor<T>& weight, const Tensor<T>& bias, bool training, double momentum,
                             double eps, const Tensor<T>& mean_out, const Tensor<T>& invstd_out) {
  const Tensor<T> xc = x.contiguous();
  const ChannelSplit sp = channel_split(x.shape());
  Tensor<T> y = Tensor<T>::empty(x.shape());
  const T* xp = xc.data();
  T* yp = y.data();
  T* mp = mean_out.data();
  T* ip = invstd_out.data();
  const T* wp = weight.defined() ? weight.data() : nullptr;
  const T* bp = bias.defined() ? bias.data() : nullptr;
  T* rm = running_mean.defined() ? running_mean.data() : nullptr;
  T* rv = running_var.defined() ? running_var.data() : nullptr;
  const std::int64_t count = sp.count();
  kernels::parallel_for(0, sp.c, channel_grain(sp), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      double mean = 0.0;
      double invstd = 0.0;
      if (training) {
        double sum = 0.0;  // two passes in double: as PyTorch's CPU kernel
        for (std::int64_t n = 0; n < sp.n; ++n) {
          const T* row = xp + (n * sp.c + c) * sp.s;
          for (std::int64_t s = 0; s < sp.s; ++s) sum += static_cast<double>(row[s]);
        }
        mean = sum / static_cast<double>(count);
        double sq = 0.0;
        for (std::int64_t n = 0; n < sp.n; ++n) {
          const T* row = xp + (n * sp.c + c) * sp.s;
          for (std::int64_t s = 0; s < sp.s; ++s) {
            const double d = static_cast<double>(row[s]) - mean;
            sq += d * d;
          }
        }
        const double var = sq / static_cast<double>(count);
        invstd = 1.0 / std::sqrt(var + eps);
        if (rm) rm[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(rm[c]) + momentum * mean);
        if (rv) {
          const double unbiased = sq / static_cast<double>(count - 1);
          rv[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(rv[c]) + momentum * unbiased);
        }
      } else {
        mean = static_cast<double>(rm[c]);
        invstd = 1.0 / std::sqrt(static_cast<double>(rv[c]) + eps);
      }
      mp[c] = static_cast<T>(mean);
      ip[c] = static_cast<T>(invstd);
      // y = x * scale + shift, scale = w * invstd, shift = b - mean * scale
      const double scale = (wp ? static_cast<double>(wp[c]) : 1.0) * invstd;
      const T a = static_cast<T>(scale);
      const T b = static_cast<T>((bp ? static_cast<double>(bp[c]) : 0.0) - mean * scale);
      for (std::int64_t n = 0; n < sp.n; ++n) {
        const std::int64_t off = (n * sp.c + c) * sp.s;
        for (std::int64_t s = 0; s < sp.s; ++s) yp[off + s] = xp[off + s] * a + b;
      }
    }
  });
  if (training) {
    if (rm) running_mean.bump_version();
    if (rv) running_var.bump_version();
  }
  return y;
}

// Gradients of batch_norm_forward; xhat = (x - mean) * invstd.
// training: dx = w invstd (dy - mean(dy) - xhat mean(dy xhat)); eval: dx = dy w invstd;
// dw = sum(dy xhat), db = sum(dy).
template <class T>
void batch_norm_backward(const Tensor<T>& gy, const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& mean,
                         const Tensor<T>& invstd, bool training, T* dx, T* dw, T* db) {
  const Tensor<T> xc = x.contiguous();
  const Tensor<T> gc = gy.contiguous();
  const ChannelSplit sp = channel_split(x.shape());
  const T* xp = xc.data();
  const T* gp = gc.data();
  const T* wp = weight.data();
  const double count = static_cast<double>(sp.count());
  kernels::parallel_for(0, sp.c, channel_grain(sp), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      const double m = static_cast<double>(mean.data()[c]);
      const double is = static_cast<double>(invstd.data()[c]);
      double sum_dy = 0.0;
      double sum_dy_xhat = 0.0;
      for (std::int64_t n = 0; n < sp.n; ++n) {
        const std::int64_t off = (n * sp.c + c) * sp.s;
        for (std::int64_t s = 0; s < sp.s; ++s) {
          const double g = static_cast<double>(gp[off + s]);
          sum_dy += g;
          sum_dy_xhat += g * (static_cast<double>(xp[off + s]) - m) * is;
        }
      }
      if (dw) dw[c] = static_cast<T>(sum_dy_xhat);
      if (db) db[c] = static_cast<T>(sum_dy);
      if (!dx) continue;
      const double k = static_cast<double>(wp[c]) * is;
      if (training) {
        const double mean_dy = sum_dy / count;
        const double mean_dy_xhat = sum_dy_xhat / count;
        for (std::int64_t n = 0; n < sp.n; ++n) {
          const std::int64_t off = (n * sp.c + c) * sp.s;
          for (std::int64_t s = 0; s < sp.s; ++s) {
            const double xhat = (static_cast<double>(xp[off + s]) - m) * is;
            dx[off + s] = static_cast<T>(k * (static_cast<double>(gp[off + s]) - mean_dy - xhat * mean_dy_xhat));
          }
        }
      } else {
        const T kt = static_cast<T>(k);
        for (std::int64_t n = 0; n < sp.n; ++n) {
          const std::int64_t off = (n * sp.c + c) * sp.s;
          for (std::int64_t s = 0; s < sp.s; ++s) dx[off + s] = gp[off + s] * kt;
        }
      }
    }
  });
}

template <class T>
void batch_norm_rule(TapeEntry<T>& e, const Tensor<T>& gy) {
  const Tensor<T>& x = e.input(0);
  const Tensor<T>& w = e.input(1);
  const std::int64_t channels = x.shape()[1];
  Tensor<T> dx = e.needs_grad(0) ? Tensor<T>::empty(x.shape()) : Tensor<T>();
  Tensor<T> dw = e.needs_grad(1) ? Tensor<T>::empty(Shape{channels}) : Tensor<T>();
  Tensor<T> db = e.needs_grad(2) ? Tensor<T>::empty(Shape{channels}) : Tensor<T>();
  batch_norm_backward(gy, x, w, e.saved[0], e.saved[1], e.ints[0] != 0, dx.defined() ? dx.data() : nullptr,
                      dw.defined() ? dw.data() : nullptr, db.defined() ? db.data() : nullptr);
  if (dx.defined()) e.accumulate(0, std::move(dx));
  if (dw.defined()) e.accumulate(1, std::move(dw));
  if (db.defined()) e.accumulate(2, std::move(db));
}

}  // namespace nabla::detail

namespace nabla::nn::functional {

// y = x w^T + b for x [..., in], w [out, in], b [out] or undefined (no bias).
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = Var<T>()) {
  if (x.ndim() == 2) return bias.defined() ? nabla::linear(x, weight, bias) : nabla::linear(x, weight);
  if (x.ndim() == 0) throw ShapeError("linear: input must have at least one dimension, got shape []");
  if (weight.ndim() != 2) {
    throw ShapeError(detail::message("linear: weight must be 2-D [out, in], got shape ", to_string(weight.shape())));
  }
  // [..., in] -> [rows, in] -> [..., out]
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = weight.shape()[0];
  const Var<T> rows = nabla::reshape(x, Shape{-1, x.shape()[x.ndim() - 1]});
  const Var<T> y = bias.defined() ? nabla::linear(rows, weight, bias) : nabla::linear(rows, weight);
  return nabla::reshape(y, std::move(out_shape));
}

// 2-D convolution; bias may be undefined.
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Conv2dParams& params) {
  return bias.defined() ? nabla::conv2d(x, weight, bias, params) : nabla::conv2d(x, weight, params);
}
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = Var<T>(), std::int64_t stride = 1,
              std::int64_t padding = 0) {
  Conv2dParams p;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = padding;
  return functional::conv2d(x, weight, bias, p);
}

template <class T>
Var<T> max_pool2d(const Var<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
  return nabla::max_pool2d(x, kernel, stride, padding);
}
template <class T>
Var<T> avg_pool2d(const Var<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
  return nabla::avg_pool2d(x, kernel, stride, padding);
}
template <class T>
Var<T> adaptive_avg_pool2d(const Var<T>& x, std::int64_t out_h, std::int64_t out_w) {
  return nabla::adaptive_avg_pool2d(x, out_h, out_w);
}

// Batch normalisation over axis 1 of x [N, C, ...] (torch.nn.functional.
// batch_norm). running_mean/var may be undefined when training (then no
// statistics are tracked); weight and bias may be undefined (no affine).
// In training the running statistics are updated in place.
template <class T>
Var<T> batch_norm(const Var<T>& x, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                  const Var<T>& weight = Var<T>(), const Var<T>& bias = Var<T>(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5) {
  const Shape& shape = x.shape();
  if (shape.size() < 2) {
    throw ShapeError(detail::message("batch_norm: input must be [N, C, ...], got shape ", to_string(shape)));
  }
  const std::int64_t channels = shape[1];
  auto check = [&](const Tensor<T>& t, const char* what) {
    if (t.defined() && !(t.ndim() == 1 && t.shape()[0] == channels && t.is_contiguous())) {
      throw ShapeError(detail::message("batch_norm: ", what, " of shape ", to_string(t.shape()),
                                       " does not match input ", to_string(shape), " (expects [", channels, "])"));
    }
  };
  check(running_mean, "running_mean");
  check(running_var, "running_var");
  if (weight.defined()) check(weight.value(), "weight");
  if (bias.defined()) check(bias.value(), "bias");
  if (running_mean.defined() != running_var.defined()) {
    throw ValueError("batch_norm: give both running_mean and running_var, or neither");
  }
  if (!training && !running_mean.defined()) {
    throw ValueError("batch_norm: evaluation mode needs running_mean and running_var");
  }
  if (eps <= 0.0) throw ValueError(detail::message("batch_norm: eps ", eps, " must be positive"));
  const detail::ChannelSplit sp = detail::channel_split(shape);
  if (training && sp.count() <= 1) {
    throw ValueError(detail::message("batch_norm: expected more than 1 value per channel when training, got input ",
                                     to_string(shape)));
  }
  // Missing affine parameters act as constants (1 and 0) that need no grad.
  const Var<T> w = weight.defined() ? weight : Var<T>(ones<T>(Shape{channels}), false);
  const Var<T> b = bias.defined() ? bias : Var<T>(zeros<T>(Shape{channels}), false);
  Tensor<T> mean = Tensor<T>::empty(Shape{channels});
  Tensor<T> invstd = Tensor<T>::empty(Shape{channels});
  Tensor<T> y = detail::batch_norm_forward(x.value(), running_mean, running_var, w.value(), b.value(), training,
                                           momentum, eps, mean, invstd);
  return detail::record(OpKind::batch_norm, std::move(y), &detail::batch_norm_rule<T>,
      [&](TapeEntry<T>& e) {
        e.saved[0] = std::move(mean);
        e.saved[1] = std::move(invstd);
        e.ints[0] = training ? 1 : 0;
        e.uses = 1 | 2;
      }, x, w, b);
}

// Inverted dropout; identity when not training.
template <class T>
Var<T> dropout(const Var<T>& x, double p, bool training, Generator& gen) {
  return nabla::dropout(x, p, gen, training);
}
template <class T>
Var<T> dropout(const Var<T>& x, double p = 0.5, bool training = true) {
  return nabla::dropout(x, p, default_generator(), training);
}

template <class T>
Var<T> flatten(const Var<T>& x, std::int64_t start_axis = 1, std::int64_t end_axis = -1) {
  return nabla::flatten(x, start_axis, end_axis);
}

// Activations.
template <class T>
Var<T> relu(const Var<T>& x) {
  return nabla::relu(x);
}
template <class T>
Var<T> leaky_relu(const Var<T>& x, double negative_slope = 0.01) {
  return nabla::leaky_relu(x, static_cast<T>(negative_slope));
}
template <class T>
Var<T> gelu(const Var<T>& x, bool tanh_approximation = false) {
  return nabla::gelu(x, tanh_approximation);
}
template <class T>
Var<T> sigmoid(const Var<T>& x) {
  return nabla::sigmoid(x);
}
template <class T>
Var<T> tanh(const Var<T>& x) {
  return nabla::tanh(x);
}
template <class T>
Var<T> silu(const Var<T>& x) {
  return nabla::silu(x);
}
template <class T>
Var<T> softmax(const Var<T>& x, std::int64_t axis) {
  return nabla::softmax(x, axis);
}
template <class T>
Var<T> log_softmax(const Var<T>& x, std::int64_t axis) {
  return nabla::log_softmax(x, axis);
}

// Losses (the fused rules of autograd/rules/loss.hpp).
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<std::int64_t>& labels, CrossEntropyOptions options = {}) {
  return nabla::cross_entropy(logits, labels, options);
}
template <class T>
Var<T> nll_loss(const Var<T>& log_probs, const Tensor<std::int64_t>& labels, Reduction reduction = Reduction::mean) {
  return nabla::nll_loss(log_probs, labels, reduction);
}
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<std::int64_t>& labels, const Tensor<T>& weight,
                     CrossEntropyOptions options = {}) {
  return nabla::cross_entropy(logits, labels, weight, options);
}
template <class T>
Var<T> nll_loss(const Var<T>& log_probs, const Tensor<std::int64_t>& labels, NLLLossOptions options) {
  return nabla::nll_loss(log_probs, labels, options);
}
template <class T>
Var<T> nll_loss(const Var<T>& log_probs, const Tensor<std::int64_t>& labels, const Tensor<T>& weight,
                NLLLossOptions options = {}) {
  return nabla::nll_loss(log_probs, labels, weight, options);
}
template <class T>
Var<T> mse_loss(const Var<T>& pred, const Var<T>& target, Reduction reduction = Reduction::mean) {
  return nabla::mse_loss(pred, target, reduction);
}
template <class T>
Var<T> mse_loss(const Var<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::mean) {
  return nabla::mse_loss(pred, target, reduction);
}
template <class T>
Var<T> l1_loss(const Var<T>& pred, const Var<T>& target, Reduction reduction = Reduction::mean) {
  return nabla::l1_loss(pred, target, reduction);
}
template <class T>
Var<T> l1_loss(const Var<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::mean) {
  return nabla::l1_loss(pred, target, reduction);
}
template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Var<T>& targets,
                                        Reduction reduction = Reduction::mean) {
  return nabla::binary_cross_entropy_with_logits(logits, targets, reduction);
}
template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Tensor<T>& targets,
                                        Reduction reduction = Reduction::mean) {
  return nabla::binary_cross_entropy_with_logits(logits, targets, reduction);
}

}  // namespace nabla::nn::functional

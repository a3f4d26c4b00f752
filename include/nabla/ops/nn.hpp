// Neural-network ops on tensors: softmax / log_softmax (and their backward),
// conv2d (and backward), max/avg/adaptive-avg pooling (and backward).
#pragma once

#include <cstdint>
#include <type_traits>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/kernels/activation.hpp"
#include "nabla/kernels/conv.hpp"

namespace nabla {
namespace detail {

template <class T>
Tensor<T> softmax_forward(const Tensor<T>& x, std::int64_t axis, bool log, const char* op) {
  static_assert(std::is_floating_point_v<T>, "softmax needs a floating-point tensor");
  if (x.ndim() == 0) {
    Tensor<T> out = Tensor<T>::empty(Shape{});
    *out.data() = log ? T(0) : T(1);
    return out;
  }
  const std::size_t a = normalize_axis(axis, x.ndim(), op);
  const Tensor<T> xc = x.contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  const AxisSplit s = split_at_axis(x.shape(), a);
  if (s.inner == 1) {
    if (log) {
      kernels::log_softmax_lastdim(xc.data(), out.data(), s.outer, s.n);
    } else {
      kernels::softmax_lastdim(xc.data(), out.data(), s.outer, s.n);
    }
  } else {
    kernels::softmax_strided(xc.data(), out.data(), s.outer, s.n, s.inner, log);
  }
  return out;
}

template <class T>
Tensor<T> softmax_backward_impl(const Tensor<T>& y, const Tensor<T>& dy, std::int64_t axis, bool log, const char* op) {
  static_assert(std::is_floating_point_v<T>, "softmax needs a floating-point tensor");
  if (!(y.shape() == dy.shape())) {
    throw ShapeError(message(op, ": output ", to_string(y.shape()), " and its gradient ", to_string(dy.shape()),
                             " differ in shape"));
  }
  if (y.ndim() == 0) return Tensor<T>(Shape{});
  const std::size_t a = normalize_axis(axis, y.ndim(), op);
  const Tensor<T> yc = y.contiguous();
  const Tensor<T> gc = dy.contiguous();
  Tensor<T> dx = Tensor<T>::empty(y.shape());
  const AxisSplit s = split_at_axis(y.shape(), a);
  if (s.inner == 1) {
    if (log) {
      kernels::log_softmax_backward_lastdim(yc.data(), gc.data(), dx.data(), s.outer, s.n);
    } else {
      kernels::softmax_backward_lastdim(yc.data(), gc.data(), dx.data(), s.outer, s.n);
    }
  } else {
    kernels::softmax_backward_strided(yc.data(), gc.data(), dx.data(), s.outer, s.n, s.inner, log);
  }
  return dx;
}

}  // namespace detail

// exp(x - max) / sum(exp(x - max)) along `axis` (negative counts from the end).
template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t axis) {
  return detail::softmax_forward(x, axis, false, "softmax");
}

// x - max - log(sum(exp(x - max))) along `axis`.
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t axis) {
  return detail::softmax_forward(x, axis, true, "log_softmax");
}

// Given y = softmax(x) and dL/dy: dL/dx = y * (dy - sum(dy * y)).
template <class T>
Tensor<T> softmax_backward(const Tensor<T>& y, const Tensor<T>& dy, std::int64_t axis) {
  return detail::softmax_backward_impl(y, dy, axis, false, "softmax_backward");
}

// Given y = log_softmax(x) and dL/dy: dL/dx = dy - exp(y) * sum(dy).
template <class T>
Tensor<T> log_softmax_backward(const Tensor<T>& y, const Tensor<T>& dy, std::int64_t axis) {
  return detail::softmax_backward_impl(y, dy, axis, true, "log_softmax_backward");
}

// --- conv2d ----------------------------------------------------------------

// Everything about a 2-D convolution besides its tensors (PyTorch's defaults).
struct Conv2dParams {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_h = 0, pad_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t groups = 1;
};

template <class T>
struct Conv2dGrads {
  Tensor<T> grad_input;   // undefined unless requested
  Tensor<T> grad_weight;
  Tensor<T> grad_bias;
};

namespace detail {

// Checks x [n, c, h, w], w [k, c / groups, kh, kw], b [k] and the params once;
// returns the kernel geometry.
template <class T>
kernels::Conv2dGeometry conv2d_geometry(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>* b,
                                        const Conv2dParams& p, const char* op) {
  if (x.ndim() != 4) {
    throw ShapeError(message(op, ": input must be 4-D [N, C, H, W], got shape ", to_string(x.shape())));
  }
  if (w.ndim() != 4) {
    throw ShapeError(message(op, ": weight must be 4-D [out_channels, in_channels / groups, kh, kw], got shape ",
                             to_string(w.shape())));
  }
  if (p.stride_h <= 0 || p.stride_w <= 0 || p.dilation_h <= 0 || p.dilation_w <= 0 || p.groups <= 0) {
    throw ValueError(message(op, ": stride (", p.stride_h, ", ", p.stride_w, "), dilation (", p.dilation_h, ", ",
                             p.dilation_w, ") and groups (", p.groups, ") must be positive"));
  }
  if (p.pad_h < 0 || p.pad_w < 0) {
    throw ValueError(message(op, ": padding (", p.pad_h, ", ", p.pad_w, ") must not be negative"));
  }
  kernels::Conv2dGeometry g;
  g.n = x.shape()[0];
  g.c = x.shape()[1];
  g.h = x.shape()[2];
  g.w = x.shape()[3];
  g.k = w.shape()[0];
  g.kh = w.shape()[2];
  g.kw = w.shape()[3];
  g.stride_h = p.stride_h;
  g.stride_w = p.stride_w;
  g.pad_h = p.pad_h;
  g.pad_w = p.pad_w;
  g.dil_h = p.dilation_h;
  g.dil_w = p.dilation_w;
  g.groups = p.groups;
  if (g.c % p.groups != 0 || g.k % p.groups != 0) {
    throw ValueError(message(op, ": groups = ", p.groups, " must divide both the input channels (", g.c,
                             ") and the output channels (", g.k, "); input ", to_string(x.shape()), ", weight ",
                             to_string(w.shape())));
  }
  if (w.shape()[1] * p.groups != g.c) {
    throw ShapeError(message(op, ": input ", to_string(x.shape()), " has ", g.c, " channels but weight ",
                             to_string(w.shape()), " expects ", w.shape()[1] * p.groups));
  }
  if (b && b->defined() && !(b->ndim() == 1 && b->shape()[0] == g.k)) {
    throw ShapeError(message(op, ": bias ", to_string(b->shape()), " does not match weight ", to_string(w.shape()),
                             " (expects [", g.k, "])"));
  }
  const std::int64_t eff_h = p.dilation_h * (g.kh - 1) + 1;
  const std::int64_t eff_w = p.dilation_w * (g.kw - 1) + 1;
  if (g.kh <= 0 || g.kw <= 0 || eff_h > g.h + 2 * p.pad_h || eff_w > g.w + 2 * p.pad_w) {
    throw ShapeError(message(op, ": kernel ", g.kh, "x", g.kw, " (dilated ", eff_h, "x", eff_w,
                             ") is larger than the padded input ", g.h + 2 * p.pad_h, "x", g.w + 2 * p.pad_w,
                             "; input ", to_string(x.shape()), ", weight ", to_string(w.shape())));
  }
  g.ho = (g.h + 2 * p.pad_h - eff_h) / p.stride_h + 1;
  g.wo = (g.w + 2 * p.pad_w - eff_w) / p.stride_w + 1;
  return g;
}

}  // namespace detail

// 2-D cross-correlation as torch.nn.functional.conv2d: x [N, C, H, W],
// w [K, C / groups, kh, kw], b [K] or an undefined tensor (no bias).
template <class T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, const Conv2dParams& params) {
  static_assert(std::is_floating_point_v<T>, "conv2d needs a floating-point tensor");
  const kernels::Conv2dGeometry g = detail::conv2d_geometry(x, w, &b, params, "conv2d");
  const Tensor<T> xc = x.contiguous();
  const Tensor<T> wc = w.contiguous();
  const Tensor<T> bc = b.defined() ? b.contiguous() : b;
  Tensor<T> out = Tensor<T>::empty(Shape{g.n, g.k, g.ho, g.wo});
  kernels::conv2d_forward(g, xc.data(), wc.data(), bc.defined() ? bc.data() : nullptr, out.data());
  return out;
}

template <class T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b = Tensor<T>(), std::int64_t stride = 1,
                 std::int64_t padding = 0) {
  return conv2d(x, w, b, Conv2dParams{stride, stride, padding, padding, 1, 1, 1});
}

// Gradients of conv2d given dy = dL/d(output); only the requested ones are
// computed (the others stay undefined).
template <class T>
Conv2dGrads<T> conv2d_backward(const Tensor<T>& dy, const Tensor<T>& x, const Tensor<T>& w,
                               const Conv2dParams& params, bool need_input = true, bool need_weight = true,
                               bool need_bias = true) {
  static_assert(std::is_floating_point_v<T>, "conv2d needs a floating-point tensor");
  const kernels::Conv2dGeometry g = detail::conv2d_geometry(x, w, static_cast<const Tensor<T>*>(nullptr), params,
                                                            "conv2d_backward");
  const Shape out_shape{g.n, g.k, g.ho, g.wo};
  if (!(dy.shape() == out_shape)) {
    throw ShapeError(detail::message("conv2d_backward: output gradient ", to_string(dy.shape()),
                                     " does not match the output shape ", to_string(out_shape), " of input ",
                                     to_string(x.shape()), " and weight ", to_string(w.shape())));
  }
  Conv2dGrads<T> grads;
  if (need_input) grads.grad_input = Tensor<T>::empty(x.shape());
  if (need_weight) grads.grad_weight = Tensor<T>::empty(w.shape());
  if (need_bias) grads.grad_bias = Tensor<T>::empty(Shape{g.k});
  if (!need_input && !need_weight && !need_bias) return grads;
  const Tensor<T> dyc = dy.contiguous();
  const Tensor<T> xc = need_weight ? x.contiguous() : x;
  const Tensor<T> wc = need_input ? w.contiguous() : w;
  kernels::conv2d_backward(g, xc.data(), wc.data(), dyc.data(), need_input ? grads.grad_input.data() : nullptr,
                           need_weight ? grads.grad_weight.data() : nullptr,
                           need_bias ? grads.grad_bias.data() : nullptr);
  return grads;
}

// --- pooling ---------------------------------------------------------------

template <class T>
struct MaxPool2dResult {
  Tensor<T> values;
  Tensor<std::int64_t> indices;  // flat ih * W + iw of each maximum in its input plane
};

namespace detail {

inline kernels::Pool2dGeometry pool2d_geometry(const Shape& shape, std::int64_t kernel, std::int64_t stride,
                                               std::int64_t padding, const char* op) {
  if (shape.size() != 4) {
    throw ShapeError(message(op, ": input must be 4-D [N, C, H, W], got shape ", to_string(shape)));
  }
  if (kernel <= 0 || stride <= 0) {
    throw ValueError(message(op, ": kernel (", kernel, ") and stride (", stride, ") must be positive"));
  }
  if (padding < 0 || 2 * padding > kernel) {
    throw ValueError(message(op, ": padding ", padding, " must be between 0 and half the kernel size ", kernel));
  }
  kernels::Pool2dGeometry g;
  g.n = shape[0];
  g.c = shape[1];
  g.h = shape[2];
  g.w = shape[3];
  g.kh = g.kw = kernel;
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = padding;
  if (kernel > g.h + 2 * padding || kernel > g.w + 2 * padding) {
    throw ShapeError(message(op, ": kernel ", kernel, "x", kernel, " is larger than the padded input ",
                             g.h + 2 * padding, "x", g.w + 2 * padding, " of shape ", to_string(shape)));
  }
  g.ho = (g.h + 2 * padding - kernel) / stride + 1;
  g.wo = (g.w + 2 * padding - kernel) / stride + 1;
  return g;
}

template <class T>
void check_pool_grad(const Tensor<T>& dy, const Shape& input_shape, const kernels::Pool2dGeometry& g, const char* op) {
  const Shape expected{g.n, g.c, g.ho, g.wo};
  if (!(dy.shape() == expected)) {
    throw ShapeError(message(op, ": output gradient ", to_string(dy.shape()), " does not match the output shape ",
                             to_string(expected), " for input ", to_string(input_shape)));
  }
}

}  // namespace detail

// Max over kernel x kernel windows (padding counts as -inf), with the argmax.
template <class T>
MaxPool2dResult<T> max_pool2d_with_indices(const Tensor<T>& x, std::int64_t kernel, std::int64_t stride = 0,
                                           std::int64_t padding = 0) {
  if (stride == 0) stride = kernel;
  const kernels::Pool2dGeometry g = detail::pool2d_geometry(x.shape(), kernel, stride, padding, "max_pool2d");
  const Tensor<T> xc = x.contiguous();
  MaxPool2dResult<T> r{Tensor<T>::empty(Shape{g.n, g.c, g.ho, g.wo}),
                       Tensor<std::int64_t>::empty(Shape{g.n, g.c, g.ho, g.wo})};
  kernels::max_pool2d_forward(g, xc.data(), r.values.data(), r.indices.data());
  return r;
}

// stride = 0 means stride = kernel (PyTorch's default).
template <class T>
Tensor<T> max_pool2d(const Tensor<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
  if (stride == 0) stride = kernel;
  const kernels::Pool2dGeometry g = detail::pool2d_geometry(x.shape(), kernel, stride, padding, "max_pool2d");
  const Tensor<T> xc = x.contiguous();
  Tensor<T> out = Tensor<T>::empty(Shape{g.n, g.c, g.ho, g.wo});
  kernels::max_pool2d_forward(g, xc.data(), out.data(), static_cast<std::int64_t*>(nullptr));
  return out;
}

// dL/dx: each dy added at its window's argmax.
template <class T>
Tensor<T> max_pool2d_backward(const Tensor<T>& dy, const Tensor<std::int64_t>& indices, const Shape& input_shape) {
  if (input_shape.size() != 4 || dy.ndim() != 4 || !(dy.shape() == indices.shape()) ||
      dy.shape()[0] != input_shape[0] || dy.shape()[1] != input_shape[1]) {
    throw ShapeError(detail::message("max_pool2d_backward: output gradient ", to_string(dy.shape()), ", indices ",
                                     to_string(indices.shape()), " and input shape ", to_string(input_shape),
                                     " do not fit together"));
  }
  kernels::Pool2dGeometry g;
  g.n = input_shape[0];
  g.c = input_shape[1];
  g.h = input_shape[2];
  g.w = input_shape[3];
  g.ho = dy.shape()[2];
  g.wo = dy.shape()[3];
  const Tensor<T> dyc = dy.contiguous();
  const Tensor<std::int64_t> ic = indices.contiguous();
  Tensor<T> dx = Tensor<T>::empty(input_shape);
  kernels::max_pool2d_backward(g, dyc.data(), ic.data(), dx.data());
  return dx;
}

// Mean over kernel x kernel windows; padded taps count in the divisor
// (count_include_pad = true, PyTorch's default). stride = 0 means kernel.
template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
  if (stride == 0) stride = kernel;
  const kernels::Pool2dGeometry g = detail::pool2d_geometry(x.shape(), kernel, stride, padding, "avg_pool2d");
  const Tensor<T> xc = x.contiguous();
  Tensor<T> out = Tensor<T>::empty(Shape{g.n, g.c, g.ho, g.wo});
  kernels::avg_pool2d_forward(g, xc.data(), out.data());
  return out;
}

template <class T>
Tensor<T> avg_pool2d_backward(const Tensor<T>& dy, const Shape& input_shape, std::int64_t kernel,
                              std::int64_t stride = 0, std::int64_t padding = 0) {
  if (stride == 0) stride = kernel;
  const kernels::Pool2dGeometry g =
      detail::pool2d_geometry(input_shape, kernel, stride, padding, "avg_pool2d_backward");
  detail::check_pool_grad(dy, input_shape, g, "avg_pool2d_backward");
  const Tensor<T> dyc = dy.contiguous();
  Tensor<T> dx = Tensor<T>::empty(input_shape);
  kernels::avg_pool2d_backward(g, dyc.data(), dx.data());
  return dx;
}

// Averages over out_h x out_w near-equal cells (torch.nn.AdaptiveAvgPool2d).
template <class T>
Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, std::int64_t out_h, std::int64_t out_w) {
  if (x.ndim() != 4) {
    throw ShapeError(detail::message("adaptive_avg_pool2d: input must be 4-D [N, C, H, W], got shape ",
                                     to_string(x.shape())));
  }
  if (out_h <= 0 || out_w <= 0) {
    throw ValueError(detail::message("adaptive_avg_pool2d: output size ", out_h, "x", out_w, " must be positive"));
  }
  const Tensor<T> xc = x.contiguous();
  const Shape& s = x.shape();
  Tensor<T> out = Tensor<T>::empty(Shape{s[0], s[1], out_h, out_w});
  if (s[2] == 0 || s[3] == 0) {
    throw ShapeError(detail::message("adaptive_avg_pool2d: input ", to_string(s), " has an empty plane"));
  }
  kernels::adaptive_avg_pool2d_forward(s[0] * s[1], s[2], s[3], out_h, out_w, xc.data(), out.data());
  return out;
}

template <class T>
Tensor<T> adaptive_avg_pool2d_backward(const Tensor<T>& dy, const Shape& input_shape) {
  if (input_shape.size() != 4 || dy.ndim() != 4 || dy.shape()[0] != input_shape[0] ||
      dy.shape()[1] != input_shape[1]) {
    throw ShapeError(detail::message("adaptive_avg_pool2d_backward: output gradient ", to_string(dy.shape()),
                                     " does not fit input shape ", to_string(input_shape)));
  }
  const Tensor<T> dyc = dy.contiguous();
  Tensor<T> dx = Tensor<T>::empty(input_shape);
  kernels::adaptive_avg_pool2d_backward(input_shape[0] * input_shape[1], input_shape[2], input_shape[3],
                                        dy.shape()[2], dy.shape()[3], dyc.data(), dx.data());
  return dx;
}

}  // namespace nabla

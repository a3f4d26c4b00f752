// Differentiable neural-network ops on Var<T>: softmax, log_softmax,
// conv2d, pooling and dropout (NCHW layout).
#pragma once

#include <cstdint>

#include "nabla/autograd/var.hpp"
#include "nabla/core/random.hpp"
#include "nabla/ops/elementwise.hpp"
#include "nabla/ops/nn.hpp"

namespace nabla {

template <class T>
Var<T> softmax(const Var<T>& x, std::int64_t axis) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "softmax");
  return detail::record(OpKind::softmax, softmax(x.value(), axis),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = y * (gy - sum(gy * y))
        e.accumulate(0, softmax_backward(e.result(), gy, e.ints[0]));
      }, [a](TapeEntry<T>& e) {
        e.ints[0] = static_cast<std::int64_t>(a);
        e.uses = TapeEntry<T>::uses_output;
      }, x);
}

template <class T>
Var<T> log_softmax(const Var<T>& x, std::int64_t axis) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "log_softmax");
  return detail::record(OpKind::log_softmax, log_softmax(x.value(), axis),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy - exp(y) * sum(gy)
        e.accumulate(0, log_softmax_backward(e.result(), gy, e.ints[0]));
      }, [a](TapeEntry<T>& e) {
        e.ints[0] = static_cast<std::int64_t>(a);
        e.uses = TapeEntry<T>::uses_output;
      }, x);
}

namespace detail {

template <class T>
void conv2d_rule(TapeEntry<T>& e, const Tensor<T>& gy) {
  const Conv2dParams p{e.ints[0], e.ints[1], e.ints[2], e.ints[3], e.ints[4], e.ints[5], e.ints[6]};
  const bool has_bias = e.size() == 3;
  auto grads = conv2d_backward(gy, e.input(0), e.input(1), p, e.needs_grad(0), e.needs_grad(1),
                               has_bias && e.needs_grad(2));
  if (e.needs_grad(0)) e.accumulate(0, std::move(grads.grad_input));
  if (e.needs_grad(1)) e.accumulate(1, std::move(grads.grad_weight));
  if (has_bias && e.needs_grad(2)) e.accumulate(2, std::move(grads.grad_bias));
}

inline void store_conv_params(std::array<std::int64_t, 8>& ints, const Conv2dParams& p) {
  ints = {p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w, p.groups, 0};
}

}  // namespace detail

// 2-D convolution of x [N, C, H, W] with w [K, C/groups, kh, kw] and bias b [K].
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& w, const Var<T>& b, const Conv2dParams& params) {
  return detail::record(OpKind::conv2d, conv2d(x.value(), w.value(), b.value(), params), &detail::conv2d_rule<T>,
      [&params](TapeEntry<T>& e) {
        detail::store_conv_params(e.ints, params);
        e.uses = 1 | 2;
      }, x, w, b);
}

// conv2d without a bias.
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& w, const Conv2dParams& params) {
  return detail::record(OpKind::conv2d, conv2d(x.value(), w.value(), Tensor<T>(), params), &detail::conv2d_rule<T>,
      [&params](TapeEntry<T>& e) {
        detail::store_conv_params(e.ints, params);
        e.uses = 1 | 2;
      }, x, w);
}

template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& w, const Var<T>& b, std::int64_t stride = 1, std::int64_t padding = 0) {
  Conv2dParams p;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = padding;
  return conv2d(x, w, b, p);
}

template <class T>
Var<T> max_pool2d(const Var<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
  if (stride == 0) stride = kernel;
  auto [values, indices] = max_pool2d_with_indices(x.value(), kernel, stride, padding);
  return detail::record(OpKind::max_pool2d, std::move(values),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // each window's gradient goes to its argmax
        e.accumulate(0, max_pool2d_backward(gy, e.saved_index, e.input(0).shape()));
      }, [&idx = indices, kernel, stride, padding](TapeEntry<T>& e) {
        e.saved_index = idx;
        e.ints = {kernel, stride, padding};  // not needed by backward: graph::trace reads them
      }, x);
}

template <class T>
Var<T> avg_pool2d(const Var<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
  if (stride == 0) stride = kernel;
  return detail::record(OpKind::avg_pool2d, avg_pool2d(x.value(), kernel, stride, padding),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // each input gets gy / window size of every window it is in
        e.accumulate(0, avg_pool2d_backward(gy, e.input(0).shape(), e.ints[0], e.ints[1], e.ints[2]));
      }, [=](TapeEntry<T>& e) { e.ints = {kernel, stride, padding}; }, x);
}

template <class T>
Var<T> adaptive_avg_pool2d(const Var<T>& x, std::int64_t out_h, std::int64_t out_w) {
  return detail::record(OpKind::adaptive_avg_pool2d, adaptive_avg_pool2d(x.value(), out_h, out_w),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, adaptive_avg_pool2d_backward(gy, e.input(0).shape()));
      }, detail::NoSetup{}, x);
}

// Inverted dropout: zeroes each element with probability p and scales the
// rest by 1 / (1 - p), so evaluation needs no rescaling.
template <class T>
Var<T> dropout(const Var<T>& x, double p, Generator& gen, bool training = true) {
  if (p < 0.0 || p > 1.0) throw ValueError(detail::message("dropout: probability ", p, " is outside [0, 1]"));
  if (!training || p == 0.0) return x;
  Tensor<T> mask = Tensor<T>::empty(x.shape());
  T* m = mask.data();
  const T keep_scale = p >= 1.0 ? T{0} : static_cast<T>(1.0 / (1.0 - p));
  for (std::int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = gen.uniform() < p ? T{0} : keep_scale;
  Tensor<T> out = mul(x.value(), mask);
  return detail::record(OpKind::dropout, std::move(out),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(gy, e.saved[0])); },  // dx = gy * mask
      [&mask](TapeEntry<T>& e) { e.saved[0] = mask; }, x);
}

}  // namespace nabla

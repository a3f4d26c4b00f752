// Differentiable reductions on Var<T> (sum, mean, max, min, var, logsumexp).
#pragma once

#include <cmath>
#include <cstdint>

#include "nabla/autograd/rules/elementwise.hpp"
#include "nabla/ops/index.hpp"
#include "nabla/ops/reduce.hpp"

namespace nabla {
namespace detail {

// Bitmask of the (normalised, distinct) axes a reduction covers.
inline std::int64_t axes_mask(const Shape& axes, std::size_t rank, const char* op) {
  std::int64_t mask = 0;
  for (std::int64_t a : axes) mask |= std::int64_t{1} << normalize_axis(a, rank, op);
  return mask;
}

// The input's shape with the reduced axes kept as 1.
inline Shape kept_shape(const Shape& input, std::int64_t mask) {
  Shape out = input;
  for (std::size_t d = 0; d < out.size(); ++d) {
    if ((mask >> d) & 1) out[d] = 1;
  }
  return out;
}

// Broadcasts an upstream gradient of a reduction back over the input shape.
template <class T>
Tensor<T> spread(const Tensor<T>& gy, const Shape& input, std::int64_t mask) {
  return gy.reshape(kept_shape(input, mask)).expand(input);
}

inline std::int64_t all_axes(std::size_t rank) { return rank >= 63 ? -1 : (std::int64_t{1} << rank) - 1; }

}  // namespace detail

template <class T>
Var<T> sum(const Var<T>& x) {
  return detail::record(OpKind::sum, sum(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy everywhere
        e.accumulate(0, gy.reshape(Shape::filled(e.input(0).ndim(), 1)).expand(e.input(0).shape()));
      }, detail::NoSetup{}, x);
}

template <class T>
Var<T> sum(const Var<T>& x, const Shape& axes, bool keepdim = false) {
  const std::int64_t mask = detail::axes_mask(axes, x.ndim(), "sum");
  return detail::record(OpKind::sum, sum(x.value(), axes, keepdim),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, detail::spread(gy, e.input(0).shape(), e.ints[0])); },
      [mask](TapeEntry<T>& e) { e.ints[0] = mask; }, x);
}
template <class T>
Var<T> sum(const Var<T>& x, std::int64_t axis, bool keepdim = false) {
  return sum(x, Shape{axis}, keepdim);
}

template <class T>
Var<T> mean(const Var<T>& x) {
  return detail::record(OpKind::mean, mean(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy / n
        const Tensor<T>& in = e.input(0);
        e.accumulate(0, div(gy, static_cast<T>(in.numel())).reshape(Shape::filled(in.ndim(), 1)).expand(in.shape()));
      }, detail::NoSetup{}, x);
}

template <class T>
Var<T> mean(const Var<T>& x, const Shape& axes, bool keepdim = false) {
  const std::int64_t mask = detail::axes_mask(axes, x.ndim(), "mean");
  std::int64_t count = 1;
  for (std::size_t d = 0; d < x.ndim(); ++d) {
    if ((mask >> d) & 1) count *= x.shape()[d];
  }
  return detail::record(OpKind::mean, mean(x.value(), axes, keepdim),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, detail::spread(div(gy, static_cast<T>(e.ints[1])), e.input(0).shape(), e.ints[0]));
      }, [mask, count](TapeEntry<T>& e) {
        e.ints[0] = mask;
        e.ints[1] = count;
      }, x);
}
template <class T>
Var<T> mean(const Var<T>& x, std::int64_t axis, bool keepdim = false) {
  return mean(x, Shape{axis}, keepdim);
}

namespace detail {

// max()/min() over all elements: the gradient is shared evenly among ties,
// or among the NaNs when the result is NaN (as PyTorch).
template <class T>
void extreme_all_backward(TapeEntry<T>& e, const Tensor<T>& gy) {
  const Tensor<T>& in = e.input(0);
  const Tensor<T> hit = std::isnan(e.result().item()) ? detail::ne_mask(in, in)
                                                      : detail::eq_mask(in, e.result().reshape(Shape::filled(in.ndim(), 1)));
  const T ties = sum(hit).item();
  e.accumulate(0, mul(hit, div(gy, ties).reshape(Shape::filled(in.ndim(), 1))));
}

// max/min along an axis: the gradient goes to the chosen index.
template <class T>
void extreme_axis_backward(TapeEntry<T>& e, const Tensor<T>& gy) {
  const Tensor<T>& in = e.input(0);
  const std::size_t axis = static_cast<std::size_t>(e.ints[0]);
  const Tensor<T> g = gy.contiguous();
  const Tensor<std::int64_t> idx = e.saved_index.contiguous();
  Tensor<T> gx = zeros<T>(in.shape());
  // g and idx hold one value per position of the reduced shape (row-major);
  // each index picks the slot along `axis` that receives it.
  Shape reduced = in.shape();
  reduced[axis] = 1;
  Shape gx_strides = gx.strides();
  const std::int64_t axis_stride = gx_strides[axis];
  gx_strides[axis] = 0;
  T* out = gx.data();
  const T* gp = g.data();
  const std::int64_t* ip = idx.data();
  detail::for_each_offset2(reduced, gx_strides, contiguous_strides(reduced), [&](std::int64_t o, std::int64_t k) {
    out[o + ip[k] * axis_stride] += gp[k];
  });
  e.accumulate(0, gx);
}

}  // namespace detail

template <class T>
Var<T> max(const Var<T>& x) {
  return detail::record(OpKind::max, max(x.value()), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    detail::extreme_all_backward(e, gy);
  }, detail::uses<T>(detail::use_in0 | detail::use_out), x);
}
template <class T>
Var<T> min(const Var<T>& x) {
  return detail::record(OpKind::min, min(x.value()), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    detail::extreme_all_backward(e, gy);
  }, detail::uses<T>(detail::use_in0 | detail::use_out), x);
}

template <class T>
Var<T> max(const Var<T>& x, std::int64_t axis, bool keepdim = false) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "max");
  auto [values, indices] = max_with_indices(x.value(), axis, keepdim);
  return detail::record(OpKind::max, std::move(values), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    detail::extreme_axis_backward(e, gy);
  }, [&, a, &idx = indices](TapeEntry<T>& e) {  // clang 14 cannot capture structured bindings
    e.saved_index = idx;
    e.ints[0] = static_cast<std::int64_t>(a);
    e.ints[1] = keepdim ? 1 : 0;
  }, x);
}

template <class T>
Var<T> min(const Var<T>& x, std::int64_t axis, bool keepdim = false) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "min");
  auto [values, indices] = min_with_indices(x.value(), axis, keepdim);
  return detail::record(OpKind::min, std::move(values), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    detail::extreme_axis_backward(e, gy);
  }, [&, a, &idx = indices](TapeEntry<T>& e) {  // clang 14 cannot capture structured bindings
    e.saved_index = idx;
    e.ints[0] = static_cast<std::int64_t>(a);
    e.ints[1] = keepdim ? 1 : 0;
  }, x);
}

template <class T>
Var<T> var(const Var<T>& x, const Shape& axes, std::int64_t correction = 1, bool keepdim = false) {
  const std::int64_t mask = detail::axes_mask(axes, x.ndim(), "var");
  std::int64_t count = 1;
  for (std::size_t d = 0; d < x.ndim(); ++d) {
    if ((mask >> d) & 1) count *= x.shape()[d];
  }
  return detail::record(OpKind::var, var(x.value(), axes, correction, keepdim),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * 2 (x - mean) / (n - correction)
        const Tensor<T>& in = e.input(0);
        const Tensor<T> centred = sub(in, mean(in, e.shape, true));
        const T scale = T{2} / static_cast<T>(e.ints[1] - e.ints[2]);
        e.accumulate(0, mul(centred, detail::spread(mul(gy, scale), in.shape(), e.ints[0])));
      }, [&](TapeEntry<T>& e) {
        e.ints[0] = mask;
        e.ints[1] = count;
        e.ints[2] = correction;
        e.shape = axes;
        e.uses = detail::use_in0;
      }, x);
}
template <class T>
Var<T> var(const Var<T>& x, std::int64_t axis, std::int64_t correction = 1, bool keepdim = false) {
  return var(x, Shape{axis}, correction, keepdim);
}

template <class T>
Var<T> logsumexp(const Var<T>& x, std::int64_t axis, bool keepdim = false) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "logsumexp");
  return detail::record(OpKind::logsumexp, logsumexp(x.value(), axis, keepdim),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * exp(x - y)
        const Tensor<T>& in = e.input(0);
        const std::int64_t mask = std::int64_t{1} << e.ints[0];
        const Shape kept = detail::kept_shape(in.shape(), mask);
        const Tensor<T> soft = exp(sub(in, e.result().reshape(kept)));
        e.accumulate(0, mul(soft, gy.reshape(kept)));
      }, [a](TapeEntry<T>& e) {
        e.ints[0] = static_cast<std::int64_t>(a);
        e.uses = detail::use_in0 | detail::use_out;
      }, x);
}

// dx = reverse running sum of gy along the axis.
template <class T>
Var<T> cumsum(const Var<T>& x, std::int64_t axis) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, x.ndim() == 0 ? 1 : x.ndim(), "cumsum"));
  return detail::record(OpKind::cumsum, cumsum(x.value(), a),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        if (gy.ndim() == 0) return e.accumulate(0, gy);
        const Shape axes{e.ints[0]};
        e.accumulate(0, flip(cumsum(flip(gy, axes), e.ints[0]), axes));
      }, [a](TapeEntry<T>& e) { e.ints[0] = a; }, x);
}

// dx_i = sum over j >= i of gy_j * prod_{k <= j, k != i} x_k, computed
// without dividing by x, so zeros in x are exact (as PyTorch's rule).
template <class T>
Var<T> cumprod(const Var<T>& x, std::int64_t axis) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, x.ndim() == 0 ? 1 : x.ndim(), "cumprod"));
  return detail::record(OpKind::cumprod, cumprod(x.value(), a),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const Tensor<T> xc = e.input(0).contiguous();
        const Tensor<T> gc = gy.contiguous();
        Tensor<T> dx(xc.shape());
        if (dx.numel() == 0) return e.accumulate(0, dx);
        const detail::AxisSplit split = detail::split_at_axis(xc.shape(), static_cast<std::size_t>(e.ints[0]));
        const std::int64_t outer = split.outer, n = split.n, inner = split.inner;
        const T* xp = xc.data();
        const T* gp = gc.data();
        T* dp = dx.data();
        for (std::int64_t o = 0; o < outer; ++o) {
          for (std::int64_t k = 0; k < inner; ++k) {
            const auto at = [&](std::int64_t i) { return (o * n + i) * inner + k; };
            T before = T(1);  // prod_{m < i} x_m
            for (std::int64_t i = 0; i < n; ++i) {
              T run = before;  // prod_{m <= j, m != i} x_m, for j = i, i+1, ...
              T acc = gp[at(i)] * run;
              for (std::int64_t j = i + 1; j < n; ++j) {
                run *= xp[at(j)];
                acc += gp[at(j)] * run;
              }
              dp[at(i)] = acc;
              before *= xp[at(i)];
            }
          }
        }
        e.accumulate(0, dx);
      }, [a](TapeEntry<T>& e) {
        e.ints[0] = a;
        e.uses = detail::use_in0;
      }, x);
}

// dx = gy on the main diagonal, 0 elsewhere.
template <class T>
Var<T> trace(const Var<T>& x) {
  return detail::record(OpKind::trace, trace(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        Tensor<T> dx(e.input(0).shape());
        const T g = gy.item();
        for (std::int64_t i = 0; i < std::min(dx.shape()[0], dx.shape()[1]); ++i) dx.at({i, i}) = g;
        e.accumulate(0, dx);
      }, detail::NoSetup{}, x);
}

}  // namespace nabla

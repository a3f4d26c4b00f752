// Differentiable sort, topk, repeat, tile, norm and prod on Var<T>.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "nabla/autograd/rules/elementwise.hpp"
#include "nabla/autograd/rules/reduce.hpp"
#include "nabla/autograd/var.hpp"
#include "nabla/ops/index.hpp"
#include "nabla/ops/sort.hpp"

namespace nabla {

// sort/topk on a Var: differentiable values and their (integer) positions.
template <class T>
struct VarValuesIndices {
  Var<T> values;
  Tensor<std::int64_t> indices;
};

namespace detail {

// sort/topk: dx = gy scattered back to the positions the values came from.
template <class T>
void selection_backward(TapeEntry<T>& e, const Tensor<T>& gy) {
  const Tensor<T>& in = e.input(0);
  if (in.ndim() == 0) {
    e.accumulate(0, gy.numel() == 1 ? gy.reshape(Shape{}) : zeros<T>(Shape{}));
    return;
  }
  e.accumulate(0, scatter_add(Tensor<T>(in.shape()), e.ints[0], e.saved_index, gy));
}

template <class T>
VarValuesIndices<T> record_selection(OpKind kind, const Var<T>& x, std::size_t axis, ValuesIndices<T> r) {
  VarValuesIndices<T> out;
  out.indices = r.indices;
  const Tensor<std::int64_t> idx = r.indices;
  out.values = record(kind, std::move(r.values), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    selection_backward(e, gy);
  }, [axis, &idx](TapeEntry<T>& e) {
    e.ints[0] = static_cast<std::int64_t>(axis);
    e.saved_index = idx;
  }, x);
  return out;
}

}  // namespace detail

template <class T>
VarValuesIndices<T> sort(const Var<T>& x, std::int64_t axis = -1, bool descending = false, bool stable = true) {
  const std::size_t a = detail::sort_axis(axis, x.ndim(), "sort");
  return detail::record_selection(OpKind::sort, x, a, sort(x.value(), axis, descending, stable));
}

template <class T>
VarValuesIndices<T> topk(const Var<T>& x, std::int64_t k, std::int64_t axis = -1, bool largest = true,
                         bool sorted = true) {
  const std::size_t a = detail::sort_axis(axis, x.ndim(), "topk");
  return detail::record_selection(OpKind::topk, x, a, topk(x.value(), k, axis, largest, sorted));
}

namespace detail {

// dx = gy viewed as [r0, s0, r1, s1, ...], summed over the repeat axes.
template <class T>
Var<T> record_repeat(const Var<T>& x, const Shape& repeats, Tensor<T> out) {
  return record(OpKind::repeat, std::move(out), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    const Shape& in = e.input(0).shape();
    Shape repeat_axes;
    for (std::size_t d = 0; d < e.shape.size(); ++d) repeat_axes.push_back(static_cast<std::int64_t>(2 * d));
    e.accumulate(0, sum(gy.reshape(interleaved_shape(in, e.shape)), repeat_axes).reshape(in));
  }, [&repeats](TapeEntry<T>& e) { e.shape = repeats; }, x);
}

}  // namespace detail

template <class T>
Var<T> repeat(const Var<T>& x, const Shape& repeats) {
  return detail::record_repeat(x, repeats, repeat(x.value(), repeats));
}

// Records as OpKind::repeat with the padded repeats.
template <class T>
Var<T> tile(const Var<T>& x, Shape repeats) {
  while (repeats.size() < x.ndim()) repeats.insert(0, 1);
  return detail::record_repeat(x, repeats, tile(x.value(), repeats));
}

namespace detail {

inline Shape norm_axes_of_mask(std::size_t rank, std::int64_t mask) {
  Shape axes;
  for (std::size_t d = 0; d < rank; ++d) {
    if ((mask >> d) & 1) axes.push_back(static_cast<std::int64_t>(d));
  }
  return axes;
}

// Gradients of vector norms, as PyTorch's norm_backward:
//   p = 2:     dx = gy * x / y          (0 where y = 0)
//   p = 1:     dx = gy * sign(x)
//   p = +-inf: dx = gy * sign(x) * hit / count(hit), hit = (|x| == y or NaN):
//              ties share the gradient evenly
//   p = 0:     dx = 0
//   other p:   dx = gy * sign(x) |x|^(p-1) / y^(p-1)   (0 where y = 0)
template <class T>
void norm_backward(TapeEntry<T>& e, const Tensor<T>& gy) {
  const Tensor<T>& x = e.input(0);
  const double p = e.reals[0];
  const Shape kept = kept_shape(x.shape(), e.ints[0]);
  const Tensor<T> y = e.result().reshape(kept);
  const Tensor<T> g = gy.reshape(kept);
  if (p == 0.0) return e.accumulate(0, zeros<T>(x.shape()));
  if (p == 1.0) return e.accumulate(0, mul(sign(x), g));
  if (std::isinf(p)) {
    // hit: 1 where |x| is the norm (or NaN), as a mask in T.
    const Tensor<T> a = abs(x);
    const Tensor<T> yb = y.expand(x.shape()).contiguous();
    Tensor<T> hit = Tensor<T>::empty(x.shape());
    for (std::int64_t i = 0, n = x.numel(); i < n; ++i) {
      const T v = a.data()[i];
      hit.data()[i] = (v == yb.data()[i] || std::isnan(v)) ? T(1) : T(0);
    }
    const Tensor<T> count = sum(hit, norm_axes_of_mask(x.ndim(), e.ints[0]), true);
    return e.accumulate(0, mul(mul(sign(x), hit), div(g, count)));
  }
  // g / y^(p-1), with 0 where the norm is 0 (PyTorch's masked_fill).
  const Tensor<T> scale = map_grad(y, y, g, [p](T yv, T, T gv) {
    return yv == T(0) ? T(0) : gv / (p == 2.0 ? yv : static_cast<T>(std::pow(yv, p - 1.0)));
  });
  if (p == 2.0) return e.accumulate(0, mul(x, scale));
  e.accumulate(0, mul(mul(sign(x), pow(abs(x), static_cast<T>(p - 1.0))), scale));
}

template <class T>
Var<T> record_norm(const Var<T>& x, double p, std::int64_t mask, Tensor<T> out) {
  if (!(p == 0.0 || p >= 1.0 || std::isinf(p))) {
    throw ValueError(detail::message("norm: the gradient for p = ", p, " is not supported (p must be 0, >= 1 or ",
                                     "+-inf) for a tensor of shape ", to_string(x.shape())));
  }
  return record(OpKind::norm, std::move(out), +[](TapeEntry<T>& e, const Tensor<T>& gy) { norm_backward(e, gy); },
                [p, mask](TapeEntry<T>& e) {
                  e.reals[0] = p;
                  e.ints[0] = mask;
                  e.uses = use_in0 | use_out;
                }, x);
}

}  // namespace detail

template <class T>
Var<T> norm(const Var<T>& x, double p = 2.0) {
  return detail::record_norm(x, p, detail::all_axes(x.ndim()), norm(x.value(), p));
}
template <class T>
Var<T> norm(const Var<T>& x, double p, const Shape& axes, bool keepdim = false) {
  Tensor<T> out = norm(x.value(), p, axes, keepdim);  // checks the axes first
  return detail::record_norm(x, p, detail::axes_mask(axes, x.ndim(), "norm"), std::move(out));
}
template <class T>
Var<T> norm(const Var<T>& x, double p, std::int64_t axis, bool keepdim = false) {
  return norm(x, p, Shape{axis}, keepdim);
}
template <class T>
Var<T> norm(const Var<T>& x, std::string_view kind) {
  return norm(x, detail::fro_p(kind));
}
template <class T>
Var<T> norm(const Var<T>& x, std::string_view kind, const Shape& axes, bool keepdim = false) {
  return norm(x, detail::fro_p(kind), axes, keepdim);
}

namespace detail {

// dx_i = gy * prod_{j != i} x_j along each reduced line, from prefix and
// suffix products: exact with one zero (only it gets a gradient) or more
// (all get 0), where dividing y by x would not be. ints[0] = -1: all elements.
template <class T>
void prod_backward(TapeEntry<T>& e, const Tensor<T>& gy) {
  const Tensor<T> xc = e.input(0).contiguous();
  const Tensor<T> gc = gy.contiguous();
  Tensor<T> dx = Tensor<T>::empty(xc.shape());
  AxisSplit s;
  s.n = xc.numel();
  if (e.ints[0] >= 0) s = split_at_axis(xc.shape(), static_cast<std::size_t>(e.ints[0]));
  const T* xp = xc.data();
  const T* gp = gc.data();
  T* dp = dx.data();
  std::vector<T> before(static_cast<std::size_t>(s.n));
  for (std::int64_t o = 0; o < s.outer; ++o) {
    for (std::int64_t k = 0; k < s.inner; ++k) {
      const std::int64_t base = o * s.n * s.inner + k;
      T run = T(1);
      for (std::int64_t i = 0; i < s.n; ++i) {
        before[static_cast<std::size_t>(i)] = run;
        run *= xp[base + i * s.inner];
      }
      run = T(1);
      const T g = gp[o * s.inner + k];
      for (std::int64_t i = s.n; i-- > 0;) {
        dp[base + i * s.inner] = g * before[static_cast<std::size_t>(i)] * run;
        run *= xp[base + i * s.inner];
      }
    }
  }
  e.accumulate(0, dx);
}

}  // namespace detail

template <class T>
Var<T> prod(const Var<T>& x) {
  return detail::record(OpKind::prod, prod(x.value()), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    detail::prod_backward(e, gy);
  }, [](TapeEntry<T>& e) {
    e.ints[0] = -1;
    e.uses = detail::use_in0;
  }, x);
}

template <class T>
Var<T> prod(const Var<T>& x, std::int64_t axis, bool keepdim = false) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, x.ndim(), "prod"));
  return detail::record(OpKind::prod, prod(x.value(), a, keepdim), +[](TapeEntry<T>& e, const Tensor<T>& gy) {
    detail::prod_backward(e, gy);
  }, [a](TapeEntry<T>& e) {
    e.ints[0] = a;
    e.uses = detail::use_in0;
  }, x);
}

}  // namespace nabla

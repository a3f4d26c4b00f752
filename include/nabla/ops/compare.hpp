// Comparisons, logic and masks with PyTorch's names and types: eq, ne, lt,
// le, gt, ge and the operators < <= > >= == != give Tensor<bool>;
// logical_and/or/xor/not (& | ^ ~ on bool tensors); isnan, isinf, isfinite;
// any, all; isclose, allclose, equal; where with a bool condition;
// masked_fill, masked_select, nonzero, count_nonzero.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "nabla/core/dtype.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/detail/strided.hpp"
#include "nabla/ops/elementwise.hpp"

namespace nabla {
namespace detail {

// f(a, b) -> R elementwise with broadcasting, both operands first converted
// to their promoted type C (int64 < 0.5 compares as float, as in PyTorch).
template <class R, class A, class B, class F>
Tensor<R> map2(const Tensor<A>& a, const Tensor<B>& b, F f, const char* op) {
  using C = promote_t<A, B>;
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor<R> out = Tensor<R>::empty(shape);
  if (out.numel() == 0) return out;
  const Tensor<C> ac = as_type<C>(a), bc = as_type<C>(b);
  const C* pa = ac.data();
  const C* pb = bc.data();
  R* o = out.data();
  if (a.shape() == shape && b.shape() == shape && ac.is_contiguous() && bc.is_contiguous()) {
    for (std::int64_t i = 0; i < out.numel(); ++i) o[i] = static_cast<R>(f(pa[i], pb[i]));
  } else {
    std::int64_t k = 0;
    for_each_offset2(shape, broadcast_strides(ac, shape), broadcast_strides(bc, shape),
                     [&](std::int64_t ia, std::int64_t ib) { o[k++] = static_cast<R>(f(pa[ia], pb[ib])); });
  }
  return out;
}

// f(x) -> R elementwise, in row-major order of x.
template <class R, class T, class F>
Tensor<R> map1(const Tensor<T>& x, F f) {
  Tensor<R> out = Tensor<R>::empty(x.shape());
  R* o = out.data();
  const T* p = x.data();
  if (x.is_contiguous()) {
    for (std::int64_t i = 0; i < x.numel(); ++i) o[i] = static_cast<R>(f(p[i]));
  } else {
    std::int64_t k = 0;
    for_each_offset2(x.shape(), x.strides(), x.strides(), [&](std::int64_t i, std::int64_t) { o[k++] = f(p[i]); });
  }
  return out;
}

// The type a tensor of T and a scalar of S compare in: an integer tensor
// with a floating scalar compares as double (int64 < 0.5 is exact).
template <class T, class S>
using compare_scalar_t = std::conditional_t<std::is_integral_v<T> && std::is_floating_point_v<S>, double,
                                            std::conditional_t<std::is_same_v<T, bool>, promote_t<T, S>, T>>;

}  // namespace detail

#define NABLA_COMPARISON(name, sym)                                                                  \
  template <class A, class B>                                                                       \
  Tensor<bool> name(const Tensor<A>& a, const Tensor<B>& b) {                                       \
    return detail::map2<bool>(a, b, [](auto x, auto y) { return x sym y; }, #name);                 \
  }                                                                                                 \
  template <class T, class S>                                                                       \
    requires std::is_arithmetic_v<S>                                                                \
  Tensor<bool> name(const Tensor<T>& a, S s) {                                                      \
    using C = detail::compare_scalar_t<T, S>;                                                       \
    const C c = static_cast<C>(s);                                                                  \
    return detail::map1<bool>(a, [c](T x) { return static_cast<C>(x) sym c; });                     \
  }                                                                                                 \
  template <class T, class S>                                                                       \
    requires std::is_arithmetic_v<S>                                                                \
  Tensor<bool> name(S s, const Tensor<T>& b) {                                                      \
    using C = detail::compare_scalar_t<T, S>;                                                       \
    const C c = static_cast<C>(s);                                                                  \
    return detail::map1<bool>(b, [c](T x) { return c sym static_cast<C>(x); });                     \
  }                                                                                                 \
  template <class A, class B>                                                                       \
  Tensor<bool> operator sym(const Tensor<A>& a, const Tensor<B>& b) {                               \
    return name(a, b);                                                                              \
  }                                                                                                 \
  template <class T, class S>                                                                       \
    requires std::is_arithmetic_v<S>                                                                \
  Tensor<bool> operator sym(const Tensor<T>& a, S s) {                                              \
    return name(a, s);                                                                              \
  }                                                                                                 \
  template <class T, class S>                                                                       \
    requires std::is_arithmetic_v<S>                                                                \
  Tensor<bool> operator sym(S s, const Tensor<T>& b) {                                              \
    return name(s, b);                                                                              \
  }

// NaN compares false except under != (IEEE, as in PyTorch).
NABLA_COMPARISON(eq, ==)
NABLA_COMPARISON(ne, !=)
NABLA_COMPARISON(lt, <)
NABLA_COMPARISON(le, <=)
NABLA_COMPARISON(gt, >)
NABLA_COMPARISON(ge, >=)

#undef NABLA_COMPARISON

// ---------------------------------------------------------------------------
// Logic: nonzero elements (NaN included) are true, as in PyTorch.
template <class T>
Tensor<bool> logical_not(const Tensor<T>& x) {
  return detail::map1<bool>(x, [](T v) { return !static_cast<bool>(v); });
}
template <class A, class B>
Tensor<bool> logical_and(const Tensor<A>& a, const Tensor<B>& b) {
  return detail::map2<bool>(a, b, [](auto x, auto y) { return static_cast<bool>(x) && static_cast<bool>(y); },
                            "logical_and");
}
template <class A, class B>
Tensor<bool> logical_or(const Tensor<A>& a, const Tensor<B>& b) {
  return detail::map2<bool>(a, b, [](auto x, auto y) { return static_cast<bool>(x) || static_cast<bool>(y); },
                            "logical_or");
}
template <class A, class B>
Tensor<bool> logical_xor(const Tensor<A>& a, const Tensor<B>& b) {
  return detail::map2<bool>(a, b, [](auto x, auto y) { return static_cast<bool>(x) != static_cast<bool>(y); },
                            "logical_xor");
}
// ~mask, mask & other, mask | other, mask ^ other on bool tensors (PyTorch's
// bitwise ops on integers are not provided).
inline Tensor<bool> operator~(const Tensor<bool>& x) { return logical_not(x); }
inline Tensor<bool> operator&(const Tensor<bool>& a, const Tensor<bool>& b) { return logical_and(a, b); }
inline Tensor<bool> operator|(const Tensor<bool>& a, const Tensor<bool>& b) { return logical_or(a, b); }
inline Tensor<bool> operator^(const Tensor<bool>& a, const Tensor<bool>& b) { return logical_xor(a, b); }

// Integers are never NaN or infinite.
template <class T>
Tensor<bool> isnan(const Tensor<T>& x) {
  return detail::map1<bool>(x, [](T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    (void)v;
    return false;
  });
}
template <class T>
Tensor<bool> isinf(const Tensor<T>& x) {
  return detail::map1<bool>(x, [](T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isinf(v);
    (void)v;
    return false;
  });
}
template <class T>
Tensor<bool> isfinite(const Tensor<T>& x) {
  return detail::map1<bool>(x, [](T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isfinite(v);
    (void)v;
    return true;
  });
}

// ---------------------------------------------------------------------------
// any / all over every element (a 0-d bool tensor) or along one axis.
namespace detail {
template <class T>
Tensor<bool> any_all(const Tensor<T>& x, std::int64_t axis, bool keepdim, bool want_all, const char* op) {
  const std::size_t a = normalize_axis(axis, x.ndim(), op);
  const Tensor<T> xc = x.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), a);
  Shape shape = x.shape();
  if (keepdim) {
    shape[a] = 1;
  } else {
    shape.erase(a);
  }
  Tensor<bool> out = Tensor<bool>::empty(shape);
  bool* o = out.data();
  for (std::int64_t i = 0; i < s.outer; ++i) {
    for (std::int64_t k = 0; k < s.inner; ++k) {
      bool r = want_all;
      for (std::int64_t j = 0; j < s.n; ++j) {
        if (static_cast<bool>(xc.data()[(i * s.n + j) * s.inner + k]) != want_all) {
          r = !want_all;
          break;
        }
      }
      o[i * s.inner + k] = r;
    }
  }
  return out;
}
template <class T>
bool any_element(const Tensor<T>& x, bool want_all) {
  bool found = false;  // an element whose truth differs from want_all
  const T* p = x.data();
  for_each_offset2(x.shape(), x.strides(), x.strides(), [&](std::int64_t i, std::int64_t) {
    if (static_cast<bool>(p[i]) != want_all) found = true;
  });
  return want_all ? !found : found;
}
}  // namespace detail

template <class T>
Tensor<bool> any(const Tensor<T>& x) {
  return Tensor<bool>::scalar(detail::any_element(x, false));
}
template <class T>
Tensor<bool> all(const Tensor<T>& x) {
  return Tensor<bool>::scalar(detail::any_element(x, true));
}
template <class T>
Tensor<bool> any(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return detail::any_all(x, axis, keepdim, false, "any");
}
template <class T>
Tensor<bool> all(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return detail::any_all(x, axis, keepdim, true, "all");
}

// |a - b| <= atol + rtol * |b| elementwise (torch.isclose); infinities are
// close only to themselves, NaN only to NaN and only when equal_nan.
template <class A, class B>
Tensor<bool> isclose(const Tensor<A>& a, const Tensor<B>& b, double rtol = 1e-5, double atol = 1e-8,
                     bool equal_nan = false) {
  if (rtol < 0 || atol < 0) {
    throw ValueError(detail::message("isclose: rtol and atol must be non-negative, got ", rtol, " and ", atol));
  }
  return detail::map2<bool>(a, b, [=](auto x, auto y) {
    const double dx = static_cast<double>(x), dy = static_cast<double>(y);
    if (std::isnan(dx) || std::isnan(dy)) return equal_nan && std::isnan(dx) && std::isnan(dy);
    if (dx == dy) return true;  // exact, infinities included
    if (std::isinf(dx) || std::isinf(dy)) return false;
    return std::abs(dx - dy) <= atol + rtol * std::abs(dy);
  }, "isclose");
}
// True when every element is close (torch.allclose); shapes broadcast.
template <class A, class B>
bool allclose(const Tensor<A>& a, const Tensor<B>& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false) {
  return all(isclose(a, b, rtol, atol, equal_nan)).item();
}
// True when both have the same shape and elements (torch.equal; no
// broadcasting, NaN is unequal to itself).
template <class A, class B>
bool equal(const Tensor<A>& a, const Tensor<B>& b) {
  if (!(a.shape() == b.shape())) return false;
  return all(eq(a, b)).item();
}

// ---------------------------------------------------------------------------
// where(condition, a, b): a where condition holds, else b; all broadcast.
template <class T>
Tensor<T> where(const Tensor<bool>& condition, const Tensor<T>& a, const Tensor<T>& b) {
  const Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  const Tensor<bool> c = condition.expand(shape).contiguous();
  const Tensor<T> ae = a.expand(shape), be = b.expand(shape);
  Tensor<T> out = Tensor<T>::empty(shape);
  T* o = out.data();
  const bool* pc = c.data();
  const T* pa = ae.data();
  const T* pb = be.data();
  std::int64_t k = 0;
  detail::for_each_offset2(shape, ae.strides(), be.strides(), [&](std::int64_t ia, std::int64_t ib) {
    o[k] = pc[k] ? pa[ia] : pb[ib];
    ++k;
  });
  return out;
}
template <class T>
Tensor<T> where(const Tensor<bool>& condition, const Tensor<T>& a, std::type_identity_t<T> b) {
  return where(condition, a, Tensor<T>::scalar(b));
}
template <class T>
Tensor<T> where(const Tensor<bool>& condition, std::type_identity_t<T> a, const Tensor<T>& b) {
  return where(condition, Tensor<T>::scalar(a), b);
}

namespace detail {
// The mask broadcast to `shape`, which must be x's own (masked_fill keeps x's shape).
inline Tensor<bool> mask_to(const Tensor<bool>& mask, const Shape& shape, const char* op) {
  if (!(broadcast_shapes(mask.shape(), shape, op) == shape)) {
    throw ShapeError(detail::message(op, ": mask of shape ", to_string(mask.shape()),
                                     " does not broadcast to the tensor's shape ", to_string(shape)));
  }
  return mask.expand(shape).contiguous();
}
}  // namespace detail

namespace detail {
// x[m] = value for a mask m already broadcast to x's shape and packed.
template <class T>
void fill_where(const Tensor<T>& x, const Tensor<bool>& m, T value) {
  T* p = x.data();
  std::int64_t k = 0;
  detail::for_each_offset2(x.shape(), x.strides(), x.strides(), [&](std::int64_t i, std::int64_t) {
    if (m.data()[k++]) p[i] = value;
  });
  x.bump_version();
}
}  // namespace detail

// In place: x[mask] = value, the mask broadcast to x's shape.
template <class T>
const Tensor<T>& masked_fill_(const Tensor<T>& x, const Tensor<bool>& mask, std::type_identity_t<T> value) {
  detail::fill_where(x, detail::mask_to(mask, x.shape(), "masked_fill_"), static_cast<T>(value));
  return x;
}
// A copy of x with `value` where mask holds (torch.masked_fill).
template <class T>
Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<bool>& mask, std::type_identity_t<T> value) {
  const Tensor<bool> m = detail::mask_to(mask, x.shape(), "masked_fill");
  Tensor<T> out = x.clone();
  detail::fill_where(out, m, static_cast<T>(value));
  return out;
}

// The elements of x where mask holds, as a 1-D tensor in row-major order;
// x and mask broadcast together (torch.masked_select).
template <class T>
Tensor<T> masked_select(const Tensor<T>& x, const Tensor<bool>& mask) {
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  const Tensor<bool> m = mask.expand(shape).contiguous();
  const Tensor<T> xe = x.expand(shape);
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < m.numel(); ++i) n += m.data()[i] ? 1 : 0;
  Tensor<T> out = Tensor<T>::empty(Shape{n});
  T* o = out.data();
  const T* p = xe.data();
  std::int64_t k = 0, j = 0;
  detail::for_each_offset2(shape, xe.strides(), xe.strides(), [&](std::int64_t i, std::int64_t) {
    if (m.data()[k++]) o[j++] = p[i];
  });
  return out;
}

// The indices of the nonzero elements, one row per element in row-major
// order: shape [count, ndim] (torch.nonzero).
template <class T>
Tensor<std::int64_t> nonzero(const Tensor<T>& x) {
  const Tensor<T> xc = x.contiguous();
  const std::size_t rank = x.ndim();
  std::vector<std::int64_t> rows;
  std::vector<std::int64_t> pos(rank, 0);
  for (std::int64_t flat = 0; flat < xc.numel(); ++flat) {
    if (static_cast<bool>(xc.data()[flat])) rows.insert(rows.end(), pos.begin(), pos.end());
    for (std::size_t d = rank; d-- > 0;) {  // next position, row-major
      if (++pos[d] < x.shape()[d]) break;
      pos[d] = 0;
    }
  }
  const auto count = rank == 0 ? (xc.numel() == 1 && static_cast<bool>(xc.data()[0]) ? 1 : 0)
                               : static_cast<std::int64_t>(rows.size() / rank);
  return Tensor<std::int64_t>(Shape{count, static_cast<std::int64_t>(rank)}, std::move(rows));
}

// The number of nonzero elements (a 0-d int64 tensor).
template <class T>
Tensor<std::int64_t> count_nonzero(const Tensor<T>& x) {
  std::int64_t n = 0;
  const T* p = x.data();
  detail::for_each_offset2(x.shape(), x.strides(), x.strides(), [&](std::int64_t i, std::int64_t) {
    n += static_cast<bool>(p[i]) ? 1 : 0;
  });
  return Tensor<std::int64_t>::scalar(n);
}

}  // namespace nabla

// Elementwise tensor math with NumPy broadcasting: unary functions, binary
// arithmetic and comparisons, where, operators, and in-place updates.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "nabla/core/error.hpp"
#include "nabla/core/dtype.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/kernels/elementwise.hpp"

namespace nabla {

namespace detail {

// Strides of `t` viewed at the broadcast shape `target` (0 on repeated axes).
template <class T>
Shape broadcast_strides(const Tensor<T>& t, const Shape& target) {
  Shape strides = Shape::filled(target.size(), 0);
  const std::size_t lead = target.size() - t.ndim();
  for (std::size_t i = 0; i < t.ndim(); ++i) {
    if (t.shape()[i] != 1) strides[lead + i] = t.strides()[i];
  }
  return strides;
}

template <class T>
inline constexpr bool not_bool_arithmetic = !std::is_same_v<T, bool>;
#define NABLA_NO_BOOL_ARITHMETIC(T)                                                                          \
  static_assert(detail::not_bool_arithmetic<T>,                                                              \
                "arithmetic on Tensor<bool> is not defined: use logical_and/logical_or/logical_not, or convert " \
                "with to<std::int64_t>() or to<float>()")

// A fresh contiguous tensor holding f(x).
template <class T, class F>
Tensor<T> unary_op(const Tensor<T>& x, const F& f) {
  NABLA_NO_BOOL_ARITHMETIC(T);
  Tensor<T> out = Tensor<T>::empty(x.shape());
  if (x.is_contiguous()) {
    kernels::unary_contiguous(x.data(), out.data(), x.numel(), f);
  } else {
    kernels::unary_strided(x.shape(), x.data(), x.strides(), out.data(), out.strides(), f);
  }
  return out;
}

// f(a, b) with broadcasting, into a fresh contiguous tensor.
template <class T, class F>
Tensor<T> binary_op(const Tensor<T>& a, const Tensor<T>& b, const F& f, const char* op) {
  NABLA_NO_BOOL_ARITHMETIC(T);
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
    Tensor<T> out = Tensor<T>::empty(a.shape());
    kernels::binary_contiguous(a.data(), b.data(), out.data(), a.numel(), f);
    return out;
  }
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor<T> out = Tensor<T>::empty(shape);
  if (out.numel() == 0) return out;
  // One side a single value: a vector-scalar map.
  if (b.numel() == 1 && a.shape() == shape && a.is_contiguous()) {
    kernels::binary_contiguous_vs(a.data(), *b.data(), out.data(), out.numel(), f);
    return out;
  }
  if (a.numel() == 1 && b.shape() == shape && b.is_contiguous()) {
    kernels::binary_contiguous_sv(*a.data(), b.data(), out.data(), out.numel(), f);
    return out;
  }
  kernels::binary_strided(shape, a.data(), broadcast_strides(a, shape), b.data(), broadcast_strides(b, shape),
                          out.data(), out.strides(), f);
  return out;
}

template <class T, class F>
Tensor<T> binary_op(const Tensor<T>& a, T s, const F& f) {
  NABLA_NO_BOOL_ARITHMETIC(T);
  Tensor<T> out = Tensor<T>::empty(a.shape());
  if (a.is_contiguous()) {
    kernels::binary_contiguous_vs(a.data(), s, out.data(), a.numel(), f);
  } else {
    const Shape zero = Shape::filled(a.ndim(), 0);
    kernels::binary_strided(a.shape(), a.data(), a.strides(), &s, zero, out.data(), out.strides(), f);
  }
  return out;
}

template <class T, class F>
Tensor<T> binary_op(T s, const Tensor<T>& b, const F& f) {
  NABLA_NO_BOOL_ARITHMETIC(T);
  Tensor<T> out = Tensor<T>::empty(b.shape());
  if (b.is_contiguous()) {
    kernels::binary_contiguous_sv(s, b.data(), out.data(), b.numel(), f);
  } else {
    const Shape zero = Shape::filled(b.ndim(), 0);
    kernels::binary_strided(b.shape(), &s, zero, b.data(), b.strides(), out.data(), out.strides(), f);
  }
  return out;
}

// dst = f(dst, src) in place, src broadcast to dst's shape.
template <class T, class F>
const Tensor<T>& inplace_op(const Tensor<T>& dst, const Tensor<T>& src, const F& f, const char* op) {
  NABLA_NO_BOOL_ARITHMETIC(T);
  if (!(broadcast_shapes(dst.shape(), src.shape(), op) == dst.shape())) {
    throw ShapeError(detail::message(op, ": source shape ", to_string(src.shape()),
                                     " cannot be broadcast to destination shape ", to_string(dst.shape())));
  }
  if (dst.numel() > 0) {
    if (src.shape() == dst.shape() && dst.is_contiguous() && src.is_contiguous()) {
      kernels::binary_contiguous(dst.data(), src.data(), dst.data(), dst.numel(), f);
    } else {
      kernels::binary_strided(dst.shape(), dst.data(), dst.strides(), src.data(), broadcast_strides(src, dst.shape()),
                              dst.data(), dst.strides(), f);
    }
  }
  dst.bump_version();
  return dst;
}

// dst = f(dst, s) in place.
template <class T, class F>
const Tensor<T>& inplace_op(const Tensor<T>& dst, T s, const F& f) {
  NABLA_NO_BOOL_ARITHMETIC(T);
  if (dst.is_contiguous()) {
    kernels::binary_contiguous_vs(dst.data(), s, dst.data(), dst.numel(), f);
  } else {
    const Shape zero = Shape::filled(dst.ndim(), 0);
    kernels::binary_strided(dst.shape(), dst.data(), dst.strides(), &s, zero, dst.data(), dst.strides(), f);
  }
  dst.bump_version();
  return dst;
}

// dst = f(dst, a, b) in place, a and b broadcast to dst's shape.
template <class T, class F>
const Tensor<T>& inplace_op3(const Tensor<T>& dst, const Tensor<T>& a, const Tensor<T>& b, const F& f,
                             const char* op) {
  const Shape ab = broadcast_shapes(a.shape(), b.shape(), op);
  if (!(broadcast_shapes(dst.shape(), ab, op) == dst.shape())) {
    throw ShapeError(detail::message(op, ": shapes ", to_string(a.shape()), " and ", to_string(b.shape()),
                                     " cannot be broadcast to destination shape ", to_string(dst.shape())));
  }
  if (dst.numel() > 0) {
    if (a.shape() == dst.shape() && b.shape() == dst.shape() && dst.is_contiguous() && a.is_contiguous() &&
        b.is_contiguous()) {
      kernels::ternary_contiguous(dst.data(), a.data(), b.data(), dst.data(), dst.numel(), f);
    } else {
      kernels::ternary_strided(dst.shape(), dst.data(), dst.strides(), a.data(), broadcast_strides(a, dst.shape()),
                               b.data(), broadcast_strides(b, dst.shape()), dst.data(), dst.strides(), f);
    }
  }
  dst.bump_version();
  return dst;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Unary functions (any layout in, contiguous out).
template <class T> Tensor<T> neg(const Tensor<T>& x) { return detail::unary_op(x, kernels::NegOp{}); }
template <class T> Tensor<T> exp(const Tensor<T>& x) { return detail::unary_op(x, kernels::ExpOp{}); }
template <class T> Tensor<T> log(const Tensor<T>& x) { return detail::unary_op(x, kernels::LogOp{}); }
template <class T> Tensor<T> log1p(const Tensor<T>& x) { return detail::unary_op(x, kernels::Log1pOp{}); }
template <class T> Tensor<T> expm1(const Tensor<T>& x) { return detail::unary_op(x, kernels::Expm1Op{}); }
template <class T> Tensor<T> sqrt(const Tensor<T>& x) { return detail::unary_op(x, kernels::SqrtOp{}); }
template <class T> Tensor<T> rsqrt(const Tensor<T>& x) { return detail::unary_op(x, kernels::RsqrtOp{}); }
template <class T> Tensor<T> abs(const Tensor<T>& x) { return detail::unary_op(x, kernels::AbsOp{}); }
template <class T> Tensor<T> sign(const Tensor<T>& x) { return detail::unary_op(x, kernels::SignOp{}); }
template <class T> Tensor<T> square(const Tensor<T>& x) { return detail::unary_op(x, kernels::SquareOp{}); }
template <class T> Tensor<T> reciprocal(const Tensor<T>& x) { return detail::unary_op(x, kernels::ReciprocalOp{}); }
template <class T> Tensor<T> sin(const Tensor<T>& x) { return detail::unary_op(x, kernels::SinOp{}); }
template <class T> Tensor<T> cos(const Tensor<T>& x) { return detail::unary_op(x, kernels::CosOp{}); }
template <class T> Tensor<T> tanh(const Tensor<T>& x) { return detail::unary_op(x, kernels::TanhOp{}); }
// 1 / (1 + exp(-x)); 0 or 1 (never NaN) for large |x|.
template <class T> Tensor<T> sigmoid(const Tensor<T>& x) { return detail::unary_op(x, kernels::SigmoidOp{}); }
template <class T> Tensor<T> relu(const Tensor<T>& x) { return detail::unary_op(x, kernels::ReluOp{}); }
template <class T>
Tensor<T> leaky_relu(const Tensor<T>& x, std::type_identity_t<T> negative_slope = T(0.01)) {
  return detail::unary_op(x, kernels::LeakyReluOp<T>{negative_slope});
}
// Exact erf form by default (PyTorch's default); the tanh form on request.
template <class T>
Tensor<T> gelu(const Tensor<T>& x, bool tanh_approximation = false) {
  if (tanh_approximation) return detail::unary_op(x, kernels::GeluTanhOp<T>{});
  return detail::unary_op(x, kernels::GeluOp<T>{});
}
template <class T> Tensor<T> silu(const Tensor<T>& x) { return detail::unary_op(x, kernels::SiluOp{}); }
// log(1 + exp(x)), returning x itself above 20 as PyTorch does.
template <class T> Tensor<T> softplus(const Tensor<T>& x) { return detail::unary_op(x, kernels::SoftplusOp{}); }
template <class T>
Tensor<T> elu(const Tensor<T>& x, std::type_identity_t<T> alpha = T(1)) {
  return detail::unary_op(x, kernels::EluOp<T>{alpha});
}
template <class T> Tensor<T> floor(const Tensor<T>& x) { return detail::unary_op(x, kernels::FloorOp{}); }
template <class T> Tensor<T> ceil(const Tensor<T>& x) { return detail::unary_op(x, kernels::CeilOp{}); }
// Halves round to even, as torch.round and numpy.round.
template <class T> Tensor<T> round(const Tensor<T>& x) { return detail::unary_op(x, kernels::RoundOp{}); }
template <class T>
Tensor<T> clamp(const Tensor<T>& x, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
  if (lo > hi) throw ValueError(detail::message("clamp: lower bound ", lo, " is above upper bound ", hi));
  return detail::unary_op(x, kernels::ClampOp<T>{lo, hi});
}

// max(x, lo) and min(x, hi) (torch.clamp_min, torch.clamp_max); NaN stays NaN.
template <class T>
Tensor<T> clamp_min(const Tensor<T>& x, std::type_identity_t<T> lo) {
  return detail::unary_op(x, kernels::ClampOp<T>{lo, std::numeric_limits<T>::has_infinity
                                                        ? std::numeric_limits<T>::infinity()
                                                        : std::numeric_limits<T>::max()});
}
template <class T>
Tensor<T> clamp_max(const Tensor<T>& x, std::type_identity_t<T> hi) {
  return detail::unary_op(x, kernels::ClampOp<T>{std::numeric_limits<T>::has_infinity
                                                     ? -std::numeric_limits<T>::infinity()
                                                     : std::numeric_limits<T>::lowest(),
                                                 hi});
}

// ---------------------------------------------------------------------------
// Binary functions with broadcasting; each also takes a scalar on either side.
#define NABLA_BINARY_OP(name, functor)                                                        \
  template <class T>                                                                          \
  Tensor<T> name(const Tensor<T>& a, const Tensor<T>& b) {                                    \
    return detail::binary_op(a, b, kernels::functor{}, #name);                                \
  }                                                                                           \
  template <class T>                                                                          \
  Tensor<T> name(const Tensor<T>& a, std::type_identity_t<T> b) {                             \
    return detail::binary_op(a, static_cast<T>(b), kernels::functor{});                       \
  }                                                                                           \
  template <class T>                                                                          \
  Tensor<T> name(std::type_identity_t<T> a, const Tensor<T>& b) {                             \
    return detail::binary_op(static_cast<T>(a), b, kernels::functor{});                       \
  }

NABLA_BINARY_OP(add, AddOp)
NABLA_BINARY_OP(sub, SubOp)
NABLA_BINARY_OP(mul, MulOp)
NABLA_BINARY_OP(maximum, MaximumOp)
NABLA_BINARY_OP(minimum, MinimumOp)
NABLA_BINARY_OP(atan2, Atan2Op)

// Comparisons as masks of 0 and 1 in the element type, for backward rules
// that multiply by them (SIMD kernels). The public comparisons, which give
// Tensor<bool> as PyTorch does, are in ops/compare.hpp.
namespace detail {
NABLA_BINARY_OP(eq_mask, EqOp)
NABLA_BINARY_OP(ne_mask, NeOp)
NABLA_BINARY_OP(lt_mask, LtOp)
NABLA_BINARY_OP(le_mask, LeOp)
NABLA_BINARY_OP(gt_mask, GtOp)
NABLA_BINARY_OP(ge_mask, GeOp)
}  // namespace detail

#undef NABLA_BINARY_OP

template <class T>
Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::binary_op(a, b, kernels::PowOp{}, "pow");
}
// Common exponents take exact shortcuts (x*x, sqrt, 1/x) instead of exp/log.
template <class T>
Tensor<T> pow(const Tensor<T>& a, std::type_identity_t<T> b) {
  if (b == T(1)) return a.clone();
  if (b == T(2)) return square(a);
  if constexpr (std::is_floating_point_v<T>) {
    if (b == T(0.5)) return sqrt(a);
    if (b == T(-1)) return reciprocal(a);
    if (b == T(-0.5)) return rsqrt(a);
  }
  return detail::binary_op(a, static_cast<T>(b), kernels::PowOp{});
}
template <class T>
Tensor<T> pow(std::type_identity_t<T> a, const Tensor<T>& b) {
  return detail::binary_op(static_cast<T>(a), b, kernels::PowOp{});
}

// mask nonzero takes a, else b; all three broadcast together. (A
// Tensor<bool> condition is ops/compare.hpp's where.)
template <class T>
  requires(!std::is_same_v<T, bool>)
Tensor<T> where(const Tensor<T>& mask, const Tensor<T>& a, const Tensor<T>& b) {
  const Shape shape = broadcast_shapes(broadcast_shapes(mask.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor<T> out = Tensor<T>::empty(shape);
  if (out.numel() == 0) return out;
  if (mask.shape() == shape && a.shape() == shape && b.shape() == shape && mask.is_contiguous() &&
      a.is_contiguous() && b.is_contiguous()) {
    kernels::ternary_contiguous(mask.data(), a.data(), b.data(), out.data(), out.numel(), kernels::WhereOp{});
  } else {
    kernels::ternary_strided(shape, mask.data(), detail::broadcast_strides(mask, shape), a.data(),
                             detail::broadcast_strides(a, shape), b.data(), detail::broadcast_strides(b, shape),
                             out.data(), out.strides(), kernels::WhereOp{});
  }
  return out;
}
template <class T>
Tensor<T> where(const Tensor<T>& mask, const Tensor<T>& a, std::type_identity_t<T> b) {
  return where(mask, a, Tensor<T>::scalar(b));
}
template <class T>
Tensor<T> where(const Tensor<T>& mask, std::type_identity_t<T> a, const Tensor<T>& b) {
  return where(mask, Tensor<T>::scalar(a), b);
}

// True division: integers are divided as floats (int64 / int64 is float, as
// in PyTorch); floating types divide in their own type.
template <class T>
Tensor<true_divide_t<T>> div(const Tensor<T>& a, const Tensor<T>& b) {
  if constexpr (std::is_floating_point_v<T>) {
    return detail::binary_op(a, b, kernels::DivOp{}, "div");
  } else {
    return div(a.template to<float>(), b.template to<float>());
  }
}
template <class T>
Tensor<true_divide_t<T>> div(const Tensor<T>& a, std::type_identity_t<T> b) {
  if constexpr (std::is_floating_point_v<T>) {
    return detail::binary_op(a, static_cast<T>(b), kernels::DivOp{});
  } else {
    return div(a.template to<float>(), static_cast<float>(b));
  }
}
template <class T>
Tensor<true_divide_t<T>> div(std::type_identity_t<T> a, const Tensor<T>& b) {
  if constexpr (std::is_floating_point_v<T>) {
    return detail::binary_op(static_cast<T>(a), b, kernels::DivOp{});
  } else {
    return div(static_cast<float>(a), b.template to<float>());
  }
}

namespace detail {
// a / b rounded toward -inf for integers (C++ truncates toward zero).
template <class T>
Tensor<T> floor_integer_quotient(const Tensor<T>& q, const Tensor<T>& a, const Tensor<T>& b) {
  if constexpr (std::is_signed_v<T> && std::is_integral_v<T>) {
    // q was truncated; step down where the remainder is nonzero and the signs differ.
    const Shape shape = q.shape();
    const Tensor<T> ab = a.expand(shape).contiguous(), bb = b.expand(shape).contiguous();
    T* out = q.data();
    const T* pa = ab.data();
    const T* pb = bb.data();
    for (std::int64_t i = 0; i < q.numel(); ++i) {
      if (pa[i] % pb[i] != 0 && ((pa[i] < 0) != (pb[i] < 0))) --out[i];
    }
  }
  (void)a;
  (void)b;
  return q;
}
}  // namespace detail

// Integer division rounded toward -inf (Python's //), and floor(a / b) for
// floating types, as torch.floor_divide. Integer division by zero throws.
template <class T>
Tensor<T> floor_divide(const Tensor<T>& a, const Tensor<T>& b) {
  if constexpr (std::is_floating_point_v<T>) {
    return floor(div(a, b));
  } else {
    const Tensor<T> bc = b.contiguous();
    for (std::int64_t i = 0; i < bc.numel(); ++i) {
      if (bc.data()[i] == 0) throw ValueError("floor_divide: integer division by zero");
    }
    return detail::floor_integer_quotient(detail::binary_op(a, bc, kernels::DivOp{}, "floor_divide"), a, bc);
  }
}
template <class T>
Tensor<T> floor_divide(const Tensor<T>& a, std::type_identity_t<T> b) {
  return floor_divide(a, Tensor<T>::scalar(static_cast<T>(b)));
}

// ---------------------------------------------------------------------------
// Arithmetic operators (comparisons are in ops/compare.hpp). Operands of
// different element types promote as torch.result_type (core/dtype.hpp).
template <class T> Tensor<T> operator-(const Tensor<T>& x) { return neg(x); }
template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Tensor<true_divide_t<T>> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> Tensor<T> operator+(const Tensor<T>& a, std::type_identity_t<T> b) { return add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, std::type_identity_t<T> b) { return sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, std::type_identity_t<T> b) { return mul(a, b); }
template <class T> Tensor<true_divide_t<T>> operator/(const Tensor<T>& a, std::type_identity_t<T> b) { return div(a, b); }
template <class T> Tensor<T> operator+(std::type_identity_t<T> a, const Tensor<T>& b) { return add(a, b); }
template <class T> Tensor<T> operator-(std::type_identity_t<T> a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Tensor<T> operator*(std::type_identity_t<T> a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Tensor<true_divide_t<T>> operator/(std::type_identity_t<T> a, const Tensor<T>& b) { return div(a, b); }

namespace detail {
template <class R, class T>
Tensor<R> as_type(const Tensor<T>& x) {
  if constexpr (std::is_same_v<R, T>) {
    return x;
  } else {
    return x.template to<R>();
  }
}
}  // namespace detail

// Two tensors of different element types: both promote first (float with
// double is double; an integer tensor with a float tensor is float).
#define NABLA_PROMOTING_OP(sym, fn)                                                           \
  template <class A, class B>                                                                 \
    requires(!std::is_same_v<A, B>)                                                           \
  auto operator sym(const Tensor<A>& a, const Tensor<B>& b) {                                 \
    using R = promote_t<A, B>;                                                                \
    return fn(detail::as_type<R>(a), detail::as_type<R>(b));                                  \
  }                                                                                           \
  template <class A, class B>                                                                 \
    requires(!std::is_same_v<A, B>)                                                           \
  auto fn(const Tensor<A>& a, const Tensor<B>& b) {                                           \
    using R = promote_t<A, B>;                                                                \
    return fn(detail::as_type<R>(a), detail::as_type<R>(b));                                  \
  }                                                                                           \
  /* An integer tensor with a floating scalar computes in float. */                          \
  template <class T, class S>                                                                 \
    requires(std::is_integral_v<T> && std::is_floating_point_v<S>)                            \
  auto operator sym(const Tensor<T>& a, S s) {                                                \
    return fn(a.template to<float>(), static_cast<float>(s));                                 \
  }                                                                                           \
  template <class T, class S>                                                                 \
    requires(std::is_integral_v<T> && std::is_floating_point_v<S>)                            \
  auto operator sym(S s, const Tensor<T>& a) {                                                \
    return fn(static_cast<float>(s), a.template to<float>());                                 \
  }                                                                                           \
  template <class T, class S>                                                                 \
    requires(std::is_integral_v<T> && std::is_floating_point_v<S>)                            \
  auto fn(const Tensor<T>& a, S s) {                                                          \
    return fn(a.template to<float>(), static_cast<float>(s));                                 \
  }                                                                                           \
  template <class T, class S>                                                                 \
    requires(std::is_integral_v<T> && std::is_floating_point_v<S>)                            \
  auto fn(S s, const Tensor<T>& a) {                                                          \
    return fn(static_cast<float>(s), a.template to<float>());                                 \
  }

NABLA_PROMOTING_OP(+, add)
NABLA_PROMOTING_OP(-, sub)
NABLA_PROMOTING_OP(*, mul)
NABLA_PROMOTING_OP(/, div)

#undef NABLA_PROMOTING_OP

// ---------------------------------------------------------------------------
// In-place updates (src broadcast to dst's shape; dst keeps its layout).
// Each bumps dst's version so autograd notices the write.
template <class T>
const Tensor<T>& add_(const Tensor<T>& dst, const Tensor<T>& src, std::type_identity_t<T> alpha = T(1)) {
  if (alpha == T(1)) return detail::inplace_op(dst, src, kernels::AddOp{}, "add_");
  return detail::inplace_op(dst, src, kernels::AxpyOp<T>{alpha}, "add_");
}
template <class T>
const Tensor<T>& sub_(const Tensor<T>& dst, const Tensor<T>& src) {
  return detail::inplace_op(dst, src, kernels::SubOp{}, "sub_");
}
template <class T>
const Tensor<T>& mul_(const Tensor<T>& dst, const Tensor<T>& src) {
  return detail::inplace_op(dst, src, kernels::MulOp{}, "mul_");
}
template <class T>
const Tensor<T>& div_(const Tensor<T>& dst, const Tensor<T>& src) {
  return detail::inplace_op(dst, src, kernels::DivOp{}, "div_");
}
template <class T>
const Tensor<T>& add_(const Tensor<T>& dst, std::type_identity_t<T> value) {
  return detail::inplace_op(dst, static_cast<T>(value), kernels::AddOp{});
}
template <class T>
const Tensor<T>& mul_(const Tensor<T>& dst, std::type_identity_t<T> value) {
  return detail::inplace_op(dst, static_cast<T>(value), kernels::MulOp{});
}
template <class T>
const Tensor<T>& sub_(const Tensor<T>& dst, std::type_identity_t<T> value) {
  return detail::inplace_op(dst, static_cast<T>(value), kernels::SubOp{});
}
template <class T>
const Tensor<T>& div_(const Tensor<T>& dst, std::type_identity_t<T> value) {
  return detail::inplace_op(dst, static_cast<T>(value), kernels::DivOp{});
}
// dst += value * a * b
template <class T>
const Tensor<T>& addcmul_(const Tensor<T>& dst, const Tensor<T>& a, const Tensor<T>& b,
                          std::type_identity_t<T> value = T(1)) {
  return detail::inplace_op3(dst, a, b, kernels::AddcmulOp<T>{value}, "addcmul_");
}
// dst += value * a / b
template <class T>
const Tensor<T>& addcdiv_(const Tensor<T>& dst, const Tensor<T>& a, const Tensor<T>& b,
                          std::type_identity_t<T> value = T(1)) {
  return detail::inplace_op3(dst, a, b, kernels::AddcdivOp<T>{value}, "addcdiv_");
}
// dst += weight * (end - dst)
template <class T>
const Tensor<T>& lerp_(const Tensor<T>& dst, const Tensor<T>& end, std::type_identity_t<T> weight) {
  return detail::inplace_op(dst, end, kernels::LerpOp<T>{weight}, "lerp_");
}

#undef NABLA_NO_BOOL_ARITHMETIC

}  // namespace nabla

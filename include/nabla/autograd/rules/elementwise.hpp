// Differentiable elementwise ops on Var<T>, with their gradient rules.
#pragma once

#include <cmath>
#include <numbers>

#include "nabla/autograd/var.hpp"
#include "nabla/ops/elementwise.hpp"
#include "nabla/ops/reduce.hpp"

namespace nabla {
namespace detail {

// Gradient for input k of a broadcasting op: summed back to its shape.
template <class T>
void accumulate_broadcast(const TapeEntry<T>& e, std::size_t k, const Tensor<T>& g) {
  if (e.needs_grad(k)) e.accumulate(k, sum_to(g, e.input(k).shape()));
}

// Marks which values a rule reads, so in-place edits before backward throw.
template <class T>
constexpr auto uses(std::uint8_t mask) {
  return [mask](TapeEntry<T>& e) { e.uses = mask; };
}
inline constexpr std::uint8_t use_in0 = 1;
inline constexpr std::uint8_t use_in1 = 2;
inline constexpr std::uint8_t use_out = 1U << 7;

// Applies `f(x, y, gy)` elementwise over contiguous copies, for rules whose
// derivative has no op of its own.
template <class T, class F>
Tensor<T> map_grad(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& gy, F f) {
  const Tensor<T> xc = x.contiguous();
  const Tensor<T> yc = y.contiguous();
  const Tensor<T> gc = gy.contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  const T* xp = xc.data();
  const T* yp = yc.data();
  const T* gp = gc.data();
  T* o = out.data();
  for (std::int64_t i = 0, n = out.numel(); i < n; ++i) o[i] = f(xp[i], yp[i], gp[i]);
  return out;
}

}  // namespace detail

// ---- Binary ops (broadcasting) -------------------------------------------

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::add, add(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // da = gy, db = gy
        detail::accumulate_broadcast(e, 0, gy);
        detail::accumulate_broadcast(e, 1, gy);
      }, detail::NoSetup{}, a, b);
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::sub, sub(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // da = gy, db = -gy
        detail::accumulate_broadcast(e, 0, gy);
        if (e.needs_grad(1)) detail::accumulate_broadcast(e, 1, neg(gy));
      }, detail::NoSetup{}, a, b);
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::mul, mul(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // da = gy * b, db = gy * a
        if (e.needs_grad(0)) detail::accumulate_broadcast(e, 0, mul(gy, e.input(1)));
        if (e.needs_grad(1)) detail::accumulate_broadcast(e, 1, mul(gy, e.input(0)));
      }, detail::uses<T>(detail::use_in0 | detail::use_in1), a, b);
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::div, div(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // da = gy / b, db = -gy * y / b
        const Tensor<T> ga = div(gy, e.input(1));
        detail::accumulate_broadcast(e, 0, ga);
        if (e.needs_grad(1)) detail::accumulate_broadcast(e, 1, neg(mul(ga, e.result())));
      }, detail::uses<T>(detail::use_in1 | detail::use_out), a, b);
}

template <class T>
Var<T> pow(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::pow, pow(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const Tensor<T>& x = e.input(0);
        const Tensor<T>& p = e.input(1);
        if (e.needs_grad(0)) {  // da = gy * b * a^(b-1)
          detail::accumulate_broadcast(e, 0, mul(gy, mul(p, pow(x, sub(p, T{1})))));
        }
        if (e.needs_grad(1)) {  // db = gy * y * log(a), 0 where a == 0 (as PyTorch)
          const Tensor<T> logx = where(detail::eq_mask(x, T{0}), zeros<T>(Shape{}), log(x));
          detail::accumulate_broadcast(e, 1, mul(gy, mul(e.result(), logx)));
        }
      }, detail::uses<T>(detail::use_in0 | detail::use_in1 | detail::use_out), a, b);
}

template <class T>
Var<T> maximum(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::maximum, maximum(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // ties split the gradient in half, as PyTorch
        const Tensor<T> share = add(detail::gt_mask(e.input(0), e.input(1)), mul(detail::eq_mask(e.input(0), e.input(1)), T{0.5}));
        detail::accumulate_broadcast(e, 0, mul(gy, share));
        if (e.needs_grad(1)) detail::accumulate_broadcast(e, 1, mul(gy, sub(T{1}, share)));
      }, detail::uses<T>(detail::use_in0 | detail::use_in1), a, b);
}

template <class T>
Var<T> minimum(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::minimum, minimum(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const Tensor<T> share = add(detail::lt_mask(e.input(0), e.input(1)), mul(detail::eq_mask(e.input(0), e.input(1)), T{0.5}));
        detail::accumulate_broadcast(e, 0, mul(gy, share));
        if (e.needs_grad(1)) detail::accumulate_broadcast(e, 1, mul(gy, sub(T{1}, share)));
      }, detail::uses<T>(detail::use_in0 | detail::use_in1), a, b);
}

// where(mask, a, b): a where mask is nonzero, else b. The mask is constant.
template <class T>
Var<T> where(const Tensor<T>& mask, const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::where, where(mask, a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const Tensor<T>& m = e.saved[0];
        const Tensor<T> zero = zeros<T>(Shape{});
        if (e.needs_grad(0)) detail::accumulate_broadcast(e, 0, where(m, gy, zero));
        if (e.needs_grad(1)) detail::accumulate_broadcast(e, 1, where(m, zero, gy));
      }, [&mask](TapeEntry<T>& e) { e.saved[0] = mask; }, a, b);
}

// ---- Scalar operands -------------------------------------------------------

template <class T>
Var<T> add(const Var<T>& a, T b) {
  return detail::record(OpKind::add, add(a.value(), b),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, gy); }, detail::NoSetup{}, a);
}
template <class T>
Var<T> add(T a, const Var<T>& b) {
  return add(b, a);
}
template <class T>
Var<T> sub(const Var<T>& a, T b) {
  return add(a, static_cast<T>(-b));
}
template <class T>
Var<T> sub(T a, const Var<T>& b) {
  return detail::record(OpKind::sub, sub(a, b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, neg(gy)); }, detail::NoSetup{}, b);
}
template <class T>
Var<T> mul(const Var<T>& a, T b) {
  return detail::record(OpKind::mul, mul(a.value(), b),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(gy, static_cast<T>(e.reals[0]))); },
      [b](TapeEntry<T>& e) { e.reals[0] = static_cast<double>(b); }, a);
}
template <class T>
Var<T> mul(T a, const Var<T>& b) {
  return mul(b, a);
}
template <class T>
Var<T> div(const Var<T>& a, T b) {
  return detail::record(OpKind::div, div(a.value(), b),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, div(gy, static_cast<T>(e.reals[0]))); },
      [b](TapeEntry<T>& e) { e.reals[0] = static_cast<double>(b); }, a);
}
template <class T>
Var<T> div(T a, const Var<T>& b) {
  return detail::record(OpKind::div, div(a, b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // d(a/x) = -gy * y / x
        e.accumulate(0, neg(div(mul(gy, e.result()), e.input(0))));
      }, detail::uses<T>(detail::use_in0 | detail::use_out), b);
}
template <class T>
Var<T> pow(const Var<T>& a, T p) {
  return detail::record(OpKind::pow_scalar, pow(a.value(), p),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * p * x^(p-1); 0 when p == 0
        const T p = static_cast<T>(e.reals[0]);
        if (p == T{0}) {
          e.accumulate(0, zeros<T>(gy.shape()));
          return;
        }
        e.accumulate(0, mul(gy, mul(pow(e.input(0), static_cast<T>(p - T{1})), p)));
      }, [p](TapeEntry<T>& e) {
        e.reals[0] = static_cast<double>(p);
        e.uses = detail::use_in0;
      }, a);
}
template <class T>
Var<T> pow(T base, const Var<T>& x) {
  return detail::record(OpKind::rpow_scalar, pow(base, x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * y * log(base)
        e.accumulate(0, mul(mul(gy, e.result()), static_cast<T>(std::log(e.reals[0]))));
      }, [base](TapeEntry<T>& e) {
        e.reals[0] = static_cast<double>(base);
        e.uses = detail::use_out;
      }, x);
}

// Var with a constant tensor: the tensor takes no gradient.
template <class T>
Var<T> add(const Var<T>& a, const Tensor<T>& b) { return add(a, Var<T>(b, false)); }
template <class T>
Var<T> add(const Tensor<T>& a, const Var<T>& b) { return add(Var<T>(a, false), b); }
template <class T>
Var<T> sub(const Var<T>& a, const Tensor<T>& b) { return sub(a, Var<T>(b, false)); }
template <class T>
Var<T> sub(const Tensor<T>& a, const Var<T>& b) { return sub(Var<T>(a, false), b); }
template <class T>
Var<T> mul(const Var<T>& a, const Tensor<T>& b) { return mul(a, Var<T>(b, false)); }
template <class T>
Var<T> mul(const Tensor<T>& a, const Var<T>& b) { return mul(Var<T>(a, false), b); }
template <class T>
Var<T> div(const Var<T>& a, const Tensor<T>& b) { return div(a, Var<T>(b, false)); }
template <class T>
Var<T> div(const Tensor<T>& a, const Var<T>& b) { return div(Var<T>(a, false), b); }

// ---- Operators --------------------------------------------------------------

template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator+(const Var<T>& a, std::type_identity_t<T> b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, std::type_identity_t<T> b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, std::type_identity_t<T> b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, std::type_identity_t<T> b) { return div(a, b); }
template <class T> Var<T> operator+(std::type_identity_t<T> a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(std::type_identity_t<T> a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(std::type_identity_t<T> a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(std::type_identity_t<T> a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator+(const Var<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> Var<T> operator+(const Tensor<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Tensor<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Tensor<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Tensor<T>& a, const Var<T>& b) { return div(a, b); }

// ---- Unary ops ----------------------------------------------------------------

template <class T>
Var<T> neg(const Var<T>& x) {
  return detail::record(OpKind::neg, neg(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, neg(gy)); }, detail::NoSetup{}, x);
}
template <class T>
Var<T> operator-(const Var<T>& x) {
  return neg(x);
}

template <class T>
Var<T> exp(const Var<T>& x) {
  return detail::record(OpKind::exp, exp(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(gy, e.result())); },  // dx = gy * y
      detail::uses<T>(detail::use_out), x);
}

template <class T>
Var<T> log(const Var<T>& x) {
  return detail::record(OpKind::log, log(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, div(gy, e.input(0))); },  // dx = gy / x
      detail::uses<T>(detail::use_in0), x);
}

template <class T>
Var<T> log1p(const Var<T>& x) {
  return detail::record(OpKind::log1p, log1p(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, div(gy, add(e.input(0), T{1}))); },
      detail::uses<T>(detail::use_in0), x);
}

template <class T>
Var<T> expm1(const Var<T>& x) {
  return detail::record(OpKind::expm1, expm1(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(gy, add(e.result(), T{1}))); },
      detail::uses<T>(detail::use_out), x);
}

template <class T>
Var<T> sqrt(const Var<T>& x) {
  return detail::record(OpKind::sqrt, sqrt(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, div(mul(gy, T{0.5}), e.result())); },
      detail::uses<T>(detail::use_out), x);  // dx = gy / (2 y)
}

template <class T>
Var<T> rsqrt(const Var<T>& x) {
  return detail::record(OpKind::rsqrt, rsqrt(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = -gy * y^3 / 2
        const Tensor<T>& y = e.result();
        e.accumulate(0, mul(mul(gy, mul(y, mul(y, y))), T{-0.5}));
      }, detail::uses<T>(detail::use_out), x);
}

template <class T>
Var<T> abs(const Var<T>& x) {
  return detail::record(OpKind::abs, abs(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(gy, sign(e.input(0)))); },  // 0 at 0
      detail::uses<T>(detail::use_in0), x);
}

template <class T>
Var<T> square(const Var<T>& x) {
  return detail::record(OpKind::square, square(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(mul(gy, e.input(0)), T{2})); },
      detail::uses<T>(detail::use_in0), x);
}

template <class T>
Var<T> reciprocal(const Var<T>& x) {
  return detail::record(OpKind::reciprocal, reciprocal(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = -gy * y^2
        e.accumulate(0, neg(mul(gy, square(e.result()))));
      }, detail::uses<T>(detail::use_out), x);
}

template <class T>
Var<T> sin(const Var<T>& x) {
  return detail::record(OpKind::sin, sin(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(gy, cos(e.input(0)))); },
      detail::uses<T>(detail::use_in0), x);
}

template <class T>
Var<T> cos(const Var<T>& x) {
  return detail::record(OpKind::cos, cos(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, neg(mul(gy, sin(e.input(0))))); },
      detail::uses<T>(detail::use_in0), x);
}

template <class T>
Var<T> tanh(const Var<T>& x) {
  return detail::record(OpKind::tanh, tanh(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * (1 - y*y)
        e.accumulate(0, detail::map_grad(e.result(), e.result(), gy,
                                         [](T y, T, T g) { return g * (T{1} - y * y); }));
      }, detail::uses<T>(detail::use_out), x);
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  return detail::record(OpKind::sigmoid, sigmoid(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * y * (1 - y)
        e.accumulate(0, detail::map_grad(e.result(), e.result(), gy,
                                         [](T y, T, T g) { return g * y * (T{1} - y); }));
      }, detail::uses<T>(detail::use_out), x);
}

template <class T>
Var<T> relu(const Var<T>& x) {
  return detail::record(OpKind::relu, relu(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy unless y <= 0 (so NaN passes, as PyTorch); relu'(0) = 0
        e.accumulate(0, detail::map_grad(e.result(), e.result(), gy,
                                         [](T y, T, T g) { return y <= T{0} ? T{0} : g; }));
      }, detail::uses<T>(detail::use_out), x);
}

template <class T>
Var<T> leaky_relu(const Var<T>& x, T negative_slope = T{0.01}) {
  return detail::record(OpKind::leaky_relu, leaky_relu(x.value(), negative_slope),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * (x > 0 ? 1 : slope)
        const T slope = static_cast<T>(e.reals[0]);
        e.accumulate(0, detail::map_grad(e.input(0), e.input(0), gy,
                                         [slope](T x, T, T g) { return x > T{0} ? g : g * slope; }));
      }, [negative_slope](TapeEntry<T>& e) {
        e.reals[0] = static_cast<double>(negative_slope);
        e.uses = detail::use_in0;
      }, x);
}

template <class T>
Var<T> gelu(const Var<T>& x, bool tanh_approximation = false) {
  return detail::record(OpKind::gelu, gelu(x.value(), tanh_approximation),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        if (e.ints[0] == 0) {  // d/dx x*Phi(x) = Phi(x) + x*phi(x)
          e.accumulate(0, detail::map_grad(e.input(0), e.input(0), gy, [](T x, T, T g) {
            const double xd = static_cast<double>(x);
            const double cdf = 0.5 * std::erfc(-xd / std::numbers::sqrt2);
            const double pdf = std::exp(-0.5 * xd * xd) / std::sqrt(2.0 * std::numbers::pi);
            return static_cast<T>(static_cast<double>(g) * (cdf + xd * pdf));
          }));
        } else {  // y = x/2 (1 + tanh(u)), u = k (x + 0.044715 x^3)
          e.accumulate(0, detail::map_grad(e.input(0), e.input(0), gy, [](T x, T, T g) {
            const double xd = static_cast<double>(x);
            const double k = std::sqrt(2.0 / std::numbers::pi);
            const double t = std::tanh(k * (xd + 0.044715 * xd * xd * xd));
            const double du = k * (1.0 + 3.0 * 0.044715 * xd * xd);
            return static_cast<T>(static_cast<double>(g) * (0.5 * (1.0 + t) + 0.5 * xd * (1.0 - t * t) * du));
          }));
        }
      }, [tanh_approximation](TapeEntry<T>& e) {
        e.ints[0] = tanh_approximation ? 1 : 0;
        e.uses = detail::use_in0;
      }, x);
}

template <class T>
Var<T> silu(const Var<T>& x) {
  return detail::record(OpKind::silu, silu(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy * s * (1 + x (1 - s)), s = sigmoid(x)
        e.accumulate(0, detail::map_grad(e.input(0), e.input(0), gy, [](T x, T, T g) {
          const T s = T{1} / (T{1} + std::exp(-x));
          return g * s * (T{1} + x * (T{1} - s));
        }));
      }, detail::uses<T>(detail::use_in0), x);
}

template <class T>
Var<T> softplus(const Var<T>& x) {
  return detail::record(OpKind::softplus, softplus(x.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, mul(gy, sigmoid(e.input(0)))); },
      detail::uses<T>(detail::use_in0), x);  // dx = gy * sigmoid(x)
}

template <class T>
Var<T> elu(const Var<T>& x, T alpha = T{1}) {
  return detail::record(OpKind::elu, elu(x.value(), alpha),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy for x > 0, else gy * (y + alpha)
        const T alpha = static_cast<T>(e.reals[0]);
        e.accumulate(0, detail::map_grad(e.input(0), e.result(), gy,
                                         [alpha](T x, T y, T g) { return x > T{0} ? g : g * (y + alpha); }));
      }, [alpha](TapeEntry<T>& e) {
        e.reals[0] = static_cast<double>(alpha);
        e.uses = detail::use_in0 | detail::use_out;
      }, x);
}

template <class T>
Var<T> clamp(const Var<T>& x, T lo, T hi) {
  return detail::record(OpKind::clamp, clamp(x.value(), lo, hi),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // gy passes where lo <= x <= hi
        const T lo = static_cast<T>(e.reals[0]);
        const T hi = static_cast<T>(e.reals[1]);
        e.accumulate(0, detail::map_grad(e.input(0), e.input(0), gy,
                                         [lo, hi](T x, T, T g) { return x >= lo && x <= hi ? g : T{0}; }));
      }, [lo, hi](TapeEntry<T>& e) {
        e.reals = {static_cast<double>(lo), static_cast<double>(hi)};
        e.uses = detail::use_in0;
      }, x);
}

// dx = gy where x >= lo (torch.clamp_min's convention at the bound).
template <class T>
Var<T> clamp_min(const Var<T>& x, std::type_identity_t<T> lo) {
  return detail::record(OpKind::clamp_min, clamp_min(x.value(), lo),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const T lo = static_cast<T>(e.reals[0]);
        e.accumulate(0, detail::map_grad(e.input(0), e.input(0), gy, [lo](T x, T, T g) { return x >= lo ? g : T{0}; }));
      }, [lo](TapeEntry<T>& e) {
        e.reals[0] = static_cast<double>(lo);
        e.uses = detail::use_in0;
      }, x);
}

// dx = gy where x <= hi.
template <class T>
Var<T> clamp_max(const Var<T>& x, std::type_identity_t<T> hi) {
  return detail::record(OpKind::clamp_max, clamp_max(x.value(), hi),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const T hi = static_cast<T>(e.reals[0]);
        e.accumulate(0, detail::map_grad(e.input(0), e.input(0), gy, [hi](T x, T, T g) { return x <= hi ? g : T{0}; }));
      }, [hi](TapeEntry<T>& e) {
        e.reals[0] = static_cast<double>(hi);
        e.uses = detail::use_in0;
      }, x);
}

}  // namespace nabla

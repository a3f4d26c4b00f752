// Comparisons and masks on Var<T>: comparing values gives a Tensor<bool>
// (no gradient, as in PyTorch); where with a bool condition, masked_fill
// and masked_select are differentiable.
#pragma once

#include <type_traits>

#include "nabla/autograd/rules/elementwise.hpp"
#include "nabla/autograd/var.hpp"
#include "nabla/ops/compare.hpp"

namespace nabla {

#define NABLA_VAR_COMPARISON(name, sym)                                                                  \
  template <class T>                                                                                    \
  Tensor<bool> name(const Var<T>& a, const Var<T>& b) { return name(a.value(), b.value()); }             \
  template <class T, class B>                                                                           \
  Tensor<bool> name(const Var<T>& a, const Tensor<B>& b) { return name(a.value(), b); }                  \
  template <class T, class A>                                                                           \
  Tensor<bool> name(const Tensor<A>& a, const Var<T>& b) { return name(a, b.value()); }                  \
  template <class T, class S>                                                                           \
    requires std::is_arithmetic_v<S>                                                                    \
  Tensor<bool> name(const Var<T>& a, S s) { return name(a.value(), s); }                                 \
  template <class T, class S>                                                                           \
    requires std::is_arithmetic_v<S>                                                                    \
  Tensor<bool> name(S s, const Var<T>& b) { return name(s, b.value()); }                                 \
  template <class T>                                                                                    \
  Tensor<bool> operator sym(const Var<T>& a, const Var<T>& b) { return name(a.value(), b.value()); }     \
  template <class T, class B>                                                                           \
  Tensor<bool> operator sym(const Var<T>& a, const Tensor<B>& b) { return name(a.value(), b); }          \
  template <class T, class A>                                                                           \
  Tensor<bool> operator sym(const Tensor<A>& a, const Var<T>& b) { return name(a, b.value()); }          \
  template <class T, class S>                                                                           \
    requires std::is_arithmetic_v<S>                                                                    \
  Tensor<bool> operator sym(const Var<T>& a, S s) { return name(a.value(), s); }                         \
  template <class T, class S>                                                                           \
    requires std::is_arithmetic_v<S>                                                                    \
  Tensor<bool> operator sym(S s, const Var<T>& b) { return name(s, b.value()); }

NABLA_VAR_COMPARISON(eq, ==)
NABLA_VAR_COMPARISON(ne, !=)
NABLA_VAR_COMPARISON(lt, <)
NABLA_VAR_COMPARISON(le, <=)
NABLA_VAR_COMPARISON(gt, >)
NABLA_VAR_COMPARISON(ge, >=)

#undef NABLA_VAR_COMPARISON

template <class T>
Tensor<bool> isnan(const Var<T>& x) { return isnan(x.value()); }
template <class T>
Tensor<bool> isinf(const Var<T>& x) { return isinf(x.value()); }
template <class T>
Tensor<bool> isfinite(const Var<T>& x) { return isfinite(x.value()); }

// where(condition, a, b): the gradient goes to a where condition holds, to b
// elsewhere (each summed back over broadcast axes).
template <class T>
Var<T> where(const Tensor<bool>& condition, const Var<T>& a, const Var<T>& b) {
  return where(condition.template to<T>(), a, b);
}

// masked_fill: no gradient reaches the filled elements.
template <class T>
Var<T> masked_fill(const Var<T>& x, const Tensor<bool>& mask, std::type_identity_t<T> value) {
  const Tensor<bool> m = detail::mask_to(mask, x.shape(), "masked_fill");
  return detail::record(OpKind::masked_fill, masked_fill(x.value(), m, value),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, masked_fill(gy, e.saved[0] != T(0), T(0)));
      }, [&m](TapeEntry<T>& e) { e.saved[0] = m.template to<T>(); }, x);
}

// masked_select: each selected element's gradient returns to its place
// (summed over the axes along which x was broadcast to the mask).
template <class T>
Var<T> masked_select(const Var<T>& x, const Tensor<bool>& mask) {
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  const Tensor<bool> m = mask.expand(shape).contiguous();
  return detail::record(OpKind::masked_select, masked_select(x.value(), m),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const Tensor<T>& m = e.saved[0];
        Tensor<T> full(m.shape());
        const Tensor<T> g = gy.contiguous();
        std::int64_t j = 0;
        for (std::int64_t i = 0; i < m.numel(); ++i) {
          if (m.data()[i] != T(0)) full.data()[i] = g.data()[j++];
        }
        detail::accumulate_broadcast(e, 0, full);
      }, [&m](TapeEntry<T>& e) { e.saved[0] = m.template to<T>(); }, x);
}

}  // namespace nabla

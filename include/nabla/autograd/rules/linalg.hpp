// Differentiable matrix products on Var<T>: matmul (1-D, 2-D, batched), bmm
// and the fused linear layer product.
#pragma once

#include "nabla/autograd/rules/shape.hpp"
#include "nabla/autograd/var.hpp"
#include "nabla/ops/linalg.hpp"
#include "nabla/ops/reduce.hpp"

namespace nabla {

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  // Vectors take part as 1-row / 1-column matrices, as in torch.matmul.
  if (a.ndim() == 1 || b.ndim() == 1) {
    if (a.ndim() == 0 || b.ndim() == 0) {
      throw ShapeError(detail::message("matmul: shapes ", to_string(a.shape()), " and ", to_string(b.shape()),
                                       " do not align (0-d operands)"));
    }
    const Var<T> a2 = a.ndim() == 1 ? unsqueeze(a, 0) : a;
    const Var<T> b2 = b.ndim() == 1 ? unsqueeze(b, -1) : b;
    Var<T> y = matmul(a2, b2);
    if (b.ndim() == 1) y = squeeze(y, -1);
    if (a.ndim() == 1) y = squeeze(y, y.ndim() == 1 ? 0 : -2);
    return y;
  }
  return detail::record(OpKind::matmul, matmul(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // da = gy @ b^T, db = a^T @ gy
        const Tensor<T>& av = e.input(0);
        const Tensor<T>& bv = e.input(1);
        if (e.needs_grad(0)) e.accumulate(0, sum_to(matmul(gy, bv.transpose(-1, -2)), av.shape()));
        if (e.needs_grad(1)) {
          if (av.ndim() == 3 && bv.ndim() == 2) {  // shared matrix: fold the batch into rows
            // Explicit row counts: -1 cannot be inferred when an extent is 0.
            const std::int64_t rows = av.shape()[0] * av.shape()[1];
            const Tensor<T> a2 = av.reshape(Shape{rows, av.shape()[2]});
            const Tensor<T> g2 = gy.reshape(Shape{rows, gy.shape()[2]});
            e.accumulate(1, matmul(a2.t(), g2));
          } else {
            e.accumulate(1, sum_to(matmul(av.transpose(-1, -2), gy), bv.shape()));
          }
        }
      }, [](TapeEntry<T>& e) { e.uses = 1 | 2; }, a, b);
}

// torch.bmm: [b, m, k] @ [b, k, n], no broadcasting.
template <class T>
Var<T> bmm(const Var<T>& a, const Var<T>& b) {
  return detail::record(OpKind::bmm, bmm(a.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // da = gy @ b^T, db = a^T @ gy
        if (e.needs_grad(0)) e.accumulate(0, matmul(gy, e.input(1).transpose(1, 2)));
        if (e.needs_grad(1)) e.accumulate(1, matmul(e.input(0).transpose(1, 2), gy));
      }, [](TapeEntry<T>& e) { e.uses = 1 | 2; }, a, b);
}

// y = x @ w^T + b for x [N, in], w [out, in] (PyTorch's layout), b [out].
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& w, const Var<T>& b) {
  return detail::record(OpKind::linear, linear(x.value(), w.value(), b.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // dx = gy @ w, dw = gy^T @ x, db = sum_rows(gy)
        if (e.needs_grad(0)) e.accumulate(0, matmul(gy, e.input(1)));
        if (e.needs_grad(1)) e.accumulate(1, matmul(gy.t(), e.input(0)));
        if (e.needs_grad(2)) e.accumulate(2, sum(gy, std::int64_t{0}));
      }, [](TapeEntry<T>& e) { e.uses = 1 | 2; }, x, w, b);
}

// linear() without a bias.
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& w) {
  return detail::record(OpKind::linear, linear(x.value(), w.value(), Tensor<T>()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        if (e.needs_grad(0)) e.accumulate(0, matmul(gy, e.input(1)));
        if (e.needs_grad(1)) e.accumulate(1, matmul(gy.t(), e.input(0)));
      }, [](TapeEntry<T>& e) { e.uses = 1 | 2; }, x, w);
}

}  // namespace nabla

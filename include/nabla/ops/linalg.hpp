// Matrix products on tensors: matmul (every rank combination torch.matmul
// accepts, with batch broadcasting), bmm, matmul_into, linear, dot, outer.
#pragma once

#include <algorithm>
#include <cstdint>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/kernels/gemm.hpp"
#include "nabla/kernels/parallel.hpp"

namespace nabla {
namespace detail {

// How GEMM reads a [rows, cols] matrix with element strides (s0, s1): plain
// row-major with leading dimension ld, or the transpose of a row-major
// [cols, rows] matrix. False when neither fits (broadcast or gathered views).
struct GemmLayout {
  bool trans = false;
  std::int64_t ld = 1;
};

inline bool gemm_layout(std::int64_t rows, std::int64_t cols, std::int64_t s0, std::int64_t s1, GemmLayout& out) {
  if ((cols <= 1 || s1 == 1) && (rows <= 1 || s0 >= std::max<std::int64_t>(cols, 1))) {
    out = {false, rows <= 1 ? std::max<std::int64_t>(cols, 1) : s0};
    return true;
  }
  if ((rows <= 1 || s0 == 1) && (cols <= 1 || s1 >= std::max<std::int64_t>(rows, 1))) {
    out = {true, cols <= 1 ? std::max<std::int64_t>(rows, 1) : s1};
    return true;
  }
  return false;
}

// The layout of the trailing [rows, cols] matrix of t, making t contiguous
// first when its strides don't fit GEMM.
template <class T>
GemmLayout matrix_operand(Tensor<T>& t) {
  const std::size_t r = t.ndim();
  GemmLayout layout;
  if (!gemm_layout(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1], layout)) {
    t = t.contiguous();
    gemm_layout(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1], layout);
  }
  return layout;
}

// Shapes of a matmul after torch.matmul's promotion of 1-D operands.
struct MatmulShapes {
  Shape batch;  // broadcast batch extents
  std::int64_t m = 0, k = 0, n = 0;
  Shape out;    // the result's shape (1-D operands' axes dropped)
};

template <class T>
MatmulShapes matmul_shapes(const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  if (a.ndim() == 0 || b.ndim() == 0) {
    throw ShapeError(message(op, ": both operands need at least one dimension, got shapes ", to_string(a.shape()),
                             " and ", to_string(b.shape())));
  }
  const std::int64_t ka = a.shape()[a.ndim() - 1];
  const std::int64_t kb = b.ndim() == 1 ? b.shape()[0] : b.shape()[b.ndim() - 2];
  if (ka != kb) {
    throw ShapeError(message(op, ": shapes ", to_string(a.shape()), " and ", to_string(b.shape()),
                             " do not align (", ka, " != ", kb, ")"));
  }
  MatmulShapes s;
  s.k = ka;
  s.m = a.ndim() == 1 ? 1 : a.shape()[a.ndim() - 2];
  s.n = b.ndim() == 1 ? 1 : b.shape()[b.ndim() - 1];
  const std::size_t ba = a.ndim() > 2 ? a.ndim() - 2 : 0;
  const std::size_t bb = b.ndim() > 2 ? b.ndim() - 2 : 0;
  const std::size_t rank = std::max(ba, bb);
  s.batch = Shape::filled(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t ea = i < rank - ba ? 1 : a.shape()[i - (rank - ba)];
    const std::int64_t eb = i < rank - bb ? 1 : b.shape()[i - (rank - bb)];
    if (ea != eb && ea != 1 && eb != 1) {
      throw ShapeError(message(op, ": batch dimensions of shapes ", to_string(a.shape()), " and ",
                               to_string(b.shape()), " cannot be broadcast (", ea, " vs ", eb, ")"));
    }
    s.batch[i] = ea == 1 ? eb : ea;
  }
  s.out = s.batch;
  if (a.ndim() > 1) s.out.push_back(s.m);
  if (b.ndim() > 1) s.out.push_back(s.n);
  return s;
}

// out = alpha * a @ b + beta * out, with out contiguous of shape s.out.
template <class T>
void matmul_run(const Tensor<T>& a_in, const Tensor<T>& b_in, const MatmulShapes& s, T* out, T alpha, T beta) {
  Tensor<T> a = a_in.ndim() == 1 ? a_in.unsqueeze(0) : a_in;
  Tensor<T> b = b_in.ndim() == 1 ? b_in.unsqueeze(1) : b_in;
  const std::int64_t batch = s.batch.numel();
  if (batch == 0 || s.m == 0 || s.n == 0) return;
  // A batch of a's against one matrix b: one GEMM with the batch folded into rows.
  if (b.ndim() == 2 && a.ndim() > 2) {
    a = a.contiguous();
    GemmLayout lb = matrix_operand(b);
    kernels::gemm(false, lb.trans, batch * s.m, s.n, s.k, alpha, a.data(), s.k, b.data(), lb.ld, beta, out, s.n);
    return;
  }
  GemmLayout la = matrix_operand(a);
  GemmLayout lb = matrix_operand(b);
  if (batch == 1) {
    kernels::gemm(la.trans, lb.trans, s.m, s.n, s.k, alpha, a.data(), la.ld, b.data(), lb.ld, beta, out, s.n);
    return;
  }
  // Batch strides of each operand, 0 along broadcast axes.
  const std::size_t rank = s.batch.size();
  Shape sa = Shape::filled(rank, 0);
  Shape sb = Shape::filled(rank, 0);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t ra = a.ndim() - 2;
    const std::size_t rb = b.ndim() - 2;
    if (i >= rank - ra && a.shape()[i - (rank - ra)] != 1) sa[i] = a.strides()[i - (rank - ra)];
    if (i >= rank - rb && b.shape()[i - (rank - rb)] != 1) sb[i] = b.strides()[i - (rank - rb)];
  }
  const T* ap = a.data();
  const T* bp = b.data();
  const std::int64_t plane = s.m * s.n;
  // Small products run one per thread; large ones thread inside each GEMM.
  const std::int64_t work = s.m * s.n * s.k;
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 18) / std::max<std::int64_t>(work, 1));
  kernels::parallel_for(0, batch, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t bi = lo; bi < hi; ++bi) {
      std::int64_t oa = 0;
      std::int64_t ob = 0;
      std::int64_t rest = bi;
      for (std::size_t d = rank; d-- > 0;) {
        const std::int64_t i = rest % s.batch[d];
        rest /= s.batch[d];
        oa += i * sa[d];
        ob += i * sb[d];
      }
      kernels::gemm(la.trans, lb.trans, s.m, s.n, s.k, alpha, ap + oa, la.ld, bp + ob, lb.ld, beta, out + bi * plane,
                    s.n);
    }
  });
}

}  // namespace detail

// Matrix product with torch.matmul's rules: 1-D x 1-D is a dot product (0-d
// result); a 1-D first operand is a row vector, a 1-D second operand a column
// vector (their axis is dropped from the result); operands of rank >= 3 are
// batches of matrices whose batch axes broadcast. Transposed views are read
// in place; other non-contiguous operands are packed first.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  const detail::MatmulShapes s = detail::matmul_shapes(a, b, "matmul");
  Tensor<T> out = Tensor<T>::empty(s.out);
  detail::matmul_run(a, b, s, out.data(), T(1), T(0));
  return out;
}

namespace detail {
// torch.bmm's operands: two 3-D tensors [b, m, k] and [b, k, n], no broadcasting.
template <class T>
void check_bmm(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.ndim() != 3 || b.ndim() != 3) {
    throw ShapeError(message("bmm: expected two 3-D tensors, got shapes ", to_string(a.shape()), " and ",
                             to_string(b.shape())));
  }
  if (a.shape()[0] != b.shape()[0]) {
    throw ShapeError(message("bmm: shapes ", to_string(a.shape()), " and ", to_string(b.shape()),
                             " have different batch sizes (", a.shape()[0], " != ", b.shape()[0], ")"));
  }
  if (a.shape()[2] != b.shape()[1]) {
    throw ShapeError(message("bmm: shapes ", to_string(a.shape()), " and ", to_string(b.shape()), " do not align (",
                             a.shape()[2], " != ", b.shape()[1], ")"));
  }
}
}  // namespace detail

// Batched matrix product of [b, m, k] and [b, k, n] tensors (torch.bmm):
// strictly 3-D with equal batch sizes; matmul broadcasts, bmm does not.
template <class T>
Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b) {
  detail::check_bmm(a, b);
  return matmul(a, b);
}

// out = alpha * matmul(a, b) + beta * out, into an existing contiguous tensor
// of the result's shape (beta = 1 accumulates, e.g. gradients). beta = 0
// never reads out. out must not overlap a or b.
template <class T>
void matmul_into(const Tensor<T>& out, const Tensor<T>& a, const Tensor<T>& b, T alpha = T(1), T beta = T(0)) {
  const detail::MatmulShapes s = detail::matmul_shapes(a, b, "matmul_into");
  if (!(out.shape() == s.out)) {
    throw ShapeError(detail::message("matmul_into: output shape ", to_string(out.shape()), " does not match ",
                                     to_string(s.out), ", the product of ", to_string(a.shape()), " and ",
                                     to_string(b.shape())));
  }
  if (!out.is_contiguous()) {
    throw ShapeError(detail::message("matmul_into: output of shape ", to_string(out.shape()), " with strides ",
                                     to_string(out.strides()), " is not contiguous"));
  }
  detail::matmul_run(a, b, s, out.data(), alpha, beta);
  out.bump_version();
}

// x @ w^T + b as nn.Linear: x [..., in], w [out, in], b [out] or undefined
// (no bias). One GEMM whose output starts as the bias in every row (as
// PyTorch's addmm: the products are added to the bias).
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b = Tensor<T>()) {
  if (w.ndim() != 2) {
    throw ShapeError(detail::message("linear: weight must be 2-D [out, in], got shape ", to_string(w.shape())));
  }
  if (x.ndim() == 0) throw ShapeError("linear: input must have at least one dimension, got shape []");
  const std::int64_t in = w.shape()[1];
  const std::int64_t out_features = w.shape()[0];
  if (x.shape()[x.ndim() - 1] != in) {
    throw ShapeError(detail::message("linear: input ", to_string(x.shape()), " has ", x.shape()[x.ndim() - 1],
                                     " features but weight ", to_string(w.shape()), " expects ", in));
  }
  if (b.defined() && !(b.ndim() == 1 && b.shape()[0] == out_features)) {
    throw ShapeError(detail::message("linear: bias ", to_string(b.shape()), " does not match weight ",
                                     to_string(w.shape()), " (expects [", out_features, "])"));
  }
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_features;
  Tensor<T> out = Tensor<T>::empty(out_shape);
  const Tensor<T> xc = x.contiguous();
  const std::int64_t rows = xc.numel() / std::max<std::int64_t>(in, 1);
  if (out.numel() == 0) return out;
  Tensor<T> wt = w.t();  // op(B) = w^T [in, out]
  const detail::GemmLayout lw = detail::matrix_operand(wt);
  if (b.defined()) {
    const Tensor<T> bc = b.contiguous();
    kernels::gemm_bias(false, lw.trans, rows, out_features, in, xc.data(), in, wt.data(), lw.ld, bc.data(), out.data(),
                       out_features);
  } else {
    kernels::gemm(false, lw.trans, rows, out_features, in, T(1), xc.data(), in, wt.data(), lw.ld, T(0), out.data(),
                  out_features);
  }
  return out;
}

// Inner product of two 1-D tensors (a 0-d result).
template <class T>
Tensor<T> dot(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.ndim() != 1 || b.ndim() != 1 || a.shape()[0] != b.shape()[0]) {
    throw ShapeError(detail::message("dot: expected two 1-D tensors of equal length, got shapes ",
                                     to_string(a.shape()), " and ", to_string(b.shape())));
  }
  return matmul(a, b);
}

// Outer product of two 1-D tensors: out[i, j] = a[i] * b[j].
template <class T>
Tensor<T> outer(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.ndim() != 1 || b.ndim() != 1) {
    throw ShapeError(detail::message("outer: expected two 1-D tensors, got shapes ", to_string(a.shape()), " and ",
                                     to_string(b.shape())));
  }
  return matmul(a.unsqueeze(1), b.unsqueeze(0));
}

}  // namespace nabla

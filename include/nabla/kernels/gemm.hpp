// GEMM on raw row-major buffers: C = alpha * op(A) * op(B) + beta * C, through Eigen maps.
#pragma once

#include <cstdint>

#include <Eigen/Core>

#include "nabla/config.hpp"
#include "nabla/kernels/parallel.hpp"

namespace nabla::kernels {

// Dynamic-size maps only: fixed-size Eigen types mixed across SIMD widths
// break users' programs.
template <class T>
using RowMajorMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Unaligned,
                               Eigen::OuterStride<>>;
template <class T>
using ConstRowMajorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                                    Eigen::Unaligned, Eigen::OuterStride<>>;

namespace gemm_detail {

// Eigen folds alpha and the transposes into its GEMM call; nothing is copied.
// With beta = 0, C is only written (Eigen zeroes it before accumulating).
template <class T, class LhsExpr, class RhsExpr>
void product_into(const LhsExpr& lhs, const RhsExpr& rhs, T alpha, T beta, RowMajorMap<T>& c) {
  if (beta == T(0)) {
    if (alpha == T(1)) {
      c.noalias() = lhs * rhs;
    } else {
      c.noalias() = alpha * lhs * rhs;
    }
    return;
  }
  if (beta != T(1)) c *= beta;
  if (alpha == T(1)) {
    c.noalias() += lhs * rhs;
  } else {
    c.noalias() += alpha * lhs * rhs;
  }
}

}  // namespace gemm_detail

// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major with
// leading dimensions lda/ldb/ldc (elements between rows as stored). With
// trans_a, A is stored [k, m]; with trans_b, B is stored [n, k]. beta = 0
// never reads C. Eigen threads the product over get_num_threads() when the
// build has OpenMP and the call is not already inside a parallel region.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  RowMajorMap<T> cm(c, m, n, Eigen::OuterStride<>(ldc));
  if (k <= 0 || alpha == T(0)) {
    if (beta == T(0)) {
      cm.setZero();
    } else if (beta != T(1)) {
      cm *= beta;
    }
    return;
  }
  const ConstRowMajorMap<T> am(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  const ConstRowMajorMap<T> bm(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  if (!trans_a && !trans_b) {
    gemm_detail::product_into(am, bm, alpha, beta, cm);
  } else if (trans_a && !trans_b) {
    gemm_detail::product_into(am.transpose(), bm, alpha, beta, cm);
  } else if (!trans_a && trans_b) {
    gemm_detail::product_into(am, bm.transpose(), alpha, beta, cm);
  } else {
    gemm_detail::product_into(am.transpose(), bm.transpose(), alpha, beta, cm);
  }
}

// Eigen reads the OpenMP thread count on every product (omp_get_max_threads)
// unless Eigen::setNbThreads pinned it; nabla never pins it, so
// nabla::set_num_threads governs Eigen too. This reports what Eigen will use.
inline int gemm_threads() { return Eigen::nbThreads(); }

}  // namespace nabla::kernels

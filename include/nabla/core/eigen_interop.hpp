// Zero-copy views of tensors as Eigen matrices, and tensors from Eigen.
#pragma once

#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/detail/diagnostics.hpp"

NABLA_EIGEN_WARNINGS_BEGIN
NABLA_SIMD_WARNINGS_BEGIN
#include <Eigen/Core>
NABLA_SIMD_WARNINGS_END
NABLA_EIGEN_WARNINGS_END

namespace nabla {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A row-major Eigen map over a 2-D tensor whose rows are contiguous (any row
// stride, so row slices map too). Writes through the map change the tensor.
template <class T>
using MatrixMap = Eigen::Map<RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T>
MatrixMap<T> as_matrix(const Tensor<T>& t) {
  if (t.ndim() != 2) {
    throw ShapeError(detail::message("as_matrix: expected a 2-D tensor, got shape ", to_string(t.shape())));
  }
  if (t.shape()[1] > 1 && t.strides()[1] != 1) {
    throw ShapeError(detail::message("as_matrix: the rows of a tensor of shape ", to_string(t.shape()),
                                     " with strides ", to_string(t.strides()),
                                     " are not contiguous; call contiguous() first"));
  }
  const Eigen::Index outer = t.shape()[0] > 1 ? t.strides()[0] : t.shape()[1];
  return MatrixMap<T>(t.data(), t.shape()[0], t.shape()[1], Eigen::OuterStride<>(outer));
}

// A new tensor holding a copy of an Eigen matrix or expression.
template <class Derived>
Tensor<typename Derived::Scalar> from_eigen(const Eigen::MatrixBase<Derived>& m) {
  using T = typename Derived::Scalar;
  Tensor<T> t = Tensor<T>::empty(Shape{m.rows(), m.cols()});
  Eigen::Map<RowMajorMatrix<T>>(t.data(), m.rows(), m.cols()) = m;
  return t;
}

}  // namespace nabla

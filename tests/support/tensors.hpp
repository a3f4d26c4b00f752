// Tensor helpers shared by test files: sequences and the same values seen
// through strided views (test layers compile as one TU, so helpers used by
// several files live here rather than in each file's anonymous namespace).
#pragma once

#include <cstddef>
#include <vector>

#include "nabla/core/tensor.hpp"

namespace nabla::testing {

// start, start + step, ... in row-major order, rounded to T.
template <class T>
Tensor<T> seq(Shape shape, double start = 0.0, double step = 1.0) {
  std::vector<T> v(static_cast<std::size_t>(shape.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(start + step * static_cast<double>(i));
  return Tensor<T>(std::move(shape), v);
}

// The values of x in a strided (non-contiguous) view: every other element of
// a buffer twice as long, the gaps holding -777 so a kernel that reads them shows.
template <class T>
Tensor<T> strided_copy(const Tensor<T>& x) {
  Shape s = x.shape();
  s.push_back(2);
  Tensor<T> big(s);
  big.select(-1, 1).fill_(T(-777));
  big.select(-1, 0).copy_(x);
  return big.select(-1, 0);
}

}  // namespace nabla::testing

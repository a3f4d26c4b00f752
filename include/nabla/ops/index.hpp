// Indexing and rearranging ops on tensors, with PyTorch's names and
// semantics: gather, scatter_add, index_select, index_add, flip, roll, tril,
// triu, diag. Index tensors are int64; negative indices count from the end
// only where PyTorch allows it (index_select and index_add do not).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla {
namespace detail {

// gather/scatter_add: `index` has x's rank and, off `axis`, extents no larger
// than `x`'s; every entry lies in [0, x.size(axis)).
inline void check_gather_index(const char* op, const Shape& x, std::size_t axis, const Tensor<std::int64_t>& index) {
  if (index.ndim() != x.size()) {
    throw ShapeError(detail::message(op, ": index of shape ", to_string(index.shape()), " must have the rank of ",
                                     to_string(x), " (", x.size(), ")"));
  }
  for (std::size_t d = 0; d < x.size(); ++d) {
    if (d != axis && index.shape()[d] > x[d]) {
      throw ShapeError(detail::message(op, ": index of shape ", to_string(index.shape()), " is larger than ",
                                       to_string(x), " along axis ", d));
    }
  }
}

// Calls f(source offset in x, offset in index) for every index element, x
// contiguous with shape `x`; throws naming the op for an out-of-range entry.
template <class F>
void for_each_gather(const char* op, const Shape& x, std::size_t axis, const Tensor<std::int64_t>& index, F&& f) {
  const Tensor<std::int64_t> idx = index.contiguous();
  const Shape x_strides = contiguous_strides(x);
  const Shape& is = idx.shape();
  const std::int64_t n = idx.numel();
  std::vector<std::int64_t> pos(is.size(), 0);
  const std::int64_t* ip = idx.data();
  for (std::int64_t flat = 0; flat < n; ++flat) {
    const std::int64_t i = ip[flat];
    if (i < 0 || i >= x[axis]) {
      throw IndexError(detail::message(op, ": index ", i, " is out of range for axis ", axis, " of shape ",
                                       to_string(x)));
    }
    std::int64_t off = 0;
    for (std::size_t d = 0; d < is.size(); ++d) off += (d == axis ? i : pos[d]) * x_strides[d];
    f(off, flat);
    for (std::size_t d = is.size(); d-- > 0;) {  // next index position, row-major
      if (++pos[d] < is[d]) break;
      pos[d] = 0;
    }
  }
}

inline void check_select_index(const char* op, std::int64_t extent, std::size_t axis,
                               const Tensor<std::int64_t>& index) {
  if (index.ndim() > 1) {
    throw ShapeError(detail::message(op, ": index must be 1-D, got shape ", to_string(index.shape())));
  }
  const Tensor<std::int64_t> idx = index.contiguous();
  for (std::int64_t k = 0; k < idx.numel(); ++k) {
    const std::int64_t i = idx.data()[k];
    if (i < 0 || i >= extent) {
      throw IndexError(detail::message(op, ": index ", i, " is out of range for axis ", axis, " of extent ", extent));
    }
  }
}

}  // namespace detail

// out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis`
// (torch.gather): the result has index's shape.
template <class T>
Tensor<T> gather(const Tensor<T>& x, std::int64_t axis, const Tensor<std::int64_t>& index) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "gather");
  detail::check_gather_index("gather", x.shape(), a, index);
  const Tensor<T> xc = x.contiguous();
  Tensor<T> out = Tensor<T>::empty(index.shape());
  const T* src = xc.data();
  T* dst = out.data();
  detail::for_each_gather("gather", x.shape(), a, index, [&](std::int64_t from, std::int64_t to) { dst[to] = src[from]; });
  return out;
}

// A copy of `dst` with src[..., j, ...] added at dst[..., index[..., j, ...], ...]
// along `axis` (torch.scatter_add): index and src have the same shape.
template <class T>
Tensor<T> scatter_add(const Tensor<T>& dst, std::int64_t axis, const Tensor<std::int64_t>& index, const Tensor<T>& src) {
  const std::size_t a = normalize_axis(axis, dst.ndim(), "scatter_add");
  detail::check_gather_index("scatter_add", dst.shape(), a, index);
  if (!(src.shape() == index.shape())) {
    throw ShapeError(detail::message("scatter_add: src of shape ", to_string(src.shape()),
                                     " must have index's shape ", to_string(index.shape())));
  }
  Tensor<T> out = dst.clone();
  const Tensor<T> sc = src.contiguous();
  const T* s = sc.data();
  T* o = out.data();
  detail::for_each_gather("scatter_add", dst.shape(), a, index, [&](std::int64_t to, std::int64_t from) { o[to] += s[from]; });
  return out;
}

// The slices of `x` at positions `index` (1-D) along `axis`, in that order
// (torch.index_select).
template <class T>
Tensor<T> index_select(const Tensor<T>& x, std::int64_t axis, const Tensor<std::int64_t>& index) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "index_select");
  detail::check_select_index("index_select", x.shape()[a], a, index);
  const Tensor<std::int64_t> idx = index.contiguous();
  Shape shape = x.shape();
  shape[a] = idx.numel();
  const Tensor<T> xc = x.contiguous();
  Tensor<T> out = Tensor<T>::empty(shape);
  const detail::AxisSplit in = detail::split_at_axis(x.shape(), a);
  const std::int64_t m = idx.numel();
  for (std::int64_t o = 0; o < in.outer; ++o) {
    for (std::int64_t j = 0; j < m; ++j) {
      const T* src = xc.data() + (o * in.n + idx.data()[j]) * in.inner;
      T* dst = out.data() + (o * m + j) * in.inner;
      for (std::int64_t k = 0; k < in.inner; ++k) dst[k] = src[k];
    }
  }
  return out;
}

// A copy of `dst` with src's slice j added to dst's slice index[j] along
// `axis` (torch.index_add); repeated indices accumulate.
template <class T>
Tensor<T> index_add(const Tensor<T>& dst, std::int64_t axis, const Tensor<std::int64_t>& index, const Tensor<T>& src) {
  const std::size_t a = normalize_axis(axis, dst.ndim(), "index_add");
  detail::check_select_index("index_add", dst.shape()[a], a, index);
  const Tensor<std::int64_t> idx = index.contiguous();
  Shape expect = dst.shape();
  expect[a] = idx.numel();
  if (!(src.shape() == expect)) {
    throw ShapeError(detail::message("index_add: src of shape ", to_string(src.shape()), " must be ",
                                     to_string(expect), " (dst ", to_string(dst.shape()), " with ", idx.numel(),
                                     " indices along axis ", a, ")"));
  }
  Tensor<T> out = dst.clone();
  const Tensor<T> sc = src.contiguous();
  const detail::AxisSplit d = detail::split_at_axis(dst.shape(), a);
  const std::int64_t m = idx.numel();
  for (std::int64_t o = 0; o < d.outer; ++o) {
    for (std::int64_t j = 0; j < m; ++j) {
      T* to = out.data() + (o * d.n + idx.data()[j]) * d.inner;
      const T* from = sc.data() + (o * m + j) * d.inner;
      for (std::int64_t k = 0; k < d.inner; ++k) to[k] += from[k];
    }
  }
  return out;
}

// x reversed along each of `axes` (torch.flip; a copy, as in PyTorch).
template <class T>
Tensor<T> flip(const Tensor<T>& x, const Shape& axes) {
  Shape strides = x.strides();
  std::int64_t offset = x.offset();
  std::vector<bool> done(x.ndim(), false);
  for (std::int64_t axis : axes) {
    const std::size_t a = normalize_axis(axis, x.ndim(), "flip");
    if (done[a]) throw ValueError(detail::message("flip: axis ", a, " given twice"));
    done[a] = true;
    if (x.shape()[a] > 0) offset += (x.shape()[a] - 1) * strides[a];
    strides[a] = -strides[a];
  }
  if (x.numel() == 0) return x.clone();
  // A reversed-stride view of x, packed: the view itself never escapes.
  return Tensor<T>::view_of(x.storage(), x.shape(), strides, offset).clone();
}

// x shifted by `shift` places along `axis`, wrapping around (torch.roll).
template <class T>
Tensor<T> roll(const Tensor<T>& x, std::int64_t shift, std::int64_t axis) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "roll");
  const Tensor<T> xc = x.contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  const detail::AxisSplit s = detail::split_at_axis(x.shape(), a);
  if (out.numel() == 0) return out;
  const std::int64_t r = ((shift % s.n) + s.n) % s.n;
  for (std::int64_t o = 0; o < s.outer; ++o) {
    for (std::int64_t i = 0; i < s.n; ++i) {
      const T* src = xc.data() + (o * s.n + i) * s.inner;
      T* dst = out.data() + (o * s.n + (i + r) % s.n) * s.inner;
      for (std::int64_t k = 0; k < s.inner; ++k) dst[k] = src[k];
    }
  }
  return out;
}

// With no axis, torch.roll flattens, shifts and restores the shape.
template <class T>
Tensor<T> roll(const Tensor<T>& x, std::int64_t shift) {
  return roll(x.contiguous().reshape(Shape{x.numel()}), shift, 0).reshape(x.shape());
}

namespace detail {
// Keeps element (i, j) of each matrix in the last two axes when keep(j - i).
template <class T, class Keep>
Tensor<T> triangle(const Tensor<T>& x, const char* op, Keep keep) {
  if (x.ndim() < 2) {
    throw ShapeError(detail::message(op, ": expected at least 2 dimensions, got shape ", to_string(x.shape())));
  }
  Tensor<T> out = x.clone();  // a packed copy, views included
  const std::int64_t rows = x.shape()[x.ndim() - 2], cols = x.shape()[x.ndim() - 1];
  const std::int64_t mats = rows * cols == 0 ? 0 : out.numel() / (rows * cols);
  T* p = out.data();
  for (std::int64_t m = 0; m < mats; ++m) {
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        if (!keep(j - i)) p[(m * rows + i) * cols + j] = T(0);
      }
    }
  }
  return out;
}
}  // namespace detail

// The lower triangle (j - i <= diagonal) of the last two axes; zeros above.
template <class T>
Tensor<T> tril(const Tensor<T>& x, std::int64_t diagonal = 0) {
  return detail::triangle(x, "tril", [diagonal](std::int64_t d) { return d <= diagonal; });
}

// The upper triangle (j - i >= diagonal) of the last two axes; zeros below.
template <class T>
Tensor<T> triu(const Tensor<T>& x, std::int64_t diagonal = 0) {
  return detail::triangle(x, "triu", [diagonal](std::int64_t d) { return d >= diagonal; });
}

// torch.diag: a 1-D x becomes the square matrix with x on diagonal
// `diagonal` (above the main one when positive); a 2-D x gives that
// diagonal as a 1-D tensor.
template <class T>
Tensor<T> diag(const Tensor<T>& x, std::int64_t diagonal = 0) {
  const std::int64_t k = diagonal;
  if (x.ndim() == 1) {
    const std::int64_t n = x.shape()[0] + (k < 0 ? -k : k);
    Tensor<T> out(Shape{n, n});
    const Tensor<T> xc = x.contiguous();
    for (std::int64_t i = 0; i < x.shape()[0]; ++i) {
      const std::int64_t r = k >= 0 ? i : i - k, c = k >= 0 ? i + k : i;
      out.data()[r * n + c] = xc.data()[i];
    }
    return out;
  }
  if (x.ndim() == 2) {
    const std::int64_t rows = x.shape()[0], cols = x.shape()[1];
    const std::int64_t r0 = k >= 0 ? 0 : -k, c0 = k >= 0 ? k : 0;
    const std::int64_t len = std::max<std::int64_t>(0, std::min(rows - r0, cols - c0));
    Tensor<T> out = Tensor<T>::empty(Shape{len});
    for (std::int64_t i = 0; i < len; ++i) out.data()[i] = x.at({r0 + i, c0 + i});
    return out;
  }
  throw ShapeError(detail::message("diag: expected a 1-D or 2-D tensor, got shape ", to_string(x.shape())));
}

}  // namespace nabla

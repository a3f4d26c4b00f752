// Shape operations as free functions: views (reshape, flatten, transpose,
// permute, slice, select, squeeze, unsqueeze, expand, split, chunk) and
// copies (contiguous, concat, stack, pad).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/detail/strided.hpp"
#include "nabla/kernels/parallel.hpp"

namespace nabla {

template <class T>
Tensor<T> reshape(const Tensor<T>& x, Shape shape) {
  return x.reshape(std::move(shape));
}

// Merges axes start_axis..end_axis (inclusive, negative allowed) into one.
template <class T>
Tensor<T> flatten(const Tensor<T>& x, std::int64_t start_axis = 0, std::int64_t end_axis = -1) {
  if (x.ndim() == 0) return x.reshape(Shape{1});
  const std::size_t s = normalize_axis(start_axis, x.ndim(), "flatten");
  const std::size_t e = normalize_axis(end_axis, x.ndim(), "flatten");
  if (s > e) {
    throw ValueError(detail::message("flatten: start axis ", start_axis, " comes after end axis ", end_axis,
                                     " for shape ", to_string(x.shape())));
  }
  Shape shape;
  for (std::size_t i = 0; i < s; ++i) shape.push_back(x.shape()[i]);
  std::int64_t merged = 1;
  for (std::size_t i = s; i <= e; ++i) merged *= x.shape()[i];
  shape.push_back(merged);
  for (std::size_t i = e + 1; i < x.ndim(); ++i) shape.push_back(x.shape()[i]);
  return x.reshape(std::move(shape));
}

// Transpose of a 2-D tensor (a view).
template <class T>
Tensor<T> transpose(const Tensor<T>& x) {
  return x.t();
}

template <class T>
Tensor<T> transpose(const Tensor<T>& x, std::int64_t axis0, std::int64_t axis1) {
  return x.transpose(axis0, axis1);
}

template <class T>
Tensor<T> permute(const Tensor<T>& x, const Shape& dims) {
  return x.permute(dims);
}

template <class T>
Tensor<T> slice(const Tensor<T>& x, std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step = 1) {
  return x.slice(axis, start, end, step);
}

template <class T>
Tensor<T> select(const Tensor<T>& x, std::int64_t axis, std::int64_t index) {
  return x.select(axis, index);
}

template <class T>
Tensor<T> squeeze(const Tensor<T>& x, std::int64_t axis) {
  return x.squeeze(axis);
}

// Removes every axis of extent 1.
template <class T>
Tensor<T> squeeze(const Tensor<T>& x) {
  Tensor<T> out = x;
  for (std::size_t i = x.ndim(); i-- > 0;) {
    if (x.shape()[i] == 1) out = out.squeeze(static_cast<std::int64_t>(i));
  }
  return out;
}

template <class T>
Tensor<T> unsqueeze(const Tensor<T>& x, std::int64_t axis) {
  return x.unsqueeze(axis);
}

template <class T>
Tensor<T> expand(const Tensor<T>& x, const Shape& shape) {
  return x.expand(shape);
}

namespace detail {

// Copies src (any strides) into the row-major buffer dst. Rows with unit
// inner stride are memcpy'd; a 2-D transpose is copied in cache blocks.
template <class T>
void pack_into(const Tensor<T>& src, T* dst) {
  const std::int64_t count = src.numel();
  if (count == 0) return;
  const T* from = src.data();
  if (src.is_contiguous()) {
    std::memcpy(dst, from, static_cast<std::size_t>(count) * sizeof(T));
    return;
  }
  const std::size_t rank = src.ndim();
  const Shape& shape = src.shape();
  const Shape& strides = src.strides();
  const Shape packed = contiguous_strides(shape);
  const std::int64_t inner = shape[rank - 1];
  if (strides[rank - 1] == 1) {
    for_each_row2(shape, strides, packed, [&](std::int64_t a, std::int64_t b) {
      std::memcpy(dst + b, from + a, static_cast<std::size_t>(inner) * sizeof(T));
    });
    return;
  }
  if (rank >= 2 && strides[rank - 2] == 1) {
    // Each trailing [rows, cols] matrix is a transposed view: copy in tiles so
    // both the reads and the writes stay within a few cache lines.
    const std::int64_t rows = shape[rank - 2];
    const std::int64_t cols = inner;
    const std::int64_t col_stride = strides[rank - 1];
    constexpr std::int64_t tile = 32;
    const Shape outer_shape(std::span<const std::int64_t>(shape.data(), rank - 1));
    const Shape outer_src(std::span<const std::int64_t>(strides.data(), rank - 1));
    const Shape outer_dst(std::span<const std::int64_t>(packed.data(), rank - 1));
    // Walk the batch of matrices: rows of the outer odometer with extent `rows` at the end.
    Shape batch_shape = outer_shape;
    batch_shape[rank - 2] = 1;
    for_each_offset2(batch_shape, outer_src, outer_dst, [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t r0 = 0; r0 < rows; r0 += tile) {
        const std::int64_t r1 = std::min(rows, r0 + tile);
        for (std::int64_t c0 = 0; c0 < cols; c0 += tile) {
          const std::int64_t c1 = std::min(cols, c0 + tile);
          for (std::int64_t r = r0; r < r1; ++r) {
            for (std::int64_t c = c0; c < c1; ++c) dst[b + r * cols + c] = from[a + r + c * col_stride];
          }
        }
      }
    });
    return;
  }
  for_each_offset2(shape, strides, packed, [&](std::int64_t a, std::int64_t b) { dst[b] = from[a]; });
}

}  // namespace detail

// x itself when row-major contiguous, else a packed copy (fast for row
// slices and transposed views).
template <class T>
Tensor<T> contiguous(const Tensor<T>& x) {
  if (x.is_contiguous()) return x;
  Tensor<T> out = Tensor<T>::empty(x.shape());
  detail::pack_into(x, out.data());
  return out;
}

// Joins tensors along an existing axis; all other extents must match.
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& tensors, std::int64_t axis) {
  if (tensors.empty()) throw ValueError("concat: expected at least one tensor, got none");
  const Shape& first = tensors[0].shape();
  if (first.empty()) throw ShapeError("concat: zero-dimensional tensors cannot be concatenated");
  const std::size_t a = normalize_axis(axis, first.size(), "concat");
  std::int64_t total = 0;
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const Shape& s = tensors[t].shape();
    bool ok = s.size() == first.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == a || s[d] == first[d];
    if (!ok) {
      throw ShapeError(detail::message("concat: tensor ", t, " has shape ", to_string(s), " but tensor 0 has shape ",
                                       to_string(first), "; they must match except along axis ", a));
    }
    total += s[a];
  }
  Shape out_shape = first;
  out_shape[a] = total;
  Tensor<T> out = Tensor<T>::empty(out_shape);
  std::int64_t outer = 1;
  for (std::size_t d = 0; d < a; ++d) outer *= first[d];
  std::int64_t inner = 1;
  for (std::size_t d = a + 1; d < first.size(); ++d) inner *= first[d];
  const std::int64_t out_row = total * inner;
  std::int64_t at = 0;
  for (const Tensor<T>& t : tensors) {
    const std::int64_t extent = t.shape()[a];
    if (t.is_contiguous()) {
      const std::int64_t block = extent * inner;
      const T* src = t.data();
      T* dst = out.data() + at * inner;
      for (std::int64_t o = 0; o < outer; ++o) {
        if (block > 0) std::memcpy(dst + o * out_row, src + o * block, static_cast<std::size_t>(block) * sizeof(T));
      }
    } else {
      out.slice(static_cast<std::int64_t>(a), at, at + extent).copy_(t);
    }
    at += extent;
  }
  return out;
}

// Joins same-shape tensors along a new axis.
template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& tensors, std::int64_t axis) {
  if (tensors.empty()) throw ValueError("stack: expected at least one tensor, got none");
  const Shape& first = tensors[0].shape();
  const std::size_t a = normalize_axis(axis, first.size() + 1, "stack");
  std::vector<Tensor<T>> expanded;
  expanded.reserve(tensors.size());
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    if (!(tensors[t].shape() == first)) {
      throw ShapeError(detail::message("stack: tensor ", t, " has shape ", to_string(tensors[t].shape()),
                                       " but tensor 0 has shape ", to_string(first), "; all must match"));
    }
    expanded.push_back(tensors[t].unsqueeze(static_cast<std::int64_t>(a)));
  }
  return concat(expanded, static_cast<std::int64_t>(a));
}

// Pads (or, with negative amounts, crops) the trailing axes as
// torch.nn.functional.pad: pads = {last_before, last_after,
// second_last_before, second_last_after, ...}, filled with `value`.
template <class T>
Tensor<T> pad(const Tensor<T>& x, const std::vector<std::int64_t>& pads, T value = T(0)) {
  if (pads.size() % 2 != 0 || pads.size() / 2 > x.ndim()) {
    throw ValueError(detail::message("pad: expected an even number of pad amounts, at most 2 per axis, got ",
                                     pads.size(), " for shape ", to_string(x.shape())));
  }
  Shape out_shape = x.shape();
  for (std::size_t i = 0; i < pads.size() / 2; ++i) {
    const std::size_t d = x.ndim() - 1 - i;
    out_shape[d] += pads[2 * i] + pads[2 * i + 1];
    if (out_shape[d] < 0) {
      throw ValueError(detail::message("pad: padding ", pads[2 * i], ", ", pads[2 * i + 1], " of axis ", d,
                                       " leaves a negative extent for shape ", to_string(x.shape())));
    }
  }
  Tensor<T> out = Tensor<T>::empty(out_shape);
  out.fill_(value);
  Tensor<T> dst = out;
  Tensor<T> src = x;
  for (std::size_t i = 0; i < pads.size() / 2; ++i) {
    const auto d = static_cast<std::int64_t>(x.ndim() - 1 - i);
    const std::int64_t before = pads[2 * i];
    const std::int64_t src_start = std::max<std::int64_t>(-before, 0);
    const std::int64_t dst_start = std::max<std::int64_t>(before, 0);
    const std::int64_t len = std::max<std::int64_t>(
        0, std::min(x.shape()[static_cast<std::size_t>(d)] - src_start, out_shape[static_cast<std::size_t>(d)] - dst_start));
    src = src.slice(d, src_start, src_start + len);
    dst = dst.slice(d, dst_start, dst_start + len);
  }
  if (src.numel() > 0) dst.copy_(src);
  return out;
}

// Views of consecutive pieces of `sizes[i]` elements along `axis`; the sizes
// must add up to the axis extent.
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<std::int64_t>& sizes, std::int64_t axis = 0) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "split");
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    if (s < 0) throw ValueError(detail::message("split: negative piece size ", s));
    total += s;
  }
  if (total != x.shape()[a]) {
    throw ShapeError(detail::message("split: piece sizes add up to ", total, " but axis ", a, " of shape ",
                                     to_string(x.shape()), " has ", x.shape()[a]));
  }
  std::vector<Tensor<T>> out;
  out.reserve(sizes.size());
  std::int64_t at = 0;
  for (std::int64_t s : sizes) {
    out.push_back(x.slice(static_cast<std::int64_t>(a), at, at + s));
    at += s;
  }
  return out;
}

// Views of `split_size` elements each along `axis` (the last may be smaller).
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, std::int64_t split_size, std::int64_t axis = 0) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "split");
  if (split_size <= 0) throw ValueError(detail::message("split: piece size must be positive, got ", split_size));
  std::vector<std::int64_t> sizes;
  for (std::int64_t at = 0; at < x.shape()[a]; at += split_size) sizes.push_back(std::min(split_size, x.shape()[a] - at));
  return split(x, sizes, axis);
}

// `n` views along `axis` as torch.chunk: pieces of ceil(extent / n), so fewer
// than n come back when the extent does not fill them.
template <class T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, std::int64_t n, std::int64_t axis = 0) {
  const std::size_t a = normalize_axis(axis, x.ndim(), "chunk");
  if (n <= 0) throw ValueError(detail::message("chunk: number of chunks must be positive, got ", n));
  const std::int64_t extent = x.shape()[a];
  if (extent == 0) return std::vector<Tensor<T>>(static_cast<std::size_t>(n), x);
  return split(x, (extent + n - 1) / n, axis);
}

}  // namespace nabla

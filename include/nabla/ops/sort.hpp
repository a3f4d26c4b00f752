// Sorting, selection and set ops on Tensor<T> (sort, argsort, topk, unique),
// block copies (repeat, tile), vector norms, one_hot, randperm and meshgrid.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/core/creation.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/ops/reduce.hpp"

namespace nabla {
namespace detail {

// The order sort and topk use: NaN after every number (as PyTorch), so it
// comes last ascending and first descending.
template <class T>
bool sorts_before(T a, T b, bool descending) {
  if constexpr (std::is_floating_point_v<T>) {
    if (descending) return !std::isnan(b) && (std::isnan(a) || a > b);
    return !std::isnan(a) && (std::isnan(b) || a < b);
  } else {
    return descending ? a > b : a < b;
  }
}

// Runs `line(src, stride, n, values_out, indices_out, out_stride)` once per
// 1-D line of `x` along `axis`, on contiguous buffers of x and two outputs
// of `out_shape` (whose extent along `axis` may differ from x's).
template <class T, class Line>
ValuesIndices<T> for_each_sort_line(const Tensor<T>& x, std::size_t axis, const Shape& out_shape, Line line) {
  ValuesIndices<T> out{Tensor<T>::empty(out_shape), Tensor<std::int64_t>::empty(out_shape)};
  if (out.values.numel() == 0) return out;
  const Tensor<T> c = x.contiguous();
  const AxisSplit in = split_at_axis(x.shape(), axis);
  const std::int64_t m = split_at_axis(out_shape, axis).n;
  for (std::int64_t o = 0; o < in.outer; ++o) {
    for (std::int64_t k = 0; k < in.inner; ++k) {
      line(c.data() + o * in.n * in.inner + k, in.inner, in.n, out.values.data() + o * m * in.inner + k,
           out.indices.data() + o * m * in.inner + k, in.inner);
    }
  }
  return out;
}

// A 0-d tensor behaves as one element along axis 0 or -1, as in PyTorch.
inline std::size_t sort_axis(std::int64_t axis, std::size_t rank, const char* op) {
  return normalize_axis(axis, rank == 0 ? 1 : rank, op);
}

template <class T>
void norm_require_floating(const Tensor<T>& x, const char* op) {
  if constexpr (std::is_integral_v<T>) {
    throw ValueError(detail::message(op, ": needs a floating-point tensor, got ", sizeof(T) * 8,
                                     "-bit integers of shape ", to_string(x.shape()),
                                     " (as PyTorch); convert first, e.g. x.to<double>()"));
  }
}

}  // namespace detail

// torch.sort: values along `axis` in order, with the position each came
// from. NaN sorts as the largest value; ties keep their input order (the
// sort is always stable; `stable = false` only says the caller does not
// rely on it, as in PyTorch).
template <class T>
ValuesIndices<T> sort(const Tensor<T>& x, std::int64_t axis = -1, bool descending = false, bool stable = true) {
  (void)stable;
  const std::size_t a = detail::sort_axis(axis, x.ndim(), "sort");
  if (x.ndim() == 0) return {x.clone(), Tensor<std::int64_t>::scalar(0)};
  std::vector<std::int64_t> order;
  return detail::for_each_sort_line(x, a, x.shape(), [&](const T* src, std::int64_t stride, std::int64_t n, T* values,
                                                    std::int64_t* indices, std::int64_t out_stride) {
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t i, std::int64_t j) {
      return detail::sorts_before(src[i * stride], src[j * stride], descending);
    });
    for (std::int64_t i = 0; i < n; ++i) {
      values[i * out_stride] = src[order[static_cast<std::size_t>(i)] * stride];
      indices[i * out_stride] = order[static_cast<std::size_t>(i)];
    }
  });
}

// torch.argsort: the indices of sort (stable).
template <class T>
Tensor<std::int64_t> argsort(const Tensor<T>& x, std::int64_t axis = -1, bool descending = false) {
  return sort(x, axis, descending).indices;
}

// torch.topk: the k largest (or smallest) values along `axis`, in order,
// with their positions; ties go to the lower index, NaN counts as largest.
// The result is always sorted: with `sorted = false` PyTorch leaves the
// order unspecified, and sorted is one such order.
template <class T>
ValuesIndices<T> topk(const Tensor<T>& x, std::int64_t k, std::int64_t axis = -1, bool largest = true,
                      bool sorted = true) {
  (void)sorted;
  const std::size_t a = detail::sort_axis(axis, x.ndim(), "topk");
  const std::int64_t extent = x.ndim() == 0 ? 1 : x.shape()[a];
  if (k < 0 || k > extent) {
    throw ValueError(detail::message("topk: k = ", k, " is out of range for axis ", axis, " of shape ",
                                     to_string(x.shape()), " (extent ", extent, ")"));
  }
  if (x.ndim() == 0) {
    ValuesIndices<T> r = topk(x.reshape(Shape{1}), k, 0, largest);
    if (k == 1) return {r.values.reshape(Shape{}), r.indices.reshape(Shape{})};
    return r;
  }
  Shape out_shape = x.shape();
  out_shape[a] = k;
  const bool descending = largest;
  std::vector<std::int64_t> order;
  return detail::for_each_sort_line(x, a, out_shape, [&](const T* src, std::int64_t stride, std::int64_t n, T* values,
                                                    std::int64_t* indices, std::int64_t out_stride) {
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    // The index breaks ties, so the partial sort gives what a stable sort would.
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](std::int64_t i, std::int64_t j) {
      const T u = src[i * stride], v = src[j * stride];
      if (detail::sorts_before(u, v, descending)) return true;
      if (detail::sorts_before(v, u, descending)) return false;
      return i < j;
    });
    for (std::int64_t i = 0; i < k; ++i) {
      values[i * out_stride] = src[order[static_cast<std::size_t>(i)] * stride];
      indices[i * out_stride] = order[static_cast<std::size_t>(i)];
    }
  });
}

// What unique returns: every output is always computed (they cost one pass).
template <class T>
struct UniqueResult {
  Tensor<T> values;                // the distinct values, 1-D
  Tensor<std::int64_t> inverse;    // x's shape: the position of each element in `values`
  Tensor<std::int64_t> counts;     // how often each value occurs
};

// torch.unique(x, sorted, return_inverse=True, return_counts=True) with
// dim=None: over the flattened tensor. sorted = false gives the values in
// order of first appearance (PyTorch's order is then unspecified). NaN is
// never equal to anything, so each NaN is its own value, sorted last.
template <class T>
UniqueResult<T> unique(const Tensor<T>& x, bool sorted = true) {
  const Tensor<T> c = x.contiguous();
  const T* src = c.data();
  const std::int64_t n = x.numel();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::int64_t i, std::int64_t j) { return detail::sorts_before(src[i], src[j], false); });
  // group[i]: the group of order[i]; groups numbered in sorted order.
  std::vector<std::int64_t> group_of(static_cast<std::size_t>(n));
  std::vector<std::int64_t> first;  // per group: its first input position
  std::vector<std::int64_t> count;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t at = order[static_cast<std::size_t>(i)];
    if (i == 0 || !(src[order[static_cast<std::size_t>(i - 1)]] == src[at])) {
      first.push_back(at);
      count.push_back(0);
    }
    group_of[static_cast<std::size_t>(at)] = static_cast<std::int64_t>(first.size()) - 1;
    ++count.back();
  }
  const auto groups = static_cast<std::int64_t>(first.size());
  std::vector<std::int64_t> rank(static_cast<std::size_t>(groups));  // output slot of each group
  std::iota(rank.begin(), rank.end(), std::int64_t{0});
  if (!sorted) {
    std::vector<std::int64_t> by_first(rank);
    std::sort(by_first.begin(), by_first.end(), [&](std::int64_t a, std::int64_t b) {
      return first[static_cast<std::size_t>(a)] < first[static_cast<std::size_t>(b)];
    });
    for (std::int64_t s = 0; s < groups; ++s) rank[static_cast<std::size_t>(by_first[static_cast<std::size_t>(s)])] = s;
  }
  UniqueResult<T> out{Tensor<T>::empty(Shape{groups}), Tensor<std::int64_t>::empty(x.shape()),
                      Tensor<std::int64_t>::empty(Shape{groups})};
  for (std::int64_t g = 0; g < groups; ++g) {
    const std::int64_t slot = rank[static_cast<std::size_t>(g)];
    out.values.data()[slot] = src[first[static_cast<std::size_t>(g)]];
    out.counts.data()[slot] = count[static_cast<std::size_t>(g)];
  }
  for (std::int64_t i = 0; i < n; ++i) {
    out.inverse.data()[i] = rank[static_cast<std::size_t>(group_of[static_cast<std::size_t>(i)])];
  }
  return out;
}

namespace detail {

// x's shape padded with leading 1s to the length of `repeats`, and the
// result's shape; `op` is repeat or tile.
inline Shape repeated_shape(const Shape& in, const Shape& repeats, const char* op) {
  if (repeats.size() < in.size()) {
    throw ShapeError(detail::message(op, ": ", repeats.size(), " repeats ", to_string(repeats),
                                     " given for a tensor of shape ", to_string(in),
                                     " (need at least one per dimension)"));
  }
  Shape out = repeats;
  const std::size_t lead = repeats.size() - in.size();
  for (std::size_t d = 0; d < repeats.size(); ++d) {
    if (repeats[d] < 0) {
      throw ValueError(detail::message(op, ": negative repeat in ", to_string(repeats), " for a tensor of shape ",
                                       to_string(in)));
    }
    if (d >= lead) out[d] *= in[d - lead];
  }
  return out;
}

// The shape [r0, s0, r1, s1, ...] that repeat's result is a reshape of.
inline Shape interleaved_shape(const Shape& in, const Shape& repeats) {
  Shape out;
  const std::size_t lead = repeats.size() - in.size();
  for (std::size_t d = 0; d < repeats.size(); ++d) {
    out.push_back(repeats[d]);
    out.push_back(d >= lead ? in[d - lead] : 1);
  }
  return out;
}

template <class T>
Tensor<T> repeat_impl(const Tensor<T>& x, const Shape& repeats, const char* op) {
  const Shape out_shape = repeated_shape(x.shape(), repeats, op);
  // [1, s0, 1, s1, ...] broadcast to [r0, s0, r1, s1, ...], then packed.
  Shape ones_between;
  const std::size_t lead = repeats.size() - x.ndim();
  for (std::size_t d = 0; d < repeats.size(); ++d) {
    ones_between.push_back(1);
    ones_between.push_back(d >= lead ? x.shape()[d - lead] : 1);
  }
  return x.reshape(ones_between).expand(interleaved_shape(x.shape(), repeats)).clone().reshape(out_shape);
}

}  // namespace detail

// torch.Tensor.repeat: x copied repeats[d] times along each axis d; with
// more repeats than axes, x is first viewed with leading axes of extent 1.
template <class T>
Tensor<T> repeat(const Tensor<T>& x, const Shape& repeats) {
  return detail::repeat_impl(x, repeats, "repeat");
}

// torch.tile: repeat, where fewer repeats than axes are padded with 1s in front.
template <class T>
Tensor<T> tile(const Tensor<T>& x, Shape repeats) {
  while (repeats.size() < x.ndim()) repeats.insert(0, 1);
  return detail::repeat_impl(x, repeats, "tile");
}

// ---------------------------------------------------------------------------
// Vector norms (torch.linalg.vector_norm): (sum |x|^p)^(1/p) over all
// elements or over `axes`. p = inf gives max |x|, -inf min |x|, 0 the count
// of non-zeros; norm(x, "fro") is the 2-norm (Frobenius over the axes).
// Pass std::numeric_limits<double>::infinity() for inf. Integer tensors are
// refused, as in PyTorch.
namespace detail {

template <class T>
Tensor<T> norm_floating(const Tensor<T>& x, double p, const Shape& flags, bool keepdim, const char* op) {
  if (std::isnan(p)) throw ValueError("norm: p must not be NaN");
  if (std::isinf(p) && reduced_count(x.shape(), flags) == 0) {
    throw ValueError(detail::message("norm: cannot take the ", p > 0 ? "inf" : "-inf", "-norm of an empty tensor of shape ",
                                     to_string(x.shape()), " over axes ", axes_text(flags), " (no identity)"));
  }
  const Tensor<T> a = abs(x);
  if (std::isinf(p)) return reduce(a, flags, keepdim, p > 0 ? ReduceKind::max : ReduceKind::min, op);
  if (p == 1.0) return reduce(a, flags, keepdim, ReduceKind::sum, op);
  if (p == 2.0) return sqrt(reduce(square(x), flags, keepdim, ReduceKind::sum, op));
  if (p == 0.0) {  // the count of non-zeros
    Tensor<T> nonzero = Tensor<T>::empty(x.shape());
    const T* ap = a.data();  // abs() gave a contiguous tensor
    for (std::int64_t i = 0, n = a.numel(); i < n; ++i) nonzero.data()[i] = ap[i] != T(0) ? T(1) : T(0);
    return reduce(nonzero, flags, keepdim, ReduceKind::sum, op);
  }
  return pow(reduce(pow(a, static_cast<T>(p)), flags, keepdim, ReduceKind::sum, op), static_cast<T>(1.0 / p));
}

template <class T>
Tensor<T> norm_impl(const Tensor<T>& x, double p, const Shape& flags, bool keepdim) {
  const char* op = "norm";
  if constexpr (std::is_integral_v<T>) {
    norm_require_floating(x, op);  // throws; the math below is never instantiated for integers
    return Tensor<T>();
  } else {
    return norm_floating(x, p, flags, keepdim, op);
  }
}

inline double fro_p(std::string_view kind) {
  if (kind != "fro") {
    throw ValueError(detail::message("norm: unknown norm \"", kind, "\" (give a number p, or \"fro\")"));
  }
  return 2.0;
}

}  // namespace detail

template <class T>
Tensor<T> norm(const Tensor<T>& x, double p = 2.0) {
  return detail::norm_impl(x, p, detail::all_flags(x.ndim()), false);
}
template <class T>
Tensor<T> norm(const Tensor<T>& x, double p, const Shape& axes, bool keepdim = false) {
  return detail::norm_impl(x, p, detail::reduce_flags(axes, x.ndim(), "norm"), keepdim);
}
template <class T>
Tensor<T> norm(const Tensor<T>& x, double p, std::int64_t axis, bool keepdim = false) {
  return norm(x, p, Shape{axis}, keepdim);
}
template <class T>
Tensor<T> norm(const Tensor<T>& x, std::string_view kind) {
  return norm(x, detail::fro_p(kind));
}
template <class T>
Tensor<T> norm(const Tensor<T>& x, std::string_view kind, const Shape& axes, bool keepdim = false) {
  return norm(x, detail::fro_p(kind), axes, keepdim);
}

// torch.nn.functional.one_hot: a trailing axis of `num_classes` with a 1 at
// each label; num_classes = -1 uses max(labels) + 1.
inline Tensor<std::int64_t> one_hot(const Tensor<std::int64_t>& labels, std::int64_t num_classes = -1) {
  const Tensor<std::int64_t> c = labels.contiguous();
  const std::int64_t* l = c.data();
  const std::int64_t n = labels.numel();
  if (num_classes < -1) {
    throw ValueError(detail::message("one_hot: num_classes must be -1 or non-negative, got ", num_classes));
  }
  if (num_classes == -1) {
    if (n == 0) {
      throw ValueError(detail::message("one_hot: cannot infer num_classes from empty labels of shape ",
                                       to_string(labels.shape()), "; pass num_classes"));
    }
    num_classes = *std::max_element(l, l + n) + 1;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    if (l[i] < 0 || l[i] >= num_classes) {
      throw IndexError(detail::message("one_hot: label ", l[i], " at element ", i, " of labels of shape ",
                                       to_string(labels.shape()), " is out of range for num_classes = ", num_classes));
    }
  }
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor<std::int64_t> out = zeros<std::int64_t>(shape);
  for (std::int64_t i = 0; i < n; ++i) out.data()[i * num_classes + l[i]] = 1;
  return out;
}

// torch.randperm: a random permutation of 0..n-1 (Fisher-Yates), the same
// for the same generator state.
inline Tensor<std::int64_t> randperm(std::int64_t n, Generator& gen = default_generator()) {
  if (n < 0) throw ValueError(detail::message("randperm: n must be non-negative, got ", n));
  Tensor<std::int64_t> out = arange<std::int64_t>(n);
  std::int64_t* p = out.data();
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return out;
}

// torch.meshgrid: for 1-D (or 0-d) tensors of sizes n0, n1, ..., tensors
// of shape [n0, n1, ...] ("ij") or [n1, n0, ...] ("xy", Cartesian) where
// the i-th varies along its own axis. Like PyTorch, the results are
// broadcast views of the inputs (they share storage): clone() before
// writing into them.
template <class T>
std::vector<Tensor<T>> meshgrid(const std::vector<Tensor<T>>& tensors, std::string_view indexing = "ij") {
  if (indexing != "ij" && indexing != "xy") {
    throw ValueError(detail::message("meshgrid: indexing must be \"ij\" or \"xy\", got \"", indexing, "\""));
  }
  if (tensors.empty()) throw ValueError("meshgrid: needs at least one tensor");
  Shape shape;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].ndim() > 1) {
      throw ShapeError(detail::message("meshgrid: expects 0-d or 1-D tensors, got shape ",
                                       to_string(tensors[i].shape()), " for tensor ", i));
    }
    shape.push_back(tensors[i].numel());
  }
  const bool swap = indexing == "xy" && tensors.size() >= 2;
  if (swap) std::swap(shape[0], shape[1]);
  std::vector<Tensor<T>> out;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    std::size_t axis = i;
    if (swap && i < 2) axis = 1 - i;
    Shape along = Shape::filled(tensors.size(), 1);
    along[axis] = tensors[i].numel();
    out.push_back(tensors[i].reshape(along).expand(shape));
  }
  return out;
}

}  // namespace nabla

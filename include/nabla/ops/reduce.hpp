// Reductions over all elements or a list of axes: sum, mean, prod, max, min,
// var, stddev, logsumexp, argmax/argmin, and sum_to (undoing a broadcast).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/kernels/elementwise.hpp"
#include "nabla/kernels/reduce.hpp"
#include "nabla/ops/elementwise.hpp"

namespace nabla {

// max/min along an axis with the position of each result (first on ties).
template <class T>
struct ValuesIndices {
  Tensor<T> values;
  Tensor<std::int64_t> indices;
};

namespace detail {

// One flag per axis of a tensor of `rank`: 1 where `axes` reduce it. An
// empty list reduces nothing (NumPy's axis=()).
inline Shape reduce_flags(const Shape& axes, std::size_t rank, const char* op) {
  Shape flags = Shape::filled(rank, 0);
  for (std::int64_t a : axes) {
    const std::size_t d = normalize_axis(a, rank, op);
    if (flags[d]) throw ValueError(detail::message(op, ": axis ", a, " appears twice in ", to_string(axes)));
    flags[d] = 1;
  }
  return flags;
}

inline Shape all_flags(std::size_t rank) { return Shape::filled(rank, 1); }

inline Shape reduced_shape(const Shape& in, const Shape& flags, bool keepdim) {
  Shape out;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (!flags[d]) {
      out.push_back(in[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

inline std::int64_t reduced_count(const Shape& in, const Shape& flags) {
  std::int64_t n = 1;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (flags[d]) n *= in[d];
  }
  return n;
}

inline std::string axes_text(const Shape& flags) {
  Shape axes;
  for (std::size_t d = 0; d < flags.size(); ++d) {
    if (flags[d]) axes.push_back(static_cast<std::int64_t>(d));
  }
  return to_string(axes);
}

// x seen as a contiguous [outer, r, inner] block whose middle axis is the
// reduced one; output element (o, i) is row-major in the kept axes.
template <class T>
struct ReduceView {
  Tensor<T> base;
  std::int64_t outer = 1, r = 1, inner = 1;
};

// Moves the reduced axes last and packs: the fallback layout.
template <class T>
Tensor<T> pack_kept_then_reduced(const Tensor<T>& c, Shape& red) {
  Shape perm, flags;
  for (std::int64_t want : {0, 1}) {
    for (std::size_t d = 0; d < red.size(); ++d) {
      if (red[d] != want) continue;
      perm.push_back(static_cast<std::int64_t>(d));
      flags.push_back(want);
    }
  }
  red = flags;
  return c.permute(perm).contiguous();
}

// Finds a copy-free [outer, r, inner] view of x when its layout allows it
// (contiguous, or contiguous up to an axis order that keeps the kept axes in
// order, e.g. a transpose); otherwise packs a copy.
template <class T>
ReduceView<T> reduce_view(const Tensor<T>& x, const Shape& flags) {
  Shape shape, strides, red;
  for (std::size_t d = 0; d < x.ndim(); ++d) {
    if (x.shape()[d] == 1) continue;
    shape.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
    red.push_back(flags[d]);
  }
  Tensor<T> c = Tensor<T>::view_of(x.storage(), shape, strides, x.offset());
  if (!c.is_contiguous()) {
    Shape perm = Shape::filled(shape.size(), 0);
    for (std::size_t d = 0; d < shape.size(); ++d) perm[d] = static_cast<std::int64_t>(d);
    std::stable_sort(perm.begin(), perm.end(), [&](std::int64_t a, std::int64_t b) {
      return strides[static_cast<std::size_t>(a)] > strides[static_cast<std::size_t>(b)];
    });
    Tensor<T> p = c.permute(perm);
    bool kept_in_order = true;
    std::int64_t last_kept = -1;
    for (std::int64_t d : perm) {
      if (red[static_cast<std::size_t>(d)]) continue;
      if (d < last_kept) kept_in_order = false;
      last_kept = d;
    }
    if (p.is_contiguous() && kept_in_order) {
      Shape permuted_red;
      for (std::int64_t d : perm) permuted_red.push_back(red[static_cast<std::size_t>(d)]);
      red = permuted_red;
      c = p;
    } else {
      c = pack_kept_then_reduced(c, red);
    }
  }
  // The reduced axes must form one consecutive block.
  std::size_t first = red.size(), last = 0;
  for (std::size_t d = 0; d < red.size(); ++d) {
    if (!red[d]) continue;
    first = std::min(first, d);
    last = d;
  }
  ReduceView<T> v;
  if (first == red.size()) {  // nothing of extent > 1 is reduced
    v.base = c;
    v.outer = c.numel();
    return v;
  }
  for (std::size_t d = first; d <= last; ++d) {
    if (!red[d]) {
      c = pack_kept_then_reduced(c, red);
      return reduce_view(c, red);  // now consecutive: recurse once
    }
  }
  v.base = c;
  for (std::size_t d = 0; d < red.size(); ++d) {
    const std::int64_t e = c.shape()[d];
    if (d < first) {
      v.outer *= e;
    } else if (d <= last) {
      v.r *= e;
    } else {
      v.inner *= e;
    }
  }
  return v;
}

enum class ReduceKind { sum, prod, max, min };

template <class T>
Tensor<T> reduce(const Tensor<T>& x, const Shape& flags, bool keepdim, ReduceKind kind, const char* op) {
  Tensor<T> out = Tensor<T>::empty(reduced_shape(x.shape(), flags, keepdim));
  const std::int64_t count = reduced_count(x.shape(), flags);
  if (count == 0) {
    if (kind == ReduceKind::max || kind == ReduceKind::min) {
      throw ValueError(detail::message(op, ": cannot reduce an empty tensor of shape ", to_string(x.shape()),
                                       " over axes ", axes_text(flags), " (no identity for ", op, ")"));
    }
    out.fill_(kind == ReduceKind::prod ? T(1) : T(0));
    return out;
  }
  if (out.numel() == 0) return out;
  if (out.numel() == 1 && x.is_contiguous()) {  // everything reduced: skip the layout search
    const T* p = x.data();
    switch (kind) {
      case ReduceKind::sum: *out.data() = kernels::sum_contiguous(p, count); break;
      case ReduceKind::prod: *out.data() = kernels::fold_run(p, count, kernels::ProdFold{}); break;
      case ReduceKind::max: *out.data() = kernels::extreme_run<T, true>(p, count); break;
      case ReduceKind::min: *out.data() = kernels::extreme_run<T, false>(p, count); break;
    }
    return out;
  }
  const ReduceView<T> v = reduce_view(x, flags);
  const T* src = v.base.data();
  T* dst = out.data();
  if (v.inner == 1) {
    switch (kind) {
      case ReduceKind::sum: kernels::sum_rows(src, v.outer, v.r, dst); break;
      case ReduceKind::prod: kernels::fold_rows(src, v.outer, v.r, dst, kernels::ProdFold{}); break;
      case ReduceKind::max: kernels::fold_rows(src, v.outer, v.r, dst, kernels::MaxFold{}); break;
      case ReduceKind::min: kernels::fold_rows(src, v.outer, v.r, dst, kernels::MinFold{}); break;
    }
  } else {
    switch (kind) {
      case ReduceKind::sum: kernels::sum_cols(src, v.outer, v.r, v.inner, dst); break;
      case ReduceKind::prod: kernels::fold_cols(src, v.outer, v.r, v.inner, dst, kernels::ProdFold{}); break;
      case ReduceKind::max: kernels::fold_cols(src, v.outer, v.r, v.inner, dst, kernels::MaxFold{}); break;
      case ReduceKind::min: kernels::fold_cols(src, v.outer, v.r, v.inner, dst, kernels::MinFold{}); break;
    }
  }
  return out;
}

template <class T>
Tensor<T> mean_impl(const Tensor<T>& x, const Shape& flags, bool keepdim, const char* op) {
  // An integer mean would truncate; PyTorch refuses it, and so does nabla.
  if constexpr (std::is_integral_v<T>) {
    throw ValueError(detail::message(op, ": needs a floating-point tensor, got ", sizeof(T) * 8, "-bit integers of shape ",
                                     to_string(x.shape()), " (an integer mean would truncate); convert first, e.g. ",
                                     "x.to<double>()"));
  }
  Tensor<T> s = reduce(x, flags, keepdim, ReduceKind::sum, op);
  const std::int64_t count = reduced_count(x.shape(), flags);
  if (s.numel() > 0) kernels::binary_contiguous_vs(s.data(), static_cast<T>(count), s.data(), s.numel(), kernels::DivOp{});
  return s;
}

// sum((x - mean)^2) / max(0, n - correction), two passes for accuracy.
template <class T>
Tensor<T> var_impl(const Tensor<T>& x, const Shape& flags, std::int64_t correction, bool keepdim, const char* op) {
  if (correction < 0) throw ValueError(detail::message(op, ": correction must be >= 0, got ", correction));
  const Tensor<T> m = mean_impl(x, flags, true, op);
  const Tensor<T> sq = binary_op(x, m, kernels::SubSquareOp{}, op);
  Tensor<T> s = reduce(sq, flags, keepdim, ReduceKind::sum, op);
  const std::int64_t n = reduced_count(x.shape(), flags);
  const T divisor = static_cast<T>(std::max<std::int64_t>(0, n - correction));
  if (s.numel() > 0) kernels::binary_contiguous_vs(s.data(), divisor, s.data(), s.numel(), kernels::DivOp{});
  return s;
}

// log(sum(exp(x - m))) + m with m the max (0 where m is infinite, as PyTorch).
template <class T>
Tensor<T> logsumexp_impl(const Tensor<T>& x, const Shape& flags, bool keepdim) {
  const char* op = "logsumexp";
  if (reduced_count(x.shape(), flags) == 0) {
    Tensor<T> out = Tensor<T>::empty(reduced_shape(x.shape(), flags, keepdim));
    out.fill_(-std::numeric_limits<T>::infinity());
    return out;
  }
  Tensor<T> m = reduce(x, flags, true, ReduceKind::max, op);
  T* mp = m.data();
  for (std::int64_t i = 0, n = m.numel(); i < n; ++i) {
    if (std::isinf(mp[i])) mp[i] = T(0);
  }
  const Tensor<T> e = binary_op(x, m, kernels::ExpDiffOp{}, op);
  Tensor<T> s = reduce(e, flags, true, ReduceKind::sum, op);
  T* sp = s.data();
  for (std::int64_t i = 0, n = s.numel(); i < n; ++i) sp[i] = std::log(sp[i]) + mp[i];
  if (!keepdim) return s.reshape(reduced_shape(x.shape(), flags, false));
  return s;
}

// argmax/argmin along one axis; values are filled when `with_values`.
template <class T, bool Max>
ValuesIndices<T> arg_reduce(const Tensor<T>& x, std::int64_t axis, bool keepdim, bool with_values, const char* op) {
  if (x.ndim() == 0) {  // one element, along axis 0 or -1 (as PyTorch)
    normalize_axis(axis, 1, op);
    return {with_values ? x.clone() : Tensor<T>(), Tensor<std::int64_t>::scalar(0)};
  }
  const std::size_t a = normalize_axis(axis, x.ndim(), op);
  Shape flags = Shape::filled(x.ndim(), 0);
  flags[a] = 1;
  const Shape out_shape = reduced_shape(x.shape(), flags, keepdim);
  if (x.shape()[a] == 0) {
    throw ValueError(detail::message(op, ": cannot reduce over axis ", a, " of extent 0 (shape ",
                                     to_string(x.shape()), ")"));
  }
  ValuesIndices<T> out;
  out.indices = Tensor<std::int64_t>::empty(out_shape);
  const std::int64_t n = out.indices.numel();
  if (with_values) out.values = Tensor<T>::empty(out_shape);
  if (n == 0) return out;
  const ReduceView<T> v = reduce_view(x, flags);
  if (v.inner == 1) {
    kernels::arg_rows<T, Max>(v.base.data(), v.outer, v.r, out.indices.data(),
                              with_values ? out.values.data() : nullptr);
  } else {
    Tensor<T> best = with_values ? out.values : Tensor<T>::empty(Shape{n});
    kernels::arg_cols<T, Max>(v.base.data(), v.outer, v.r, v.inner, out.indices.data(), best.data());
  }
  return out;
}

template <class T, bool Max>
Tensor<std::int64_t> arg_all(const Tensor<T>& x, const char* op) {
  if (x.numel() == 0) {
    throw ValueError(detail::message(op, ": cannot reduce an empty tensor of shape ", to_string(x.shape())));
  }
  const Tensor<T> c = x.contiguous();
  return Tensor<std::int64_t>::scalar(kernels::arg_run<T, Max>(c.data(), c.numel()));
}

}  // namespace detail

// ---------------------------------------------------------------------------
// sum: all elements (a 0-d tensor), one axis, or a list of axes. Integer
// tensors sum (and multiply) in int64, as PyTorch: sum of 300 uint8 ones is 300.
template <class T>
using accumulate_t = std::conditional_t<std::is_integral_v<T> && !std::is_same_v<T, std::uint64_t>, std::int64_t, T>;

namespace detail {
template <class T>
Tensor<accumulate_t<T>> widened(const Tensor<T>& x) {
  if constexpr (std::is_same_v<accumulate_t<T>, T>) {
    return x;
  } else {
    return x.template to<accumulate_t<T>>();
  }
}
}  // namespace detail

template <class T>
Tensor<accumulate_t<T>> sum(const Tensor<T>& x) {
  return detail::reduce(detail::widened(x), detail::all_flags(x.ndim()), false, detail::ReduceKind::sum, "sum");
}
template <class T>
Tensor<accumulate_t<T>> sum(const Tensor<T>& x, const Shape& axes, bool keepdim = false) {
  return detail::reduce(detail::widened(x), detail::reduce_flags(axes, x.ndim(), "sum"), keepdim,
                        detail::ReduceKind::sum, "sum");
}
template <class T>
Tensor<accumulate_t<T>> sum(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return sum(x, Shape{axis}, keepdim);
}

// mean: NaN for an empty reduction, as PyTorch.
template <class T>
Tensor<T> mean(const Tensor<T>& x) {
  return detail::mean_impl(x, detail::all_flags(x.ndim()), false, "mean");
}
template <class T>
Tensor<T> mean(const Tensor<T>& x, const Shape& axes, bool keepdim = false) {
  return detail::mean_impl(x, detail::reduce_flags(axes, x.ndim(), "mean"), keepdim, "mean");
}
template <class T>
Tensor<T> mean(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return mean(x, Shape{axis}, keepdim);
}

template <class T>
Tensor<accumulate_t<T>> prod(const Tensor<T>& x) {
  return detail::reduce(detail::widened(x), detail::all_flags(x.ndim()), false, detail::ReduceKind::prod, "prod");
}
template <class T>
Tensor<accumulate_t<T>> prod(const Tensor<T>& x, const Shape& axes, bool keepdim = false) {
  return detail::reduce(detail::widened(x), detail::reduce_flags(axes, x.ndim(), "prod"), keepdim,
                        detail::ReduceKind::prod, "prod");
}
template <class T>
Tensor<accumulate_t<T>> prod(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return prod(x, Shape{axis}, keepdim);
}

// max/min values (NaN if any element is NaN); throw ValueError when empty.
template <class T>
Tensor<T> max(const Tensor<T>& x) {
  return detail::reduce(x, detail::all_flags(x.ndim()), false, detail::ReduceKind::max, "max");
}
template <class T>
Tensor<T> max(const Tensor<T>& x, const Shape& axes, bool keepdim = false) {
  return detail::reduce(x, detail::reduce_flags(axes, x.ndim(), "max"), keepdim, detail::ReduceKind::max, "max");
}
template <class T>
Tensor<T> max(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return max(x, Shape{axis}, keepdim);
}
template <class T>
Tensor<T> min(const Tensor<T>& x) {
  return detail::reduce(x, detail::all_flags(x.ndim()), false, detail::ReduceKind::min, "min");
}
template <class T>
Tensor<T> min(const Tensor<T>& x, const Shape& axes, bool keepdim = false) {
  return detail::reduce(x, detail::reduce_flags(axes, x.ndim(), "min"), keepdim, detail::ReduceKind::min, "min");
}
template <class T>
Tensor<T> min(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return min(x, Shape{axis}, keepdim);
}

// Variance with `correction` subtracted from the count (1: unbiased).
template <class T>
Tensor<T> var(const Tensor<T>& x) {
  return detail::var_impl(x, detail::all_flags(x.ndim()), 1, false, "var");
}
template <class T>
Tensor<T> var(const Tensor<T>& x, const Shape& axes, std::int64_t correction = 1, bool keepdim = false) {
  return detail::var_impl(x, detail::reduce_flags(axes, x.ndim(), "var"), correction, keepdim, "var");
}
template <class T>
Tensor<T> var(const Tensor<T>& x, std::int64_t axis, std::int64_t correction = 1, bool keepdim = false) {
  return var(x, Shape{axis}, correction, keepdim);
}

// Standard deviation: sqrt(var).
template <class T>
Tensor<T> stddev(const Tensor<T>& x) {
  return sqrt(detail::var_impl(x, detail::all_flags(x.ndim()), 1, false, "stddev"));
}
template <class T>
Tensor<T> stddev(const Tensor<T>& x, const Shape& axes, std::int64_t correction = 1, bool keepdim = false) {
  return sqrt(detail::var_impl(x, detail::reduce_flags(axes, x.ndim(), "stddev"), correction, keepdim, "stddev"));
}
template <class T>
Tensor<T> stddev(const Tensor<T>& x, std::int64_t axis, std::int64_t correction = 1, bool keepdim = false) {
  return stddev(x, Shape{axis}, correction, keepdim);
}

// log(sum(exp(x))) without overflow; -inf over an empty axis.
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x) {
  return detail::logsumexp_impl(x, detail::all_flags(x.ndim()), false);
}
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, const Shape& axes, bool keepdim = false) {
  return detail::logsumexp_impl(x, detail::reduce_flags(axes, x.ndim(), "logsumexp"), keepdim);
}
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return logsumexp(x, Shape{axis}, keepdim);
}

// Index of the first max/min (NaN counts as the extreme, as PyTorch).
template <class T>
Tensor<std::int64_t> argmax(const Tensor<T>& x) {
  return detail::arg_all<T, true>(x, "argmax");
}
template <class T>
Tensor<std::int64_t> argmax(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return detail::arg_reduce<T, true>(x, axis, keepdim, false, "argmax").indices;
}
template <class T>
Tensor<std::int64_t> argmin(const Tensor<T>& x) {
  return detail::arg_all<T, false>(x, "argmin");
}
template <class T>
Tensor<std::int64_t> argmin(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return detail::arg_reduce<T, false>(x, axis, keepdim, false, "argmin").indices;
}
template <class T>
ValuesIndices<T> max_with_indices(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return detail::arg_reduce<T, true>(x, axis, keepdim, true, "max");
}
template <class T>
ValuesIndices<T> min_with_indices(const Tensor<T>& x, std::int64_t axis, bool keepdim = false) {
  return detail::arg_reduce<T, false>(x, axis, keepdim, true, "min");
}

// Sums a broadcast result back to `shape` (the inverse of broadcasting);
// returns x itself when the shapes already match.
template <class T>
Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  bool ok = shape.size() <= x.ndim();
  const std::size_t lead = ok ? x.ndim() - shape.size() : 0;
  Shape flags = Shape::filled(x.ndim(), 0);
  for (std::size_t d = 0; d < x.ndim() && ok; ++d) {
    if (d < lead) {
      flags[d] = 1;
    } else if (shape[d - lead] != x.shape()[d]) {
      if (shape[d - lead] == 1) {
        flags[d] = 1;
      } else {
        ok = false;
      }
    }
  }
  if (!ok) {
    throw ShapeError(detail::message("sum_to: shape ", to_string(x.shape()), " cannot be summed to ",
                                     to_string(shape), " (", to_string(shape), " does not broadcast to ",
                                     to_string(x.shape()), ")"));
  }
  return detail::reduce(x, flags, true, detail::ReduceKind::sum, "sum_to").reshape(shape);
}


// ---------------------------------------------------------------------------
// Running sums and products along an axis (torch.cumsum, torch.cumprod);
// integer tensors accumulate in int64, as sum does.
namespace detail {
template <class T, class Step>
Tensor<accumulate_t<T>> scan(const Tensor<T>& x, std::int64_t axis, const char* op, Step step) {
  using R = accumulate_t<T>;
  const std::size_t a = normalize_axis(axis, x.ndim() == 0 ? 1 : x.ndim(), op);
  const Tensor<R> xc = widened(x).contiguous();
  Tensor<R> out = Tensor<R>::empty(x.shape());
  if (out.numel() == 0) return out;
  const AxisSplit split = split_at_axis(x.shape(), a);
  const std::int64_t outer = split.outer, extent = split.n, inner = split.inner;
  const R* src = xc.data();
  R* dst = out.data();
  for (std::int64_t o = 0; o < outer; ++o) {
    const std::int64_t base = o * extent * inner;
    for (std::int64_t k = 0; k < inner; ++k) dst[base + k] = src[base + k];
    for (std::int64_t i = 1; i < extent; ++i) {
      const std::int64_t at = base + i * inner;
      for (std::int64_t k = 0; k < inner; ++k) dst[at + k] = step(dst[at - inner + k], src[at + k]);
    }
  }
  return out;
}
}  // namespace detail

template <class T>
Tensor<accumulate_t<T>> cumsum(const Tensor<T>& x, std::int64_t axis) {
  return detail::scan(x, axis, "cumsum", [](auto acc, auto v) { return acc + v; });
}

template <class T>
Tensor<accumulate_t<T>> cumprod(const Tensor<T>& x, std::int64_t axis) {
  return detail::scan(x, axis, "cumprod", [](auto acc, auto v) { return acc * v; });
}

// Sum of the main diagonal of a 2-D tensor (torch.trace), as a 0-d tensor;
// integers sum in int64.
template <class T>
Tensor<accumulate_t<T>> trace(const Tensor<T>& x) {
  if (x.ndim() != 2) {
    throw ShapeError(detail::message("trace: expected a 2-D tensor, got shape ", to_string(x.shape())));
  }
  accumulate_t<T> s = 0;
  const std::int64_t n = std::min(x.shape()[0], x.shape()[1]);
  for (std::int64_t i = 0; i < n; ++i) s += static_cast<accumulate_t<T>>(x.at({i, i}));
  return Tensor<accumulate_t<T>>::scalar(s);
}

}  // namespace nabla

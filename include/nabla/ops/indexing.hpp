// Python-style indexing of tensors, as libtorch spells it: t.index({0,
// Slice(1, None, 2), None, Ellipsis, mask, idx}) reads what t[0, 1::2, None,
// ..., mask, idx] reads in PyTorch, and t.index_put_({...}, value) writes
// there. Integers, slices, None and Ellipsis give a view; bool masks and
// int64 index tensors (advanced indexing) give a copy, placed as PyTorch
// and NumPy place them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/detail/strided.hpp"
#include "nabla/ops/compare.hpp"

namespace nabla {
namespace indexing {

// None in an index inserts an axis of extent 1 (and, in a Slice, means
// "from the start" / "to the end").
struct NoneType {};
inline constexpr NoneType None{};
// Ellipsis stands for as many full slices as the other items leave.
struct EllipsisType {};
inline constexpr EllipsisType Ellipsis{};

// One bound of a Slice: an integer or None.
struct SliceBound {
  std::optional<std::int64_t> value;
  SliceBound(NoneType) {}  // NOLINT: implicit, so Slice(None, 3) reads as in Python
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  SliceBound(I v) : value(static_cast<std::int64_t>(v)) {}  // NOLINT
};

// start:stop:step as in Python; bounds may be negative (from the end) and
// are clamped; the step must be positive (as in PyTorch).
struct Slice {
  std::optional<std::int64_t> start, stop, step;
  Slice(SliceBound start_ = None, SliceBound stop_ = None, SliceBound step_ = None)  // NOLINT
      : start(start_.value), stop(stop_.value), step(step_.value) {}
};

}  // namespace indexing

// One item of an index: an integer, a Slice, None, Ellipsis, true/false, a
// bool mask or an int64 index tensor.
class TensorIndex {
 public:
  enum class Kind { integer, slice, none, ellipsis, boolean, mask, indices };

  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  TensorIndex(I i) : kind_(Kind::integer), integer_(static_cast<std::int64_t>(i)) {}  // NOLINT
  TensorIndex(bool b) : kind_(Kind::boolean), integer_(b ? 1 : 0) {}                   // NOLINT
  TensorIndex(indexing::Slice s) : kind_(Kind::slice), slice_(s) {}                   // NOLINT
  TensorIndex(indexing::NoneType) : kind_(Kind::none) {}                              // NOLINT
  TensorIndex(indexing::EllipsisType) : kind_(Kind::ellipsis) {}                      // NOLINT
  TensorIndex(Tensor<bool> mask) : kind_(Kind::mask), mask_(std::move(mask)) {}       // NOLINT
  TensorIndex(Tensor<std::int64_t> indices) : kind_(Kind::indices), indices_(std::move(indices)) {}  // NOLINT
  template <class U>
    requires(!std::is_same_v<U, bool> && !std::is_same_v<U, std::int64_t>)
  TensorIndex(const Tensor<U>&) {  // NOLINT
    static_assert(detail::dependent_false<U>,
                  "index: tensors used as indices must be Tensor<std::int64_t> or Tensor<bool> (as in PyTorch)");
  }

  Kind kind() const noexcept { return kind_; }
  std::int64_t integer() const noexcept { return integer_; }
  const indexing::Slice& slice() const noexcept { return slice_; }
  const Tensor<bool>& mask() const noexcept { return mask_; }
  const Tensor<std::int64_t>& indices() const noexcept { return indices_; }

 private:
  Kind kind_;
  std::int64_t integer_ = 0;
  indexing::Slice slice_;
  Tensor<bool> mask_;
  Tensor<std::int64_t> indices_;
};

namespace detail {

// What an index reads: the view left by its basic items, and for advanced
// indexing the view's axes that index tensors select along (broadcast to
// one shape) and where their result axes go.
template <class T>
struct IndexPlan {
  Tensor<T> view;
  std::vector<std::size_t> advanced_axes;        // axes of `view`, ascending
  std::vector<Tensor<std::int64_t>> positions;   // one per advanced axis, broadcast, contiguous
  Shape index_shape;                             // their common shape
  Shape result_shape;
  bool has_advanced() const noexcept { return !advanced_axes.empty(); }
};

inline std::string describe_index_position(std::size_t item, const Shape& shape) {
  return detail::message("(item ", item, " of the index into shape ", to_string(shape), ")");
}

template <class T>
IndexPlan<T> plan_index(const Tensor<T>& x, std::span<const TensorIndex> items, const char* op) {
  using Kind = TensorIndex::Kind;
  std::size_t consumed = 0;
  std::size_t ellipses = 0;
  for (const TensorIndex& item : items) {
    switch (item.kind()) {
      case Kind::integer: case Kind::slice: case Kind::indices: ++consumed; break;
      case Kind::mask: consumed += item.mask().ndim(); break;
      case Kind::ellipsis: ++ellipses; break;
      case Kind::none: case Kind::boolean: break;
    }
  }
  if (ellipses > 1) throw IndexError(detail::message(op, ": an index can have only one Ellipsis"));
  if (consumed > x.ndim()) {
    throw IndexError(detail::message(op, ": too many indices for a tensor of shape ", to_string(x.shape()), ": ",
                                     consumed, " axes indexed, ", x.ndim(), " present"));
  }
  IndexPlan<T> plan;
  plan.view = x;
  std::vector<Tensor<std::int64_t>> index_tensors;
  std::size_t axis = 0;  // the next axis of plan.view to index
  for (std::size_t k = 0; k < items.size(); ++k) {
    const TensorIndex& item = items[k];
    Tensor<T>& v = plan.view;
    switch (item.kind()) {
      case Kind::integer: {
        const std::int64_t n = v.shape()[axis];
        const std::int64_t i = item.integer() < 0 ? item.integer() + n : item.integer();
        if (i < 0 || i >= n) {
          throw IndexError(detail::message(op, ": index ", item.integer(), " is out of range for an axis of extent ",
                                           n, " ", describe_index_position(k, x.shape())));
        }
        v = v.select(static_cast<std::int64_t>(axis), i);
        break;
      }
      case Kind::slice: {
        const indexing::Slice& s = item.slice();
        const std::int64_t step = s.step.value_or(1);
        if (step <= 0) {
          throw ValueError(detail::message(op, ": slice step must be positive, got ", step, " ",
                                           describe_index_position(k, x.shape())));
        }
        v = v.slice(static_cast<std::int64_t>(axis), s.start.value_or(0),
                    s.stop.value_or(std::numeric_limits<std::int64_t>::max()), step);
        ++axis;
        break;
      }
      case Kind::none:
        v = v.unsqueeze(static_cast<std::int64_t>(axis));
        ++axis;
        break;
      case Kind::boolean:  // t[True] adds an axis of extent 1, t[False] one of extent 0
        v = v.unsqueeze(static_cast<std::int64_t>(axis)).slice(static_cast<std::int64_t>(axis), 0, item.integer());
        ++axis;
        break;
      case Kind::ellipsis:
        axis += x.ndim() - consumed;
        break;
      case Kind::mask: {
        const Tensor<bool>& m = item.mask();
        for (std::size_t d = 0; d < m.ndim(); ++d) {
          if (m.shape()[d] != v.shape()[axis + d]) {
            throw IndexError(detail::message(op, ": the mask of shape ", to_string(m.shape()),
                                             " does not match the indexed axes of shape ", to_string(v.shape()),
                                             " starting at axis ", axis, " ", describe_index_position(k, x.shape())));
          }
        }
        if (m.ndim() == 0) {  // a 0-d mask acts as True/False
          v = v.unsqueeze(static_cast<std::int64_t>(axis)).slice(static_cast<std::int64_t>(axis), 0, m.item() ? 1 : 0);
          ++axis;
          break;
        }
        // A k-dimensional mask is k index tensors: the coordinates of its true elements.
        const Tensor<std::int64_t> where = nonzero(m);
        for (std::size_t d = 0; d < m.ndim(); ++d) {
          plan.advanced_axes.push_back(axis + d);
          index_tensors.push_back(where.select(1, static_cast<std::int64_t>(d)));
        }
        axis += m.ndim();
        break;
      }
      case Kind::indices:
        plan.advanced_axes.push_back(axis);
        index_tensors.push_back(item.indices());
        ++axis;
        break;
    }
  }
  if (!plan.has_advanced()) {
    plan.result_shape = plan.view.shape();
    return plan;
  }
  // Index tensors broadcast together; negative entries count from the end.
  Shape common;
  for (const auto& t : index_tensors) common = broadcast_shapes(common, t.shape(), op);
  plan.index_shape = common;
  for (std::size_t j = 0; j < index_tensors.size(); ++j) {
    Tensor<std::int64_t> p = index_tensors[j].expand(common).clone();
    const std::int64_t n = plan.view.shape()[plan.advanced_axes[j]];
    for (std::int64_t e = 0; e < p.numel(); ++e) {
      std::int64_t& i = p.data()[e];
      if (i < -n || i >= n) {
        throw IndexError(detail::message(op, ": index ", i, " is out of range for axis ", plan.advanced_axes[j],
                                         " of extent ", n, " (indexed shape ", to_string(plan.view.shape()), ")"));
      }
      if (i < 0) i += n;
    }
    plan.positions.push_back(std::move(p));
  }
  // Adjacent advanced axes put their result axes where they were; separated
  // ones put them first (NumPy's rule, which PyTorch follows).
  const auto& adv = plan.advanced_axes;
  const bool adjacent = adv.back() - adv.front() + 1 == adv.size();
  Shape result;
  bool placed = false;
  if (!adjacent) {
    result = common;
    placed = true;
  }
  for (std::size_t d = 0; d < plan.view.ndim(); ++d) {
    if (std::find(adv.begin(), adv.end(), d) != adv.end()) {
      if (!placed) {
        for (std::int64_t e : common) result.push_back(e);
        placed = true;
      }
      continue;
    }
    result.push_back(plan.view.shape()[d]);
  }
  plan.result_shape = result;
  return plan;
}

// Calls f(offset into plan.view's storage, offset into a tensor of
// plan.result_shape with strides `result_strides`) for every element an
// advanced index reads.
template <class T, class F>
void for_each_indexed(const IndexPlan<T>& plan, const Shape& result_strides, F&& f) {
  const auto& adv = plan.advanced_axes;
  const bool adjacent = adv.back() - adv.front() + 1 == adv.size();
  const std::size_t first = adjacent ? adv.front() : 0;  // where the index axes sit in the result
  const std::size_t nb = plan.index_shape.size();
  // The view's remaining axes, with their strides in the view and in the result.
  Shape rest_shape, rest_view_strides, rest_result_strides;
  std::size_t r = 0;
  for (std::size_t d = 0; d < plan.view.ndim(); ++d) {
    if (std::find(adv.begin(), adv.end(), d) != adv.end()) continue;
    if (r == first) r += nb;
    rest_shape.push_back(plan.view.shape()[d]);
    rest_view_strides.push_back(plan.view.strides()[d]);
    rest_result_strides.push_back(result_strides[r]);
    ++r;
  }
  const std::int64_t count = plan.index_shape.numel();
  std::vector<std::int64_t> coord(nb, 0);
  for (std::int64_t b = 0; b < count; ++b) {
    std::int64_t src = plan.view.offset();
    for (std::size_t j = 0; j < adv.size(); ++j) src += plan.positions[j].data()[b] * plan.view.strides()[adv[j]];
    std::int64_t dst = 0;
    for (std::size_t d = 0; d < nb; ++d) dst += coord[d] * result_strides[first + d];
    if (rest_shape.size() == 0) {
      f(src, dst);
    } else {
      for_each_offset2(rest_shape, rest_view_strides, rest_result_strides,
                       [&](std::int64_t a, std::int64_t c) { f(src + a, dst + c); });
    }
    for (std::size_t d = nb; d-- > 0;) {  // next index position, row-major
      if (++coord[d] < plan.index_shape[d]) break;
      coord[d] = 0;
    }
  }
}

template <class T>
Tensor<T> gather_plan(const IndexPlan<T>& plan) {
  if (!plan.has_advanced()) return plan.view;
  Tensor<T> out = Tensor<T>::empty(plan.result_shape);
  if (out.numel() == 0) return out;
  const T* base = reinterpret_cast<const T*>(plan.view.storage().data());
  T* o = out.data();
  for_each_indexed(plan, out.strides(), [&](std::int64_t from, std::int64_t to) { o[to] = base[from]; });
  return out;
}

template <class T>
void put_plan(const IndexPlan<T>& plan, const Tensor<T>& value, bool accumulate, const char* op) {
  bool fits = value.ndim() <= plan.result_shape.size();
  for (std::size_t d = 0; fits && d < value.ndim(); ++d) {
    const std::int64_t have = value.shape()[value.ndim() - 1 - d];
    fits = have == 1 || have == plan.result_shape[plan.result_shape.size() - 1 - d];
  }
  if (!fits) {
    throw ShapeError(detail::message(op, ": a value of shape ", to_string(value.shape()),
                                     " cannot be broadcast to the indexed shape ", to_string(plan.result_shape)));
  }
  const Tensor<T> v = value.expand(plan.result_shape);
  if (!plan.has_advanced()) {
    if (accumulate) {
      Tensor<T> sum = plan.view.clone();
      T* s = sum.data();
      const T* pv = v.data();
      for_each_offset2(sum.shape(), contiguous_strides(sum.shape()), v.strides(),
                       [&](std::int64_t a, std::int64_t b) { s[a] += pv[b]; });
      plan.view.copy_(sum);
    } else {
      plan.view.copy_(v.contiguous());
    }
    return;
  }
  T* base = reinterpret_cast<T*>(plan.view.storage().data());
  const T* pv = v.data();
  if (accumulate) {
    for_each_indexed(plan, v.strides(), [&](std::int64_t to, std::int64_t from) { base[to] += pv[from]; });
  } else {
    for_each_indexed(plan, v.strides(), [&](std::int64_t to, std::int64_t from) { base[to] = pv[from]; });
  }
  plan.view.bump_version();
}

template <class T, class V>
Tensor<T> index_value(const V& value) {
  if constexpr (std::is_arithmetic_v<V>) {
    return Tensor<T>::scalar(static_cast<T>(value));
  } else if constexpr (std::is_same_v<typename V::value_type, T>) {
    return value;
  } else {
    return value.template to<T>();
  }
}

}  // namespace detail

// x[items...] as PyTorch reads it: a view when every item is an integer,
// Slice, None or Ellipsis; a copy with advanced (mask or index tensor) items.
template <class T>
Tensor<T> index(const Tensor<T>& x, std::span<const TensorIndex> items) {
  return detail::gather_plan(detail::plan_index(x, items, "index"));
}
template <class T>
Tensor<T> index(const Tensor<T>& x, std::initializer_list<TensorIndex> items) {
  return index(x, std::span<const TensorIndex>(items.begin(), items.size()));
}
template <class T>
Tensor<T> index(const Tensor<T>& x, const std::vector<TensorIndex>& items) {
  return index(x, std::span<const TensorIndex>(items.data(), items.size()));
}

// x[items...] = value (or += value with accumulate, where repeated indices
// add up, as torch.index_put_). `value` is a scalar or a tensor that
// broadcasts to index(x, items)'s shape. Without accumulate, repeated
// indices keep the last value written.
template <class T, class V>
const Tensor<T>& index_put_(const Tensor<T>& x, std::span<const TensorIndex> items, const V& value,
                            bool accumulate = false) {
  const Tensor<T> v = detail::index_value<T>(value);
  detail::put_plan(detail::plan_index(x, items, "index_put_"), v, accumulate, "index_put_");
  return x;
}
template <class T, class V>
const Tensor<T>& index_put_(const Tensor<T>& x, std::initializer_list<TensorIndex> items, const V& value,
                            bool accumulate = false) {
  return index_put_(x, std::span<const TensorIndex>(items.begin(), items.size()), value, accumulate);
}
template <class T, class V>
const Tensor<T>& index_put_(const Tensor<T>& x, const std::vector<TensorIndex>& items, const V& value,
                            bool accumulate = false) {
  return index_put_(x, std::span<const TensorIndex>(items.data(), items.size()), value, accumulate);
}

}  // namespace nabla

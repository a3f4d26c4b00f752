// Tensor<T>: a cheap, shared handle to a strided n-dimensional view of a
// 64-byte-aligned buffer. Copies share storage; clone() deep-copies.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <span>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/storage.hpp"
#include "nabla/detail/strided.hpp"

namespace nabla {
namespace detail {

// "4.0 PiB": a byte count for people.
inline std::string human_bytes(std::size_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// The bytes a shape would take, as a decimal approximation ("4.5e+15") that
// works where the exact count overflows.
inline std::string approximate_bytes(const Shape& shape, std::size_t element_size) {
  long double n = static_cast<long double>(element_size);
  for (std::int64_t e : shape) n *= static_cast<long double>(e);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4Lg", n);
  return buf;
}

// std::initializer_list nested `Rank` deep: the type of {{1, 2}, {3, 4}}
// for Rank 2.
template <class T, std::size_t Rank>
struct NestedInit {
  using type = std::initializer_list<typename NestedInit<T, Rank - 1>::type>;
};
template <class T>
struct NestedInit<T, 1> {
  using type = std::initializer_list<T>;
};

template <class L>
inline constexpr bool is_initializer_list = false;
template <class U>
inline constexpr bool is_initializer_list<std::initializer_list<U>> = true;

}  // namespace detail

// Nested braces of values, `Rank` deep, as Tensor's constructor takes them.
template <class T, std::size_t Rank>
using NestedList = typename detail::NestedInit<T, Rank>::type;

class TensorIndex;  // ops/indexing.hpp: one item of t.index({...})

namespace detail {
template <class>
inline constexpr bool dependent_false = false;
}  // namespace detail

// Methods such as t.sum() and t += u call the free functions of ops/ (found
// by argument-dependent lookup where they are used), so this header stays
// light; without their header the call names the one to include.
#define NABLA_FORWARD_METHOD(method, function, header)                                             \
  template <class Self, class... Args>                                                            \
  decltype(auto) method_##method(const Self& self, Args&&... args) {                              \
    if constexpr (requires { function(self, std::forward<Args>(args)...); }) {                    \
      return function(self, std::forward<Args>(args)...);                                         \
    } else {                                                                                      \
      static_assert(dependent_false<Self>, "the method " #method "() calls nabla::" #function     \
                                           "(): include " header " or <nabla/nabla.hpp>, and "    \
                                           "check the arguments");                                \
    }                                                                                             \
  }

namespace detail::methods {
NABLA_FORWARD_METHOD(sum, sum, "<nabla/ops/reduce.hpp>")
NABLA_FORWARD_METHOD(mean, mean, "<nabla/ops/reduce.hpp>")
NABLA_FORWARD_METHOD(prod, prod, "<nabla/ops/reduce.hpp>")
NABLA_FORWARD_METHOD(max, max, "<nabla/ops/reduce.hpp>")
NABLA_FORWARD_METHOD(min, min, "<nabla/ops/reduce.hpp>")
NABLA_FORWARD_METHOD(argmax, argmax, "<nabla/ops/reduce.hpp>")
NABLA_FORWARD_METHOD(argmin, argmin, "<nabla/ops/reduce.hpp>")
NABLA_FORWARD_METHOD(exp, exp, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(log, log, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(sqrt, sqrt, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(abs, abs, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(tanh, tanh, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(sigmoid, sigmoid, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(relu, relu, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(pow, pow, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(clamp, clamp, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(matmul, matmul, "<nabla/ops/linalg.hpp>")
NABLA_FORWARD_METHOD(softmax, softmax, "<nabla/ops/nn.hpp>")
NABLA_FORWARD_METHOD(log_softmax, log_softmax, "<nabla/ops/nn.hpp>")
NABLA_FORWARD_METHOD(any, any, "<nabla/ops/compare.hpp>")
NABLA_FORWARD_METHOD(all, all, "<nabla/ops/compare.hpp>")
NABLA_FORWARD_METHOD(norm, norm, "<nabla/ops/sort.hpp>")
NABLA_FORWARD_METHOD(index, index, "<nabla/ops/indexing.hpp>")
NABLA_FORWARD_METHOD(index_put_, index_put_, "<nabla/ops/indexing.hpp>")
NABLA_FORWARD_METHOD(add_, add_, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(sub_, sub_, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(mul_, mul_, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(div_, div_, "<nabla/ops/elementwise.hpp>")
NABLA_FORWARD_METHOD(select, select, "<nabla/autograd/rules/shape.hpp>")
}  // namespace detail::methods
#undef NABLA_FORWARD_METHOD

// The methods that forward to free functions, for Tensor and Var alike
// (expanded inside both classes; not for use elsewhere):
// t.sum(), t.sum(axis, keepdim), t.exp(), t.matmul(u), ...
#define NABLA_TENSOR_METHODS                                                                       \
  template <class... Args> decltype(auto) sum(Args&&... a) const { return detail::methods::method_sum(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) mean(Args&&... a) const { return detail::methods::method_mean(*this, std::forward<Args>(a)...); }   \
  template <class... Args> decltype(auto) prod(Args&&... a) const { return detail::methods::method_prod(*this, std::forward<Args>(a)...); }   \
  template <class... Args> decltype(auto) max(Args&&... a) const { return detail::methods::method_max(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) min(Args&&... a) const { return detail::methods::method_min(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) argmax(Args&&... a) const { return detail::methods::method_argmax(*this, std::forward<Args>(a)...); } \
  template <class... Args> decltype(auto) argmin(Args&&... a) const { return detail::methods::method_argmin(*this, std::forward<Args>(a)...); } \
  template <class... Args> decltype(auto) exp(Args&&... a) const { return detail::methods::method_exp(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) log(Args&&... a) const { return detail::methods::method_log(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) sqrt(Args&&... a) const { return detail::methods::method_sqrt(*this, std::forward<Args>(a)...); }   \
  template <class... Args> decltype(auto) abs(Args&&... a) const { return detail::methods::method_abs(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) tanh(Args&&... a) const { return detail::methods::method_tanh(*this, std::forward<Args>(a)...); }   \
  template <class... Args> decltype(auto) sigmoid(Args&&... a) const { return detail::methods::method_sigmoid(*this, std::forward<Args>(a)...); } \
  template <class... Args> decltype(auto) relu(Args&&... a) const { return detail::methods::method_relu(*this, std::forward<Args>(a)...); }   \
  template <class... Args> decltype(auto) pow(Args&&... a) const { return detail::methods::method_pow(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) clamp(Args&&... a) const { return detail::methods::method_clamp(*this, std::forward<Args>(a)...); } \
  template <class... Args> decltype(auto) matmul(Args&&... a) const { return detail::methods::method_matmul(*this, std::forward<Args>(a)...); } \
  template <class... Args> decltype(auto) softmax(Args&&... a) const { return detail::methods::method_softmax(*this, std::forward<Args>(a)...); } \
  template <class... Args> decltype(auto) log_softmax(Args&&... a) const { return detail::methods::method_log_softmax(*this, std::forward<Args>(a)...); } \
  template <class... Args> decltype(auto) any(Args&&... a) const { return detail::methods::method_any(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) all(Args&&... a) const { return detail::methods::method_all(*this, std::forward<Args>(a)...); }     \
  template <class... Args> decltype(auto) norm(Args&&... a) const { return detail::methods::method_norm(*this, std::forward<Args>(a)...); }   \
  /* t.index({0, Slice(1, None, 2), mask}) as t[0, 1::2, mask] in PyTorch (ops/indexing.hpp). */ \
  template <class I = TensorIndex> decltype(auto) index(std::initializer_list<std::type_identity_t<I>> items) const { return detail::methods::method_index(*this, items); } \
  std::int64_t dim() const { return static_cast<std::int64_t>(ndim()); }

template <class T>
class Tensor {
  static_assert(std::is_arithmetic_v<T>,
                "nabla::Tensor<T> holds arithmetic element types (float, double, integers, bool)");

 public:
  using value_type = T;

  // An undefined tensor (no storage); defined() is false.
  Tensor() = default;

  // A zero-filled tensor of `shape`.
  explicit Tensor(Shape shape) : Tensor(empty(std::move(shape))) { fill_(T{}); }

  // A tensor of `shape` holding `values` in row-major order.
  Tensor(Shape shape, std::vector<T> values) : Tensor(empty(std::move(shape))) {
    if (static_cast<std::int64_t>(values.size()) != numel()) {
      throw ShapeError(detail::message("Tensor: shape ", to_string(shape_), " needs ", numel(),
                                       " values but ", values.size(), " were given"));
    }
    if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> is packed bits
      for (std::size_t i = 0; i < values.size(); ++i) data()[i] = values[i];
    } else if (!values.empty()) {
      std::memcpy(data(), values.data(), values.size() * sizeof(T));
    }
  }

  // A tensor from nested braces, as torch.tensor([[1, 2], [3, 4]]) in
  // PyTorch: Tensor<float> t({{1, 2}, {3, 4}}) is 2x2, any rank from 2 to 8;
  // ragged lists throw ShapeError. (Rank 1 would make Tensor<float>({2, 3})
  // mean values instead of a shape: use nabla::tensor<T>({...}) there.)
  // Braces that fit several ranks ({{}}, {{{1}}}) do not compile: name the
  // rank with from_nested<Rank>.
  Tensor(NestedList<T, 2> values) : Tensor(from_nested<2>(values)) {}
  Tensor(NestedList<T, 3> values) : Tensor(from_nested<3>(values)) {}
  Tensor(NestedList<T, 4> values) : Tensor(from_nested<4>(values)) {}
  Tensor(NestedList<T, 5> values) : Tensor(from_nested<5>(values)) {}
  Tensor(NestedList<T, 6> values) : Tensor(from_nested<6>(values)) {}
  Tensor(NestedList<T, 7> values) : Tensor(from_nested<7>(values)) {}
  Tensor(NestedList<T, 8> values) : Tensor(from_nested<8>(values)) {}

  // The tensor of nested braces `values`, `Rank` deep (Rank 1 included).
  template <std::size_t Rank>
  static Tensor from_nested(const NestedList<T, Rank>& values) {
    // Extents are found as the lists are walked; depths never reached (empty
    // lists: {{}, {}} is [2, 0]) stay 0.
    std::array<std::int64_t, Rank> extents{};
    std::array<bool, Rank> seen{};
    std::vector<T> flat;
    flatten_nested(values, 0, extents.data(), seen.data(), flat);
    return Tensor(Shape(std::span<const std::int64_t>(extents.data(), Rank)), std::move(flat));
  }

  // A tensor of `shape` whose elements are not initialised.
  static Tensor empty(Shape shape) {
    for (std::int64_t extent : shape) {
      if (extent < 0) throw ValueError(detail::message("Tensor: negative extent in shape ", to_string(shape)));
    }
    std::int64_t count = 0;
    if (!shape.checked_numel(count) || count > std::numeric_limits<std::int64_t>::max() / 16) {
      throw OutOfMemoryError(detail::message("Tensor: shape ", to_string(shape), " needs ",
                                             detail::approximate_bytes(shape, sizeof(T)),
                                             " bytes: the element count overflows 64 bits"));
    }
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(T);
    Tensor t;
    try {
      t.storage_ = Storage(bytes);
    } catch (const OutOfMemoryError&) {
      throw OutOfMemoryError(detail::message("Tensor: cannot allocate ", bytes, " bytes (", detail::human_bytes(bytes),
                                             ") for shape ", to_string(shape), " of ", sizeof(T),
                                             "-byte elements: out of memory"));
    }
    t.strides_ = contiguous_strides(shape);
    t.shape_ = std::move(shape);
    return t;
  }

  // A 0-dimensional tensor holding one value.
  static Tensor scalar(T value) {
    Tensor t = empty(Shape{});
    *t.data() = value;
    return t;
  }

  // A view onto existing storage; used by the view operations.
  static Tensor view_of(Storage storage, Shape shape, Shape strides, std::int64_t offset) {
    Tensor t;
    t.storage_ = std::move(storage);
    t.shape_ = std::move(shape);
    t.strides_ = std::move(strides);
    t.offset_ = offset;
    return t;
  }

  // --- Properties -------------------------------------------------------
  bool defined() const noexcept { return storage_.defined(); }
  const Shape& shape() const noexcept { return shape_; }
  const Shape& strides() const noexcept { return strides_; }
  std::int64_t offset() const noexcept { return offset_; }
  // 0 for an undefined tensor (its empty shape would otherwise claim one element).
  std::int64_t numel() const noexcept { return defined() ? shape_.numel() : 0; }
  std::size_t ndim() const noexcept { return shape_.size(); }
  // Extent of `axis` (negative counts from the end).
  std::int64_t size(std::int64_t axis) const { return shape_[normalize_axis(axis, ndim(), "size")]; }
  const Storage& storage() const noexcept { return storage_; }

  // Pointer to the first element (at the view's offset). The handle is
  // shared, so data() is mutable through a const Tensor, as in PyTorch.
  T* data() const noexcept { return reinterpret_cast<T*>(storage_.data()) + offset_; }

  bool is_contiguous() const noexcept {
    // No elements: any strides will do (checked first: the running product
    // of huge extents before a zero would overflow).
    for (std::int64_t extent : shape_) {
      if (extent == 0) return true;
    }
    std::int64_t expected = 1;
    for (std::size_t i = shape_.size(); i-- > 0;) {
      if (shape_[i] == 1) continue;
      if (strides_[i] != expected) return false;
      expected *= shape_[i];
    }
    return true;
  }

  // Autograd compares this before and after to catch in-place edits of
  // values it saved for backward.
  std::uint64_t version() const noexcept { return storage_.version(); }
  void bump_version() const noexcept { storage_.bump_version(); }

  // --- Element access -----------------------------------------------------
  T item() const {
    if (numel() != 1) {
      throw ShapeError(detail::message("item: expected a tensor with one element, got shape ", to_string(shape_)));
    }
    return *data();
  }

  // Element at a full index; negative indices count from the end.
  T& at(std::initializer_list<std::int64_t> index) const { return data()[element_offset(index.begin(), index.size())]; }
  T& at(const std::vector<std::int64_t>& index) const { return data()[element_offset(index.data(), index.size())]; }
  template <class... I>
    requires(std::is_integral_v<I> && ...)
  T& operator()(I... index) const {
    const std::int64_t idx[] = {static_cast<std::int64_t>(index)..., 0};
    return data()[element_offset(idx, sizeof...(I))];
  }

  // The elements in row-major order.
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> is packed bits
      const Tensor packed = contiguous();
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = packed.data()[i];
    } else if (!out.empty()) {
      contiguous_into(out.data());
    }
    return out;
  }

  // t[i]: the sub-tensor at index i of the first axis, a view (negative i
  // counts from the end), as in PyTorch.
  Tensor operator[](std::int64_t i) const { return select(0, i); }

  NABLA_TENSOR_METHODS

  // t.index_put_({...}, value): writes value (a scalar or a tensor that
  // broadcasts to t.index({...})'s shape) where t.index({...}) reads.
  template <class V, class I = TensorIndex>
  const Tensor& index_put_(std::initializer_list<std::type_identity_t<I>> items, const V& value) const {
    detail::methods::method_index_put_(*this, items, value);
    return *this;
  }

  // In place, as in PyTorch: t += u broadcasts u to t's shape and keeps t's
  // layout; the version counter is bumped so autograd notices. A value of
  // another type is converted to T first, except where PyTorch refuses
  // (a floating value into an integer tensor), which does not compile.
  template <class U>
  const Tensor& operator+=(const U& other) const { return compound(other, [](const Tensor& d, const auto& v) { detail::methods::method_add_(d, v); }); }
  template <class U>
  const Tensor& operator-=(const U& other) const { return compound(other, [](const Tensor& d, const auto& v) { detail::methods::method_sub_(d, v); }); }
  template <class U>
  const Tensor& operator*=(const U& other) const { return compound(other, [](const Tensor& d, const auto& v) { detail::methods::method_mul_(d, v); }); }
  template <class U>
  const Tensor& operator/=(const U& other) const {
    static_assert(std::is_floating_point_v<T>,
                  "Tensor /= : true division of an integer tensor gives floats, which cannot be stored in "
                  "place (PyTorch refuses too); use floor_divide or t = t / u");
    return compound(other, [](const Tensor& d, const auto& v) { detail::methods::method_div_(d, v); });
  }

  // --- Copies -------------------------------------------------------------
  // This tensor if it is already row-major contiguous, else a packed copy.
  Tensor contiguous() const {
    if (is_contiguous()) return *this;
    return clone();
  }

  // A deep, contiguous copy.
  Tensor clone() const {
    Tensor out = empty(shape_);
    contiguous_into(out.data());
    return out;
  }

  // Element type conversion (always a new tensor).
  template <class U>
  Tensor<U> to() const {
    Tensor<U> out = Tensor<U>::empty(shape_);
    U* dst = out.data();
    std::int64_t i = 0;
    const T* src = data();
    detail::for_each_offset2(shape_, strides_, strides_, [&](std::int64_t a, std::int64_t) {
      dst[i++] = static_cast<U>(src[a]);
    });
    return out;
  }

  // Copies `src` (same shape, any layout) into this tensor's elements.
  const Tensor& copy_(const Tensor& src) const {
    if (!(src.shape() == shape_)) {
      throw ShapeError(detail::message("copy_: source shape ", to_string(src.shape()),
                                       " does not match destination shape ", to_string(shape_)));
    }
    T* dst = data();
    const T* from = src.data();
    if (is_contiguous() && src.is_contiguous()) {
      if (numel() > 0 && dst != from) std::memmove(dst, from, static_cast<std::size_t>(numel()) * sizeof(T));
    } else {
      detail::for_each_offset2(shape_, strides_, src.strides(), [&](std::int64_t a, std::int64_t b) {
        dst[a] = from[b];
      });
    }
    bump_version();
    return *this;
  }

  // Sets every element to `value`.
  const Tensor& fill_(T value) const {
    T* dst = data();
    if (is_contiguous()) {
      std::fill(dst, dst + numel(), value);
    } else {
      detail::for_each_offset2(shape_, strides_, strides_, [&](std::int64_t a, std::int64_t) { dst[a] = value; });
    }
    bump_version();
    return *this;
  }
  const Tensor& zero_() const { return fill_(T{}); }

  // --- Views (share storage) ----------------------------------------------
  // Same elements under a new shape; one extent may be -1. A view when the
  // layout allows it, a copy otherwise (as torch.reshape).
  Tensor reshape(Shape new_shape) const {
    new_shape = infer_shape(std::move(new_shape), "reshape");
    if (is_contiguous()) return view_of(storage_, new_shape, contiguous_strides(new_shape), offset_);
    return clone().reshape(std::move(new_shape));
  }

  // Like reshape, but throws instead of copying.
  Tensor view(Shape new_shape) const {
    new_shape = infer_shape(std::move(new_shape), "view");
    if (!is_contiguous()) {
      throw ShapeError(detail::message("view: a tensor of shape ", to_string(shape_),
                                       " with non-contiguous strides ", to_string(strides_),
                                       " cannot be viewed as ", to_string(new_shape), "; call reshape()"));
    }
    return view_of(storage_, new_shape, contiguous_strides(new_shape), offset_);
  }

  // The same elements as one dimension.
  Tensor flatten() const { return reshape(Shape{numel()}); }

  // Swaps two axes.
  Tensor transpose(std::int64_t axis0, std::int64_t axis1) const {
    const std::size_t a = normalize_axis(axis0, ndim(), "transpose");
    const std::size_t b = normalize_axis(axis1, ndim(), "transpose");
    Shape shape = shape_;
    Shape strides = strides_;
    std::swap(shape[a], shape[b]);
    std::swap(strides[a], strides[b]);
    return view_of(storage_, std::move(shape), std::move(strides), offset_);
  }

  // Transpose of a 2-D tensor.
  Tensor t() const {
    if (ndim() != 2) {
      throw ShapeError(detail::message("transpose: expected a 2-D tensor, got shape ", to_string(shape_)));
    }
    return transpose(0, 1);
  }

  // Reorders the axes: output axis i is input axis dims[i].
  Tensor permute(const Shape& dims) const {
    if (dims.size() != ndim()) {
      throw ShapeError(detail::message("permute: ", dims.size(), " axes given for a tensor of shape ",
                                       to_string(shape_)));
    }
    Shape shape = Shape::filled(ndim(), 0);
    Shape strides = Shape::filled(ndim(), 0);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < ndim(); ++i) {
      const std::size_t d = normalize_axis(dims[i], ndim(), "permute");
      if (d < 64 && (seen >> d & 1U)) {
        throw ValueError(detail::message("permute: axis ", d, " appears twice in ", to_string(dims)));
      }
      if (d < 64) seen |= std::uint64_t{1} << d;
      shape[i] = shape_[d];
      strides[i] = strides_[d];
    }
    return view_of(storage_, std::move(shape), std::move(strides), offset_);
  }

  // Elements start, start+step, ... (< end) along `axis`. Negative start/end
  // count from the end and are clamped, as in Python slicing.
  Tensor slice(std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step = 1) const {
    const std::size_t a = normalize_axis(axis, ndim(), "slice");
    if (step <= 0) throw ValueError(detail::message("slice: step must be positive, got ", step));
    const std::int64_t n = shape_[a];
    auto clamp = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
    const std::int64_t s = clamp(start);
    const std::int64_t e = std::max(clamp(end), s);
    Shape shape = shape_;
    Shape strides = strides_;
    shape[a] = (e - s + step - 1) / step;
    strides[a] = strides_[a] * step;
    return view_of(storage_, std::move(shape), std::move(strides), offset_ + s * strides_[a]);
  }

  // The sub-tensor at `index` along `axis`, with that axis removed.
  Tensor select(std::int64_t axis, std::int64_t index) const {
    const std::size_t a = normalize_axis(axis, ndim(), "select");
    const std::int64_t n = shape_[a];
    const std::int64_t i = index < 0 ? index + n : index;
    if (i < 0 || i >= n) {
      throw IndexError(detail::message("select: index ", index, " is out of range for axis ", a,
                                       " of shape ", to_string(shape_)));
    }
    Shape shape = shape_;
    Shape strides = strides_;
    shape.erase(a);
    strides.erase(a);
    return view_of(storage_, std::move(shape), std::move(strides), offset_ + i * strides_[a]);
  }

  // Inserts an axis of extent 1 at `axis` (in [-ndim-1, ndim]).
  Tensor unsqueeze(std::int64_t axis) const {
    const std::size_t a = normalize_axis(axis, ndim() + 1, "unsqueeze");
    Shape shape = shape_;
    Shape strides = strides_;
    const std::int64_t stride = a < ndim() ? strides_[a] * shape_[a] : 1;
    shape.insert(a, 1);
    strides.insert(a, stride);
    return view_of(storage_, std::move(shape), std::move(strides), offset_);
  }

  // Removes `axis`, which must have extent 1.
  Tensor squeeze(std::int64_t axis) const {
    const std::size_t a = normalize_axis(axis, ndim(), "squeeze");
    if (shape_[a] != 1) {
      throw ShapeError(detail::message("squeeze: axis ", a, " of shape ", to_string(shape_), " is not 1"));
    }
    Shape shape = shape_;
    Shape strides = strides_;
    shape.erase(a);
    strides.erase(a);
    return view_of(storage_, std::move(shape), std::move(strides), offset_);
  }

  // A broadcast view to `target` (NumPy rules; stride 0 on repeated axes).
  Tensor expand(const Shape& target) const {
    if (target.size() < ndim()) {
      throw ShapeError(detail::message("expand: cannot expand shape ", to_string(shape_), " to ", to_string(target)));
    }
    const std::size_t lead = target.size() - ndim();
    Shape strides = Shape::filled(target.size(), 0);
    for (std::size_t i = 0; i < target.size(); ++i) {
      if (target[i] < 0) {
        throw ShapeError(detail::message("expand: cannot expand shape ", to_string(shape_), " to ",
                                         to_string(target)));
      }
      if (i < lead) continue;
      const std::int64_t have = shape_[i - lead];
      if (have == target[i]) {
        strides[i] = strides_[i - lead];
      } else if (have != 1) {
        throw ShapeError(detail::message("expand: cannot expand shape ", to_string(shape_), " to ",
                                         to_string(target)));
      }
    }
    return view_of(storage_, target, std::move(strides), offset_);
  }

  // True when both handles view the same elements the same way.
  bool is_same(const Tensor& other) const noexcept {
    return storage_.same_as(other.storage_) && offset_ == other.offset_ && shape_ == other.shape_ &&
           strides_ == other.strides_;
  }

 private:
  template <class U, class Op>
  const Tensor& compound(const U& other, Op op) const {
    static_assert(!std::is_same_v<T, bool>, "Tensor<bool>: arithmetic in place is not defined; convert with to<U>()");
    if constexpr (std::is_arithmetic_v<U>) {
      static_assert(!(std::is_integral_v<T> && std::is_floating_point_v<U>),
                    "a floating value cannot be added into an integer tensor in place (PyTorch refuses too)");
      op(*this, static_cast<T>(other));
    } else {
      using V = typename U::value_type;
      static_assert(!(std::is_integral_v<T> && std::is_floating_point_v<V>),
                    "a floating tensor cannot be added into an integer tensor in place (PyTorch refuses too)");
      if constexpr (std::is_same_v<V, T>) {
        op(*this, other);
      } else {
        op(*this, other.template to<T>());
      }
    }
    return *this;
  }

  template <class L>
  static void flatten_nested(const L& list, std::size_t depth, std::int64_t* extents, bool* seen,
                             std::vector<T>& flat) {
    const auto n = static_cast<std::int64_t>(list.size());
    if (!seen[depth]) {
      seen[depth] = true;
      extents[depth] = n;
    } else if (extents[depth] != n) {
      throw ShapeError(detail::message("Tensor: ragged nested list: a list at depth ", depth, " has ", n,
                                       " elements, but the first list at that depth has ", extents[depth]));
    }
    if constexpr (detail::is_initializer_list<typename L::value_type>) {
      for (const auto& item : list) flatten_nested(item, depth + 1, extents, seen, flat);
    } else {
      flat.insert(flat.end(), list.begin(), list.end());
    }
  }

  std::int64_t element_offset(const std::int64_t* index, std::size_t count) const {
    if (count != ndim()) {
      throw IndexError(detail::message("at: ", count, " indices given for a tensor of shape ", to_string(shape_)));
    }
    std::int64_t off = 0;
    for (std::size_t d = 0; d < count; ++d) {
      const std::int64_t i = index[d] < 0 ? index[d] + shape_[d] : index[d];
      if (i < 0 || i >= shape_[d]) {
        throw IndexError(detail::message("at: index ", index[d], " is out of range for axis ", d, " of shape ",
                                         to_string(shape_)));
      }
      off += i * strides_[d];
    }
    return off;
  }

  Shape infer_shape(Shape target, const char* op) const {
    std::int64_t known = 1;
    std::size_t infer = target.size();
    for (std::size_t i = 0; i < target.size(); ++i) {
      if (target[i] == -1) {
        if (infer != target.size()) throw ShapeError(detail::message(op, ": only one extent may be -1 in ", to_string(target)));
        infer = i;
      } else if (target[i] < 0) {
        throw ShapeError(detail::message(op, ": negative extent in ", to_string(target)));
      } else {
        known *= target[i];
      }
    }
    if (infer != target.size()) {
      if (known == 0 || numel() % known != 0) {
        throw ShapeError(detail::message(op, ": cannot reshape a tensor of shape ", to_string(shape_), " (", numel(),
                                         " elements) to ", to_string(target)));
      }
      target[infer] = numel() / known;
    } else if (known != numel()) {
      throw ShapeError(detail::message(op, ": cannot reshape a tensor of shape ", to_string(shape_), " (", numel(),
                                       " elements) to ", to_string(target), " (", known, " elements)"));
    }
    return target;
  }

  void contiguous_into(T* dst) const {
    const T* src = data();
    if (is_contiguous()) {
      if (numel() > 0) std::memcpy(dst, src, static_cast<std::size_t>(numel()) * sizeof(T));
      return;
    }
    const Shape packed = contiguous_strides(shape_);
    detail::for_each_offset2(shape_, strides_, packed, [&](std::int64_t a, std::int64_t b) { dst[b] = src[a]; });
  }

  Storage storage_;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;
};

}  // namespace nabla

// Shape: the extents of a tensor, a small vector of int64 that rarely allocates.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "nabla/core/error.hpp"

namespace nabla {

// Extents (or strides) of a tensor. Up to `inline_capacity` dimensions live
// inline, so building shapes in a hot loop does not touch the heap.
class Shape {
 public:
  static constexpr std::size_t inline_capacity = 6;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> extents) { assign(extents.begin(), extents.size()); }
  explicit Shape(std::span<const std::int64_t> extents) { assign(extents.data(), extents.size()); }
  explicit Shape(const std::vector<std::int64_t>& extents) { assign(extents.data(), extents.size()); }

  // A shape of `rank` dimensions, each `fill`.
  static Shape filled(std::size_t rank, std::int64_t fill) {
    Shape s;
    s.resize(rank, fill);
    return s;
  }

  Shape(const Shape& other) { assign(other.data(), other.size_); }
  Shape(Shape&& other) noexcept { take(std::move(other)); }
  Shape& operator=(const Shape& other) {
    if (this != &other) assign(other.data(), other.size_);
    return *this;
  }
  Shape& operator=(Shape&& other) noexcept {
    if (this != &other) take(std::move(other));
    return *this;
  }
  ~Shape() = default;

  std::size_t size() const noexcept { return size_; }
  std::size_t rank() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  std::int64_t* data() noexcept { return heap_ ? heap_.get() : inline_.data(); }
  const std::int64_t* data() const noexcept { return heap_ ? heap_.get() : inline_.data(); }
  std::int64_t& operator[](std::size_t i) noexcept { return data()[i]; }
  std::int64_t operator[](std::size_t i) const noexcept { return data()[i]; }
  std::int64_t* begin() noexcept { return data(); }
  std::int64_t* end() noexcept { return data() + size_; }
  const std::int64_t* begin() const noexcept { return data(); }
  const std::int64_t* end() const noexcept { return data() + size_; }
  std::int64_t back() const noexcept { return data()[size_ - 1]; }
  std::span<const std::int64_t> span() const noexcept { return {data(), size_}; }
  std::vector<std::int64_t> to_vector() const { return {begin(), end()}; }

  // Product of the extents: the element count of a tensor of this shape.
  std::int64_t numel() const noexcept {
    for (std::int64_t e : *this) {
      if (e == 0) return 0;  // any zero extent: no elements, whatever the others
    }
    std::int64_t n = 1;
    for (std::int64_t e : *this) n *= e;
    return n;
  }

  // numel() when it fits in int64; false on overflow or a negative extent.
  bool checked_numel(std::int64_t& out) const noexcept {
    std::int64_t n = 1;
    bool zero = false;
    for (std::int64_t e : *this) {
      if (e < 0) return false;
      if (e == 0) zero = true;
      if (!zero && __builtin_mul_overflow(n, e, &n)) return false;
    }
    out = zero ? 0 : n;
    return true;
  }

  void push_back(std::int64_t value) {
    reserve(size_ + 1);
    data()[size_++] = value;
  }
  void resize(std::size_t rank, std::int64_t fill = 0) {
    reserve(rank);
    for (std::size_t i = size_; i < rank; ++i) data()[i] = fill;
    size_ = rank;
  }
  void insert(std::size_t pos, std::int64_t value) {
    reserve(size_ + 1);
    std::int64_t* d = data();
    for (std::size_t i = size_; i > pos; --i) d[i] = d[i - 1];
    d[pos] = value;
    ++size_;
  }
  void erase(std::size_t pos) {
    std::int64_t* d = data();
    for (std::size_t i = pos; i + 1 < size_; ++i) d[i] = d[i + 1];
    --size_;
  }

  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    auto bigger = std::make_unique<std::int64_t[]>(n);
    std::copy(begin(), end(), bigger.get());
    heap_ = std::move(bigger);
    capacity_ = n;
  }
  void assign(const std::int64_t* values, std::size_t n) {
    if (n > capacity_) {
      heap_ = std::make_unique<std::int64_t[]>(n);
      capacity_ = n;
    }
    std::copy(values, values + n, data());
    size_ = n;
  }
  void take(Shape&& other) noexcept {
    if (other.heap_) {
      heap_ = std::move(other.heap_);
      capacity_ = other.capacity_;
    } else {
      heap_.reset();
      capacity_ = inline_capacity;
      std::copy(other.inline_.begin(), other.inline_.begin() + other.size_, inline_.begin());
    }
    size_ = other.size_;
    other.size_ = 0;
    other.capacity_ = inline_capacity;
  }

  std::array<std::int64_t, inline_capacity> inline_{};
  std::unique_ptr<std::int64_t[]> heap_;
  std::size_t size_ = 0;
  std::size_t capacity_ = inline_capacity;
};

// "[64, 784]", the form every error message uses.
inline std::string to_string(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

inline std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << to_string(shape); }

// Row-major (C order) strides, in elements, for a shape.
inline Shape contiguous_strides(const Shape& shape) {
  Shape strides = Shape::filled(shape.size(), 1);
  std::int64_t step = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    // Only a tensor with a zero extent can overflow here, and its strides
    // are never used to reach an element: saturate instead of wrapping.
    if (__builtin_mul_overflow(step, std::max<std::int64_t>(shape[i], 1), &step)) {
      step = std::numeric_limits<std::int64_t>::max();
    }
  }
  return strides;
}

// Maps a possibly negative axis into [0, rank); throws IndexError naming `op`.
inline std::size_t normalize_axis(std::int64_t axis, std::size_t rank, const char* op) {
  const auto r = static_cast<std::int64_t>(rank);
  const std::int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    throw IndexError(detail::message(op, ": axis ", axis, " is out of range for a tensor of rank ", rank));
  }
  return static_cast<std::size_t>(a);
}

// NumPy broadcasting of two shapes; throws ShapeError naming `op`.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out = Shape::filled(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t ea = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t eb = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (ea != eb && ea != 1 && eb != 1) {
      throw ShapeError(detail::message(op, ": shapes ", to_string(a), " and ", to_string(b),
                                       " cannot be broadcast (dimension ", i, ": ", ea, " vs ", eb, ")"));
    }
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

namespace detail {

// [outer, n, inner] around `axis` of a shape: the view of a row-major tensor
// that axis-wise ops (softmax, gather, cumsum, ...) loop over.
struct AxisSplit {
  std::int64_t outer = 1, n = 1, inner = 1;
};

inline AxisSplit split_at_axis(const Shape& shape, std::size_t axis) {
  AxisSplit s;
  for (std::size_t d = 0; d < axis; ++d) s.outer *= shape[d];
  s.n = axis < shape.size() ? shape[axis] : 1;
  for (std::size_t d = axis + 1; d < shape.size(); ++d) s.inner *= shape[d];
  return s;
}

}  // namespace detail
}  // namespace nabla

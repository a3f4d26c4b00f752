// Internal: walking the elements of strided tensors in row-major order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nabla/core/shape.hpp"

namespace nabla::detail {

// Calls body(offset_a, offset_b) for every index of `shape`, in row-major
// order, where the offsets follow strides_a and strides_b. The innermost
// dimension runs as a plain loop; the outer ones use an odometer.
template <class Body>
void for_each_offset2(const Shape& shape, const Shape& strides_a, const Shape& strides_b, Body&& body) {
  const std::size_t rank = shape.size();
  if (shape.numel() == 0) return;
  if (rank == 0) {
    body(std::int64_t{0}, std::int64_t{0});
    return;
  }
  const std::int64_t inner = shape[rank - 1];
  const std::int64_t sa = strides_a[rank - 1];
  const std::int64_t sb = strides_b[rank - 1];
  Shape counter = Shape::filled(rank, 0);
  std::int64_t base_a = 0;
  std::int64_t base_b = 0;
  while (true) {
    for (std::int64_t i = 0; i < inner; ++i) body(base_a + i * sa, base_b + i * sb);
    std::size_t d = rank - 1;
    while (true) {
      if (d == 0) return;
      --d;
      if (++counter[d] < shape[d]) {
        base_a += strides_a[d];
        base_b += strides_b[d];
        break;
      }
      base_a -= (shape[d] - 1) * strides_a[d];
      base_b -= (shape[d] - 1) * strides_b[d];
      counter[d] = 0;
    }
  }
}

// Calls row(offset_a, offset_b) once per innermost row (the caller loops over
// the last dimension itself, which lets it use SIMD when strides allow).
template <class Row>
void for_each_row2(const Shape& shape, const Shape& strides_a, const Shape& strides_b, Row&& row) {
  const std::size_t rank = shape.size();
  if (shape.numel() == 0) return;
  if (rank <= 1) {
    row(std::int64_t{0}, std::int64_t{0});
    return;
  }
  Shape counter = Shape::filled(rank, 0);
  std::int64_t base_a = 0;
  std::int64_t base_b = 0;
  while (true) {
    row(base_a, base_b);
    std::size_t d = rank - 1;
    while (true) {
      if (d == 0) return;
      --d;
      if (++counter[d] < shape[d]) {
        base_a += strides_a[d];
        base_b += strides_b[d];
        break;
      }
      base_a -= (shape[d] - 1) * strides_a[d];
      base_b -= (shape[d] - 1) * strides_b[d];
      counter[d] = 0;
    }
  }
}

}  // namespace nabla::detail

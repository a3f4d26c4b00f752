// Differentiable indexing and rearranging ops on Var<T>: gather,
// scatter_add, index_select, index_add, flip, roll, tril, triu, diag.
#pragma once

#include <algorithm>
#include <cstdint>

#include "nabla/autograd/var.hpp"
#include "nabla/ops/index.hpp"

namespace nabla {

// dx = scatter_add(0, axis, index, gy): each gathered element sends its gradient home.
template <class T>
Var<T> gather(const Var<T>& x, std::int64_t axis, const Tensor<std::int64_t>& index) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, x.ndim(), "gather"));
  return detail::record(OpKind::gather, gather(x.value(), a, index),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, scatter_add(Tensor<T>(e.input(0).shape()), e.ints[0], e.saved_index, gy));
      }, [a, &index](TapeEntry<T>& e) {
        e.ints[0] = a;
        e.saved_index = index;
      }, x);
}

// d dst = gy; d src = gather(gy, axis, index).
template <class T>
Var<T> scatter_add(const Var<T>& dst, std::int64_t axis, const Tensor<std::int64_t>& index, const Var<T>& src) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, dst.ndim(), "scatter_add"));
  return detail::record(OpKind::scatter_add, scatter_add(dst.value(), a, index, src.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, gy);
        if (e.needs_grad(1)) e.accumulate(1, gather(gy, e.ints[0], e.saved_index));
      }, [a, &index](TapeEntry<T>& e) {
        e.ints[0] = a;
        e.saved_index = index;
      }, dst, src);
}

// dx = index_add(0, axis, index, gy): repeated indices add up.
template <class T>
Var<T> index_select(const Var<T>& x, std::int64_t axis, const Tensor<std::int64_t>& index) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, x.ndim(), "index_select"));
  return detail::record(OpKind::index_select, index_select(x.value(), a, index),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, index_add(Tensor<T>(e.input(0).shape()), e.ints[0], e.saved_index, gy));
      }, [a, &index](TapeEntry<T>& e) {
        e.ints[0] = a;
        e.saved_index = index;
      }, x);
}

// d dst = gy; d src = index_select(gy, axis, index).
template <class T>
Var<T> index_add(const Var<T>& dst, std::int64_t axis, const Tensor<std::int64_t>& index, const Var<T>& src) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, dst.ndim(), "index_add"));
  return detail::record(OpKind::index_add, index_add(dst.value(), a, index, src.value()),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, gy);
        if (e.needs_grad(1)) e.accumulate(1, index_select(gy, e.ints[0], e.saved_index));
      }, [a, &index](TapeEntry<T>& e) {
        e.ints[0] = a;
        e.saved_index = index;
      }, dst, src);
}

// dx = flip(gy, axes).
template <class T>
Var<T> flip(const Var<T>& x, const Shape& axes) {
  return detail::record(OpKind::flip, flip(x.value(), axes),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, flip(gy, e.shape)); },
      [&axes](TapeEntry<T>& e) { e.shape = axes; }, x);
}

// dx = roll(gy, -shift, axis).
template <class T>
Var<T> roll(const Var<T>& x, std::int64_t shift, std::int64_t axis) {
  const auto a = static_cast<std::int64_t>(normalize_axis(axis, x.ndim(), "roll"));
  return detail::record(OpKind::roll, roll(x.value(), shift, a),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        e.accumulate(0, roll(gy, -e.ints[0], e.ints[1]));
      }, [shift, a](TapeEntry<T>& e) {
        e.ints[0] = shift;
        e.ints[1] = a;
      }, x);
}
template <class T>
Var<T> roll(const Var<T>& x, std::int64_t shift) {
  return detail::record(OpKind::roll, roll(x.value(), shift),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, roll(gy, -e.ints[0])); },
      [shift](TapeEntry<T>& e) { e.ints[0] = shift; }, x);
}

// dx = tril(gy, diagonal).
template <class T>
Var<T> tril(const Var<T>& x, std::int64_t diagonal = 0) {
  return detail::record(OpKind::tril, tril(x.value(), diagonal),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, tril(gy, e.ints[0])); },
      [diagonal](TapeEntry<T>& e) { e.ints[0] = diagonal; }, x);
}

// dx = triu(gy, diagonal).
template <class T>
Var<T> triu(const Var<T>& x, std::int64_t diagonal = 0) {
  return detail::record(OpKind::triu, triu(x.value(), diagonal),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, triu(gy, e.ints[0])); },
      [diagonal](TapeEntry<T>& e) { e.ints[0] = diagonal; }, x);
}

// 1-D input: dx = the diagonal of gy; 2-D input: gy placed on that diagonal.
template <class T>
Var<T> diag(const Var<T>& x, std::int64_t diagonal = 0) {
  return detail::record(OpKind::diag, diag(x.value(), diagonal),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const std::int64_t k = e.ints[0];
        if (e.input(0).ndim() == 1) return e.accumulate(0, diag(gy, k));
        Tensor<T> dx(e.input(0).shape());
        const std::int64_t r0 = k >= 0 ? 0 : -k, c0 = k >= 0 ? k : 0;
        for (std::int64_t i = 0; i < gy.numel(); ++i) dx.at({r0 + i, c0 + i}) = gy.at({i});
        e.accumulate(0, dx);
      }, [diagonal](TapeEntry<T>& e) { e.ints[0] = diagonal; }, x);
}

}  // namespace nabla

// Differentiable shape and view ops on Var<T>: reshape, permute, transpose,
// slice, select, (un)squeeze, expand, concat, stack, pad.
#pragma once

#include <cstdint>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/ops/reduce.hpp"
#include "nabla/ops/shape.hpp"

namespace nabla {

template <class T>
Var<T> reshape(const Var<T>& x, Shape shape) {
  return detail::record(OpKind::reshape, x.value().reshape(std::move(shape)),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, gy.reshape(e.input(0).shape())); },
      detail::NoSetup{}, x);
}

// Collapses axes start..end (inclusive) into one, like torch.flatten.
template <class T>
Var<T> flatten(const Var<T>& x, std::int64_t start_axis = 0, std::int64_t end_axis = -1) {
  if (x.ndim() == 0) return reshape(x, Shape{1});
  const std::size_t s = normalize_axis(start_axis, x.ndim(), "flatten");
  const std::size_t e = normalize_axis(end_axis, x.ndim(), "flatten");
  if (s > e) throw ValueError(detail::message("flatten: start axis ", start_axis, " is after end axis ", end_axis));
  Shape shape;
  for (std::size_t d = 0; d < s; ++d) shape.push_back(x.shape()[d]);
  std::int64_t merged = 1;
  for (std::size_t d = s; d <= e; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  for (std::size_t d = e + 1; d < x.ndim(); ++d) shape.push_back(x.shape()[d]);
  return reshape(x, std::move(shape));
}

template <class T>
Var<T> permute(const Var<T>& x, const Shape& dims) {
  return detail::record(OpKind::permute, x.value().permute(dims),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // undo with the inverse permutation
        Shape inverse = Shape::filled(e.shape.size(), 0);
        for (std::size_t i = 0; i < e.shape.size(); ++i) {
          inverse[normalize_axis(e.shape[i], e.shape.size(), "permute")] = static_cast<std::int64_t>(i);
        }
        e.accumulate(0, gy.permute(inverse));
      }, [&dims](TapeEntry<T>& e) { e.shape = dims; }, x);
}

template <class T>
Var<T> transpose(const Var<T>& x, std::int64_t axis0, std::int64_t axis1) {
  Shape dims = Shape::filled(x.ndim(), 0);
  for (std::size_t i = 0; i < x.ndim(); ++i) dims[i] = static_cast<std::int64_t>(i);
  std::swap(dims[normalize_axis(axis0, x.ndim(), "transpose")], dims[normalize_axis(axis1, x.ndim(), "transpose")]);
  return permute(x, dims);
}

// Transpose of a 2-D value.
template <class T>
Var<T> transpose(const Var<T>& x) {
  if (x.ndim() != 2) {
    throw ShapeError(detail::message("transpose: expected a 2-D tensor, got shape ", to_string(x.shape())));
  }
  return transpose(x, 0, 1);
}

template <class T>
Var<T> slice(const Var<T>& x, std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step = 1) {
  return detail::record(OpKind::slice, x.value().slice(axis, start, end, step),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // scatter gy into the sliced positions
        Tensor<T> gx = zeros<T>(e.input(0).shape());
        gx.slice(e.ints[0], e.ints[1], e.ints[2], e.ints[3]).copy_(gy);
        e.accumulate(0, std::move(gx));
      }, [=](TapeEntry<T>& e) { e.ints = {axis, start, end, step}; }, x);
}

template <class T>
Var<T> select(const Var<T>& x, std::int64_t axis, std::int64_t index) {
  return detail::record(OpKind::select, x.value().select(axis, index),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        Tensor<T> gx = zeros<T>(e.input(0).shape());
        gx.select(e.ints[0], e.ints[1]).copy_(gy);
        e.accumulate(0, std::move(gx));
      }, [=](TapeEntry<T>& e) { e.ints = {axis, index}; }, x);
}

template <class T>
Var<T> unsqueeze(const Var<T>& x, std::int64_t axis) {
  return reshape(x, x.value().unsqueeze(axis).shape());
}
template <class T>
Var<T> squeeze(const Var<T>& x, std::int64_t axis) {
  return reshape(x, x.value().squeeze(axis).shape());
}

template <class T>
Var<T> expand(const Var<T>& x, const Shape& shape) {
  return detail::record(OpKind::expand, x.value().expand(shape),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, sum_to(gy, e.input(0).shape())); },
      detail::NoSetup{}, x);
}

// A contiguous copy (gradient passes straight through).
template <class T>
Var<T> contiguous(const Var<T>& x) {
  if (x.value().is_contiguous()) return x;
  return detail::record(OpKind::contiguous, x.value().contiguous(),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) { e.accumulate(0, gy); }, detail::NoSetup{}, x);
}

template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, std::int64_t axis) {
  std::vector<Tensor<T>> values;
  values.reserve(xs.size());
  for (const auto& x : xs) values.push_back(x.value());
  Tensor<T> out = concat(values, axis);
  const std::size_t a = normalize_axis(axis, out.ndim(), "concat");
  return detail::record_many(OpKind::concat, std::move(out),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // each input takes its slice
        std::int64_t offset = 0;
        for (std::size_t k = 0; k < e.size(); ++k) {
          const std::int64_t n = e.input(k).shape()[static_cast<std::size_t>(e.ints[0])];
          if (e.needs_grad(k)) e.accumulate(k, gy.slice(e.ints[0], offset, offset + n));
          offset += n;
        }
      }, [a](TapeEntry<T>& e) { e.ints[0] = static_cast<std::int64_t>(a); }, xs);
}

template <class T>
Var<T> stack(const std::vector<Var<T>>& xs, std::int64_t axis) {
  std::vector<Tensor<T>> values;
  values.reserve(xs.size());
  for (const auto& x : xs) values.push_back(x.value());
  Tensor<T> out = stack(values, axis);
  const std::size_t a = normalize_axis(axis, out.ndim(), "stack");
  return detail::record_many(OpKind::stack, std::move(out),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        for (std::size_t k = 0; k < e.size(); ++k) {
          if (e.needs_grad(k)) e.accumulate(k, gy.select(e.ints[0], static_cast<std::int64_t>(k)));
        }
      }, [a](TapeEntry<T>& e) { e.ints[0] = static_cast<std::int64_t>(a); }, xs);
}

// Constant padding of the trailing axes: pads = {before_last, after_last,
// before_second_last, ...}, as torch.nn.functional.pad.
template <class T>
Var<T> pad(const Var<T>& x, const std::vector<std::int64_t>& pads, T value = T{0}) {
  return detail::record(OpKind::pad, pad(x.value(), pads, value),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {  // the gradient is the un-padded window
        Tensor<T> g = gy;
        const std::size_t rank = gy.ndim();
        for (std::size_t i = 0; i < e.shape.size() / 2; ++i) {
          const auto axis = static_cast<std::int64_t>(rank - 1 - i);
          const std::int64_t before = e.shape[2 * i];
          g = g.slice(axis, before, before + e.input(0).shape()[static_cast<std::size_t>(axis)]);
        }
        e.accumulate(0, g);
      }, [&pads](TapeEntry<T>& e) { e.shape = Shape(pads); }, x);
}

}  // namespace nabla

// Factories: tensor (from nested braces), zeros, ones, full, arange, linspace,
// eye, rand, randn, *_like.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla {

// torch.tensor: nabla::tensor({1, 2, 3}), nabla::tensor<double>({{1, 2}, {3, 4}}),
// any rank from 1 to 8; the shape comes from the braces, ragged lists throw.
template <class T = float>
Tensor<T> tensor(NestedList<T, 1> values) {
  return Tensor<T>::template from_nested<1>(values);
}
template <class T = float>
Tensor<T> tensor(NestedList<T, 2> values) {
  return Tensor<T>::template from_nested<2>(values);
}
template <class T = float>
Tensor<T> tensor(NestedList<T, 3> values) {
  return Tensor<T>::template from_nested<3>(values);
}
template <class T = float>
Tensor<T> tensor(NestedList<T, 4> values) {
  return Tensor<T>::template from_nested<4>(values);
}
template <class T = float>
Tensor<T> tensor(NestedList<T, 5> values) {
  return Tensor<T>::template from_nested<5>(values);
}
template <class T = float>
Tensor<T> tensor(NestedList<T, 6> values) {
  return Tensor<T>::template from_nested<6>(values);
}
template <class T = float>
Tensor<T> tensor(NestedList<T, 7> values) {
  return Tensor<T>::template from_nested<7>(values);
}
template <class T = float>
Tensor<T> tensor(NestedList<T, 8> values) {
  return Tensor<T>::template from_nested<8>(values);
}

template <class T = float>
Tensor<T> empty(Shape shape) {
  return Tensor<T>::empty(std::move(shape));
}

template <class T = float>
Tensor<T> full(Shape shape, T value) {
  Tensor<T> t = Tensor<T>::empty(std::move(shape));
  t.fill_(value);
  return t;
}

template <class T = float>
Tensor<T> zeros(Shape shape) {
  return full<T>(std::move(shape), T{0});
}

template <class T = float>
Tensor<T> ones(Shape shape) {
  return full<T>(std::move(shape), T{1});
}

template <class T>
Tensor<T> zeros_like(const Tensor<T>& like) {
  return zeros<T>(like.shape());
}
template <class T>
Tensor<T> ones_like(const Tensor<T>& like) {
  return ones<T>(like.shape());
}
template <class T>
Tensor<T> full_like(const Tensor<T>& like, T value) {
  return full<T>(like.shape(), value);
}
template <class T>
Tensor<T> empty_like(const Tensor<T>& like) {
  return Tensor<T>::empty(like.shape());
}

// start, start+step, ... (< end), as numpy.arange.
template <class T = float>
Tensor<T> arange(T start, T end, T step = T{1}) {
  if (step == T{0}) throw ValueError("arange: step must not be zero");
  const double span = (static_cast<double>(end) - static_cast<double>(start)) / static_cast<double>(step);
  const auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil(span)));
  Tensor<T> t = Tensor<T>::empty(Shape{n});
  T* d = t.data();
  for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(start + static_cast<T>(i) * step);
  return t;
}
template <class T = float>
Tensor<T> arange(T end) {
  return arange<T>(T{0}, end, T{1});
}

// `steps` evenly spaced values from start to end inclusive, computed as
// torch.linspace does: the first half counts up from start, the second half
// down from end, so both ends are exact. Integer results are the exact
// values start + i * (end - start) / (steps - 1) truncated toward zero:
// torch steps in floating point (its value at an exact integer can land just
// below it, and its vectorised loop truncates the start of each SIMD block),
// so its integer results can differ by one.
template <class T = float>
Tensor<T> linspace(T start, T end, std::int64_t steps) {
  if (steps < 0) throw ValueError(detail::message("linspace: steps must be non-negative, got ", steps));
  Tensor<T> t = Tensor<T>::empty(Shape{steps});
  T* d = t.data();
  if (steps == 1) d[0] = start;
  if (steps <= 1) return t;
  if constexpr (std::is_integral_v<T>) {
    const __int128 den = steps - 1;
    for (std::int64_t i = 0; i < steps; ++i) {
      const __int128 num = static_cast<__int128>(start) * den + (static_cast<__int128>(end) - start) * i;
      d[i] = static_cast<T>(num / den);  // C++ division truncates toward zero
    }
    return t;
  }
  using Step = std::conditional_t<std::is_integral_v<T>, double, T>;
  const Step step = (static_cast<Step>(end) - static_cast<Step>(start)) / static_cast<Step>(steps - 1);
  const std::int64_t halfway = steps / 2;
  for (std::int64_t i = 0; i < steps; ++i) {
    d[i] = i < halfway ? static_cast<T>(start + step * static_cast<Step>(i))
                       : static_cast<T>(end - step * static_cast<Step>(steps - i - 1));
  }
  return t;
}

// The n x m matrix with ones on the main diagonal (m = n: the identity).
template <class T = float>
Tensor<T> eye(std::int64_t n, std::int64_t m) {
  if (n < 0 || m < 0) throw ValueError(detail::message("eye: sizes must be non-negative, got ", n, " x ", m));
  Tensor<T> t = zeros<T>(Shape{n, m});
  for (std::int64_t i = 0; i < std::min(n, m); ++i) t.data()[i * m + i] = T{1};
  return t;
}
template <class T = float>
Tensor<T> eye(std::int64_t n) {
  return eye<T>(n, n);
}

// Uniform in [low, high).
template <class T = float>
Tensor<T> rand(Shape shape, Generator& gen, T low = T{0}, T high = T{1}) {
  Tensor<T> t = Tensor<T>::empty(std::move(shape));
  T* d = t.data();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) {
    // Rounding a double just below `high` to T can give `high` itself.
    const T v = static_cast<T>(gen.uniform(low, high));
    d[i] = (v < high || !(low < high)) ? v : std::nextafter(high, low);
  }
  return t;
}
template <class T = float>
Tensor<T> rand(Shape shape) {
  return rand<T>(std::move(shape), default_generator());
}

// Normal with the given mean and standard deviation.
template <class T = float>
Tensor<T> randn(Shape shape, Generator& gen, T mean = T{0}, T stddev = T{1}) {
  Tensor<T> t = Tensor<T>::empty(std::move(shape));
  T* d = t.data();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) d[i] = static_cast<T>(gen.normal(mean, stddev));
  return t;
}
template <class T = float>
Tensor<T> randn(Shape shape) {
  return randn<T>(std::move(shape), default_generator());
}

// Uniform integers in [low, high).
template <class T = std::int64_t>
Tensor<T> randint(T low, T high, Shape shape, Generator& gen) {
  if (high <= low) throw ValueError(detail::message("randint: empty range [", low, ", ", high, ")"));
  Tensor<T> t = Tensor<T>::empty(std::move(shape));
  T* d = t.data();
  const auto span = static_cast<std::uint64_t>(high - low);
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) d[i] = static_cast<T>(low + static_cast<T>(gen.below(span)));
  return t;
}

}  // namespace nabla

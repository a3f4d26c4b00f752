// Weight initialisation as torch.nn.init: uniform, normal, constant, Xavier
// (Glorot) and Kaiming (He), in place, from an explicit or the default
// generator.
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>

#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla::nn::init {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, conv2d, sigmoid, tanh, relu, leaky_relu };

// The recommended gain for a nonlinearity (torch.nn.init.calculate_gain);
// `param` is leaky_relu's negative slope.
inline double calculate_gain(Nonlinearity nonlinearity, double param = 0.01) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::conv2d:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + param * param));
  }
  return 1.0;
}

// (fan_in, fan_out) of a weight: [out, in, *receptive field].
template <class T>
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor<T>& t) {
  if (t.ndim() < 2) {
    throw ShapeError(detail::message("init: fan in and fan out need a tensor with at least 2 dimensions, got shape ",
                                     to_string(t.shape())));
  }
  std::int64_t receptive = 1;
  for (std::size_t d = 2; d < t.ndim(); ++d) receptive *= t.shape()[d];
  return {t.shape()[1] * receptive, t.shape()[0] * receptive};
}

}  // namespace nabla::nn::init

namespace nabla::detail {

// Writes gen-drawn values into t in row-major order (any layout).
template <class T, class Draw>
const Tensor<T>& init_fill(const Tensor<T>& t, Draw&& draw) {
  const Tensor<T> c = t.is_contiguous() ? t : Tensor<T>::empty(t.shape());
  T* d = c.data();
  for (std::int64_t i = 0, n = c.numel(); i < n; ++i) d[i] = static_cast<T>(draw());
  if (c.is_same(t)) {
    t.bump_version();
  } else {
    t.copy_(c);
  }
  return t;
}

template <class T>
std::int64_t init_fan(const Tensor<T>& t, nn::init::FanMode mode) {
  const auto [fan_in, fan_out] = nn::init::calculate_fan_in_and_fan_out(t);
  const std::int64_t fan = mode == nn::init::FanMode::fan_in ? fan_in : fan_out;
  if (fan == 0) {
    throw ValueError(detail::message("init: cannot initialise a tensor with zero fan (shape ",
                                            to_string(t.shape()), ")"));
  }
  return fan;
}

}  // namespace nabla::detail

namespace nabla::nn::init {

// Uniform in [low, high).
template <class T>
const Tensor<T>& uniform_(const Tensor<T>& t, double low, double high, Generator& gen) {
  if (!(low <= high)) throw ValueError(detail::message("uniform_: low ", low, " is above high ", high));
  return detail::init_fill(t, [&] { return gen.uniform(low, high); });
}
template <class T>
const Tensor<T>& uniform_(const Tensor<T>& t, double low = 0.0, double high = 1.0) {
  return uniform_(t, low, high, default_generator());
}

// Normal with the given mean and standard deviation.
template <class T>
const Tensor<T>& normal_(const Tensor<T>& t, double mean, double stddev, Generator& gen) {
  if (!(stddev >= 0.0)) throw ValueError(detail::message("normal_: stddev ", stddev, " is negative"));
  return detail::init_fill(t, [&] { return gen.normal(mean, stddev); });
}
template <class T>
const Tensor<T>& normal_(const Tensor<T>& t, double mean = 0.0, double stddev = 1.0) {
  return normal_(t, mean, stddev, default_generator());
}

template <class T>
const Tensor<T>& constant_(const Tensor<T>& t, double value) {
  return t.fill_(static_cast<T>(value));
}
template <class T>
const Tensor<T>& zeros_(const Tensor<T>& t) {
  return t.fill_(T{0});
}
template <class T>
const Tensor<T>& ones_(const Tensor<T>& t) {
  return t.fill_(T{1});
}

// Glorot: uniform in +-gain * sqrt(6 / (fan_in + fan_out)).
template <class T>
const Tensor<T>& xavier_uniform_(const Tensor<T>& t, double gain, Generator& gen) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(t, -bound, bound, gen);
}
template <class T>
const Tensor<T>& xavier_uniform_(const Tensor<T>& t, double gain = 1.0) {
  return xavier_uniform_(t, gain, default_generator());
}

// Glorot: normal with std gain * sqrt(2 / (fan_in + fan_out)).
template <class T>
const Tensor<T>& xavier_normal_(const Tensor<T>& t, double gain, Generator& gen) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}
template <class T>
const Tensor<T>& xavier_normal_(const Tensor<T>& t, double gain = 1.0) {
  return xavier_normal_(t, gain, default_generator());
}

// He: uniform in +-gain(a) * sqrt(3 / fan). With a = sqrt(5) (what Linear
// and Conv2d use) the bound is 1 / sqrt(fan_in).
template <class T>
const Tensor<T>& kaiming_uniform_(const Tensor<T>& t, double a, Generator& gen, FanMode mode = FanMode::fan_in,
                                  Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  const double fan = static_cast<double>(detail::init_fan(t, mode));
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / fan);
  return uniform_(t, -bound, bound, gen);
}
template <class T>
const Tensor<T>& kaiming_uniform_(const Tensor<T>& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                                  Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  return kaiming_uniform_(t, a, default_generator(), mode, nonlinearity);
}

// He: normal with std gain(a) / sqrt(fan).
template <class T>
const Tensor<T>& kaiming_normal_(const Tensor<T>& t, double a, Generator& gen, FanMode mode = FanMode::fan_in,
                                 Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  const double fan = static_cast<double>(detail::init_fan(t, mode));
  return normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan), gen);
}
template <class T>
const Tensor<T>& kaiming_normal_(const Tensor<T>& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                                 Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  return kaiming_normal_(t, a, default_generator(), mode, nonlinearity);
}

}  // namespace nabla::nn::init

// Conv2d<T> and Conv2dOptions: 2-D convolution over [N, C, H, W] with
// stride, padding, dilation, groups and an optional bias.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/init.hpp"
#include "nabla/nn/module.hpp"
#include "nabla/ops/nn.hpp"

namespace nabla::nn {

// A (height, width) pair built from one value (both) or a braced {h, w}.
struct Size2 {
  std::int64_t h = 0, w = 0;
  Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT: implicit from one extent is intended
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  bool operator==(const Size2&) const = default;
};

// Conv2d's knobs, set fluently: Conv2dOptions(1, 32, 5).stride(1).padding(2).
// Each setter has a getter of the same name.
class Conv2dOptions {
 public:
  Conv2dOptions(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

  Conv2dOptions& stride(Size2 s) { stride_ = s; return *this; }
  Conv2dOptions& padding(Size2 p) { padding_ = p; return *this; }
  Conv2dOptions& dilation(Size2 d) { dilation_ = d; return *this; }
  Conv2dOptions& groups(std::int64_t g) { groups_ = g; return *this; }
  Conv2dOptions& bias(bool b) { bias_ = b; return *this; }

  std::int64_t in_channels() const noexcept { return in_channels_; }
  std::int64_t out_channels() const noexcept { return out_channels_; }
  Size2 kernel_size() const noexcept { return kernel_size_; }
  Size2 stride() const noexcept { return stride_; }
  Size2 padding() const noexcept { return padding_; }
  Size2 dilation() const noexcept { return dilation_; }
  std::int64_t groups() const noexcept { return groups_; }
  bool bias() const noexcept { return bias_; }

  // The geometry as the conv2d op takes it.
  Conv2dParams params() const noexcept {
    return Conv2dParams{stride_.h, stride_.w, padding_.h, padding_.w, dilation_.h, dilation_.w, groups_};
  }

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  Size2 kernel_size_;
  Size2 stride_{1};
  Size2 padding_{0};
  Size2 dilation_{1};
  std::int64_t groups_ = 1;
  bool bias_ = true;
};

template <class T>
class Conv2d : public Cloneable<Conv2d<T>, T> {
 public:
  // Weight [out, in / groups, kh, kw] and bias [out], initialised as
  // torch.nn.Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
  // fan_in = in / groups * kh * kw.
  Conv2d(const Conv2dOptions& options, Generator& gen) : options_(options) {
    const auto& o = options_;
    const Size2 k = o.kernel_size();
    if (o.in_channels() <= 0 || o.out_channels() <= 0 || k.h <= 0 || k.w <= 0 || o.groups() <= 0) {
      throw ValueError(detail::message("Conv2d: channels (", o.in_channels(), " -> ", o.out_channels(),
                                       "), kernel (", k.h, "x", k.w, ") and groups (", o.groups(),
                                       ") must be positive"));
    }
    if (o.in_channels() % o.groups() != 0 || o.out_channels() % o.groups() != 0) {
      throw ValueError(detail::message("Conv2d: groups = ", o.groups(), " must divide both in_channels (",
                                       o.in_channels(), ") and out_channels (", o.out_channels(), ")"));
    }
    const Size2 s = o.stride(), p = o.padding(), d = o.dilation();
    if (s.h <= 0 || s.w <= 0 || d.h <= 0 || d.w <= 0 || p.h < 0 || p.w < 0) {
      throw ValueError(detail::message("Conv2d: stride (", s.h, ", ", s.w, ") and dilation (", d.h, ", ", d.w,
                                       ") must be positive and padding (", p.h, ", ", p.w, ") not negative"));
    }
    weight_ = this->register_parameter(
        "weight", Tensor<T>::empty(Shape{o.out_channels(), o.in_channels() / o.groups(), k.h, k.w}));
    init::kaiming_uniform_(weight_.value(), std::sqrt(5.0), gen);
    if (o.bias()) {
      bias_ = this->register_parameter("bias", Tensor<T>::empty(Shape{o.out_channels()}));
      const double fan_in = static_cast<double>(o.in_channels() / o.groups() * k.h * k.w);
      const double bound = 1.0 / std::sqrt(fan_in);
      init::uniform_(bias_.value(), -bound, bound, gen);
    }
  }
  explicit Conv2d(const Conv2dOptions& options) : Conv2d(options, default_generator()) {}
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Generator& gen)
      : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size), gen) {}
  // A deep copy of `other` with element type T (see Cloneable).
  template <class U>
  Conv2d(const Conv2d<U>& other, detail::CopyTag) : options_(other.options()) {
    this->copy_registered_from(other);
    weight_ = this->local_parameter("weight");
    if (options_.bias()) bias_ = this->local_parameter("bias");
  }

  Var<T> forward(const Var<T>& x) override { return functional::conv2d(x, weight_, bias_, options_.params()); }
  std::string name() const override { return "Conv2d"; }
  // As torch's _ConvNd.extra_repr: padding, dilation, groups and bias only
  // when they differ from the defaults.
  std::string extra_repr() const override {
    const auto& o = options_;
    auto pair = [](Size2 s) { return detail::message("(", s.h, ", ", s.w, ")"); };
    std::string out = detail::message(o.in_channels(), ", ", o.out_channels(), ", kernel_size=", pair(o.kernel_size()),
                                      ", stride=", pair(o.stride()));
    if (!(o.padding() == Size2(0))) out += ", padding=" + pair(o.padding());
    if (!(o.dilation() == Size2(1))) out += ", dilation=" + pair(o.dilation());
    if (o.groups() != 1) out += detail::message(", groups=", o.groups());
    if (!o.bias()) out += ", bias=False";
    return out;
  }

  const Var<T>& weight() const noexcept { return weight_; }
  // Undefined when built with bias(false).
  const Var<T>& bias() const noexcept { return bias_; }
  const Conv2dOptions& options() const noexcept { return options_; }

 private:
  Conv2dOptions options_;
  Var<T> weight_;
  Var<T> bias_;
};

}  // namespace nabla::nn

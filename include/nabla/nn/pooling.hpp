// Pooling layers over [N, C, H, W]: MaxPool2d, AvgPool2d and
// AdaptiveAvgPool2d (square windows).
#pragma once

#include <cstdint>
#include <string>

#include "nabla/core/error.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

// Window geometry of a pooling layer: Pool2dOptions(2).stride(2).padding(0);
// stride 0 (the default) means stride = kernel, as PyTorch's None.
class Pool2dOptions {
 public:
  Pool2dOptions(std::int64_t kernel_size) : kernel_size_(kernel_size) {}  // NOLINT: implicit is intended

  Pool2dOptions& stride(std::int64_t s) { stride_ = s; return *this; }
  Pool2dOptions& padding(std::int64_t p) { padding_ = p; return *this; }

  std::int64_t kernel_size() const noexcept { return kernel_size_; }
  std::int64_t stride() const noexcept { return stride_ == 0 ? kernel_size_ : stride_; }
  std::int64_t padding() const noexcept { return padding_; }

 private:
  std::int64_t kernel_size_;
  std::int64_t stride_ = 0;
  std::int64_t padding_ = 0;
};
using MaxPool2dOptions = Pool2dOptions;
using AvgPool2dOptions = Pool2dOptions;

}  // namespace nabla::nn

namespace nabla::detail {

// A bad pooling geometry fails when the layer is built, not at its first call.
inline void check_pool_options(const nn::Pool2dOptions& o, const char* name) {
  if (o.kernel_size() <= 0 || o.stride() <= 0 || o.padding() < 0 || 2 * o.padding() > o.kernel_size()) {
    throw ValueError(message(name, ": kernel (", o.kernel_size(), ") and stride (", o.stride(),
                             ") must be positive and padding (", o.padding(), ") between 0 and half the kernel"));
  }
}

}  // namespace nabla::detail

namespace nabla::nn {

template <class T>
class MaxPool2d : public Cloneable<MaxPool2d<T>, T> {
 public:
  explicit MaxPool2d(Pool2dOptions options) : options_(options) { detail::check_pool_options(options_, "MaxPool2d"); }
  MaxPool2d(std::int64_t kernel_size, std::int64_t stride, std::int64_t padding = 0)
      : MaxPool2d(Pool2dOptions(kernel_size).stride(stride).padding(padding)) {}
  template <class U>
  MaxPool2d(const MaxPool2d<U>& other, detail::CopyTag) : options_(other.options()) {
    this->copy_registered_from(other);
  }
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override {
    return detail::message("kernel_size=", options_.kernel_size(), ", stride=", options_.stride(),
                           ", padding=", options_.padding(), ", dilation=1, ceil_mode=False");
  }

  Var<T> forward(const Var<T>& x) override {
    return functional::max_pool2d(x, options_.kernel_size(), options_.stride(), options_.padding());
  }
  const Pool2dOptions& options() const noexcept { return options_; }

 private:
  Pool2dOptions options_;
};

template <class T>
class AvgPool2d : public Cloneable<AvgPool2d<T>, T> {
 public:
  explicit AvgPool2d(Pool2dOptions options) : options_(options) { detail::check_pool_options(options_, "AvgPool2d"); }
  AvgPool2d(std::int64_t kernel_size, std::int64_t stride, std::int64_t padding = 0)
      : AvgPool2d(Pool2dOptions(kernel_size).stride(stride).padding(padding)) {}
  template <class U>
  AvgPool2d(const AvgPool2d<U>& other, detail::CopyTag) : options_(other.options()) {
    this->copy_registered_from(other);
  }
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override {
    return detail::message("kernel_size=", options_.kernel_size(), ", stride=", options_.stride(),
                           ", padding=", options_.padding());
  }

  // Padded taps count in each window's divisor (count_include_pad = true).
  Var<T> forward(const Var<T>& x) override {
    return functional::avg_pool2d(x, options_.kernel_size(), options_.stride(), options_.padding());
  }
  const Pool2dOptions& options() const noexcept { return options_; }

 private:
  Pool2dOptions options_;
};

// Averages each plane over an out_h x out_w grid of near-equal cells.
template <class T>
class AdaptiveAvgPool2d : public Cloneable<AdaptiveAvgPool2d<T>, T> {
 public:
  explicit AdaptiveAvgPool2d(std::int64_t output_size) : AdaptiveAvgPool2d(output_size, output_size) {
    one_size_ = true;
  }
  template <class U>
  AdaptiveAvgPool2d(const AdaptiveAvgPool2d<U>& other, detail::CopyTag)
      : out_h_(other.output_height()), out_w_(other.output_width()), one_size_(other.single_output_size()) {
    this->copy_registered_from(other);
  }
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  // "output_size=2" when built from one size, "output_size=(2, 3)" from two (as PyTorch).
  std::string extra_repr() const override {
    if (one_size_) return detail::message("output_size=", out_h_);
    return detail::message("output_size=(", out_h_, ", ", out_w_, ")");
  }
  bool single_output_size() const noexcept { return one_size_; }
  AdaptiveAvgPool2d(std::int64_t out_h, std::int64_t out_w) : out_h_(out_h), out_w_(out_w) {
    if (out_h <= 0 || out_w <= 0) {
      throw ValueError(detail::message("AdaptiveAvgPool2d: output size ", out_h, "x", out_w,
                                              " must be positive"));
    }
  }

  Var<T> forward(const Var<T>& x) override { return functional::adaptive_avg_pool2d(x, out_h_, out_w_); }
  std::int64_t output_height() const noexcept { return out_h_; }
  std::int64_t output_width() const noexcept { return out_w_; }

 private:
  std::int64_t out_h_;
  std::int64_t out_w_;
  bool one_size_ = false;
};

}  // namespace nabla::nn

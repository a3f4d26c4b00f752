// Runtime kernels for ONNX's network ops: Conv, MaxPool, AveragePool, the
// global pools, BatchNormalization and LayerNormalization (inference),
// Flatten, Dropout and Identity.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "nabla/graph/kernel.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/nn.hpp"
#include "nabla/ops/reduce.hpp"
#include "nabla/ops/shape.hpp"

namespace nabla::graph::ops {
namespace impl {

// The 2-D window geometry shared by Conv and the pools: kernel, strides,
// pads {top, left, bottom, right}, dilations, and ONNX's auto_pad.
struct Window2d {
  std::int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  std::int64_t pt = 0, pl = 0, pb = 0, pr = 0;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;

  static Window2d from(const Node& node, std::vector<std::int64_t> kernel) {
    Window2d w;
    const auto strides = node.attr_ints("strides", {1, 1});
    const auto dilations = node.attr_ints("dilations", {1, 1});
    const auto pads = node.attr_ints("pads", {0, 0, 0, 0});
    if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 || pads.size() != 4) {
      throw ValueError(nabla::detail::message(node.describe(), ": only 2-D windows are supported (kernel_shape ",
                                              kernel.size(), "-D, strides ", strides.size(), ", pads ", pads.size(), ")"));
    }
    w.kh = kernel[0];
    w.kw = kernel[1];
    w.sh = strides[0];
    w.sw = strides[1];
    w.dh = dilations[0];
    w.dw = dilations[1];
    w.pt = pads[0];
    w.pl = pads[1];
    w.pb = pads[2];
    w.pr = pads[3];
    w.auto_pad = node.attr_string("auto_pad", "NOTSET");
    w.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    if (w.kh <= 0 || w.kw <= 0 || w.sh <= 0 || w.sw <= 0 || w.dh <= 0 || w.dw <= 0 || w.pt < 0 || w.pl < 0 ||
        w.pb < 0 || w.pr < 0) {
      throw ValueError(node.describe() + ": kernel, strides and dilations must be positive and pads non-negative");
    }
    return w;
  }

  // Resolves auto_pad for an input of h x w (SAME_UPPER puts the odd pad at the end).
  Window2d resolved(std::int64_t h, std::int64_t w) const {
    Window2d r = *this;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      auto split = [&](std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t& lo, std::int64_t& hi) {
        const std::int64_t out = (in + s - 1) / s;
        const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
        lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        hi = total - lo;
      };
      split(h, kh, sh, dh, r.pt, r.pb);
      split(w, kw, sw, dw, r.pl, r.pr);
    } else if (auto_pad == "VALID") {
      r.pt = r.pl = r.pb = r.pr = 0;
    }
    return r;
  }

  static std::int64_t out_extent(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t lo,
                                 std::int64_t hi, bool ceil) {
    const std::int64_t span = in + lo + hi - ((k - 1) * d + 1);
    if (span < 0) return 0;
    std::int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (out - 1) * s >= in + lo) --out;  // the last window must start inside (PyTorch's rule)
    return out;
  }
};

// MaxPool / AveragePool over NCHW planes.
template <class T>
Tensor<T> pool2d(const Tensor<T>& x_in, const Window2d& win, bool is_max, bool count_include_pad,
                 const std::string& what) {
  if (x_in.ndim() != 4) {
    throw ShapeError(nabla::detail::message(what, ": input must be 4-D [N, C, H, W], got ", to_string(x_in.shape())));
  }
  const Tensor<T> x = x_in.contiguous();
  const std::int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const Window2d g = win.resolved(h, w);
  const std::int64_t ho = Window2d::out_extent(h, g.kh, g.sh, g.dh, g.pt, g.pb, g.ceil_mode);
  const std::int64_t wo = Window2d::out_extent(w, g.kw, g.sw, g.dw, g.pl, g.pr, g.ceil_mode);
  Tensor<T> y = Tensor<T>::empty(Shape{n, c, ho, wo});
  const T* src = x.data();
  T* dst = y.data();
  kernels::parallel_for(0, n * c, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t plane = lo; plane < hi; ++plane) {
      const T* p = src + plane * h * w;
      T* q = dst + plane * ho * wo;
      for (std::int64_t oy = 0; oy < ho; ++oy) {
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          const std::int64_t y0 = oy * g.sh - g.pt, x0 = ox * g.sw - g.pl;
          if (is_max) {
            T best = -std::numeric_limits<T>::infinity();
            for (std::int64_t ky = 0; ky < g.kh; ++ky) {
              const std::int64_t iy = y0 + ky * g.dh;
              if (iy < 0 || iy >= h) continue;
              for (std::int64_t kx = 0; kx < g.kw; ++kx) {
                const std::int64_t ix = x0 + kx * g.dw;
                if (ix < 0 || ix >= w) continue;
                const T v = p[iy * w + ix];
                if (v > best || std::isnan(v)) best = v;  // NaN propagates
              }
            }
            q[oy * wo + ox] = best;
          } else {
            // PyTorch's divisor: the window clipped to the padded input, or to the input itself.
            const std::int64_t y1 = std::min(y0 + g.kh, h + g.pb), x1 = std::min(x0 + g.kw, w + g.pr);
            const std::int64_t padded = (y1 - y0) * (x1 - x0);
            const std::int64_t ya = std::max<std::int64_t>(y0, 0), xa = std::max<std::int64_t>(x0, 0);
            const std::int64_t yb = std::min(y1, h), xb = std::min(x1, w);
            T s = 0;
            for (std::int64_t iy = ya; iy < yb; ++iy) {
              for (std::int64_t ix = xa; ix < xb; ++ix) s += p[iy * w + ix];
            }
            const std::int64_t count = count_include_pad ? padded : (yb - ya) * (xb - xa);
            q[oy * wo + ox] = count > 0 ? s / static_cast<T>(count) : T(0);
          }
        }
      }
    }
  });
  return y;
}

// Conv's window for a kernel of 1 or 2 extents (shape inference uses it
// too): a 1-D conv is a 2-D one with a height-1 window.
inline Window2d conv_window(const Node& node, std::vector<std::int64_t> kernel) {
  if (kernel.size() != 1) return Window2d::from(node, kernel);
  Node as2d = node;
  kernel.insert(kernel.begin(), 1);
  auto widen = [&](const char* key, std::vector<std::int64_t> fallback, std::int64_t fill) {
    auto v = node.attr_ints(key, std::move(fallback));
    if (std::string(key) == "pads") {
      if (v.size() == 2) v = {0, v[0], 0, v[1]};
    } else if (v.size() == 1) {
      v.insert(v.begin(), fill);
    }
    as2d.attributes[key] = v;
  };
  widen("strides", {1}, 1);
  widen("dilations", {1}, 1);
  widen("pads", {0, 0}, 0);
  return Window2d::from(as2d, kernel);
}

}  // namespace impl

// Conv (2-D, and 1-D as 2-D with height 1): groups, dilations, strides,
// symmetric or asymmetric pads, auto_pad.
inline std::unique_ptr<OpKernel> make_Conv(const Node& node, const KernelContext& ctx) {
  detail::require_inputs(node, 2, 3);
  // The window comes from kernel_shape, or from the weight (read once when
  // it is a constant, else at each run).
  std::vector<std::int64_t> kernel_attr = node.attr_ints("kernel_shape");
  if (kernel_attr.empty() && ctx.constant(1)) {
    for (std::size_t d = 2; d < ctx.constant(1)->shape().size(); ++d) kernel_attr.push_back(ctx.constant(1)->shape()[d]);
  }
  auto window_for = [node](std::vector<std::int64_t> kernel) { return impl::conv_window(node, std::move(kernel)); };
  const bool fixed = !kernel_attr.empty();
  const impl::Window2d fixed_win = fixed ? window_for(kernel_attr) : impl::Window2d{};
  const std::int64_t groups = node.attr_int("group", 1);
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& x_in) -> Value {
      using T = typename std::decay_t<decltype(x_in)>::value_type;
      Tensor<T> w = in[1].as<T>(what, "weight");
      // The window from the weight's shape only when it was not known at
      // build time (a vector per run otherwise).
      bool one_d = kernel_attr.size() == 1;
      impl::Window2d win = fixed_win;
      if (!fixed) {
        std::vector<std::int64_t> kernel;
        for (std::size_t d = 2; d < w.ndim(); ++d) kernel.push_back(w.shape()[d]);
        one_d = kernel.size() == 1;
        win = window_for(kernel);
      }
      Tensor<T> x = one_d ? x_in.unsqueeze(2) : x_in;
      if (one_d) w = w.unsqueeze(2);
      const Tensor<T> b = in.size() > 2 && in[2].defined() ? in[2].as<T>(what, "bias") : Tensor<T>();
      if (x.ndim() != 4) {
        throw ShapeError(nabla::detail::message(what, ": input must be [N, C, H, W] or [N, C, L], got ",
                                                to_string(x_in.shape())));
      }
      const impl::Window2d g = win.resolved(x.shape()[2], x.shape()[3]);
      Conv2dParams p;
      p.stride_h = g.sh;
      p.stride_w = g.sw;
      p.dilation_h = g.dh;
      p.dilation_w = g.dw;
      p.groups = groups;
      if (g.pt == g.pb && g.pl == g.pr) {
        p.pad_h = g.pt;
        p.pad_w = g.pl;
      } else {  // asymmetric: pad explicitly first
        x = pad(x, {g.pl, g.pr, g.pt, g.pb});
      }
      Tensor<T> y = conv2d(x, w, b, p);
      return one_d ? y.squeeze(2) : y;
    });
  });
}

inline std::unique_ptr<OpKernel> make_MaxPool(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 1, 1);
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
    throw ValueError(node.describe() + ": the Indices output of MaxPool is not supported");
  }
  if (node.attr_int("storage_order", 0) != 0) throw ValueError(node.describe() + ": storage_order=1 is not supported");
  const impl::Window2d win = impl::Window2d::from(node, node.attr_ints("kernel_shape"));
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& x) -> Value { return impl::pool2d(x, win, true, false, what); });
  });
}

inline std::unique_ptr<OpKernel> make_AveragePool(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 1, 1);
  const impl::Window2d win = impl::Window2d::from(node, node.attr_ints("kernel_shape"));
  const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what,
                                    [&](const auto& x) -> Value { return impl::pool2d(x, win, false, include_pad, what); });
  });
}

// Global pools: over every axis after the first two, kept as extent 1.
namespace impl {
inline std::unique_ptr<OpKernel> global_pool(const Node& node, bool is_max) {
  return detail::kernel([is_max, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& x) -> Value {
      if (x.ndim() < 3) throw ShapeError(nabla::detail::message(what, ": input must be [N, C, ...], got ", to_string(x.shape())));
      Shape axes;
      for (std::size_t d = 2; d < x.ndim(); ++d) axes.push_back(static_cast<std::int64_t>(d));
      return is_max ? max(x, axes, true) : mean(x, axes, true);
    });
  });
}
}  // namespace impl
inline std::unique_ptr<OpKernel> make_GlobalAveragePool(const Node& node, const KernelContext&) {
  return impl::global_pool(node, false);
}
inline std::unique_ptr<OpKernel> make_GlobalMaxPool(const Node& node, const KernelContext&) {
  return impl::global_pool(node, true);
}

// BatchNormalization (inference): y = (x - mean) / sqrt(var + eps) * scale + B
// along axis 1, as one multiply-add per element with the per-channel
// factors computed once per run.
inline std::unique_ptr<OpKernel> make_BatchNormalization(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 5, 5);
  if (node.attr_int("training_mode", 0) != 0 || (node.outputs.size() > 1 && !node.outputs[1].empty())) {
    throw ValueError(node.describe() + ": training mode (running statistics outputs) is not supported");
  }
  const double eps = node.attr_float("epsilon", 1e-5);
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& x_in) -> Value {
      using T = typename std::decay_t<decltype(x_in)>::value_type;
      if (x_in.ndim() < 2) throw ShapeError(nabla::detail::message(what, ": input must be [N, C, ...], got ", to_string(x_in.shape())));
      const std::int64_t c = x_in.shape()[1];
      const auto scale = in[1].as<T>(what, "scale").contiguous(), bias = in[2].as<T>(what, "B").contiguous();
      const auto mu = in[3].as<T>(what, "mean").contiguous(), var = in[4].as<T>(what, "var").contiguous();
      for (const Tensor<T>* t : {&scale, &bias, &mu, &var}) {
        if (t->numel() != c) {
          throw ShapeError(nabla::detail::message(what, ": per-channel inputs must have ", c, " elements, got shape ",
                                                  to_string(t->shape())));
        }
      }
      // Per-channel factors in pooled tensors, so a run allocates no heap memory.
      Tensor<T> a_factors = Tensor<T>::empty(Shape{c}), s_factors = Tensor<T>::empty(Shape{c});
      T* a = a_factors.data();
      T* s = s_factors.data();
      for (std::int64_t k = 0; k < c; ++k) {
        a[k] = static_cast<T>(scale.data()[k] / std::sqrt(static_cast<double>(var.data()[k]) + eps));
        s[k] = bias.data()[k] - mu.data()[k] * a[k];
      }
      const Tensor<T> x = x_in.contiguous();
      Tensor<T> y = Tensor<T>::empty(x.shape());
      const std::int64_t planes = x.shape()[0] * c;
      const std::int64_t inner = planes == 0 ? 0 : x.numel() / planes;
      kernels::parallel_for(0, planes, 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t pl = lo; pl < hi; ++pl) {
          const T ak = a[pl % c], sk = s[pl % c];
          const T* p = x.data() + pl * inner;
          T* q = y.data() + pl * inner;
          for (std::int64_t i = 0; i < inner; ++i) q[i] = p[i] * ak + sk;
        }
      });
      return y;
    });
  });
}

// LayerNormalization (opset 17): normalises over axes [axis, rank).
inline std::unique_ptr<OpKernel> make_LayerNormalization(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 3);
  const std::int64_t axis = node.attr_int("axis", -1);
  const double eps = node.attr_float("epsilon", 1e-5);
  if (node.outputs.size() > 1) {
    for (std::size_t k = 1; k < node.outputs.size(); ++k) {
      if (!node.outputs[k].empty()) throw ValueError(node.describe() + ": Mean/InvStdDev outputs are not supported");
    }
  }
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& x_in) -> Value {
      using T = typename std::decay_t<decltype(x_in)>::value_type;
      const std::size_t a = normalize_axis(axis, x_in.ndim(), "LayerNormalization");
      std::int64_t inner = 1;
      for (std::size_t d = a; d < x_in.ndim(); ++d) inner *= x_in.shape()[d];
      const Tensor<T> x = x_in.contiguous();
      // Scale and B broadcast to the normalised axes' shape.
      Shape norm_shape;
      for (std::size_t d = a; d < x_in.ndim(); ++d) norm_shape.push_back(x_in.shape()[d]);
      const Tensor<T> scale = in[1].as<T>(what, "scale").expand(norm_shape).contiguous();
      const bool has_b = in.size() > 2 && in[2].defined();
      const Tensor<T> b = has_b ? in[2].as<T>(what, "B").expand(norm_shape).contiguous() : Tensor<T>();
      Tensor<T> y = Tensor<T>::empty(x.shape());
      const std::int64_t rows = inner == 0 ? 0 : x.numel() / inner;
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* p = x.data() + r * inner;
        T* q = y.data() + r * inner;
        double m = 0, v = 0;
        for (std::int64_t i = 0; i < inner; ++i) m += p[i];
        m /= static_cast<double>(inner);
        for (std::int64_t i = 0; i < inner; ++i) v += (p[i] - m) * (p[i] - m);
        v /= static_cast<double>(inner);
        const double inv = 1.0 / std::sqrt(v + eps);
        for (std::int64_t i = 0; i < inner; ++i) {
          q[i] = static_cast<T>((p[i] - m) * inv) * scale.data()[i] + (has_b ? b.data()[i] : T(0));
        }
      }
      return y;
    });
  });
}

// Flatten(axis = 1): [prod(shape[:axis]), prod(shape[axis:])].
inline std::unique_ptr<OpKernel> make_Flatten(const Node& node, const KernelContext&) {
  const std::int64_t axis = node.attr_int("axis", 1);
  return detail::kernel([=](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = in[0].visit([&](const auto& x) -> Value {
      const std::int64_t r = static_cast<std::int64_t>(x.ndim());
      const std::int64_t a = axis < 0 ? axis + r : axis;
      if (a < 0 || a > r) throw IndexError(nabla::detail::message("Flatten: axis ", axis, " is out of range for shape ", to_string(x.shape())));
      std::int64_t rows = 1, cols = 1;
      for (std::int64_t d = 0; d < r; ++d) (d < a ? rows : cols) *= x.shape()[static_cast<std::size_t>(d)];
      return x.reshape(Shape{rows, cols});
    });
  });
}

// Identity and Dropout (inference: the input itself; the mask is all true).
inline std::unique_ptr<OpKernel> make_Identity(const Node&, const KernelContext&) {
  return detail::kernel([](const std::vector<Value>& in, std::vector<Value>& out) { out[0] = in[0]; });
}
inline std::unique_ptr<OpKernel> make_Dropout(const Node& node, const KernelContext&) {
  return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    // Training mode with ratio 0 drops nothing (torch exports eval-mode
    // F.dropout(p=0.0, training=True) so, e.g. Swin's attention dropout).
    const bool training = in.size() > 2 && in[2].defined() && in[2].as<bool>(what, "training_mode").item();
    const double ratio = in.size() > 1 && in[1].defined()
                             ? detail::visit_floating(in[1], what + " ratio", [](const auto& r) { return static_cast<double>(r.item()); })
                             : 0.5;
    if (training && ratio != 0) {
      throw ValueError(nabla::detail::message(what, ": training_mode=true with ratio ", ratio, " is not supported (inference only)"));
    }
    out[0] = in[0];
    if (out.size() > 1) out[1] = Tensor<bool>(in[0].shape()).fill_(true);
  });
}

}  // namespace nabla::graph::ops

// Runtime kernels for ONNX's shape and data-movement ops, on any dtype:
// Reshape, Transpose, Concat, Split, Slice, Squeeze, Unsqueeze, Shape, Size,
// Gather, Expand, ConstantOfShape, Range, Constant, Tile, Pad, NonZero.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "nabla/graph/kernel.hpp"
#include "nabla/ops/compare.hpp"
#include "nabla/ops/index.hpp"
#include "nabla/ops/shape.hpp"
#include "nabla/ops/sort.hpp"

namespace nabla::graph::ops {
namespace impl {

// Axes from an attribute (older opsets) or an optional input (newer).
inline std::vector<std::int64_t> axes_of(const Node& node, const std::vector<Value>& in, std::size_t k, bool from_input,
                                         const std::vector<std::int64_t>& attr) {
  if (from_input) {
    if (in.size() > k && in[k].defined()) return detail::int_list(in[k], node.describe() + " axes");
    return {};
  }
  return attr;
}

inline std::size_t axis_in(std::int64_t axis, std::size_t rank, const std::string& what) {
  const std::int64_t r = static_cast<std::int64_t>(rank);
  const std::int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    throw IndexError(nabla::detail::message(what, ": axis ", axis, " is out of range for rank ", rank));
  }
  return static_cast<std::size_t>(a);
}

}  // namespace impl

// Reshape: 0 copies the input's extent (unless allowzero), -1 is inferred.
inline std::unique_ptr<OpKernel> make_Reshape(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 2);
  const bool allowzero = node.attr_int("allowzero", 0) != 0;
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::vector<std::int64_t> spec = detail::int_list(in[1], what + " shape");
    out[0] = in[0].visit([&](const auto& x) -> Value {
      Shape shape;
      for (std::size_t d = 0; d < spec.size(); ++d) {
        if (spec[d] == 0 && !allowzero) {
          if (d >= x.ndim()) {
            throw ShapeError(nabla::detail::message(what, ": shape entry ", d, " is 0 (copy) but the input ",
                                                    to_string(x.shape()), " has only ", x.ndim(), " axes"));
          }
          shape.push_back(x.shape()[d]);
        } else {
          shape.push_back(spec[d]);
        }
      }
      return x.reshape(shape);
    });
  });
}

inline std::unique_ptr<OpKernel> make_Transpose(const Node& node, const KernelContext&) {
  const std::vector<std::int64_t> perm = node.attr_ints("perm");
  return detail::kernel([=](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = in[0].visit([&](const auto& x) -> Value {
      Shape dims;
      if (perm.empty()) {
        for (std::size_t d = x.ndim(); d-- > 0;) dims.push_back(static_cast<std::int64_t>(d));
      } else {
        for (std::int64_t p : perm) dims.push_back(p);
      }
      return x.permute(dims);
    });
  });
}

inline std::unique_ptr<OpKernel> make_Concat(const Node& node, const KernelContext&) {
  const std::int64_t axis = node.attr_int("axis");
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = in[0].visit([&](const auto& first) -> Value {
      using T = typename std::decay_t<decltype(first)>::value_type;
      std::vector<Tensor<T>> parts;
      for (const Value& v : in) {
        if (v.defined()) parts.push_back(v.as<T>(what, "input"));
      }
      return concat(parts, axis);
    });
  });
}

// Split: sizes from the `split` input (opset 13+) or attribute, else equal
// parts (one per output, the last smaller when num_outputs does not divide).
inline std::unique_ptr<OpKernel> make_Split(const Node& node, const KernelContext& ctx) {
  const std::int64_t axis = node.attr_int("axis", 0);
  const bool from_input = ctx.opset >= 13;
  const std::vector<std::int64_t> attr_split = node.attr_ints("split");
  const std::size_t outputs = node.outputs.size();
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    std::vector<std::int64_t> sizes = from_input ? impl::axes_of(node, in, 1, true, {}) : attr_split;
    in[0].visit([&](const auto& x) {
      const std::size_t a = impl::axis_in(axis, x.ndim(), what);
      const std::int64_t n = x.shape()[a];
      if (sizes.empty()) {
        const auto k = static_cast<std::int64_t>(outputs);
        const std::int64_t part = (n + k - 1) / k;
        for (std::int64_t i = 0; i < k; ++i) sizes.push_back(std::max<std::int64_t>(0, std::min(part, n - i * part)));
      }
      if (sizes.size() != outputs) {
        throw ValueError(nabla::detail::message(what, ": ", sizes.size(), " split sizes for ", outputs, " outputs"));
      }
      auto parts = split(x, sizes, static_cast<std::int64_t>(a));
      for (std::size_t i = 0; i < outputs; ++i) out[i] = parts[i];
      return 0;
    });
  });
}

// Slice: starts/ends/axes/steps as inputs (opset 10+) or attributes (before).
// Negative steps walk backwards, as in ONNX.
inline std::unique_ptr<OpKernel> make_Slice(const Node& node, const KernelContext& ctx) {
  const bool from_input = ctx.opset >= 10;
  const auto a_starts = node.attr_ints("starts"), a_ends = node.attr_ints("ends"), a_axes = node.attr_ints("axes");
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    std::vector<std::int64_t> starts = a_starts, ends = a_ends, axes = a_axes, steps;
    if (from_input) {
      starts = detail::int_list(in.at(1), what + " starts");
      ends = detail::int_list(in.at(2), what + " ends");
      axes = impl::axes_of(node, in, 3, true, {});
      steps = impl::axes_of(node, in, 4, true, {});
    }
    if (starts.size() != ends.size() || (!axes.empty() && axes.size() != starts.size()) ||
        (!steps.empty() && steps.size() != starts.size())) {
      throw ValueError(nabla::detail::message(what, ": starts, ends, axes and steps must have the same length"));
    }
    out[0] = in[0].visit([&](const auto& x) -> Value {
      using T = typename std::decay_t<decltype(x)>::value_type;
      Shape shape = x.shape(), strides = x.strides();
      std::int64_t offset = x.offset();
      for (std::size_t i = 0; i < starts.size(); ++i) {
        const std::size_t a = impl::axis_in(axes.empty() ? static_cast<std::int64_t>(i) : axes[i], x.ndim(), what);
        const std::int64_t step = steps.empty() ? 1 : steps[i];
        if (step == 0) throw ValueError(what + ": slice step 0");
        const std::int64_t n = shape[a];
        auto wrap = [n](std::int64_t v) { return v < 0 ? (v < -n ? -1 : v + n) : v; };  // -1: before the start
        std::int64_t s = wrap(starts[i] < -n ? -n - 1 : starts[i]), e = wrap(ends[i] < -n ? -n - 1 : ends[i]);
        std::int64_t count;
        if (step > 0) {
          s = std::clamp<std::int64_t>(s, 0, n);
          e = std::clamp<std::int64_t>(e, 0, n);
          count = e > s ? (e - s + step - 1) / step : 0;
        } else {
          s = std::clamp<std::int64_t>(s, -1, n - 1);
          e = std::clamp<std::int64_t>(e, -1, n - 1);
          count = s > e ? (s - e - step - 1) / -step : 0;
        }
        if (count > 0) offset += s * strides[a];
        shape[a] = count;
        strides[a] *= step;
      }
      return Tensor<T>::view_of(x.storage(), shape, strides, offset);
    });
  });
}

inline std::unique_ptr<OpKernel> make_Squeeze(const Node& node, const KernelContext& ctx) {
  const bool from_input = ctx.opset >= 13;
  const auto attr = node.attr_ints("axes");
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const auto axes = impl::axes_of(node, in, 1, from_input, attr);
    out[0] = in[0].visit([&](const auto& x) -> Value {
      std::vector<bool> drop(x.ndim(), false);
      if (axes.empty()) {
        for (std::size_t d = 0; d < x.ndim(); ++d) drop[d] = x.shape()[d] == 1;
      } else {
        for (std::int64_t a : axes) {
          const std::size_t d = impl::axis_in(a, x.ndim(), what);
          if (x.shape()[d] != 1) {
            throw ShapeError(nabla::detail::message(what, ": axis ", a, " of shape ", to_string(x.shape()), " is not 1"));
          }
          drop[d] = true;
        }
      }
      Shape shape;
      for (std::size_t d = 0; d < x.ndim(); ++d) {
        if (!drop[d]) shape.push_back(x.shape()[d]);
      }
      return x.reshape(shape);
    });
  });
}

inline std::unique_ptr<OpKernel> make_Unsqueeze(const Node& node, const KernelContext& ctx) {
  const bool from_input = ctx.opset >= 13;
  const auto attr = node.attr_ints("axes");
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const auto axes = impl::axes_of(node, in, 1, from_input, attr);
    out[0] = in[0].visit([&](const auto& x) -> Value {
      const std::size_t rank = x.ndim() + axes.size();
      std::vector<bool> inserted(rank, false);
      for (std::int64_t a : axes) {
        const std::size_t d = impl::axis_in(a, rank, what);
        if (inserted[d]) throw ValueError(nabla::detail::message(what, ": axis ", a, " given twice"));
        inserted[d] = true;
      }
      Shape shape;
      std::size_t k = 0;
      for (std::size_t d = 0; d < rank; ++d) shape.push_back(inserted[d] ? 1 : x.shape()[k++]);
      return x.reshape(shape);
    });
  });
}

// Shape (with opset 15's start/end) and Size: int64 results.
inline std::unique_ptr<OpKernel> make_Shape(const Node& node, const KernelContext&) {
  const std::int64_t start = node.attr_int("start", 0);
  const bool has_end = node.has("end");
  const std::int64_t end = node.attr_int("end", 0);
  return detail::kernel([=](const std::vector<Value>& in, std::vector<Value>& out) {
    const Shape& s = in[0].shape();
    const auto r = static_cast<std::int64_t>(s.size());
    auto clip = [r](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + r : v, 0, r); };
    const std::int64_t lo = clip(start), hi = has_end ? clip(end) : r;
    std::vector<std::int64_t> dims;
    for (std::int64_t d = lo; d < hi; ++d) dims.push_back(s[static_cast<std::size_t>(d)]);
    out[0] = Tensor<std::int64_t>(Shape{static_cast<std::int64_t>(dims.size())}, dims);
  });
}
inline std::unique_ptr<OpKernel> make_Size(const Node&, const KernelContext&) {
  return detail::kernel([](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = Tensor<std::int64_t>::scalar(in[0].shape().numel());
  });
}

// Gather(axis): data.shape[:axis] + indices.shape + data.shape[axis+1:];
// negative indices count from the end.
inline std::unique_ptr<OpKernel> make_Gather(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 2);
  const std::int64_t axis = node.attr_int("axis", 0);
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::vector<std::int64_t> raw = detail::int_list(in[1], what + " indices");
    const Shape index_shape = in[1].shape();
    out[0] = in[0].visit([&](const auto& x) -> Value {
      const std::size_t a = impl::axis_in(axis, x.ndim(), what);
      const std::int64_t n = x.shape()[a];
      std::vector<std::int64_t> idx(raw.size());
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] < -n || raw[i] >= n) {
          throw IndexError(nabla::detail::message(what, ": index ", raw[i], " is out of range for axis ", a,
                                                  " of shape ", to_string(x.shape())));
        }
        idx[i] = raw[i] < 0 ? raw[i] + n : raw[i];
      }
      const auto picked = index_select(x, static_cast<std::int64_t>(a),
                                       Tensor<std::int64_t>(Shape{static_cast<std::int64_t>(idx.size())}, idx));
      Shape shape;
      for (std::size_t d = 0; d < a; ++d) shape.push_back(x.shape()[d]);
      for (std::int64_t e : index_shape) shape.push_back(e);
      for (std::size_t d = a + 1; d < x.ndim(); ++d) shape.push_back(x.shape()[d]);
      return picked.reshape(shape);
    });
  });
}

// Expand: broadcasts both ways (a 1 in the shape keeps the input's extent).
inline std::unique_ptr<OpKernel> make_Expand(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 2);
  return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const auto spec = detail::int_list(in[1], what + " shape");
    out[0] = in[0].visit([&](const auto& x) -> Value {
      Shape target;
      for (std::int64_t e : spec) target.push_back(e);
      return x.expand(broadcast_shapes(x.shape(), target, "Expand"));
    });
  });
}

// Constant, ConstantOfShape, Range: values made from attributes or scalars.
inline std::unique_ptr<OpKernel> make_Constant(const Node& node, const KernelContext&) {
  Value v;
  if (node.has("value")) {
    v = node.attr_tensor("value");
  } else if (node.has("value_float")) {
    v = Tensor<float>::scalar(static_cast<float>(node.attr_float("value_float", 0)));
  } else if (node.has("value_int")) {
    v = Tensor<std::int64_t>::scalar(node.attr_int("value_int"));
  } else if (node.has("value_floats")) {
    std::vector<float> f;
    for (double d : node.attr_floats("value_floats")) f.push_back(static_cast<float>(d));
    v = Tensor<float>(Shape{static_cast<std::int64_t>(f.size())}, f);
  } else if (node.has("value_ints")) {
    const auto i = node.attr_ints("value_ints");
    v = Tensor<std::int64_t>(Shape{static_cast<std::int64_t>(i.size())}, i);
  } else {
    throw ValueError(node.describe() + ": no value attribute (sparse and string constants are not supported)");
  }
  return detail::kernel([v](const std::vector<Value>&, std::vector<Value>& out) { out[0] = v; });
}

inline std::unique_ptr<OpKernel> make_ConstantOfShape(const Node& node, const KernelContext&) {
  const Value fill = node.has("value") ? node.attr_tensor("value") : Value(Tensor<float>::scalar(0.0f));
  if (fill.numel() != 1) throw ValueError(node.describe() + ": value must hold one element");
  return detail::kernel([fill, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const auto spec = detail::int_list(in[0], what + " input");
    Shape shape;
    for (std::int64_t e : spec) shape.push_back(e);
    out[0] = fill.visit([&](const auto& f) -> Value {
      using T = typename std::decay_t<decltype(f)>::value_type;
      Tensor<T> t = Tensor<T>::empty(shape);
      t.fill_(f.contiguous().data()[0]);
      return t;
    });
  });
}

inline std::unique_ptr<OpKernel> make_Range(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 3, 3);
  return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_numeric(in[0], what, [&](const auto& s) -> Value {
      using T = typename std::decay_t<decltype(s)>::value_type;
      const T start = s.item(), limit = in[1].as<T>(what, "limit").item(), delta = in[2].as<T>(what, "delta").item();
      if (delta == T(0)) throw ValueError(what + ": delta is 0");
      const double count = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
      const auto n = static_cast<std::int64_t>(std::max(0.0, count));
      Tensor<T> r = Tensor<T>::empty(Shape{n});
      for (std::int64_t i = 0; i < n; ++i) r.data()[i] = static_cast<T>(start + static_cast<T>(i) * delta);
      return r;
    });
  });
}

inline std::unique_ptr<OpKernel> make_Tile(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 2);
  return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const auto reps = detail::int_list(in[1], what + " repeats");
    out[0] = in[0].visit([&](const auto& x) -> Value {
      if (reps.size() != x.ndim()) {
        throw ShapeError(nabla::detail::message(what, ": ", reps.size(), " repeats for a tensor of shape ", to_string(x.shape())));
      }
      Shape r;
      for (std::int64_t e : reps) r.push_back(e);
      return tile(x, r);
    });
  });
}

// Pad: pads [x1_begin, x2_begin, ..., x1_end, x2_end] (negative crops);
// modes constant, reflect and edge.
inline std::unique_ptr<OpKernel> make_Pad(const Node& node, const KernelContext& ctx) {
  const bool from_input = ctx.opset >= 11;
  const std::string mode = node.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    throw ValueError(node.describe() + ": mode '" + mode + "' is not supported");
  }
  const auto attr_pads = node.attr_ints("pads");
  const double attr_value = node.attr_float("value", 0.0);
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    std::vector<std::int64_t> pads = from_input ? detail::int_list(in.at(1), what + " pads") : attr_pads;
    const auto axes = from_input ? impl::axes_of(node, in, 3, true, {}) : std::vector<std::int64_t>{};
    out[0] = in[0].visit([&](const auto& x_in) -> Value {
      using T = typename std::decay_t<decltype(x_in)>::value_type;
      const std::size_t r = x_in.ndim();
      std::vector<std::int64_t> lo(r, 0), hi(r, 0);
      const std::size_t k = axes.empty() ? r : axes.size();
      if (pads.size() != 2 * k) {
        throw ValueError(nabla::detail::message(what, ": ", pads.size(), " pads for ", k, " axes of shape ",
                                                to_string(x_in.shape())));
      }
      for (std::size_t i = 0; i < k; ++i) {
        const std::size_t d = axes.empty() ? i : impl::axis_in(axes[i], r, what);
        lo[d] = pads[i];
        hi[d] = pads[i + k];
      }
      T fill = static_cast<T>(attr_value);
      if (from_input && in.size() > 2 && in[2].defined()) fill = in[2].as<T>(what, "constant_value").item();
      const Tensor<T> x = x_in.contiguous();
      Shape shape;
      for (std::size_t d = 0; d < r; ++d) {
        const std::int64_t e = x.shape()[d] + lo[d] + hi[d];
        if (e < 0) throw ShapeError(nabla::detail::message(what, ": pads crop axis ", d, " of shape ", to_string(x.shape()), " below 0"));
        if (mode != "constant" && x.shape()[d] == 0 && e > 0) throw ShapeError(what + ": cannot " + mode + "-pad an empty axis");
        shape.push_back(e);
      }
      Tensor<T> y = Tensor<T>::empty(shape);
      const Shape xs = contiguous_strides(x.shape());
      std::vector<std::int64_t> pos(r, 0);
      for (std::int64_t flat = 0; flat < y.numel(); ++flat) {
        std::int64_t src = 0;
        bool inside = true;
        for (std::size_t d = 0; d < r; ++d) {
          std::int64_t i = pos[d] - lo[d];
          const std::int64_t n = x.shape()[d];
          if (i < 0 || i >= n) {
            if (mode == "constant") {
              inside = false;
              break;
            }
            if (mode == "edge") {
              i = std::clamp<std::int64_t>(i, 0, n - 1);
            } else {  // reflect, without repeating the edge
              const std::int64_t period = std::max<std::int64_t>(1, 2 * (n - 1));
              i = ((i % period) + period) % period;
              if (i >= n) i = period - i;
            }
          }
          src += i * xs[d];
        }
        y.data()[flat] = inside ? x.data()[src] : fill;
        for (std::size_t d = r; d-- > 0;) {
          if (++pos[d] < shape[d]) break;
          pos[d] = 0;
        }
      }
      return y;
    });
  });
}

// NonZero: [rank, count] indices (the transpose of torch.nonzero).
inline std::unique_ptr<OpKernel> make_NonZero(const Node&, const KernelContext&) {
  return detail::kernel([](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = in[0].visit([](const auto& x) -> Value { return nonzero(x).t().contiguous(); });
  });
}

}  // namespace nabla::graph::ops

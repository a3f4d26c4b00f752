// Runtime kernels for ONNX's elementwise, comparison, reduction and matrix
// ops, on nabla's tensor ops (ops/): Add, Relu, Equal, ReduceMean, Softmax,
// MatMul, Gemm, ...
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "nabla/graph/kernel.hpp"
#include "nabla/ops/compare.hpp"
#include "nabla/ops/elementwise.hpp"
#include "nabla/ops/linalg.hpp"
#include "nabla/ops/nn.hpp"
#include "nabla/ops/reduce.hpp"

namespace nabla::graph::ops {

// --- Unary floating ops --------------------------------------------------
#define NABLA_GRAPH_UNARY(name, expr)                                                                 \
  inline std::unique_ptr<OpKernel> make_##name(const Node& node, const KernelContext&) {             \
    detail::require_inputs(node, 1, 1);                                                               \
    return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) { \
      out[0] = detail::visit_floating(in[0], what, [](const auto& x) -> Value { return expr; });       \
    });                                                                                               \
  }

NABLA_GRAPH_UNARY(Relu, relu(x))
NABLA_GRAPH_UNARY(Sigmoid, sigmoid(x))
NABLA_GRAPH_UNARY(Tanh, tanh(x))
NABLA_GRAPH_UNARY(Exp, exp(x))
NABLA_GRAPH_UNARY(Log, log(x))
NABLA_GRAPH_UNARY(Sqrt, sqrt(x))
NABLA_GRAPH_UNARY(Reciprocal, reciprocal(x))
NABLA_GRAPH_UNARY(Sin, sin(x))
NABLA_GRAPH_UNARY(Cos, cos(x))
NABLA_GRAPH_UNARY(Floor, floor(x))
NABLA_GRAPH_UNARY(Ceil, ceil(x))
NABLA_GRAPH_UNARY(Softplus, softplus(x))
NABLA_GRAPH_UNARY(Erf, nabla::detail::map1<typename std::decay_t<decltype(x)>::value_type>(x, [](auto v) { return std::erf(v); }))
// x * relu6(x + 3) / 6
NABLA_GRAPH_UNARY(HardSwish, mul(x, div(clamp(add(x, 3.0f), 0.0f, 6.0f), 6.0f)))
#undef NABLA_GRAPH_UNARY

// Neg, Abs, Sign also take integers.
#define NABLA_GRAPH_UNARY_NUMERIC(name, expr)                                                         \
  inline std::unique_ptr<OpKernel> make_##name(const Node& node, const KernelContext&) {             \
    detail::require_inputs(node, 1, 1);                                                               \
    return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) { \
      out[0] = detail::visit_numeric(in[0], what, [](const auto& x) -> Value { return expr; });        \
    });                                                                                               \
  }
NABLA_GRAPH_UNARY_NUMERIC(Neg, neg(x))
NABLA_GRAPH_UNARY_NUMERIC(Abs, abs(x))
NABLA_GRAPH_UNARY_NUMERIC(Sign, sign(x))
#undef NABLA_GRAPH_UNARY_NUMERIC

inline std::unique_ptr<OpKernel> make_LeakyRelu(const Node& node, const KernelContext&) {
  const double alpha = node.attr_float("alpha", 0.01);
  return detail::kernel([alpha, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [alpha](const auto& x) -> Value {
      using T = typename std::decay_t<decltype(x)>::value_type;
      return leaky_relu(x, static_cast<T>(alpha));
    });
  });
}
inline std::unique_ptr<OpKernel> make_Elu(const Node& node, const KernelContext&) {
  const double alpha = node.attr_float("alpha", 1.0);
  return detail::kernel([alpha, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [alpha](const auto& x) -> Value {
      using T = typename std::decay_t<decltype(x)>::value_type;
      return elu(x, static_cast<T>(alpha));
    });
  });
}
// max(0, min(1, alpha * x + beta))
inline std::unique_ptr<OpKernel> make_HardSigmoid(const Node& node, const KernelContext&) {
  const double alpha = node.attr_float("alpha", 0.2), beta = node.attr_float("beta", 0.5);
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [=](const auto& x) -> Value {
      using T = typename std::decay_t<decltype(x)>::value_type;
      return clamp(add(mul(x, static_cast<T>(alpha)), static_cast<T>(beta)), T(0), T(1));
    });
  });
}

// Clip: bounds are attributes before opset 11, optional inputs after.
inline std::unique_ptr<OpKernel> make_Clip(const Node& node, const KernelContext& ctx) {
  const bool as_inputs = ctx.opset >= 11;
  const double attr_lo = node.attr_float("min", -std::numeric_limits<double>::infinity());
  const double attr_hi = node.attr_float("max", std::numeric_limits<double>::infinity());
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_numeric(in[0], what, [&](const auto& x) -> Value {
      using T = typename std::decay_t<decltype(x)>::value_type;
      T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
      if (as_inputs) {
        if (in.size() > 1 && in[1].defined()) lo = in[1].as<T>(what, "min").item();
        if (in.size() > 2 && in[2].defined()) hi = in[2].as<T>(what, "max").item();
      } else {
        if (attr_lo > static_cast<double>(lo)) lo = static_cast<T>(attr_lo);
        if (attr_hi < static_cast<double>(hi)) hi = static_cast<T>(attr_hi);
      }
      return clamp(x, lo, hi);
    });
  });
}

// --- Binary ops with broadcasting ---------------------------------------
namespace impl {
template <class F>
Value same_type_binary(const Value& a, const Value& b, const std::string& what, F&& f) {
  if (a.dtype() != b.dtype()) {
    throw ValueError(nabla::detail::message(what, ": inputs have different types (", dtype_name(a.dtype()), " and ",
                                            dtype_name(b.dtype()), ")"));
  }
  return a.visit([&](const auto& x) -> Value {
    using T = typename std::decay_t<decltype(x)>::value_type;
    return f(x, b.as<T>(what));
  });
}
}  // namespace impl

#define NABLA_GRAPH_BINARY(name, expr)                                                                \
  inline std::unique_ptr<OpKernel> make_##name(const Node& node, const KernelContext&) {             \
    detail::require_inputs(node, 2, 2);                                                               \
    return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) { \
      out[0] = impl::same_type_binary(in[0], in[1], what, [&](const auto& a, const auto& b) -> Value { \
        using T = typename std::decay_t<decltype(a)>::value_type;                                     \
        if constexpr (std::is_same_v<T, bool>) {                                                      \
          throw ValueError(what + ": arithmetic on bool tensors");                                    \
          return a;                                                                                   \
        } else {                                                                                      \
          return expr;                                                                                \
        }                                                                                             \
      });                                                                                             \
    });                                                                                               \
  }

NABLA_GRAPH_BINARY(Add, add(a, b))
NABLA_GRAPH_BINARY(Sub, sub(a, b))
NABLA_GRAPH_BINARY(Mul, mul(a, b))
// Integer Div truncates toward zero (C's rule, as ONNX specifies).
NABLA_GRAPH_BINARY(Div, [&] {
  if constexpr (std::is_floating_point_v<T>) {
    return Value(div(a, b));
  } else {
    for (T v : b.to_vector()) {
      if (v == 0) throw ValueError(what + ": integer division by zero");
    }
    return Value(nabla::detail::map2<T>(a, b, [](T x, T y) { return static_cast<T>(x / y); }, "Div"));
  }
}())
NABLA_GRAPH_BINARY(Pow, [&] {
  if constexpr (std::is_floating_point_v<T>) {
    return Value(pow(a, b));
  } else {
    return Value(nabla::detail::map2<T>(a, b, [](T x, T y) { return static_cast<T>(std::pow(x, y)); }, "Pow"));
  }
}())
#undef NABLA_GRAPH_BINARY

// Pow's exponent may have another type than its base (opset 12+): cast it.
inline std::unique_ptr<OpKernel> make_PowMixed(const Node& node, const KernelContext& ctx) {
  auto same = make_Pow(node, ctx);
  return detail::kernel([same = std::shared_ptr<OpKernel>(std::move(same))](const std::vector<Value>& in,
                                                                            std::vector<Value>& out) {
    if (in[0].dtype() == in[1].dtype()) return same->run(in, out);
    std::vector<Value> cast{in[0], in[0].visit([&](const auto& x) -> Value {
                              using T = typename std::decay_t<decltype(x)>::value_type;
                              return in[1].to<T>();
                            })};
    same->run(cast, out);
  });
}

#define NABLA_GRAPH_COMPARE(name, fn)                                                                 \
  inline std::unique_ptr<OpKernel> make_##name(const Node& node, const KernelContext&) {             \
    detail::require_inputs(node, 2, 2);                                                               \
    return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) { \
      out[0] = impl::same_type_binary(in[0], in[1], what,                                           \
                                        [](const auto& a, const auto& b) -> Value { return fn(a, b); }); \
    });                                                                                               \
  }
NABLA_GRAPH_COMPARE(Equal, eq)
NABLA_GRAPH_COMPARE(Less, lt)
NABLA_GRAPH_COMPARE(LessOrEqual, le)
NABLA_GRAPH_COMPARE(Greater, gt)
NABLA_GRAPH_COMPARE(GreaterOrEqual, ge)
NABLA_GRAPH_COMPARE(And, logical_and)
NABLA_GRAPH_COMPARE(Or, logical_or)
NABLA_GRAPH_COMPARE(Xor, logical_xor)
#undef NABLA_GRAPH_COMPARE

inline std::unique_ptr<OpKernel> make_Not(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 1, 1);
  return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = logical_not(in[0].as<bool>(what));
  });
}

// Max, Min, Sum, Mean: variadic, broadcasting.
#define NABLA_GRAPH_VARIADIC(name, fold, finish)                                                      \
  inline std::unique_ptr<OpKernel> make_##name(const Node& node, const KernelContext&) {             \
    detail::require_inputs(node, 1, 1 << 20);                                                         \
    return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) { \
      Value acc = in[0];                                                                              \
      for (std::size_t k = 1; k < in.size(); ++k) {                                                   \
        acc = impl::same_type_binary(acc, in[k], what, [](const auto& a, const auto& b) -> Value {   \
          using T = typename std::decay_t<decltype(a)>::value_type;                                   \
          if constexpr (std::is_same_v<T, bool>) {                                                    \
            return a;                                                                                 \
          } else {                                                                                    \
            return fold;                                                                              \
          }                                                                                           \
        });                                                                                           \
      }                                                                                               \
      out[0] = finish;                                                                                \
    });                                                                                               \
  }
NABLA_GRAPH_VARIADIC(Max, maximum(a, b), acc)
NABLA_GRAPH_VARIADIC(Min, minimum(a, b), acc)
NABLA_GRAPH_VARIADIC(Sum, add(a, b), acc)
NABLA_GRAPH_VARIADIC(Mean, add(a, b), (in.size() == 1 ? acc : detail::visit_floating(acc, what, [&](const auto& s) -> Value {
  using T = typename std::decay_t<decltype(s)>::value_type;
  return div(s, static_cast<T>(in.size()));
})))
#undef NABLA_GRAPH_VARIADIC

// Where(condition, x, y).
inline std::unique_ptr<OpKernel> make_Where(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 3, 3);
  return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const Tensor<bool>& c = in[0].as<bool>(what, "condition");
    out[0] = impl::same_type_binary(in[1], in[2], what,
                                      [&](const auto& a, const auto& b) -> Value { return where(c, a, b); });
  });
}

// Cast(to): ONNX's TensorProto element type numbers.
inline DType dtype_from_onnx(std::int64_t code, const std::string& what) {
  switch (code) {
    case 1: return DType::float32;
    case 2: return DType::uint8;
    case 3: return DType::int8;
    case 6: return DType::int32;
    case 7: return DType::int64;
    case 9: return DType::boolean;
    case 11: return DType::float64;
    default: break;
  }
  throw ValueError(nabla::detail::message(what, ": element type ", code, " (ONNX TensorProto code) is not supported"));
}
inline Value cast_to(const Value& x, DType to) {
  switch (to) {
    case DType::float32: return x.to<float>();
    case DType::float64: return x.to<double>();
    case DType::int64: return x.to<std::int64_t>();
    case DType::int32: return x.to<std::int32_t>();
    case DType::int8: return x.to<std::int8_t>();
    case DType::uint8: return x.to<std::uint8_t>();
    case DType::boolean: return x.to<bool>();
    case DType::undefined: break;
  }
  throw ValueError("Cast: undefined target type");
}
inline std::unique_ptr<OpKernel> make_Cast(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 1, 1);
  const DType to = dtype_from_onnx(node.attr_int("to"), node.describe());
  return detail::kernel([to](const std::vector<Value>& in, std::vector<Value>& out) { out[0] = cast_to(in[0], to); });
}

// --- Reductions ------------------------------------------------------------
// ReduceMean/Sum/Max/Min/Prod: axes as an attribute (ReduceSum takes them as
// an input from opset 13, the others from 18); keepdims defaults to 1; no
// axes reduces everything (unless noop_with_empty_axes).
namespace impl {
template <class F>
std::unique_ptr<OpKernel> reduce_kernel(const Node& node, const KernelContext& ctx, bool axes_input, F f) {
  const std::vector<std::int64_t> attr_axes = node.attr_ints("axes");
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  const bool noop_empty = node.attr_int("noop_with_empty_axes", 0) != 0;
  (void)ctx;
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    std::vector<std::int64_t> axes = attr_axes;
    if (axes_input && in.size() > 1 && in[1].defined()) axes = detail::int_list(in[1], what + " axes");
    if (axes.empty() && noop_empty) {
      out[0] = in[0];
      return;
    }
    out[0] = detail::visit_numeric(in[0], what, [&](const auto& x) -> Value {
      Shape all_axes;
      if (axes.empty()) {
        for (std::size_t d = 0; d < x.ndim(); ++d) all_axes.push_back(static_cast<std::int64_t>(d));
      } else {
        for (std::int64_t a : axes) all_axes.push_back(a);
      }
      return f(x, all_axes, keepdims);
    });
  });
}
}  // namespace impl

inline std::unique_ptr<OpKernel> make_ReduceMean(const Node& node, const KernelContext& ctx) {
  return impl::reduce_kernel(node, ctx, ctx.opset >= 18, [what = node.describe()](const auto& x, const Shape& axes, bool keep) -> Value {
    using T = typename std::decay_t<decltype(x)>::value_type;
    if constexpr (std::is_floating_point_v<T>) {
      return mean(x, axes, keep);
    } else {
      throw ValueError(what + ": ReduceMean of integers is not supported");
      return x;
    }
  });
}
inline std::unique_ptr<OpKernel> make_ReduceSum(const Node& node, const KernelContext& ctx) {
  return impl::reduce_kernel(node, ctx, ctx.opset >= 13, [](const auto& x, const Shape& axes, bool keep) -> Value {
    using T = typename std::decay_t<decltype(x)>::value_type;
    return sum(x, axes, keep).template to<T>();  // ONNX keeps the input type
  });
}
inline std::unique_ptr<OpKernel> make_ReduceMax(const Node& node, const KernelContext& ctx) {
  return impl::reduce_kernel(node, ctx, ctx.opset >= 18,
                               [](const auto& x, const Shape& axes, bool keep) -> Value { return max(x, axes, keep); });
}
inline std::unique_ptr<OpKernel> make_ReduceMin(const Node& node, const KernelContext& ctx) {
  return impl::reduce_kernel(node, ctx, ctx.opset >= 18,
                               [](const auto& x, const Shape& axes, bool keep) -> Value { return min(x, axes, keep); });
}

// ArgMax/ArgMin(axis, keepdims); select_last_index is not supported.
inline std::unique_ptr<OpKernel> make_ArgMax(const Node& node, const KernelContext&) {
  const std::int64_t axis = node.attr_int("axis", 0);
  const bool keep = node.attr_int("keepdims", 1) != 0;
  if (node.attr_int("select_last_index", 0) != 0) throw ValueError(node.describe() + ": select_last_index=1 is not supported");
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_numeric(in[0], what, [&](const auto& x) -> Value { return argmax(x, axis, keep); });
  });
}
inline std::unique_ptr<OpKernel> make_ArgMin(const Node& node, const KernelContext&) {
  const std::int64_t axis = node.attr_int("axis", 0);
  const bool keep = node.attr_int("keepdims", 1) != 0;
  if (node.attr_int("select_last_index", 0) != 0) throw ValueError(node.describe() + ": select_last_index=1 is not supported");
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_numeric(in[0], what, [&](const auto& x) -> Value { return argmin(x, axis, keep); });
  });
}

// Softmax/LogSoftmax: from opset 13 along `axis` (default -1); before, the
// input is read as 2-D [prod(shape[:axis]), prod(shape[axis:])] (default 1).
namespace impl {
inline std::unique_ptr<OpKernel> softmax_kernel(const Node& node, const KernelContext& ctx, bool log) {
  const bool modern = ctx.opset >= 13;
  const std::int64_t axis = node.attr_int("axis", modern ? -1 : 1);
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& x) -> Value {
      if (modern) return log ? log_softmax(x, axis) : softmax(x, axis);
      const std::size_t a = normalize_axis(axis, x.ndim(), "Softmax");
      std::int64_t rows = 1;
      for (std::size_t d = 0; d < a; ++d) rows *= x.shape()[d];
      const auto flat = x.reshape(Shape{rows, rows == 0 ? 0 : x.numel() / std::max<std::int64_t>(rows, 1)});
      return (log ? log_softmax(flat, 1) : softmax(flat, 1)).reshape(x.shape());
    });
  });
}
}  // namespace impl
inline std::unique_ptr<OpKernel> make_Softmax(const Node& node, const KernelContext& ctx) {
  return impl::softmax_kernel(node, ctx, false);
}
inline std::unique_ptr<OpKernel> make_LogSoftmax(const Node& node, const KernelContext& ctx) {
  return impl::softmax_kernel(node, ctx, true);
}

// --- Matrix products -------------------------------------------------------
inline std::unique_ptr<OpKernel> make_MatMul(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 2);
  return detail::kernel([what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = impl::same_type_binary(in[0], in[1], what, [](const auto& a, const auto& b) -> Value {
      using T = typename std::decay_t<decltype(a)>::value_type;
      if constexpr (std::is_floating_point_v<T>) {
        return matmul(a, b);
      } else {
        return matmul(a.template to<double>(), b.template to<double>()).template to<T>();
      }
    });
  });
}

// Gemm: alpha * A' B' + beta * C, A' = A or A^T, B' = B or B^T. With a
// constant B (the weights) and alpha = beta = 1, transB = 1 and a 1-D C, it
// runs as nn.Linear's fused product.
inline std::unique_ptr<OpKernel> make_Gemm(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 3);
  const double alpha = node.attr_float("alpha", 1.0), beta = node.attr_float("beta", 1.0);
  const bool trans_a = node.attr_int("transA", 0) != 0, trans_b = node.attr_int("transB", 0) != 0;
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& a) -> Value {
      using T = typename std::decay_t<decltype(a)>::value_type;
      const Tensor<T>& b = in[1].as<T>(what, "B");
      if (a.ndim() != 2 || b.ndim() != 2) {
        throw ShapeError(nabla::detail::message(what, ": A and B must be 2-D, got ", to_string(a.shape()), " and ",
                                                to_string(b.shape())));
      }
      const bool has_c = in.size() > 2 && in[2].defined();
      if (!trans_a && trans_b && alpha == 1.0 && (beta == 1.0 || !has_c) &&
          (!has_c || in[2].shape().size() == 1)) {
        return linear(a, b, has_c ? in[2].as<T>(what, "C") : Tensor<T>());
      }
      Tensor<T> y = matmul(trans_a ? a.t() : a, trans_b ? b.t() : b);
      if (alpha != 1.0) y = mul(y, static_cast<T>(alpha));
      if (has_c) y = add(y, beta == 1.0 ? in[2].as<T>(what, "C") : mul(in[2].as<T>(what, "C"), static_cast<T>(beta)));
      return y;
    });
  });
}

}  // namespace nabla::graph::ops

// Runtime kernels added for the model zoo's exports (scripts/onnx_zoo.py):
// Mod (Swin's window shifts), ScatterND (Swin's attention masks) and Einsum
// (MaxViT's attention).
#pragma once

#include <cmath>
#include <memory>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "nabla/graph/kernel.hpp"
#include "nabla/ops/compare.hpp"
#include "nabla/ops/einsum.hpp"

namespace nabla::graph::ops {

// Mod(a, b) with broadcasting. fmod=0 (the default): the result takes the
// divisor's sign, like Python's % and torch.remainder (floats too, as ONNX
// Runtime users would expect of torch exports); fmod=1: the dividend's sign,
// like C's fmod and torch.fmod. Integer division by zero is an error.
inline std::unique_ptr<OpKernel> make_Mod(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 2);
  const bool c_fmod = node.attr_int("fmod", 0) != 0;
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    if (in[0].dtype() != in[1].dtype()) {
      throw ValueError(nabla::detail::message(what, ": inputs have different types (", dtype_name(in[0].dtype()), " and ",
                                              dtype_name(in[1].dtype()), ")"));
    }
    out[0] = detail::visit_numeric(in[0], what, [&](const auto& a) -> Value {
      using T = typename std::decay_t<decltype(a)>::value_type;
      const Tensor<T>& b = in[1].as<T>(what);
      if constexpr (std::is_floating_point_v<T>) {
        return nabla::detail::map2<T>(a, b, [c_fmod](T x, T y) {
          const T r = std::fmod(x, y);
          return !c_fmod && r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
        }, "Mod");
      } else {
        for (T v : b.to_vector()) {
          if (v == 0) throw ValueError(what + ": integer modulo by zero");
        }
        return nabla::detail::map2<T>(a, b, [c_fmod](T x, T y) {
          const T r = static_cast<T>(x % y);
          return static_cast<T>(!c_fmod && r != 0 && ((r < 0) != (y < 0)) ? r + y : r);
        }, "Mod");
      }
    });
  });
}

// ScatterND(data, indices [..., k], updates [indices.shape[:-1] + data.shape[k:]]):
// a copy of data with each indexed slice replaced (reduction "none") or
// combined ("add", "mul"); negative indices count from the end.
inline std::unique_ptr<OpKernel> make_ScatterND(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 3, 3);
  const std::string reduction = node.attr_string("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul") {
    throw ValueError(node.describe() + ": unsupported reduction '" + reduction + "' (none, add, mul)");
  }
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::vector<std::int64_t> idx = detail::int_list(in[1], what + " indices");
    const Shape ishape = in[1].shape();
    out[0] = detail::visit_numeric(in[0], what, [&](const auto& data) -> Value {
      using T = typename std::decay_t<decltype(data)>::value_type;
      const Tensor<T>& updates = in[2].as<T>(what, "updates");
      const Shape& dshape = data.shape();
      const std::size_t k = ishape.size() == 0 ? 0 : static_cast<std::size_t>(ishape[ishape.size() - 1]);
      // updates' shape must be indices.shape[:-1] + data.shape[k:].
      Shape expect;
      for (std::size_t d = 0; d + 1 < ishape.size(); ++d) expect.push_back(ishape[d]);
      for (std::size_t d = k; d < dshape.size(); ++d) expect.push_back(dshape[d]);
      if (ishape.size() == 0 || k > dshape.size() || !(updates.shape() == expect)) {
        throw ShapeError(nabla::detail::message(what, ": data ", to_string(dshape), ", indices ", to_string(ishape),
                                                " and updates ", to_string(updates.shape()), " do not fit"));
      }
      std::int64_t slice = 1;
      for (std::size_t d = k; d < dshape.size(); ++d) slice *= dshape[d];
      std::vector<T> result = data.to_vector();
      const std::vector<T> upd = updates.to_vector();
      std::size_t tuples = 1;
      for (std::size_t d = 0; d + 1 < ishape.size(); ++d) tuples *= static_cast<std::size_t>(ishape[d]);
      for (std::size_t t = 0; t < tuples; ++t) {
        std::int64_t offset = 0;
        for (std::size_t d = 0; d < k; ++d) {
          std::int64_t i = idx[t * k + d];
          if (i < -dshape[d] || i >= dshape[d]) {
            throw IndexError(nabla::detail::message(what, ": index ", i, " is out of range for axis ", d, " of shape ",
                                                    to_string(dshape)));
          }
          offset = offset * dshape[d] + (i < 0 ? i + dshape[d] : i);
        }
        offset *= slice;
        for (std::int64_t j = 0; j < slice; ++j) {
          T& r = result[static_cast<std::size_t>(offset + j)];
          const T u = upd[t * static_cast<std::size_t>(slice) + static_cast<std::size_t>(j)];
          r = reduction == "add" ? static_cast<T>(r + u) : reduction == "mul" ? static_cast<T>(r * u) : u;
        }
      }
      return Tensor<T>(dshape, std::move(result));
    });
  });
}

// Einsum(equation, inputs...): torch.einsum's semantics (nabla::einsum) on
// float tensors of one type.
inline std::unique_ptr<OpKernel> make_Einsum(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 1, 1 << 20);
  const std::string equation = node.attr_string("equation", "");
  if (equation.empty()) throw ValueError(node.describe() + ": no equation attribute");
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    out[0] = detail::visit_floating(in[0], what, [&](const auto& first) -> Value {
      using T = typename std::decay_t<decltype(first)>::value_type;
      std::vector<Tensor<T>> operands;
      for (const Value& v : in) operands.push_back(v.as<T>(what));
      return einsum(equation, operands);
    });
  });
}

}  // namespace nabla::graph::ops

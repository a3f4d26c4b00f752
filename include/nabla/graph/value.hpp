// graph::DType and graph::Value: the element types a graph's values take
// (ONNX shape arithmetic is int64, masks are bool) and a type-erased handle
// over Tensor<T> for the runtime, which moves values of any dtype.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla::graph {

enum class DType : std::uint8_t { undefined, float32, float64, int64, int32, int8, uint8, boolean };

inline const char* dtype_name(DType d) noexcept {
  switch (d) {
    case DType::undefined: return "undefined";
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
    case DType::int32: return "int32";
    case DType::int8: return "int8";
    case DType::uint8: return "uint8";
    case DType::boolean: return "bool";
  }
  return "unknown";
}

// The DType of element type T.
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::float32;
  else if constexpr (std::is_same_v<T, double>) return DType::float64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return DType::int64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::int32;
  else if constexpr (std::is_same_v<T, std::int8_t>) return DType::int8;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return DType::uint8;
  else if constexpr (std::is_same_v<T, bool>) return DType::boolean;
  else static_assert(nabla::detail::dependent_false<T>, "graph::Value holds float, double, int64, int32, int8, uint8 or bool");
}

inline std::size_t dtype_size(DType d) noexcept {
  switch (d) {
    case DType::float64: case DType::int64: return 8;
    case DType::float32: case DType::int32: return 4;
    case DType::int8: case DType::uint8: case DType::boolean: return 1;
    case DType::undefined: return 0;
  }
  return 0;
}

// A tensor of any graph dtype (or none). Copies share storage, as Tensor's do.
class Value {
 public:
  Value() = default;
  template <class T>
  Value(Tensor<T> t) : v_(std::move(t)) {}  // NOLINT: implicit from any Tensor<T>

  bool defined() const noexcept { return !std::holds_alternative<std::monostate>(v_) && visit_defined(); }
  DType dtype() const noexcept {
    return std::visit([](const auto& t) -> DType {
      if constexpr (std::is_same_v<std::decay_t<decltype(t)>, std::monostate>) {
        return DType::undefined;
      } else {
        return dtype_of<typename std::decay_t<decltype(t)>::value_type>();
      }
    }, v_);
  }
  const Shape& shape() const {
    static const Shape none;
    return std::visit([](const auto& t) -> const Shape& {
      if constexpr (std::is_same_v<std::decay_t<decltype(t)>, std::monostate>) {
        return none;
      } else {
        return t.shape();
      }
    }, v_);
  }
  std::int64_t numel() const { return defined() ? shape().numel() : 0; }

  template <class T>
  bool is() const noexcept { return std::holds_alternative<Tensor<T>>(v_); }
  // The tensor, which must have element type T; `what` names the value in
  // the error ("Conv input X").
  template <class T>
  const Tensor<T>& as(const std::string& what = "value") const {
    return as<T>(what, "");
  }
  // The same, naming the value `owner` + " " + `role` ("Conv node 'c1'
  // weight"): the message is only built on failure, so kernels call this
  // on every run without allocating.
  template <class T>
  const Tensor<T>& as(const std::string& owner, const char* role) const {
    if (const auto* t = std::get_if<Tensor<T>>(&v_)) return *t;
    throw ValueError(nabla::detail::message(owner, *role ? " " : "", role, ": expected a ", dtype_name(dtype_of<T>()),
                                            " tensor, got ", dtype_name(dtype()),
                                            defined() ? " of shape " + to_string(shape()) : ""));
  }
  // Calls f(const Tensor<T>&) with the held tensor (not for an undefined value).
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit([&](const auto& t) -> decltype(auto) {
      if constexpr (std::is_same_v<std::decay_t<decltype(t)>, std::monostate>) {
        throw ValueError("graph::Value: use of an undefined value");
        return f(Tensor<float>());
      } else {
        return f(t);
      }
    }, v_);
  }
  // A copy converted to element type U (the same handle when already U).
  template <class U>
  Tensor<U> to() const {
    return visit([](const auto& t) -> Tensor<U> {
      if constexpr (std::is_same_v<typename std::decay_t<decltype(t)>::value_type, U>) {
        return t;
      } else {
        return t.template to<U>();
      }
    });
  }

 private:
  bool visit_defined() const noexcept {
    return std::visit([](const auto& t) {
      if constexpr (std::is_same_v<std::decay_t<decltype(t)>, std::monostate>) {
        return false;
      } else {
        return t.defined();
      }
    }, v_);
  }

  std::variant<std::monostate, Tensor<float>, Tensor<double>, Tensor<std::int64_t>, Tensor<std::int32_t>,
               Tensor<std::int8_t>, Tensor<std::uint8_t>, Tensor<bool>>
      v_;
};

}  // namespace nabla::graph

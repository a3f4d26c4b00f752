// ONNX's generated protobuf classes (Debian's libonnx-dev) and the mapping
// between their element types and graph::DType, shared by load and save.
// The only place, with onnx/load.hpp and onnx/save.hpp, that sees protobuf.
#pragma once

// libonnx_proto is built with these; a translation unit compiled without
// them would see other class layouts than the library's.
#if !defined(ONNX_NAMESPACE) || !defined(ONNX_ML)
#error "nabla/onnx needs ONNX_NAMESPACE=onnx and ONNX_ML=1: link the CMake target nabla::onnx (or pass -DONNX_NAMESPACE=onnx -DONNX_ML=1)"
#endif

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include <onnx/onnx_pb.h>

#include "nabla/graph/value.hpp"

namespace nabla::onnx::detail {

namespace proto = ::ONNX_NAMESPACE;

// "FLOAT", "INT64", ... for messages; never fails on a value outside the enum.
inline std::string onnx_dtype_name(std::int32_t data_type) {
  if (!proto::TensorProto_DataType_IsValid(data_type)) return "unknown element type " + std::to_string(data_type);
  return proto::TensorProto_DataType_Name(static_cast<proto::TensorProto_DataType>(data_type));
}

// The graph dtype of an ONNX element type, or DType::undefined where nabla
// has none (FLOAT16 is handled by the loader: it widens to float32).
inline graph::DType dtype_from_onnx(std::int32_t data_type) {
  switch (data_type) {
    case proto::TensorProto::FLOAT: return graph::DType::float32;
    case proto::TensorProto::DOUBLE: return graph::DType::float64;
    case proto::TensorProto::INT64: return graph::DType::int64;
    case proto::TensorProto::INT32: return graph::DType::int32;
    case proto::TensorProto::INT8: return graph::DType::int8;
    case proto::TensorProto::UINT8: return graph::DType::uint8;
    case proto::TensorProto::BOOL: return graph::DType::boolean;
    default: return graph::DType::undefined;
  }
}

inline std::int32_t dtype_to_onnx(graph::DType dtype) {
  switch (dtype) {
    case graph::DType::float32: return proto::TensorProto::FLOAT;
    case graph::DType::float64: return proto::TensorProto::DOUBLE;
    case graph::DType::int64: return proto::TensorProto::INT64;
    case graph::DType::int32: return proto::TensorProto::INT32;
    case graph::DType::int8: return proto::TensorProto::INT8;
    case graph::DType::uint8: return proto::TensorProto::UINT8;
    case graph::DType::boolean: return proto::TensorProto::BOOL;
    case graph::DType::undefined: return proto::TensorProto::UNDEFINED;
  }
  return proto::TensorProto::UNDEFINED;
}

// ONNX stores tensors little-endian; reverses an element's bytes on a big-endian host.
inline void to_little_endian(void* element, std::size_t size) noexcept {
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = static_cast<unsigned char*>(element);
    for (std::size_t i = 0; i < size / 2; ++i) std::swap(b[i], b[size - 1 - i]);
  } else {
    (void)element;
    (void)size;
  }
}

// IEEE 754 half -> single (exact: every half is a float).
inline float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits = 0;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf, nan
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa != 0) {
    // Subnormal: shift the leading one into the implicit bit.
    std::uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  } else {
    bits = sign;
  }
  float f = 0.0f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace nabla::onnx::detail

// nabla-run's input files: a small reader for NumPy .npy arrays
// (little-endian float32, float64 and int64, C order; format versions 1-3)
// and for raw files holding a tensor's bytes. Errors are nabla::IOError /
// nabla::ValueError naming the file and the byte offset of the problem.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nabla/core/error.hpp>
#include <nabla/graph/value.hpp>

namespace nabla_run {

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw nabla::IOError(nabla::detail::message(path, ": cannot open the file"));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw nabla::IOError(nabla::detail::message(path, ": cannot read the file"));
  return bytes;
}

// The header's value for `key` ("'descr': '<f4'" -> "<f4"), as text up to
// the next top-level comma or closing brace; the position of the value in
// the file goes to `offset`.
inline std::string npy_header_value(const std::string& path, const std::string& header, std::size_t header_start,
                                    const std::string& key, std::size_t& offset) {
  const std::size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) {
    throw nabla::IOError(nabla::detail::message(path, ": offset ", header_start, ": the .npy header has no '", key,
                                                "' entry (header: ", header, ")"));
  }
  std::size_t pos = header.find(':', at);
  if (pos == std::string::npos) {
    throw nabla::IOError(nabla::detail::message(path, ": offset ", header_start + at, ": malformed .npy header"));
  }
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  offset = header_start + pos;
  std::size_t end = pos;
  int depth = 0;
  while (end < header.size()) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++end;
  }
  if (depth != 0 || end == header.size()) {
    throw nabla::IOError(nabla::detail::message(path, ": offset ", offset, ": malformed .npy header value for '", key, "'"));
  }
  return header.substr(pos, end - pos);
}

template <class T>
nabla::graph::Value npy_tensor(const std::string& bytes, std::size_t data_offset, const nabla::Shape& shape) {
  nabla::Tensor<T> t(shape);
  if (shape.numel() > 0) std::memcpy(t.data(), bytes.data() + data_offset, static_cast<std::size_t>(shape.numel()) * sizeof(T));
  return t;
}

// Reads `path` as a .npy array: float32, float64 or int64, little-endian,
// C order.
inline nabla::graph::Value read_npy(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  static const char magic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.compare(0, 6, magic, 6) != 0) {
    throw nabla::IOError(nabla::detail::message(path, ": offset 0: not a .npy file (no \\x93NUMPY magic)"));
  }
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };
  const std::uint32_t major = byte(6);
  std::size_t header_start = 0, header_len = 0;
  if (major == 1) {
    header_start = 10;
    header_len = byte(8) | (byte(9) << 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw nabla::IOError(nabla::detail::message(path, ": offset 8: the .npy header is truncated"));
    header_start = 12;
    header_len = byte(8) | (byte(9) << 8) | (byte(10) << 16) | (byte(11) << 24);
  } else {
    throw nabla::IOError(nabla::detail::message(path, ": offset 6: unsupported .npy format version ", major));
  }
  if (header_len > bytes.size() - header_start) {
    throw nabla::IOError(nabla::detail::message(path, ": offset 8: the .npy header says ", header_len,
                                                " bytes but the file has ", bytes.size() - header_start, " after it"));
  }
  const std::string header = bytes.substr(header_start, header_len);
  const std::size_t data_offset = header_start + header_len;

  std::size_t offset = 0;
  std::string descr = npy_header_value(path, header, header_start, "descr", offset);
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  nabla::graph::DType dtype = nabla::graph::DType::undefined;
  std::size_t item = 0;
  if (descr == "<f4") dtype = nabla::graph::DType::float32, item = 4;
  if (descr == "<f8") dtype = nabla::graph::DType::float64, item = 8;
  if (descr == "<i8") dtype = nabla::graph::DType::int64, item = 8;
  if (item == 0) {
    throw nabla::ValueError(nabla::detail::message(path, ": offset ", offset, ": unsupported .npy dtype '", descr,
                                                   "' (nabla-run reads little-endian '<f4', '<f8' and '<i8')"));
  }
  const std::string fortran = npy_header_value(path, header, header_start, "fortran_order", offset);
  if (fortran != "False") {
    throw nabla::ValueError(nabla::detail::message(path, ": offset ", offset, ": fortran_order is ", fortran,
                                                   "; save a C-order array (numpy.ascontiguousarray)"));
  }
  const std::string shape_text = npy_header_value(path, header, header_start, "shape", offset);
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    throw nabla::IOError(nabla::detail::message(path, ": offset ", offset, ": malformed .npy shape '", shape_text, "'"));
  }
  std::vector<std::int64_t> extents;
  std::int64_t numel = 1;
  std::size_t i = 1;
  while (i + 1 < shape_text.size()) {
    while (i + 1 < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) ++i;
    if (i + 1 >= shape_text.size()) break;
    std::int64_t v = 0;
    const std::size_t begin = i;
    while (i + 1 < shape_text.size() && shape_text[i] >= '0' && shape_text[i] <= '9') {
      if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        throw nabla::ValueError(nabla::detail::message(path, ": offset ", offset + begin, ": absurd .npy dimension"));
      }
      v = v * 10 + (shape_text[i] - '0');
      ++i;
    }
    if (i == begin) {
      throw nabla::IOError(nabla::detail::message(path, ": offset ", offset + i, ": malformed .npy shape '", shape_text, "'"));
    }
    if (v > 0 && numel > std::numeric_limits<std::int64_t>::max() / v) {
      throw nabla::ValueError(nabla::detail::message(path, ": offset ", offset, ": absurd .npy shape ", shape_text));
    }
    numel *= v;
    extents.push_back(v);
  }
  const std::size_t available = bytes.size() - data_offset;
  if (static_cast<std::uint64_t>(numel) > available / item || static_cast<std::size_t>(numel) * item != available) {
    throw nabla::IOError(nabla::detail::message(path, ": offset ", data_offset, ": shape ", shape_text, " of '", descr,
                                                "' needs ", static_cast<std::uint64_t>(numel) * item,
                                                " bytes of data, the file has ", available));
  }
  const nabla::Shape shape(extents);
  switch (dtype) {
    case nabla::graph::DType::float32: return npy_tensor<float>(bytes, data_offset, shape);
    case nabla::graph::DType::float64: return npy_tensor<double>(bytes, data_offset, shape);
    default: return npy_tensor<std::int64_t>(bytes, data_offset, shape);
  }
}

// Reads `path` as the raw bytes of a float32 tensor of `shape`.
inline nabla::graph::Value read_raw_float32(const std::string& path, const nabla::Shape& shape) {
  const std::string bytes = read_file_bytes(path);
  const std::uint64_t expected = static_cast<std::uint64_t>(shape.numel()) * sizeof(float);
  if (bytes.size() != expected) {
    throw nabla::IOError(nabla::detail::message(path, ": offset 0: a raw float32 tensor of shape ", nabla::to_string(shape),
                                                " is ", expected, " bytes, the file has ", bytes.size()));
  }
  return npy_tensor<float>(bytes, 0, shape);
}

}  // namespace nabla_run

// The safetensors format: reading and writing named tensors (8-byte
// little-endian header length, JSON header, raw little-endian data), with
// every field of a file validated before any tensor is allocated.
#pragma once

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/io/atomic_file.hpp"
#include "nabla/io/json_header.hpp"

namespace nabla::io {

// Element types of the format. nabla reads and writes f32, f64 and i64; the
// others are recognised (so a header can be inspected) but not loaded.
enum class Dtype { boolean, u8, i8, i16, u16, i32, u32, i64, u64, f16, bf16, f32, f64, f8_e4m3, f8_e5m2 };

// The tensors nabla reads and writes.
using TensorVariant = std::variant<Tensor<float>, Tensor<double>, Tensor<std::int64_t>>;
using NamedTensors = std::vector<std::pair<std::string, TensorVariant>>;
// The header's free-form "__metadata__" (string to string, as the format says).
using Metadata = std::map<std::string, std::string>;

// One header entry: where a tensor's bytes lie in the data section.
struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::f32;
  Shape shape;
  std::uint64_t begin = 0;  // byte offsets relative to the data section
  std::uint64_t end = 0;
};

// A validated header. `tensors` are sorted by offset.
struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;
  Metadata metadata;
  std::uint64_t data_offset = 0;  // file offset of the data section
  std::uint64_t data_size = 0;
};

// A whole file: tensors in the order of their data, and the metadata.
struct SafetensorsFile {
  NamedTensors tensors;
  Metadata metadata;
};

// Headers longer than this are refused (the format's own reader uses 100 MB).
inline constexpr std::uint64_t max_header_bytes = 100'000'000;

// "F32", "I64", ... as the format spells them.
inline const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::boolean: return "BOOL";
    case Dtype::u8: return "U8";
    case Dtype::i8: return "I8";
    case Dtype::i16: return "I16";
    case Dtype::u16: return "U16";
    case Dtype::i32: return "I32";
    case Dtype::u32: return "U32";
    case Dtype::i64: return "I64";
    case Dtype::u64: return "U64";
    case Dtype::f16: return "F16";
    case Dtype::bf16: return "BF16";
    case Dtype::f32: return "F32";
    case Dtype::f64: return "F64";
    case Dtype::f8_e4m3: return "F8_E4M3";
    case Dtype::f8_e5m2: return "F8_E5M2";
  }
  return "?";
}

inline std::size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::boolean:
    case Dtype::u8:
    case Dtype::i8:
    case Dtype::f8_e4m3:
    case Dtype::f8_e5m2: return 1;
    case Dtype::i16:
    case Dtype::u16:
    case Dtype::f16:
    case Dtype::bf16: return 2;
    case Dtype::i32:
    case Dtype::u32:
    case Dtype::f32: return 4;
    case Dtype::i64:
    case Dtype::u64:
    case Dtype::f64: return 8;
  }
  return 0;
}

// The dtype of a tensor variant.
inline Dtype dtype_of(const TensorVariant& t) {
  switch (t.index()) {
    case 0: return Dtype::f32;
    case 1: return Dtype::f64;
    default: return Dtype::i64;
  }
}

// The shape of a tensor variant.
inline const Shape& shape_of(const TensorVariant& t) {
  return std::visit([](const auto& x) -> const Shape& { return x.shape(); }, t);
}

// A tensor variant converted to element type T (a new tensor).
template <class T>
Tensor<T> tensor_as(const TensorVariant& t) {
  return std::visit(
      [](const auto& x) -> Tensor<T> {
        using U = typename std::decay_t<decltype(x)>::value_type;
        if constexpr (std::is_same_v<U, T>) {
          return x.clone();
        } else {
          return x.template to<T>();
        }
      },
      t);
}

namespace detail {

using nabla::detail::message;

inline bool dtype_from_name(const std::string& name, Dtype& out) {
  static constexpr Dtype all[] = {Dtype::boolean, Dtype::u8,  Dtype::i8,   Dtype::i16, Dtype::u16,
                                  Dtype::i32,     Dtype::u32, Dtype::i64,  Dtype::u64, Dtype::f16,
                                  Dtype::bf16,    Dtype::f32, Dtype::f64,  Dtype::f8_e4m3, Dtype::f8_e5m2};
  for (Dtype d : all) {
    if (name == dtype_name(d)) {
      out = d;
      return true;
    }
  }
  return false;
}

inline bool dtype_supported(Dtype d) { return d == Dtype::f32 || d == Dtype::f64 || d == Dtype::i64; }

// Byte order of the format is little-endian; swap on big-endian hosts.
inline void to_from_little_endian(void* data, std::size_t element_size, std::size_t count) {
  if constexpr (std::endian::native == std::endian::little) {
    (void)data, (void)element_size, (void)count;
  } else {
    auto* bytes = static_cast<unsigned char*>(data);
    for (std::size_t i = 0; i < count; ++i) std::reverse(bytes + i * element_size, bytes + (i + 1) * element_size);
  }
}

// Raised with the op, the file and the problem.
[[noreturn]] inline void corrupt(const char* op, const std::string& name, const std::string& problem) {
  throw IOError(message(op, ": ", name, ": ", problem));
}

inline std::uint64_t stream_size(std::istream& in, const char* op, const std::string& name) {
  in.clear();
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (!in || size < 0) corrupt(op, name, "cannot determine the file size");
  in.seekg(0, std::ios::beg);
  return static_cast<std::uint64_t>(size);
}

inline void read_exact(std::istream& in, void* dst, std::uint64_t offset, std::uint64_t n, const char* op,
                       const std::string& name) {
  if (n == 0) return;
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset), std::ios::beg);
  in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
  if (!in || static_cast<std::uint64_t>(in.gcount()) != n) {
    corrupt(op, name, message("read of ", n, " bytes at offset ", offset, " failed (file changed or unreadable)"));
  }
}

// The members of an object in key order: entries are checked (and zero-size
// tensors at one offset listed) in the same order whatever order the writer chose.
inline std::vector<const JsonMember*> sorted_by_key(const JsonObject& object) {
  std::vector<const JsonMember*> out;
  out.reserve(object.size());
  for (const JsonMember& member : object) out.push_back(&member);
  std::sort(out.begin(), out.end(), [](const JsonMember* a, const JsonMember* b) { return a->key < b->key; });
  return out;
}

// Parses and validates the header of a stream holding `size` bytes.
inline SafetensorsHeader parse_header(std::istream& in, std::uint64_t size, const char* op, const std::string& name) {
  if (size < 8) corrupt(op, name, message("the file is ", size, " bytes, too small for a safetensors header (8)"));
  unsigned char prefix[8];
  read_exact(in, prefix, 0, 8, op, name);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | prefix[i];
  if (n > max_header_bytes) {
    corrupt(op, name, message("header length ", n, " exceeds the limit of ", max_header_bytes, " bytes (offset 0)"));
  }
  if (n > size - 8) {
    corrupt(op, name, message("header length ", n, " exceeds the ", size - 8, " bytes that follow it (offset 0)"));
  }
  std::string text(static_cast<std::size_t>(n), '\0');
  read_exact(in, text.data(), 8, n, op, name);

  JsonValue header;
  try {
    header = parse_json(text);
  } catch (const JsonDuplicateKey& e) {
    // A repeated tensor name would silently shadow the other tensor.
    if (e.depth() == 1) corrupt(op, name, message("the header names '", e.key(), "' twice (offset ", 8 + e.offset(), ")"));
    corrupt(op, name, message("the header names '", e.key(), "' twice in one object (offset ", 8 + e.offset(), ")"));
  } catch (const JsonError& e) {
    corrupt(op, name, message("the header is not valid JSON (offset ", 8 + e.offset(), "): ", e.what()));
  }
  const JsonObject* entries = header.as_object();
  if (entries == nullptr) corrupt(op, name, "the header is not a JSON object (offset 8)");

  SafetensorsHeader out;
  out.data_offset = 8 + n;
  out.data_size = size - 8 - n;
  for (const JsonMember* entry : sorted_by_key(*entries)) {
    const std::string& key = entry->key;
    const JsonValue& value = entry->value;
    if (key == "__metadata__") {
      const JsonObject* metadata = value.as_object();
      if (metadata == nullptr) corrupt(op, name, "__metadata__ must be an object of strings");
      for (const JsonMember* item : sorted_by_key(*metadata)) {
        const std::string* text_value = item->value.as_string();
        if (text_value == nullptr) corrupt(op, name, message("__metadata__ value of '", item->key, "' is not a string"));
        out.metadata.emplace(item->key, *text_value);
      }
      continue;
    }
    const auto bad = [&](const std::string& problem) { corrupt(op, name, message("entry '", key, "': ", problem)); };
    if (value.as_object() == nullptr) bad("expected an object with dtype, shape and data_offsets");
    TensorInfo info;
    info.name = key;

    const JsonValue* dtype = value.find("dtype");
    const std::string* dtype_text = dtype != nullptr ? dtype->as_string() : nullptr;
    if (dtype_text == nullptr) bad("'dtype' is missing or not a string");
    if (!dtype_from_name(*dtype_text, info.dtype)) bad(message("unknown dtype '", *dtype_text, "'"));

    const JsonValue* shape = value.find("shape");
    const JsonArray* extents = shape != nullptr ? shape->as_array() : nullptr;
    if (extents == nullptr) bad("'shape' is missing or not an array");
    // Element count and byte count, checked for overflow extent by extent.
    std::uint64_t bytes = dtype_size(info.dtype);
    for (const JsonValue& extent : *extents) {
      const std::uint64_t* e = extent.as_unsigned();
      if (e == nullptr) bad(message("'shape' ", dump_json(*shape), " holds a value that is not a non-negative integer"));
      if (*e > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          (*e != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / *e)) {
        bad(message("shape ", dump_json(*shape), " is too large (its byte count overflows)"));
      }
      bytes *= *e;
      info.shape.push_back(static_cast<std::int64_t>(*e));
    }

    const JsonValue* offsets = value.find("data_offsets");
    const JsonArray* range = offsets != nullptr ? offsets->as_array() : nullptr;
    if (range == nullptr || range->size() != 2 || (*range)[0].as_unsigned() == nullptr ||
        (*range)[1].as_unsigned() == nullptr) {
      bad("'data_offsets' must be two non-negative integers");
    }
    info.begin = *(*range)[0].as_unsigned();
    info.end = *(*range)[1].as_unsigned();
    if (info.end < info.begin) bad(message("data_offsets [", info.begin, ", ", info.end, "] are reversed"));
    if (info.end > out.data_size) {
      bad(message("data_offsets [", info.begin, ", ", info.end, "] reach past the end of the data section (",
                  out.data_size, " bytes at offset ", out.data_offset, "; the file is truncated or corrupt)"));
    }
    if (info.end - info.begin != bytes) {
      bad(message("shape ", to_string(info.shape), " of ", *dtype_text, " needs ", bytes, " bytes but data_offsets [",
                  info.begin, ", ", info.end, "] span ", info.end - info.begin));
    }
    out.tensors.push_back(std::move(info));
  }

  // The data section must be covered exactly: no overlap, no gap, no tail.
  std::stable_sort(out.tensors.begin(), out.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t cursor = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& t : out.tensors) {
    if (t.begin < cursor) {
      corrupt(op, name, message("entries '", previous->name, "' and '", t.name, "' overlap (data_offsets [",
                                previous->begin, ", ", previous->end, "] and [", t.begin, ", ", t.end, "])"));
    }
    if (t.begin > cursor) {
      corrupt(op, name, message(t.begin - cursor, " bytes before entry '", t.name, "' belong to no tensor (offset ",
                                out.data_offset + cursor, ")"));
    }
    cursor = t.end;
    previous = &t;
  }
  if (cursor != out.data_size) {
    corrupt(op, name, message(out.data_size - cursor, " bytes at the end of the data section belong to no tensor (offset ",
                              out.data_offset + cursor, ")"));
  }
  return out;
}

template <class T>
TensorVariant read_tensor(std::istream& in, const SafetensorsHeader& header, const TensorInfo& info, const char* op,
                          const std::string& name) {
  Tensor<T> t = Tensor<T>::empty(info.shape);
  read_exact(in, t.data(), header.data_offset + info.begin, info.end - info.begin, op, name);
  to_from_little_endian(t.data(), sizeof(T), static_cast<std::size_t>(t.numel()));
  return TensorVariant(std::move(t));
}

inline SafetensorsFile read(std::istream& in, const std::string& name, const char* op) {
  const std::uint64_t size = stream_size(in, op, name);
  SafetensorsHeader header = parse_header(in, size, op, name);
  for (const TensorInfo& t : header.tensors) {
    if (!dtype_supported(t.dtype)) {
      corrupt(op, name, message("entry '", t.name, "': dtype ", dtype_name(t.dtype),
                                " is not supported (nabla reads F32, F64 and I64)"));
    }
  }
  SafetensorsFile out;
  out.metadata = std::move(header.metadata);
  out.tensors.reserve(header.tensors.size());
  for (const TensorInfo& t : header.tensors) {
    switch (t.dtype) {
      case Dtype::f32: out.tensors.emplace_back(t.name, read_tensor<float>(in, header, t, op, name)); break;
      case Dtype::f64: out.tensors.emplace_back(t.name, read_tensor<double>(in, header, t, op, name)); break;
      default: out.tensors.emplace_back(t.name, read_tensor<std::int64_t>(in, header, t, op, name)); break;
    }
  }
  return out;
}

inline std::ifstream open_for_reading(const std::string& path, const char* op) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IOError(message(op, ": ", path, " is a directory, not a file"));
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno != 0 ? errno : ENOENT;
    throw IOError(message(op, ": cannot open ", path, ": ", errno_text(err)));
  }
  return in;
}

inline SafetensorsFile read_file(const std::string& path, const char* op) {
  std::ifstream in = open_for_reading(path, op);
  return read(in, path, op);
}

// Serialises the header and streams the data through an atomic write.
inline void write(const std::string& path, const NamedTensors& tensors, const Metadata& metadata, const char* op) {
  std::set<std::string> names;
  for (const auto& [tensor_name, tensor] : tensors) {
    if (tensor_name == "__metadata__") throw ValueError(message(op, ": '__metadata__' cannot name a tensor"));
    if (!names.insert(tensor_name).second) throw ValueError(message(op, ": the tensor name '", tensor_name, "' appears twice"));
    if (!std::visit([](const auto& x) { return x.defined(); }, tensor)) {
      throw ValueError(message(op, ": the tensor '", tensor_name, "' is undefined"));
    }
  }
  // {"__metadata__":{...},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},...}, written
  // straight to text (compact, in this order, as nlohmann's dump wrote it).
  std::string text = "{";
  try {
    const auto member = [&text](std::string_view key) {
      if (text.size() > 1) text += ',';
      append_json_string(text, key);
      text += ':';
    };
    if (!metadata.empty()) {
      member("__metadata__");
      text += '{';
      bool first = true;
      for (const auto& [k, v] : metadata) {
        if (!first) text += ',';
        first = false;
        append_json_string(text, k);
        text += ':';
        append_json_string(text, v);
      }
      text += '}';
    }
    std::uint64_t offset = 0;
    for (const auto& [tensor_name, tensor] : tensors) {
      const Shape& shape = shape_of(tensor);
      const std::uint64_t bytes = static_cast<std::uint64_t>(shape.numel()) * dtype_size(dtype_of(tensor));
      member(tensor_name);
      text += message("{\"dtype\":\"", dtype_name(dtype_of(tensor)), "\",\"shape\":[");
      for (std::size_t d = 0; d < shape.size(); ++d) text += message(d > 0 ? "," : "", shape[d]);
      text += message("],\"data_offsets\":[", offset, ",", offset + bytes, "]}");
      offset += bytes;
    }
    text += '}';
  } catch (const JsonError& e) {
    throw ValueError(message(op, ": a tensor name or metadata string is not valid UTF-8: ", e.what()));
  }
  // Pad with spaces so the data section starts 8-byte aligned, as the
  // reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  write_atomically(
      path,
      [&](AtomicWriter& out) {
        unsigned char prefix[8];
        std::uint64_t n = text.size();
        for (unsigned char& b : prefix) {
          b = static_cast<unsigned char>(n & 0xff);
          n >>= 8;
        }
        out.write(prefix, 8);
        out.write(text);
        for (const auto& entry : tensors) {
          std::visit(
              [&](const auto& x) {
                using U = typename std::decay_t<decltype(x)>::value_type;
                const auto packed = x.contiguous();
                const auto count = static_cast<std::size_t>(packed.numel());
                if constexpr (std::endian::native == std::endian::little) {
                  out.write(packed.data(), count * sizeof(U));
                } else {
                  const auto swapped = packed.clone();
                  to_from_little_endian(swapped.data(), sizeof(U), count);
                  out.write(swapped.data(), count * sizeof(U));
                }
              },
              entry.second);
        }
      },
      op);
}

}  // namespace detail

// Writes `tensors` (names unique, in this order) and `metadata` to `path`
// atomically. Throws ValueError for bad names, IOError if the file cannot be
// written (the previous file, if any, is then left untouched).
inline void write_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {}) {
  detail::write(path, tensors, metadata, "write_safetensors");
}

// Reads every tensor of a safetensors file (F32, F64 and I64), in the order
// of their data. The whole header is validated before anything is allocated;
// a malformed file gives an IOError naming the file, the problem and, where
// it applies, the byte offset.
inline SafetensorsFile read_safetensors(const std::string& path) {
  return detail::read_file(path, "read_safetensors");
}

// The same from a seekable stream; `name` stands for the file in messages.
inline SafetensorsFile read_safetensors(std::istream& in, const std::string& name) {
  return detail::read(in, name, "read_safetensors");
}

// The validated header alone (names, dtypes, shapes, offsets, metadata).
inline SafetensorsHeader read_safetensors_header(const std::string& path) {
  std::ifstream in = detail::open_for_reading(path, "read_safetensors_header");
  const std::uint64_t size = detail::stream_size(in, "read_safetensors_header", path);
  return detail::parse_header(in, size, "read_safetensors_header", path);
}

}  // namespace nabla::io

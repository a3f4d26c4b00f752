// Printing tensors the way PyTorch's repr does: aligned columns, one shared
// number format, and large tensors summarised with "...".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "nabla/core/tensor.hpp"

namespace nabla {

// How many elements a tensor may have before it is summarised, how many
// items are kept at each end of a summarised axis, and the line width rows
// wrap at (PyTorch: 1000, 3 and 80).
struct PrintOptions {
  std::int64_t threshold = 1000;
  std::int64_t edge_items = 3;
  int precision = 4;
  std::int64_t linewidth = 80;
};

namespace detail {

enum class NumberStyle { integer_valued, fixed, scientific };

// PyTorch's name for T's dtype, or nullptr for its default dtypes (float32
// and int64), which its repr leaves out. Unsigned types PyTorch 1.13 lacks
// get nabla's own name.
template <class T>
const char* dtype_suffix() {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, bool>) {
    return nullptr;
  } else if constexpr (std::is_same_v<T, double>) {
    return "torch.float64";
  } else if constexpr (std::is_same_v<T, long double>) {
    return "nabla.longdouble";
  } else if constexpr (std::is_signed_v<T>) {
    if constexpr (sizeof(T) == 8) return nullptr;
    if constexpr (sizeof(T) == 4) return "torch.int32";
    if constexpr (sizeof(T) == 2) return "torch.int16";
    if constexpr (sizeof(T) == 1) return "torch.int8";
  } else {
    if constexpr (sizeof(T) == 1) return "torch.uint8";
    if constexpr (sizeof(T) == 2) return "nabla.uint16";
    if constexpr (sizeof(T) == 4) return "nabla.uint32";
    if constexpr (sizeof(T) == 8) return "nabla.uint64";
  }
}

template <class T>
std::string format_number(T value, NumberStyle style, int precision) {
  char buf[64];
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "True" : "False";
  } else if constexpr (std::is_integral_v<T>) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value));
  } else {
    const double v = static_cast<double>(value);
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    switch (style) {
      case NumberStyle::integer_valued: std::snprintf(buf, sizeof buf, "%.0f.", v); break;
      case NumberStyle::fixed: std::snprintf(buf, sizeof buf, "%.*f", precision, v); break;
      case NumberStyle::scientific: std::snprintf(buf, sizeof buf, "%.*e", precision, v); break;
    }
  }
  return buf;
}

template <class T>
class TensorPrinter {
 public:
  TensorPrinter(const Tensor<T>& t, const PrintOptions& options)
      : tensor_(t), options_(options), summarise_(t.numel() > options.threshold) {
    choose_style();
  }

  void print(std::ostream& out) const {
    std::ostringstream body;
    body << "tensor(";
    std::vector<std::string> suffixes;
    if (tensor_.ndim() == 0) {
      body << padded(*tensor_.data());
    } else if (tensor_.numel() == 0) {
      body << "[]";
      if (tensor_.ndim() != 1) {  // PyTorch names the shape as a Python tuple
        std::ostringstream size;
        size << "size=(";
        for (std::size_t i = 0; i < tensor_.ndim(); ++i) size << (i ? ", " : "") << tensor_.shape()[i];
        size << ")";
        suffixes.push_back(size.str());
      }
    } else {
      print_axis(body, 0, tensor_.offset(), 7);
    }
    // An empty tensor has no digits to tell int64 from float, so PyTorch names
    // every dtype but its default float there.
    if (const char* name = dtype_suffix<T>()) {
      suffixes.push_back(std::string("dtype=") + name);
    } else if (tensor_.numel() == 0 && !std::is_same_v<T, float>) {
      suffixes.push_back(std::is_same_v<T, bool> ? "dtype=torch.bool" : "dtype=torch.int64");
    }
    out << with_suffixes(body.str(), suffixes);
  }

 private:
  // PyTorch's _add_suffixes: each suffix follows ", " on the last line, or
  // moves to a new line indented under "tensor(" when it would pass the
  // line width.
  std::string with_suffixes(std::string text, const std::vector<std::string>& suffixes) const {
    const std::size_t indent = 7;
    const std::size_t newline = text.rfind('\n');
    // PyTorch counts len(s) - s.rfind('\n') + 1, which is len(s) + 2 without a newline.
    std::size_t last_line = newline == std::string::npos ? text.size() + 2 : text.size() - newline + 1;
    for (const std::string& suffix : suffixes) {
      if (last_line + suffix.size() + 2 > static_cast<std::size_t>(options_.linewidth)) {
        text += ",\n" + std::string(indent, ' ') + suffix;
        last_line = indent + suffix.size();
      } else {
        text += ", " + suffix;
        last_line += suffix.size() + 2;
      }
    }
    return text + ")";
  }

 private:
  // Indices shown along `axis`: all, or the edges with -1 marking "...".
  std::vector<std::int64_t> shown(std::size_t axis) const {
    const std::int64_t n = tensor_.shape()[axis];
    std::vector<std::int64_t> idx;
    if (summarise_ && n > 2 * options_.edge_items) {
      for (std::int64_t i = 0; i < options_.edge_items; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (std::int64_t i = n - options_.edge_items; i < n; ++i) idx.push_back(i);
    } else {
      for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  void visit(std::size_t axis, std::int64_t offset, std::vector<T>& values) const {
    for (std::int64_t i : shown(axis)) {
      if (i < 0) continue;
      const std::int64_t off = offset + i * tensor_.strides()[axis];
      if (axis + 1 == tensor_.ndim()) {
        values.push_back(reinterpret_cast<const T*>(tensor_.storage().data())[off]);
      } else {
        visit(axis + 1, off, values);
      }
    }
  }

  // PyTorch's _Formatter: the style and the column width come from the
  // nonzero finite values shown; nan, inf and zeros are padded to fit.
  void choose_style() {
    std::vector<T> values;
    if (tensor_.ndim() == 0) {
      values.push_back(*tensor_.data());
    } else if (tensor_.numel() > 0) {
      visit(0, tensor_.offset(), values);
    }
    style_ = NumberStyle::integer_valued;
    width_ = 1;
    if constexpr (std::is_floating_point_v<T>) {
      std::vector<T> finite;
      bool all_integer = true;
      double max_abs = 0.0;
      double min_abs = INFINITY;
      for (T v : values) {
        const double d = static_cast<double>(v);
        if (!std::isfinite(d) || d == 0.0) continue;
        finite.push_back(v);
        if (d != std::ceil(d)) all_integer = false;
        max_abs = std::max(max_abs, std::abs(d));
        min_abs = std::min(min_abs, std::abs(d));
      }
      if (finite.empty()) return;
      const bool wide_range = max_abs / min_abs > 1000.0 || max_abs > 1e8;
      if (wide_range || (!all_integer && min_abs < 1e-4)) {
        style_ = NumberStyle::scientific;
      } else {
        style_ = all_integer ? NumberStyle::integer_valued : NumberStyle::fixed;
      }
      values = std::move(finite);
    }
    for (T v : values) width_ = std::max(width_, format_number(v, style_, options_.precision).size());
  }

  std::string padded(T value) const {
    const std::string s = format_number(value, style_, options_.precision);
    return std::string(width_ - std::min(width_, s.size()), ' ') + s;
  }

  // `indent` is the column after "tensor(": rows of the innermost axis wrap
  // at options_.linewidth, continuing one column right of their "[".
  void print_axis(std::ostream& out, std::size_t axis, std::int64_t offset, std::size_t indent) const {
    out << "[";
    const auto idx = shown(axis);
    const std::size_t column = indent + axis;
    const T* base = reinterpret_cast<const T*>(tensor_.storage().data());
    if (axis + 1 == tensor_.ndim()) {
      const auto room = options_.linewidth - static_cast<std::int64_t>(column);
      const auto per_line = static_cast<std::size_t>(
          std::max<std::int64_t>(1, room / static_cast<std::int64_t>(width_ + 2)));
      for (std::size_t k = 0; k < idx.size(); ++k) {
        if (k > 0) out << (k % per_line == 0 ? ",\n" + std::string(column + 1, ' ') : std::string(", "));
        if (idx[k] < 0) {
          out << " ...";
        } else {
          out << padded(base[offset + idx[k] * tensor_.strides()[axis]]);
        }
      }
    } else {
      for (std::size_t k = 0; k < idx.size(); ++k) {
        if (k > 0) out << "," << std::string(tensor_.ndim() - axis - 1, '\n') << std::string(column + 1, ' ');
        if (idx[k] < 0) {
          out << "...";
        } else {
          print_axis(out, axis + 1, offset + idx[k] * tensor_.strides()[axis], indent);
        }
      }
    }
    out << "]";
  }

  const Tensor<T>& tensor_;
  PrintOptions options_;
  bool summarise_;
  NumberStyle style_ = NumberStyle::fixed;
  std::size_t width_ = 0;
};

}  // namespace detail

template <class T>
std::ostream& operator<<(std::ostream& out, const Tensor<T>& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  detail::TensorPrinter<T>(t, PrintOptions{}).print(out);
  return out;
}

// The repr as a string, with options.
template <class T>
std::string to_string(const Tensor<T>& t, const PrintOptions& options = {}) {
  std::ostringstream out;
  if (!t.defined()) return "tensor(undefined)";
  detail::TensorPrinter<T>(t, options).print(out);
  return out.str();
}

}  // namespace nabla

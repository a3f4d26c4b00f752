// The exception types nabla throws, and the helpers that build their messages.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace nabla {

// Base of every error nabla throws; catch this to catch them all.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Shapes that do not fit the operation (matmul, broadcast, reshape, ...).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// An index or axis outside its valid range.
class IndexError : public Error {
 public:
  using Error::Error;
};

// An argument with a bad value (a negative size, a zero step, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be read or written, or whose contents are malformed.
class IOError : public Error {
 public:
  using Error::Error;
};

// An allocation the system refused, or a size that overflows: the message
// names the shape and the bytes asked for.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

// Misuse of automatic differentiation (backward on a non-scalar, a saved
// value modified in place, ...).
class AutogradError : public Error {
 public:
  using Error::Error;
};

namespace detail {

// Concatenates anything streamable into one message string.
template <class... Parts>
std::string message(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace detail
}  // namespace nabla

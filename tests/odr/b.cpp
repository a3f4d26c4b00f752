// ODR test, translation unit b: includes the whole library.
#include <nabla/nabla.hpp>

#include "odr.hpp"

namespace nabla_odr {
std::string from_b() {
  // TODO(lead): also build and use a Tensor here (and in the other TU).
  return nabla::version_string;
}
}  // namespace nabla_odr

// What each ODR test TU exports, so main() can call both.
#pragma once

#include <string>

namespace nabla_odr {
std::string from_a();
std::string from_b();
}  // namespace nabla_odr

// ODR test: links two TUs that both include <nabla/nabla.hpp>.
#include <nabla/nabla.hpp>

#include <cstdio>
#include <string>

#include "odr.hpp"

int main() {
  const std::string a = nabla_odr::from_a();
  const std::string b = nabla_odr::from_b();
  if (a != b || a != nabla::version_string) {
    std::fprintf(stderr, "odr: translation units disagree: '%s' vs '%s'\n", a.c_str(), b.c_str());
    return 1;
  }
  std::printf("odr: ok (nabla %s)\n", a.c_str());
  return 0;
}

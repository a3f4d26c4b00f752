// libFuzzer target: any byte string given to the IDX reader (plain or gzip)
// either parses or throws nabla::Error; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "nabla/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto t = nabla::data::read_idx(in, "fuzz-input");
    (void)t.numel();
  } catch (const nabla::Error&) {
  }
  return 0;
}

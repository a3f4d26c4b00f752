// libFuzzer target: any byte string given to the safetensors reader either
// parses or throws nabla::Error; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "nabla/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto file = nabla::io::read_safetensors(in, "fuzz-input");
    (void)file;
  } catch (const nabla::Error&) {
  }
  return 0;
}

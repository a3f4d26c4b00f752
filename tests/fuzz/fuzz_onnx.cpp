// libFuzzer target: any byte string given to the ONNX loader either loads
// (and then saves) or throws nabla::Error; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nabla/onnx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto graph = nabla::onnx::load_from_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
    // What loads must also convert back: the inverse path sees the same values.
    (void)nabla::onnx::to_bytes(graph);
  } catch (const nabla::Error&) {
  }
  return 0;
}

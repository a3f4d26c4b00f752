// Inputs the fuzzers (tests/fuzz, scripts/fuzz.sh) once crashed on; each must
// now give a clean nabla::IOError.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "nabla/io/safetensors.hpp"

TEST_CASE("fuzz regressions: every saved safetensors input is refused cleanly", "[io][fuzz]") {
  const std::filesystem::path dir = nabla::io_test::fixture_file("fuzz_regressions");
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    INFO(entry.path().string());
    CHECK_THROWS_AS(nabla::io::read_safetensors(entry.path().string()), nabla::IOError);
    ++count;
  }
  CHECK(count >= 1);
}

TEST_CASE("fuzz regression: a JSON number too large for a double is a header error", "[io][fuzz]") {
  const std::string path = nabla::io_test::fixture_file("fuzz_regressions/json_number_overflow.safetensors");
  CHECK_THROWS_WITH(nabla::io::read_safetensors(path), Catch::Contains("the header is not valid JSON"));
}

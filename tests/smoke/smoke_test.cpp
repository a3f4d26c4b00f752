// Smoke test: the build, Catch2 and the version header fit together.
#include <catch2/catch.hpp>

#include <nabla/version.hpp>

#include <string>

TEST_CASE("version macros and constants agree", "[smoke]") {
  CHECK(nabla::version_major == 0);
  CHECK(nabla::version_major == NABLA_VERSION_MAJOR);
  CHECK(nabla::version_minor == NABLA_VERSION_MINOR);
  CHECK(nabla::version_patch == NABLA_VERSION_PATCH);
  const std::string expected = std::to_string(NABLA_VERSION_MAJOR) + "." +
                               std::to_string(NABLA_VERSION_MINOR) + "." +
                               std::to_string(NABLA_VERSION_PATCH);
  CHECK(std::string(nabla::version_string) == expected);
}

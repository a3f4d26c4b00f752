// nabla's version: the single source that CMake reads too.
#pragma once

#define NABLA_VERSION_MAJOR 0
#define NABLA_VERSION_MINOR 1
#define NABLA_VERSION_PATCH 0
#define NABLA_VERSION_STRING "0.1.0"

namespace nabla {
inline constexpr int version_major = NABLA_VERSION_MAJOR;
inline constexpr int version_minor = NABLA_VERSION_MINOR;
inline constexpr int version_patch = NABLA_VERSION_PATCH;
inline constexpr const char* version_string = NABLA_VERSION_STRING;
}  // namespace nabla

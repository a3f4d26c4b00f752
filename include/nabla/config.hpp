// Build-time configuration: which optional dependencies this build uses.
#pragma once

// NABLA_HAS_OPENMP and NABLA_HAS_ZLIB are set by the CMake target when the
// build found OpenMP or zlib; define them yourself when not using CMake.
#ifndef NABLA_HAS_OPENMP
#define NABLA_HAS_OPENMP 0
#endif
#ifndef NABLA_HAS_ZLIB
#define NABLA_HAS_ZLIB 0
#endif

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

// Inlining hints for the GEMM kernels (GCC and Clang): the micro-kernel is
// kept out of line so its loop gets the registers to itself, and its tile
// store is always inlined so the accumulators never go through memory.
#if defined(__GNUC__) || defined(__clang__)
#define NABLA_NOINLINE __attribute__((noinline))
#define NABLA_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define NABLA_NOINLINE
#define NABLA_ALWAYS_INLINE inline
#endif

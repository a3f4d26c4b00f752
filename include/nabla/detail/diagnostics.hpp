// Local, narrow suppression of compiler false positives in the third-party
// SIMD headers nabla builds on, so users' -Werror builds need no extra flag.
// Each *_BEGIN is closed by its *_END in the same header; the warnings stay on
// for the user's own code.
#pragma once

// GCC 12 reports the _mm512_undefined_* placeholders inside its own AVX-512
// intrinsics as used uninitialized (GCC PR 105593, a false positive fixed in
// GCC 13). The warning comes after inlining; GCC 12 checks the pragmas at every
// call site of the inlining chain, so covering nabla's kernels (and xsimd's
// and <immintrin.h>'s first inclusion) silences it there and nowhere else.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13 && defined(__AVX512F__)
#define NABLA_SIMD_WARNINGS_BEGIN                                \
  _Pragma("GCC diagnostic push")                                 \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")          \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define NABLA_SIMD_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define NABLA_SIMD_WARNINGS_BEGIN
#define NABLA_SIMD_WARNINGS_END
#endif

// Eigen 3.4.0 declares unused variables in its AVX/AVX-512 bfloat16 packet
// code (Packet8bf F32ToBf16, ploaddup<Packet16bf>), which -Wall reports when
// Eigen is found with -I rather than -isystem (pkg-config, plain Makefiles).
#if defined(__GNUC__)
#define NABLA_EIGEN_WARNINGS_BEGIN                               \
  _Pragma("GCC diagnostic push")                                 \
  _Pragma("GCC diagnostic ignored \"-Wunused-variable\"")
#define NABLA_EIGEN_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define NABLA_EIGEN_WARNINGS_BEGIN
#define NABLA_EIGEN_WARNINGS_END
#endif

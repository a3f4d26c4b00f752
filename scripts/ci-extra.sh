#!/usr/bin/env bash
# Extra CI stages after the three test builds: an AVX-512 compile check,
# then fuzzing of the file loaders.
set -euo pipefail
cd "$(dirname "$0")/.."

# AVX-512 code paths compile (not run) even where the CI machine lacks
# AVX-512: GCC 12 broke the -Werror build there once (GCC PR 105593).
# The kernel tests (every kernel, float and double) and the example (the
# float layers, losses and optimizers) cover most SIMD code in ~1 min.
avx512_dir="${NABLA_AVX512_BUILD_DIR:-build-avx512}"
cmake -S . -B "$avx512_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNABLA_NATIVE=OFF \
  -DCMAKE_CXX_FLAGS=-march=x86-64-v4 -DNABLA_BUILD_BENCHMARKS=OFF \
  -DNABLA_BUILD_HEADER_TESTS=OFF -DNABLA_BUILD_PACKAGE_TESTS=OFF
cmake --build "$avx512_dir" -j"$(nproc)" --target nabla_kernels_tests mnist
echo "AVX-512 (x86-64-v4) build of the kernel tests and the example: compiles"
bash scripts/fuzz.sh "${NABLA_FUZZ_SECONDS:-60}"

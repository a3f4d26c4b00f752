#!/usr/bin/env bash
# THE test command: installs missing dependencies, configures, builds, tests.
#
#   bash scripts/test.sh [extra cmake args...]
#
# Environment:
#   BUILD_DIR         build directory (default: build)
#   NABLA_CMAKE_ARGS  extra cmake arguments, split on spaces
#   NABLA_SKIP_DEPS=1 skip scripts/install-deps.sh
#   JOBS              parallel build/test jobs (default: nproc)
#   CTEST_ARGS        extra ctest arguments, split on spaces (e.g. "-L core")
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"

if [[ "${NABLA_SKIP_DEPS:-0}" != 1 ]]; then
  bash scripts/install-deps.sh
fi

read -r -a env_cmake_args <<< "${NABLA_CMAKE_ARGS:-}"
read -r -a env_ctest_args <<< "${CTEST_ARGS:-}"

set -x
cmake -S . -B "$build_dir" -G Ninja "${env_cmake_args[@]}" "$@"
cmake --build "$build_dir" -j"$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" "${env_ctest_args[@]}"

#!/usr/bin/env bash
# Extra CI stages after the builds of .ci/run: fuzzing of the file loaders.
# (The AVX-512 compile check that lived here is now .ci/run's x86-64-v4 builds.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fuzz.sh "${NABLA_FUZZ_SECONDS:-30}"

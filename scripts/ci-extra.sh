#!/usr/bin/env bash
# Extra CI stages after the three test builds: fuzz the file loaders.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fuzz.sh "${NABLA_FUZZ_SECONDS:-60}"

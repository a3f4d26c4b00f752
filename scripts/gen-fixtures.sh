#!/usr/bin/env bash
# Regenerates every PyTorch reference fixture under tests/fixtures/.
# Needs Debian's python3-torch; the tests themselves never need PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
for gen in scripts/fixtures/*.py; do
  [ "$(basename "$gen")" = common.py ] && continue
  echo "== $gen"
  PYTHONPATH=scripts/fixtures "$PY" "$gen"
done

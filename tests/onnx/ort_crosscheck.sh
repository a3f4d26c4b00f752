#!/usr/bin/env bash
# CTest onnx/ort_crosscheck: nabla's exported ONNX files through ONNX Runtime.
#
#   bash tests/onnx/ort_crosscheck.sh NABLA_ONNX_TESTS OUT_DIR [NODE]
#
# Runs the onnx test binary's trace-export cases with NABLA_TRACE_EXPORT_DIR
# set, so that they leave the traced MNIST MLP and CNN and the residual
# BatchNorm/Dropout net (<tag>.onnx, symbolic batch) in OUT_DIR with, for
# each of two batch sizes, the input and nabla's outputs as .npy (the
# module's own and the graph runtime's). Then runs every file and batch in
# ONNX Runtime (scripts/peers/ort_run.js) and requires its output within
# 1e-5 of the output's scale of both. Exits 77 (skipped) when
# onnxruntime-node is not installed (scripts/install-deps.sh --ort).
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '4p' "$0" >&2
  exit 2
fi
test_binary="$1"
out_dir="$2"
node="${3:-node}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ort_run="$root/scripts/peers/ort_run.js"
models=(mlp cnn residual)
batches_per_model=2
tolerance=1e-5

rc=0
version="$("$node" "$ort_run" --version)" || rc=$?
if [[ $rc -eq 77 ]]; then
  echo "$version"
  exit 77
elif [[ $rc -ne 0 ]]; then
  echo "ort_crosscheck: $ort_run --version failed (exit $rc): $version" >&2
  exit 1
fi
echo "ort_crosscheck: $version"

rm -rf "$out_dir"
mkdir -p "$out_dir"
# The trace-export cases of the onnx test binary; they run from the source
# tree, as CTest runs them.
(cd "$root" && NABLA_TRACE_EXPORT_DIR="$out_dir" "$test_binary" "[onnx][trace]")

passed=0
failed=0
for model in "${models[@]}"; do
  file="$out_dir/$model.onnx"
  if [[ ! -f "$file" ]]; then
    echo "ort_crosscheck: $model: the trace-export test wrote no $file" >&2
    failed=$((failed + 1))
    continue
  fi
  shopt -s nullglob
  inputs=("$out_dir/$model".b*.input.npy)
  shopt -u nullglob
  if [[ ${#inputs[@]} -ne $batches_per_model ]]; then
    echo "ort_crosscheck: $model: expected inputs at $batches_per_model batch sizes, found ${#inputs[@]}" >&2
    failed=$((failed + 1))
  fi
  for input in "${inputs[@]}"; do
    prefix="${input%.input.npy}"
    echo "ort_crosscheck: $(basename "$prefix")"
    if "$node" "$ort_run" "$file" --threads 1 --tolerance "$tolerance" --input "input=$input" \
         --compare "output=$prefix.module.npy" --compare "output=$prefix.session.npy"; then
      passed=$((passed + 1))
    else
      echo "ort_crosscheck: $(basename "$prefix"): ONNX Runtime disagrees with nabla (or failed)" >&2
      failed=$((failed + 1))
    fi
  done
done
echo "ort_crosscheck: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

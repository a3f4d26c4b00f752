#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a
# bounded time on its committed seed corpus. Exits non-zero on any finding;
# crashing inputs are left in build-fuzz/findings/<target>/.
#
#   bash scripts/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
out=build-fuzz
mkdir -p "$out"
zlib_flags=()
if [[ -f /usr/include/zlib.h ]]; then zlib_flags=(-DNABLA_HAS_ZLIB=1 -lz); fi
status=0
for src in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$src" .cpp)
  corpus_seed="tests/fuzz/corpus/${name#fuzz_}"
  extra_flags=()
  if [[ "$name" == fuzz_onnx ]]; then
    # ONNX and protobuf are not instrumented; the fuzzer explores nabla's side.
    if [[ ! -f /usr/include/onnx/onnx_pb.h ]]; then
      echo "== skipping $name: libonnx-dev is not installed (scripts/install-deps.sh)"
      continue
    fi
    extra_flags=(-DONNX_NAMESPACE=onnx -DONNX_ML=1 -lonnx -lonnx_proto -lprotobuf -pthread)
  fi
  echo "== building $name"
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Iinclude -isystem /usr/include/eigen3 "$src" -o "$out/$name" "${zlib_flags[@]}" "${extra_flags[@]}"
  work="$out/corpus/$name"
  findings="$out/findings/$name"
  rm -rf "$work" "$findings"
  mkdir -p "$work" "$findings"
  echo "== running $name for ${seconds}s (seeds: $corpus_seed)"
  # -rss_limit_mb catches a lying header that makes the reader allocate too much.
  if ! "$out/$name" "$work" "$corpus_seed" -max_total_time="$seconds" -rss_limit_mb=1024 \
      -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 2>"$out/$name.log"; then
    echo "!! $name found a problem; inputs in $findings/"
    tail -40 "$out/$name.log"
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$name.log" | sed "s/^/   $name /"
done
exit $status

#!/usr/bin/env bash
# Compiles a user's program (tests/flags/user_program.cpp: every kernel family
# in float and double, through <nabla/nabla.hpp>) with -Wall -Wextra -Werror
# and nothing else a user would not write, for every compiler, optimisation
# level and -march nabla supports; runs each binary the CPU can execute.
#
#   bash scripts/check-flags.sh [-O-levels...]     e.g. -O0 -O2 (default: all five)
#
# Environment:
#   CHECK_FLAGS_COMPILERS  default "g++ clang++" (those installed)
#   CHECK_FLAGS_MARCHES    default "x86-64 x86-64-v3 x86-64-v4 native"
#   JOBS                   parallel compiles (default: nproc)
#   OUT_DIR                where binaries and logs go (default: build-flags)
# Include paths are plain -I (as pkg-config gives them), so warnings inside
# Eigen and xsimd count too, not only nabla's own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

levels=("$@")
[[ ${#levels[@]} -eq 0 ]] && levels=(-O0 -Og -O1 -O2 -O3)
read -r -a compilers <<< "${CHECK_FLAGS_COMPILERS:-g++ clang++}"
read -r -a marches <<< "${CHECK_FLAGS_MARCHES:-x86-64 x86-64-v3 x86-64-v4 native}"
out_dir="${OUT_DIR:-build-flags}"
jobs="${JOBS:-$(nproc)}"
mkdir -p "$out_dir"

# What the CPU can run: x86-64-v3 needs AVX2+FMA+BMI2, v4 AVX-512 F/BW/CD/DQ/VL.
flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
can_run() {
  case "$1" in
    x86-64|native) return 0 ;;
    x86-64-v3) has avx2 fma bmi2 movbe ;;
    x86-64-v4) has avx2 fma bmi2 avx512f avx512bw avx512cd avx512dq avx512vl ;;
    *) return 1 ;;
  esac
}

cxx_extra=(-Iinclude -I/usr/include/eigen3)
ld_extra=()
if [[ -f /usr/include/zlib.h ]]; then
  cxx_extra+=(-DNABLA_HAS_ZLIB=1)
  ld_extra+=(-lz)
fi

jobs_file="$out_dir/jobs.txt"
: > "$jobs_file"
for cxx in "${compilers[@]}"; do
  command -v "$cxx" > /dev/null || { echo "check-flags: $cxx not found, skipped"; continue; }
  omp=(-fopenmp -DNABLA_HAS_OPENMP=1)
  # clang needs libomp for -fopenmp; without it the program is built serial.
  if ! echo 'int main(){}' | "$cxx" -x c++ -fopenmp - -o /dev/null 2> /dev/null; then omp=(); fi
  for march in "${marches[@]}"; do
    for level in "${levels[@]}"; do
      name="${cxx}_${march}${level}"
      run=0
      can_run "$march" && run=1
      printf '%s\t%s\t%s\t%s\n' "$name" "$cxx" "$level -march=$march ${omp[*]}" "$run" >> "$jobs_file"
    done
  done
done

export out_dir
build_one() {
  local name="$1" cxx="$2" flags="$3" run="$4"
  local log="$out_dir/$name.log"
  local start=$SECONDS
  # shellcheck disable=SC2086  # $flags is a list of words
  if ! "$cxx" -std=c++20 -Wall -Wextra -Werror $flags ${CXX_EXTRA} tests/flags/user_program.cpp \
       -o "$out_dir/$name" ${LD_EXTRA} > "$log" 2>&1; then
    echo "FAIL compile  $name ($cxx $flags): see $log"
    head -20 "$log"
    return 1
  fi
  if [[ "$run" == 1 ]]; then
    if ! "$out_dir/$name" >> "$log" 2>&1; then
      echo "FAIL run      $name ($cxx $flags): see $log"
      tail -20 "$log"
      return 1
    fi
    echo "ok  built+ran $name ($((SECONDS - start)) s)"
  else
    echo "ok  built     $name ($((SECONDS - start)) s; this CPU cannot run it)"
  fi
  rm -f "$out_dir/$name"
}
export -f build_one
export CXX_EXTRA="${cxx_extra[*]}" LD_EXTRA="${ld_extra[*]}"

total=$(wc -l < "$jobs_file")
start=$SECONDS
if tr '\t' '\n' < "$jobs_file" | xargs -d '\n' -n 4 -P "$jobs" bash -c 'build_one "$@"' _ | tee "$out_dir/summary.txt" \
   && ! grep -q '^FAIL' "$out_dir/summary.txt"; then
  echo "check-flags: $total builds warning-free in $((SECONDS - start)) s: ${compilers[*]} x {${marches[*]}} x {${levels[*]}}"
else
  echo "check-flags: $(grep -c '^FAIL' "$out_dir/summary.txt") of $total builds failed"
  exit 1
fi

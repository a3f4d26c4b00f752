#!/usr/bin/env bash
# Installs the Debian 12 packages nabla needs to build and test; installs only
# what is missing, so it is cheap to run again.
#   NABLA_DEPS_EXTRAS=1 (or --extras) also installs the optional tools for
#   reference fixtures, benchmarks against PyTorch and the MNIST data.
#   NABLA_DEPS_ZOO=1 (or --zoo) installs what the model zoo test needs
#   (PyTorch and torchvision, to export and check the models), as CI does.
set -euo pipefail

packages=(
  build-essential cmake ninja-build g++ clang pkg-config
  libeigen3-dev libxsimd-dev catch2 libbenchmark-dev zlib1g-dev
  # nlohmann-json3-dev: tests only (PyTorch fixtures); the library has its own JSON reader.
  nlohmann-json3-dev libcli11-dev
  # nabla::onnx (ONNX import/export) and its tests; python3-onnx writes the
  # ONNX fixtures and exports the model zoo at test time.
  libonnx-dev libprotobuf-dev protobuf-compiler python3-onnx
)
extras=(
  python3-torch python3-numpy python3-matplotlib dataset-fashion-mnist nodejs npm
  python3-torchvision
)
# The model zoo test (ctest -L zoo, scripts/onnx_zoo.py) exports torchvision models.
zoo=(python3-torch python3-torchvision python3-numpy)

want_extras="${NABLA_DEPS_EXTRAS:-0}"
want_zoo="${NABLA_DEPS_ZOO:-0}"
for arg in "$@"; do
  case "$arg" in
    --extras) want_extras=1 ;;
    --zoo) want_zoo=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
if [[ "$want_extras" == 1 ]]; then
  packages+=("${extras[@]}")
fi
if [[ "$want_zoo" == 1 ]]; then
  packages+=("${zoo[@]}")
fi

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs the Debian 12 packages nabla needs to build and test; installs only
# what is missing, so it is cheap to run again.
#   NABLA_DEPS_EXTRAS=1 (or --extras) also installs the optional tools for
#   reference fixtures, benchmarks against PyTorch, ONNX Runtime and OpenCV
#   and the MNIST data; it implies --ort.
#   NABLA_DEPS_ZOO=1 (or --zoo) installs what the model zoo test needs
#   (PyTorch and torchvision, to export and check the models), as CI does;
#   it implies --ort.
#   NABLA_DEPS_ORT=1 (or --ort) installs ONNX Runtime (CPU, npm's
#   onnxruntime-node, pinned in scripts/peers/ort) for the onnx/ort_crosscheck
#   test and the benchmarks, and nodejs + npm from apt where they are missing.
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
  python3-torch python3-numpy python3-matplotlib dataset-fashion-mnist
  python3-torchvision python3-opencv
)
# The model zoo test (ctest -L zoo, scripts/onnx_zoo.py) exports torchvision models.
# libopenblas0-pthread: Debian's torch otherwise runs its float64 references
# (the zoo's) on the reference BLAS, 3-4x slower (VGG11: 12 s vs 3.5 s).
zoo=(python3-torch python3-torchvision python3-numpy libopenblas0-pthread)

want_extras="${NABLA_DEPS_EXTRAS:-0}"
want_zoo="${NABLA_DEPS_ZOO:-0}"
want_ort="${NABLA_DEPS_ORT:-0}"
for arg in "$@"; do
  case "$arg" in
    --extras) want_extras=1 ;;
    --zoo) want_zoo=1 ;;
    --ort) want_ort=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
if [[ "$want_extras" == 1 ]]; then
  packages+=("${extras[@]}")
  want_ort=1
fi
if [[ "$want_zoo" == 1 ]]; then
  packages+=("${zoo[@]}")
  want_ort=1
fi
apt_wanted=()
if [[ "$want_ort" == 1 ]]; then
  # By command, not by package: a nodejs from elsewhere (NodeSource) ships
  # its own npm and would conflict with Debian's.
  command -v node >/dev/null 2>&1 || apt_wanted+=(nodejs)
  command -v npm >/dev/null 2>&1 || apt_wanted+=(npm)
fi

# ONNX Runtime from npm into scripts/peers/ort/node_modules (git-ignored):
# npm ci from the committed lock, unless the pinned version is there already.
# --ignore-scripts: onnxruntime-node's install script downloads GPU binaries,
# which fails offline; the CPU binaries are inside the package.
install_ort() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers/ort"
  local pinned installed
  pinned="$(ORT_DIR="$dir" node -p "require(process.env.ORT_DIR + '/package.json').dependencies['onnxruntime-node']")"
  installed="$(ORT_DIR="$dir" node -p "try { require(process.env.ORT_DIR + '/node_modules/onnxruntime-node/package.json').version } catch (e) { '' }")"
  if [[ "$installed" == "$pinned" && -d "$dir/node_modules/onnxruntime-common" ]]; then
    echo "install-deps: onnxruntime-node $pinned already installed in $dir"
    return
  fi
  echo "install-deps: installing onnxruntime-node $pinned into $dir"
  if [[ -f "$dir/package-lock.json" ]]; then
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
  else
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund)
  fi
}

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

missing+=("${apt_wanted[@]}")

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  if [[ "$(id -u)" -ne 0 ]]; then
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [[ "$want_ort" == 1 ]]; then
  install_ort
fi

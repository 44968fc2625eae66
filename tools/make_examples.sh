#!/usr/bin/env bash
# Makes the README's pictures: example photos of a handwritten digit and number (tools/make_examples.cpp,
# from MNIST test digits), then what lenet predict, read, visualize and eval --report make of them.
# Usage: tools/make_examples.sh [TRAIN_LOG]   (after `make build` and scripts/fetch_mnist.sh; the log is a
# `lenet train --log` file for the training curves, default docs/examples/train-log.jsonl)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lenet=./build/lenet
[[ -x $lenet && -f build/liblenet_internal.a ]] || { echo "make_examples.sh: build first (make build)" >&2; exit 1; }
out=docs/examples
log=${1:-$out/train-log.jsonl}
mkdir -p "$out"

# The generator links the library and the tests' synthetic-photo helper; same flags as the build, and the
# picture libraries lenet::vision decodes and writes with (cmake/install.cmake's list for lenet-vision.pc).
c++ -std=c++20 -O2 -fopenmp -Iinclude -Ibuild/generated/include -Itests tools/make_examples.cpp \
  tests/helpers/synthetic.cpp build/liblenet_internal.a -lz \
  $(pkg-config --libs libpng libjpeg libwebp libwebpdemux libtiff-4 libexif libgif) -o build/make_examples
build/make_examples data/mnist "$out"

set -x
$lenet predict "$out/digit-photo.jpg" --show-input "$out/digit-input.png"
$lenet read "$out/number-photo.jpg" --annotate "$out/number-read.png"
$lenet read --json "$out/number-photo.jpg"
$lenet visualize "$out/digit-photo.jpg" --out-dir "$out/visualize"
$lenet eval --model models/lenet5.bin --data data/mnist --report "$out/report" --log "$log"

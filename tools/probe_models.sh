#!/usr/bin/env bash
# How well models read realistic input (tools/probe_models.cpp): photos of MNIST test digits plain,
# turned, slanted and squeezed, and numbers written apart or touching.
# Usage: tools/probe_models.sh [N] MODEL...   (after `make build`; default N 1000, model models/lenet5.bin)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f build/liblenet_internal.a ]] || { echo "probe_models.sh: build first (make build)" >&2; exit 1; }
n=1000
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then n=$1; shift; fi
models=("${@:-models/lenet5.bin}")
c++ -std=c++20 -O2 -fopenmp -Iinclude -Itests tools/probe_models.cpp tests/helpers/synthetic.cpp \
  build/liblenet_internal.a -lz -o build/probe_models
build/probe_models data/mnist "$n" "${models[@]}"

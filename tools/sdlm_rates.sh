#!/usr/bin/env bash
# First-pass SDLM rates of the 1998 network under both initialisations (tools/sdlm_rates.cpp).
# Usage: tools/sdlm_rates.sh [DATA=data/mnist] [SEED=1]   (after `make build`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f build/liblenet_core.a ]] || { echo "sdlm_rates.sh: build first (make build)" >&2; exit 1; }
c++ -std=c++20 -O2 -fopenmp -Iinclude tools/sdlm_rates.cpp build/liblenet_core.a -lz -o build/sdlm_rates
build/sdlm_rates "${1:-data/mnist}" "${2:-1}"

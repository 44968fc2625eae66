#!/usr/bin/env bash
# Reproduces LeNet-5 as published (docs/reproduction.md): the default lenet5-1998 recipe (MAP loss, online
# SDLM, the paper's 20-pass schedule, ±1/√Fi initial weights) with and without distortions, for several seeds,
# then the plot.
# Usage: tools/reproduce_1998.sh [OUTDIR] [SEEDS...] [-- TRAIN-FLAGS...]   (default: out/reproduction, seeds 1 2)
#   TRAIN-FLAGS go to every run, e.g. `-- --init paper` for the paper's ±2.4/Fi.
# Runs two trainings at a time (one per core; online SDLM is one sample per step, so one thread each).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-out/reproduction}
shift || true
seeds=()
while (($#)) && [[ $1 != -- ]]; do
  seeds+=("$1")
  shift
done
(($#)) && shift
extra=("$@")
((${#seeds[@]})) || seeds=(1 2)
lenet=./build/lenet
[[ -x $lenet ]] || { echo "reproduce_1998.sh: build first (make build)" >&2; exit 1; }
mkdir -p "$out"

run() {  # name seed [extra flags]
  local name=$1 seed=$2
  shift 2
  /usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$out/$name-s$seed.time" \
    "$lenet" train --arch lenet5-1998 --data data/mnist --seed "$seed" --threads 1 --eval-train \
    --log "$out/$name-s$seed.jsonl" --out "$out/$name-s$seed.bin" ${extra[@]+"${extra[@]}"} "$@" \
    2>"$out/$name-s$seed.log"
}

rm -f "$out"/*.jsonl
for seed in "${seeds[@]}"; do
  run plain "$seed" &
  run distort "$seed" --distort &
  wait
done

echo "run            seed  test error  train error (after pass 19)  wall"
for name in plain distort; do
  for seed in "${seeds[@]}"; do
    /usr/bin/python3 - "$out/$name-s$seed.jsonl" "$name" "$seed" "$(cat "$out/$name-s$seed.time")" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
p19 = rows[18] if len(rows) >= 19 else rows[-1]
print(f"{sys.argv[2]:<14} {sys.argv[3]:>4}  {100 * (1 - rows[-1]['test_accuracy']):8.2f}%  "
      f"{100 * p19.get('train_set_error', 1 - p19['train_accuracy']):8.2f}%                   {sys.argv[4]}")
PY
  done
done
specs=()
for seed in "${seeds[@]}"; do
  specs+=("seed $seed=$out/plain-s$seed.jsonl" "seed $seed, distortions=$out/distort-s$seed.jsonl")
done
/usr/bin/python3 tools/plot_reproduction.py "$out/fig5.png" "${specs[@]}"
echo "plot: $out/fig5.png"

#!/usr/bin/env bash
# Past the paper: modern LeNet-5s (61,706 parameters each) trained longer on affine + elastic distortions
# (Simard et al. 2003), one per seed, then each alone and the committee (averaged probabilities) on the test
# set. The recipe was fixed in advance, before any member was trained (not tuned on the test set, nor chosen
# on the validation split): 30 epochs, momentum 0.9, batch 64, lr 0.02 halved every 6 epochs, elastic alpha 34
# / sigma 4 on top of the affine distortions.
# Usage: tools/train_committee.sh [OUTDIR=out/committee] [SEEDS="1 2 3 4 5"]   (JOBS=1 trainings at a time)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-out/committee}
seeds=${2:-1 2 3 4 5}
jobs=${JOBS:-1}
lenet=${LENET:-./build/lenet}
[[ -x $lenet ]] || { echo "train_committee.sh: build first (make build)" >&2; exit 1; }
mkdir -p "$out"
export out lenet
printf '%s\n' $seeds | xargs -P "$jobs" -I{} bash -c '
  seed=$1; name=$out/elastic-s$seed
  [[ -f $name.bin ]] && exit 0
  nice -n 10 "$lenet" train --arch lenet5 --elastic --epochs 30 --lr 0.02 --lr-step 6 --seed "$seed" \
    --threads 1 --log "$name.jsonl" --out "$name.bin" 2>"$name.log" || echo "exit $?" >>"$name.log"
' _ {}
models=()
for seed in $seeds; do
  [[ -f $out/elastic-s$seed.bin ]] || continue
  models+=("$out/elastic-s$seed.bin")
  printf 'seed %s: ' "$seed"
  "$lenet" eval --model "$out/elastic-s$seed.bin" --json | /usr/bin/python3 -c 'import json,sys; print("%.2f%% test error" % (100 * json.load(sys.stdin)["error"]))'
done
printf 'committee of %d: ' "${#models[@]}"
"$lenet" eval --model "${models[@]}" --json | /usr/bin/python3 -c 'import json,sys; print("%.2f%% test error" % (100 * json.load(sys.stdin)["error"]))'

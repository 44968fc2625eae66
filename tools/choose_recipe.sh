#!/usr/bin/env bash
# Chooses the modern LeNet-5's long-training recipe on the validation split, never on the test set: each
# candidate trains on the first 50,000 training images (tools/make_validation_split.py) for each seed and is
# scored on the held-out last 10,000; the summary gives every run's validation error and each candidate's
# mean, and the candidate with the lowest mean is the one tools/train_committee.sh trains on all 60,000.
# Usage: tools/choose_recipe.sh [OUTDIR=out/recipes] [SEEDS="1 2"] [CANDIDATES="A30step B60step ..."]
#   JOBS=2 trainings at a time (one thread each, nice'd); LENET=./build/lenet. Finished runs are kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-out/recipes}
seeds=${2:-1 2}
lenet=${LENET:-./build/lenet}
jobs=${JOBS:-2}
# Every candidate: affine + elastic distortions (alpha 34, sigma 4 unless said), momentum 0.9, batch 64, lr 0.02.
declare -A recipe=(
  [A30step]="--epochs 30 --lr-step 6"                         # the committee's recipe of the last session
  [B60step]="--epochs 60 --lr-step 12"                        # twice as long, the same shape
  [C60cos]="--epochs 60 --lr-schedule cosine"                 # cosine annealing instead of halving
  [D60cos-a24]="--epochs 60 --lr-schedule cosine --elastic-alpha 24"  # a weaker elastic field
  [E60cos-a24-avg10]="--epochs 60 --lr-schedule cosine --elastic-alpha 24 --average-last 10"  # D + SWA
)
candidates=${3:-A30step B60step C60cos D60cos-a24}
[[ -x $lenet ]] || { echo "choose_recipe.sh: build first (make build)" >&2; exit 1; }
[[ -f data/mnist-val/t10k-labels-idx1-ubyte ]] || /usr/bin/python3 tools/make_validation_split.py
mkdir -p "$out"
for c in $candidates; do
  [[ -n ${recipe[$c]:-} ]] || { echo "choose_recipe.sh: no candidate '$c' (${!recipe[*]})" >&2; exit 2; }
done
export out lenet
for seed in $seeds; do for c in $candidates; do echo "$c $seed ${recipe[$c]}"; done; done |
  xargs -P "$jobs" -L 1 bash -c '
    name=$out/$0-s$1; seed=$1; shift
    [[ -f $name.bin ]] && exit 0
    OMP_WAIT_POLICY=passive nice -n 10 "$lenet" train --data data/mnist-val --arch lenet5 --elastic --lr 0.02 \
      "$@" --seed "$seed" --threads 1 --log "$name.jsonl" --out "$name.bin" >"$name.log" 2>&1 ||
      echo "exit $?" >>"$name.log"'
/usr/bin/python3 - "$out" $candidates <<'PY'
import json, os, statistics, sys
out, names = sys.argv[1], sys.argv[2:]
best = None
for name in names:
    errs = []
    for f in sorted(os.listdir(out)):
        if f.startswith(name + "-s") and f.endswith(".jsonl") and os.path.exists(os.path.join(out, f[:-6] + ".bin")):
            rows = [json.loads(l) for l in open(os.path.join(out, f))]
            errs.append((f[len(name) + 2:-6], 100 * rows[-1]["test_error"]))
    if not errs:
        continue
    vals = [e for _, e in errs]
    sd = statistics.stdev(vals) if len(vals) > 1 else float("nan")
    mean = statistics.mean(vals)
    print(f"{name:12s} validation error by seed: " + ", ".join(f"s{s} {e:.2f}%" for s, e in errs) +
          f"  mean {mean:.3f}% sd {sd:.3f}")
    if best is None or mean < best[1]:
        best = (name, mean)
if best:
    print(f"lowest validation mean: {best[0]} ({best[1]:.3f}%)")
PY

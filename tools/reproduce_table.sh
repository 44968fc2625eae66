#!/usr/bin/env bash
# The reproduction table of docs/reproduction.md: the 1998 network (lenet5-1998, online SDLM, the paper's
# 20-pass schedule) under each initialisation / mu / curvature re-estimation / distortion setting, several
# seeds each, then mean ± standard deviation per setting (tools/summarise_runs.py).
# Usage: tools/reproduce_table.sh [OUTDIR=out/table] [SEEDS="1 2 3 4 5"] [CELLS="..."]
# CELLS (default: all, in this order): val-paper val-sqrt sqrt sqrt-distort paper sqrt-mu0.02 sqrt-mu0.02-reest
#   val-*: trained on the first 50,000 training images and scored on the last 10,000 (data/mnist-val, made by
#   tools/make_validation_split.py): the runs that choose the default initialisation, never the test set.
# Runs JOBS (default 2) trainings at a time, one thread each; a run whose log already has its 20 passes is
# skipped, so the script can be stopped and started again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-out/table}
seeds=${2:-1 2 3 4 5}
cells=${3:-val-paper val-sqrt sqrt sqrt-distort paper sqrt-mu0.02 sqrt-mu0.02-reest}
jobs=${JOBS:-2}
lenet=${LENET:-./build/lenet}
[[ -x $lenet ]] || { echo "reproduce_table.sh: build first (make build)" >&2; exit 1; }
[[ -f data/mnist-val/t10k-images-idx3-ubyte ]] || /usr/bin/python3 tools/make_validation_split.py data/mnist data/mnist-val
mkdir -p "$out"

flags_of() {  # cell -> lenet train flags
  case $1 in
    val-paper) echo "--data data/mnist-val --init paper" ;;
    val-sqrt) echo "--data data/mnist-val --init sqrt" ;;
    sqrt) echo "--init sqrt" ;;
    sqrt-distort) echo "--init sqrt --distort" ;;
    paper) echo "--init paper" ;;
    paper-distort) echo "--init paper --distort" ;;
    sqrt-mu0.02) echo "--init sqrt --sdlm-mu 0.02" ;;
    sqrt-mu0.02-reest) echo "--init sqrt --sdlm-mu 0.02 --hessian-interval 1000" ;;
    *) echo "reproduce_table.sh: unknown cell $1" >&2; return 1 ;;
  esac
}

queue=()
for seed in $seeds; do
  for cell in $cells; do
    log=$out/$cell-s$seed.jsonl
    if [[ -f $log && $(wc -l <"$log") -ge 20 ]]; then continue; fi
    rm -f "$log"
    queue+=("$cell $seed")
  done
done

export -f flags_of
export out lenet
printf '%s\n' "${queue[@]}" | xargs -P "$jobs" -I{} bash -c '
  cell=${1% *}; seed=${1#* }; name=$out/$cell-s$seed
  flags=$(flags_of "$cell")
  case $flags in *--data*) ;; *) flags="--data data/mnist $flags" ;; esac
  # A run that diverges ends with an error (non-finite loss); its log and .log say so and the summary counts it.
  nice -n 10 /usr/bin/time -f "%e s wall" -o "$name.time" "$lenet" train --arch lenet5-1998 $flags \
    --seed "$seed" --threads 1 --eval-train --log "$name.jsonl" --out "$name.bin" 2>"$name.log" \
    || echo "exit $?" >>"$name.log"
' _ {}

/usr/bin/python3 tools/summarise_runs.py "$out" $cells

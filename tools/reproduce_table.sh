#!/usr/bin/env bash
# The reproduction table of docs/reproduction.md: the 1998 network (lenet5-1998, online SDLM, the paper's
# 20-pass schedule) under each initialisation / mu / curvature re-estimation / distortion setting, several
# seeds each, then mean ± standard deviation per setting (tools/summarise_runs.py).
# Usage: tools/reproduce_table.sh [OUTDIR=out/table] [SEEDS="1 2 3 4 5"] [CELLS="..."]
# CELLS (default: every cell of docs/reproduction.md's tables, in this order): val-paper val-sqrt val-sqrt-mu0.1
#   val-sqrt-mu0.2 val-sqrt-j3 val-sqrt-j6 sqrt-j6 sqrt-distort-j6 sqrt sqrt-distort paper paper-distort sqrt-mu0.02
#   sqrt-mu0.02-reest sqrt-distort-mu0.02 sqrt-distort-mu0.02-reest (sqrt-j6 and sqrt-distort-j6: today's defaults)
#   A cell's name gives its flags: [val-]INIT[-distort][-muX][-jX][-hsN][-reest] (INIT paper, sqrt or default; muX
#   --sdlm-mu X, jX --map-j X, hsN --hessian-samples N, reest --hessian-interval 1000), e.g. val-sqrt-mu0.2.
#   val-*: trained on the first 50,000 training images and scored on the last 10,000 (data/mnist-val, made by
#   tools/make_validation_split.py): the runs that choose the default initialisation, never the test set.
# Runs JOBS (default 2) trainings at a time, one thread each, at niceness NICE (default 10); a run whose log already has its 20 passes is
# skipped, so the script can be stopped and started again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-out/table}
seeds=${2:-1 2 3 4 5}
cells=${3:-val-paper val-sqrt val-sqrt-mu0.1 val-sqrt-mu0.2 val-sqrt-j3 val-sqrt-j6 sqrt-j6 sqrt-distort-j6 sqrt \
  sqrt-distort paper paper-distort sqrt-mu0.02 sqrt-mu0.02-reest sqrt-distort-mu0.02 sqrt-distort-mu0.02-reest}
jobs=${JOBS:-2}
lenet=${LENET:-./build/lenet}
[[ -x $lenet ]] || { echo "reproduce_table.sh: build first (make build)" >&2; exit 1; }
[[ -f data/mnist-val/t10k-images-idx3-ubyte ]] || /usr/bin/python3 tools/make_validation_split.py data/mnist data/mnist-val
mkdir -p "$out"

# A cell names every choice it makes: mu, j and the curvature patterns default to the 1998 recipe's values
# before issue 17's last change (0.5, 1, 500), so that a cell means the same runs whatever lenet's defaults
# become; the cell "default" (and default-distort, val-default) passes none of them: lenet's defaults today.
flags_of() {  # cell -> lenet train flags: [val-]INIT[-distort][-muX][-jX][-hsN][-reest], e.g. val-sqrt-mu0.2
  local cell=$1 flags="" part mu=0.5 j=1 hs=500
  if [[ $cell == val-* ]]; then flags="--data data/mnist-val"; cell=${cell#val-}; fi
  IFS=- read -ra parts <<<"$cell"
  case ${parts[0]} in
    paper | sqrt) flags="$flags --init ${parts[0]}" ;;
    default) mu="" j="" hs="" ;;
    *) echo "reproduce_table.sh: unknown cell $1 (it starts with paper, sqrt or default, after an optional val-)" >&2
       return 1 ;;
  esac
  for part in "${parts[@]:1}"; do
    case $part in
      distort) flags="$flags --distort" ;;
      mu[0-9]*) mu=${part#mu} ;;                                   # SDLM's mu
      j[0-9]*) j=${part#j} ;;                                      # the MAP loss's j
      hs[0-9]*) hs=${part#hs} ;;                                   # curvature patterns per pass
      reest) flags="$flags --hessian-interval 1000" ;;             # curvature re-estimated every 1,000 patterns
      *) echo "reproduce_table.sh: unknown part '$part' of cell $1 (distort, muX, jX, hsN, reest)" >&2; return 1 ;;
    esac
  done
  echo "$flags${mu:+ --sdlm-mu $mu}${j:+ --map-j $j}${hs:+ --hessian-samples $hs}"
}

for cell in $cells; do flags_of "$cell" >/dev/null || exit 2; done  # a misspelt cell must not train the defaults
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
export out lenet NICE
printf '%s\n' "${queue[@]}" | xargs -P "$jobs" -I{} bash -c '
  cell=${1% *}; seed=${1#* }; name=$out/$cell-s$seed
  flags=$(flags_of "$cell")
  case $flags in *--data*) ;; *) flags="--data data/mnist $flags" ;; esac
  # A run that diverges ends with an error (non-finite loss); its log and .log say so and the summary counts it.
  nice -n "${NICE:-10}" /usr/bin/time -f "%e s wall" -o "$name.time" "$lenet" train --arch lenet5-1998 $flags \
    --seed "$seed" --threads 1 --eval-train --log "$name.jsonl" --out "$name.bin" 2>"$name.log" \
    || echo "exit $?" >>"$name.log"
' _ {}

/usr/bin/python3 tools/summarise_runs.py "$out" $cells

#!/usr/bin/env bash
# What the elastic distortion costs per training epoch, before and after a change: alternating rounds of one
# epoch of the modern LeNet-5 on one thread with --elastic (BEFORE and AFTER builds) and with --distort (AFTER,
# affine only), each run's user CPU time from /usr/bin/time. One thread, because on a shared machine a
# two-thread team's spin-waits inflate CPU time; the elastic field's cost is then elastic - affine.
#   tools/bench_elastic.sh BEFORE/lenet AFTER/lenet [ROUNDS=3]
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: tools/bench_elastic.sh BEFORE AFTER [ROUNDS]" >&2; exit 2; }
cd "$(dirname "${BASH_SOURCE[0]}")/.."
before=$1 after=$2 rounds=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((r = 0; r < rounds; r++)); do
  for run in before-elastic after-elastic after-affine; do
    bin=$after flag=--elastic
    [[ $run == before-* ]] && bin=$before
    [[ $run == *-affine ]] && flag=--distort
    /usr/bin/time -f "%U" -o "$work/cpu" "$bin" train --arch lenet5 --epochs 1 --threads 1 "$flag" --seed 1 -q \
      --out "$work/$run-$r.bin" 2>/dev/null
    echo "$run $(cat "$work/cpu")" >>"$work/runs"
  done
done
/usr/bin/python3 - "$work/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, cpu = line.split()
    runs.setdefault(name, []).append(float(cpu))
med = {k: statistics.median(v) for k, v in runs.items()}
for k in ("before-elastic", "after-elastic", "after-affine"):
    print(f"{k:15s} median user CPU per epoch {med[k]:6.2f} s  ({len(runs[k])} runs: {runs[k]})")
for k in ("before", "after"):
    extra = med[f"{k}-elastic"] - med["after-affine"]
    print(f"elastic field, {k:6s}: {extra:5.2f} s per epoch of 60,000 images, {1e6 * extra / 60000:4.1f} us per image")
PY

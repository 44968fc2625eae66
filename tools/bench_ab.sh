#!/usr/bin/env bash
# Before/after speed of two lenet builds on this machine: runs `lenet bench --json` with the same
# arguments alternately, ROUNDS times each, and prints each figure's median for both and the ratio
# after/before. Alternating runs share the machine's load; on a shared machine compare only these ratios.
#   tools/bench_ab.sh BEFORE/lenet AFTER/lenet [ROUNDS] [lenet bench arguments...]
#   e.g. tools/bench_ab.sh /tmp/base/build/lenet build/lenet 6 --arch lenet5 --threads 2 --limit 5000
#        tools/bench_ab.sh /tmp/base/build/lenet build/lenet 3 --pictures DIR --threads 2   (files/s)
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: tools/bench_ab.sh BEFORE AFTER [ROUNDS] [bench args...]" >&2; exit 2; }
before=$1 after=$2
shift 2
rounds=5
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then rounds=$1; shift; fi
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--arch lenet5 --threads 2 --limit 5000 --passes 2 --calls 3000)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 0; r < rounds; r++)); do
  echo "before $("$before" bench --json "${args[@]}")" >>"$out"
  echo "after $("$after" bench --json "${args[@]}")" >>"$out"
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
runs = {"before": [], "after": []}
for line in open(sys.argv[1]):
    which, text = line.split(" ", 1)
    runs[which].append(json.loads(text))
print(f"{len(runs['before'])} alternating rounds each; medians")
for key in ("train_seconds", "train_cpu_seconds", "infer_images_per_s", "latency_us_median", "files_per_s",
            "cpu_us_per_file"):
    if key not in runs["before"][0]:
        continue
    b = statistics.median(r[key] for r in runs["before"])
    a = statistics.median(r[key] for r in runs["after"])
    print(f"{key:20s} before {b:12.4g}  after {a:12.4g}  after/before {a / b:.3f}")
PY

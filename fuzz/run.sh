#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_<name>.cpp, built into build-fuzz/ by `make fuzz`) for a bounded time,
# starting from its committed seeds (fuzz/corpus/<name>/) and crash regressions (fuzz/regressions/<name>/).
# Usage: fuzz/run.sh [SECONDS per target, default 60]. New inputs go to build-fuzz/corpus/<name>/, never
# into the committed seeds. Exits non-zero if any target crashes, saying where the input is.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
build="${FUZZ_BUILD:-build-fuzz}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for source in fuzz/fuzz_*.cpp; do
  name="$(basename "$source" .cpp)"
  name="${name#fuzz_}"
  binary="$build/fuzz_$name"
  [[ -x "$binary" ]] || { echo "fuzz/run.sh: $binary is not built (make fuzz builds it)" >&2; exit 1; }
  mkdir -p "$build/corpus/$name" "$build/artifacts"
  dirs=("$build/corpus/$name" "fuzz/corpus/$name")
  [[ -d "fuzz/regressions/$name" ]] && dirs+=("fuzz/regressions/$name")
  echo "fuzz/run.sh: fuzz_$name for ${seconds} s"
  # -timeout: an input that takes 30 s is a bug too (a hang; the margin is for a loaded CI machine);
  # -rss_limit_mb: so is one that takes 2 GB.
  if ! "$binary" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$name-" "${dirs[@]}" 2>"$build/fuzz_$name.log"; then
    tail -n 60 "$build/fuzz_$name.log" >&2
    echo "fuzz/run.sh: fuzz_$name failed; the input is in $build/artifacts/$name-*. Fix the bug, then keep" \
      "the input as a regression test: cp it into fuzz/regressions/$name/ (tests/test_fuzz_corpus.cpp" \
      "replays it in every build)" >&2
    failed+=("$name")
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz_$name.log" | tr '\n' ' '
    echo
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz/run.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz/run.sh: no crash in $(ls fuzz/fuzz_*.cpp | wc -l) targets, ${seconds} s each"

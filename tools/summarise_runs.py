#!/usr/bin/env python3
"""Mean ± standard deviation of the final error per setting, from `lenet train --log` files.

Usage: tools/summarise_runs.py OUTDIR CELL...   reads OUTDIR/CELL-sSEED.jsonl (and .log, .time)
A run counts as diverged if it stopped with an error (non-finite loss: its .log ends with "exit N"), or its
final error is above 50% (saturated at chance). Means and deviations are over the runs that trained; the
diverged are counted beside them. Prints a Markdown table.
"""
import glob
import json
import os
import re
import statistics
import sys


def runs_of(out, cell):
    for path in sorted(glob.glob(os.path.join(out, f"{glob.escape(cell)}-s*.jsonl")),
                       key=lambda p: int(re.search(r"-s(\d+)\.jsonl$", p).group(1))):
        seed = int(re.search(r"-s(\d+)\.jsonl$", path).group(1))
        rows = [json.loads(line) for line in open(path) if line.strip()]
        log = open(path[:-6] + ".log").read() if os.path.exists(path[:-6] + ".log") else ""
        failed = "exit " in log.splitlines()[-1] if log.strip() else False
        if not rows and not failed:
            continue  # not started yet
        final = rows[-1]["test_error"] if rows else None
        p19 = rows[18] if len(rows) >= 19 else None
        diverged = failed or final is None or final > 0.5
        yield {"seed": seed, "passes": len(rows), "final": final, "diverged": diverged,
               "train19": p19.get("train_set_error") if p19 else None,
               "seconds": sum(r["seconds"] for r in rows)}


def fmt(values):
    if not values:
        return "–"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}%"
    return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}%"


def main():
    out, cells = sys.argv[1], sys.argv[2:]
    print("| setting | runs | final error by seed | mean ± sd | diverged | training error after pass 19 | training time per run |")
    print("|---|---|---|---|---|---|---|")
    for cell in cells:
        runs = list(runs_of(out, cell))
        if not runs:
            print(f"| {cell} | 0 | not run | – | – | – | – |")
            continue
        ok = [r for r in runs if not r["diverged"] and r["passes"] >= 20]
        by_seed = ", ".join(
            f"s{r['seed']}: " + ("diverged" if r["diverged"] else
                                 f"{100 * r['final']:.2f}" + ("" if r["passes"] >= 20 else f" (pass {r['passes']})"))
            for r in runs)
        train19 = [r["train19"] for r in ok if r["train19"] is not None]
        secs = [r["seconds"] for r in ok]
        print(f"| {cell} | {len(runs)} | {by_seed} | {fmt([r['final'] for r in ok])} | "
              f"{sum(r['diverged'] for r in runs)} of {len(runs)} | {fmt(train19)} | "
              f"{statistics.mean(secs):.0f} s |" if secs else
              f"| {cell} | {len(runs)} | {by_seed} | – | {sum(r['diverged'] for r in runs)} of {len(runs)} | – | – |")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Plots test and training error per pass from `lenet train --log` files, like Fig. 5 of LeCun et al. 1998.

Usage: tools/plot_reproduction.py OUT.png LABEL=LOG.jsonl [LABEL=LOG.jsonl ...]
Each log holds one JSON object per pass (written by `lenet train --log ... --eval-train`); the training
error is `train_set_error` (the whole training set after the pass) when present, else the running
error seen during the pass. Run with Debian's python3 and python3-matplotlib.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    passes = [r["epoch"] for r in rows]
    test = [100 * (1 - r["test_accuracy"]) for r in rows]
    train = [100 * r.get("train_set_error", 1 - r["train_accuracy"]) for r in rows]
    return passes, test, train


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, spec in enumerate(sys.argv[2:]):
        label, path = spec.split("=", 1)
        passes, test, train = read_log(path)
        color = colors[i % len(colors)]
        ax.plot(passes, test, "-o", color=color, ms=3, label=f"{label}: test error")
        ax.plot(passes, train, "--", color=color, label=f"{label}: training error")
    ax.axhline(0.95, color="grey", lw=0.8, ls=":")
    ax.text(1, 0.97, "paper: 0.95% test error", color="grey", fontsize=8)
    ax.set_xlabel("training pass")
    ax.set_ylabel("error rate (%)")
    ax.set_ylim(0, 3)
    ax.set_xticks(range(0, 21, 2))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("LeNet-5 (1998 recipe) on MNIST: error per pass")
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main()

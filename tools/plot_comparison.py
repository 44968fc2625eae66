#!/usr/bin/python3
"""Fig. 9 of the paper, redrawn with our figures: test error per classifier (ours beside the paper's), and the
parameters-versus-error plot of every network in the comparison.

Usage: tools/plot_comparison.py BASELINES.jsonl OUT_PREFIX [LABEL=ERROR_PERCENT=PARAMETERS=PAPER_PERCENT ...]
  BASELINES.jsonl: the --json lines of `lenet baselines`; extra LABEL=... entries add rows measured elsewhere
  (e.g. LeNet-5 from docs/reproduction.md: "LeNet-5=1.02=60000=0.95").
Writes OUT_PREFIX-fig9.png and OUT_PREFIX-params.png.
"""
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rows = {}
    for line in open(sys.argv[1]):
        if line.strip():
            r = json.loads(line)
            rows[r["name"]] = (r["name"], 100 * r["test_error"], r["parameters"], 100 * r["paper_error"])
    for extra in sys.argv[3:]:
        label, err, params, paper = extra.split("=")
        rows[label] = (label, float(err), int(params), float(paper))
    # As Fig. 9 reads: from the paper's worst classifier down to LeNet-5.
    rows = sorted(rows.values(), key=lambda r: -r[3])
    prefix = sys.argv[2]

    fig, ax = plt.subplots(figsize=(7, 0.42 * len(rows) + 1))
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [r[3] for r in rows], height=0.4, color="#bbbbbb", label="paper (1998)")
    ax.barh([i - 0.2 for i in y], [r[1] for r in rows], height=0.4, color="#3366aa", label="ours")
    for i, r in enumerate(rows):
        ax.text(max(r[1], r[3]) + 0.1, i, f"{r[1]:.2f} / {r[3]:.2f}", va="center", fontsize=8)
    ax.set_yticks(list(y))
    ax.set_yticklabels([r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("test error on MNIST (%)")
    ax.set_title("Fig. 9 redrawn: our error / the paper's")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(prefix + "-fig9.png", dpi=110)

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    placed = []
    for r in rows:
        ax.scatter(r[2], r[1], color="#3366aa")
        # A label that would overprint close neighbours' goes below its point, one line per neighbour.
        near = sum(abs(math.log10(r[2] / p[2])) < 0.3 and abs(r[1] - p[1]) < 0.3 for p in placed)
        ax.annotate(r[0], (r[2], r[1]), textcoords="offset points", xytext=(4, 3 - 11 * near), fontsize=8)
        placed.append(r)
    ax.set_xscale("log")
    ax.set_xlabel("trained parameters (log scale)")
    ax.set_ylabel("test error (%)")
    ax.set_title("Parameters against error, every classifier in the comparison")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(prefix + "-params.png", dpi=110)
    print(f"wrote {prefix}-fig9.png and {prefix}-params.png")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Test error of a fully connected net and of LeNet-5 against shift, rotation and scale of the test digits.

Usage: tools/plot_invariance.py INVARIANCE.jsonl OUT.png   (the --json lines of `lenet baselines --invariance`)
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TITLES = {"shift-x": "horizontal shift (pixels)", "shift-y": "vertical shift (pixels)",
          "rotate": "rotation (degrees)", "scale": "scale factor"}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    points = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), sharey=True)
    for ax, transform in zip(axes, TITLES):
        pts = sorted((p for p in points if p["transform"] == transform), key=lambda p: p["amount"])
        if not pts:
            continue
        xs = [p["amount"] for p in pts]
        ax.plot(xs, [100 * p["fc_error"] for p in pts], "o-", color="#cc5533", label=pts[0]["fc"])
        ax.plot(xs, [100 * p["lenet_error"] for p in pts], "s-", color="#3366aa", label="LeNet-5")
        ax.set_xlabel(TITLES[transform])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test error (%)")
    axes[0].legend()
    fig.suptitle("Error on transformed MNIST test digits (neither net trained with distortions)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()

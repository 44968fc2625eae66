#!/usr/bin/env python3
"""The 'not a digit' threshold on the network's top probability (kMinDigitConfidence, classify.h), chosen on
the DEV set of the real-picture evaluation: the threshold that maximises (single digits right) + (junk
rejected), the two shares weighted equally. Prints both shares for each candidate.

Usage (after `tools/eval_pictures.py --set dev --model M --answers A.jsonl`, whose pictures and manifest
are in build/eval-pictures/dev):
  /usr/bin/python3 tools/pick_reject_threshold.py --answers A.jsonl [--manifest build/eval-pictures/dev/manifest.jsonl]

Answers that the pipeline itself refused (no ink, or 'not a digit' for a reason of shape: many pieces, far
wider than tall) stay refused whatever the threshold; only the network's own rejection moves with it."""

import argparse
import json
import sys


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--answers", required=True, help="eval_pictures.py --answers file (lenet predict --json lines)")
    ap.add_argument("--manifest", default="build/eval-pictures/dev/manifest.jsonl")
    ap.add_argument("--at", type=float, default=None,
                    help="only measure this threshold (any set): digits right, junk rejected, and the errors "
                    "removed by rejecting the least confident 5%% of the digits answered")
    ap.add_argument("--min-logit", type=float, default=None,
                    help="with --at: accept on the winning logit >= this instead (the rule of a model trained "
                    "without outliers)")
    args = ap.parse_args()
    manifest = load_jsonl(args.manifest)
    if args.at is None and any("/report/" in m["file"] for m in manifest):
        sys.exit("pick_reject_threshold.py: this is the report set; thresholds are chosen on the dev set only")
    answers = {a.get("file"): a for a in load_jsonl(args.answers)}
    digits, junk = [], []  # (top probability or None when the pipeline refused it, right answer?)
    for m in manifest:
        a = answers.get(m["file"])
        if a is None or m.get("kind") not in ("digit", "junk"):
            continue
        refused = "error" in a or (a.get("not_digit") and not a.get("why", "").startswith("the network"))
        probs = a.get("probabilities")
        top = None if refused or not probs else max(probs)
        if top is not None and args.min_logit is not None:  # the logit rule: below every threshold if refused
            top = max(probs) if a.get("score", 0) >= args.min_logit else -1.0
        right = probs is not None and not refused and probs.index(max(probs)) == m["truth"]
        (digits if m["kind"] == "digit" else junk).append((top, right))
    if not digits or not junk:
        sys.exit("pick_reject_threshold.py: no single digits or no junk in the answers")
    print(f"{len(digits)} single digits, {len(junk)} junk pictures")
    if args.at is not None:
        t = args.at
        right = sum(1 for top, ok in digits if ok and top >= t) / len(digits)
        rejected = sum(1 for top, _ in junk if top is None or top < t) / len(junk)
        kept = sorted(((top, ok) for top, ok in digits if top is not None and top >= t), key=lambda k: -k[0])
        errors = sum(1 for _, ok in kept if not ok)
        cut = kept[:round(0.95 * len(kept))]
        removed = 1 - sum(1 for _, ok in cut if not ok) / errors if errors else 0
        print(f"threshold {t:.2f}: {100 * right:.1f}% of the digits right, {100 * rejected:.1f}% of the junk "
              f"rejected; of the {len(kept)} digits answered, {errors} wrong, and rejecting the least "
              f"confident 5% removes {100 * removed:.1f}% of those errors")
        return
    print(f"{'threshold':>9} {'digits right':>13} {'junk rejected':>14} {'sum':>7}")
    best = None
    for k in range(5, 100):
        t = k / 100
        right = sum(1 for top, ok in digits if ok and top >= t) / len(digits)
        rejected = sum(1 for top, _ in junk if top is None or top < t) / len(junk)
        if k % 5 == 0:
            print(f"{t:9.2f} {100 * right:12.1f}% {100 * rejected:13.1f}% {100 * (right + rejected):6.1f}")
        if best is None or right + rejected > best[1] + best[2]:
            best = (t, right, rejected)
    print(f"best: threshold {best[0]:.2f}: {100 * best[1]:.1f}% of the digits right, "
          f"{100 * best[2]:.1f}% of the junk rejected")


if __name__ == "__main__":
    main()

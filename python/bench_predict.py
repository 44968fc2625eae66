#!/usr/bin/python3
# Benchmark (not a test): lenet.Model.predict on the 10,000 MNIST test images against `lenet bench`'s
# batched inference, in the same run, alternating, so that the ratio is not the machine's mood.
#
#   /usr/bin/python3 python/bench_predict.py --module-dir build/python --lenet build/lenet \
#       --model models/lenet5.bin --data data/mnist --threads 2 --rounds 5
# Prints both rates (images/s, the median of the rounds) and predict's share of lenet bench's (target >= 80%).
import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np


def read_idx(path):
    raw = open(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--module-dir", required=True)
    p.add_argument("--lenet", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--min-ratio", type=float, default=0.0, help="exit 1 below this ratio (0: report only)")
    args = p.parse_args()
    sys.path.insert(0, args.module_dir)
    import lenet

    images = read_idx(args.data + "/t10k-images-idx3-ubyte")
    model = lenet.load(args.model)
    model.predict(images[:1000], threads=args.threads)  # warm up
    ours, theirs = [], []
    for _ in range(args.rounds):
        times = []
        for _ in range(5):  # the median of 5 passes, as lenet bench reports
            t = time.perf_counter()
            model.predict(images, threads=args.threads)
            times.append(time.perf_counter() - t)
        ours.append(len(images) / statistics.median(times))
        out = subprocess.run([args.lenet, "bench", "--model", args.model, "--data", args.data, "--threads",
                              str(args.threads), "--json", "--limit", "64"], capture_output=True, text=True,
                             check=True).stdout
        theirs.append(json.loads(out)["infer_images_per_s"])
    a, b = statistics.median(ours), statistics.median(theirs)
    print(json.dumps({"python_predict_images_per_s": round(a), "lenet_bench_infer_images_per_s": round(b),
                      "ratio": round(a / b, 3), "rounds": args.rounds, "threads": args.threads,
                      "python_rounds": [round(x) for x in ours], "bench_rounds": [round(x) for x in theirs]}))
    if args.min_ratio and a / b < args.min_ratio:
        sys.exit(1)


if __name__ == "__main__":
    main()

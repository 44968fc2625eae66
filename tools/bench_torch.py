#!/usr/bin/python3
# The modern LeNet-5 of `lenet bench`, in PyTorch, measured the same way: batched inference over the test set
# (batches of 1000), single-image latency (median of --calls calls), one training epoch (batch 64, SGD with
# momentum 0.9, lr 0.02, cross-entropy) with the data already in memory as float tensors, so the loop is
# PyTorch's own work. Prints text, or one JSON object with the keys `lenet bench --json` uses.
#
# Run with Debian's python3-torch (not a pyenv python):
#   /usr/bin/python3 tools/bench_torch.py --data data/mnist --threads 2 [--json]
# tools/bench_compare.py runs it alternately with `lenet bench`.
import argparse
import json
import os
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

# The network the tests pin lenet to (ReLU, max pooling, full C3, 10 logits), defined once, in the script
# that writes their fixture (tools/, the script's own directory, is on the import path).
from make_torch_reference import Lenet5
from mnist_idx import find, read_idx

kBackground, kInk = -0.1, 1.175  # the paper's input levels, as lenet's image_to_input
kInferBatch = 1000


def load_split(directory, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(find(directory, f"{prefix}-images-idx3-ubyte", "bench_torch"))
    labels = read_idx(find(directory, f"{prefix}-labels-idx1-ubyte", "bench_torch"))
    n, rows, cols = images.shape
    x = np.full((n, 1, 32, 32), kBackground, dtype=np.float32)
    top, left = (32 - rows) // 2, (32 - cols) // 2
    x[:, 0, top:top + rows, left:left + cols] = kBackground + (kInk - kBackground) / 255.0 * images.astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def infer_images_per_s(model, x, passes):
    rates = []
    with torch.inference_mode():
        for p in range(-1, passes):
            t0 = time.perf_counter()
            for first in range(0, len(x), kInferBatch):
                model(x[first:first + kInferBatch]).argmax(1)
            if p >= 0:
                rates.append(len(x) / (time.perf_counter() - t0))
    return statistics.median(rates)


def latencies_us(model, x, calls):
    us = []
    with torch.inference_mode():
        for i in range(-100, calls):
            idx = (i + 100) % len(x)
            t0 = time.perf_counter()
            int(model(x[idx:idx + 1]).argmax(1))
            t = (time.perf_counter() - t0) * 1e6
            if i >= 0:
                us.append(t)
    return us


def train_epoch(model, x, y, batch, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    order = torch.randperm(len(x))
    t0, cpu0 = time.perf_counter(), time.process_time()
    for first in range(0, len(x), batch):
        idx = order[first:first + batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    model.eval()
    return seconds, cpu


def quantized(model):
    """PyTorch's own int8 form of the network (fbgemm kernels), for inference."""
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--json", action="store_true")
    # PyTorch's FX static quantisation cannot trace this Lenet5 (TraceError: its forward iterates over a
    # Proxy), so its int8 form here is quantize_dynamic: int8 full layers, fp32 convolutions.
    ap.add_argument("--precision", choices=["fp32", "int8-dynamic"], default="fp32",
                    help="int8-dynamic: torch quantize_dynamic of the full layers (inference only)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Lenet5().eval()
    x_test, _ = load_split(a.data, "test")
    if a.precision != "fp32":
        model = quantized(model)
        a.no_train = True
    j = {"framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
         "precision": a.precision,
         "mkldnn": torch.backends.mkldnn.is_available()}
    j["infer_batch"] = kInferBatch
    j["infer_images"] = len(x_test)
    j["infer_images_per_s"] = infer_images_per_s(model, x_test, a.passes)
    lat = latencies_us(model, x_test, a.calls)
    j["latency_calls"] = a.calls
    j["latency_us_median"] = statistics.median(lat)
    j["latency_us_p90"] = sorted(lat)[min(len(lat) - 1, int(0.9 * len(lat)))]
    if not a.no_train:
        x, y = load_split(a.data, "train")
        if 0 < a.limit < len(x):
            x, y = x[:a.limit], y[:a.limit]
        seconds, cpu = train_epoch(model, x, y, a.batch, 0.02)
        j.update({"train_images": len(x), "train_batch": a.batch, "train_optimizer": "momentum",
                  "train_seconds": seconds, "train_cpu_seconds": cpu, "train_images_per_s": len(x) / seconds})
    j["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    if a.json:
        print(json.dumps(j))
        return
    print(f"pytorch {j['torch']}, {j['threads']} threads, mkldnn {j['mkldnn']}")
    print(f"inference  {len(x_test)} test images in batches of {kInferBatch}: {j['infer_images_per_s']:.0f} images/s")
    print(f"latency    one image, {a.calls} calls: median {j['latency_us_median']:.1f} us, "
          f"90th percentile {j['latency_us_p90']:.1f} us")
    if not a.no_train:
        print(f"training   1 epoch of {j['train_images']} images, batch {a.batch}, momentum: "
              f"{j['train_seconds']:.2f} s ({j['train_cpu_seconds']:.2f} s of CPU), {j['train_images_per_s']:.0f} images/s")
    print(f"memory     peak RSS {j['max_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()

# Shared by the interop tests: MNIST idx files, lenet's own outputs (via lenet_outputs) and `lenet eval`,
# and a failure that names what differed.
import json
import os
import subprocess
import sys

import numpy as np

CLASSES = 10
SIDE = 32
BACKGROUND, INK = -0.1, 1.175


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw):
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        fail("%s exited with %d:\n%s%s" % (cmd[0], r.returncode, r.stdout, r.stderr))
    return r.stdout


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist(data_dir, split="test"):
    prefix = "t10k" if split == "test" else "train"
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte"))
    return images, labels


def network_input(images):
    """(N, 28, 28) uint8 -> (N, 1, 32, 32) float32 in the paper's levels, as lenet's image_to_input."""
    n, rows, cols = images.shape
    x = np.full((n, 1, SIDE, SIDE), BACKGROUND, dtype=np.float32)
    top, left = (SIDE - rows) // 2, (SIDE - cols) // 2
    scale = np.float32((INK - BACKGROUND) / 255.0)
    x[:, 0, top:top + rows, left:left + cols] = np.float32(BACKGROUND) + scale * images.astype(np.float32)
    return x


def lenet_outputs(tool, model, data_dir, out, split="test"):
    """lenet's (scores, probabilities), each (N, 10), from the lenet_outputs test tool."""
    run([tool, model, data_dir, split, out])
    values = np.fromfile(out, dtype=np.float32)
    half = values.size // 2
    return values[:half].reshape(-1, CLASSES), values[half:].reshape(-1, CLASSES)


def lenet_eval(lenet, model, data_dir):
    return json.loads(run([lenet, "eval", "--model", model, "--data", data_dir, "--json"]))


def confusion(labels, predictions):
    c = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(c, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return c

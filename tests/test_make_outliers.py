#!/usr/bin/env python3
"""The outlier generator (tools/make_outliers.py) and `lenet train --outliers`: the same seed gives the same
file byte for byte, another seed another file, every image holds ink and is MNIST-normalised (ink inside the
28x28 frame, centred), and lenet trains with it and refuses outliers it cannot use, naming why.

Usage: test_make_outliers.py SOURCE_DIR LENET WORK_DIR"""
import os
import struct
import subprocess
import sys

import numpy as np

src, lenet, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
tool = os.path.join(src, "tools", "make_outliers.py")
mnist = os.path.join(src, "data", "mnist")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def make(name, seed, count=240):
    path = os.path.join(work, name)
    subprocess.run(["/usr/bin/python3", tool, "--mnist", mnist, "--out", path, "--count", str(count),
                    "--seed", str(seed)], check=True)
    return path, open(path, "rb").read()


a_path, a = make("a-idx3-ubyte", 1)
_, b = make("b-idx3-ubyte", 1)
_, c = make("c-idx3-ubyte", 2)
check(a == b, "the same seed gives the same bytes")
check(a != c, "another seed gives another file")
magic, n, rows, cols = struct.unpack(">IIII", a[:16])
check((magic, n, rows, cols) == (0x803, 240, 28, 28), f"idx3 header 240x28x28, found {(magic, n, rows, cols)}")
images = np.frombuffer(a, np.uint8, offset=16).reshape(n, rows, cols).astype(np.float64)
ink = images.sum(axis=(1, 2))
check((ink > 0).all(), "every image holds ink")
# MNIST's normalisation: nothing in the 2-px border of a 20-px box centred in 28x28 is beyond reach, and the
# centre of mass is near the centre.
yy, xx = np.mgrid[0:28, 0:28]
cy = (images * yy).sum(axis=(1, 2)) / ink
cx = (images * xx).sum(axis=(1, 2)) / ink
check(np.abs(cy - 13.5).max() < 2 and np.abs(cx - 13.5).max() < 2,
      f"centres of mass near the centre (worst {np.abs(cy - 13.5).max():.2f}, {np.abs(cx - 13.5).max():.2f})")

# lenet trains with them (one short epoch) ...
model = os.path.join(work, "oe.bin")
if os.path.exists(model):
    os.remove(model)
p = subprocess.run([lenet, "train", "--data", mnist, "--epochs", "1", "--limit", "600", "--threads", "1",
                    "--outliers", a_path, "--out", model], capture_output=True, text=True)
check(p.returncode == 0 and os.path.exists(model), f"lenet train --outliers runs: {p.stderr[-300:]}")
check("mixed in 240 outlier images" in p.stderr, f"it says what it mixed in: {p.stderr[-300:]}")
# ... and refuses them with the 1998 network's RBF loss, which has no target for them.
p = subprocess.run([lenet, "train", "--arch", "lenet5-1998", "--data", mnist, "--epochs", "1", "--limit", "50",
                    "--outliers", a_path, "--out", os.path.join(work, "no.bin")], capture_output=True, text=True)
check(p.returncode != 0 and "--outliers needs" in p.stderr, f"lenet5-1998 refused: {p.stderr[-300:]}")
# A file of 14x14 images is refused, naming the file and both sizes.
small = os.path.join(work, "small-idx3-ubyte")
with open(small, "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 2, 14, 14) + bytes(2 * 14 * 14))
p = subprocess.run([lenet, "train", "--data", mnist, "--epochs", "1", "--limit", "50", "--outliers", small,
                    "--out", os.path.join(work, "no.bin")], capture_output=True, text=True)
check(p.returncode != 0 and small in p.stderr and "14x14" in p.stderr and "28x28" in p.stderr,
      f"wrong-size outliers refused: {p.stderr[-300:]}")

print("make_outliers:", "FAILED" if failures else "ok", f"({len(failures)} failures)")
sys.exit(1 if failures else 0)

#!/usr/bin/python3
"""Writes a folder of picture files made from MNIST TRAINING digits (never the test set), for timing
`lenet predict` over many files (`lenet bench --pictures DIR`, docs/performance.md) and checking its answers.

  tools/make_pictures.py --kind small --count 10000 --out /tmp/pictures-small   # 28x28 grey PNGs
  tools/make_pictures.py --kind photo --count 200 --out /tmp/pictures-photo     # phone-photo-like JPEGs

small: each digit as a 28x28 8-bit grey PNG, dark ink on white paper (as a scan).
photo: each digit enlarged onto a colour picture 1000-3000 px wide (4:3), on paper with uneven light,
       a slight tint and sensor noise, written as JPEG (quality 90), as a phone would.
Files are named NNNNN-L.png / .jpg (L: the digit's label), so answers can be checked. Deterministic (--seed).
"""
import argparse
import os
import sys

import cv2
import numpy as np

from mnist_idx import find, read_idx


def photo(digit, rng):
    width = int(rng.integers(1000, 3001))
    height = width * 3 // 4
    # Paper: bright, lit unevenly from one side, slightly tinted.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    light = (np.cos(angle) * xs / width + np.sin(angle) * ys / height)
    paper = 215 + 25 * (light - light.min()) / max(1e-6, float(light.max() - light.min()))
    # The digit fills 40-70% of the height, a little off centre.
    side = int(height * rng.uniform(0.4, 0.7))
    ink = cv2.resize(digit.astype(np.float32) / 255.0, (side, side), interpolation=cv2.INTER_CUBIC)
    ink = np.clip(ink, 0, 1)
    y0 = (height - side) // 2 + int(rng.integers(-height // 10, height // 10 + 1))
    x0 = (width - side) // 2 + int(rng.integers(-width // 10, width // 10 + 1))
    grey = paper.copy()
    region = grey[y0:y0 + side, x0:x0 + side]
    region[:] = region * (1 - 0.8 * ink) + 30 * 0.8 * ink
    grey = cv2.GaussianBlur(grey, (0, 0), sigmaX=1.0 + side / 400)
    tint = rng.uniform(0.92, 1.0, size=3)
    colour = grey[:, :, None] * tint[None, None, :] + rng.normal(0, 3, size=(height, width, 3))
    return np.clip(colour, 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/mnist", help="directory with MNIST's training idx files")
    ap.add_argument("--out", required=True, help="directory to write (created; existing files are kept)")
    ap.add_argument("--kind", choices=["small", "photo"], default="small")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--first", type=int, default=0, help="first training image used")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    images = read_idx(find(a.data, "train-images-idx3-ubyte", "make_pictures.py"))
    labels = read_idx(find(a.data, "train-labels-idx1-ubyte", "make_pictures.py"))
    if a.count < 1 or a.first < 0 or a.first + a.count > len(images):
        sys.exit(f"make_pictures.py: --first {a.first} --count {a.count} is outside the {len(images)} "
                 "training images")
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    for k in range(a.count):
        i = a.first + k
        if a.kind == "small":
            path = os.path.join(a.out, f"{k:05d}-{labels[i]}.png")
            ok = cv2.imwrite(path, 255 - images[i])
        else:
            path = os.path.join(a.out, f"{k:05d}-{labels[i]}.jpg")
            ok = cv2.imwrite(path, photo(images[i], rng), [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            sys.exit(f"make_pictures.py: cannot write {path}")
    print(f"make_pictures.py: wrote {a.count} {a.kind} pictures of training digits "
          f"{a.first}..{a.first + a.count - 1} to {a.out}")


if __name__ == "__main__":
    main()

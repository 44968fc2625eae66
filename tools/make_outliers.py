#!/usr/bin/env python3
"""Outlier images for outlier exposure (issue 11): 28x28 pictures of things that are NOT digits, as the
network sees them after lenet's MNIST normalisation, written as one idx3 file for `lenet train --outliers`.

Usage:
  /usr/bin/python3 tools/make_outliers.py --mnist data/mnist --out build/outliers-idx3-ubyte \\
      [--count 30000] [--seed 1]

Sources (docs/reading-pictures.md, "Not a digit"), each a share of --count:
  fashion    Fashion-MNIST's TRAINING images (Debian dataset-fashion-mnist), the classic outlier set (37%)
  letters    letters no reader could take for a digit, from fonts that the real-picture evaluation
             (tools/eval_pictures.py) does not use: DejaVu Sans/Serif/Mono and Computer Modern (fonts-dejavu,
             fonts-lyx), as drawn or bolder (never thinner: thin strokes are real digits too), rotated, sheared
  strokes    one to three straight strokes within 35 degrees of horizontal (a near-vertical one is a 1),
             pieces of ruled and squared paper, scribbles of many segments
  fragments  pieces of MNIST TRAINING digits: a random part holding 15-40% of a digit's ink (only with
             --fragments SHARE)
  blobs      filled ellipses and polygons
  noise      speckle, uniform noise, smooth noise thresholded, stripes and checks of random period

This generator shares no code and no parameters with tools/eval_pictures.py (whose pictures are only
measured on), and it never reads MNIST's test set. The same --seed gives the same file, byte for byte.
"""

import argparse
import gzip
import os
import struct
import sys

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/lyx"]
# Fonts of families that tools/eval_pictures.py never draws with (neither its dev nor its report fonts).
FONT_NAMES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
              "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf",
              "DejaVuSansCondensed.ttf", "DejaVuSerifCondensed-Italic.ttf", "cmr10.ttf"]
# Letters and signs only; those a digit reader could not tell from a digit (O, o, D, Q for 0; I, l, i, j,
# J, T for 1 or 7; Z, z for 2; S, s for 5; G, b for 6; B for 8; g, q, a, e, d for 9 or 6) are left out.
LETTERS = "ACEFHKMNPRUVWXYcfhkmnprtuvwxy#%&@*+=?!<>"
# Fragments are off by default: on the dev set they cost real digits (a tight crop's digit is a piece too) and
# rejected no more junk (docs/reading-pictures.md); --fragments SHARE takes that share from Fashion-MNIST.
SHARES = {"fashion": 0.37, "letters": 0.25, "strokes": 0.15, "fragments": 0.0, "blobs": 0.08, "noise": 0.15}
SIDE, BOX = 28, 20  # the MNIST normalisation: longer side 20 px, centre of mass at the centre of 28x28


def die(msg):
    print(f"make_outliers.py: {msg}", file=sys.stderr)
    sys.exit(1)


def read_idx3(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x803 or len(data) != 16 + n * rows * cols:
        die(f"{path}: not an idx3 file of uint8 images")
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)


def write_idx3(path, images):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(images), SIDE, SIDE))
        f.write(np.ascontiguousarray(images, np.uint8).tobytes())
    os.replace(tmp, path)


def normalise(ink):
    """ink (float, 0..1, any size) -> 28x28 uint8 as lenet's normalise_digit does it: the ink's box, its
    longer side scaled to 20 px by area averaging, the centre of mass moved to the centre. None if no ink."""
    ys, xs = np.nonzero(ink > 0.1)
    if len(ys) == 0:
        return None
    crop = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    s = BOX / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = cv2.resize(crop.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
    total = small.sum()
    if total <= 0:
        return None
    cy = (small.sum(axis=1) * np.arange(nh)).sum() / total
    cx = (small.sum(axis=0) * np.arange(nw)).sum() / total
    oy, ox = int(round(SIDE / 2 - 0.5 - cy)), int(round(SIDE / 2 - 0.5 - cx))
    out = np.zeros((SIDE, SIDE), np.float32)
    y0, x0 = max(0, oy), max(0, ox)
    y1, x1 = min(SIDE, oy + nh), min(SIDE, ox + nw)
    if y1 <= y0 or x1 <= x0:
        return None
    out[y0:y1, x0:x1] = small[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def stroke_width(rng, size):
    return max(1, int(round(size * rng.uniform(0.05, 0.14))))


def affine(mask, rng, rot=15, shear=0.25):
    h, w = mask.shape
    a = np.deg2rad(rng.uniform(-rot, rot))
    sh = rng.uniform(-shear, shear)
    m = np.array([[np.cos(a), -np.sin(a) + sh], [np.sin(a), np.cos(a)]], np.float32)
    c = np.array([w / 2, h / 2], np.float32)
    t = np.hstack([m, (c - m @ c)[:, None]])
    return cv2.warpAffine(mask, t, (w, h), flags=cv2.INTER_LINEAR)


def fashion(rng, data):
    return data["fashion"][int(rng.integers(len(data["fashion"])))].astype(np.float32) / 255


def letters(rng, data):
    font = ImageFont.truetype(data["fonts"][int(rng.integers(len(data["fonts"])))], 72)
    img = Image.new("L", (128, 128), 0)
    ImageDraw.Draw(img).text((64, 64), str(rng.choice(list(LETTERS))), fill=255, font=font, anchor="mm")
    m = np.asarray(img, np.float32) / 255
    # Pen thickness: as the font or bolder, never thinner (thin strokes are what real digits through a fine pen
    # look like, and the network must not learn that thinness means "not a digit").
    k = int(rng.integers(0, 5))
    if k > 0:
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k + 1, k + 1)))
    return affine(m, rng)


def strokes(rng, data):
    n = 96
    m = np.zeros((n, n), np.float32)
    kind = rng.choice(["straight", "ruled", "squared", "scribble"], p=[0.4, 0.2, 0.15, 0.25])
    w = stroke_width(rng, n)
    if kind == "straight":
        for _ in range(int(rng.integers(1, 4))):
            a = np.deg2rad(rng.uniform(-35, 35))
            length = rng.uniform(0.3, 0.9) * n
            cx, cy = rng.uniform(0.3, 0.7) * n, rng.uniform(0.3, 0.7) * n
            dx, dy = np.cos(a) * length / 2, np.sin(a) * length / 2
            cv2.line(m, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), 1.0, w)
    elif kind in ("ruled", "squared"):
        step = int(rng.uniform(0.15, 0.35) * n)
        for y in range(int(rng.uniform(0, step)), n, step):
            cv2.line(m, (0, y), (n - 1, y + int(rng.uniform(-3, 3))), 1.0, w)
        if kind == "squared":
            for x in range(int(rng.uniform(0, step)), n, step):
                cv2.line(m, (x, 0), (x + int(rng.uniform(-3, 3)), n - 1), 1.0, w)
        m = affine(m, rng, rot=10, shear=0.1)
    else:
        pts = np.int32(rng.uniform(0.1, 0.9, (int(rng.integers(6, 13)), 2)) * n)
        cv2.polylines(m, [pts], False, 1.0, w)
    return m


def fragments(rng, data):
    digits = data["mnist"]
    n = 4 * SIDE  # cut at 4x, so that the piece is not blocky once scaled to 20 px
    for _ in range(20):
        d = cv2.resize(digits[int(rng.integers(len(digits)))].astype(np.float32) / 255, (n, n),
                       interpolation=cv2.INTER_CUBIC).clip(0, 1)
        h0, w0 = rng.uniform(0.2, 0.6, 2) * n
        y, x = int(rng.uniform(0, n - h0)), int(rng.uniform(0, n - w0))
        piece = np.zeros_like(d)
        piece[y:y + int(h0), x:x + int(w0)] = d[y:y + int(h0), x:x + int(w0)]
        share = piece.sum() / max(d.sum(), 1e-6)
        ys, xs = np.nonzero(piece > 0.1)
        if len(ys) == 0:
            continue
        tall = (ys.max() - ys.min() + 1) / (xs.max() - xs.min() + 1)
        if 0.15 <= share <= 0.4 and tall < 2:  # a tall thin piece is a 1
            return piece
    return None


def blobs(rng, data):
    n = 96
    m = np.zeros((n, n), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.5:
            c = (int(rng.uniform(0.2, 0.8) * n), int(rng.uniform(0.2, 0.8) * n))
            axes = (int(rng.uniform(0.1, 0.4) * n), int(rng.uniform(0.1, 0.4) * n))
            cv2.ellipse(m, c, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        else:
            pts = np.int32(rng.uniform(0.1, 0.9, (int(rng.integers(3, 7)), 2)) * n)
            cv2.fillPoly(m, [cv2.convexHull(pts)], 1.0)
    return m


def noise(rng, data):
    n = 64
    kind = rng.choice(["speckle", "uniform", "smooth", "stripes", "checks"])
    if kind == "speckle":
        m = (rng.random((n, n)) < rng.uniform(0.02, 0.15)).astype(np.float32)
        return cv2.dilate(m, np.ones((int(rng.integers(1, 4)),) * 2, np.uint8))
    if kind == "uniform":
        return rng.random((n, n)).astype(np.float32)
    if kind == "smooth":
        m = cv2.GaussianBlur(rng.random((n, n)).astype(np.float32), (0, 0), rng.uniform(1.5, 5))
        return (m > np.quantile(m, rng.uniform(0.4, 0.8))).astype(np.float32)
    yy, xx = np.mgrid[0:n, 0:n]
    p = int(rng.integers(3, 16))
    a = np.deg2rad(rng.uniform(0, 180))
    u = (xx * np.cos(a) + yy * np.sin(a)) // p
    if kind == "stripes":
        return (u % 2).astype(np.float32)
    v = (-xx * np.sin(a) + yy * np.cos(a)) // p
    return ((u + v) % 2).astype(np.float32)


MAKERS = {"fashion": fashion, "letters": letters, "strokes": strokes, "fragments": fragments,
          "blobs": blobs, "noise": noise}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mnist", required=True, help="directory of MNIST's idx files (its TRAINING images are read)")
    ap.add_argument("--out", required=True, help="idx3 file to write (28x28 uint8)")
    ap.add_argument("--count", type=int, default=30000, help="images to write (default 30000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fragments", type=float, default=0.0,
                    help="share of pieces of MNIST training digits, taken from Fashion-MNIST's (0 to 0.37; default 0)")
    args = ap.parse_args()
    if args.count < 1:
        die("--count must be at least 1")
    if not 0 <= args.fragments <= SHARES["fashion"]:
        die(f"--fragments must be between 0 and {SHARES['fashion']}, not {args.fragments}")
    SHARES["fashion"] -= args.fragments
    SHARES["fragments"] = args.fragments
    mnist = next((os.path.join(args.mnist, f) for f in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz")
                  if os.path.exists(os.path.join(args.mnist, f))), None)
    if mnist is None:
        die(f"no train-images-idx3-ubyte[.gz] in {args.mnist} (scripts/fetch_mnist.sh fetches it)")
    if not os.path.exists(FASHION):
        die(f"{FASHION} is missing (Debian package dataset-fashion-mnist; scripts/install_deps.sh)")
    fonts = [os.path.join(d, f) for d in FONT_DIRS for f in FONT_NAMES if os.path.exists(os.path.join(d, f))]
    if not fonts:
        die("none of the letter fonts is installed (fonts-dejavu-core, fonts-dejavu-extra, fonts-lyx)")
    data = {"fashion": read_idx3(FASHION), "mnist": read_idx3(mnist), "fonts": fonts}
    rng = np.random.default_rng(args.seed)
    names = list(SHARES)
    counts = [int(args.count * SHARES[k]) for k in names]
    counts[0] += args.count - sum(counts)
    out = []
    for name, count in zip(names, counts):
        made = 0
        while made < count:
            img = MAKERS[name](rng, data)
            img = normalise(img) if img is not None else None
            if img is not None:
                out.append(img)
                made += 1
    images = np.stack(out)
    images = images[rng.permutation(len(images))]
    write_idx3(args.out, images)
    print(f"wrote {len(images)} outlier images to {args.out}: " +
          ", ".join(f"{n} {c}" for n, c in zip(names, counts)))


if __name__ == "__main__":
    main()

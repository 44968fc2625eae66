#!/usr/bin/env python3
"""Holds out the last N training images as a validation set, so that settings are chosen without the test set.

Writes OUT/train-{images-idx3,labels-idx1}-ubyte (the first 60,000 - N training images) and
OUT/t10k-{images-idx3,labels-idx1}-ubyte (the last N), so that `lenet train --data OUT` trains on the rest and
reports the validation error where it would report the test error.
Usage: tools/make_validation_split.py [SRC=data/mnist] [OUT=data/mnist-val] [N=10000]
"""
import gzip
import os
import struct
import sys


def read_idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with (gzip.open if p.endswith(".gz") else open)(p, "rb") as f:
                return f.read()
    sys.exit(f"make_validation_split: neither {path} nor {path}.gz exists")


def split(data, n_keep, item_size, header_size):
    count = struct.unpack(">I", data[4:8])[0]
    head = bytearray(data[:header_size])
    first, last = bytearray(head), bytearray(head)
    struct.pack_into(">I", first, 4, n_keep)
    struct.pack_into(">I", last, 4, count - n_keep)
    body = data[header_size:]
    return bytes(first) + body[: n_keep * item_size], bytes(last) + body[n_keep * item_size:], count


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "data/mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else "data/mnist-val"
    n_val = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    images = read_idx(os.path.join(src, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(src, "train-labels-idx1-ubyte"))
    count, rows, cols = struct.unpack(">III", images[4:16])
    if not 0 < n_val < count:
        sys.exit(f"make_validation_split: N must be between 1 and {count - 1}, not {n_val}")
    keep = count - n_val
    train_img, val_img, _ = split(images, keep, rows * cols, 16)
    train_lab, val_lab, _ = split(labels, keep, 1, 8)
    os.makedirs(out, exist_ok=True)
    for name, blob in (("train-images-idx3-ubyte", train_img), ("train-labels-idx1-ubyte", train_lab),
                       ("t10k-images-idx3-ubyte", val_img), ("t10k-labels-idx1-ubyte", val_lab)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)
    print(f"{out}: {keep} training images, {n_val} validation images (the last of {src}'s training set)")


if __name__ == "__main__":
    main()

"""MNIST's idx files for the tools in this folder: find one in a data directory (plain or .gz) and read it
as a numpy array. (lenet's own reader, with its checks, is src/idx.cpp; these tools read files it accepts.)"""
import gzip
import os
import sys

import numpy as np


def read_idx(path):
    """The array stored in an idx file (uint8 data; the magic's last byte gives the number of dimensions)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(directory, stem, tool):
    """The path of `stem` or `stem`.gz in `directory`; exits naming `tool` and the file when neither exists."""
    for name in (stem, stem + ".gz"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    sys.exit(f"{tool}: no {stem}[.gz] in {directory} (make data)")

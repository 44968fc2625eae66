#!/usr/bin/python3
# CTest interop.pytorch_import: trains PyTorch's tutorial LeNet-5 (conv1 conv2 fc1 fc2 fc3, ReLU, max
# pooling, 32x32 input at lenet's levels) for one short epoch (the first 12,000 training images), saves its
# state_dict (.pt and .npz), imports both with tools/import_pytorch.py, and checks that lenet answers
# exactly as PyTorch does on the 10,000 test images: 0 disagreements, `lenet eval` accuracy equal to
# PyTorch's. A second network trained on torchvision-style levels (Normalize(0.1307, 0.3081) of p/255)
# checks the --pixel-scale/--pixel-offset folding the same way.
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import fail, lenet_eval, lenet_outputs, mnist, network_input, run  # noqa: E402

kSeed, kBatch, kLr, kMomentum = 1, 64, 0.05, 0.9
kMean, kStd = 0.1307, 0.3081


class TutorialLenet5(nn.Module):
    """The LeNet of PyTorch's "Neural Networks" tutorial: 32x32 input, fc1 reads the 16x5x5 maps."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def levels(images, normalised):
    """lenet's input levels, or (p/255 - mean)/std padded with the background's level."""
    x = network_input(images)
    if normalised:
        p = (x - np.float32(-0.1)) / np.float32(1.275)  # back to p/255 in [0, 1]; 0 in the margin
        x = ((p - kMean) / kStd).astype(np.float32)
    return torch.from_numpy(x)


def train_one_epoch(train_images, train_labels, normalised, limit):
    torch.manual_seed(kSeed)
    net = TutorialLenet5()
    opt = torch.optim.SGD(net.parameters(), lr=kLr, momentum=kMomentum)
    x, y = levels(train_images[:limit], normalised), torch.from_numpy(train_labels[:limit].astype(np.int64))
    order = torch.randperm(len(x))
    net.train()
    for first in range(0, len(x), kBatch):
        idx = order[first:first + kBatch]
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    return net


def check(args, name, net, test_images, test_labels, normalised):
    net.eval()
    with torch.no_grad():
        logits = net(levels(test_images, normalised)).numpy()
    torch_pred = logits.argmax(axis=1)
    torch_accuracy = float((torch_pred == test_labels).mean())

    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    pt = os.path.join(args.work, name + ".pt")
    npz = os.path.join(args.work, name + ".npz")
    torch.save(state, pt)
    np.savez(npz, **{k: v.numpy() for k, v in state.items()})
    fold = ["--pixel-scale", str(1 / kStd), "--pixel-offset", str(-kMean / kStd)] if normalised else []
    for source in (pt, npz):
        model = source + ".bin"
        run([sys.executable, args.importer, source, "--arch", "lenet5", "--out", model] + fold)
        scores, _ = lenet_outputs(args.outputs, model, args.data, model + ".f32")
        lenet_pred = scores.argmax(axis=1)
        disagreements = int((lenet_pred != torch_pred).sum())
        evaluation = lenet_eval(args.lenet, model, args.data)
        print("%s via %s: PyTorch %s accuracy %.2f%%, lenet eval %.2f%%, disagreements %d of %d, "
              "max |logit diff| %.3g" % (name, os.path.basename(source), torch.__version__, 100 * torch_accuracy,
                                          100 * evaluation["accuracy"], disagreements, len(test_labels),
                                          float(np.abs(scores - logits).max())))
        if disagreements:
            fail("%s: lenet and PyTorch disagree on %d test images (first: %s)"
                 % (source, disagreements, np.nonzero(lenet_pred != torch_pred)[0][:10].tolist()))
        if evaluation["count"] != len(test_labels) or \
                round(evaluation["accuracy"] * len(test_labels)) != int((torch_pred == test_labels).sum()):
            fail("%s: lenet eval accuracy %.4f, PyTorch %.4f" % (source, evaluation["accuracy"], torch_accuracy))
    return torch_accuracy


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--lenet", "--outputs", "--importer", "--data", "--work"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--limit", type=int, default=12000, help="training images in the short epoch")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(2)
    train_images, train_labels = mnist(args.data, "train")
    test_images, test_labels = mnist(args.data, "test")

    net = train_one_epoch(train_images, train_labels, False, args.limit)
    check(args, "torch_lenet5", net, test_images, test_labels, False)
    # The folding of other input levels into C1: half as many images suffice to test it.
    net = train_one_epoch(train_images, train_labels, True, args.limit // 2)
    check(args, "torch_lenet5_normalised", net, test_images, test_labels, True)

    # Refusals: a state_dict of another network is named, not misread.
    bad = os.path.join(args.work, "not_lenet.npz")
    np.savez(bad, **{"conv1.weight": np.zeros((8, 1, 3, 3), np.float32)})
    import subprocess
    r = subprocess.run([sys.executable, args.importer, bad, "--out", bad + ".bin"], capture_output=True, text=True)
    if r.returncode == 0 or "C1.weight" not in r.stderr or os.path.exists(bad + ".bin"):
        fail("importing a non-LeNet state_dict: exit %d, stderr %r" % (r.returncode, r.stderr))
    print("PASS")


if __name__ == "__main__":
    main()

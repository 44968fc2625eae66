#!/usr/bin/python3
# Writes tests/fixtures/lenet5_torch.bin: the modern LeNet-5 (Arch::Lenet5) built independently in PyTorch —
# inputs, labels, initial weights, logits, loss, every gradient, and 5 steps of momentum SGD and of Adam.
#
# Run with Debian's python3-torch (not a pyenv python):  /usr/bin/python3 tools/make_torch_reference.py
# The output is deterministic for a given torch build (fixed seed, one thread, float32).
#
# Network (same order as src/lenet5.cpp):
#   input (N,1,32,32) -> C1 Conv2d(1,6,5) -> ReLU -> MaxPool2d(2) -> C3 Conv2d(6,16,5) -> ReLU -> MaxPool2d(2)
#   -> C5 Conv2d(16,120,5) -> ReLU -> flatten -> F6 Linear(120,84) -> ReLU -> OUTPUT Linear(84,10) = logits
#   loss = CrossEntropyLoss, mean over the batch.
#
# File format (all little-endian):
#   magic  b"LNTF"   u32 version (= 1)   u32 record count
#   then each record:
#     u32 name length, name bytes (ASCII)
#     u32 dtype        0 = float32, 1 = uint8
#     u32 ndim         (0 for a scalar: one element)
#     i64 dims[ndim]
#     data             prod(dims) elements of dtype, row-major
#
# Records:
#   meta.torch_version     uint8 (len)           torch.__version__ as ASCII
#   input                  float32 (8,1,32,32)
#   labels                 uint8 (8)
#   init.<T>               float32, T's shape    T in C1.weight C1.bias C3.weight C3.bias C5.weight C5.bias
#                                                F6.weight F6.bias OUTPUT.weight OUTPUT.bias (Lenet5::tensors()
#                                                order, same layouts: conv (out,in,5,5), linear (out,in))
#   logits                 float32 (8,10)
#   loss                   float32 scalar        mean cross-entropy
#   grad.<T>               float32, T's shape    d loss / d T at the initial weights
#   momentum.loss          float32 (5)           loss before each of 5 steps of SGD(lr=0.01, momentum=0.9)
#   momentum.final.<T>     float32               T after the 5th step
#   adam.loss              float32 (5)           same for Adam(lr=0.001), from the same initial weights
#   adam.final.<T>         float32
# To keep the file small, the final C5.weight (48000 of the 61706 parameters) keeps only its first
# kFinalC5Rows output maps: a final record may hold a leading slice along dimension 0 of its tensor.
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

kSeed = 29  # the first seed from 1 whose passes all keep kKinkMargin (see below)
kBatch = 8
kSteps = 5
kFinalC5Rows = 16
kMomentumLr, kMomentum = 0.01, 0.9
kAdamLr = 0.001
# Paper levels (Section II-B): background -0.1, ink +1.175.
kBackground, kInk = -0.1, 1.175
# A ReLU input or a max-pool gap this close to 0 could flip between torch and lenet by rounding alone,
# and a flipped unit changes the gradients by far more than the tolerances. Float32 pre-activations here
# are within 4e-7 of float64 ones; over ~50k units per pass the smallest |pre-activation| is typically
# ~3e-7, so the seed is picked (and checked on every pass) to keep at least this margin.
kKinkMargin = 2e-6

TENSORS = ["C1.weight", "C1.bias", "C3.weight", "C3.bias", "C5.weight", "C5.bias", "F6.weight", "F6.bias",
           "OUTPUT.weight", "OUTPUT.bias"]


class Lenet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.C1 = nn.Conv2d(1, 6, 5)
        self.C3 = nn.Conv2d(6, 16, 5)
        self.C5 = nn.Conv2d(16, 120, 5)
        self.F6 = nn.Linear(120, 84)
        self.OUTPUT = nn.Linear(84, 10)

    def forward(self, x, margins=None):
        def relu(a):
            if margins is not None:
                margins.append(a.abs().min().item())
            return F.relu(a)

        def pool(a):
            if margins is not None:  # gap between the two largest of each 2x2 block, where it matters (> 0)
                n, c, h, w = a.shape
                blocks = a.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(-1, 4)
                top2 = blocks.topk(2, dim=1).values
                live = top2[:, 0] > 0
                if live.any():
                    margins.append((top2[live, 0] - top2[live, 1]).min().item())
            return F.max_pool2d(a, 2)

        x = pool(relu(self.C1(x)))
        x = pool(relu(self.C3(x)))
        x = relu(self.C5(x)).flatten(1)
        x = relu(self.F6(x))
        return self.OUTPUT(x)


def params_of(model):
    named = dict(model.named_parameters())
    assert list(named) == TENSORS, list(named)
    return named


class Writer:
    def __init__(self):
        self.records = []

    def add(self, name, tensor, dtype=0):
        t = tensor.detach().contiguous()
        if dtype == 0:
            data = t.to(torch.float32).numpy().astype("<f4").tobytes()
        else:
            data = t.to(torch.uint8).numpy().tobytes()
        self.records.append((name, dtype, list(t.shape), data))

    def write(self, path):
        out = bytearray(b"LNTF" + struct.pack("<II", 1, len(self.records)))
        for name, dtype, shape, data in self.records:
            raw = name.encode("ascii")
            out += struct.pack("<I", len(raw)) + raw + struct.pack("<II", dtype, len(shape))
            out += struct.pack("<%dq" % len(shape), *shape) + data
        with open(path, "wb") as f:
            f.write(out)
        return len(out)


def final_slice(name, t):
    return t[:kFinalC5Rows] if name == "C5.weight" else t


def trajectory(model0, x, y, make_opt, margins):
    model = Lenet5()
    model.load_state_dict(model0.state_dict())
    opt = make_opt(model.parameters())
    losses = []
    for _ in range(kSteps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x, margins), y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return torch.tensor(losses), params_of(model)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(kSeed)
    model = Lenet5()  # torch's default init: kaiming_uniform(a=sqrt(5)) weights, uniform biases
    x = kBackground + (kInk - kBackground) * torch.rand(kBatch, 1, 32, 32)
    y = torch.randint(0, 10, (kBatch,))

    margins = []
    logits = model(x, margins)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in params_of(model).items()}

    # Float64 run from the same weights: how far torch's own float32 result is from exact, per tensor,
    # as a yardstick for the tolerances in tests/test_torch_reference.cpp.
    model64 = Lenet5().double()
    model64.load_state_dict(model.state_dict())
    loss64 = F.cross_entropy(model64(x.double()), y)
    loss64.backward()
    print("torch", torch.__version__, " float32 vs float64 (max abs diff / max abs value):")
    print("  %-14s %.3g / %.3g" % ("loss", abs(loss.item() - loss64.item()), abs(loss64.item())))
    for n, p in params_of(model64).items():
        print("  grad.%-9s %.3g / %.3g" % (n, (grads[n].double() - p.grad).abs().max().item(),
                                          p.grad.abs().max().item()))

    w = Writer()
    w.add("meta.torch_version", torch.tensor(list(torch.__version__.encode("ascii")), dtype=torch.uint8), 1)
    w.add("input", x)
    w.add("labels", y, 1)
    for n, p in params_of(model).items():
        w.add("init." + n, p)
    w.add("logits", logits)
    w.add("loss", loss)
    for n in TENSORS:
        w.add("grad." + n, grads[n])

    runs = [("momentum", lambda ps: torch.optim.SGD(ps, lr=kMomentumLr, momentum=kMomentum)),
            ("adam", lambda ps: torch.optim.Adam(ps, lr=kAdamLr))]
    for tag, make_opt in runs:
        losses, final = trajectory(model, x, y, make_opt, margins)
        print("%s losses:" % tag, " ".join("%.6f" % v for v in losses.tolist()))
        w.add(tag + ".loss", losses)
        for n, p in final.items():
            w.add(tag + ".final." + n, final_slice(n, p))

    smallest = min(margins)
    print("smallest distance to a ReLU / max-pool kink over all passes: %.3g" % smallest)
    if smallest < kKinkMargin:
        sys.exit("seed %d puts a unit within %g of a kink; pick another seed" % (kSeed, kKinkMargin))

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "lenet5_torch.bin")
    size = w.write(os.path.normpath(path))
    print("wrote %s (%d bytes, %d records)" % (os.path.normpath(path), size, len(w.records)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# Imports a PyTorch LeNet-5 state_dict (.pt/.pth saved with torch.save, or .npz of the same names) into a
# lenet model file (docs/model-format.md), written here byte by byte from that document.
#
#   /usr/bin/python3 tools/import_pytorch.py STATE.pt --arch lenet5 --out M.bin
#       [--pixel-scale S --pixel-offset B]
#
# Accepted layouts of the modern LeNet-5 (ReLU after C1, C3, C5, F6; 2x2 max pooling after C1 and C3;
# 32x32 input; flatten in (channel, row, column) order), with any "module." / "model." prefix:
#   lenet's names  C1 C3 C5 F6 OUTPUT (.weight, .bias); C5 a Conv2d(16, 120, 5) or a Linear(400, 120)
#   PyTorch's tutorial LeNet  conv1 Conv2d(1,6,5), conv2 Conv2d(6,16,5), fc1 Linear(400,120),
#                             fc2 Linear(120,84), fc3 Linear(84,10)
#   the same with conv3 Conv2d(16,120,5) in place of fc1, and fc1/fc2 as F6/OUTPUT
#
# Input levels. lenet feeds the network x = -0.1 + 1.275 * p / 255 for a pixel p (0 background, 255 ink),
# the 28x28 picture centred in 32x32 with background around it. A network trained on other levels,
# x = offset + scale * p / 255 (torchvision's ToTensor: scale 1, offset 0; with Normalize((m,), (s,)):
# scale 1/s, offset -m/s), is converted exactly in real arithmetic by folding the affine map into C1:
# x_torch = a * x_lenet + b with a = scale / 1.275 and b = offset + 0.1 * a, so C1.weight *= a and
# C1.bias += b * sum(C1.weight). Give --pixel-scale and --pixel-offset for such a network (its padding
# must be the background level, p = 0).
import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np

MAGIC, END_MAGIC, FORMAT_VERSION = b"LENETMDL", b"LENETEND", 1
LENET_BACKGROUND, LENET_RANGE = -0.1, 1.275

# lenet's tensors of Arch::Lenet5, in file order, with their shapes (include/lenet/lenet5.h).
LENET5 = [("C1.weight", (6, 1, 5, 5)), ("C1.bias", (6,)), ("C3.weight", (16, 6, 5, 5)), ("C3.bias", (16,)),
          ("C5.weight", (120, 16, 5, 5)), ("C5.bias", (120,)), ("F6.weight", (84, 120)), ("F6.bias", (84,)),
          ("OUTPUT.weight", (10, 84)), ("OUTPUT.bias", (10,))]

# For each lenet layer, the names it may have in a state_dict, tried in order.
ALIASES = {"C1": ["C1", "conv1"], "C3": ["C3", "conv2"], "C5": ["C5", "conv3", "fc1"],
           "F6": ["F6", "fc2", "fc1"], "OUTPUT": ["OUTPUT", "fc3", "fc2"]}


class ImportError_(Exception):
    pass


def load_state_dict(path):
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return {k: np.asarray(z[k], dtype=np.float32) for k in z.files}
    import torch
    state = torch.load(path, map_location="cpu")
    if hasattr(state, "state_dict"):  # a whole nn.Module was saved
        state = state.state_dict()
    if not isinstance(state, dict):
        raise ImportError_("%s: expected a state_dict (a dict of tensors), found %s" % (path, type(state).__name__))
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in state.items() if hasattr(v, "detach")}


def strip_prefixes(state):
    out = {}
    for k, v in state.items():
        for prefix in ("module.", "model.", "net."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        out[k] = v
    return out


def map_tensors(state, path):
    """The state_dict's tensors under lenet's names and shapes; errors name what is missing or misshapen."""
    out, used = {}, set()
    for lenet_name, shape in LENET5:
        layer, kind = lenet_name.split(".")
        found = None
        for alias in ALIASES[layer]:
            key = alias + "." + kind
            if key in state and key not in used and state[key].size == int(np.prod(shape)):
                found = key
                break
        if found is None:
            candidates = ", ".join(a + "." + kind for a in ALIASES[layer])
            raise ImportError_("%s: no tensor for lenet's %s %s: expected one of %s with %d values; the file has %s"
                               % (path, lenet_name, shape, candidates, int(np.prod(shape)),
                                  ", ".join("%s %s" % (k, tuple(v.shape)) for k, v in sorted(state.items()))))
        value = state[found]
        # A Linear(400, 120) C5 reads the flattened (16, 5, 5) maps: the same numbers as Conv2d(16, 120, 5).
        if value.shape != shape and not (layer == "C5" and kind == "weight" and value.shape == (120, 400)):
            raise ImportError_("%s: %s has shape %s, lenet's %s expects %s"
                               % (path, found, tuple(value.shape), lenet_name, shape))
        if not np.all(np.isfinite(value)):
            raise ImportError_("%s: %s holds non-finite values" % (path, found))
        out[lenet_name] = np.ascontiguousarray(value.reshape(shape), dtype=np.float32)
        used.add(found)
    extra = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
    if extra:
        raise ImportError_("%s: tensors that lenet5 has no place for: %s (lenet5 is C1 C3 C5 F6 OUTPUT, no "
                           "batch norm or dropout parameters)" % (path, ", ".join(extra)))
    return out


def fold_input_levels(tensors, scale, offset):
    """C1 for lenet's input levels, given a network trained on x = offset + scale * p / 255."""
    a = scale / LENET_RANGE
    b = offset - LENET_BACKGROUND * a
    w = tensors["C1.weight"].astype(np.float64)
    tensors["C1.bias"] = (tensors["C1.bias"] + b * w.sum(axis=(1, 2, 3))).astype(np.float32)
    tensors["C1.weight"] = (w * a).astype(np.float32)


def model_file_bytes(arch, config, tensors):
    """A lenet model file, as docs/model-format.md lays it out."""
    entries, payload, offset = [], [], 0
    for name, shape in LENET5:
        t = tensors[name]
        entries.append({"name": name, "shape": list(shape), "offset": offset, "count": int(t.size)})
        payload.append(t.astype("<f4").tobytes())
        offset += int(t.size)
    header = json.dumps({"arch": arch, "config": config, "tensors": entries}, separators=(",", ":")).encode()
    body = MAGIC + struct.pack("<II", FORMAT_VERSION, len(header)) + header + b"".join(payload)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF) + END_MAGIC


def main():
    p = argparse.ArgumentParser(description="PyTorch LeNet-5 state_dict -> lenet model file")
    p.add_argument("state", help="state_dict saved with torch.save (.pt/.pth) or numpy.savez (.npz)")
    p.add_argument("--from", dest="source", default="pytorch", choices=["pytorch"])
    p.add_argument("--arch", default="lenet5", choices=["lenet5"],
                   help="lenet5 (the modern LeNet-5; the 1998 net has no common PyTorch layout)")
    p.add_argument("--out", required=True, help="lenet model file to write (replaced atomically)")
    p.add_argument("--pixel-scale", type=float, default=LENET_RANGE,
                   help="the network was trained on x = offset + scale * p/255 (default: lenet's levels)")
    p.add_argument("--pixel-offset", type=float, default=LENET_BACKGROUND)
    args = p.parse_args()
    try:
        if not os.path.isfile(args.state):
            raise ImportError_("%s: no such file" % args.state)
        if os.path.exists(args.out) and os.path.samefile(args.state, args.out):
            raise ImportError_("--out %s is the input file; refusing to overwrite it" % args.out)
        tensors = map_tensors(strip_prefixes(load_state_dict(args.state)), args.state)
        if (args.pixel_scale, args.pixel_offset) != (LENET_RANGE, LENET_BACKGROUND):
            fold_input_levels(tensors, args.pixel_scale, args.pixel_offset)
        config = {"imported": {"from": "pytorch", "file": os.path.basename(args.state),
                               "pixel_scale": args.pixel_scale, "pixel_offset": args.pixel_offset}}
        data = model_file_bytes(args.arch, config, tensors)
        tmp = "%s.tmp-%d" % (args.out, os.getpid())
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, args.out)
    except (ImportError_, OSError, ValueError, KeyError) as e:
        print("import_pytorch.py: error: %s" % e, file=sys.stderr)
        sys.exit(1)
    print("wrote %s: lenet5 from %s (%d tensors)" % (args.out, args.state, len(LENET5)), file=sys.stderr)


if __name__ == "__main__":
    main()

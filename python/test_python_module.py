#!/usr/bin/python3
# CTest interop.python_module: imports the built `lenet` module and checks it against the lenet program:
# predict on the 10,000 MNIST test images gives `lenet eval`'s accuracy and confusion matrix, uint8 and float
# pixels agree, every function has a docstring, bad input raises a clear error, preprocess/read_number read
# the example pictures, and a short training run from numpy arrays learns.
import argparse
import inspect
import json
import os
import subprocess
import sys

import numpy as np


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def read_idx(path):
    raw = open(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def expect_error(kind, text, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except kind as e:
        if text not in str(e):
            fail("%s raised %r, expected a message naming %r" % (fn.__name__, str(e), text))
        return
    fail("%s(%s) did not raise %s" % (getattr(fn, "__name__", fn), args, kind.__name__))


def main():
    p = argparse.ArgumentParser()
    for flag in ("--module-dir", "--lenet", "--model", "--data", "--examples", "--work"):
        p.add_argument(flag, required=True)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    sys.path.insert(0, args.module_dir)
    import lenet

    # Docstrings everywhere.
    undocumented = [n for n in ("load", "preprocess", "read_number", "train") if not getattr(lenet, n).__doc__]
    undocumented += ["Model." + n for n in ("predict", "scores", "save", "arch", "config", "parameters")
                     if not inspect.getdoc(getattr(lenet.Model, n))]
    if undocumented or not lenet.__doc__:
        fail("no docstring: %s" % (undocumented or ["module"]))

    images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte"))
    labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte"))
    model = lenet.load(args.model)
    digits, probs = model.predict(images)
    if digits.shape != (10000,) or probs.shape != (10000, 10) or probs.dtype != np.float32:
        fail("predict shapes %s %s %s" % (digits.shape, probs.shape, probs.dtype))
    evaluation = json.loads(subprocess.run([args.lenet, "eval", "--model", args.model, "--data", args.data,
                                            "--json"], capture_output=True, text=True, check=True).stdout)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels.astype(np.int64), digits), 1)
    accuracy = float((digits == labels).mean())
    print("lenet.Model.predict on 10,000 test images: accuracy %.2f%%, lenet eval %.2f%%"
          % (100 * accuracy, 100 * evaluation["accuracy"]))
    if not np.array_equal(confusion, np.array(evaluation["confusion"])):
        fail("predict's confusion matrix differs from lenet eval's")
    if not np.allclose(probs.sum(axis=1), 1, atol=1e-5) or not np.array_equal(probs.argmax(axis=1), digits):
        fail("probabilities do not sum to 1 or disagree with the digits")

    # Other forms of the same pictures give the same answers.
    d_float, p_float = model.predict(images[:500].astype(np.float32) / 255)
    d_one, p_one = model.predict(images[7])
    d_nchw, _ = model.predict(images[:500, None])
    if not (np.array_equal(d_float, digits[:500]) and np.allclose(p_float, probs[:500], atol=1e-6)
            and d_one[0] == digits[7] and np.allclose(p_one[0], probs[7]) and np.array_equal(d_nchw, digits[:500])):
        fail("float, single and (N, 1, H, W) pictures answer differently from uint8 batches")
    if not np.array_equal(model.predict(images[:300], threads=1)[0], digits[:300]):
        fail("threads=1 answers differently")
    scores = model.scores(images[:10])
    if scores.shape != (10, 10) or not np.array_equal(scores.argmax(axis=1), digits[:10]):
        fail("scores disagree with predict")

    # Bad input: a clear error, never a crash.
    expect_error(ValueError, "at most 32x32", model.predict, np.zeros((2, 40, 40), np.uint8))
    expect_error(ValueError, "[0, 1]", model.predict, np.full((1, 28, 28), 2.0, np.float32))
    expect_error(ValueError, "[0, 1]", model.predict, np.full((1, 28, 28), np.nan, np.float32))
    expect_error(ValueError, "dimensions", model.predict, np.zeros((2, 2, 2, 2, 2), np.uint8))
    expect_error(TypeError, "dtype", model.predict, np.zeros((1, 28, 28), np.complex64))
    expect_error(ValueError, "missing.bin", lenet.load, os.path.join(args.work, "missing.bin"))
    expect_error(ValueError, "labels", lenet.train, images[:10], labels[:9])
    expect_error(ValueError, "arch", lenet.train, images[:10], labels[:10], arch="lenet6")

    # Pictures: preprocess and read_number on the committed examples.
    digit = lenet.preprocess(os.path.join(args.examples, "digit-photo.jpg"))
    if digit.shape != (28, 28) or digit.dtype != np.uint8 or digit.max() == 0:
        fail("preprocess returned %s %s" % (digit.shape, digit.dtype))
    cli = subprocess.run([args.lenet, "read", "--model", args.model, "--json",
                          os.path.join(args.examples, "number-photo.jpg")], capture_output=True, text=True)
    reading = lenet.read_number(os.path.join(args.examples, "number-photo.jpg"), model)
    print("read_number(number-photo.jpg) = %r; lenet read: %s" % (reading["text"], cli.stdout.strip()[:120]))
    if cli.returncode == 0 and json.loads(cli.stdout.splitlines()[0]).get("text") != reading["text"]:
        fail("read_number %r differs from lenet read" % reading["text"])
    expect_error(ValueError, "nothing.png", lenet.preprocess, os.path.join(args.work, "nothing.png"))

    # Training from numpy arrays: one epoch on 3,000 images learns, and the model saves and loads.
    train_images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte"))[:3000]
    train_labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte"))[:3000]
    epochs = []
    trained = lenet.train(train_images, train_labels, epochs=1, seed=1, test_images=images[:1000],
                          test_labels=labels[:1000], on_epoch=epochs.append)
    acc = float((trained.predict(images[:1000])[0] == labels[:1000]).mean())
    print("lenet.train, 1 epoch on 3,000 images: %.1f%% on 1,000 test images; on_epoch %s" % (100 * acc, epochs))
    if acc < 0.7 or len(epochs) != 1 or abs(epochs[0]["test_accuracy"] - acc) > 1e-9:
        fail("training from numpy did not learn (%.3f) or reported %s" % (acc, epochs))
    path = os.path.join(args.work, "trained.bin")
    trained.save(path)
    again = lenet.load(path)
    if not np.array_equal(again.predict(images[:1000])[1], trained.predict(images[:1000])[1]):
        fail("a saved and reloaded model answers differently")
    if again.config["recipe"]["seed"] != 1:
        fail("the saved config lacks the recipe: %s" % again.config)
    print("PASS")


if __name__ == "__main__":
    main()

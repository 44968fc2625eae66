#!/usr/bin/python3
# The structure rules of issue 15, checked in CI (`make check-structure`, part of `make ci`):
#   1. no source file in include/, src/ or apps/ over 600 lines;
#   2. no function there over 100 lines, as pmccabe counts them (Debian's pmccabe);
#   3. no include cycle between modules (a module: include/lenet/X.h with src/X.cpp, or one file);
#   4. the trainer (trainer, train_run, train_config, engine, evaluate) reaches no file-format header,
#      directly or through other headers: checkpoints and model files are written through callbacks.
# Prints every violation, naming the file, and exits 1 if there is any.
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ("include", "src", "apps")
SOURCE_EXT = (".h", ".cpp", ".js", ".html", ".css")
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 100
TRAINER = ("trainer", "train_run", "train_config", "engine", "evaluate")
# Headers whose module reads or writes a file format.
FILE_FORMATS = ("model_file", "checkpoint", "idx", "lenet5_io", "decode", "image", "onnx_export")
INCLUDE = re.compile(r'^\s*#\s*include\s+"(?:lenet/)?([A-Za-z0-9_]+)\.h"', re.M)


def tracked(exts):
    out = subprocess.run(["git", "-C", ROOT, "ls-files", *DIRS], check=True, capture_output=True, text=True)
    return [f for f in out.stdout.split() if f.endswith(exts) and os.path.exists(os.path.join(ROOT, f))]


def module_of(path):
    return os.path.splitext(os.path.basename(path))[0]


def main():
    problems = []
    files = tracked(SOURCE_EXT)
    for f in files:
        with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
            n = sum(1 for _ in fh)
        if n > MAX_FILE_LINES:
            problems.append(f"{f}: {n} lines, more than {MAX_FILE_LINES}: split it along its concepts")

    cxx = [f for f in files if f.endswith((".h", ".cpp"))]
    pm = subprocess.run(["pmccabe", "-v", *cxx], cwd=ROOT, capture_output=True, text=True)
    if pm.returncode not in (0, 1) and not pm.stdout:
        sys.exit(f"check_structure: pmccabe failed: {pm.stderr.strip()}")
    for line in pm.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) < 6 or not cols[4].strip().isdigit():
            continue
        if int(cols[4]) > MAX_FUNCTION_LINES:
            problems.append(f"{cols[5].strip()}: {cols[4]} lines, more than {MAX_FUNCTION_LINES}")

    # Module graph from the #include "lenet/X.h" / "X.h" lines of each file. A private header in src/
    # (e.g. src/conv2d_tiles.h) belongs to the one module whose files include it.
    includes = {}
    for f in cxx:
        with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
            includes[f] = set(INCLUDE.findall(fh.read()))
    owner = {}
    for f in cxx:
        if f.startswith("src/") and f.endswith(".h"):
            users = {module_of(g) for g, inc in includes.items() if module_of(f) in inc}
            if len(users) == 1:
                owner[module_of(f)] = users.pop()
    deps = {}
    for f, inc in includes.items():
        m = owner.get(module_of(f), module_of(f))
        deps.setdefault(m, set()).update(d for d in (owner.get(i, i) for i in inc) if d != m)
    for m in list(deps):
        for d in deps[m]:
            deps.setdefault(d, set())

    # Cycles: Tarjan's strongly connected components.
    index, low, stack, on_stack, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(deps[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    for comp in sccs:
        problems.append("include cycle between modules: " + " -> ".join(comp + comp[:1]))

    for t in TRAINER:
        if t not in deps:
            continue
        seen, todo = set(), [t]
        while todo:
            v = todo.pop()
            for w in deps.get(v, ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        bad = sorted(seen & set(FILE_FORMATS))
        if bad:
            problems.append(f"{t}: reaches the file-format header(s) {', '.join(b + '.h' for b in bad)}; "
                            "the trainer writes files only through its callbacks")

    for p in problems:
        print(f"check_structure: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_structure: {len(files)} files, {len(deps)} modules: sizes, function lengths, include graph OK")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# CTest "readme": runs the command blocks of README.md and checks them. In a block whose lines start with
# "$ ", each command's stdout must be the lines shown under it; in any other sh block every line must exit
# 0. A comment just above a block's fence excludes what a test cannot run:
#   <!-- readme-test: skip (why) -->                   the whole block
#   <!-- readme-test: skip-lines TEXT[, TEXT] (why) -->  the lines containing any TEXT
# Commands run in a scratch directory that looks like the source tree (docs, models, data linked, build/
# holding the lenet under test), so that nothing is written into the source tree.
# Usage: run_readme.py README.md SOURCE_DIR LENET_BINARY WORK_DIR
import os
import re
import shutil
import subprocess
import sys

MARKER = re.compile(r"<!--\s*readme-test:\s*(skip-lines|skip)\b\s*(.*?)\s*-->")


def blocks(lines):
    """(first line number, marker, marker argument, lines) of each fenced block."""
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            marker, argument = None, ""
            above = i - 1
            if above >= 0 and (m := MARKER.search(lines[above])):
                marker, argument = m.group(1), m.group(2)
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            yield i + 2, lines[i][3:].strip(), marker, argument, lines[i + 1 : j]
            i = j + 1
        else:
            i += 1


def run(command, work):
    return subprocess.run(["bash", "-c", command], cwd=work, capture_output=True, text=True, timeout=600)


def main():
    readme, source, lenet, work = sys.argv[1:5]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "build"))
    for name in ("docs", "models", "data", "examples"):
        os.symlink(os.path.join(source, name), os.path.join(work, name))
    os.symlink(os.path.abspath(lenet), os.path.join(work, "build", "lenet"))
    lines = open(readme).read().splitlines()
    name = os.path.basename(readme)
    failures, ran = [], 0
    for first, language, marker, argument, body in blocks(lines):
        if marker == "skip":
            print(f"{name}:{first}: block skipped {argument}")
            continue
        skip_texts = [t.strip() for t in re.sub(r"\(.*\)$", "", argument).split(",") if t.strip()]
        if any(line.startswith("$ ") for line in body):
            k = 0
            while k < len(body):
                command = body[k][2:]
                k += 1
                expected = []
                while k < len(body) and not body[k].startswith("$ "):
                    expected.append(body[k])
                    k += 1
                r = run(command, work)
                ran += 1
                got = r.stdout.rstrip("\n").splitlines()
                if r.returncode != 0 or [g.rstrip() for g in got] != [e.rstrip() for e in expected]:
                    failures.append(f"{name}:{first}: `{command}` exited {r.returncode}, printed:\n"
                                    + r.stdout + r.stderr + "where the README shows:\n" + "\n".join(expected))
        elif language in ("sh", "bash"):
            for n, line in enumerate(body):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                if any(t in line for t in skip_texts):
                    print(f"{name}:{first + n}: skipped {argument}")
                    continue
                r = run(line, work)
                ran += 1
                if r.returncode != 0:
                    failures.append(f"{name}:{first + n}: `{line}` exited {r.returncode}:\n{r.stderr}")
    for f in failures:
        print("run_readme.py: FAILED:", f, file=sys.stderr)
    print(f"run_readme.py: {ran} commands run, {len(failures)} failed")
    return 1 if failures or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

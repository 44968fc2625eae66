#!/usr/bin/env python3
# CTest "shared_library_exports" (BUILD_SHARED_LIBS=ON): a shared liblenet exports its public API and
# nothing else. Every lenet:: symbol in the dynamic symbol table must belong to a name declared LENET_API
# in the headers; the entry points must be there; no dependency's symbols (JSON, OpenMP, zlib) leak.
# Usage: check_exports.py LIBRARY.so... --headers DIR...
import argparse
import pathlib
import re
import subprocess
import sys

REQUIRED = {
    "liblenet": ["lenet::Classifier::classify(", "lenet::version()", "typeinfo for lenet::ModelFileError"],
    "liblenet_vision": ["lenet::classify_picture(", "lenet::read_number(", "typeinfo for lenet::ImageError"],
}
FORBIDDEN = ["nlohmann", "omp_", "GOMP_", "inflate", "deflate", "lenet::train(", "lenet::conv2d_forward"]


def api_names(dirs):
    names = set()
    for d in dirs:
        for header in pathlib.Path(d).rglob("*.h"):
            text = header.read_text()
            names.update(re.findall(r"\b(?:class|struct)\s+LENET_API\s+(\w+)", text))
            # LENET_API <return type> name( ... : the last identifier before the parenthesis
            for decl in re.findall(r"LENET_API\s+([^;{]*?)\(", text):
                names.add(re.findall(r"\w+", decl)[-1])
    return names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("libraries", nargs="+")
    parser.add_argument("--headers", nargs="+", required=True)
    args = parser.parse_args()
    names = api_names(args.headers)
    failures = []
    for lib in args.libraries:
        out = subprocess.run(["nm", "-DC", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
        symbols = [line.split(" ", 2) for line in out.splitlines() if line.count(" ") >= 2]
        for _, kind, name in symbols:
            for bad in FORBIDDEN:
                if bad in name:
                    failures.append(f"{lib}: exports {name!r} (a dependency's or an internal symbol)")
            # GCC gives target_clones' ifunc symbols (the kernels' CPU dispatch, kind 'i') default
            # visibility whatever the attributes say; they are not declared in any public header.
            if kind == "i" or name.endswith("[clone .resolver]"):
                continue
            qualified = re.sub(r"^(typeinfo name for|typeinfo for|vtable for|VTT for) ", "", name).split("(")[0]
            if not qualified.startswith("lenet::"):
                continue  # instantiations of std templates (weak, shared with the consumer's)
            if not any(part in names for part in re.split(r"::|<|>|,\s*", qualified)):
                failures.append(f"{lib}: exports {name!r}, which no header declares LENET_API")
        stem = pathlib.Path(lib).name.split(".")[0]
        for wanted in REQUIRED.get(stem, []):
            if not any(wanted in name for _, _, name in symbols):
                failures.append(f"{lib}: does not export {wanted!r}")
        print(f"{lib}: {len(symbols)} dynamic symbols checked")
    for f in failures:
        print("check_exports.py: FAILED:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# lenet against PyTorch on this machine, side by side: runs `lenet bench --json` and tools/bench_torch.py
# (the same modern LeNet-5 in Debian's PyTorch) alternately, --rounds times each, in fresh processes,
# and prints the median of every figure, the ratios against the targets of the speed issue, and lenet's
# fraction of the machine's peak FLOP rate (measured by `lenet bench --peak`: independent FMA chains on
# every thread; the network's FLOPs are counted from its layer shapes, 2 per multiply-add).
#
#   /usr/bin/python3 tools/bench_compare.py --lenet build/lenet --model models/lenet5.bin --threads 2
#   ... --markdown   also prints the table for the README
#   ... --rss        also measures the peak RSS of `lenet train --epochs 1` with /usr/bin/time -v
#   ... --wait-policy passive   runs both with OMP_WAIT_POLICY=passive (see below)
#   ... --pictures DIR [DIR ...]   also `lenet bench --pictures DIR` (lenet predict over every file: files/s)
#                    in the same rounds; folders from tools/make_pictures.py
#   ... --int8       also lenet --precision int8 against PyTorch's quantize_dynamic, in the same rounds,
#                    with the int8 network's share of the int8 peak (the vpdpbusd probe of lenet bench)
#
# The machine is shared: the load average is printed with every run, and only medians are compared.
# Both programs run their threads on libgomp, whose threads spin at every barrier by default; when other
# processes keep the cores busy, a spinning thread burns the time slice its partner needs, and both
# programs slow down many times over at 2 threads (PyTorch more: it meets a barrier in every operator).
# --wait-policy passive makes idle threads sleep instead, for both.
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (key, label, unit, better): "higher" or "lower" is better
FIGURES = [
    ("train_seconds", "training epoch (batch 64, momentum)", "s", "lower"),
    ("train_images_per_s", "training throughput", "images/s", "higher"),
    ("train_cpu_seconds", "CPU time of the training epoch (all threads)", "s", "lower"),
    ("infer_images_per_s", "batched inference (batch 1000, 10,000 test images)", "images/s", "higher"),
    ("latency_us_median", "single-image latency (median)", "us", "lower"),
]
# Targets of the issue, as ratios lenet/PyTorch in the direction of "better".
TARGETS = {"train_seconds": 5.0, "infer_images_per_s": 5.0, "latency_us_median": 10.0}


def run_json(cmd, env):
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1]), load


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def peak_rss_mb(cmd):
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return int(m.group(1)) / 1024.0 if m else float("nan")


def fmt(value, unit):
    if unit == "images/s":
        return f"{value:,.0f}"
    if unit == "us":
        return f"{value:.1f}"
    return f"{value:.2f}"


def main():
    ap = argparse.ArgumentParser(description="lenet vs PyTorch, alternating runs, medians and ratios")
    ap.add_argument("--lenet", default="build/lenet")
    ap.add_argument("--model", default="models/lenet5.bin")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (both)")
    ap.add_argument("--markdown", action="store_true", help="also print the README table")
    ap.add_argument("--rss", action="store_true", help="also measure the peak RSS of a training run")
    ap.add_argument("--peak-gflops", type=float, default=0,
                    help="the machine's peak, if known from a quiet moment (default: the best probe of these runs)")
    ap.add_argument("--wait-policy", choices=["default", "passive"], default="default",
                    help="OMP_WAIT_POLICY for both programs (default: as in the environment)")
    ap.add_argument("--int8", action="store_true",
                    help="also lenet --precision int8 and PyTorch quantize_dynamic (inference and latency)")
    ap.add_argument("--pictures", nargs="+", default=[],
                    help="directories of pictures: also time `lenet predict` over each (lenet bench --pictures)")
    a = ap.parse_args()
    env = dict(os.environ)
    if a.wait_policy == "passive":
        env["OMP_WAIT_POLICY"] = "passive"

    common = ["--data", a.data, "--threads", str(a.threads)]
    if a.limit:
        common += ["--limit", str(a.limit)]
    lenet_cmd = [a.lenet, "bench", "--model", a.model, "--json", "--peak"] + common
    torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "bench_torch.py"), "--json"] + common

    cmds = [("lenet", lenet_cmd), ("torch", torch_cmd)]
    if a.int8:
        cmds += [("lenet_int8", [a.lenet, "bench", "--model", a.model, "--json", "--peak", "--no-train",
                                 "--precision", "int8", "--data", a.data, "--threads", str(a.threads)]),
                 ("torch_int8", ["/usr/bin/python3", os.path.join(HERE, "bench_torch.py"), "--json",
                                 "--precision", "int8-dynamic", "--data", a.data, "--threads", str(a.threads)])]
    for d in a.pictures:
        cmds.append((f"pictures {os.path.basename(os.path.normpath(d))}",
                     [a.lenet, "bench", "--pictures", d, "--json", "--threads", str(a.threads)]))
    runs = {name: [] for name, _ in cmds}
    for r in range(a.rounds):
        for name, cmd in cmds if r % 2 == 0 else cmds[::-1]:
            j, load = run_json(cmd, env)
            runs[name].append(j)
            shown = ", ".join(f"{k} {fmt(j[k], u)}" for k, _, u, _ in FIGURES + [("files_per_s", "", "files/s", "")] if k in j)
            print(f"round {r + 1} {name:6s} (load average {load:.1f}): {shown}", file=sys.stderr, flush=True)

    med = {name: {k: statistics.median(j[k] for j in js) for k, _, _, _ in FIGURES if all(k in j for j in js)}
           for name, js in runs.items()}
    lenet0, torch0 = runs["lenet"][0], runs["torch"][0]
    probed = max(j["peak_gflops"] for j in runs["lenet"])
    peak = a.peak_gflops or probed
    flops_train, flops_fwd = lenet0["flops_train_per_image"], lenet0["flops_forward_per_image"]

    print(f"machine: {cpu_name()}, {os.cpu_count()} logical CPUs; lenet {lenet0['simd']} kernels, "
          f"PyTorch {torch0['torch']} (mkldnn {torch0['mkldnn']}); {a.threads} threads, OMP_WAIT_POLICY "
          f"{env.get('OMP_WAIT_POLICY', 'unset')}; medians of {a.rounds} alternating runs")
    print(f"peak: {peak:.1f} GFLOP/s ({'given' if a.peak_gflops else 'FMA probe'}; best probe of these runs "
          f"{probed:.1f}, {a.threads} threads); network: "
          f"{flops_fwd:,.0f} FLOPs per image forward, {flops_train:,.0f} per image trained")
    rows = []
    for key, label, unit, better in FIGURES:
        if key not in med["lenet"] or key not in med["torch"]:
            continue
        lv, tv = med["lenet"][key], med["torch"][key]
        ratio = tv / lv if better == "lower" else lv / tv
        target = TARGETS.get(key)
        verdict = "" if target is None else ("met" if ratio >= target else "NOT met")
        if key == "train_seconds":
            label = f"training epoch ({lenet0['train_images']:,} images, batch 64, momentum)"
        rows.append((label, f"{fmt(lv, unit)} {unit}", f"{fmt(tv, unit)} {unit}", f"{ratio:.1f}x",
                     f">= {target:.0f}x {verdict}" if target else ""))
    widths = [max(len(r[i]) for r in rows + [("figure", "lenet", "PyTorch", "lenet is", "target")])
              for i in range(5)]
    for r in [("figure", "lenet", "PyTorch", "lenet is", "target")] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    if "train_seconds" in med["lenet"]:
        train_gflops = lenet0["train_images"] * flops_train / med["lenet"]["train_seconds"] * 1e-9
        torch_gflops = torch0["train_images"] * flops_train / med["torch"]["train_seconds"] * 1e-9
        print(f"training at {train_gflops:.1f} GFLOP/s = {100 * train_gflops / peak:.0f}% of peak "
              f"(PyTorch {torch_gflops:.1f} GFLOP/s = {100 * torch_gflops / peak:.0f}%; target >= 40%)")
        if "train_cpu_seconds" in med["lenet"]:  # the work done while it held a CPU, whatever the load
            cpu_rate = lenet0["train_images"] * flops_train / med["lenet"]["train_cpu_seconds"] * 1e-9
            per_thread = peak / a.threads
            print(f"by CPU time: {cpu_rate:.1f} GFLOP per CPU-second = {100 * cpu_rate / per_thread:.0f}% "
                  f"of one thread's share of the peak ({per_thread:.1f})")
    infer_gflops = med["lenet"]["infer_images_per_s"] * flops_fwd * 1e-9
    print(f"inference at {infer_gflops:.1f} GFLOP/s = {100 * infer_gflops / peak:.0f}% of peak")
    if a.rss:
        lenet_rss = peak_rss_mb([a.lenet, "train", "--arch", "lenet5", "--epochs", "1"] + common)
        print(f"peak RSS of `lenet train --epochs 1` (dataset included): {lenet_rss:.0f} MB; "
              f"PyTorch bench process: {statistics.median(j['max_rss_mb'] for j in runs['torch']):.0f} MB")
    if a.int8:
        mi = {name: {k: statistics.median(j[k] for j in runs[name])
                     for k in ("infer_images_per_s", "latency_us_median")} for name in ("lenet_int8", "torch_int8")}
        int8_peak = max(j["int8_peak_gops"] for j in runs["lenet_int8"])
        print(f"int8 ({runs['lenet_int8'][0]['int8_kernels']} kernels; PyTorch quantize_dynamic):")
        for key, label, unit in (("infer_images_per_s", "int8 batched inference", "images/s"),
                                 ("latency_us_median", "int8 single-image latency", "us")):
            lv, tv, fv = mi["lenet_int8"][key], mi["torch_int8"][key], med["lenet"][key]
            lower = unit == "us"
            print(f"  {label}: lenet {fmt(lv, unit)} {unit}, PyTorch int8 {fmt(tv, unit)} {unit} "
                  f"({(tv / lv if lower else lv / tv):.1f}x), lenet fp32 {fmt(fv, unit)} {unit} "
                  f"(int8 is {(fv / lv if lower else lv / fv):.2f}x fp32)")
        gops = mi["lenet_int8"]["infer_images_per_s"] * flops_fwd * 1e-9
        print(f"  int8 inference at {gops:.1f} GOP/s = {100 * gops / int8_peak:.0f}% of the int8 peak "
              f"({int8_peak:.1f} GOP/s, vpdpbusd probe, {a.threads} threads)")
    for d in a.pictures:
        name = f"pictures {os.path.basename(os.path.normpath(d))}"
        j0 = runs[name][0]
        rate = statistics.median(j["files_per_s"] for j in runs[name])
        cpu = statistics.median(j["cpu_us_per_file"] for j in runs[name] if "cpu_us_per_file" in j) \
            if any("cpu_us_per_file" in j for j in runs[name]) else float("nan")
        print(f"lenet predict over {j0['files']:,} files of {d} ({a.threads} threads): {rate:,.0f} files/s, "
              f"{cpu:.0f} us of CPU per file"
              + (f" (some files failed: {j0['failures']})" if "failures" in j0 else ""))
    if a.markdown:
        print()
        print("| figure | lenet | PyTorch 1.13 | lenet is |")
        print("|---|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} | **{r[3]}** |")


if __name__ == "__main__":
    main()

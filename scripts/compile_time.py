#!/usr/bin/python3
"""Compile-time and binary-size probe (issue 7): how long a user's file that
trains the MNIST MLP takes to compile with nabla, next to the same program
written with LibTorch and by hand on raw Eigen + xsimd (the floor).

    /usr/bin/python3 scripts/compile_time.py [--reps N] [--no-readme]

The probes are bench/compile/mlp_*.cpp. Each is compiled to an object file
(g++ -O2, the flags its library asks for, no -march), alternating A B C A B C
so machine drift hits all of them, then linked, run once (it must print its
accuracy) and stripped. The table gives the median wall time and the median
CPU time (user + sys of the compiler, which another process on the machine
disturbs less), and rewrites the marked section of bench/README.md.
"""
import argparse
import datetime
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBES = ROOT / "bench" / "compile"
README = ROOT / "bench" / "README.md"
BEGIN = "<!-- compile-time: begin (scripts/compile_time.py writes this section) -->"
END = "<!-- compile-time: end -->"

CXX = os.environ.get("CXX", "g++")
EIGEN = ["-isystem", "/usr/include/eigen3"]
TORCH_INCLUDE = "/usr/include/torch/csrc/api/include"

# name: (source, compile flags, link flags, what it is)
NABLA = ["-std=c++20", "-O2", f"-I{ROOT / 'include'}", *EIGEN, "-fopenmp", "-DNABLA_HAS_OPENMP=1",
         "-DNABLA_HAS_ZLIB=1"]
PROBE_SPECS = {
    "nabla": ("mlp_nabla.cpp", NABLA, ["-fopenmp", "-lz"],
              "`#include <nabla/nabla.hpp>` (the umbrella)"),
    "nabla-topic": ("mlp_nabla.cpp", NABLA + ["-DNABLA_PROBE_TOPIC_HEADERS=1"], ["-fopenmp", "-lz"],
                    "`<nabla/nn.hpp>` + `<nabla/optim/sgd.hpp>` (topic headers)"),
    "libtorch": ("mlp_torch.cpp", ["-std=c++17", "-O2", f"-I{TORCH_INCLUDE}"], ["-ltorch", "-ltorch_cpu", "-lc10"],
                 "`#include <torch/torch.h>` (Debian's libtorch-dev)"),
    "floor": ("mlp_floor.cpp", ["-std=c++20", "-O2", *EIGEN], [],
              "hand-written on `<Eigen/Core>` + `<xsimd/xsimd.hpp>` only"),
}


def run_timed(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"compile_time: command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def fmt_s(x):
    return f"{x:.1f} s"


def fmt_size(n):
    return f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.2f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="compiles of each probe (default 3)")
    parser.add_argument("--only", default="", help="comma-separated probe names (default: all available)")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    args = parser.parse_args()

    names = [n for n in PROBE_SPECS if not args.only or n in args.only.split(",")]
    if "libtorch" in names and not Path(TORCH_INCLUDE, "torch", "torch.h").exists():
        print("compile_time: libtorch-dev is not installed; skipping the LibTorch probe", file=sys.stderr)
        names.remove("libtorch")
    work = Path(tempfile.mkdtemp(prefix="nabla-compile-time-"))
    load_start = os.getloadavg()
    timings = {n: {"wall": [], "cpu": []} for n in names}
    try:
        for rep in range(args.reps):
            for name in names:
                source, flags, _, _ = PROBE_SPECS[name]
                wall, cpu = run_timed([CXX, *flags, "-c", str(PROBES / source), "-o", str(work / f"{name}.o")])
                timings[name]["wall"].append(wall)
                timings[name]["cpu"].append(cpu)
                print(f"rep {rep + 1}: {name:12s} wall {wall:6.1f} s  cpu {cpu:6.1f} s", flush=True)
        results = {}
        for name in names:
            _, _, link_flags, _ = PROBE_SPECS[name]
            exe = work / name
            link_wall, _ = run_timed([CXX, str(work / f"{name}.o"), "-o", str(exe), *link_flags])
            env = dict(os.environ, OMP_NUM_THREADS="1")
            out = subprocess.run([str(exe)], stdout=subprocess.PIPE, text=True, env=env, check=True).stdout
            accuracy = [line for line in out.splitlines() if "accuracy" in line]
            subprocess.run(["strip", str(exe)], check=True)
            results[name] = {
                "wall": statistics.median(timings[name]["wall"]),
                "cpu": statistics.median(timings[name]["cpu"]),
                "wall_range": (min(timings[name]["wall"]), max(timings[name]["wall"])),
                "link": link_wall,
                "size": exe.stat().st_size,
                "output": accuracy[-1] if accuracy else "?",
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()

    table = render(results, args.reps, load_start, load_end)
    print(table)
    if not args.no_readme:
        text = README.read_text()
        if BEGIN not in text or END not in text:
            sys.exit(f"compile_time: {README} lacks the compile-time markers")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        README.write_text(head + BEGIN + "\n" + table + END + tail)
        print(f"wrote {README.relative_to(ROOT)}")


def compiler_line():
    return subprocess.run([CXX, "--version"], stdout=subprocess.PIPE, text=True).stdout.splitlines()[0]


def cpu_model():
    """The CPU's model name and its widest SIMD ISA (figures differ by ISA)."""
    model, flags = platform.processor() or "?", set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and model in ("?", platform.processor()):
            model = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
    isa = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")
    return f"{model} ({isa})"


def render(results, reps, load_start, load_end):
    when = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    lines = [
        f"Measured {when} by `scripts/compile_time.py` ({reps} compiles of each probe, interleaved).",
        "",
        f"- Machine: {cpu_model()}, {os.cpu_count()} CPUs; compiler: {compiler_line()}",
        f"- Load average (1 min) at start {load_start[0]:.2f}, at end {load_end[0]:.2f}",
        "- Flags: `-O2`, no `-march`; nabla and the floor `-std=c++20`, LibTorch `-std=c++17`"
        " (its headers need no more); nabla adds what `nabla::nabla` gives (`-fopenmp`, zlib).",
        "",
        "| probe | includes | compile, wall (median [min–max]) | compile, CPU | link | stripped binary | program prints |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lo, hi = r["wall_range"]
        lines.append(f"| {name} | {PROBE_SPECS[name][3]} | {fmt_s(r['wall'])} [{lo:.1f}–{hi:.1f}] | {fmt_s(r['cpu'])} "
                     f"| {fmt_s(r['link'])} | {fmt_size(r['size'])} | {r['output']} |")
    lines.append("")
    goals = []
    if "nabla" in results and "libtorch" in results:
        ratio = results["nabla"]["cpu"] / results["libtorch"]["cpu"]
        goals.append(f"- nabla / LibTorch compile CPU time: {ratio:.2f} (goal: at most 0.33) — "
                     + ("met" if ratio <= 1 / 3 else "**NOT met**"))
    if "nabla" in results and "floor" in results:
        ratio = results["nabla"]["cpu"] / results["floor"]["cpu"]
        goals.append(f"- nabla / floor compile CPU time: {ratio:.2f} (goal: at most 2) — "
                     + ("met" if ratio <= 2 else "**NOT met**"))
    if "nabla-topic" in results and "floor" in results:
        ratio = results["nabla-topic"]["cpu"] / results["floor"]["cpu"]
        goals.append(f"- nabla with topic headers / floor: {ratio:.2f}")
    lines += goals + [""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

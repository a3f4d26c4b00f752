"""Timing and command line shared by the PyTorch peers (bench/peers/torch_*.py).

Each peer module defines WORKLOADS, a list of Workload: the same workload
names and size strings as nabla's benchmarks (scripts/bench.py pairs them by
(workload, size)). Run a family on its own with Debian's python:

    /usr/bin/python3 bench/peers/torch_matmul.py --threads 1,2 [--quick] [--reps 5]

It prints one JSON line per workload and thread count:
    {"workload": ..., "size": ..., "threads": t, "seconds": [per repetition], "flops": ...}
(flops only where a workload has a well-defined count). The first line is
{"meta": {...}} with the versions and settings in use.

Timing follows Google Benchmark: the iteration count grows until one batch
of calls lasts at least --min-time seconds (the earlier, shorter batches warm
up caches and allocators); a repetition reports that batch's time per call.

OPENBLAS_NUM_THREADS defaults to 1 before torch is imported: torch's thread
count does not govern OpenBLAS's, and at 2 threads they would fight over the
cores (bench/PEERS notes); this is PyTorch's best configuration here.
"""
import argparse
import json
import os
import re
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402  (after the environment is set)


class Workload:
    """One (workload, size) pair. setup() builds inputs and returns step(), the
    zero-argument callable that is timed."""

    def __init__(self, name, size, setup, quick=False, flops=None):
        self.name = name
        self.size = size
        self.setup = setup
        self.quick = quick
        self.flops = flops


def measure(step, min_time):
    """Seconds per call of step() and the iteration count of the final batch."""
    step()
    iterations = 1
    while True:
        start = time.perf_counter()
        for _ in range(iterations):
            step()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or iterations >= 1_000_000_000:
            return elapsed / iterations, iterations
        # Google Benchmark's rule: aim 40% past min_time, grow at most 10x.
        factor = 10.0 if elapsed <= min_time / 10 else min_time * 1.4 / elapsed
        iterations = max(iterations + 1, int(iterations * factor + 0.5))


def cpu_capability():
    """The SIMD level torch's own kernels dispatch to (AVX2, AVX512, ...)."""
    m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return m.group(1) if m else None


def meta():
    return {
        "peer": "torch",
        "torch": torch.__version__,
        "threads_default": torch.get_num_threads(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "openblas_l2_size": os.environ.get("OPENBLAS_L2_SIZE"),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": cpu_capability(),
        "python": sys.version.split()[0],
    }


class Runner:
    """Runs workloads, building each one's inputs once and keeping them (so
    repeated requests measure a steady state, as a long benchmark would)."""

    def __init__(self, workloads):
        self.by_key = {(w.name, w.size): w for w in workloads}
        self.steps = {}

    def run(self, name, size, threads, reps, min_time):
        w = self.by_key.get((name, size))
        if w is None:
            return {"workload": name, "size": size, "threads": threads, "error": "no such peer workload"}
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        try:
            if (name, size) not in self.steps:
                self.steps[(name, size)] = w.setup()
            step = self.steps[(name, size)]
            seconds, iterations = [], []
            for _ in range(reps):
                s, n = measure(step, min_time)
                seconds.append(s)
                iterations.append(n)
        except Exception as e:  # reported, not fatal: other workloads still run
            return {"workload": name, "size": size, "threads": threads, "error": f"{type(e).__name__}: {e}"}
        out = {"workload": name, "size": size, "threads": threads, "seconds": seconds, "iterations": iterations}
        if w.flops is not None:
            out["flops"] = w.flops
        return out


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(workloads):
    """Answers requests read as JSON lines on stdin, one result line per
    workload and then {"done": true}. A request:
    {"workloads": [[name, size], ...], "threads": 1, "reps": 1, "min_time": 0.1}"""
    runner = Runner(workloads)
    emit({"meta": meta()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("quit"):
            break
        for name, size in req["workloads"]:
            emit(runner.run(name, size, int(req["threads"]), int(req.get("reps", 1)), float(req["min_time"])))
        emit({"done": True})


def main(workloads, argv=None):
    p = argparse.ArgumentParser(description="PyTorch peer benchmarks (JSON lines on stdout)")
    p.add_argument("--threads", default="1", help="comma-separated thread counts (default 1)")
    p.add_argument("--quick", action="store_true", help="fewer sizes, 3 repetitions, short timing")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 5, 3 with --quick)")
    p.add_argument("--min-time", type=float, default=None, help="seconds per timed batch (default 0.2, 0.05 quick)")
    p.add_argument("--workload", default=None, help="regex on 'name/size'")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--serve", action="store_true", help="answer JSON requests on stdin (used by scripts/bench.py)")
    args = p.parse_args(argv)
    if args.serve:
        serve(workloads)
        return
    chosen = [w for w in workloads if (w.quick or not args.quick)
              and (args.workload is None or re.search(args.workload, f"{w.name}/{w.size}"))]
    if args.list:
        for w in chosen:
            emit({"workload": w.name, "size": w.size, "quick": w.quick})
        return
    reps = args.reps if args.reps is not None else (3 if args.quick else 5)
    min_time = args.min_time if args.min_time is not None else (0.05 if args.quick else 0.2)
    runner = Runner(workloads)
    emit({"meta": meta()})
    for t in [int(x) for x in args.threads.split(",") if x.strip()]:
        for w in chosen:
            emit(runner.run(w.name, w.size, t, reps, min_time))

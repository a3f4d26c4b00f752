"""What the inference benchmark's python workers share (bench/peers/
infer_torch.py, infer_opencv.py; scripts/bench_inference.py runs them).

Each worker runs one model in one engine in its own process and prints one
JSON line on stdout:
    {"engine": ..., "version": ..., "threads": N, "runs": R, "warmup": W,
     "latency_ms": {"median", "p90", "min", "mean"}, "cold_start_ms": ...,
     "peak_rss_bytes": ..., "checksum": ...}
or {"error": "..."} with exit status 1. The cold start is from the process's
start (NABLA_BENCH_T0, the driver's time.time() when it spawned the process;
else this module's import) to the first result: interpreter, imports, model
load or build and the first run.
"""
import json
import math
import os
import resource
import sys
import time
import traceback

T0 = float(os.environ.get("NABLA_BENCH_T0") or time.time())


def latency_stats(ms):
    """Median and nearest-rank p90, as nabla-run and ort_run.js report them."""
    s = sorted(ms)
    n = len(s)
    median = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    p90 = s[min(n - 1, max(0, math.ceil(0.9 * n) - 1))]
    return {"median": median, "p90": p90, "min": s[0], "mean": sum(s) / n}


def peak_rss_bytes():
    """This process's peak RSS: VmHWM, which belongs to the process's own
    memory map; getrusage's ru_maxrss also counts the parent's RSS at fork."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def measure(run, warmup, runs):
    """Runs run() once (the cold start's end), warmup more times, then times
    runs calls; returns (first result, report fields)."""
    first = run()
    cold_ms = (time.time() - T0) * 1000.0
    for _ in range(warmup):
        run()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        ms.append((time.perf_counter() - t) * 1000.0)
    return first, {"runs": runs, "warmup": warmup, "latency_ms": latency_stats(ms), "cold_start_ms": cold_ms,
                   "peak_rss_bytes": peak_rss_bytes()}


def main_guard(main):
    """Runs main() and turns any failure into the one-line {"error": ...}."""
    try:
        report = main()
    except Exception as e:  # an engine's failure is a result for the table
        text = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
        print(json.dumps({"error": f"{type(e).__name__}: {text}"[:400],
                          "traceback": traceback.format_exc(limit=4)[-1500:]}), flush=True)
        sys.exit(1)
    print(json.dumps(report), flush=True)

#!/usr/bin/python3
"""The inference benchmark: torchvision models exported to ONNX, run by
nabla (nabla-run), ONNX Runtime (scripts/peers/ort_run.js), PyTorch eager,
TorchScript and OpenCV DNN on the same input, each in its own process.

  /usr/bin/python3 scripts/bench_inference.py [--models M ...] [--batch 1 8]
      [--threads 1 2] [--repeats 3] [--runs 30] [--warmup 5]
      [--engines nabla ort eager torchscript opencv] [--nabla-run PATH]
      [--cache DIR] [--out DIR] [--timeout S]

Each model is built as scripts/onnx_zoo.py builds it (weights=None after
torch.manual_seed: seeded random weights, nothing downloaded), at 224x224
(SSDlite at 320), and exported with torch.onnx.export (opset 17, constant
folding, a static batch, equal initializers not shared: see
undo_initializer_sharing) once per batch size into the cache folder (default
build/bench-inference), with a seeded input (.npy) that every engine reads.
A model that does not export at a batch size says so in the table; the
PyTorch engines still run it. SSDlite runs in the ONNX engines at batch 1
only: the exporter turns a detector's list of 8 images into 8 inputs.

For each (model, batch, threads) the engines run in separate processes,
round-robin (the starting engine rotating), --repeats times; each process
warms up, then times --runs runs. The table gives the median over the
repeats of each process's median latency, with the peak RSS and the cold
start. Threads: nabla-run --threads N, ort_run.js --threads N (intra-op N,
inter-op 1, sequential), torch.set_num_threads(N), cv2.setNumThreads(N);
every process also gets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = N.

Cold start: nabla and ORT report their own model load + session + first
run (nabla-run --bench's cold_start_ms; ort_run.js's session creation +
first run) and ORT also from node's start; the python workers from the
process's spawn to the first result (interpreter, imports, building the
model, scripting, first run).

Writes bench/results/inference.json (every process's report) and
bench/results/inference.md (the table, also printed), rewritten after each
case so a partial run keeps what it measured. An engine that fails gets its
error in the table.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

# arch -> input size. The onnx_zoo builders give the weights.
MODELS = {
    "resnet18": 224,
    "resnet50": 224,
    "mobilenet_v2": 224,
    "mobilenet_v3_small": 224,
    "squeezenet1_1": 224,
    "efficientnet_b0": 224,
    "ssdlite320_mobilenet_v3_large": 320,
}
ENGINES = ["nabla", "ort", "eager", "torchscript", "opencv"]
ENGINE_TITLES = {"nabla": "nabla", "ort": "ORT", "eager": "torch eager", "torchscript": "TorchScript",
                 "opencv": "OpenCV"}
ONNX_ENGINES = {"nabla", "ort", "opencv"}
EXPORT_VERSION = 4  # bump when an export's content would change


# ---------------------------------------------------------------------------
# Export


class NotExported(Exception):
    """An export this script refuses or rejects (its message says why)."""


def export(arch, batch, cache):
    """Exports `arch` at `batch` into `cache` (skipped when the cached
    settings match); returns {"onnx", "input", ...} or {"error": ...}."""
    import numpy as np
    import torch
    from onnx_zoo import DETECTORS, build
    size = MODELS[arch]
    tag = f"{arch}_b{batch}"
    settings = {"version": EXPORT_VERSION, "arch": arch, "batch": batch, "size": size, "opset": 17,
                "torch": torch.__version__}
    settings_path = os.path.join(cache, tag + ".json")
    if os.path.exists(settings_path):
        with open(settings_path) as f:
            saved = json.load(f)
        entry = saved.get("entry", {})
        if saved.get("settings") == settings and (entry.get("error") or
                                                  (os.path.exists(entry.get("onnx", "")) and
                                                   os.path.exists(entry.get("input", "")))):
            return dict(entry, cached=True)
    start = time.time()
    entry = {"input": os.path.join(cache, tag + ".in.npy")}
    detector = arch in DETECTORS
    if detector and batch > 1:
        # Tried: the exporter turns the list of images into one [3, H, W]
        # input per image, and takes about 15 minutes at batch 8 here.
        entry["error"] = (f"batch {batch}: torch.onnx.export makes a detector's list of images "
                          f"{batch} separate [3, {size}, {size}] inputs, not one batch")
    model, _ = build(arch)
    model = model.float().eval()
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand if detector else torch.randn)(batch, 3, size, size, generator=gen)
    # A detector takes a list of CHW images: its batch-1 file takes one [3, H, W]
    # image, as scripts/onnx_zoo.py exports it.
    feed = x[0] if detector and batch == 1 else x
    np.save(entry["input"], feed.numpy())  # the PyTorch engines run every batch
    try:
        if "error" in entry:
            raise NotExported(entry.pop("error"))
        path = os.path.join(cache, tag + ".onnx")
        args = ([x[i] for i in range(batch)],) if detector else (x,)
        with torch.no_grad():
            torch.onnx.export(model, args, path, opset_version=17, do_constant_folding=True, input_names=["x"],
                              output_names=["boxes", "scores", "labels"] if detector else ["y"],
                              training=torch.onnx.TrainingMode.EVAL)
        # The engines feed one input named x of the saved shape.
        import onnx
        undo_initializer_sharing(path)
        graph = onnx.load(path, load_external_data=False).graph
        initializers = {i.name for i in graph.initializer}
        inputs = [i for i in graph.input if i.name not in initializers]
        dims = [[d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in inputs]
        if dims != [list(feed.shape)]:
            os.remove(path)
            raise NotExported(f"the exported graph takes {len(inputs)} inputs of shapes {dims[:3]}"
                              f"{'...' if len(dims) > 3 else ''}, not one {list(feed.shape)}")
        entry["onnx"] = path
        entry["bytes"] = os.path.getsize(path)
    except Exception as e:  # the exporter's failure is a result for the table
        first = (str(e).strip().splitlines() or [""])[0]
        entry["error"] = (first if isinstance(e, NotExported) else f"{type(e).__name__}: {first}")[:300]
    entry["export_s"] = round(time.time() - start, 2)
    with open(settings_path, "w") as f:
        json.dump({"settings": settings, "entry": entry}, f, indent=1)
    return entry


def undo_initializer_sharing(path):
    """The exporter shares equal initializers (the seeded init's all-zero
    biases) through Identity nodes, which OpenCV 4.6's importer rejects;
    trained weights would have none. Gives each its own copy instead."""
    import onnx
    model = onnx.load(path)
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    shared = [n for n in graph.node if n.op_type == "Identity" and n.input[0] in initializers]
    if not shared:
        return
    for node in shared:
        copy = onnx.TensorProto()
        copy.CopyFrom(initializers[node.input[0]])
        copy.name = node.output[0]
        graph.initializer.append(copy)
        graph.node.remove(node)
    onnx.checker.check_model(model)
    onnx.save(model, path)


# ---------------------------------------------------------------------------
# Engines: each returns the command line for one process.


def engine_command(engine, a, arch, export_entry, threads):
    runs, warmup = str(a.runs), str(a.warmup)
    if engine == "nabla":
        return [a.nabla_run, export_entry["onnx"], "--input", "x=" + export_entry["input"], "--bench", "--runs", runs,
                "--warmup", warmup, "--threads", str(threads), "--json"]
    if engine == "ort":
        return [a.node, os.path.join(ROOT, "scripts", "peers", "ort_run.js"), export_entry["onnx"], "--input",
                "x=" + export_entry["input"], "--threads", str(threads), "--bench", runs, "--warmup", warmup, "--json"]
    if engine in ("eager", "torchscript"):
        return [sys.executable, os.path.join(ROOT, "bench", "peers", "infer_torch.py"), "--arch", arch, "--input",
                export_entry["input"], "--mode", engine, "--threads", str(threads), "--runs", runs, "--warmup", warmup]
    if engine == "opencv":
        return [sys.executable, os.path.join(ROOT, "bench", "peers", "infer_opencv.py"), "--model", export_entry["onnx"],
                "--input", export_entry["input"], "--threads", str(threads), "--runs", runs, "--warmup", warmup]
    raise ValueError(engine)


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def run_engine(engine, a, arch, export_entry, threads):
    """One process of one engine: its normalised report, or {"error": ...}."""
    if engine in ONNX_ENGINES and "error" in export_entry:
        return {"error": "not exported: " + export_entry["error"]}
    if engine == "nabla" and not os.path.exists(a.nabla_run):
        return {"error": f"no nabla-run at {a.nabla_run} (build it: ninja -C build nabla-run)"}
    if engine == "ort" and a.node is None:
        return {"error": "no node on PATH (bash scripts/install-deps.sh --ort)"}
    cmd = engine_command(engine, a, arch, export_entry, threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               NABLA_BENCH_T0=repr(time.time()))
    # Through a shell that forks it: getrusage's peak RSS (nabla-run's) counts
    # the RSS of the process it was forked from, and this one holds torch.
    proc = subprocess.Popen(["/bin/sh", "-c", '"$@"; exit $?', "sh"] + cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the shell and the engine
        proc.communicate()
        return {"error": f"timed out after {a.timeout} s"}
    report = last_json_line(stdout)
    if proc.returncode != 0 or report is None or "error" in report:
        if report and "error" in report:
            message = report["error"]
        elif engine == "ort" and proc.returncode == 77:
            message = stdout.strip()
        else:
            tail = " ".join((stderr.strip() or stdout.strip() or "no output").splitlines()[-2:])
            message = f"exit {proc.returncode}: {tail}"
        return {"error": message[:400]}
    bench = report.get("bench", report)  # nabla-run and ort_run.js nest it
    result = {"median_ms": bench["latency_ms"]["median"], "p90_ms": bench["latency_ms"]["p90"],
              "peak_rss_bytes": bench["peak_rss_bytes"], "cold_start_ms": bench["cold_start_ms"]}
    if engine == "ort":
        result["process_cold_start_ms"] = bench.get("process_cold_start_ms")
    for key in ("how", "checksum", "version", "engine"):
        if key in report:
            result[key] = report[key]
    if engine == "nabla" and report.get("results"):
        result["checksum"] = report["results"][0].get("checksum")
    if engine == "ort" and report.get("outputs"):
        result["checksum"] = report["outputs"][0].get("checksum")
    return result


def summarise(runs):
    """Medians over the repeats that succeeded; the first error otherwise."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"] if runs else "not run"}
    out = {key: statistics.median(r[key] for r in ok) for key in ("median_ms", "p90_ms", "peak_rss_bytes", "cold_start_ms")}
    out["repeats"] = len(ok)
    if len(ok) < len(runs):
        out["failed_repeats"] = [r["error"] for r in runs if "error" in r]
    for key in ("how", "checksum"):
        if key in ok[0]:
            out[key] = ok[0][key]
    return out


# ---------------------------------------------------------------------------
# Machine, versions, table


def machine_info():
    model_name, flags = platform.processor() or "unknown", set()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model_name = line.split(":", 1)[1].strip()
            if line.startswith("Flags:"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "amx_tile") if f in flags]
    blas = ""
    try:
        blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    except OSError:
        pass
    return {"cpu": model_name, "isa": isa, "nproc": os.cpu_count(), "blas": blas,
            "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}}


def versions(a):
    v = {"python": platform.python_version()}
    try:
        v["nabla"] = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                                    text=True).stdout.strip()
    except OSError:
        v["nabla"] = "unknown"
    import torch
    import torchvision
    v["torch"], v["torchvision"] = torch.__version__, torchvision.__version__
    try:
        import cv2
        v["opencv"] = cv2.__version__
    except ImportError:
        v["opencv"] = "not installed (apt-get install python3-opencv)"
    if a.node:
        probe = subprocess.run([a.node, os.path.join(ROOT, "scripts", "peers", "ort_run.js"), "--version"],
                               capture_output=True, text=True)
        v["onnxruntime"] = probe.stdout.strip() if probe.returncode == 0 else probe.stdout.strip() or probe.stderr.strip()
        v["node"] = subprocess.run([a.node, "--version"], capture_output=True, text=True).stdout.strip()
    return v


def fmt_ms(v):
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def escape(text):
    return text.replace("|", "\\|").replace("\n", " ")


def cell_error(message):
    return "✗ " + escape(message[:60] + ("…" if len(message) > 60 else ""))


def table(doc):
    engines = doc["settings"]["engines"]
    m = doc["machine"]
    lines = [
        "# Inference benchmark (scripts/bench_inference.py)",
        "",
        f"- machine: {m['cpu']}, {', '.join(m['isa']) or 'no AVX2'}, {m['nproc']} cores"
        f"{'; BLAS ' + m['blas'] if m['blas'] else ''}"
        f"{'; ' + ' '.join(f'{k}={v}' for k, v in m['openblas_env'].items()) if m['openblas_env'] else ''}",
        f"- date: {doc['date']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()),
        f"- settings: {doc['settings']['repeats']} repeats (engines interleaved, each in its own process) of "
        f"{doc['settings']['warmup']} warm-up + {doc['settings']['runs']} timed runs; ms = median over repeats of "
        "each process's median latency",
        "- cold start: nabla, ORT: model load + session + first run inside the process; torch, TorchScript, OpenCV: "
        "process spawn to first result (interpreter, imports, model build, first run)",
        "",
    ]
    head = ["model", "batch", "threads"] + [ENGINE_TITLES[e] + " ms" for e in engines]
    ratios = [(x, y) for x, y in (("nabla", "eager"), ("nabla", "ort")) if x in engines and y in engines]
    head += [f"{ENGINE_TITLES[x]}/{ENGINE_TITLES[y]}" for x, y in ratios]
    order = " / ".join(ENGINE_TITLES[e] for e in engines)
    head += [f"peak RSS MiB ({order})", f"cold start s ({order})"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for case in doc["cases"]:
        res = case["engines"]
        row = [case["model"], str(case["batch"]), str(case["threads"])]
        for e in engines:
            r = res.get(e, {"error": "not run"})
            row.append(cell_error(r["error"]) if "error" in r else fmt_ms(r["median_ms"]))
        for x, y in ratios:
            rx, ry = res.get(x, {}), res.get(y, {})
            row.append(f"{rx['median_ms'] / ry['median_ms']:.2f}" if "median_ms" in rx and "median_ms" in ry else "")
        row.append(" / ".join(f"{res[e]['peak_rss_bytes'] / 1048576:.0f}" if "peak_rss_bytes" in res.get(e, {}) else "–"
                              for e in engines))
        row.append(" / ".join(f"{res[e]['cold_start_ms'] / 1000:.2f}" if "cold_start_ms" in res.get(e, {}) else "–"
                              for e in engines))
        lines.append("| " + " | ".join(row) + " |")
    errors = {}  # each distinct error: the engines and cases that had it
    for case in doc["cases"]:
        for e in engines:
            message = case["engines"].get(e, {}).get("error")
            if message:
                who = errors.setdefault(message, ({}, {}))
                who[0][ENGINE_TITLES[e]] = None
                who[1][f"{case['model']} b{case['batch']} t{case['threads']}"] = None
    if errors:
        lines += ["", "Errors (✗ in the table):", ""]
        lines += [f"- {', '.join(who[0])} on {', '.join(who[1])}: {escape(message)}" for message, who in errors.items()]
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--repeats", type=int, default=3, help="interleaved processes per engine and case (median of medians)")
    p.add_argument("--runs", type=int, default=30, help="timed runs per process")
    p.add_argument("--warmup", type=int, default=5, help="untimed runs per process before timing")
    p.add_argument("--engines", nargs="+", default=ENGINES, choices=ENGINES)
    p.add_argument("--nabla-run", default=os.path.join(ROOT, "build", "examples", "run", "nabla-run"))
    p.add_argument("--cache", default=os.path.join(ROOT, "build", "bench-inference"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--timeout", type=float, default=900, help="seconds per process")
    a = p.parse_args()
    if a.repeats < 1 or a.runs < 1 or a.warmup < 0:
        p.error("--repeats and --runs must be at least 1, --warmup at least 0")
    a.nabla_run = os.path.abspath(a.nabla_run)
    a.node = shutil.which("node") or shutil.which("nodejs")
    try:
        import torch
        import torchvision  # noqa: F401
    except ImportError as e:
        print(f"bench_inference: {e}: run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision)")
        return 2
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))  # for the exports only
    os.makedirs(a.cache, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)

    doc = {"generator": "scripts/bench_inference.py", "machine": machine_info(),
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "versions": versions(a),
           "settings": {"models": a.models, "batch": a.batch, "threads": a.threads, "repeats": a.repeats, "runs": a.runs,
                        "warmup": a.warmup, "engines": a.engines, "nabla_run": a.nabla_run},
           "cases": []}
    m = doc["machine"]
    print(f"bench_inference: machine: {m['cpu']}, {', '.join(m['isa'])}, {m['nproc']} cores; "
          + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()), flush=True)
    json_path, md_path = os.path.join(a.out, "inference.json"), os.path.join(a.out, "inference.md")

    exports = {}
    for arch in a.models:
        for batch in a.batch:
            entry = export(arch, batch, a.cache)
            exports[(arch, batch)] = entry
            state = "cached" if entry.get("cached") else f"{entry['export_s']:.1f}s"
            print(f"bench_inference: export {arch} batch {batch}: "
                  f"{'FAILED: ' + entry['error'] if 'error' in entry else 'ok'} ({state})", flush=True)

    for arch in a.models:
        for batch in a.batch:
            for threads in a.threads:
                entry = exports[(arch, batch)]
                runs = {e: [] for e in a.engines}
                for r in range(a.repeats):
                    order = a.engines[r % len(a.engines):] + a.engines[:r % len(a.engines)]
                    for engine in order:
                        result = run_engine(engine, a, arch, entry, threads)
                        runs[engine].append(result)
                        shown = result.get("error") or f"{result['median_ms']:.3f} ms"
                        print(f"bench_inference: {arch} b{batch} t{threads} repeat {r + 1}/{a.repeats} "
                              f"{engine}: {shown}", flush=True)
                case = {"model": arch, "size": MODELS[arch], "batch": batch, "threads": threads,
                        "export": {k: v for k, v in entry.items() if k != "cached"},
                        "engines": {e: summarise(runs[e]) for e in a.engines}, "runs": runs}
                doc["cases"].append(case)
                with open(json_path, "w") as f:
                    json.dump(doc, f, indent=1)
                with open(md_path, "w") as f:
                    f.write(table(doc))
    text = table(doc)
    print()
    print(text)
    print(f"bench_inference: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

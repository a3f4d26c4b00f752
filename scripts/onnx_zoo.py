#!/usr/bin/python3
"""The model zoo: torchvision architectures exported to ONNX, with PyTorch's
float64 reference outputs, for the graph runtime's agreement tests.

Needs Debian's python3-torch, python3-torchvision and python3-onnx
(/usr/bin/python3). Nothing is downloaded: every model is built with
weights=None after torch.manual_seed, so its random weights are as good as
trained ones for agreement and speed.

  scripts/onnx_zoo.py [ARCH ...] [--opset 11 13 17] [--no-fold] [--dynamic]
                      [--cache DIR] [--run [--test-binary PATH]] [--ort]

writes, for each architecture and opset, into the cache folder (default
build/onnx-zoo):
  <tag>.onnx, <tag>.in0.npy (the seeded input), <tag>.out<k>.npy (float64
  references), <tag>.json (the settings, so an unchanged export is skipped)
and a manifest.json listing them all. <tag> is <arch>_op<opset>_<fold|nofold>
[_dyn]. An architecture that torch's exporter cannot export is recorded in
the manifest with the exporter's error, never skipped silently.

--run then runs tests/onnx/zoo_test.cpp's test (the nabla_onnx_tests binary,
or --test-binary) with NABLA_ONNX_ZOO pointing at the manifest, which prints
one table line per model. "all" names every architecture, "ci" the subset
that CI runs.

--ort runs every exported model through ONNX Runtime too
(scripts/peers/ort_run.js, onnxruntime-node from scripts/install-deps.sh
--ort) on the same input and prints its agreement with PyTorch's float64
references: max|diff| / max|ref| over the outputs (tolerance 1e-5, as the
zoo test's). It only reports; the exit status is the export's and --run's.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# arch -> (family, input size, builder kwargs). Sizes are as small as each
# architecture allows, to keep the zoo quick; VGG and AlexNet need 224 for
# their adaptive pooling to 7x7 / 6x6 to export (the exporter only handles
# output sizes that divide the input), MaxViT's 7x7 partitions need 224.
ARCHS = {
    "resnet18": ("ResNet", 64, {}),
    "resnet50": ("ResNet", 64, {}),
    "resnext50_32x4d": ("ResNeXt", 64, {}),
    "wide_resnet50_2": ("Wide ResNet", 64, {}),
    "vgg11": ("VGG", 224, {}),
    "vgg11_bn": ("VGG-BN", 224, {}),
    "alexnet": ("AlexNet", 224, {}),
    "squeezenet1_1": ("SqueezeNet", 64, {}),
    "densenet121": ("DenseNet", 64, {}),
    "googlenet": ("GoogLeNet", 64, {"aux_logits": False, "init_weights": True}),
    "inception_v3": ("Inception v3", 96, {"aux_logits": False, "init_weights": True}),
    "shufflenet_v2_x0_5": ("ShuffleNet v2", 64, {}),
    "mobilenet_v2": ("MobileNet v2", 64, {}),
    "mobilenet_v3_small": ("MobileNet v3", 64, {}),
    "mnasnet0_5": ("MnasNet", 64, {}),
    "efficientnet_b0": ("EfficientNet", 64, {}),
    "efficientnet_v2_s": ("EfficientNet v2", 64, {}),
    "regnet_x_400mf": ("RegNet", 64, {}),
    "convnext_tiny": ("ConvNeXt", 64, {}),
    "vit_b_16": ("ViT", 32, {"image_size": 32}),
    "swin_t": ("Swin", 64, {}),
    "maxvit_t": ("MaxViT", 224, {}),
    "ssdlite320_mobilenet_v3_large": ("SSDlite", 320, {"weights_backbone": None}),
    "fasterrcnn_mobilenet_v3_large_320_fpn": ("Faster R-CNN", 320, {"weights_backbone": None}),
}
DETECTORS = {"ssdlite320_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn"}
# One architecture of every family (the smallest), and both detectors.
CI_SUBSET = ["resnet18", "resnext50_32x4d", "wide_resnet50_2", "vgg11", "vgg11_bn", "alexnet", "squeezenet1_1",
             "densenet121", "googlenet", "inception_v3", "shufflenet_v2_x0_5", "mobilenet_v2", "mobilenet_v3_small",
             "mnasnet0_5", "efficientnet_b0", "efficientnet_v2_s", "regnet_x_400mf", "convnext_tiny", "vit_b_16",
             "swin_t", "maxvit_t", "ssdlite320_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn"]
SCRIPT_VERSION = 3  # bump when an export's content would change


def build(arch):
    import torch
    import torchvision.models as models
    import torchvision.models.detection as detection
    family, size, kwargs = ARCHS[arch]
    torch.manual_seed(0)
    builder = getattr(detection if arch in DETECTORS else models, arch)
    model = builder(weights=None, **kwargs).eval()
    # A zero-initialised layer (ViT's head) would make every output 0 and the
    # agreement check unable to fail: give it small seeded random weights.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Linear) and not m.weight.any():
                m.weight.normal_(0, 0.02)
                if m.bias is not None:
                    m.bias.normal_(0, 0.02)
    if arch in DETECTORS:
        calibrate_detector(model, arch, size)
    return model, size


def calibrate_detector(model, arch, size):
    """Untrained detectors score every box 1/num_classes (below their score
    threshold, or all tied), which would leave the agreement check nothing to
    compare. Seeded random heads, BatchNorm statistics measured on random
    images and a score threshold of 0 give many detections with distinct
    scores."""
    import torch
    g = torch.Generator().manual_seed(5)
    ssd = arch.startswith("ssd")
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and any(k in name for k in ("head", "predictor", "rpn")):
                classifying = "cls" in name or "classification" in name
                scale = (0.3 if classifying else 0.05) if ssd else (0.03 if classifying else 0.005)
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * scale)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    for m in model.backbone.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the calibration batches
    model.backbone.train()
    with torch.no_grad():
        for _ in range(3):
            model.backbone(torch.randn(2, 3, size, size, generator=g))
    model.backbone.eval()
    if hasattr(model, "roi_heads"):
        model.roi_heads.score_thresh = 0.0
    if hasattr(model, "score_thresh"):
        model.score_thresh = 0.0


def patch_roi_align(path, opset):
    """torchvision 0.14 exports RoiAlign with its opset-10 symbolic at every
    opset, without coordinate_transformation_mode; from opset 16 that means
    ONNX's default half_pixel (what ONNX Runtime and nabla compute), while
    torch computed aligned=False, i.e. output_half_pixel. Saying so in the
    file makes the export mean what torch ran. Returns the nodes patched."""
    if opset < 16:
        return 0
    import onnx
    model = onnx.load(path)
    patched = 0
    for node in model.graph.node:
        if node.op_type == "RoiAlign" and not any(a.name == "coordinate_transformation_mode" for a in node.attribute):
            node.attribute.append(onnx.helper.make_attribute("coordinate_transformation_mode", "output_half_pixel"))
            patched += 1
    if patched:
        onnx.save(model, path)
    return patched


def export_one(arch, opset, fold, dynamic, cache):
    import numpy as np
    import torch
    tag = f"{arch}_op{opset}_{'fold' if fold else 'nofold'}{'_dyn' if dynamic else ''}"
    settings = {"version": SCRIPT_VERSION, "arch": arch, "opset": opset, "folding": fold, "dynamic": dynamic,
                "torch": torch.__version__, "size": ARCHS[arch][1], "kwargs": repr(ARCHS[arch][2])}
    entry = {"name": tag, "arch": arch, "family": ARCHS[arch][0], "opset": opset, "folding": fold,
             "dynamic": dynamic, "detector": arch in DETECTORS}
    settings_path = os.path.join(cache, tag + ".json")
    if os.path.exists(settings_path):
        with open(settings_path) as f:
            saved = json.load(f)
        if saved.get("settings") == settings and (saved["entry"].get("error") or
                                                  os.path.exists(os.path.join(cache, saved["entry"]["file"]))):
            return saved["entry"], True
    start = time.time()
    model, size = build(arch)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, size, size, generator=gen) if arch in DETECTORS else torch.randn(1, 3, size, size, generator=gen)
    try:
        with torch.no_grad():
            if arch in DETECTORS:
                detections = model.double()([x[0].double()])[0]
                names_out = list(detections.keys())  # the export's output order (SSD and R-CNN differ)
                ref = list(detections.values())
            else:
                ref = [model.double()(x.double())]
        model = model.float()
        path = os.path.join(cache, tag + ".onnx")
        args = ([x[0]],) if arch in DETECTORS else (x,)
        if arch not in DETECTORS:
            names_out = ["y"]
        dyn = None
        if dynamic and arch not in DETECTORS:
            dyn = {"x": {0: "batch"}, "y": {0: "batch"}}
        torch.onnx.export(model, args, path, opset_version=opset, do_constant_folding=fold,
                          input_names=["x"], output_names=names_out, dynamic_axes=dyn,
                          training=torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE)
        patched = patch_roi_align(path, opset)
        if patched:
            entry["patched"] = (f"{patched} RoiAlign nodes given coordinate_transformation_mode=output_half_pixel "
                                "(torchvision 0.14's exporter omits it; torch ran aligned=False)")
        entry["output_names"] = names_out
        np.save(os.path.join(cache, tag + ".in0.npy"), (x[0] if arch in DETECTORS else x).numpy())
        for k, r in enumerate(ref):
            np.save(os.path.join(cache, f"{tag}.out{k}.npy"), r.detach().numpy())
        entry.update(file=tag + ".onnx", inputs=[tag + ".in0.npy"], outputs=[f"{tag}.out{k}.npy" for k in range(len(ref))],
                     op_counts=op_counts(path), bytes=os.path.getsize(path))
    except Exception as e:  # the exporter's own failure is a result, recorded as such
        msg = str(e).strip().splitlines()
        entry["error"] = f"{type(e).__name__}: {msg[0] if msg else ''}"[:500]
        entry["traceback"] = traceback.format_exc(limit=3)[-2000:]
    entry["export_s"] = round(time.time() - start, 2)
    with open(settings_path, "w") as f:
        json.dump({"settings": settings, "entry": entry}, f, indent=1)
    return entry, False


def op_counts(path):
    import onnx
    counts = {}
    for node in onnx.load(path, load_external_data=False).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def ort_agreement(entries, cache, tolerance=1e-5):
    """Runs each exported model in ONNX Runtime against the float64
    references and prints one line per model; returns nothing (a report)."""
    node = shutil.which("node") or shutil.which("nodejs")
    ort_run = os.path.join(ROOT, "scripts", "peers", "ort_run.js")
    if node is None:
        print("onnx_zoo: --ort: no node on PATH (bash scripts/install-deps.sh --ort)")
        return
    probe = subprocess.run([node, ort_run, "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"onnx_zoo: --ort: {(probe.stdout + probe.stderr).strip()}")
        return
    print(f"onnx_zoo: ONNX Runtime ({probe.stdout.strip()}, 1 thread) vs PyTorch float64, "
          f"max|diff|/max|ref| (tolerance {tolerance:g})")
    print("| model | ORT agreement | status |")
    print("|---|---|---|")
    for entry in entries:
        if "error" in entry:
            print(f"| {entry['name']} | | not exported: {entry['error'][:80]} |")
            continue
        cmd = [node, ort_run, os.path.join(cache, entry["file"]), "--json", "--threads", "1", "--tolerance", str(tolerance),
               "--input", "x=" + os.path.join(cache, entry["inputs"][0])]
        out_dir = None
        if entry["detector"]:
            # Detections with tied scores may come out in either order: compared
            # here as tests/onnx/zoo_test.cpp compares them.
            out_dir = tempfile.mkdtemp(prefix="onnx_zoo_ort_")
            cmd += ["--out-dir", out_dir]
        else:
            cmd += ["--compare", f"y={os.path.join(cache, entry['outputs'][0])}"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        try:
            report = json.loads(run.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            message = (run.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"| {entry['name']} | | ORT failed (exit {run.returncode}): {message[:160]} |", flush=True)
            continue
        if out_dir:
            ort_outputs = [os.path.join(out_dir, n + ".npy") for n in ("boxes", "scores", "labels")]
            worst, notes, compared = detector_agreement(ort_outputs, [os.path.join(cache, f) for f in entry["outputs"]])
            shutil.rmtree(out_dir, ignore_errors=True)
        else:
            c = report["compare"][0]
            worst = float("inf") if c["relative"] is None else c["relative"]
            notes = [c["note"]] if c.get("note") else []
            compared = ""
        status = "ok" if worst <= tolerance and not notes else "MISMATCH"
        detail = f" ({'; '.join(notes)})" if notes else ""
        print(f"| {entry['name']} | {worst:.2e}{compared} | {status}{detail} |", flush=True)


def detector_agreement(out_files, ref_files):
    """boxes, scores, labels: max|diff|/max|ref| of boxes and scores over the
    detections whose reference score is not tied (within 1e-5 of the scale)
    with a neighbour, the problems found (shapes, labels) and how many
    detections that compared."""
    import numpy as np
    out = [np.load(f).astype(np.float64) for f in out_files]
    ref = [np.load(f).astype(np.float64) for f in ref_files]
    for k, (o, r) in enumerate(zip(out, ref)):
        if o.shape != r.shape:
            return float("inf"), [f"output {k} shape {list(o.shape)}, reference {list(r.shape)}"], ""
    boxes, scores, labels = out
    ref_boxes, ref_scores, ref_labels = ref
    box_scale = np.abs(ref_boxes).max(initial=0.0)
    score_scale = np.abs(ref_scores).max(initial=0.0)
    gaps = np.abs(np.diff(ref_scores)) <= 1e-5 * max(score_scale, 1e-30)
    tied = np.zeros(ref_scores.shape, bool)
    tied[1:] |= gaps
    tied[:-1] |= gaps
    keep = ~tied
    box_diff = np.abs(boxes[keep] - ref_boxes[keep]).max(initial=0.0)
    score_diff = np.abs(scores[keep] - ref_scores[keep]).max(initial=0.0)
    rel = max(box_diff / box_scale if box_scale else box_diff, score_diff / score_scale if score_scale else score_diff)
    notes = [f"labels differ at {int((labels[keep] != ref_labels[keep]).sum())} untied detections"] \
        if (labels[keep] != ref_labels[keep]).any() else []
    return float(rel), notes, f" ({int(keep.sum())} of {keep.size} detections untied)"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("archs", nargs="*", default=["all"], help="architectures, 'all' or 'ci' (default all)")
    p.add_argument("--opset", type=int, nargs="+", default=[17], choices=[11, 13, 17])
    p.add_argument("--no-fold", action="store_true", help="constant folding off; keeps BatchNormalization")
    p.add_argument("--dynamic", action="store_true", help="a dynamic batch axis (classifiers)")
    p.add_argument("--cache", default=os.path.join(ROOT, "build", "onnx-zoo"))
    p.add_argument("--run", action="store_true", help="then run the zoo test and print its table")
    p.add_argument("--test-binary", default=None, help="nabla_onnx_tests (default: build/tests/nabla_onnx_tests)")
    p.add_argument("--ort", action="store_true", help="also run each model in ONNX Runtime and print its agreement")
    a = p.parse_args()
    archs = []
    for name in a.archs:
        archs += list(ARCHS) if name == "all" else CI_SUBSET if name == "ci" else [name]
    unknown = [n for n in archs if n not in ARCHS]
    if unknown:
        p.error(f"unknown architectures: {', '.join(unknown)} (known: {', '.join(ARCHS)})")
    try:
        import onnx  # noqa: F401
        import torch
        import torchvision  # noqa: F401
    except ImportError as e:
        print(f"onnx_zoo: SKIP: {e} (install python3-torch python3-torchvision python3-onnx)")
        return 77
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    os.makedirs(a.cache, exist_ok=True)
    entries = []
    for arch in archs:
        for opset in a.opset:
            entry, cached = export_one(arch, opset, not a.no_fold, a.dynamic, a.cache)
            entries.append(entry)
            state = "cached" if cached else f"{entry['export_s']:.1f}s"
            print(f"onnx_zoo: {entry['name']}: {'EXPORT FAILED: ' + entry['error'] if 'error' in entry else 'ok'} ({state})",
                  flush=True)
    manifest = os.path.join(a.cache, "manifest.json")
    with open(manifest, "w") as f:
        json.dump({"generator": "scripts/onnx_zoo.py", "models": entries}, f, indent=1)
    print(f"onnx_zoo: wrote {manifest} ({len(entries)} models)")
    rc = 0
    if a.run:
        binary = a.test_binary or os.path.join(ROOT, "build", "tests", "nabla_onnx_tests")
        if not os.path.exists(binary):
            print(f"onnx_zoo: no test binary at {binary}; build nabla_onnx_tests or pass --test-binary", file=sys.stderr)
            return 2
        env = dict(os.environ, NABLA_ONNX_ZOO=manifest)
        rc = subprocess.call([binary, "[zoo]"], env=env, cwd=ROOT)
    if a.ort:
        ort_agreement(entries, a.cache)
    return rc


if __name__ == "__main__":
    sys.exit(main())

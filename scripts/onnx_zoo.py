#!/usr/bin/python3
"""The model zoo: torchvision architectures exported to ONNX, with PyTorch's
float64 reference outputs, for the graph runtime's agreement tests.

Needs Debian's python3-torch, python3-torchvision and python3-onnx
(/usr/bin/python3). Nothing is downloaded: every model is built with
weights=None after torch.manual_seed, so its random weights are as good as
trained ones for agreement and speed.

  scripts/onnx_zoo.py [ARCH ...] [--opset 11 13 17] [--no-fold] [--dynamic]
                      [--cache DIR] [--run [--test-binary PATH]]

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
"""
import argparse
import json
import os
import subprocess
import sys
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
CI_SUBSET = ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x0_5", "mnasnet0_5",
             "regnet_x_400mf", "densenet121", "googlenet", "efficientnet_b0", "vit_b_16"]
SCRIPT_VERSION = 2  # bump when an export's content would change


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
    return model, size


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
                ref = model.double()([x[0].double()])[0]
                ref = [ref["boxes"], ref["scores"], ref["labels"]]
            else:
                ref = [model.double()(x.double())]
        model = model.float()
        path = os.path.join(cache, tag + ".onnx")
        args = ([x[0]],) if arch in DETECTORS else (x,)
        names_out = ["boxes", "scores", "labels"] if arch in DETECTORS else ["y"]
        dyn = None
        if dynamic and arch not in DETECTORS:
            dyn = {"x": {0: "batch"}, "y": {0: "batch"}}
        torch.onnx.export(model, args, path, opset_version=opset, do_constant_folding=fold,
                          input_names=["x"], output_names=names_out, dynamic_axes=dyn,
                          training=torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE)
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
    if not a.run:
        return 0
    binary = a.test_binary or os.path.join(ROOT, "build", "tests", "nabla_onnx_tests")
    if not os.path.exists(binary):
        print(f"onnx_zoo: no test binary at {binary}; build nabla_onnx_tests or pass --test-binary", file=sys.stderr)
        return 2
    env = dict(os.environ, NABLA_ONNX_ZOO=manifest)
    return subprocess.call([binary, "[zoo]"], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())

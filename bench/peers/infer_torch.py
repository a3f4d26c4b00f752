#!/usr/bin/python3
"""PyTorch peer of the inference benchmark (scripts/bench_inference.py): one
torchvision model, eager or TorchScript (torch.jit.freeze of torch.jit.script,
or of torch.jit.trace where scripting fails), on the benchmark's .npy input.

    /usr/bin/python3 bench/peers/infer_torch.py --arch resnet18 --input X.npy
        [--mode eager|torchscript] [--threads N] [--runs R] [--warmup W]

The weights are scripts/onnx_zoo.py's build(arch): seeded random, the same as
the exported .onnx files. Prints one JSON line (bench/peers/infer_common.py).
The driver sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS; this sets
torch.set_num_threads(N) and one inter-op thread.
"""
import argparse
import os
import sys

from infer_common import main_guard, measure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tensors(value):
    """The tensors in a model's output (a tensor, or lists, tuples and dicts of them)."""
    import torch
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors(v)]
    return []


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--input", required=True, help=".npy input, NCHW float32")
    p.add_argument("--mode", choices=["eager", "torchscript"], default="eager")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()

    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from onnx_zoo import ARCHS, DETECTORS, build
    if a.arch not in ARCHS:
        raise ValueError(f"unknown architecture {a.arch}")
    model, _ = build(a.arch)
    model = model.float().eval()
    x = torch.from_numpy(np.load(a.input))
    # torchvision's detectors take a list of CHW images; a batch-1 input file
    # holds one image.
    if a.arch in DETECTORS:
        args = ([x] if x.dim() == 3 else [x[i] for i in range(x.shape[0])],)
    else:
        args = (x,)
    how = "eager"
    if a.mode == "torchscript":
        with torch.no_grad():
            try:
                scripted = torch.jit.script(model)
                how = "script + freeze"
            except Exception:  # not scriptable: trace it instead
                scripted = torch.jit.trace(model, args)
                how = "trace + freeze"
            model = torch.jit.freeze(scripted.eval())

    def run():
        with torch.inference_mode():
            return model(*args)

    first, report = measure(run, a.warmup, a.runs)
    outs = tensors(first)
    report.update(engine="torch eager" if a.mode == "eager" else "TorchScript", how=how, version=torch.__version__,
                  threads=a.threads, checksum=float(outs[0].double().sum()) if outs else None,
                  torch_threads=torch.get_num_threads())
    return report


if __name__ == "__main__":
    main_guard(main)

#!/usr/bin/python3
"""OpenCV DNN peer of the inference benchmark (scripts/bench_inference.py):
cv2.dnn.readNetFromONNX on the exported file, OpenCV's own CPU backend, on
the benchmark's .npy input.

    /usr/bin/python3 bench/peers/infer_opencv.py --model M.onnx --input X.npy
        [--threads N] [--runs R] [--warmup W]

Needs Debian's python3-opencv (4.6). Prints one JSON line
(bench/peers/infer_common.py); cv2.setNumThreads(N) sets its threads.
"""
import argparse

from infer_common import main_guard, measure


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()

    import cv2
    import numpy as np
    cv2.setNumThreads(a.threads)
    try:
        net = cv2.dnn.readNetFromONNX(a.model)
    except cv2.error as e:
        # The importer's first line is generic; the "> " lines name the node.
        detail = [line.lstrip("> ").strip() for line in str(e).splitlines() if line.startswith(">") and line.strip("> ")]
        raise RuntimeError("readNetFromONNX: " + (" ".join(detail) or str(e).strip())) from None
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    x = np.ascontiguousarray(np.load(a.input), dtype=np.float32)
    names = net.getUnconnectedOutLayersNames()

    def run():
        net.setInput(x)
        return net.forward(names)

    first, report = measure(run, a.warmup, a.runs)
    report.update(engine="OpenCV DNN", version=cv2.__version__, threads=a.threads, opencv_threads=cv2.getNumThreads(),
                  checksum=float(np.asarray(first[0], dtype=np.float64).sum()) if len(first) else None)
    return report


if __name__ == "__main__":
    main_guard(main)

"""PyTorch peer of bench/bench_softmax.cpp: softmax, log_softmax and
cross_entropy (mean) along axis 1 of [rows, cols] logits; forward under
no_grad, and forward+backward through autograd (dy as the output gradient;
the input's grad is dropped after each step).
Usage: /usr/bin/python3 bench/peers/torch_softmax.py --help"""
import torch
import torch.nn.functional as F

from torch_common import Workload, main

SIZES = [(64, 10), (256, 1000)]


def inputs(rows, cols):
    g = torch.Generator().manual_seed(21)
    x = torch.randn(rows, cols, generator=g) * 3.0
    dy = torch.randn(rows, cols, generator=g)
    labels = torch.randint(0, cols, (rows,), generator=g)
    return x, dy, labels


def forward_setup(rows, cols, op):
    def setup():
        x, _, labels = inputs(rows, cols)

        def forward():
            with torch.no_grad():
                return op(x, labels)
        return forward
    return setup


def backward_setup(rows, cols, op, seeded):
    def setup():
        x, dy, labels = inputs(rows, cols)
        x.requires_grad_(True)

        def forward_backward():
            y = op(x, labels)
            if seeded:
                y.backward(dy)
            else:
                y.backward()
            x.grad = None
        return forward_backward
    return setup


OPS = {
    "softmax": (lambda x, labels: torch.softmax(x, 1), True),
    "log_softmax": (lambda x, labels: torch.log_softmax(x, 1), True),
    "cross_entropy": (lambda x, labels: F.cross_entropy(x, labels), False),
}

WORKLOADS = []
for name, (op, seeded) in OPS.items():
    for rows, cols in SIZES:
        size = f"{rows}x{cols}"
        WORKLOADS.append(Workload(f"{name}_fwd", size, forward_setup(rows, cols, op), quick=True))
        WORKLOADS.append(Workload(f"{name}_fwd_bwd", size, backward_setup(rows, cols, op, seeded), quick=True))

if __name__ == "__main__":
    main(WORKLOADS)

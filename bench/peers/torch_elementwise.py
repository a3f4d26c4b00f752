"""PyTorch peer of bench/bench_elementwise.cpp: add, mul, exp (output
allocated per call, as nabla's), add_ in place, and a [rows, 256] + [256]
bias add. Usage: /usr/bin/python3 bench/peers/torch_elementwise.py --help"""
import torch

from torch_common import Workload, main

SIZES = [1 << 10, 1 << 16, 1 << 20, 1 << 24]
QUICK = {1 << 16, 1 << 20}


def vectors(n):
    g = torch.Generator().manual_seed(42)
    a = torch.empty(n).uniform_(-2.0, 2.0, generator=g)
    b = torch.empty(n).uniform_(0.5, 2.0, generator=g)
    return a, b


def binary(op):
    def setup_for(n):
        def setup():
            a, b = vectors(n)
            return lambda: op(a, b)
        return setup
    return setup_for


def exp_setup(n):
    def setup():
        a, _ = vectors(n)
        return lambda: torch.exp(a)
    return setup


def add_inplace_setup(n):
    def setup():
        _, b = vectors(n)
        c = torch.zeros(n)
        return lambda: c.add_(b)
    return setup


def bias_add_setup(rows):
    def setup():
        g = torch.Generator().manual_seed(1)
        x = torch.randn(rows, 256, generator=g)
        bias = torch.randn(256, generator=g)
        return lambda: x + bias
    return setup


WORKLOADS = []
for n in SIZES:
    WORKLOADS += [
        Workload("add", str(n), binary(torch.add)(n), quick=n in QUICK),
        Workload("add_inplace", str(n), add_inplace_setup(n), quick=n in QUICK),
        Workload("mul", str(n), binary(torch.mul)(n), quick=n in QUICK),
        Workload("exp", str(n), exp_setup(n), quick=n in QUICK),
    ]
for rows in (64, 4096):
    WORKLOADS.append(Workload("bias_add", f"{rows}x256", bias_add_setup(rows), quick=rows == 4096))

if __name__ == "__main__":
    main(WORKLOADS)

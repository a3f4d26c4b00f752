"""PyTorch peer of bench/bench_reduce.cpp: sum and max of a vector, sums
along each axis of [1024, 1024], and the bias-gradient sum [4096, 256] -> [256].
Usage: /usr/bin/python3 bench/peers/torch_reduce.py --help"""
import torch

from torch_common import Workload, main

SIZES = [1 << 10, 1 << 16, 1 << 20, 1 << 24]
QUICK = {1 << 16, 1 << 20}


def vector_setup(n, op):
    def setup():
        x = torch.empty(n).uniform_(-1.0, 1.0, generator=torch.Generator().manual_seed(7))
        return lambda: op(x)
    return setup


def matrix_setup(rows, cols, op):
    def setup():
        x = torch.empty(rows, cols).uniform_(-1.0, 1.0, generator=torch.Generator().manual_seed(7))
        return lambda: op(x)
    return setup


WORKLOADS = []
for n in SIZES:
    WORKLOADS += [
        Workload("sum", str(n), vector_setup(n, torch.sum), quick=n in QUICK),
        Workload("max", str(n), vector_setup(n, torch.max), quick=n in QUICK),
    ]
WORKLOADS += [
    Workload("sum_axis0", "1024x1024", matrix_setup(1024, 1024, lambda x: x.sum(0)), quick=True),
    Workload("sum_axis1", "1024x1024", matrix_setup(1024, 1024, lambda x: x.sum(1)), quick=True),
    Workload("sum_to_bias", "4096x256", matrix_setup(4096, 256, lambda x: x.sum(0)), quick=True),
]

if __name__ == "__main__":
    main(WORKLOADS)

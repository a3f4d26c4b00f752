"""PyTorch peer of bench/bench_matmul.cpp: fp32 C = A B for A [M, K], B [K, N];
"matmul" writes into a preallocated C (torch.mm(..., out=c), as nabla's
matmul_into), "matmul_alloc" allocates C per call (as nabla::matmul).
Size strings are "MxKxN". Usage: /usr/bin/python3 bench/peers/torch_matmul.py --help"""
import torch

from torch_common import Workload, main

SHAPES = [(64, 64, 64), (128, 128, 128), (256, 256, 256), (512, 512, 512), (1024, 1024, 1024),
          (64, 784, 256), (64, 256, 10)]
QUICK = {(256, 256, 256), (512, 512, 512), (64, 784, 256)}


def setup_for(m, k, n, into):
    def setup():
        g = torch.Generator().manual_seed(1)
        a = torch.randn(m, k, generator=g)
        b = torch.randn(k, n, generator=g)
        if into:
            c = torch.empty(m, n)
            return lambda: torch.mm(a, b, out=c)
        return lambda: torch.mm(a, b)
    return setup


WORKLOADS = []
for (m, k, n) in SHAPES:
    size = f"{m}x{k}x{n}"
    WORKLOADS.append(Workload("matmul", size, setup_for(m, k, n, True), quick=(m, k, n) in QUICK, flops=2 * m * k * n))
    WORKLOADS.append(Workload("matmul_alloc", size, setup_for(m, k, n, False), flops=2 * m * k * n))

if __name__ == "__main__":
    main(WORKLOADS)

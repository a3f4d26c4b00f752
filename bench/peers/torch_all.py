"""Every PyTorch peer workload in one process: scripts/bench.py runs
`torch_all.py --serve` once and sends it requests, so torch is imported once.
Standalone: /usr/bin/python3 bench/peers/torch_all.py --quick --threads 1"""
import torch_autograd
import torch_conv
import torch_elementwise
import torch_matmul
import torch_reduce
import torch_softmax
import torch_training
from torch_common import main

FAMILIES = (torch_elementwise, torch_reduce, torch_matmul, torch_conv, torch_softmax, torch_autograd, torch_training)
WORKLOADS = [w for family in FAMILIES for w in family.WORKLOADS]

if __name__ == "__main__":
    main(WORKLOADS)

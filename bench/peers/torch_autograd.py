"""PyTorch peer of bench/bench_autograd.cpp: a chain of 10,000 elementwise
ops (y = tanh(y * 1.0001), 5,000 times) on tiny tensors, forward + backward
and under no_grad; and the MLP 784-256-128-10 step written with raw ops
(linear, relu, cross_entropy, backward, p -= 0.01 * grad).
Usage: /usr/bin/python3 bench/peers/torch_autograd.py --help"""
import torch
import torch.nn.functional as F

from torch_common import Workload, main

CHAIN = 10000


def chain_setup(n, grad):
    def setup():
        x = torch.full((n,), 0.5, requires_grad=True)
        if grad:
            def forward_backward():
                y = x
                for _ in range(CHAIN // 2):
                    y = torch.tanh(y * 1.0001)
                y.sum().backward()
                x.grad = None
            return forward_backward

        def no_grad():
            with torch.no_grad():
                y = x
                for _ in range(CHAIN // 2):
                    y = torch.tanh(y * 1.0001)
            return y
        return no_grad
    return setup


def mlp_ops_setup():
    g = torch.Generator().manual_seed(3)

    def param(*shape):
        return (torch.rand(*shape, generator=g) * 0.1 - 0.05).requires_grad_(True)

    w1, w2, w3 = param(256, 784), param(128, 256), param(10, 128)
    b1, b2, b3 = (torch.zeros(n, requires_grad=True) for n in (256, 128, 10))
    x = torch.rand(64, 784, generator=g)
    labels = torch.randint(0, 10, (64,), generator=g)
    params = (w1, b1, w2, b2, w3, b3)

    def step():
        h1 = F.linear(x, w1, b1).relu()
        h2 = F.linear(h1, w2, b2).relu()
        loss = F.cross_entropy(F.linear(h2, w3, b3), labels)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-0.01)
                p.grad = None
        return loss
    return step


WORKLOADS = []
for n in (1, 16):
    WORKLOADS.append(Workload("tape_chain_fwd_bwd", f"n={n}", chain_setup(n, True), quick=True))
    WORKLOADS.append(Workload("tape_chain_nograd", f"n={n}", chain_setup(n, False), quick=True))
WORKLOADS.append(Workload("mlp_step_ops", "batch 64", mlp_ops_setup, quick=True))

if __name__ == "__main__":
    main(WORKLOADS)

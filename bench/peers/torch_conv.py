"""PyTorch peer of bench/bench_conv.cpp and bench/bench_pool.cpp: conv2d
forward and forward+backward (grads of input, weight and bias) on NCHW, and
max_pool2d 2x2 forward and forward+backward. PyTorch 1.13 runs fp32 CPU
convolutions through oneDNN. Usage: /usr/bin/python3 bench/peers/torch_conv.py --help"""
import torch
import torch.nn.functional as F

from torch_common import Workload, main

# (N, C, H, W, K, k, pad): the CNN's two conv layers at batch 64 and a wider one.
CONV_SHAPES = [(64, 1, 28, 28, 32, 5, 2), (64, 32, 14, 14, 64, 5, 2), (32, 64, 56, 56, 64, 3, 1)]
QUICK_CONV = {0, 1}
# (N, C, H, W): the inputs of the CNN's two pooling layers.
POOL_SHAPES = [(64, 32, 28, 28), (64, 64, 14, 14)]


def conv_size(s):
    n, c, h, w, k, kernel, pad = s
    return f"N{n} C{c} {h}x{w} K{k} k{kernel} p{pad}"


def conv_flops(s):
    n, c, h, w, k, kernel, pad = s
    ho, wo = h + 2 * pad - kernel + 1, w + 2 * pad - kernel + 1
    return 2 * n * k * c * kernel * kernel * ho * wo


def conv_setup(s, backward):
    def setup():
        n, c, h, w, k, kernel, pad = s
        g = torch.Generator().manual_seed(3)
        x = torch.randn(n, c, h, w, generator=g)
        wt = torch.randn(k, c, kernel, kernel, generator=g) * 0.1
        b = torch.randn(k, generator=g)
        ho, wo = h + 2 * pad - kernel + 1, w + 2 * pad - kernel + 1
        dy = torch.randn(n, k, ho, wo, generator=g)
        if not backward:
            def forward():
                with torch.no_grad():
                    return F.conv2d(x, wt, b, padding=pad)
            return forward
        for t in (x, wt, b):
            t.requires_grad_(True)

        def forward_backward():
            F.conv2d(x, wt, b, padding=pad).backward(dy)
            x.grad = wt.grad = b.grad = None
        return forward_backward
    return setup


def pool_setup(s, backward):
    def setup():
        n, c, h, w = s
        g = torch.Generator().manual_seed(9)
        x = torch.randn(n, c, h, w, generator=g)
        dy = torch.randn(n, c, h // 2, w // 2, generator=g)
        if not backward:
            def forward():
                with torch.no_grad():
                    return F.max_pool2d(x, 2)
            return forward
        x.requires_grad_(True)

        def forward_backward():
            F.max_pool2d(x, 2).backward(dy)
            x.grad = None
        return forward_backward
    return setup


WORKLOADS = []
for i, s in enumerate(CONV_SHAPES):
    f = conv_flops(s)
    WORKLOADS.append(Workload("conv2d_fwd", conv_size(s), conv_setup(s, False), quick=i in QUICK_CONV, flops=f))
    WORKLOADS.append(Workload("conv2d_fwd_bwd", conv_size(s), conv_setup(s, True), quick=i in QUICK_CONV,
                              flops=3 * f))
for s in POOL_SHAPES:
    size = f"N{s[0]} C{s[1]} {s[2]}x{s[3]} k2"
    WORKLOADS.append(Workload("max_pool2d_fwd", size, pool_setup(s, False), quick=True))
    WORKLOADS.append(Workload("max_pool2d_fwd_bwd", size, pool_setup(s, True), quick=True))

if __name__ == "__main__":
    main(WORKLOADS)

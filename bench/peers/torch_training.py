"""PyTorch peer of bench/bench_training.cpp: training steps of the MLP
784-256-128-10 and the LeNet-style CNN (batch 64: zero_grad(set_to_none),
forward, cross_entropy, backward, SGD lr 0.05 momentum 0.9 step; default
init), and batch-1 inference latency under no_grad in eval mode.
Usage: /usr/bin/python3 bench/peers/torch_training.py --help"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_common import Workload, main


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def input_shape(is_cnn, n):
    return (n, 1, 28, 28) if is_cnn else (n, 784)


def train_setup(is_cnn):
    def setup():
        torch.manual_seed(11)
        model = cnn() if is_cnn else mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        x = torch.rand(*input_shape(is_cnn, 64))
        labels = torch.randint(0, 10, (64,))

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), labels)
            loss.backward()
            opt.step()
            return loss
        return step
    return setup


def infer_setup(is_cnn):
    def setup():
        torch.manual_seed(12)
        model = (cnn() if is_cnn else mlp()).eval()
        x = torch.rand(*input_shape(is_cnn, 1))

        def forward():
            with torch.no_grad():
                return model(x)
        return forward
    return setup


WORKLOADS = [
    Workload("mlp_train_step", "batch 64", train_setup(False), quick=True),
    Workload("cnn_train_step", "batch 64", train_setup(True), quick=True),
    Workload("mlp_infer", "batch 1", infer_setup(False), quick=True),
    Workload("cnn_infer", "batch 1", infer_setup(True), quick=True),
]

if __name__ == "__main__":
    main(WORKLOADS)

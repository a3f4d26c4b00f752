#!/usr/bin/python3
"""The PyTorch peer of examples/mnist: the same models, data, split, recipe
and printed metrics, so the two can be compared in one session.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/peers/mnist_torch.py \
        --data data/fashion-mnist --model mlp --epochs 3 --optimizer sgd --lr 0.05

Reads the same IDX files (plain or .gz), normalises with MNIST's mean/std
(0.1307, 0.3081) as the example does, shuffles every epoch, keeps the last
partial batch, evaluates in batches of 1000. Uses PyTorch's default init.
Needs Debian's python3-torch (/usr/bin/python3).
"""

import argparse
import gzip
import os
import struct
import sys
import time

import torch
from torch import nn

MEAN, STD = 0.1307, 0.3081


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, rank = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    dims = struct.unpack(f">{rank}I", raw[4:4 + 4 * rank])
    data = torch.frombuffer(bytearray(raw[4 + 4 * rank:]), dtype=torch.uint8)
    return data.reshape(dims)


def load(folder, prefix):
    def find(base):
        for name in (base, base + ".gz"):
            if os.path.isfile(os.path.join(folder, name)):
                return os.path.join(folder, name)
        raise FileNotFoundError(f"{folder} has neither {base} nor {base}.gz")
    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte")).long()
    # Same float steps as the example: (v / 255 - mean) / std.
    x = (images.float().div(255.0).sub(MEAN).div(STD)).unsqueeze(1).contiguous()
    return x, labels


def build(kind):
    # Indices match the example's Sequential, so state_dict names agree.
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def evaluate(model, x, y, flatten):
    model.eval()
    loss_sum, correct = 0.0, 0
    confusion = torch.zeros(10, 10, dtype=torch.long)
    with torch.no_grad():
        for i in range(0, len(y), 1000):
            xb, yb = x[i:i + 1000], y[i:i + 1000]
            logits = model(xb.flatten(1) if flatten else xb)
            loss_sum += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            pred = logits.argmax(1)
            correct += (pred == yb).sum().item()
            confusion += torch.bincount(yb * 10 + pred, minlength=100).reshape(10, 10)
    model.train()
    return loss_sum / len(y), correct / len(y), confusion


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, default=-1, help="use the first N training images")
    p.add_argument("--metrics", help="CSV per epoch, as the example writes")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x_train, y_train = load(a.data, "train")
    x_test, y_test = load(a.data, "t10k")
    if a.limit >= 0:
        x_train, y_train = x_train[:a.limit], y_train[:a.limit]
    flatten = a.model == "mlp"
    model = build(a.model)
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {a.model}, {a.optimizer} lr {a.lr}, "
          f"batch {a.batch_size}; {len(y_train)} training and {len(y_test)} test images", flush=True)

    metrics = open(a.metrics, "w") if a.metrics else None
    if metrics:
        metrics.write("epoch,train_loss,train_acc,test_loss,test_acc,seconds\n")
    n = len(y_train)
    gen = torch.Generator().manual_seed(a.seed)
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, a.batch_size):
            idx = order[i:i + a.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb.flatten(1) if flatten else xb)
            loss = nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
        seconds = time.perf_counter() - start
        test_loss, test_acc, confusion = evaluate(model, x_test, y_test, flatten)
        print(f"epoch {epoch}/{a.epochs}  train loss {loss_sum / n:.4f}  train acc {100 * correct / n:.2f}%  "
              f"test loss {test_loss:.4f}  test acc {100 * test_acc:.2f}%  {seconds:.2f} s", flush=True)
        if metrics:
            metrics.write(f"{epoch},{loss_sum / n:.6f},{correct / n:.6f},{test_loss:.6f},{test_acc:.6f},{seconds:.3f}\n")
            metrics.flush()
    if a.epochs == 0:
        test_loss, test_acc, confusion = evaluate(model, x_test, y_test, flatten)
    print("confusion matrix (rows: true class, columns: predicted)")
    for k in range(10):
        print(f"{k:>3} " + " ".join(f"{v:>5}" for v in confusion[k].tolist()))
    per_class = [confusion[k, k].item() / max(1, confusion[k].sum().item()) for k in range(10)]
    print("per-class accuracy: " + "  ".join(f"{k}: {100 * v:.1f}%" for k, v in enumerate(per_class)))
    print(f"test accuracy: {100 * test_acc:.2f}%")


if __name__ == "__main__":
    sys.exit(main())

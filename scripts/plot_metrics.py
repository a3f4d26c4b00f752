#!/usr/bin/python3
"""Plots the per-epoch metrics CSV of examples/mnist (--metrics FILE) as a PNG:
loss (train and test) and accuracy (train and test) per epoch.

    /usr/bin/python3 scripts/plot_metrics.py metrics.csv out.png [--title TEXT]

Several CSV files may be given before the PNG (e.g. nabla and the PyTorch
peer); each gets its own line style, labelled by its file name. Needs
Debian's python3-matplotlib; renders headless (Agg).
"""

import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"]


def read(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise SystemExit(f"plot_metrics: {path}: expected the columns {','.join(COLUMNS)}, "
                             f"got {','.join(reader.fieldnames or [])}")
        rows = [{k: float(v) for k, v in row.items()} for row in reader]
    if not rows:
        raise SystemExit(f"plot_metrics: {path} has no rows")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", help="metrics CSV file(s), then the output PNG")
    p.add_argument("--title", default=None)
    a = p.parse_args()
    if len(a.files) < 2:
        p.error("give at least one CSV file and the output PNG")
    *inputs, out = a.files
    if not out.endswith(".png"):
        p.error(f"the last argument should be the output .png, got {out}")

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    styles = ["-", "--", ":", "-."]
    for i, path in enumerate(inputs):
        rows = read(path)
        epochs = [r["epoch"] for r in rows]
        label = os.path.splitext(os.path.basename(path))[0] if len(inputs) > 1 else ""
        prefix = f"{label} " if label else ""
        style = styles[i % len(styles)]
        ax_loss.plot(epochs, [r["train_loss"] for r in rows], style, marker="o", color="C0", label=f"{prefix}train")
        ax_loss.plot(epochs, [r["test_loss"] for r in rows], style, marker="o", color="C1", label=f"{prefix}test")
        ax_acc.plot(epochs, [100 * r["train_acc"] for r in rows], style, marker="o", color="C0", label=f"{prefix}train")
        ax_acc.plot(epochs, [100 * r["test_acc"] for r in rows], style, marker="o", color="C1", label=f"{prefix}test")
        last = rows[-1]
        ax_acc.annotate(f"{100 * last['test_acc']:.2f}%", (last["epoch"], 100 * last["test_acc"]),
                        textcoords="offset points", xytext=(-10, -14), fontsize=8, color="C1")
    ax_loss.set_title("cross-entropy loss")
    ax_acc.set_title("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if a.title:
        fig.suptitle(a.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())

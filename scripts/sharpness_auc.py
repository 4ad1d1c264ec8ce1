#!/usr/bin/env python3
"""How well image sharpness alone separates normal from pneumonia training images.

Reads every second file of the official train split (never val or test), in sorted order,
and prints, for each measure, the AUC of "normal scores higher", and the class means ± sd:
sharpness (mean |Laplacian| of the grey image in [0, 1]), the same inside the central lung
region (rows 1/4–3/4, columns 1/8–7/8) and in the top and bottom eighths (outside the lungs),
and the JPEG file size. Used for experiments/resolution_selection.md's tenth addendum:

    python3 -m pip install pillow numpy   # not needed by the project itself
    scripts/sharpness_auc.py ../shared/data/chest_xray
"""

import glob
import os
import sys

import numpy as np
from PIL import Image


def measures(path):
    a = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255
    lap = np.abs(4 * a[1:-1, 1:-1] - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2] - a[1:-1, 2:])
    h, w = lap.shape
    inner = lap[h // 4 : 3 * h // 4, w // 8 : 7 * w // 8].mean()
    border = np.concatenate([lap[: h // 8].ravel(), lap[-h // 8 :].ravel()]).mean()
    return lap.mean(), inner, border, os.path.getsize(path)


def auc_normal_higher(scores, pneumonia):
    """Mann–Whitney AUC that a normal image scores above a pneumonia one (ties broken by order)."""
    ranks = scores.argsort().argsort() + 1
    n1 = pneumonia.sum()
    n0 = len(pneumonia) - n1
    return 1 - (ranks[pneumonia].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/chest_xray"
    rows, pneumonia = [], []
    for label, folder in ((False, "NORMAL"), (True, "PNEUMONIA")):
        for path in sorted(glob.glob(os.path.join(root, "train", folder, "*.jpeg")))[::2]:
            rows.append(measures(path))
            pneumonia.append(label)
    x, y = np.array(rows), np.array(pneumonia)
    names = ["sharpness", "sharpness, lung region", "sharpness, top and bottom eighths", "file size (bytes)"]
    print(f"{(~y).sum()} normal, {y.sum()} pneumonia training images (every second file)")
    for i, name in enumerate(names):
        n, p = x[~y, i], x[y, i]
        print(f"{name}: AUC {auc_normal_higher(x[:, i], y):.3f}; "
              f"normal {n.mean():.4g} ± {n.std():.2g}, pneumonia {p.mean():.4g} ± {p.std():.2g}")


if __name__ == "__main__":
    main()

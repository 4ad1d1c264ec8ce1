#!/usr/bin/env python3
"""How an int8 blob's logits follow its float model's, image by image.

Takes two outputs of `trainer predict --json` on the same images: the float model
(`--run <run folder>`) and the int8 blob (`--model <blob>`). Prints the least-squares line of
int8 logit on float logit over the images with |float logit| < 8 (its slope, and its value at
logit 0, the decision boundary at threshold 0.5), the mean int8 − float logit per class
(from the NORMAL / PNEUMONIA folder in each path) and how many normal images each calls
pneumonia at 0.5. Used for experiments/int8_fidelity.md's second addendum:

    trainer predict --run runs/res-base03/deeper_224_base03-s4 --json <images> > float.json
    trainer predict --model <blob> --json <images> > int8.json
    scripts/logit_line.py float.json int8.json
"""

import json
import math
import sys


def logit(p):
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def main(float_json, int8_json):
    float_p = {r["file"]: r["probability"] for r in json.load(open(float_json)) if r["error"] is None}
    int8_p = {r["file"]: r["probability"] for r in json.load(open(int8_json)) if r["error"] is None}
    files = sorted(set(float_p) & set(int8_p))
    if not files:
        sys.exit("no image classified in both files")
    xs, ys = [], []
    delta = {"NORMAL": [], "PNEUMONIA": []}
    called = {"float": 0, "int8": 0}
    for f in files:
        x, y = logit(float_p[f]), logit(int8_p[f])
        if abs(x) < 8:
            xs.append(x)
            ys.append(y)
        kind = "NORMAL" if "/NORMAL/" in f else "PNEUMONIA" if "/PNEUMONIA/" in f else None
        if kind:
            delta[kind].append(y - x)
        if kind == "NORMAL":
            called["float"] += float_p[f] >= 0.5
            called["int8"] += int8_p[f] >= 0.5
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    print(f"{len(files)} images, {n} with |float logit| < 8: slope {slope:.3f}, at logit 0 {my - slope * mx:+.3f}")
    for kind, d in delta.items():
        if d:
            print(f"{kind}: {len(d)} images, mean int8 - float logit {sum(d) / len(d):+.3f}")
    if delta["NORMAL"]:
        print(f"normal images called pneumonia at 0.5: float {called['float']}, int8 {called['int8']}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

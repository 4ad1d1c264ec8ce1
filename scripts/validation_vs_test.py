#!/usr/bin/env python3
"""Does a validation set predict official-test accuracy? For each ablation folder (written by
`trainer ablation`), prints per row the mean validation and official test accuracy, the
Spearman rank correlation between them over rows and over single runs, and the row the
validation set would choose. Reads only metrics.json files; standard library only.

    python3 scripts/validation_vs_test.py runs/ablation runs/ablation-lowest-ids
"""
import json
import statistics
import sys
from pathlib import Path


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in order[i:j + 1]:
            r[k] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a, b):
    if len(a) < 3:
        return float("nan")
    ra, rb = ranks(a), ranks(b)
    return statistics.correlation(ra, rb)


def main(folders):
    for folder in map(Path, folders):
        ablation = json.loads((folder / "ablation.json").read_text())
        rows, runs = [], []
        for row in ablation["rows"]:
            vals, tests = [], []
            for run in row["runs"]:
                m = folder / run / "metrics.json"
                if not m.exists():
                    continue
                e = json.loads(m.read_text())["evaluation"]
                v = e["validation"]["at_chosen_threshold"]["accuracy"]
                t = e["test"]["at_chosen_threshold"]["accuracy"]
                vals.append(v)
                tests.append(t)
                runs.append((v, t))
            if vals:
                rows.append((row["name"], statistics.mean(vals), statistics.mean(tests), len(vals)))
        print(f"{folder}: {len(rows)} rows, {len(runs)} runs")
        for name, v, t, n in rows:
            print(f"  {name:<34} n={n}  validation {100 * v:6.2f}%  official test {100 * t:6.2f}%")
        choice = max(rows, key=lambda r: r[1])
        print(f"  Spearman(validation, test) over rows: {spearman([r[1] for r in rows], [r[2] for r in rows]):+.2f}")
        print(f"  Spearman(validation, test) over runs: {spearman([r[0] for r in runs], [r[1] for r in runs]):+.2f}")
        gap = statistics.mean(v - t for v, t in runs)
        print(f"  mean gap validation - test: {100 * gap:.2f} points")
        print(f"  validation chooses {choice[0]}: official test {100 * choice[2]:.2f}%")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])

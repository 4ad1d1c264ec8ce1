#!/usr/bin/env python3
"""Mean sensitivity and specificity per view of `trainer shifted-validation` results
(experiments/shifted_validation.md), over the runs given (default: the 9 runs of
official_specificity.toml in reports/specificity). Used by resolution_selection.md's third
addendum to say which acquisition shift turns normal images into pneumonia.

    scripts/shifted_views.py [runs/<name>/shifted_validation.json ...]
"""

import glob
import json
import sys
from collections import defaultdict


def main(files):
    if not files:
        sys.exit("no shifted_validation.json given or found")
    views = defaultdict(list)
    for f in files:
        d = json.load(open(f))
        for v in [d["clean"], *d["shifted"]]:
            views[v["view"]].append((v["sensitivity"], v["specificity"]))
    print(f"{len(files)} runs")
    for view, v in views.items():
        sens = sum(s for s, _ in v) / len(v)
        spec = sum(s for _, s in v) / len(v)
        print(f"{view:<16} sensitivity {sens:.3f}  specificity {spec:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(glob.glob("reports/specificity/*/shifted_validation.json")))
